#!/usr/bin/env bats
# The intent log, judged by zfs-fuse: changes fsync'ed through our mount, zfsd SIGKILLed
# before any txg after them synced (--txg-timeout 600), so they exist only in the log; then
# zfs-fuse imports the pool and its mount replays our log (and the reverse: a log zfs-fuse
# left, replayed by our zfsd). Every fsync-acknowledged change is there with its bytes, and
# zfs-fuse's zdb -bcc is clean before the replay and after the export.

load ../lib/pool_helpers
load ../lib/oracle

# logs_agree POOL FLAGS: zfs-fuse's zdb and ours print the same for `zdb -e -p $V FLAGS
# POOL` (left in $BATS_TEST_TMPDIR/zf-i and our-i); zfs-fuse's daemon must be up.
logs_agree() {
  "$ZF_ZDB" -e -p "$V" "$2" "$1" >"$BATS_TEST_TMPDIR/zf-i" 2>&1
  "$ZDB" -e -p "$V" "$2" "$1" >"$BATS_TEST_TMPDIR/our-i" 2>&1
  diff "$BATS_TEST_TMPDIR/zf-i" "$BATS_TEST_TMPDIR/our-i"
}

setup() {
  V=$BATS_TEST_TMPDIR/v
  ALT=$BATS_TEST_TMPDIR/alt
  mkdir -p "$V" "$ALT"
  truncate -s 256M "$V/d0"
  export ZFSD_EXTRA_ARGS="--txg-timeout 600"
}

teardown() {
  cd /
  zfsd_stop || true
  dead_mounts_clear
  fusermount -u -z "$ALT/zfs/fs" 2>/dev/null || true
  fusermount -u -z "$ALT/zfs" 2>/dev/null || true
  oracle_stop 2>/dev/null || true
}



# workload DIR [CHMOD]: every kind of change the ZPL logs, each fsync'ed; the first fsync
# makes the log's chain (a txg sync), so everything after it lives only in the log. CHMOD
# 0 leaves out the chmod (zfs-fuse's fsync does not commit it: its log has no TX_SETATTR
# for it).
workload() {
  python3 - "$1" "${2:-1}" <<'PY'
import os, sys
m = sys.argv[1]
def put(path, data, mode=0o644):
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, mode)
    os.write(fd, data)
    os.fsync(fd)
    os.close(fd)
put(m + "/warmup", b"w" * 100)
os.makedirs(m + "/dir/sub")
put(m + "/small", b"s" * 4096)
put(m + "/dir/big", os.urandom(300 * 1024))            # WR_NEED_COPY records, split at 64K
put(m + "/dir/sub/odd", os.urandom(7777), 0o600)
fd = os.open(m + "/small", os.O_WRONLY)
os.pwrite(fd, b"overwritten in the middle", 1000)   # a write into an existing block
os.fsync(fd); os.close(fd)
os.rename(m + "/dir/sub/odd", m + "/renamed")
os.symlink("dir/big", m + "/link")
os.link(m + "/small", m + "/hard")
put(m + "/gone", b"g" * 10)
os.unlink(m + "/gone")
os.mkdir(m + "/empty")
os.rmdir(m + "/empty")
fd = os.open(m + "/dir/big", os.O_WRONLY)
os.ftruncate(fd, 100000)                              # TX_SETATTR with a size
os.fsync(fd); os.close(fd)
if sys.argv[2] == "1":
    os.chmod(m + "/small", 0o640)
fd = os.open(m + "/small", os.O_RDONLY)
os.fsync(fd); os.close(fd)
fd = os.open(m + "/sparse", os.O_CREAT | os.O_WRONLY, 0o644)
os.pwrite(fd, b"end", 5 << 20)
os.fsync(fd); os.close(fd)
# (zfs-fuse's zil_commit takes the records up to the file's last one, less other files'
# writes: each change above is fsync'ed through its own file.)
PY
}

# metaslab0 POOL: "SIZE ALLOC" of vdev 0's first metaslab (the log metaslab of a new pool:
# the embedded log class) as zfs-fuse's zdb -mmm decodes the exported pool's space maps.
metaslab0() {
  "$ZF_ZDB" -e -p "$V" -mmm "$1" | python3 -c '
import re, sys
ms, size, alloc = None, 0, 0
for line in sys.stdin:
    m = re.match(r"\tmetaslab +(\d+) +offset +([0-9a-f]+)", line)
    if m:
        ms = int(m.group(1))
        if ms == 1: size = int(m.group(2), 16)
        continue
    m = re.search(r"\]    ([AF])  range: .* size: ([0-9a-f]+)", line)
    if m and ms == 0: alloc += int(m.group(2), 16) * (1 if m.group(1) == "A" else -1)
print(size, alloc)'
}

