#!/usr/bin/env bats
# zdb on damaged devices: random 4 KiB stretches of garbage written over a zfs-fuse pool,
# over and over. Whatever the damage, zdb must finish in bounded time with a status of
# 0 (clean), 1 (errors found) or 2 — never a signal (a crash) and never a hang.

setup_file() {
  export ZDB="${UZFS_BUILD:-$BATS_TEST_DIRNAME/../../build}/cmd/zdb/zdb"
  [ -x "$ZDB" ] || { echo "zdb not built: $ZDB" >&3; return 1; }
  export POOLS="$BATS_FILE_TMPDIR/pools"
  "$BATS_TEST_DIRNAME/../lib/mkpools_small.sh" "$POOLS" >"$BATS_FILE_TMPDIR/mk.log" 2>&1 ||
    { cat "$BATS_FILE_TMPDIR/mk.log" >&3; return 1; }
}

# run_bounded ARGS...: zdb with a time limit; fails on a signal or a timeout.
run_bounded() {
  run timeout 60 "$ZDB" "$@"
  if [ "$status" -ge 124 ]; then
    echo "zdb $* ended with status $status (timeout or signal)"
    return 1
  fi
}

corrupt_and_check() {
  local kind=$1 seed=$2 pool dir
  pool=$(awk -v k="$kind" '$1 == k {print $2}' "$POOLS/names")
  dir="$BATS_TEST_TMPDIR/$kind"
  RANDOM=$seed
  for round in 1 2 3 4 5 6 7 8; do
    rm -rf "$dir"; mkdir -p "$dir"
    cp --sparse=always "$POOLS/$kind"/d* "$dir/"
    local disks=("$dir"/d*)
    for k in $(seq 1 10); do
      local d=${disks[$((RANDOM % ${#disks[@]}))]}
      local off=$(( (RANDOM * 32768 + RANDOM) % (56 * 1024 * 1024) + 4 * 1024 * 1024 ))
      head -c 4096 /dev/urandom | dd of="$d" bs=1 seek="$off" conv=notrunc status=none
    done
    for args in -d -dddd -bcc -mmm -h -C -uuu; do
      run_bounded -e -p "$dir" $args "$pool"
    done
    for f in random.bin seq.txt; do
      run_bounded -e -p "$dir" -r "$pool/fs" "$f" "$dir/out"
    done
  done
}

@test "zdb survives random damage to a single-disk pool" { corrupt_and_check single 11; }
@test "zdb survives random damage to a mirror" { corrupt_and_check mirror 22; }
@test "zdb survives random damage to raidz1" { corrupt_and_check raidz1 33; }
@test "zdb survives random damage to raidz2" { corrupt_and_check raidz2 44; }

@test "zdb -cc on an undamaged copy exits 0 with no error lines" {
  pool=$(awk '$1 == "raidz1" {print $2}' "$POOLS/names")
  run "$ZDB" -e -p "$POOLS/raidz1" -cc "$pool"
  [ "$status" -eq 0 ]
  [[ "$output" == *"No leaks (block sum matches space maps exactly)"* ]]
  [[ "$output" != *zdb_blkptr_cb* ]]
}
