#!/usr/bin/env bats
# User holds and deferred destroy (pool version 18): zfs hold / release / holds, zfs destroy
# of a held snapshot and destroy -d, the userrefs and defer_destroy properties, with v23's
# (zfs-fuse's) messages and exit codes. zfs-fuse judges the disk side: it sees and honours the
# holds we make (its zfs get userrefs, its destroy), we see and honour its holds, its zdb -bcc
# finds no leak, its zdb dumps the userrefs ZAP as ours does; a hold survives a SIGKILL of
# zfsd right after the command returns. zfs send -R / -I hold what they send (temporary holds,
# which the next import releases when the send died; zfs-fuse's import too). One private zfsd
# and pool tank per test.

load ../lib/pool_helpers
load ../lib/oracle

setup() {
  V=$BATS_TEST_TMPDIR/v
  ALT=$BATS_TEST_TMPDIR/alt
  mkvdevs "$V" 2 128M
  zfsd_start
}

teardown() {
  pool_suite_teardown
}

# A pool with tank/a, tank/a/b and tank/c, each with snapshot s1 (a and a/b also s2).
mkpool() {
  "$ZPOOL" create -R "$ALT" "$@" tank "$V/d0"
  "$ZFS" create -p tank/a/b
  "$ZFS" create tank/c
  echo one >"$ALT/tank/a/file"
  "$ZFS" snapshot -r tank@s1
  "$ZFS" snapshot -r tank/a@s2
}

# userrefs NAME... / defer NAME...: the property's values, one per line.
userrefs() { "$ZFS" get -H -o value userrefs "$@"; }
defer() { "$ZFS" get -H -o value defer_destroy "$@"; }
# snaps: the snapshot names of tank, one line.
snaps() { "$ZFS" list -H -o name -t snapshot -r tank | tr '\n' ' '; }