# crash_loop_judge: after a crash_loop on zilp, zfsd's log has no line about replay (a
# replay that failed or stopped says so there), and zfs-fuse's zdb finds the exported pool
# clean.
crash_loop_judge() {
  grep -q "replay" "$ZFSD_DIR/zfsd.log" && { cat "$ZFSD_DIR/zfsd.log" >&2; return 1; }
  "$ZPOOL" export zilp
  oracle_start
  oracle_zdb_clean "$V" zilp
  oracle_stop
}

@test "zil: fsync'ed changes that only the log holds are replayed by zfs-fuse" {
  zfsd_start
  "$ZPOOL" create -o cachefile=none -m "$ALT/zilp" zilp "$V/d0"
  "$ZFS" create zilp/fs
  M=$ALT/zilp/fs
  # More data than the first metaslab holds, synced before the log starts: it must not
  # leave the log blocks to land past it.
  head -c 3M /dev/urandom >"$M/pre"
  sync "$M/pre"
  workload "$M"
  tree_sum "$M" >"$BATS_TEST_TMPDIR/want"
  zfsd_kill
  oracle_start
  # Before any replay: the log's blocks past the last txg are not yet claimed, and nothing
  # else is allocated that the space maps do not say.
  oracle_zdb_clean "$V" zilp
  # zfs-fuse's zdb reads every record of our log as ours does (byte for byte), and finds
  # the records the workload made.
  logs_agree zilp -ivv
  # Every log block is in the log metaslab (the first of a new pool's vdev).
  read -r ms_size _ < <(metaslab0 zilp)
  [ "$ms_size" -gt 0 ]
  offs=$("$ZF_ZDB" -e -p "$V" -ivvvvv zilp | sed -n 's/^	Block seqno [0-9]*,.* DVA\[0\]=<0:\([0-9a-f]*\):.*/\1/p')
  [ -n "$offs" ]
  for o in $offs; do
    (( 0x$o < ms_size )) || { echo "log block at 0x$o, past the log metaslab (size $ms_size)" >&2; return 1; }
  done
  for t in TX_CREATE TX_MKDIR TX_SYMLINK TX_REMOVE TX_RMDIR TX_LINK TX_RENAME TX_WRITE TX_SETATTR; do
    grep -qE "^[[:space:]]+$t +[1-9]" "$BATS_TEST_TMPDIR/zf-i" || { echo "no $t in the log" >&2; cat "$BATS_TEST_TMPDIR/zf-i" >&2; return 1; }
  done
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" zilp
  tree_sum "$(zf_mountpoint zilp/fs)" >"$BATS_TEST_TMPDIR/got"
  diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
  "$ZF_ZPOOL" export zilp
  oracle_zdb_clean "$V" zilp
  oracle_stop
}

@test "zil: our zfsd replays its own log after a SIGKILL, and the pool stays clean" {
  zfsd_start
  "$ZPOOL" create -o cachefile=none -m "$ALT/zilp" zilp "$V/d0"
  "$ZFS" create zilp/fs
  M=$ALT/zilp/fs
  workload "$M"
  tree_sum "$M" >"$BATS_TEST_TMPDIR/want"
  zfsd_kill
  zfsd_start
  "$ZPOOL" import -d "$V" zilp
  tree_sum "$M" >"$BATS_TEST_TMPDIR/got"
  diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
  # More changes after the replay go into a new log, and a clean export leaves a pool
  # that zfs-fuse finds without a leak and mounts with the same files.
  echo after >"$M/after"
  sync "$M/after"
  tree_sum "$M" >"$BATS_TEST_TMPDIR/want2"
  "$ZPOOL" export zilp
  oracle_start
  oracle_zdb_clean "$V" zilp
  # No data in the log metaslab: after a clean export it holds at most the unwritten tail
  # of each chain (two datasets logged, 128K each at most).
  read -r ms_size ms_alloc < <(metaslab0 zilp)
  [ "$ms_size" -gt 0 ]
  (( ms_alloc <= 2 * 131072 )) || { echo "metaslab 0 holds $ms_alloc bytes" >&2; return 1; }
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" zilp
  tree_sum "$(zf_mountpoint zilp/fs)" >"$BATS_TEST_TMPDIR/got2"
  diff "$BATS_TEST_TMPDIR/want2" "$BATS_TEST_TMPDIR/got2"
  "$ZF_ZPOOL" export zilp
  oracle_stop
}

