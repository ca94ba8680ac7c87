#!/usr/bin/env bats
# zfs send: v23 (zfs-fuse's) stream format, judged by zfs-fuse. A full stream of our snapshot
# and an incremental one (-i) on top of it, received by zfs-fuse's zfs receive, give the same
# files (bytes, sizes, modes, owners, mtimes, xattrs, links) and zfs-fuse's zdb -bcc finds
# both pools clean. The CLI's refusals in zfs-fuse's words; a send whose reader stalls keeps
# its snapshot from being destroyed and its pool from being exported ("pool is busy")
# without holding up other commands; a reader that goes
# away ends the send with "Broken pipe" and zfsd serves on; a SIGTERM of zfsd ends stalled
# streams ("zfsd is stopping") instead of waiting for their peers. A receive holds its pool too.

load ../lib/pool_helpers
load ../lib/oracle

MANIFEST=$UZFS_ROOT/tests/lib/manifest.py

setup() {
  send_suite_setup 2
}

teardown() {
  pool_suite_teardown
}

# A pool tank with filesystem tank/fs holding every kind of file, snapshot tank/fs@s1.
mkpool() {
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  "$ZFS" create -o compression=gzip -o atime=off tank/fs
  M=$ALT/tank/fs
  dd if=/dev/urandom of="$M/random" bs=1M count=3 status=none
  yes "a compressible line of text" | head -c 3000000 >"$M/text"
  truncate -s 20M "$M/sparse"
  dd if=/dev/urandom of="$M/sparse" bs=64K count=2 seek=100 conv=notrunc status=none
  mkdir -p "$M/dir/sub" "$M/many"
  for i in $(seq 300); do echo "$i" >"$M/many/f$i"; done
  echo small >"$M/dir/sub/small"
  : >"$M/empty"
  ln "$M/dir/sub/small" "$M/hard"
  ln -s dir/sub/small "$M/link"
  ln -s "/a/long/target/$(printf 'x%.0s' $(seq 120))" "$M/longlink"
  chmod 0750 "$M/dir"
  chmod 4755 "$M/random"
  chown 1234:5678 "$M/random"
  touch -d '2001-02-03 04:05:06' "$M/text"
  xattr_set "$M/random" user.color blue
  xattr_set "$M/dir" user.note "$(printf 'v%.0s' $(seq 40))"
  "$ZFS" snapshot tank/fs@s1
}

@test "zfs send: a full and an incremental stream, received by zfs-fuse, give the same files" {
  mkpool
  "$ZFS" send tank/fs@s1 >"$S/full"
  python3 "$MANIFEST" "$M" >"$BATS_TEST_TMPDIR/ours1"
  # Changes for the incremental: removed files (FREEOBJECTS), a shrunk and a rewritten
  # file (FREE, WRITE), new files and directories, changed modes, owners and xattrs.
  for i in $(seq 1 2 300); do rm "$M/many/f$i"; done
  truncate -s 1M "$M/random"
  dd if=/dev/urandom of="$M/sparse" bs=64K count=1 seek=10 conv=notrunc status=none
  truncate -s 5M "$M/sparse"
  rm "$M/hard" "$M/link"
  mkdir "$M/new"
  dd if=/dev/urandom of="$M/new/file" bs=100K count=5 status=none
  chmod 0700 "$M/dir/sub"
  chown 42:43 "$M/text"
  xattr_set "$M/new/file" user.tag fresh
  "$ZFS" snapshot tank/fs@s2
  "$ZFS" send -i s1 tank/fs@s2 >"$S/inc"
  "$ZFS" send -i tank/fs@s1 tank/fs@s2 | cmp - "$S/inc"
  python3 "$MANIFEST" "$M" >"$BATS_TEST_TMPDIR/ours2"
  ! diff -q "$BATS_TEST_TMPDIR/ours1" "$BATS_TEST_TMPDIR/ours2" >/dev/null
  # The stream starts with DRR_BEGIN (type 0) and the magic 0x2F5bacbac.
  [ "$(od -A n -t x8 -j 8 -N 8 "$S/full" | tr -d ' ')" = 00000002f5bacbac ]
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  "$ZF_ZPOOL" create -R "$ZALT" zpool1 "$V/d1"
  "$ZF_ZFS" receive zpool1/copy <"$S/full"
  "$ZF_ZFS" set atime=off zpool1/copy
  python3 "$MANIFEST" "$(zf_mountpoint zpool1/copy)" >"$BATS_TEST_TMPDIR/theirs1"
  diff "$BATS_TEST_TMPDIR/ours1" "$BATS_TEST_TMPDIR/theirs1"
  "$ZF_ZFS" receive -F zpool1/copy <"$S/inc"
  # (Read after a fresh import: zfs-fuse's mount keeps attributes it cached before.)
  "$ZF_ZPOOL" export zpool1
  "$ZF_ZPOOL" import -d "$V" -R "$ZALT" zpool1
  python3 "$MANIFEST" "$(zf_mountpoint zpool1/copy)" >"$BATS_TEST_TMPDIR/theirs2"
  diff "$BATS_TEST_TMPDIR/ours2" "$BATS_TEST_TMPDIR/theirs2"
  run "$ZF_ZFS" list -H -o name -t snapshot -r zpool1
  [ "$output" = "$(printf 'zpool1/copy@s1\nzpool1/copy@s2')" ]
  "$ZF_ZPOOL" export zpool1
  oracle_zdb_clean "$V" zpool1
  oracle_stop
}

