#!/usr/bin/env bats
# Separate intent log devices (pool version 7's slogs, version 19's log removal): zpool
# create ... log, zpool add [log], zpool remove of a log device (a hole in the vdev
# namespace), their listings (zpool status, list -v, create/add -n, zdb -C and -l) with
# OpenZFS's (zfs-fuse's) words, and zfs-fuse as the judge: pools with log devices and holes
# made by either side import into the other with zfs-fuse's zdb -bcc clean, and fsync'ed
# changes logged on a log device (zfsd SIGKILLed, --txg-timeout 600) are replayed by
# zfs-fuse, also after the log device was removed under a live log.
#
# The vdevs live in a short directory of fixed length (/tmp/zlog.XXXXXX), so the tables'
# column widths are the same on every run.

load ../lib/pool_helpers
load ../lib/oracle

setup() {
  V=$(mktemp -d /tmp/zlog.XXXXXX)
  chmod 755 "$V"
  mkvdevs "$V" 3
  for l in l0 l1 l2; do truncate -s 128M "$V/$l"; done
  truncate -s 32M "$V/tiny"
  ALT=$BATS_TEST_TMPDIR/alt
  mkdir -p "$ALT"
  zfsd_start
}

teardown() {
  pool_suite_teardown
  rm -rf "$V"
}

# complete_words WORD...: what completions/zpool offers for "zpool WORD..." (the last word
# being completed), one per line; our zpool comes first on PATH.
complete_words() {
  (
    PATH=$(dirname "$ZPOOL"):$PATH
    # shellcheck disable=SC1091
    source "$UZFS_ROOT/completions/zpool"
    COMP_WORDS=(zpool "$@")
    COMP_CWORD=$#
    COMPREPLY=()
    _uzfs_zpool zpool "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf '%s\n' "${COMPREPLY[@]}"
  )
}



# log_block_vdevs POOL: the vdev ids of the DVAs of every log block our zdb -ivvvv lists.
log_block_vdevs() {
  "$ZDB" -e -p "$V" -ivvvv "$1" | sed -n 's/.*Block seqno [0-9]*,.* DVA\[0\]=<\([0-9]*\):.*/\1/p' | sort -u
}

