#!/usr/bin/env bats
# zdb against zfs-fuse's zdb on the reference pools (tests/lib/refpools.sh). What it
# shows: the same label config, uberblock, datasets, block totals; -cc clean; every
# file copied out with -r byte-identical; damage found and survived; bad input refused.
# Our zdb is $UZFS_BUILD/cmd/zdb/zdb; zfs-fuse's outputs were recorded when the pools were made.

load ../lib/zdb_helpers

setup_file() {
  ensure_refpools
}

setup() {
  require_zdb
}

# ---- same output as zfs-fuse's zdb, on every reference pool ----------------------------

check_labels() {
  refpool "$1"
  zdb_run -l "$VDEVS/d0"
  [ "$rc" -eq 0 ]
  for n in 0 1 2 3; do
    same <(zdb_label_kv "$n" <"$EXPECT/l") <(zdb_label_kv "$n" <"$out")
  done
}
@test "zdb -l single: the 4 labels hold zfs-fuse's config values" { check_labels single; }
@test "zdb -l mirror: the 4 labels hold zfs-fuse's config values" { check_labels mirror; }
@test "zdb -l raidz1: the 4 labels hold zfs-fuse's config values" { check_labels raidz1; }
@test "zdb -l raidz2: the 4 labels hold zfs-fuse's config values" { check_labels raidz2; }

check_lu() {
  refpool "$1"
  zdb_run -lu "$VDEVS/d0"
  [ "$rc" -eq 0 ]
  same <(zdb_label_kv 0 <"$EXPECT/lu") <(zdb_label_kv 0 <"$out")
  same <(zdb_lu_txgs 0 <"$EXPECT/lu") <(zdb_lu_txgs 0 <"$out")
}
@test "zdb -lu single: the uberblock ring lists zfs-fuse's txgs" { check_lu single; }
@test "zdb -lu raidz2: the uberblock ring lists zfs-fuse's txgs" { check_lu raidz2; }

check_u() {
  refpool "$1"
  zdb_run -e -p "$VDEVS" -u "$POOL"
  [ "$rc" -eq 0 ]
  same <(zdb_ub_fields <"$EXPECT/u") <(zdb_ub_fields <"$out")
  zdb_run -e -p "$VDEVS" -uuu "$POOL"
  [ "$rc" -eq 0 ]
  grep -q '^rootbp = ' <(zdb_ub_fields <"$EXPECT/uuu")
  same <(zdb_ub_fields <"$EXPECT/uuu") <(zdb_ub_fields <"$out")
}
@test "zdb -u single: txg, guid_sum, timestamp, rootbp as zfs-fuse's" { check_u single; }
@test "zdb -u mirror: txg, guid_sum, timestamp, rootbp as zfs-fuse's" { check_u mirror; }
@test "zdb -u raidz1: txg, guid_sum, timestamp, rootbp as zfs-fuse's" { check_u raidz1; }
@test "zdb -u raidz2: txg, guid_sum, timestamp, rootbp as zfs-fuse's" { check_u raidz2; }

check_d() {
  refpool "$1"
  zdb_run -e -p "$VDEVS" -d "$POOL"
  [ "$rc" -eq 0 ]
  # 1 MOS + 6 datasets (P, a, a/lz, a/lz/deep, gz, clone) + their snapshots.
  [ "$(zdb_datasets <"$EXPECT/d" | wc -l)" -ge 14 ]
  same <(zdb_datasets <"$EXPECT/d") <(zdb_datasets <"$out")
  same <(zdb_datasets full <"$EXPECT/d") <(zdb_datasets full <"$out")
}
@test "zdb -d single: same datasets, snapshots, object counts as zfs-fuse's" { check_d single; }
@test "zdb -d mirror: same datasets, snapshots, object counts as zfs-fuse's" { check_d mirror; }
@test "zdb -d raidz1: same datasets, snapshots, object counts as zfs-fuse's" { check_d raidz1; }
@test "zdb -d raidz2: same datasets, snapshots, object counts as zfs-fuse's" { check_d raidz2; }

@test "zdb -dddd single: the 10,000-entry directory (fat ZAP) lists zfs-fuse's entries" {
  refpool single
  obj=$(cat "$EXPECT/big.obj")
  zdb_run -e -p "$VDEVS" -dddd "$POOL/a" "$obj"
  [ "$rc" -eq 0 ]
  entries() { grep -E '^[[:space:]]+f[0-9]+ = [0-9]+ \(type: ' | sed 's/^[[:space:]]*//' | LC_ALL=C sort; }
  [ "$(entries <"$EXPECT/big.dddd" | wc -l)" -eq 10000 ]
  same <(entries <"$EXPECT/big.dddd") <(entries <"$out")
  grep -q 'Fat ZAP' "$out"
}