@test "zfs send: refusals in zfs-fuse's words" {
  mkpool
  "$ZFS" snapshot tank/fs@s2
  expect 2 "argument must be a snapshot
usage:
	send [-RDpv] [-[iI] snapshot] snapshot" "$ZFS" send tank/fs
  expect 2 "missing snapshot argument
usage:
	send [-RDpv] [-[iI] snapshot] snapshot" "$ZFS" send
  expect 1 "cannot open 'tank/nope': dataset does not exist" "$ZFS" send tank/nope@s1
  expect 1 "cannot open 'tank/fs@nope': dataset does not exist" "$ZFS" send tank/fs@nope
  expect 1 "warning: cannot send 'tank/fs@s2': incremental source (@nope) does not exist" \
    "$ZFS" send -i nope tank/fs@s2
  expect 1 "warning: cannot send 'tank/fs@s1': not an earlier snapshot from the same fs" \
    "$ZFS" send -i s2 tank/fs@s1
  expect 2 "incremental source must be in same filesystem
usage:
	send [-RDpv] [-[iI] snapshot] snapshot" "$ZFS" send -i tank/other@s1 tank/fs@s2
  expect 2 "invalid incremental source
usage:
	send [-RDpv] [-[iI] snapshot] snapshot" "$ZFS" send -i @a/b tank/fs@s2
  expect 1 "warning: cannot send 'tank/fs@s2': incremental source (@nope) does not exist" \
    "$ZFS" send -D -i nope tank/fs@s2
  # A terminal on standard output is refused before anything is sent.
  run script -qec "$ZFS send tank/fs@s1" /dev/null
  [ "$status" -eq 1 ]
  [[ $output == *"Error: Stream can not be written to a terminal."*"You must redirect standard output."* ]]
}

@test "zfs send: a stalled reader keeps the snapshot busy, not zfsd; a vanished one is a broken pipe" {
  mkpool
  fifo=$BATS_TEST_TMPDIR/fifo
  mkfifo "$fifo"
  # The reader opens the fifo and then waits: the send fills the pipe and blocks.
  (exec 3<"$fifo"; sleep 4; cat <&3 >"$S/late") &
  reader=$!
  "$ZFS" send tank/fs@s1 >"$fifo" 2>"$S/err" &
  sender=$!
  sleep 1
  # Other commands run meanwhile; the snapshot cannot go.
  run "$ZFS" list -H -o name tank/fs
  [ "$output" = tank/fs ]
  expect 1 "cannot destroy 'tank/fs@s1': dataset is busy" "$ZFS" destroy tank/fs@s1
  # Nor can the pool go (spa_export_common's EBUSY), and its filesystems stay mounted.
  expect 1 "cannot export 'tank': pool is busy" "$ZPOOL" export tank
  mountpoint -q "$ALT/tank/fs"
  wait "$sender"
  wait "$reader"
  [ ! -s "$S/err" ]
  "$ZFS" send tank/fs@s1 | cmp - "$S/late"
  # Once the send ended, the snapshot can be destroyed... after another stream that breaks.
  run bash -c "set -o pipefail; '$ZFS' send tank/fs@s1 | head -c 1000 >/dev/null"
  [ "$status" -eq 1 ]
  [ "$output" = "warning: cannot send 'tank/fs@s1': Broken pipe" ]
  "$ZPOOL" list tank >/dev/null
  "$ZFS" destroy tank/fs@s1
  "$ZPOOL" export tank
}