@test "zil: a log zfs-fuse left is replayed by our zfsd" {
  oracle_start
  "$ZF_ZPOOL" create -o cachefile=none -R "$ALT/zfs" zilp "$V/d0"
  "$ZF_ZFS" create zilp/fs
  M=$(zf_mountpoint zilp/fs)
  workload "$M" 0
  tree_sum "$M" >"$BATS_TEST_TMPDIR/want"
  # zfs-fuse syncs a txg every 30 s: a SIGKILL now leaves the workload in its log only.
  kill -KILL "$(cat "$ORACLE_PID")"
  for _ in $(seq 100); do zfsfuse_alive || break; sleep 0.1; done
  fusermount -u -z "$M" 2>/dev/null || true
  fusermount -u -z "$(dirname "$M")" 2>/dev/null || true
  oracle_stop
  zfsd_start
  "$ZPOOL" import -d "$V" -R "$ALT/ours" zilp
  tree_sum "$("$ZFS" get -H -o value mountpoint zilp/fs)" >"$BATS_TEST_TMPDIR/got"
  diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
  "$ZPOOL" export zilp
  oracle_start
  oracle_zdb_clean "$V" zilp
  oracle_stop
}

@test "zil: the sync property (standard by default; always; disabled), its bad values, O_DSYNC" {
  zfsd_start
  "$ZPOOL" create -o cachefile=none -m "$ALT/zilp" zilp "$V/d0"
  "$ZFS" create zilp/fs
  run "$ZFS" get -H -o value,source sync zilp/fs
  [ "$output" = "$(printf 'standard\tdefault')" ]
  "$ZFS" set sync=always zilp
  run "$ZFS" get -H -o value,source sync zilp/fs
  [ "$output" = "$(printf 'always\tinherited from zilp')" ]
  run "$ZFS" set sync=sometimes zilp/fs
  [ "$status" -ne 0 ]
  [[ "$output" == *"'sync' must be one of 'standard | always | disabled'"* ]]
  # Under always, a plain write (no fsync) is durable when write(2) returns: only the log
  # holds it after the SIGKILL. So is a write through an O_DSYNC descriptor under standard.
  echo first >"$ALT/zilp/fs/first"
  sync "$ALT/zilp/fs/first"  # the log's chain begins (a txg sync)
  printf 'always durable' >"$ALT/zilp/fs/a"
  "$ZFS" inherit sync zilp
  python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY | os.O_DSYNC, 0o644)
os.write(fd, b"dsync durable")  # no fsync: the write alone
' "$ALT/zilp/fs/d"
  zfsd_kill
  zfsd_start
  "$ZPOOL" import -d "$V" zilp
  [ "$(cat "$ALT/zilp/fs/a")" = "always durable" ]
  [ "$(cat "$ALT/zilp/fs/d")" = "dsync durable" ]
  "$ZPOOL" export zilp
}

@test "zil: 30 SIGKILLs of zfsd under 4 threads writing and fsyncing; no acknowledged fsync is lost" {
  # A long txg timeout and a small dirty bound: what each kill finds durable is mostly in the
  # log (and in the txgs the early writeback closes), replayed at the next mount.
  export ZFSD_EXTRA_ARGS="--txg-timeout 600 --dirty-max 16M"
  zfsd_start
  "$ZPOOL" create -m "$ALT/zilp" zilp "$V/d0"
  "$ZFS" create -o recordsize=16K zilp/w
  crash_loop "$V" zilp zilp/w 300 --threads 4
  crash_loop_judge
}

