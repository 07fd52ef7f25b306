#!/usr/bin/env bash
# The Java binding's test runner (ctest java_binding, labels binding;java):
#   run.sh SOURCE_DIR BUILD_DIR
# runs `mvn -q -B test` with Maven's output directory in BUILD_DIR (the
# native library is built there by bindings/java/CMakeLists.txt), prints
# Surefire's per-class summary, then runs examples/java/*.java against the
# compiled classes.  The first run downloads plugins and JUnit into ~/.m2.
set -uo pipefail
src=$1
out=$2
cd "$src" || exit 2
mvn -q -B test -Ddatalith.build.dir="$out"
rc=$?
echo "== Surefire summary"
for f in "$out"/surefire-reports/*.txt; do
  [ -f "$f" ] || continue
  grep -h "Tests run:" "$f"
done
cat "$out"/surefire-reports/TEST-*.xml 2>/dev/null | grep -o '<testsuite [^>]*' |
  sed -E 's/.*tests="([0-9]+)".*errors="([0-9]+)".*skipped="([0-9]+)".*failures="([0-9]+)".*/\1 \2 \3 \4/' |
  awk '{t+=$1; e+=$2; s+=$3; f+=$4} END {printf "total: %d tests, %d failures, %d errors, %d skipped\n", t, f, e, s}'
if [ $rc -ne 0 ]; then
  echo "mvn test failed (exit $rc)"
  exit $rc
fi
for ex in examples/java/*.java; do
  echo "== $ex"
  java -cp "$out/classes" "$ex" || { echo "example $ex failed"; exit 1; }
done
