#!/usr/bin/env bats
# A device removed while the pool runs and one coming back at its place (OpenZFS's
# spa_async_remove and zed's zfs_mod.c): a loop device of a mirror detached under writes
# goes REMOVED (zpool status in zfs-fuse's words, resource.fs.zfs.removed in zpool events),
# the pool runs on DEGRADED and zfsd lets the device go, so the kernel's deferred detach
# completes; a blank device attached at the same /dev/loopN is left alone with
# autoreplace=off and labelled and resilvered with autoreplace=on; the old device coming
# back with its labels is onlined and resilvered from its DTL. The data is judged by
# sha256 read from one side alone, and the pool by zfs-fuse's zdb -bcc.

load ../lib/pool_helpers
load ../lib/oracle

setup() {
  [ -e /dev/loop-control ] || skip "no loop device support on this machine"
  pool_vdevs_setup
  DEVS=$BATS_TEST_TMPDIR/devs
  mkdir -p "$DEVS"
}

teardown() {
  pool_suite_teardown
  local f
  for f in "$V"/*; do
    losetup -j "$f" | cut -d: -f1 | xargs -r losetup -d 2>/dev/null || true
  done
}

# newloop FILE: a loop device over FILE (no partition scanning: zpool adds partition 1).
newloop() { losetup -f --show "$1"; }

# files DIR PREFIX N: N files of 1 MiB of random bytes, DIR/PREFIX1..N.
files() {
  local i
  for i in $(seq "$3"); do head -c 1M /dev/urandom >"$1/$2$i"; done
}

# detached FILE: until no loop device is bound to FILE (10 s at most).
detached() {
  for _ in $(seq 50); do
    [ -z "$(losetup -j "$1")" ] && return 0
    sleep 0.2
  done
  losetup -j "$1" >&2
  return 1
}

# mirror_of_loops POOL: a mirror of loop devices over $V/d0 and $V/d1 (L0, L1), links to
# their partitions in $DEVS, 4 files written and synced.
mirror_of_loops() {
  L0=$(newloop "$V/d0")
  L1=$(newloop "$V/d1")
  "$ZPOOL" create -m "$A/$1" "$1" mirror "$L0" "$L1"
  ln -sf "${L0}p1" "$DEVS/l0"
  ln -sf "${L1}p1" "$DEVS/l1"
  files "$A/$1" f 4
  "$ZPOOL" sync "$1"
}

# read_alone POOL SIDE LINK SUMS: SIDE taken offline, POOL exported and imported by a fresh
# zfsd from $DEVS: every file reads back from the other side with the sums SUMS; SIDE (now
# named by its LINK in $DEVS) back online.
read_alone() {
  "$ZPOOL" offline "$1" "$2"
  "$ZPOOL" export "$1"
  zfsd_stop
  zfsd_start
  "$ZPOOL" import -d "$DEVS" "$1"
  [ "$(cd "$A/$1" && sha256sum -- *)" = "$4" ] || { echo "data differ" >&2; return 1; }
  "$ZPOOL" online "$1" "$DEVS/$3"
  wait_resilvered "$1"
}

# replaced_in_place: tank's autoreplace of the loop device L1's partition resilvered and
# the replacing vdev gone: the mirror is L0p1 and L1p1, both ONLINE.
replaced_in_place() {
  wait_status tank "resilvered"
  wait_resilvered tank
  for _ in $(seq 50); do [[ $(status_devs tank) != *replacing* ]] && break; sleep 0.2; done
  [ "$(status_devs tank)" = "mirror-0 ONLINE
$(basename "$L0")p1 ONLINE
$(basename "$L1")p1 ONLINE" ]
}

# judged_alone POOL SIDE LINK: every file of POOL as it is now reads back with SIDE offline
# (read_alone), and zfs-fuse's zdb -bcc finds the exported pool clean.
judged_alone() {
  local sums
  sums=$(cd "$A/$1" && sha256sum -- *)
  read_alone "$1" "$2" "$3" "$sums"
  "$ZPOOL" export "$1"
  oracle_start
  oracle_zdb_clean "$DEVS" "$1"
  oracle_stop
}

@test "removal: a loop device of a mirror detached under writes goes REMOVED; the pool runs on DEGRADED; the device is let go; zfs-fuse's zdb is clean" {
  mirror_of_loops tank
  "$ZPOOL" events -c >/dev/null
  files "$A/tank" w 24 &
  load=$!
  sleep 0.3
  # losetup -d of a device still open only marks it (autoclear): zfsd sees it and lets go.
  losetup -d "$L1"
  wait_status tank "REMOVED"
  wait "$load"
  "$ZPOOL" sync tank
  [ "$(status_devs tank)" = "mirror-0 DEGRADED
$(basename "$L0")p1 ONLINE
$(basename "$L1")p1 REMOVED" ]
  run "$ZPOOL" status tank
  [[ $output == *" state: DEGRADED"* ]]
  [[ $output == *"status: One or more devices has been removed by the administrator.
	Sufficient replicas exist for the pool to continue functioning in a
	degraded state.
action: Online the device using 'zpool online' or replace the device with
	'zpool replace'."* ]]
  detached "$V/d1"
  run "$ZPOOL" events -v tank
  [[ $output == *"resource.fs.zfs.removed"* ]]
  [[ $output == *"vdev_path = \"${L1}p1\""* ]]
  run "$ZPOOL" events -H tank
  [[ $output == *"resource.fs.zfs.statechange"* ]]
  # Every file, those written while the device went too, reads back from d0 alone.
  sums=$(cd "$A/tank" && sha256sum -- *)
  "$ZPOOL" export tank
  zfsd_stop
  zfsd_start
  rm "$DEVS/l1"
  "$ZPOOL" import -d "$DEVS" tank
  [ "$(cd "$A/tank" && sha256sum -- *)" = "$sums" ]
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$DEVS" tank
  oracle_stop
}

@test "autoreplace: a blank device at the removed side's /dev/loopN is left alone with autoreplace=off, labelled and resilvered with autoreplace=on" {
  mirror_of_loops tank
  losetup -d "$L1"
  wait_status tank "REMOVED"
  detached "$V/d1"
  files "$A/tank" g 2
  "$ZPOOL" sync tank
  truncate -s 128M "$V/n1"
  losetup "$L1" "$V/n1"
  # autoreplace=off: nothing happens; status says to replace it.
  sleep 5
  [ "$(status_devs tank | tail -1)" = "$(basename "$L1")p1 REMOVED" ]
  [[ $("$ZPOOL" status tank) == *"'zpool replace'"* ]]
  [ -z "$(blkid -p "$L1" 2>/dev/null)" ]
  "$ZPOOL" set autoreplace=on tank
  replaced_in_place
  # The new device carries the GPT and the pool's label on partition 1.
  run "$ZDB" -l "${L1}p1"
  [[ $output == *"name: 'tank'"* ]]
  run "$ZPOOL" events -H tank
  [[ $output == *"sysevent.fs.zfs.resilver_start"* ]]
  judged_alone tank "${L0}p1" l0
}

@test "autoreplace: the removed device coming back with its labels is onlined whatever autoreplace says and resilvered from its DTL" {
  mirror_of_loops tank
  losetup -d "$L1"
  wait_status tank "REMOVED"
  detached "$V/d1"
  files "$A/tank" g 3
  "$ZPOOL" sync tank
  # The same backing file; its partition 1 (added as udev or partx would) holds this
  # leaf's labels.
  losetup "$L1" "$V/d1"
  # (The kernel may have kept the partitions of the detached loop device: then they are there.)
  partx -a "$L1" 2>/dev/null || true
  [ -b "${L1}p1" ]
  wait_status tank "resilvered"
  wait_resilvered tank
  [ "$(status_devs tank)" = "mirror-0 ONLINE
$(basename "$L0")p1 ONLINE
$(basename "$L1")p1 ONLINE" ]
  [ "$("$ZPOOL" get -H -o value autoreplace tank)" = off ]
  judged_alone tank "${L0}p1" l0
}

@test "autoreplace under SIGKILLs: kills of zfsd at varied moments of the in-place replace of a removed side (before it, mid-resilver): each next zfsd resumes it, it ends, nothing is lost; zfs-fuse's zdb is clean after each" {
  zfsd_stop
  export ZFSD_EXTRA_ARGS="--scrub-delay 100000 --txg-timeout 1"
  zfsd_start
  L0=$(newloop "$V/d0")
  L1=$(newloop "$V/d1")
  "$ZPOOL" create -m "$A/tank" -o autoreplace=on tank mirror "$L0" "$L1"
  ln -sf "${L0}p1" "$DEVS/l0"
  ln -sf "${L1}p1" "$DEVS/l1"
  files "$A/tank" f 12
  "$ZPOOL" sync tank
  losetup -d "$L1"
  wait_status tank "REMOVED"
  detached "$V/d1"
  sums=$(cd "$A/tank" && sha256sum -- *)
  truncate -s 128M "$V/n1"
  losetup "$L1" "$V/n1"
  # The first kill within 2 s of the blank device's arrival (before the replace, or as it
  # labels and attaches it), then three more while the resilver goes on.
  for k in 1 2 3 4; do
    if [ "$k" = 1 ]; then sleep "$((RANDOM % 2)).$((RANDOM % 10))"; else sleep "1.$((RANDOM % 10))"; fi
    zfsd_kill
    oracle_start
    oracle_zdb_clean "$DEVS" tank || { echo "after kill $k" >&2; false; }
    oracle_stop
    zfsd_start
    [ "$(cd "$A/tank" && sha256sum -- *)" = "$sums" ] ||
      { echo "kill $k: data differ" >&2; "$ZPOOL" status >&2; cat "$ZFSD_DIR/zfsd.log" >&2; false; }
    wait_status tank "replacing-1" || { echo "kill $k: no replace" >&2; false; }
  done
  zfsd_stop
  ZFSD_EXTRA_ARGS="--scrub-delay 5000 --txg-timeout 1" zfsd_start
  replaced_in_place
  judged_alone tank "${L0}p1" l0
}

# soon POOL TEXT SECONDS: zpool status shows TEXT within SECONDS.
soon() {
  for _ in $(seq $(($3 * 5))); do
    [[ $("$ZPOOL" status "$1") == *"$2"* ]] && return 0
    sleep 0.2
  done
  "$ZPOOL" status "$1" >&2
  return 1
}

@test "device monitor: with the device poll an hour apart, a loop device of a mirror detached goes REMOVED within 2 s and a blank device attached at its place replaces it in place (autoreplace=on); zfs-fuse's zdb is clean" {
  zfsd_stop
  ZFSD_EXTRA_ARGS="--device-poll 3600" zfsd_start
  # zfsd warns when it could make no device monitor (neither uevents nor an inotify watch).
  if grep -q "no device monitor" "$ZFSD_DIR/zfsd.log"; then
    skip "$(grep -o 'no device monitor.*' "$ZFSD_DIR/zfsd.log" | tail -1)"
  fi
  mirror_of_loops tank
  "$ZPOOL" set autoreplace=on tank
  # Let the poll's first round (at start) pass: only an event can explain what follows.
  sleep 1
  losetup -d "$L1"
  soon tank "REMOVED" 2
  detached "$V/d1"
  truncate -s 128M "$V/n1"
  losetup "$L1" "$V/n1"
  # Labelling the disk and attaching it takes a few seconds on a busy machine: the poll
  # would not come for an hour.
  soon tank "replacing-1" 10 || soon tank "resilvered" 1
  replaced_in_place
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$DEVS" tank
  oracle_stop
}