@test "zil: a damaged log block ends the replay there; what came before it is replayed, the pool stays clean" {
  zfsd_start
  "$ZPOOL" create -o cachefile=none -m "$ALT/zilp" zilp "$V/d0"
  "$ZFS" create zilp/fs
  M=$ALT/zilp/fs
  # Three commits, each of its own log block (the first fsync starts the chain).
  python3 - "$M" <<'PY'
import os, sys
m = sys.argv[1]
for name in ("warmup", "one", "two", "three"):
    fd = os.open(os.path.join(m, name), os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, name.encode() * 100)
    os.fsync(fd)
    os.close(fd)
PY
  zfsd_kill
  zdb_out=$BATS_TEST_TMPDIR/zdb-i
  "$ZDB" -e -p "$V" -ivvvv zilp/fs >"$zdb_out" 2>&1
  [ "$(grep -c '^	Block seqno' "$zdb_out")" -ge 3 ] || { cat "$zdb_out" >&2; return 1; }
  # The block holding "two"'s records (the second one written after the chain began).
  blk=$(sed -n 's/^	Block seqno 2, .*DVA\[0\]=<0:\([0-9a-f]*\):.*/\1/p' "$zdb_out")
  [ -n "$blk" ]
  printf 'XXXXXXXX' | dd of="$V/d0" bs=1 seek=$((0x400000 + 0x$blk + 300)) conv=notrunc status=none
  zfsd_start
  "$ZPOOL" import -d "$V" zilp
  [ "$(cat "$M/warmup" | head -c 6)" = warmup ]
  [ "$(head -c 3 "$M/one")" = one ]
  [ ! -e "$M/two" ]
  [ ! -e "$M/three" ]
  "$ZPOOL" export zilp
  oracle_start
  oracle_zdb_clean "$V" zilp
  oracle_stop
}

@test "zil: stores msync'ed through a libzfs mapping are logged; zfs-fuse and our zfsd replay them" {
  zfsd_start
  "$ZPOOL" create -o cachefile=none -m "$ALT/zilp" zilp "$V/d0"
  "$ZFS" create zilp/fs
  M=$ALT/zilp/fs
  head -c 4M /dev/urandom >"$M/f"
  sync "$M/f"  # the chain starts (a txg sync): what follows lives only in the log
  lib=$UZFS_BUILD/libzfs/libuzfs_file.so
  # Three stores, each msync'ed (map_client's poke: map, store, msync(MS_SYNC) of the mapping).
  for at in 5 $((1 << 20)) $((3 * 1048576 + 7)); do
    python3 "$UZFS_ROOT/tests/lib/map_client.py" "$lib" poke "$M/f" "$at" 0x5c
  done
  want=$(sha256sum <"$M/f" | awk '{ print $1 }')
  [ "$(od -An -tx1 -j $((1 << 20)) -N1 "$M/f" | tr -d ' ')" = 5c ]
  zfsd_kill
  # The stores are records of the log (a 128K record each), not a txg.
  "$ZDB" -e -p "$V" -ivv zilp >"$BATS_TEST_TMPDIR/our-i" 2>&1
  grep -qE "^[[:space:]]+TX_WRITE +[3-9]" "$BATS_TEST_TMPDIR/our-i" || { cat "$BATS_TEST_TMPDIR/our-i" >&2; return 1; }
  mkdir "$BATS_TEST_TMPDIR/v2"
  cp --sparse=always "$V/d0" "$BATS_TEST_TMPDIR/v2/d0"
  # zfs-fuse replays them...
  oracle_start
  oracle_zdb_clean "$V" zilp
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" zilp
  [ "$(sha256sum <"$(zf_mountpoint zilp/fs)/f" | awk '{ print $1 }')" = "$want" ]
  "$ZF_ZPOOL" export zilp
  oracle_zdb_clean "$V" zilp
  oracle_stop
  # ...and so does our zfsd, from the copy made before zfs-fuse's import.
  zfsd_start
  "$ZPOOL" import -d "$BATS_TEST_TMPDIR/v2" zilp
  [ "$(sha256sum <"$M/f" | awk '{ print $1 }')" = "$want" ]
  "$ZPOOL" export zilp
}

