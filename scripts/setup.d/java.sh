#!/usr/bin/env bash
# The Java binding needs a JDK (javac, jni.h) and Maven (Debian:
# default-jdk-headless, maven).  Installs only what is missing; idempotent.
# Maven downloads its plugins and JUnit into ~/.m2 on the first `mvn` run.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need=()
if ! command -v javac >/dev/null 2>&1; then need+=(default-jdk-headless); fi
if ! command -v mvn >/dev/null 2>&1; then need+=(maven); fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup.d/java: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