check_b() {
  refpool "$1"
  zdb_run -e -p "$VDEVS" -b "$POOL"
  [ "$rc" -eq 0 ]
  [ "$(zdb_bp_totals <"$EXPECT/b" | wc -l)" -eq 4 ]
  same <(zdb_bp_totals <"$EXPECT/b") <(zdb_bp_totals <"$out")
  grep -q 'No leaks' "$out"
}
@test "zdb -b single: bp count and logical/physical/allocated bytes as zfs-fuse's" { check_b single; }
@test "zdb -b mirror: bp count and logical/physical/allocated bytes as zfs-fuse's" { check_b mirror; }
@test "zdb -b raidz1: bp count and logical/physical/allocated bytes as zfs-fuse's" { check_b raidz1; }
@test "zdb -b raidz2: bp count and logical/physical/allocated bytes as zfs-fuse's" { check_b raidz2; }

check_C() {
  refpool "$1"
  zdb_run -e -p "$VDEVS" -C "$POOL"
  [ "$rc" -eq 0 ]
  same <(zdb_mos_config <"$EXPECT/C") <(zdb_mos_config <"$out")
}
@test "zdb -C single: the MOS config holds zfs-fuse's values" { check_C single; }
@test "zdb -C raidz1: the MOS config holds zfs-fuse's values" { check_C raidz1; }

check_cc_clean() {
  refpool "$1"
  zdb_run -e -p "$VDEVS" -bcc "$POOL"
  if [ "$rc" -ne 0 ] || grep -q 'zdb_blkptr_cb\|Error counts' "$out"; then
    cat "$out" "$err" >&2
    return 1
  fi
  [ "$(zdb_error_count <"$out")" -eq 0 ]
  same <(zdb_bp_totals <"$EXPECT/b") <(zdb_bp_totals <"$out")
}
@test "zdb -cc single: every block checksum verifies, exit 0" { check_cc_clean single; }
@test "zdb -cc mirror: every block checksum verifies, exit 0" { check_cc_clean mirror; }
@test "zdb -cc raidz1: every block checksum verifies, exit 0" { check_cc_clean raidz1; }
@test "zdb -cc raidz2: every block checksum verifies, exit 0" { check_cc_clean raidz2; }

# Copies every regular file of the manifest (a/big sampled) out with -r and compares sha256.
check_r() {
  refpool "$1"
  local ds path size sum n=0 bad=0 dest=$BATS_TEST_TMPDIR/copy
  while IFS=$'\t' read -r ds path size sum; do
    n=$((n + 1))
    rm -f "$dest"
    zdb_run -e -p "$VDEVS" -r "$ds" "$path" "$dest"
    if [ "$rc" -ne 0 ]; then
      echo "zdb -r $ds $path: exit $rc: $(cat "$err")" >&2; bad=$((bad + 1)); continue
    fi
    if [ "$(stat -c %s "$dest")" != "$size" ] || [ "$(sha256sum <"$dest" | cut -c1-64)" != "$sum" ]; then
      echo "zdb -r $ds $path: copy differs (size $(stat -c %s "$dest"), want $size)" >&2; bad=$((bad + 1))
    fi
  done < <(manifest_files)
  echo "$n files copied, $bad bad" >&2
  [ "$n" -ge 30 ]
  [ "$bad" -eq 0 ]
}
@test "zdb -r single: every file written is copied out byte-identical" { check_r single; }
@test "zdb -r mirror: every file written is copied out byte-identical" { check_r mirror; }
@test "zdb -r raidz1: every file written is copied out byte-identical" { check_r raidz1; }
@test "zdb -r raidz2: every file written is copied out byte-identical" { check_r raidz2; }

@test "zdb -r: a snapshot and the live dataset give each file's own version" {
  refpool single
  zdb_run -e -p "$VDEVS" -r "$POOL/a@snap1" small.txt "$BATS_TEST_TMPDIR/old"
  [ "$rc" -eq 0 ]
  zdb_run -e -p "$VDEVS" -r "$POOL/a" small.txt "$BATS_TEST_TMPDIR/new"
  [ "$rc" -eq 0 ]
  [ "$(cat "$BATS_TEST_TMPDIR/old")" = hello ]
  [ "$(cat "$BATS_TEST_TMPDIR/new")" = "changed after snap1" ]
}

@test "zdb -r: a missing path or a directory is an error, not a crash" {
  refpool single
  zdb_run -e -p "$VDEVS" -r "$POOL/a" no/such/file "$BATS_TEST_TMPDIR/x"
  failed_cleanly
  [ -s "$err" ]
  zdb_run -e -p "$VDEVS" -r "$POOL/a" dir "$BATS_TEST_TMPDIR/x"
  failed_cleanly
  [ -s "$err" ]
  zdb_run -e -p "$VDEVS" -r "$POOL/nosuchdataset" small.txt "$BATS_TEST_TMPDIR/x"
  failed_cleanly
  [ -s "$err" ]
}