@test "zfs receive: our stream and zfs-fuse's give the same files; bad streams leave nothing" {
  mkpool
  "$ZFS" send tank/fs@s1 >"$S/full"
  python3 "$MANIFEST" "$M" >"$BATS_TEST_TMPDIR/ours1"
  run "$ZFS" receive -v tank/copy <"$S/full"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "receiving full stream of tank/fs@s1 into tank/copy@s1" ]
  [[ ${lines[1]} == "received "*"B stream in "*" seconds ("*"B/sec)" ]]
  python3 "$MANIFEST" "$ALT/tank/copy" >"$BATS_TEST_TMPDIR/copy1"
  diff "$BATS_TEST_TMPDIR/ours1" "$BATS_TEST_TMPDIR/copy1"
  # The snapshot has the stream's guid and creation time.
  [ "$("$ZFS" get -H -p -o value guid,creation tank/copy@s1)" = "$("$ZFS" get -H -p -o value guid,creation tank/fs@s1)" ]
  # -d and -e: names under an existing filesystem; -u: not mounted; -n: nothing made.
  "$ZFS" create tank/d
  "$ZFS" create tank/e
  "$ZFS" receive -d tank/d <"$S/full"
  "$ZFS" receive -u -e tank/e <"$S/full"
  [ "$("$ZFS" list -H -o name -t snapshot -r tank/d tank/e | tr '\n' ' ')" = "tank/d/fs@s1 tank/e/fs@s1 " ]
  [ "$("$ZFS" get -H -o value mounted tank/d/fs tank/e/fs | tr '\n' ' ')" = "yes no " ]
  expect 0 "would receive full stream of tank/fs@s1 into tank/n@s1" "$ZFS" receive -n -v tank/n <"$S/full"
  expect 1 "cannot open 'tank/n': dataset does not exist" "$ZFS" list tank/n
  # Refusals, in zfs-fuse's words; nothing half-made stays.
  expect 1 "cannot receive new filesystem stream: destination 'tank/copy' exists
