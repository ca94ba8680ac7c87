#!/usr/bin/env bats
# zfs send -D and the receive of deduplicated streams (zfs-fuse libzfs_sendrecv.c cksummer,
# dmu_send.c restore_write_byref), judged by zfs-fuse both ways: our -D streams (a full one,
# and -R with -I, whose references reach across snapshots and filesystems) received by
# zfs-fuse's zfs receive give the same files and pools its zdb -bcc finds clean, and its
# -D streams received by ours likewise. zfs-fuse's zstreamdump reads ours: the feature flags,
# WRITE_BYREF records, checksums that match.

load ../lib/pool_helpers
load ../lib/oracle

ZF_ZSTREAMDUMP=/usr/sbin/zstreamdump

setup() {
  send_suite_setup 3
}

teardown() {
  pool_suite_teardown
}

# mkfiles BIN POOL: POOL/fs and POOL/fs/c with files whose 128K blocks repeat (within a
# file, between files, then in @s2 between snapshots and filesystems), snapshots @s1, @s2.
mkfiles() {
  local z=$1 p=$2 m c
  dd if=/dev/urandom of="$BATS_TEST_TMPDIR/blk" bs=128K count=1 status=none
  dd if=/dev/urandom of="$BATS_TEST_TMPDIR/blk2" bs=128K count=1 status=none
  "$z" create "$p/fs"
  "$z" create -o checksum=sha256 "$p/fs/c"
  m=$(mountpoint_of "$z" "$p/fs")
  c=$(mountpoint_of "$z" "$p/fs/c")
  for _ in 1 2 3 4; do cat "$BATS_TEST_TMPDIR/blk"; done >"$m/rep"
  cp "$m/rep" "$m/copy"
  head -c 1000 /dev/urandom >"$m/small"
  for _ in 1 2 3; do cat "$BATS_TEST_TMPDIR/blk2"; done >"$c/rep2"
  "$z" snapshot -r "$p/fs@s1"
  cat "$BATS_TEST_TMPDIR/blk" "$BATS_TEST_TMPDIR/blk2" >"$m/later"
  cat "$BATS_TEST_TMPDIR/blk2" "$BATS_TEST_TMPDIR/blk" >"$c/later"
  cp "$m/small" "$c/small"
  "$z" snapshot -r "$p/fs@s2"
}

# rep4: the contents of rep and copy (four times the block blk).
rep4() { cat "$BATS_TEST_TMPDIR/blk" "$BATS_TEST_TMPDIR/blk" "$BATS_TEST_TMPDIR/blk" "$BATS_TEST_TMPDIR/blk"; }

# sums BIN POOL: the files of POOL/fs and POOL/fs/c with POOL written as X.
sums() {
  local fs
  for fs in fs fs/c; do
    echo "== $fs"
    tree_sum "$(mountpoint_of "$1" "$2/$fs")"
  done
}

# byrefs FILE: how many WRITE_BYREF records zfs-fuse's zstreamdump finds in the stream; fails
# when it finds a checksum that does not match or a record it does not know.
byrefs() {
  local out
  out=$("$ZF_ZSTREAMDUMP" -v <"$1")
  ! grep -qE 'checksum differs|INVALID' <<<"$out" || { echo "$out" | grep -E 'differs|INVALID' >&2; return 1; }
  grep -c '^WRITE_BYREF' <<<"$out" || true
}

