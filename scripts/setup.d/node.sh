#!/usr/bin/env bash
# The Node.js binding needs node (>= 18, with the Node-API headers in
# /usr/include/node) and npm; the addon is built by CMake with the C
# toolchain and the -dev libraries the core needs (set up elsewhere), so no
# node-gyp and no header download.  Debian: nodejs, npm, libnode-dev (the
# headers, where nodejs does not ship them).  Installs only what is missing.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need=()
if ! command -v node >/dev/null 2>&1; then need+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then need+=(npm); fi
if [ ! -f /usr/include/node/node_api.h ] && [ ! -f /usr/local/include/node/node_api.h ]; then
  need+=(libnode-dev)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup.d/node: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