@test "zil: a volume's writes flushed through its device are in its log; our zfsd replays them after a SIGKILL" {
  zfsd_start
  "$ZPOOL" create -o cachefile=none zilv "$V/d0"
  "$ZFS" create -V 16M -b 4K zilv/vol
  dev=$(dev_of zilv/vol)
  head -c 3M /dev/urandom >"$BATS_TEST_TMPDIR/data"
  # The first flush starts the log's chain (a txg sync); the later ones go to the log only.
  dd if="$BATS_TEST_TMPDIR/data" of="$dev" bs=64K count=1 oflag=direct conv=fsync status=none
  dd if="$BATS_TEST_TMPDIR/data" of="$dev" bs=64K skip=1 seek=1 count=16 oflag=direct conv=fsync status=none
  dd if="$BATS_TEST_TMPDIR/data" of="$dev" bs=64K skip=17 seek=17 oflag=direct conv=fsync status=none
  zfsd_kill
  # What the device acknowledged is in the volume's log: TX_WRITE records of object 1.
  zdb_out=$BATS_TEST_TMPDIR/zdb-i
  "$ZDB" -e -p "$V" -ivv zilv/vol >"$zdb_out" 2>&1
  grep -q "TX_WRITE" "$zdb_out" || { cat "$zdb_out" >&2; return 1; }
  ! grep "TX_WRITE" -A1 "$zdb_out" | grep -q "foid [02-9]"
  # every 64K after the first: 47 records, the txg that holds them never synced
  [ "$(grep -c TX_WRITE "$zdb_out")" -ge 47 ]
  # zfs-fuse finds the crashed pool clean (the log's blocks counted, nothing leaked).
  oracle_start
  oracle_zdb_clean "$V" zilv
  oracle_stop
  # Our import claims the log; exposing the volume replays it.
  zfsd_start
  "$ZPOOL" import -d "$V" zilv
  cmp -n $((3 << 20)) "$(dev_of zilv/vol)" "$BATS_TEST_TMPDIR/data"
  # A flush after the replay goes into a new log; the clean export leaves a clean pool.
  dd if=/dev/zero of="$(dev_of zilv/vol)" bs=4K count=1 seek=1000 oflag=direct conv=fsync status=none
  "$ZPOOL" export zilv
  oracle_start
  oracle_zdb_clean "$V" zilv
  oracle_stop
}

@test "zil: a volume with 64K blocks logs flushed whole blocks by pointer; zfs-fuse's zdb claims them; replay" {
  zfsd_start
  "$ZPOOL" create -o cachefile=none zilv "$V/d0"
  "$ZFS" create -V 16M -b 64K zilv/vol
  dev=$(dev_of zilv/vol)
  head -c 4M /dev/urandom >"$BATS_TEST_TMPDIR/data"
  dd if="$BATS_TEST_TMPDIR/data" of="$dev" bs=64K count=1 oflag=direct conv=fsync status=none
  for i in $(seq 1 63); do
    dd if="$BATS_TEST_TMPDIR/data" of="$dev" bs=64K skip="$i" seek="$i" count=1 oflag=direct conv=fsync status=none
  done
  zfsd_kill
  # zvol_log_write: each flushed 64K block (above zvol_immediate_write_sz) is a record
  # naming the block the flush wrote, not a copy of its bytes; zfs-fuse's zdb reads the
  # same records as ours and counts the blocks they claim.
  oracle_start
  oracle_zdb_clean "$V" zilv
  logs_agree zilv -ivvvv
  n=$(grep -c "has blkptr, will claim" "$BATS_TEST_TMPDIR/zf-i")
  [ "$n" -ge 40 ] || { cat "$BATS_TEST_TMPDIR/zf-i" >&2; return 1; }
  oracle_stop
  zfsd_start
  "$ZPOOL" import -d "$V" zilv
  cmp -n $((4 << 20)) "$(dev_of zilv/vol)" "$BATS_TEST_TMPDIR/data"
  "$ZPOOL" export zilv
  oracle_start
  oracle_zdb_clean "$V" zilv
  oracle_stop
}

# Large fsync'ed writes on recordsize=128K: each whole block is written in place at the fsync
# and logged by block pointer (WR_INDIRECT); logbias=throughput does so for small writes too.
indirect_workload() {
  python3 - "$1" "$2" <<'PY'
import os, sys
m, t = sys.argv[1], sys.argv[2]
def put(path, chunks):
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
    for off, data in chunks:
        os.pwrite(fd, data, off)
        os.fsync(fd)
    os.close(fd)
put(m + "/warmup", [(0, b"w" * 100)])
put(t + "/warmup", [(0, b"w" * 100)])
put(m + "/big", [(0, os.urandom(4 << 20))])                         # 32 whole blocks
put(m + "/unaligned", [(5000, os.urandom(1 << 20))])                # partial blocks at both ends
put(m + "/rewritten", [(0, os.urandom(1 << 20)), (128 << 10, os.urandom(300 << 10))])
put(m + "/small", [(0, b"s" * 20000)])                              # under 32K: copied
put(t + "/tp", [(0, b"t" * 3000), (8192, b"u" * 5000), (1 << 20, b"v" * 4096)])
PY
}