@test "zfs send -D: our deduplicated streams, full and -R -I, received by zfs-fuse, give the same files" {
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  mkfiles "$ZFS" tank
  "$ZFS" send -D tank/fs@s1 >"$S/full"
  "$ZFS" send -D -R tank/fs@s1 >"$S/r1"
  "$ZFS" send -D -R -I @s1 tank/fs@s2 >"$S/r2"
  "$ZFS" send tank/fs@s1 >"$S/plain"
  sums "$ZFS" tank >"$BATS_TEST_TMPDIR/ours"
  # A lone stream is not compound: BEGIN's versioninfo is a substream (1) with the dedup and
  # dedupprops features (3 << 2); the package's header carries them too (2 | 3 << 2).
  [ "$(od -A n -t u8 -j 16 -N 8 "$S/full" | tr -d ' ')" = 13 ]
  [ "$(od -A n -t u8 -j 16 -N 8 "$S/r2" | tr -d ' ')" = 14 ]
  # The repeated blocks went as references, the plain stream has them all.
  [ "$(stat -c %s "$S/full")" -lt $(($(stat -c %s "$S/plain") - 3 * 131072)) ]
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  [ "$(byrefs "$S/full")" -ge 4 ]    # rep's three repeats, copy's four
  [ "$(byrefs "$S/r1")" -ge 6 ]      # and rep2's two
  [ "$(byrefs "$S/r2")" -ge 2 ]      # fs/c's later, from fs's
  "$ZF_ZSTREAMDUMP" <"$S/full" | grep -q 'features = 3'
  "$ZF_ZPOOL" create -R "$ZALT" zpool1 "$V/d1"
  # Another pool: zfs-fuse's guid map of a dedup receive (find_ds_by_guid) cannot hold two
  # snapshots with one guid (avl_add), as zpool1/full@s1 and zpool1/fs@s1 would be.
  "$ZF_ZPOOL" create -R "$ZALT" zpool2 "$V/d2"
  "$ZF_ZFS" receive zpool2/full <"$S/full"
  [ "$(sha256sum <"$(zf_mountpoint zpool2/full)/copy")" = "$(rep4 | sha256sum)" ]
  "$ZF_ZPOOL" export zpool2
  oracle_zdb_clean "$V" zpool2
  "$ZF_ZFS" receive -d zpool1 <"$S/r1"
  "$ZF_ZFS" receive -F -d zpool1 <"$S/r2"  # -F: its own mount touched the target
  # Mounted afresh (zfs-fuse's FUSE mount keeps the root directory's size from before r2).
  "$ZF_ZPOOL" export zpool1
  "$ZF_ZPOOL" import -d "$V" -R "$ZALT" zpool1
  sums "$ZF_ZFS" zpool1 >"$BATS_TEST_TMPDIR/theirs"
  diff "$BATS_TEST_TMPDIR/ours" "$BATS_TEST_TMPDIR/theirs"
  "$ZF_ZPOOL" export zpool1
  oracle_zdb_clean "$V" zpool1
  oracle_stop
}

@test "zfs receive: zfs-fuse's deduplicated streams, full and -R -I, give us the same files" {
  oracle_start
  "$ZF_ZPOOL" create -R "$ZALT" zpool1 "$V/d1"
  mkfiles "$ZF_ZFS" zpool1
  "$ZF_ZFS" send -D zpool1/fs@s1 >"$S/full"
  "$ZF_ZFS" send -D -R zpool1/fs@s1 >"$S/r1"
  "$ZF_ZFS" send -D -R -I @s1 zpool1/fs@s2 >"$S/r2"
  sums "$ZF_ZFS" zpool1 >"$BATS_TEST_TMPDIR/theirs"
  [ "$(byrefs "$S/full")" -ge 4 ]
  [ "$(byrefs "$S/r2")" -ge 2 ]
  "$ZF_ZPOOL" export zpool1
  oracle_stop
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  "$ZFS" receive tank/full <"$S/full"
  "$ZFS" receive -d tank <"$S/r1"
  "$ZFS" receive -d tank <"$S/r2"
  sums "$ZFS" tank >"$BATS_TEST_TMPDIR/ours"
  diff "$BATS_TEST_TMPDIR/theirs" "$BATS_TEST_TMPDIR/ours"
  [ "$(sha256sum <"$ALT/tank/full/copy")" = "$(rep4 | sha256sum)" ]
  # Our own -D -R stream of both snapshots comes back through our receive: fs/c@s1's blocks
  # are references to fs@s2's (received just before, found by guid).
  "$ZFS" send -D -R tank/fs@s2 >"$S/o2"
  [ "$(od -A n -t u8 -j 16 -N 8 "$S/o2" | tr -d ' ')" = 14 ]
  "$ZFS" create tank/t
  "$ZFS" receive -d tank/t <"$S/o2"
  sums "$ZFS" tank/t >"$BATS_TEST_TMPDIR/t"
  diff "$BATS_TEST_TMPDIR/ours" "$BATS_TEST_TMPDIR/t"
  [ "$(sha256sum <"$ALT/tank/t/fs/c/rep2")" = "$(cat "$BATS_TEST_TMPDIR/blk2" "$BATS_TEST_TMPDIR/blk2" "$BATS_TEST_TMPDIR/blk2" | sha256sum)" ]
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}

