#!/usr/bin/env bash
# Configures and builds uzfs into $UZFS_BUILD (default build/; optimized, with line-table
# debug info, warnings are errors): every target, or the targets named (scripts/build.sh
# uzfs_programs: all but the unit tests).
# -g1 (functions and line tables: backtraces, perf and gdb's `bt` still name file:line)
# instead of -g, which costs a third more compile time on the 2-core CI for locals only gdb
# shows. The code is the same either way; configure by hand with -g to step through it.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${UZFS_BUILD:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null
cmake --build "$build" -j"$(nproc)" ${1:+--target "$@"}