@test "zil: large fsync'ed writes are logged by block pointer (WR_INDIRECT); zfs-fuse and our zfsd replay them" {
  zfsd_start
  "$ZPOOL" create -o cachefile=none -m "$ALT/zilp" zilp "$V/d0"
  "$ZFS" create zilp/fs
  "$ZFS" create -o logbias=throughput zilp/tp
  [ "$("$ZFS" get -H -o value logbias zilp/tp)" = throughput ]
  indirect_workload "$ALT/zilp/fs" "$ALT/zilp/tp"
  tree_sum "$ALT/zilp" >"$BATS_TEST_TMPDIR/want"
  zfsd_kill
  mkdir "$BATS_TEST_TMPDIR/v2"
  cp --sparse=always "$V/d0" "$BATS_TEST_TMPDIR/v2/d0"
  oracle_start
  oracle_zdb_clean "$V" zilp
  # zfs-fuse's zdb and ours print the same records, block pointers and data included
  # (zil_prt_rec_write at -ivvvv: "has blkptr, will claim" and the block it names).
  logs_agree zilp -ivvvv
  # big: 32 blocks, unaligned: 9, rewritten: 8 + 3, tp: 2 (one block twice) + 1.
  n=$(grep -c "has blkptr, will claim" "$BATS_TEST_TMPDIR/zf-i")
  [ "$n" -ge 49 ] || { cat "$BATS_TEST_TMPDIR/zf-i" >&2; return 1; }
  # The copied write of "small" carries its bytes (a record longer than lr_write_t).
  grep -A1 "TX_WRITE" "$BATS_TEST_TMPDIR/zf-i" | grep -q "length 4e20"
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" zilp
  tree_sum "$(zf_mountpoint zilp)" >"$BATS_TEST_TMPDIR/got"
  diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
  "$ZF_ZPOOL" export zilp
  oracle_zdb_clean "$V" zilp
  oracle_stop
  # Our zfsd replays the same log (from the copy made before zfs-fuse's import).
  zfsd_start
  "$ZPOOL" import -d "$BATS_TEST_TMPDIR/v2" zilp
  tree_sum "$ALT/zilp" >"$BATS_TEST_TMPDIR/got2"
  diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got2"
  "$ZPOOL" export zilp
  oracle_start
  oracle_zdb_clean "$BATS_TEST_TMPDIR/v2" zilp
  oracle_stop
}

@test "zil: a log whose WR_INDIRECT blocks are never replayed (the pool imported, then destroyed) leaks nothing" {
  zfsd_start
  "$ZPOOL" create -o cachefile=none -m "$ALT/zilp" zilp "$V/d0"
  "$ZFS" create -o canmount=noauto -o mountpoint="$ALT/zilp/fs" zilp/fs
  "$ZFS" mount zilp/fs
  indirect_workload "$ALT/zilp/fs" "$ALT/zilp/fs"
  zfsd_kill
  # The import claims the indirect blocks; the filesystem is not mounted (no replay), then
  # destroyed: its log and the claimed blocks are freed (zil_free_log_record).
  zfsd_start
  "$ZPOOL" import -d "$V" zilp
  [ "$("$ZFS" get -H -o value mounted zilp/fs)" = no ]
  "$ZFS" destroy zilp/fs
  "$ZPOOL" export zilp
  oracle_start
  oracle_zdb_clean "$V" zilp
  oracle_stop
}

@test "zil: 6 SIGKILLs of zfsd under 2 threads fsyncing 128K (WR_INDIRECT) and 8K (copied) writes; none lost" {
  export ZFSD_EXTRA_ARGS="--txg-timeout 600 --dirty-max 16M"
  export CRASH_WRITER_MIXED=1 UZFS_CRASH_KILLS=6
  zfsd_start
  "$ZPOOL" create -m "$ALT/zilp" zilp "$V/d0"
  "$ZFS" create zilp/w
  crash_loop "$V" zilp zilp/w 300 --threads 2
  crash_loop_judge
}
