#!/usr/bin/env bats
# SIGKILL of zfsd during a write-heavy workload through the FUSE mount,
# 30 times (UZFS_CRASH_KILLS): every time the pool comes back (zfsd re-imports it from its
# cache file and mounts it), zfs-fuse's zdb -bcc finds no leak and no checksum error, and
# every file holds exactly one whole version (as at some synced txg), never older than the
# last version an fsync acknowledged (tests/lib/crash_writer.py).

load ../lib/pool_helpers
load ../lib/oracle

setup() {
  V=$BATS_TEST_TMPDIR/v
  ALT=$BATS_TEST_TMPDIR/alt
  mkvdevs "$V" 2 256M
  # A small dirty bound: the txg engine's early writeback and throttle run under the kills.
  export ZFSD_EXTRA_ARGS="--dirty-max 8M"
  zfsd_start
}

teardown() {
  cd /
  zfsd_stop || true
  dead_mounts_clear
  oracle_stop 2>/dev/null || true
}

@test "crash: 30 SIGKILLs of zfsd under writes; the pool is always consistent" {
  kills=${UZFS_CRASH_KILLS:-30}
  writer=$UZFS_ROOT/tests/lib/crash_writer.py
  log=$BATS_TEST_TMPDIR/durable.log
  "$ZPOOL" create -m "$ALT/crashp" crashp mirror "$V/d0" "$V/d1"
  "$ZFS" create -o compression=lzjb -o recordsize=16K crashp/w
  W=$ALT/crashp/w
  for k in $(seq "$kills"); do
    python3 "$writer" "$W" "$log" &
    wpid=$!
    # 0.3 to 6.3 s: sometimes before the 5 s sync thread ran, sometimes after.
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.3 + (r % 600) / 100 }')"
    zfsd_kill
    wait "$wpid" || true
    oracle_start
    oracle_zdb_clean "$V" crashp || { echo "after kill $k" >&2; return 1; }
    oracle_stop
    zfsd_start
    run "$ZFS" get -H -o value mounted crashp/w
    [ "$output" = yes ] || { echo "kill $k: crashp/w not mounted: $output" >&2; cat "$ZFSD_DIR/zfsd.log" >&2; return 1; }
    run python3 "$writer" "$W" "$log" --check
    [ "$status" -eq 0 ] || { echo "kill $k: $output" >&2; return 1; }
  done
  # The last state also exports cleanly.
  "$ZPOOL" export crashp
  oracle_start
  oracle_zdb_clean "$V" crashp
  oracle_stop
}
