#!/usr/bin/env bash
# The test command: installs what it needs, builds, then runs every test — unit tests
# (ctest), the fuzzers (60 s each, under ASan/UBSan), the reference pools made with zfs-fuse
# (tests/lib/refpools.sh, cached), and the Bats suites (tests/bats/*.bats, two files at a
# time) — and ends with one summary line "N passed, M failed" (totals over all of them).
# Exit status 0 only when nothing failed. Run as root on Debian 12 (apt-get, zfs-fuse's
# daemon, /dev/fuse).
# Order, for time on a 2-core machine: the reference pools are made (they need only
# zfs-fuse) while the programs build; the Bats suites, which spend most of their time waiting
# on I/O, zfsd and zfs-fuse, start as soon as the programs are built, and the unit tests
# compile beside them (nice 10), the fuzzers too (nice 19); ctest runs after the Bats suites.
# (The reference pools are waited for before the Bats suites start; they are ready long
# before the programs are built.)
# Environment: UZFS_BUILD (build dir, default build/), UZFS_REFPOOLS (reference pool cache,
# default build/refpools), UZFS_FUZZ_BUILD (the fuzzers' build dir, default build-fuzz/),
# FUZZ_SECONDS (default 60).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export UZFS_BUILD=${UZFS_BUILD:-$root/build}
export UZFS_REFPOOLS=${UZFS_REFPOOLS:-$root/build/refpools}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}

scripts/deps.sh || { echo "dependency installation failed"; exit 1; }
mkdir -p "$UZFS_BUILD"

# --- reference pools (zfs-fuse), made while the programs build -------------------------
tests/lib/refpools.sh "$UZFS_REFPOOLS" >"$UZFS_BUILD/refpools.out" 2>&1 </dev/null &
refpools_pid=$!

scripts/build.sh uzfs_programs || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0
section() { printf '\n==== %s ====\n' "$*"; }

# --- fuzzers (in the background, niced) ----------------------------------------------
# The fuzz build (every layer again under ASan/UBSan) and the three runs take ~12 minutes of
# CPU; the Bats suites spend most of their time waiting on I/O, zfsd and zfs-fuse. So the
# fuzzers run beside the other suites at the lowest priority, their report printed at the end.
fuzz_build=${UZFS_FUZZ_BUILD:-$root/build-fuzz}
run_fuzzers() {
  local passed=0 failed=0 f work
  section "fuzzers (${FUZZ_SECONDS}s each)"
  # -O1 with line tables only: libFuzzer's usual flags; a crash's stack still has file:line.
  if CC=clang CXX=clang++ cmake -S . -B "$fuzz_build" -G Ninja -DUZFS_FUZZ=ON \
       -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
       -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" >/dev/null; then
    for f in nvlist label message; do
      if ! cmake --build "$fuzz_build" -j"$(nproc)" --target "${f}_fuzz" >"$UZFS_BUILD/fuzz-$f-build.log" 2>&1; then
        echo "FAIL building ${f}_fuzz"; tail -20 "$UZFS_BUILD/fuzz-$f-build.log"
        failed=$((failed + 1)); continue
      fi
      work=$(mktemp -d)  # new inputs go here; the committed seeds stay untouched
      if "$fuzz_build/tests/fuzz/${f}_fuzz" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
           "$work" "tests/fuzz/corpus/$f" >"$UZFS_BUILD/fuzz-$f.log" 2>&1; then
        echo "ok   ${f}_fuzz: $(sed -n 's/^stat::number_of_executed_units: *//p' "$UZFS_BUILD/fuzz-$f.log") runs, no crash"
        passed=$((passed + 1))
      else
        echo "FAIL ${f}_fuzz (log: $UZFS_BUILD/fuzz-$f.log)"; tail -40 "$UZFS_BUILD/fuzz-$f.log"
        failed=$((failed + 1))
      fi
      rm -rf "$work"
    done
  else
    echo "FAIL configuring the fuzz build"; failed=$((failed + 1))
  fi
  echo "$passed $failed" >"$UZFS_BUILD/fuzz.counts"
}
rm -f "$UZFS_BUILD/fuzz.counts"
nice -n 19 bash -c "$(declare -f section run_fuzzers); $(declare -p root UZFS_BUILD FUZZ_SECONDS fuzz_build); run_fuzzers" \
  >"$UZFS_BUILD/fuzz.out" 2>&1 </dev/null &
