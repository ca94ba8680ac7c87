#!/usr/bin/env bash
# Configures and builds uzfs into $UZFS_BUILD (default build/; Release with debug info,
# warnings are errors): every target, or the targets named (scripts/build.sh uzfs_programs:
# all but the unit tests).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${UZFS_BUILD:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" ${1:+--target "$@"}