# ---- damage ------------------------------------------------------------------------------

# The sha256 of a/random.bin (the damaged file) from the manifest.
random_sum() { awk -F'\t' -v ds="$POOL/a" '$1 == ds && $2 == "random.bin" {print $5}' "$MANIFEST"; }

# Asserts that -cc found and named the damage in $out (after zdb_run ... -cc): exit 1, a
# non-zero error count, and an error line naming a/random.bin's object.
expect_named_error() {
  local obj; obj=$(cat "$EXPECT/random.obj")
  cat "$out" >&2
  [ "$rc" -eq 1 ]
  [ "$(zdb_error_count <"$out")" -ge 1 ]
  grep -E "(object $obj[,) ]|<[0-9]+, $obj, 0, )" "$out" | grep -q "$1"
}

# Copies a/random.bin out of the damaged copy in $dir and compares it with what was written.
expect_right_bytes() {
  zdb_run -e -p "$dir" -r "$POOL/a" random.bin "$BATS_TEST_TMPDIR/random.out"
  [ "$rc" -eq 0 ]
  [ "$(sha256sum <"$BATS_TEST_TMPDIR/random.out" | cut -c1-64)" = "$(random_sum)" ]
}

# raidz_column_offset OFFSET_HEX NCHILDREN COLUMN: "CHILD BYTE_OFFSET" of column COLUMN's
# first sector of the raidz block at DVA offset OFFSET (vdev_raidz_map_alloc, ashift 12:
# column c of the block at sector b lies on child (b+c) % n at sector (b+c) / n, after the
# 4 MiB of labels and boot area). Raidz1 may swap its parity and first data columns (bit 20
# of the offset), so tests damage data column nparity + 1, which never moves.
raidz_column_offset() {
  local b=$(( 0x$1 >> 12 )) n=$2 c=$3
  echo "$(( (b + c) % n )) $(( ((b + c) / n) * 4096 + 4 * 1048576 ))"
}

@test "damage: one side of a mirror → -cc names the checksum error, -r returns the right bytes" {
  dir=$BATS_TEST_TMPDIR/pool
  copy_pool mirror "$dir"
  read -r off asize < <(l0_dva)
  [ -n "$off" ]
  damage "$dir/d0" $(( 0x$off + 4 * 1048576 + 8192 )) 4096
  zdb_run -e -p "$dir" -cc "$POOL"
  expect_named_error checksum
  expect_right_bytes
}

@test "damage: one raidz1 column → -cc names the checksum error, -r returns the right bytes" {
  dir=$BATS_TEST_TMPDIR/pool
  copy_pool raidz1 "$dir"
  read -r off asize < <(l0_dva)
  read -r child at < <(raidz_column_offset "$off" 4 2)
  damage "$dir/d$child" "$at" 4096
  zdb_run -e -p "$dir" -cc "$POOL"
  expect_named_error checksum
  expect_right_bytes
}

@test "damage: one raidz2 column → -cc names the checksum error, -r returns the right bytes" {
  dir=$BATS_TEST_TMPDIR/pool
  copy_pool raidz2 "$dir"
  read -r off asize < <(l0_dva)
  read -r child at < <(raidz_column_offset "$off" 4 3)
  damage "$dir/d$child" "$at" 4096
  zdb_run -e -p "$dir" -cc "$POOL"
  expect_named_error checksum
  expect_right_bytes
}

@test "damage: both data columns of a raidz2 row → -r still returns the right bytes" {
  dir=$BATS_TEST_TMPDIR/pool
  copy_pool raidz2 "$dir"
  read -r off asize < <(l0_dva)
  for c in 2 3; do
    read -r child at < <(raidz_column_offset "$off" 4 "$c")
    damage "$dir/d$child" "$at" 4096
  done
  expect_right_bytes
  zdb_run -e -p "$dir" -cc "$POOL"
  expect_named_error checksum
}

@test "damage: a data block of a single-vdev pool → -cc reports it and exits 1; -r fails cleanly" {
  dir=$BATS_TEST_TMPDIR/pool
  copy_pool single "$dir"
  read -r off asize < <(l0_dva)
  damage "$dir/d0" $(( 0x$off + 4 * 1048576 + 8192 )) 4096
  zdb_run -e -p "$dir" -cc "$POOL"
  expect_named_error "$POOL/a"
  # No redundancy: the copy must fail, not hand back wrong bytes.
  zdb_run -e -p "$dir" -r "$POOL/a" random.bin "$BATS_TEST_TMPDIR/random.out"
  failed_cleanly
  [ -s "$err" ]
  # Metadata-only verification (-c) does not read file data: still clean.
  zdb_run -e -p "$dir" -c "$POOL"
  [ "$rc" -eq 0 ]
}

