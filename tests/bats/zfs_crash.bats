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
  # A 2 s txg timeout: the kills (0.3 to 3.3 s in) come before and after the periodic sync.
  export ZFSD_EXTRA_ARGS="--dirty-max 8M --txg-timeout 2"
  zfsd_start
}

teardown() {
  pool_suite_teardown
}

@test "crash: 30 SIGKILLs of zfsd under writes; the pool is always consistent" {
  "$ZPOOL" create -m "$ALT/crashp" crashp mirror "$V/d0" "$V/d1"
  "$ZFS" create -o compression=lzjb -o recordsize=16K crashp/w
  # 0.3 to 3.3 s: sometimes before the 2 s sync thread ran, sometimes after.
  crash_loop "$V" crashp crashp/w 300
  # The last state also exports cleanly.
  "$ZPOOL" export crashp
  oracle_start
  oracle_zdb_clean "$V" crashp
  oracle_stop
}
