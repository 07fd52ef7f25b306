#!/usr/bin/env bash
# The Python binding needs python3 with the venv module and the C headers
# (Debian: python3-venv, python3-dev).  Installs only what is missing;
# nothing is installed globally with pip (the tests use a venv).
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need=()
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then need+=(python3-venv); fi
if ! python3 -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' >/dev/null 2>&1; then
  need+=(python3-dev)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup.d/python: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