@test "damage: label 0's config → -l shows labels 1-3, -u still works" {
  dir=$BATS_TEST_TMPDIR/pool
  copy_pool single "$dir"
  damage "$dir/d0" $((16 * 1024 + 100)) 1000   # inside label 0's vdev_phys (16K..128K)
  zdb_run -l "$dir/d0"
  [ "$rc" -lt 128 ]
  [ "$(zdb_label_failed <"$out")" = 0 ]
  for n in 1 2 3; do
    same <(zdb_label_kv 0 <"$EXPECT/l") <(zdb_label_kv "$n" <"$out")
  done
  zdb_run -e -p "$dir" -u "$POOL"
  [ "$rc" -eq 0 ]
  same <(zdb_ub_fields <"$EXPECT/u") <(zdb_ub_fields <"$out")
}

@test "damage: the best uberblock in every label → the next valid one is used" {
  dir=$BATS_TEST_TMPDIR/pool
  copy_pool single "$dir"
  best=$(zdb_lu_txgs 0 <"$EXPECT/lu" | tail -1)
  next=$(zdb_lu_txgs 0 <"$EXPECT/lu" | tail -2 | head -1)
  [ "$best" = "$(sed -n 's/^[[:space:]]*txg = //p' "$EXPECT/u")" ]
  [ "$next" -lt "$best" ]
  size=$(stat -c %s "$dir/d0")
  slot=$(( (best % 32) * 4096 ))   # ashift 12: 32 slots of 4K in the 128K ring
  for label in 0 262144 $((size - 524288)) $((size - 262144)); do
    damage "$dir/d0" $((label + 131072 + slot + 64)) 512
  done
  zdb_run -e -p "$dir" -u "$POOL"
  [ "$rc" -eq 0 ]
  grep -qx "txg = $next" <(zdb_ub_fields <"$out")
  zdb_run -lu "$dir/d0"
  [ "$rc" -lt 128 ]
  if zdb_lu_txgs 0 <"$out" | grep -qx "$best"; then echo "damaged uberblock $best still listed" >&2; return 1; fi
  zdb_lu_txgs 0 <"$out" | grep -qx "$next"
}

@test "damage: a truncated device → a clear error, not a crash" {
  dir=$BATS_TEST_TMPDIR/pool
  copy_pool single "$dir"
  truncate -s 1M "$dir/d0"
  zdb_run -e -p "$dir" -d "$POOL"
  failed_cleanly
  grep -q "zdb: .*$POOL" "$err"
  zdb_run -l "$dir/d0"
  [ "$rc" -lt 128 ]
  [ "$(zdb_label_failed <"$out" | tr -d '\n')" = 23 ]
  same <(zdb_label_kv 0 <"$EXPECT/l") <(zdb_label_kv 0 <"$out")
}

@test "damage: a device of garbage → a clear error, not a crash" {
  dir=$BATS_TEST_TMPDIR/pool
  mkdir -p "$dir"
  head -c 16M /dev/urandom >"$dir/d0"
  zdb_run -l "$dir/d0"
  failed_cleanly
  [ "$(zdb_label_failed <"$out" | tr -d '\n')" = 0123 ]
  grep -q 'zdb: ' "$err"
  zdb_run -e -p "$dir" -u rsingle
  failed_cleanly
  grep -q 'zdb: .*rsingle' "$err"
}

@test "damage: empty and tiny devices, a missing file → a clear error, not a crash" {
  dir=$BATS_TEST_TMPDIR/pool
  mkdir -p "$dir"
  : >"$dir/empty"
  head -c 1000 /dev/urandom >"$dir/tiny"
  for f in empty tiny missing; do
    zdb_run -l "$dir/$f"
    failed_cleanly
    grep -q "$dir/$f" "$out" "$err"
  done
  zdb_run -e -p "$dir" -d somepool
  failed_cleanly
  grep -q 'zdb: ' "$err"
}

# ---- usage ---------------------------------------------------------------------------------

expect_usage_error() {
  zdb_run "$@"
  [ "$rc" -eq 2 ] || { echo "zdb $*: exit $rc, want 2" >&2; return 1; }
  grep -q '^Usage: zdb' "$err" || { echo "zdb $*: no usage message on stderr" >&2; return 1; }
}

@test "usage: bad usage exits 2 with the usage message" {
  expect_usage_error
  expect_usage_error -Z pool
  expect_usage_error --no-such-option pool
  expect_usage_error -l
  expect_usage_error -l dev1 dev2
  expect_usage_error -p /tmp pool
  expect_usage_error -e -p
  expect_usage_error -r pool/fs path
  expect_usage_error -R pool
}

@test "usage: --help prints the usage on stdout and exits 0" {
  zdb_run --help
  [ "$rc" -eq 0 ]
  grep -q '^Usage: zdb' "$out"
}