fuzz_pid=$!

# --- unit-test build (beside the Bats suites) -----------------------------------------
# The rest of the build (the unit-test binaries) compiles while the Bats suites run; ctest
# itself runs after them, as its loop-device and zfs-fuse tests must not meet theirs.
nice -n 10 scripts/build.sh >"$UZFS_BUILD/build-tests.log" 2>&1 </dev/null &
unit_build_pid=$!

# The reference pools are ready before any Bats file starts: a mount namespace made while
# zfs-fuse still has a pool mounted keeps a copy of that mount, and the pool cannot export.
section "reference pools"
if wait "$refpools_pid"; then
  cat "$UZFS_BUILD/refpools.out"; passed=$((passed + 1))
else
  cat "$UZFS_BUILD/refpools.out"
  echo "FAIL building the reference pools with zfs-fuse"; failed=$((failed + 1))
fi

# --- shell tests --------------------------------------------------------------------
section "Bats"
# Two files at a time (GNU parallel), each file's tests in order and each file in a mount
# namespace of its own (unshare -m): every test has its own zfsd, socket and state
# directory, zfs-fuse's daemon is taken under a lock (tests/lib/oracle.bash), and a pool
# mounted at its default /POOL, or left there dead by a SIGKILLed zfsd, is seen by its own
# file only. The longest files start first; each file's TAP output comes whole, in order.
mapfile -t bats_files < <(
  first=(zpool_crash zfs_crash zil mmap zpool_cli zpool_log zfs_interop dax_guest zpool_scrub)
  for f in "${first[@]}"; do [ -f "tests/bats/$f.bats" ] && echo "tests/bats/$f.bats"; done
  for f in tests/bats/*.bats; do
    [[ " ${first[*]} " == *" $(basename "$f" .bats) "* ]] || echo "$f"
  done)
parallel --will-cite --jobs 2 --keep-order \
  unshare --mount --propagation private bats --tap --timing {} ::: "${bats_files[@]}" \
  </dev/null 2>&1 | tee "$UZFS_BUILD/bats.log"
ok=$(grep -c '^ok ' "$UZFS_BUILD/bats.log")
notok=$(grep -c '^not ok ' "$UZFS_BUILD/bats.log")
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$UZFS_BUILD/bats.log" | awk '{ n += $1 } END { print n + 0 }')
files=$(grep -c '^1\.\.[0-9]*$' "$UZFS_BUILD/bats.log")
passed=$((passed + ok)); failed=$((failed + notok))
if [ "$files" -ne "${#bats_files[@]}" ] || [ "$planned" -eq 0 ] || [ $((ok + notok)) -ne "$planned" ]; then
  echo "Bats ran $((ok + notok)) of $planned planned tests in $files of ${#bats_files[@]} files"
  failed=$((failed + 1))
fi

section "unit tests (ctest)"
if ! wait "$unit_build_pid"; then
  echo "FAIL building the unit tests"; tail -40 "$UZFS_BUILD/build-tests.log"; failed=$((failed + 1))
else
  ctest --test-dir "$UZFS_BUILD" --output-on-failure -j"$(nproc)" 2>&1 | tee "$UZFS_BUILD/ctest.log"
  total=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2/p' "$UZFS_BUILD/ctest.log")
  bad=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1/p' "$UZFS_BUILD/ctest.log")
  if [ -z "$total" ]; then
    echo "ctest did not report a result"; failed=$((failed + 1))
  else
    passed=$((passed + total - bad)); failed=$((failed + bad))
  fi
fi

wait "$fuzz_pid"
cat "$UZFS_BUILD/fuzz.out"
if read -r fp ff <"$UZFS_BUILD/fuzz.counts" 2>/dev/null; then
  passed=$((passed + fp)); failed=$((failed + ff))
else
  echo "the fuzzers reported no result"; failed=$((failed + 1))
fi

section "summary"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