@test "zfs hold / release / holds: v23's messages and exit codes" {
  mkpool
  expect 0 "" "$ZFS" hold keep tank/a@s1
  expect 1 "cannot hold 'tank/a@s1': tag already exists on this dataset" "$ZFS" hold keep tank/a@s1
  expect 1 "'tank/a' is not a snapshot" "$ZFS" hold keep tank/a
  expect 1 "cannot open 'tank/nope': dataset does not exist" "$ZFS" hold keep tank/nope@s1
  expect 1 "cannot hold 'tank/a@nope': dataset does not exist" "$ZFS" hold keep tank/a@nope
  expect 1 "cannot hold 'tank/a@nope': dataset does not exist" "$ZFS" hold -r keep tank/a@nope
  expect 2 "tag may not start with '.'
usage:
	hold [-r] tag snapshot..." "$ZFS" hold .x tank/a@s1
  expect 2 "usage:
	hold [-r] tag snapshot..." "$ZFS" hold keep
  long=$(printf 't%.0s' $(seq 256))
  expect 1 "$long: tag too long" "$ZFS" hold "$long" tank/a@s1
  # 255 bytes fit (MAXNAMELEN with its NUL), in a fat ZAP (a microzap takes 49).
  long=$(printf 'l%.0s' $(seq 255))
  expect 0 "" "$ZFS" hold "$long" tank/a@s1
  [ "$(userrefs tank/a@s1)" = 2 ]
  expect 0 "" "$ZFS" release "$long" tank/a@s1
  # Several snapshots: each on its own; one error does not stop the others.
  expect 1 "'tank/c' is not a snapshot" "$ZFS" hold two tank/a@s2 tank/c tank/c@s1
  [ "$(userrefs tank/a@s2 tank/c@s1 | tr '\n' ' ')" = "1 1 " ]
  # -r: every descendant's snapshot of that name, all or none; the error names the one.
  "$ZFS" hold clash tank/a/b@s1
  expect 1 "cannot hold 'tank/a/b@s1': tag already exists on this dataset" "$ZFS" hold -r clash tank/a@s1
  [ "$(userrefs tank/a@s1 tank/a/b@s1 | tr '\n' ' ')" = "1 1 " ]
  expect 0 "" "$ZFS" hold -r all tank@s1
  [ "$(userrefs tank@s1 tank/a@s1 tank/a/b@s1 tank/c@s1 | tr '\n' ' ')" = "1 2 2 2 " ]
  # userrefs and defer_destroy are snapshots' properties ("-" for a filesystem).
  run "$ZFS" get -H -o name,property,value,source userrefs,defer_destroy tank/a tank/a@s1
  [ "$output" = "tank/a	userrefs	-	-
tank/a	defer_destroy	-	-
tank/a@s1	userrefs	2	-
tank/a@s1	defer_destroy	off	-" ]
  "$ZFS" get all tank/a@s1 | grep -qE '^tank/a@s1 +userrefs +2 +-$'
  # zfs holds (OpenZFS's): the table, -H, -p, -r.
  now=$(date +%s)
  run "$ZFS" holds -H -p -r tank@s1
  [ "$status" -eq 0 ]
  [ "$(cut -f1,2 <<<"$output" | tr '\t\n' ': ')" = "tank@s1:all tank/a@s1:all tank/a@s1:keep tank/a/b@s1:all tank/a/b@s1:clash tank/c@s1:all tank/c@s1:two " ]
  for t in $(cut -f3 <<<"$output"); do ((now - t >= -1 && now - t < 120)) || return 1; done
  run env TZ=UTC "$ZFS" holds tank/a@s1
  [ "${lines[0]}" = "NAME       TAG   TIMESTAMP" ]
  [[ ${lines[1]} =~ ^tank/a@s1\ \ all\ \ \ [A-Z][a-z]{2}\ [A-Z][a-z]{2}\ [\ 0-9][0-9]\ [0-9]{2}:[0-9]{2}\ 20[0-9]{2}$ ]]
  [[ ${lines[2]} == "tank/a@s1  keep  "* ]]
  expect 0 "NAME         TAG  TIMESTAMP" "$ZFS" holds tank/a/b@s2
  expect 0 "" "$ZFS" holds -H tank/a/b@s2
  # Nothing found: the header all the same, then "no datasets available".
  expect 1 "'tank/a' is not a snapshot
NAME  TAG  TIMESTAMP
no datasets available" "$ZFS" holds tank/a
  expect 1 "cannot open 'tank/a@nope': dataset does not exist
no datasets available" "$ZFS" holds -H tank/a@nope
  # Release.
  expect 1 "cannot release 'nope' from 'tank/a@s1': no such tag on this dataset" "$ZFS" release nope tank/a@s1
  expect 1 "cannot release 'keep' from 'tank/c@s1': no such tag on this dataset" "$ZFS" release keep tank/c@s1
  expect 1 "cannot release 'keep' from 'tank/a@nope': dataset does not exist" "$ZFS" release keep tank/a@nope
  expect 1 "'tank/a' is not a snapshot" "$ZFS" release keep tank/a
  expect 1 "cannot release 'clash' from 'tank/a@s1': no such tag on this dataset" "$ZFS" release -r clash tank/a@s1
  expect 0 "" "$ZFS" release -r all tank@s1
  [ "$(userrefs tank@s1 tank/a@s1 tank/a/b@s1 tank/c@s1 | tr '\n' ' ')" = "0 1 1 1 " ]
  # The history records the commands and v23's internal events.
  run "$ZPOOL" history -i tank
  grep -q '^[-0-9.:]* zfs hold keep tank/a@s1$' <<<"$output"
  grep -qE '\[internal user hold txg:[0-9]+\] <keep> temp = 0 dataset = [0-9]+$' <<<"$output"
  grep -qE '\[internal user release txg:[0-9]+\] <all> 1 dataset = [0-9]+$' <<<"$output"
}

@test "zfs destroy: a held snapshot is busy; -d defers until the last hold or clone goes" {
  mkpool
  "$ZFS" hold keep tank/a@s1
  expect 1 "cannot destroy 'tank/a@s1': dataset is busy" "$ZFS" destroy tank/a@s1
  # -r: all of that name or none, naming the held one.
  expect 1 "cannot destroy 'tank/a@s1': dataset is busy
no snapshots destroyed" "$ZFS" destroy -r tank@s1
  [ "$(snaps)" = "tank@s1 tank/a@s1 tank/a@s2 tank/a/b@s1 tank/a/b@s2 tank/c@s1 " ]
  expect 1 "cannot destroy 'tank/a': filesystem has children
use '-r' to destroy the following datasets:
tank/a/b@s1
tank/a/b@s2
tank/a/b
tank/a@s1
tank/a@s2" "$ZFS" destroy tank/a
  # -d: the held one is marked, the others of that name go.
  expect 0 "" "$ZFS" destroy -d -r tank@s1
  [ "$(snaps)" = "tank/a@s1 tank/a@s2 tank/a/b@s2 " ]
  [ "$(defer tank/a@s1)" = on ]
  [ "$(defer tank/a@s2)" = off ]
  # Another hold keeps it; the last release destroys it.
  "$ZFS" hold more tank/a@s1
  expect 0 "" "$ZFS" release keep tank/a@s1
  [ "$(snaps)" = "tank/a@s1 tank/a@s2 tank/a/b@s2 " ]
  expect 0 "" "$ZFS" release more tank/a@s1
  [ "$(snaps)" = "tank/a@s2 tank/a/b@s2 " ]
  [ "$(cat "$ALT/tank/a/file")" = one ]
  # Unheld and uncloned: at once.
  expect 0 "" "$ZFS" destroy -d tank/a/b@s2
  [ "$(snaps)" = "tank/a@s2 " ]
  # A cloned snapshot: no "dependent clones" error with -d; it goes with its clone.
  "$ZFS" clone tank/a@s2 tank/cl
  expect 0 "" "$ZFS" destroy -d tank/a@s2
  [ "$(defer tank/a@s2)" = on ]
  "$ZFS" destroy tank/cl
  [ "$(snaps)" = "" ]
  # -d -R: the clones (and their own snapshots) go at once, the named snapshot waits for its
  # hold.
  "$ZFS" snapshot tank/a@s3
  "$ZFS" clone tank/a@s3 tank/cl2
  "$ZFS" snapshot tank/cl2@own
  "$ZFS" hold k tank/a@s3
  expect 0 "" "$ZFS" destroy -d -R tank/a@s3
  run "$ZFS" list tank/cl2
  [ "$status" -eq 1 ]
  [ "$(snaps)" = "tank/a@s3 " ]
  [ "$(defer tank/a@s3)" = on ]
  "$ZFS" release k tank/a@s3
  [ "$(snaps)" = "" ]
  # -d is for snapshots.
  expect 1 "cannot open 'tank/a': operation not applicable to datasets of this type" "$ZFS" destroy -d tank/a
  expect 1 "cannot open 'tank/nope': dataset does not exist" "$ZFS" destroy -d tank/nope
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
}

@test "holds need pool version 18: 'pool must be upgraded' below it" {
  # uzfs creates version 23 pools only: zfs-fuse makes the version 17 one.
  oracle_start
  "$ZF_ZPOOL" create -m none -o version=17 tank "$V/d0"
  "$ZF_ZFS" create tank/a
  "$ZF_ZFS" snapshot tank/a@s1
  "$ZF_ZPOOL" export tank
  oracle_stop
  "$ZPOOL" import -d "$V" -R "$ALT" tank
  expect 1 "cannot hold 'tank/a@s1': pool must be upgraded" "$ZFS" hold keep tank/a@s1
  # (v23 looks for the tag before it checks the version.)
  expect 1 "cannot release 'keep' from 'tank/a@s1': no such tag on this dataset" "$ZFS" release keep tank/a@s1
  expect 1 "cannot destroy 'tank/a@s1': unsupported version" "$ZFS" destroy -d tank/a@s1
  "$ZPOOL" set version=18 tank
  expect 0 "" "$ZFS" hold keep tank/a@s1
  [ "$(userrefs tank/a@s1)" = 1 ]
}

# zdb_userrefs ZDB: the objects of tank's MOS that ZDB -dddd dumps with "snapshot refcount
# tags" (the userrefs ZAPs, their tags and times) or a non-zero userrefs_obj (the snapshots).
# The %full column is left out: for a two-block fat ZAP zfs-fuse's zdb prints 50.00 where
# ours prints 100.00 (both blocks have fill 1 on disk), on pools zfs-fuse writes as well: a
# difference of the two zdbs, not of the pools.
zdb_userrefs() {
  "$1" -e -p "$V" -dddd tank | awk '
    function flush() { if (buf ~ /snapshot refcount tags|userrefs_obj = [1-9]/) printf "%s", buf; buf = "" }
    /^ *Object +lvl/ { flush(); inobj = 1 }
    /^[^ \t]/ { flush(); inobj = 0 }
    inobj { buf = buf $0 "\n" }
    END { flush() }' | sed -E 's/^( +[0-9]+ +[0-9]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+) +[0-9.]+ /\1 - /'
}

@test "interop: zfs-fuse sees and honours our holds, and we its; zdb -bcc clean" {
  mkpool
  "$ZFS" hold -r keep tank/a@s1
  "$ZFS" hold other tank/a@s2
  "$ZFS" destroy -d tank/a@s2
  # A tag past a microzap's 49 bytes makes the ZAP fat (mzap_upgrade).
  "$ZFS" hold "$(printf 'l%.0s' $(seq 200))" tank/a/b@s1
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  # zfs-fuse's zdb dumps the userrefs ZAPs (tags and times) as ours does.
  ours=$(zdb_userrefs "$ZDB")
  theirs=$(zdb_userrefs "$ZF_ZDB")
  [ -n "$theirs" ]
  grep -qE '^[[:space:]]+keep = [0-9]+ *$' <<<"$theirs"
  [ "$ours" = "$theirs" ] || { diff <(echo "$theirs") <(echo "$ours") >&2; return 1; }
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zalt" tank
  # (its zfs get sorts by name: a@s1, a@s2, a/b@s1)
  run "$ZF_ZFS" get -H -o value userrefs,defer_destroy tank/a@s1 tank/a/b@s1 tank/a@s2
  [ "$(echo $output)" = "1 off 1 on 2 off" ] || { echo "$output" >&2; return 1; }
  run "$ZF_ZFS" destroy tank/a@s1
  [ "$status" -eq 1 ]
  [ "$output" = "cannot destroy 'tank/a@s1': dataset is busy" ]
  # zfs-fuse honours our deferred mark: its release destroys the snapshot.
  "$ZF_ZFS" release other tank/a@s2
  run "$ZF_ZFS" list -H -o name -t snapshot -r tank/a
  [ "$(sort <<<"$output" | tr '\n' ' ')" = "tank/a/b@s1 tank/a/b@s2 tank/a@s1 " ]
  # Its holds and marks, for us.
  "$ZF_ZFS" hold fuse tank/c@s1
  "$ZF_ZFS" destroy -d tank/c@s1
  "$ZF_ZPOOL" export tank
  oracle_zdb_clean "$V" tank
  oracle_stop
  "$ZPOOL" import -d "$V" -R "$ALT" tank
  [ "$(userrefs tank/c@s1 tank/a@s1)" = "$(printf '1\n1')" ]
  [ "$(defer tank/c@s1)" = on ]
  run "$ZFS" holds -H tank/c@s1
  [ "$(cut -f1,2 <<<"$output")" = "tank/c@s1	fuse" ]
  expect 1 "cannot destroy 'tank/c@s1': dataset is busy" "$ZFS" destroy tank/c@s1
  expect 0 "" "$ZFS" release fuse tank/c@s1
  expect 0 "" "$ZFS" release -r keep tank/a@s1
  [ "$(snaps)" = "tank@s1 tank/a@s1 tank/a/b@s1 tank/a/b@s2 " ]
  [ "$(userrefs tank/a/b@s1)" = 1 ]
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
}

@test "a SIGKILL of zfsd right after zfs hold / release returns: the change is on disk" {
  mkpool
  # (A pool made with -R is in no cache file: each restart imports it by hand.)
  restart() {
    zfsd_kill
    zfsd_start
    "$ZPOOL" import -d "$V" -R "$ALT" tank
  }
  "$ZFS" hold -r keep tank/a@s1
  restart
  [ "$(userrefs tank/a@s1 tank/a/b@s1 | tr '\n' ' ')" = "1 1 " ]
  "$ZFS" destroy -d tank/a@s1
  "$ZFS" release keep tank/a/b@s1
  restart
  [ "$(defer tank/a@s1)" = on ]
  [ "$(userrefs tank/a/b@s1)" = 0 ]
  "$ZFS" release keep tank/a@s1
  restart
  [ "$(snaps)" = "tank@s1 tank/a@s2 tank/a/b@s1 tank/a/b@s2 tank/c@s1 " ]
  zfsd_kill
  oracle_start
  oracle_zdb_clean "$V" tank
}

# send_blocked ARGS...: starts zfs send ARGS into a FIFO nobody reads (fd 4 keeps it open), so
# the send stops once the pipe is full; sets SEND (its pid) and waits until its holds show.
send_blocked() {
  FIFO=$BATS_TEST_TMPDIR/fifo
  rm -f "$FIFO"
  mkfifo "$FIFO"
  exec 4<>"$FIFO"
  "$ZFS" send "$@" >"$FIFO" 4<&- &
  SEND=$!
  local i
  for i in $(seq 100); do
    "$ZFS" holds -rH tank@s3 2>/dev/null | grep -q "\.send-$SEND-" && return 0
    sleep 0.1
  done
  echo "no send hold appeared" >&2
  return 1
}
# holdtags SNAP: "name tag" of SNAP's holds (-r), one line.
holdtags() { "$ZFS" holds -rH "$1" | cut -f1,2 | tr '\t\n' '  '; }

@test "zfs send -R / -I hold what they send until they end; holds a dead send left go at the next import (ours, zfs-fuse's)" {
  mkpool
  # 4 MiB that does not compress: the stream fills the pipe long before it ends.
  head -c 4M /dev/urandom >"$ALT/tank/a/big"
  "$ZFS" snapshot -r tank@s3
  # -R: every snapshot of tank/a up to s3, and the same names below it.
  send_blocked -R tank/a@s3
  tag=.send-$SEND-0
  [ "$(holdtags tank/a@s1)" = "tank/a@s1 $tag tank/a/b@s1 $tag " ]
  [ "$(holdtags tank/a@s2)" = "tank/a@s2 $tag tank/a/b@s2 $tag " ]
  [ "$(holdtags tank/a@s3)" = "tank/a@s3 $tag tank/a/b@s3 $tag " ]
  [ -z "$(holdtags tank/c@s1)" ]
  expect 1 "cannot destroy 'tank/a/b@s1': dataset is busy" "$ZFS" destroy tank/a/b@s1
  # A reader opened before fd 4 closes: the FIFO never lacks one (zfsd's write: EPIPE).
  exec 5<"$FIFO"
  cat <&5 >"$BATS_TEST_TMPDIR/stream" 4<&- &
  reader=$!
  exec 4<&- 5<&-
  wait "$SEND"
  wait "$reader"
  [ -z "$(holdtags tank/a@s1)$(holdtags tank/a@s2)$(holdtags tank/a@s3)" ]
  [ "$(userrefs tank/a@s1 tank/a/b@s3 | tr '\n' ' ')" = "0 0 " ]
  # The stream is whole: it receives.
  "$ZFS" create tank/copy
  "$ZFS" receive -d tank/copy <"$BATS_TEST_TMPDIR/stream"
  cmp "$ALT/tank/a/big" "$ALT/tank/copy/a/big"
  # -I @s2: tank/a's s2 and s3 only, not its descendants'.
  send_blocked -I @s2 tank/a@s3
  tag=.send-$SEND-0
  [ "$(holdtags tank/a@s2)" = "tank/a@s2 $tag " ]
  [ "$(holdtags tank/a@s3)" = "tank/a@s3 $tag " ]
  [ -z "$(holdtags tank/a@s1)" ]
  # A send killed mid-stream keeps its holds; zfsd's next import releases them.
  kill -9 "$SEND"
  wait "$SEND" || true
  exec 4<&-  # no reader left: zfsd's write fails, its stream ends
  [ "$(holdtags tank/a@s2)" = "tank/a@s2 $tag " ]
  zfsd_kill
  zfsd_start
  "$ZPOOL" import -d "$V" -R "$ALT" tank
  [ -z "$(holdtags tank/a@s2)$(holdtags tank/a@s3)" ]
  [ "$(userrefs tank/a@s2 tank/a@s3 | tr '\n' ' ')" = "0 0 " ]
  # zfs-fuse releases the temporary holds we list, as its own import does.
  send_blocked -R tank/a@s3
  kill -9 "$SEND"
  wait "$SEND" || true
  exec 4<&-
  for i in $(seq 50); do "$ZPOOL" export tank 2>/dev/null && break; sleep 0.1; done
  oracle_start
  oracle_zdb_clean "$V" tank
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zalt" tank
  run "$ZF_ZFS" get -H -o value userrefs tank/a@s1 tank/a/b@s2 tank/a@s3
  [ "$(echo $output)" = "0 0 0" ] || { echo "$output" >&2; return 1; }
  "$ZF_ZFS" destroy tank/a/b@s1
  "$ZF_ZPOOL" export tank
  oracle_zdb_clean "$V" tank
}
