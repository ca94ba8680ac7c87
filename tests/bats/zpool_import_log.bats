#!/usr/bin/env bats
# Importing a pool whose separate intent log device is missing (zfs-fuse's spa_load with
# mosconfig = B_TRUE and spa_check_logs, pool version 23; OpenZFS's zpool import -m,
# ZFS_IMPORT_MISSING_LOG): with empty logs it imports DEGRADED, the log device UNAVAIL; a log
# with blocks on the lost device refuses the import with OpenZFS's hint; -m imports anyway,
# those logs discarded, and zfs-fuse's zdb -bcc stays clean.
#
# The vdevs live in a short directory of fixed length (/tmp/zilg.XXXXXX); the log device
# is taken away by moving it out of that directory.

load ../lib/pool_helpers
load ../lib/oracle

setup() {
  V=$(mktemp -d /tmp/zilg.XXXXXX)
  chmod 755 "$V"
  mkvdevs "$V" 1
  truncate -s 128M "$V/l0"
  GONE=$BATS_TEST_TMPDIR/gone
  mkdir -p "$GONE"
  ALT=$BATS_TEST_TMPDIR/alt
  mkdir -p "$ALT"
  zfsd_start
}

teardown() {
  pool_suite_teardown
  rm -rf "$V"
}

@test "import-log: empty logs — the pool imports DEGRADED without its log device, runs, and the device can be removed" {
  "$ZPOOL" create -o cachefile=none -m "$ALT/zl" zl "$V/d0" log "$V/l0"
  "$ZFS" create zl/fs
  fsync_files "$ALT/zl/fs" a 3
  tree_sum "$ALT/zl/fs" >"$BATS_TEST_TMPDIR/want"
  "$ZPOOL" export zl
  mv "$V/l0" "$GONE/l0"
  # The listing: the log device from the MOS config, UNAVAIL; the pool DEGRADED.
  expect 0 "   pool: zl
     id: $("$ZDB" -l "$V/d0" | sed -n 's/^ *pool_guid: //p' | head -1)
  state: DEGRADED
 status: One or more devices are missing from the system.
 action: The pool can be imported despite missing or damaged devices.  The
	fault tolerance of the pool may be compromised if imported.
   see: https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-2Q
 config:

	zl                     DEGRADED
	  $V/d0  ONLINE
	logs
	  $V/l0  UNAVAIL  cannot open" "$ZPOOL" import -d "$V"
  "$ZPOOL" import -d "$V" -o cachefile=none zl
  expect 0 "  pool: zl
 state: DEGRADED
status: One or more devices could not be opened.  Sufficient replicas exist for
	the pool to continue functioning in a degraded state.
action: Attach the missing device and online it using 'zpool online'.
   see: https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-2Q
config:

	NAME                   STATE     READ WRITE CKSUM
	zl                     DEGRADED     0     0     0
	  $V/d0  ONLINE       0     0     0
	logs
	  $V/l0  UNAVAIL      0     0     0  cannot open

errors: No known data errors" "$ZPOOL" status zl
  tree_sum "$ALT/zl/fs" >"$BATS_TEST_TMPDIR/got"
  diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
  # New log blocks go to the data device (vdev 0).
  fsync_files "$ALT/zl/fs" b 2
  "$ZDB" -e -p "$V" -ivvvv zl >"$BATS_TEST_TMPDIR/zil" || true
  ! grep -q 'DVA\[0\]=<1:' "$BATS_TEST_TMPDIR/zil"
  tree_sum "$ALT/zl/fs" >"$BATS_TEST_TMPDIR/want"
  # zfs-fuse's zdb checks the pool with its log device missing; zfs-fuse's zpool import
  # refuses it (its spa_load wants every top-level vdev's label).
  "$ZPOOL" export zl
  oracle_start
  oracle_zdb_clean "$V" zl
  run "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" zl
  [[ "$output" == *"cannot import 'zl': one or more devices is currently unavailable"* ]]
  oracle_stop
  # zpool remove of the missing log device (v19 log removal); then zfs-fuse imports it.
  "$ZPOOL" import -d "$V" -o cachefile=none zl
  expect 0 "" "$ZPOOL" remove zl "$V/l0"
  run "$ZPOOL" status -x zl
  [ "$output" = "pool 'zl' is healthy" ]
  "$ZPOOL" export zl
  oracle_start
  oracle_zdb_clean "$V" zl
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" zl
  tree_sum "$(zf_mountpoint zl/fs)" >"$BATS_TEST_TMPDIR/got"
  diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
  "$ZF_ZPOOL" export zl
  oracle_zdb_clean "$V" zl
  oracle_stop
}