@test "log: create with a log device — -n, status, list -v, zdb -C and -l" {
  expect 0 "would create 'tank' with the following layout:

	tank
	  mirror
	    $V/d0
	    $V/d1
	logs
	  $V/l0
	  mirror
	    $V/l1
	    $V/l2" "$ZPOOL" create -n tank mirror "$V/d0" "$V/d1" log "$V/l0" mirror "$V/l1" "$V/l2"
  "$ZPOOL" create -o cachefile=none -m none tank mirror "$V/d0" "$V/d1" log "$V/l0" mirror "$V/l1" "$V/l2"
  expect 0 "  pool: tank
 state: ONLINE
config:

	NAME                     STATE     READ WRITE CKSUM
	tank                     ONLINE       0     0     0
	  mirror-0               ONLINE       0     0     0
	    $V/d0  ONLINE       0     0     0
	    $V/d1  ONLINE       0     0     0
	logs
	  $V/l0    ONLINE       0     0     0
	  mirror-2               ONLINE       0     0     0
	    $V/l1  ONLINE       0     0     0
	    $V/l2  ONLINE       0     0     0

errors: No known data errors" "$ZPOOL" status tank
  # The pool's size is its data mirror's: the log devices' space is no pool space.
  run "$ZPOOL" list -Hpv -o name,size tank
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "tank	$(sed -n 's/^  mirror-0\t//p' <<<"$output")" ]
  [ "$(sed -n '/^logs/=' <<<"$output")" = 5 ]
  [ "${lines[4]}" = "logs	-" ]
  [[ "${lines[5]}" == "  $V/l0	"* ]]
  [[ "${lines[6]}" == "  mirror-2	"* ]]
  run "$ZPOOL" list -v tank
  [[ "${lines[5]}" == "logs  "*" -  "*" -" ]]
  # zdb: is_log in the MOS config and in a log device's own label.
  run "$ZDB" -e -p "$V" -C tank
  [ "$status" -eq 0 ]
  [ "$(grep -c 'is_log: 1' <<<"$output")" = 2 ]
  [ "$(grep -c 'is_log: 0' <<<"$output")" = 1 ]
  run "$ZDB" -l "$V/l0"
  [[ "$output" == *"
    guid: "*"
    is_log: 1
    vdev_children: 3
"* ]]
  run "$ZDB" -l "$V/l1"
  [[ "$output" != *"
    is_log: 1
    vdev_children"* ]]  # a log mirror's side: the mark is its top-level vdev's
}

@test "log: the specification's rules and messages" {
  expect 1 "invalid vdev specification: log requires at least 1 device" \
    "$ZPOOL" create tank "$V/d0" log
  expect 1 "invalid vdev specification: unsupported 'log' device: raidz" \
    "$ZPOOL" create tank "$V/d0" log raidz "$V/l0" "$V/l1"
  expect 1 "invalid vdev specification: unsupported 'log' device: raidz" \
    "$ZPOOL" create tank "$V/d0" log raidz2 "$V/l0" "$V/l1" "$V/l2"
  expect 1 "invalid vdev specification: 'log' can be specified only once" \
    "$ZPOOL" create tank "$V/d0" log "$V/l0" log "$V/l1"
  expect 1 "invalid vdev specification
use '-f' to override the following errors:
at least one general top-level vdev must be specified" "$ZPOOL" create tank log "$V/l0"
  expect 0 "no pools available" "$ZPOOL" list
}

@test "log: zpool add — log devices, data vdevs, -n, and the refusals" {
  "$ZPOOL" create -o cachefile=none -m none tank "$V/d0"
  expect 0 "would update 'tank' to the following configuration:
	tank
	  $V/d0
	logs
	  $V/l0" "$ZPOOL" add -n tank log "$V/l0"
  expect 0 "" "$ZPOOL" add tank log "$V/l0"
  expect 0 "would update 'tank' to the following configuration:
	tank
	  $V/d0
	  $V/d1
	logs
	  $V/l0
	  mirror
	    $V/l1
	    $V/l2" "$ZPOOL" add -n tank "$V/d1" log mirror "$V/l1" "$V/l2"
  expect 0 "" "$ZPOOL" add tank "$V/d1"
  expect 1 "cannot add to 'tank': device is less than the minimum size (64M)" \
    "$ZPOOL" add tank log "$V/tiny"
  expect 1 "invalid vdev specification
use '-f' to override the following errors:
$V/l0 is part of active pool 'tank'" "$ZPOOL" add tank log "$V/l0"
  expect 1 "invalid vdev specification
the following errors must be manually repaired:
$V/d1 is part of active pool 'tank'" "$ZPOOL" add -f tank "$V/d1"
  expect 1 "invalid vdev specification
use '-f' to override the following errors:
mismatched replication level: pool uses file and new vdev is mirror" \
    "$ZPOOL" add tank mirror "$V/d2" "$V/l1"
  expect 1 "cannot add to 'tank': one or more vdevs refer to the same device" \
    "$ZPOOL" add tank log "$V/l1" "$V/l1"
  expect 1 "cannot open 'nosuch': no such pool" "$ZPOOL" add nosuch log "$V/l1"
  expect 2 "missing vdev specification
usage:
	add [-fn] pool vdev..." "$ZPOOL" add tank
  run "$ZPOOL" status tank
  [[ "$output" == *"
	  $V/d0  ONLINE       0     0     0
	  $V/d1  ONLINE       0     0     0
	logs
	  $V/l0  ONLINE       0     0     0
"* ]]
  run "$ZPOOL" history tank
  [[ "$output" == *" zpool add tank log $V/l0
"*" zpool add tank $V/d1"* ]]
  # Completion: the pool, then vdev words.
  [ "$(complete_words add ta)" = tank ]
  [[ "$(complete_words add tank lo)" == *log* ]]
}

@test "log: zpool remove — a log device leaves a hole the next add fills; the refusals" {
  "$ZPOOL" create -o cachefile=none -m none tank "$V/d0" log "$V/l0"
  "$ZPOOL" add tank "$V/d1"
  [ "$(complete_words remove tank '')" = "$V/l0" ]
  expect 1 "cannot remove $V/d0: only inactive hot spares, cache, top-level, or log devices can be removed" \
    "$ZPOOL" remove tank "$V/d0"
  expect 1 "cannot remove $V/nope: no such device in pool" "$ZPOOL" remove tank "$V/nope"
  expect 1 "cannot open 'nosuch': no such pool" "$ZPOOL" remove nosuch "$V/l0"
  expect 2 "missing device
usage:
	remove pool device..." "$ZPOOL" remove tank
  expect 0 "" "$ZPOOL" remove tank "$V/l0"
  expect 0 "  pool: tank
 state: ONLINE
config:

	NAME                   STATE     READ WRITE CKSUM
	tank                   ONLINE       0     0     0
	  $V/d0  ONLINE       0     0     0
	  $V/d1  ONLINE       0     0     0

errors: No known data errors" "$ZPOOL" status tank
  run "$ZDB" -e -p "$V" -C tank
  [[ "$output" == *"
        hole_array[0]: 1
        vdev_children: 3
"* ]]
  [[ "$output" == *"
            children[1]:
                type: 'hole'
                id: 1
                guid: 0
                whole_disk: 0
                metaslab_array: 0
                metaslab_shift: 0
                ashift: 0
                asize: 0
                is_log: 0
                is_hole: 1
            children[2]:"* ]]
  # The removed device keeps labels of txg 0: no import takes it, and it is free to use.
  run "$ZDB" -l "$V/l0"
  [[ "$output" == *"
    txg: 0
"* ]]
  run "$ZPOOL" import -d "$V"
  [ "$output" = "no pools available to import" ]
  "$ZPOOL" add tank log mirror "$V/l0" "$V/l1"
  run "$ZDB" -e -p "$V" -C tank
  [[ "$output" != *hole* ]]
  [[ "$output" == *"
            children[1]:
                type: 'mirror'
                id: 1
"* ]]
  # A side of a log mirror cannot go alone; the mirror, by name, can; the last top-level
  # vdev leaves no hole.
  expect 1 "cannot remove $V/l1: operation not supported on this type of pool" "$ZPOOL" remove tank "$V/l1"
  "$ZPOOL" add tank log "$V/l2"
  expect 0 "" "$ZPOOL" remove tank mirror-1 "$V/l2"
  run "$ZDB" -e -p "$V" -C tank
  [[ "$output" == *"
        hole_array[0]: 1
        vdev_children: 3
"* ]]
  run "$ZPOOL" history tank
  [[ "$output" == *" zpool remove tank $V/l0
"*" zpool remove tank mirror-1 $V/l2"* ]]
  "$ZPOOL" export tank
  "$ZPOOL" import -d "$V" -o cachefile=none tank
  run "$ZPOOL" list -Hv -o name tank
  [ "$output" = "tank
  $V/d0
  $V/d1" ]
  run "$ZDB" -e -p "$V" -bcc tank
  [[ "$output" == *"No leaks"* ]]
}

@test "log: interop — a pool with log devices and a hole, ours and zfs-fuse's, imports both ways" {
  "$ZPOOL" create -o cachefile=none -m none ours "$V/d0" log "$V/l0"
  "$ZPOOL" add ours "$V/d1"
  "$ZPOOL" export ours
  oracle_start
  oracle_zdb_clean "$V" ours
  "$ZF_ZPOOL" import -d "$V" -R "$ALT" ours
  run "$ZF_ZPOOL" status ours
  [[ "$output" == *"
	logs
	  $V/l0  ONLINE       0     0     0
"* ]]
  "$ZF_ZPOOL" export ours
  oracle_stop
  # Our removal leaves a hole zfs-fuse takes.
  "$ZPOOL" import -d "$V" -o cachefile=none ours
  "$ZPOOL" remove ours "$V/l0"
  "$ZPOOL" export ours
  oracle_start
  oracle_zdb_clean "$V" ours
  "$ZF_ZPOOL" import -d "$V" -R "$ALT" ours
  run "$ZF_ZPOOL" status ours
  [[ "$output" != *logs* ]]
  # zfs-fuse fills the hole with a log device of its own, and we import that.
  "$ZF_ZPOOL" add ours log "$V/l1"
  "$ZF_ZPOOL" export ours
  oracle_zdb_clean "$V" ours
  oracle_stop
  "$ZPOOL" import -d "$V" -o cachefile=none ours
  run "$ZPOOL" status ours
  [[ "$output" == *"
	logs
	  $V/l1  ONLINE       0     0     0
"* ]]
  "$ZPOOL" export ours
  # The reverse: zfs-fuse's pool with a log device, which zfs-fuse removes (a hole).
  oracle_start
  "$ZF_ZPOOL" create -f -m none theirs "$V/d2" log "$V/l2"
  "$ZF_ZPOOL" add -f theirs "$V/l0"
  "$ZF_ZPOOL" export theirs
  oracle_stop
  "$ZPOOL" import -d "$V" -o cachefile=none theirs
  run "$ZPOOL" list -Hv -o name theirs
  [ "$output" = "theirs
  $V/d2
  $V/l0
logs
  $V/l2" ]
  "$ZPOOL" export theirs
  oracle_start
  "$ZF_ZPOOL" import -d "$V" -R "$ALT" theirs
  "$ZF_ZPOOL" remove theirs "$V/l2"
  "$ZF_ZPOOL" export theirs
  oracle_stop
  "$ZPOOL" import -d "$V" -o cachefile=none theirs
  run "$ZDB" -e -p "$V" -C theirs
  [[ "$output" == *"hole_array[0]: 1"* ]]
  run "$ZPOOL" list -Hv -o name theirs
  [ "$output" = "theirs
  $V/d2
  $V/l0" ]
  "$ZPOOL" add theirs log "$V/l2"
  "$ZPOOL" export theirs
  oracle_start
  oracle_zdb_clean "$V" theirs
  "$ZF_ZPOOL" import -d "$V" -R "$ALT" theirs
  "$ZF_ZPOOL" export theirs
  oracle_stop
}

@test "log: fsync'ed changes are logged on the log device; zfs-fuse replays them" {
  zfsd_stop
  ZFSD_EXTRA_ARGS="--txg-timeout 600" zfsd_start
  "$ZPOOL" create -o cachefile=none -m "$ALT/zl" zl "$V/d0" log "$V/l0"
  "$ZFS" create zl/fs
  fsync_files "$ALT/zl/fs" a 4
  tree_sum "$ALT/zl/fs" >"$BATS_TEST_TMPDIR/want"
  zfsd_kill
  # Every log block is on vdev 1, the log device.
  [ "$(log_block_vdevs zl)" = 1 ]
  oracle_start
  oracle_zdb_clean "$V" zl
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" zl
  tree_sum "$(zf_mountpoint zl/fs)" >"$BATS_TEST_TMPDIR/got"
  diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
  "$ZF_ZPOOL" export zl
  oracle_zdb_clean "$V" zl
  oracle_stop
}

@test "log: removing the log device under a live log loses no fsync'ed change" {
  zfsd_stop
  ZFSD_EXTRA_ARGS="--txg-timeout 600" zfsd_start
  "$ZPOOL" create -o cachefile=none -m "$ALT/zl" zl "$V/d0" log "$V/l0"
  "$ZFS" create zl/fs
  fsync_files "$ALT/zl/fs" b 3
  [ "$(log_block_vdevs zl)" = 1 ]
  "$ZPOOL" remove zl "$V/l0"
  fsync_files "$ALT/zl/fs" c 3  # a new log, on the data vdev
  tree_sum "$ALT/zl/fs" >"$BATS_TEST_TMPDIR/want"
  zfsd_kill
  [ "$(log_block_vdevs zl)" = 0 ]
  oracle_start
  oracle_zdb_clean "$V" zl
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" zl
  tree_sum "$(zf_mountpoint zl/fs)" >"$BATS_TEST_TMPDIR/got"
  diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
  "$ZF_ZPOOL" export zl
  oracle_zdb_clean "$V" zl
  oracle_stop
}
