#!/usr/bin/env bash
# The SWIG binding needs the swig generator and Tcl's headers and shell
# (Debian: swig, tcl-dev, tcl).  Installs only what is missing, so running
# it again is a no-op.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need=()
if ! command -v swig >/dev/null 2>&1; then need+=(swig); fi
if ! command -v tclsh >/dev/null 2>&1; then need+=(tcl); fi
if ! dpkg-query -W -f='${Status}' tcl-dev 2>/dev/null | grep -q "install ok installed"; then
  need+=(tcl-dev)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup.d/swig: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