@test "import-log: a log with blocks on the lost device refuses the import; -m imports it, the log discarded" {
  zfsd_stop
  ZFSD_EXTRA_ARGS="--txg-timeout 600" zfsd_start
  "$ZPOOL" create -o cachefile=none -m "$ALT/zl" zl "$V/d0" log "$V/l0"
  "$ZFS" create zl/fs
  fsync_files "$ALT/zl/fs" s 2
  "$ZPOOL" sync zl
  tree_sum "$ALT/zl/fs" >"$BATS_TEST_TMPDIR/synced"
  fsync_files "$ALT/zl/fs" f 3  # only in the log, on l0
  zfsd_kill
  mv "$V/l0" "$GONE/l0"
  zfsd_start
  run "$ZPOOL" import -d "$V"
  [[ "$output" == *"  state: DEGRADED"* ]]
  [[ "$output" == *"	  $V/l0  UNAVAIL  cannot open"* ]]
  expect 1 "cannot import 'zl': one or more devices is currently unavailable
The devices below are missing or corrupted, use '-m' to import the pool anyway:
	    $V/l0 [log]" "$ZPOOL" import -d "$V" -o cachefile=none zl
  expect 0 "no pools available" "$ZPOOL" list
  # (-R: the killed daemon's mountpoints are not taken again.)
  "$ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/r2" -m zl || { cat "$ZFSD_DIR/zfsd.log" >&2; false; }
  run "$ZPOOL" list -H -o health zl
  [ "$output" = DEGRADED ]
  # What was synced is there; what was only in the lost log is gone.
  tree_sum "$BATS_TEST_TMPDIR/r2$ALT/zl/fs" >"$BATS_TEST_TMPDIR/got"
  diff "$BATS_TEST_TMPDIR/synced" "$BATS_TEST_TMPDIR/got"
  run "$ZPOOL" history zl
  [[ "$output" == *"zpool import -d $V -R $BATS_TEST_TMPDIR/r2 -m zl"* ]]
  # zfs-fuse's zdb: clean with the log device still missing, and after its removal.
  "$ZPOOL" export zl
  oracle_start
  oracle_zdb_clean "$V" zl
  oracle_stop
  "$ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/r2" zl
  "$ZPOOL" remove zl "$V/l0"
  "$ZPOOL" export zl
  oracle_start
  oracle_zdb_clean "$V" zl
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" zl
  tree_sum "$(zf_mountpoint zl/fs)" >"$BATS_TEST_TMPDIR/got"
  diff "$BATS_TEST_TMPDIR/synced" "$BATS_TEST_TMPDIR/got"
  "$ZF_ZPOOL" export zl
  oracle_zdb_clean "$V" zl
  oracle_stop
}

@test "import-log: -m in zpool import --help and the man page" {
  run "$ZPOOL" import --help
  [[ "$output" == *"[-DfmN]"* ]]
  [[ "$output" == *"    -m  "* ]]
  grep -q 'Fl m' "$UZFS_ROOT/man/man8/zpool-import.8"
}

@test "import-log: zfsd restarting from its cache file takes a pool whose log device is gone (empty logs)" {
  "$ZPOOL" create -m none zl "$V/d0" log "$V/l0"
  "$ZFS" create zl/fs
  zfsd_stop
  mv "$V/l0" "$GONE/l0"
  zfsd_start
  run "$ZPOOL" list -H -o name,health
  [ "$output" = "zl	DEGRADED" ]
  run "$ZPOOL" status zl
  [[ "$output" == *"	  $V/l0  UNAVAIL      0     0     0  cannot open"* ]]
  "$ZPOOL" remove zl "$V/l0"
  run "$ZPOOL" list -H -o name,health
  [ "$output" = "zl	ONLINE" ]
  "$ZPOOL" destroy zl
}