# reguid FILE OUT: FILE (a lone deduplicated stream) as another snapshot's stream: BEGIN's
# toguid and every WRITE_BYREF's toguid changed, their refguids kept, the END checksum made
# anew (fletcher4 of every byte before END). Its self-references then name a snapshot by
# guid: the one the original stream made wherever it was received.
reguid() {
  python3 - "$1" "$2" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
R, M = 312, (1 << 64) - 1
new = struct.unpack_from("<Q", d, 40)[0] ^ 0x5a5a5a5a5a5a5a5a
struct.pack_into("<Q", d, 40, new)
o = 0
while True:
    t, plen = struct.unpack_from("<II", d, o)
    if t == 6: struct.pack_into("<Q", d, o + 32, new)       # WRITE_BYREF's toguid
    if t == 5: break                                        # END
    if t == 1: plen = (struct.unpack_from("<I", d, o + 32)[0] + 7) & ~7   # OBJECT's bonus
    if t == 3: plen = struct.unpack_from("<Q", d, o + 32)[0]              # WRITE's data
    o += R + (plen if t in (1, 3) else 0)
a = b = c = e = 0
for (w,) in struct.iter_unpack("<I", bytes(d[:o])):
    a = (a + w) & M; b = (b + a) & M; c = (c + b) & M; e = (e + c) & M
struct.pack_into("<4Q", d, o + 8, a, b, c, e)
struct.pack_into("<Q", d, o + 40, new)
open(sys.argv[2], "wb").write(d)
PY
}

@test "zfs receive: a WRITE_BYREF finds its snapshot below the named target only, as zfs-fuse's does" {
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  mkfiles "$ZFS" tank
  "$ZFS" send -D tank/fs@s1 >"$S/full"
  [ "$(byrefs "$S/full")" -ge 4 ]
  reguid "$S/full" "$S/moved"
  # The original's snapshot, with the guid the moved stream's references name, outside tank/new.
  "$ZFS" receive tank/outside <"$S/full"
  run "$ZFS" receive tank/new <"$S/moved"
  [ "$status" -ne 0 ]
  [[ "$output" == *"invalid backup stream"* ]]
  run "$ZFS" list tank/new
  [ "$status" -ne 0 ]
  # Named so that tank/outside is below the target, the same stream is received whole.
  "$ZFS" receive -d tank/outside <"$S/moved"
  [ "$(sha256sum <"$ALT/tank/outside/fs/copy")" = "$(rep4 | sha256sum)" ]
  [ "$(sha256sum <"$ALT/tank/outside/fs/rep")" = "$(rep4 | sha256sum)" ]
  # zfs-fuse draws the same line (find_ds_by_guid from drc_top_ds).
  oracle_start
  "$ZF_ZPOOL" create -R "$ZALT" zpool1 "$V/d1"
  "$ZF_ZFS" receive zpool1/outside <"$S/full"
  run "$ZF_ZFS" receive zpool1/new <"$S/moved"
  [ "$status" -ne 0 ]
  "$ZF_ZFS" receive -d zpool1/outside <"$S/moved"
  [ "$(sha256sum <"$(zf_mountpoint zpool1/outside/fs)/copy")" = "$(rep4 | sha256sum)" ]
  "$ZF_ZPOOL" export zpool1
  oracle_stop
}