must specify -F to overwrite it" "$ZFS" receive tank/copy <"$S/full"
  cp "$S/full" "$S/flipped"
  size=$(stat -c %s "$S/full")
  flip_byte "$S/flipped" $((size / 2))
  expect 1 "cannot receive new filesystem stream: invalid stream (checksum mismatch)" \
    "$ZFS" receive tank/bad <"$S/flipped"
  head -c $((size / 2)) "$S/full" >"$S/short"
  expect 1 "cannot receive new filesystem stream: invalid backup stream" "$ZFS" receive tank/bad <"$S/short"
  head -c 4096 /dev/zero >"$S/zeros"
  expect 1 "cannot receive: invalid stream (bad magic number)" "$ZFS" receive tank/bad <"$S/zeros"
  expect 1 "cannot receive: failed to read from stream" "$ZFS" receive tank/bad </dev/null
  expect 1 "cannot receive: specified fs (tank/nope) does not exist" "$ZFS" receive -d tank/nope <"$S/full"
  expect 1 "cannot open 'tank/bad': dataset does not exist" "$ZFS" list tank/bad
  # zfs-fuse: our pool is clean and shows the received copy; its own stream comes back.
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  "$ZF_ZPOOL" import -d "$V" -R "$ZALT" tank
  "$ZF_ZFS" set atime=off tank
  python3 "$MANIFEST" "$(zf_mountpoint tank/copy)" >"$BATS_TEST_TMPDIR/theirs1"
  diff "$BATS_TEST_TMPDIR/ours1" "$BATS_TEST_TMPDIR/theirs1"
  "$ZF_ZFS" create tank/zf
  Z=$(zf_mountpoint tank/zf)
  dd if=/dev/urandom of="$Z/rand" bs=1M count=2 status=none
  mkdir "$Z/dir"
  for i in $(seq 300); do echo "$i" >"$Z/dir/f$i"; done
  ln -s rand "$Z/link"
  chown 7:8 "$Z/rand"
  "$ZF_ZFS" snapshot tank/zf@z1
  "$ZF_ZFS" send tank/zf@z1 >"$S/zf"
  python3 "$MANIFEST" "$Z" >"$BATS_TEST_TMPDIR/zf1"
  "$ZF_ZPOOL" export tank
  oracle_stop
  "$ZPOOL" import -d "$V" -R "$ALT" tank
  "$ZFS" receive tank/fromzf <"$S/zf"
  python3 "$MANIFEST" "$ALT/tank/fromzf" >"$BATS_TEST_TMPDIR/ours-zf"
  diff "$BATS_TEST_TMPDIR/zf1" "$BATS_TEST_TMPDIR/ours-zf"
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "zfs receive: a SIGKILL of zfsd mid-receive leaves a clean pool without the half-made filesystem" {
  mkpool
  "$ZFS" send tank/fs@s1 >"$S/full"
  fifo=$BATS_TEST_TMPDIR/fifo
  mkfifo "$fifo"
  # Half the stream, then the writer waits: zfsd is killed mid-receive.
  start_half() {
    "$ZFS" receive tank/k <"$fifo" 2>/dev/null &
    exec 4>"$fifo"
    head -c $(($(stat -c %s "$S/full") / 2)) "$S/full" >&4
    for _ in $(seq 50); do "$ZFS" list tank/k >/dev/null 2>&1 && break; sleep 0.1; done
    "$ZFS" list tank/k >/dev/null
    "$ZPOOL" sync tank  # a txg with some of the stream in it on disk
    zfsd_kill
    exec 4>&-
  }
  start_half
  # The half-made filesystem is on disk (with some of the stream in it) ...
  run "$ZDB" -e -p "$V" -d tank
  [[ $output == *"Dataset tank/k "* ]]
  # ... zfs-fuse imports the crashed pool: its zdb finds it clean, its import destroys tank/k.
  oracle_start
  oracle_zdb_clean "$V" tank
  "$ZF_ZPOOL" import -f -d "$V" -R "$ZALT" tank
  run "$ZF_ZFS" list -H -o name -r tank
  [[ $output != *tank/k* ]]
  [[ $output == *tank/fs* ]]
  "$ZF_ZPOOL" export tank
  oracle_stop
  # And ours: the same again; our import destroys it (a pool made with -R is in no cache
  # file: the restarted zfsd imports it by hand).
  zfsd_start
  "$ZPOOL" import -d "$V" -R "$ALT" tank
  start_half
  zfsd_start
  "$ZPOOL" import -d "$V" -R "$ALT" tank
  expect 1 "cannot open 'tank/k': dataset does not exist" "$ZFS" list tank/k
  "$ZFS" receive tank/k <"$S/full"
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "zfsd: a receive holds its pool; SIGTERM ends a send whose reader stalls and a receive whose writer stalls" {
  mkpool
  "$ZFS" send tank/fs@s1 >"$S/full"
  out=$BATS_TEST_TMPDIR/out in=$BATS_TEST_TMPDIR/in
  mkfifo "$out" "$in"
  # Each fifo is held open by this shell, never read from or written to: the send fills the
  # pipe and blocks in write(2); the receive, after half its stream, blocks in read(2).
  "$ZFS" receive tank/half <"$in" 2>"$S/recv.err" &
  receiver=$!
  exec 6>"$in"
  head -c $(($(stat -c %s "$S/full") / 2)) "$S/full" >&6
  for _ in $(seq 50); do "$ZFS" list tank/half >/dev/null 2>&1 && break; sleep 0.1; done
  "$ZFS" list tank/half >/dev/null
  # A receive holds its pool as a send does.
  expect 1 "cannot export 'tank': pool is busy" "$ZPOOL" export tank
  exec 5<>"$out"
  "$ZFS" send tank/fs@s1 >"$out" 2>"$S/send.err" &
  sender=$!
  sleep 1
  # zfsd must exit 0 by itself, soon, not when the peers move (a watchdog kills it at 20 s,
  # and then zfsd_stop fails).
  (sleep 20; kill -KILL "$ZFSD_PID") 2>/dev/null &
  watchdog=$!
  start=$(date +%s)
  zfsd_stop
  [ $(($(date +%s) - start)) -lt 10 ]
  kill "$watchdog"
  rc=0; wait "$sender" || rc=$?
  [ "$rc" -ne 0 ]
  grep -q "zfsd is stopping" "$S/send.err"
  rc=0; wait "$receiver" || rc=$?
  [ "$rc" -ne 0 ]
  grep -q "zfsd is stopping" "$S/recv.err"
  exec 5<&- 6>&-
  # The pool was synced and kept: the next zfsd imports it without the half-made filesystem.
  zfsd_start
  "$ZPOOL" import -d "$V" -R "$ALT" tank
  expect 1 "cannot open 'tank/half': dataset does not exist" "$ZFS" list tank/half
  "$ZFS" send tank/fs@s1 | cmp - "$S/full"
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}
