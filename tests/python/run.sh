#!/usr/bin/env bash
# ctest python_binding: build and install the Python package into a venv
# under the build directory, then run its pytest suite and the example.
#
#   run.sh <repo root> <work dir>
#
# The venv is reused while its inputs are unchanged: requirements-test.txt
# (stamp venv.stamp) and everything the package is built from (package.stamp:
# pyproject.toml, setup.py, bindings/python/**, core/**, include/**).  A
# fresh clone creates it from nothing; python3 with venv and headers comes
# from scripts/setup.d/python.sh.
set -euo pipefail
ROOT=$(cd "$1" && pwd)
WORK=$2
VENV=$WORK/venv
PY=${PYTHON:-python3}
mkdir -p "$WORK"

hash_files() {
  (cd "$ROOT" && find "$@" -type f \( -name '*.py' -o -name '*.c' -o -name '*.h' \
      -o -name '*.toml' -o -name '*.txt' -o -name '*.typed' -o -name '*.md' \) \
      -not -path '*/__pycache__/*' -not -path '*.egg-info/*' -print0 \
    | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

req_hash=$(sha256sum "$ROOT/bindings/python/requirements-test.txt" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$WORK/venv.stamp" 2>/dev/null)" != "$req_hash" ]; then
  echo "python_binding: creating $VENV"
  rm -rf "$VENV" "$WORK/package.stamp"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    -r "$ROOT/bindings/python/requirements-test.txt"
  echo "$req_hash" > "$WORK/venv.stamp"
fi

pkg_hash=$(hash_files pyproject.toml setup.py bindings/python/build_ffi.py bindings/python/README.md \
  bindings/python/datalith core include)
if [ "$(cat "$WORK/package.stamp" 2>/dev/null)" != "$pkg_hash" ]; then
  echo "python_binding: pip install $ROOT"
  start=$(date +%s)
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall \
    --no-deps "$ROOT"
  echo "python_binding: installed in $(( $(date +%s) - start ))s"
  echo "$pkg_hash" > "$WORK/package.stamp"
else
  echo "python_binding: package unchanged, reusing $VENV"
fi

# Run from the work dir so the installed package (not the source tree) is tested.
cd "$WORK"
"$VENV/bin/python" -m pytest -p no:cacheprovider -ra -q "$ROOT/bindings/python/tests"
for ex in "$ROOT"/examples/python/*.py; do
  echo "== examples/python/$(basename "$ex")"
  "$VENV/bin/python" "$ex"
done
