# Shell helpers for the zdb Bats suites (load with: load ../lib/zdb_helpers).
#
# Two zdbs share the name: ZDB is ours ($UZFS_BUILD/cmd/zdb/zdb), /usr/sbin/zdb is zfs-fuse's
# (the oracle). zfs-fuse's outputs are recorded once, when tests/lib/refpools.sh builds the
# reference pools (its zdb needs its daemon running); the tests run only ours and compare
# the same fields, extracted by the zdb_* filters below from both outputs.

UZFS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
UZFS_BUILD=${UZFS_BUILD:-$UZFS_ROOT/build}
UZFS_REFPOOLS=${UZFS_REFPOOLS:-$UZFS_ROOT/build/refpools}
ZDB=$UZFS_BUILD/cmd/zdb/zdb
export UZFS_ROOT UZFS_BUILD UZFS_REFPOOLS ZDB

# Fails (never skips) when our zdb is missing: a missing binary is a broken build.
require_zdb() {
  if [ ! -x "$ZDB" ]; then
    echo "our zdb is not built: $ZDB (set UZFS_BUILD)" >&2
    return 1
  fi
}

# Builds the reference pools unless cached (a no-op after scripts/test.sh built them).
ensure_refpools() {
  "$UZFS_ROOT/tests/lib/refpools.sh" "$UZFS_REFPOOLS" >&2
}

# refpool KIND: sets POOL, VDEVS (the directory for -e -p), EXPECT (zfs-fuse's outputs),
# MANIFEST, for KIND in single mirror raidz1 raidz2.
refpool() {
  local k=$UZFS_REFPOOLS/$1
  [ -f "$UZFS_REFPOOLS/stamp" ] || { echo "reference pools not built in $UZFS_REFPOOLS" >&2; return 1; }
  POOL=$(cat "$k/pool") VDEVS=$k/vdevs EXPECT=$k/expect MANIFEST=$k/manifest
}

# copy_pool KIND DIR: copies KIND's vdevs (sparse) into DIR, for damage tests; sets POOL.
copy_pool() {
  refpool "$1"
  mkdir -p "$2"
  cp --sparse=always "$VDEVS"/d* "$2/"
}

# damage FILE OFFSET LENGTH: overwrites LENGTH bytes at byte OFFSET with random bytes.
damage() {
  head -c "$3" /dev/urandom | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# Runs our zdb, recording stdout in $out, stderr in $err, and the status in $rc; never fails.
# (Bats' `run` mixes the two streams; the comparisons need stdout alone.)
zdb_run() {
  out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err
  rc=0
  "$ZDB" "$@" >"$out" 2>"$err" || rc=$?
  if [ "$rc" -ge 128 ]; then
    echo "zdb $* died with status $rc (signal $((rc - 128)))" >&2
    cat "$err" >&2
  fi
}

# failed_cleanly: after zdb_run, the status says "failed" (1..127) and a message explains why
# (on stderr; zdb -l, like zfs-fuse's, may print it on stdout).
# (A status of 128 or more is a signal: a crash.) Use this, not `[ a ] && [ b ]`: Bats' set -e
# ignores a failure on the left of &&.
failed_cleanly() {
  if [ "$rc" -lt 1 ] || [ "$rc" -ge 128 ]; then
    echo "want a failure status 1..127, got $rc" >&2
    return 1
  fi
  if [ ! -s "$err" ] && [ ! -s "$out" ]; then
    echo "failed (status $rc) without a message" >&2
    return 1
  fi
}

# same WANT GOT: fails with a diff when the two files differ, and when WANT is empty (an
# empty expected side would make the comparison pass whatever our zdb prints).
same() {
  local want=$BATS_TEST_TMPDIR/want got=$BATS_TEST_TMPDIR/got
  cat "$1" >"$want"   # the arguments are usually <(...) pipes: read each once
  cat "$2" >"$got"
  if [ ! -s "$want" ]; then
    echo "expected side is empty: the extraction found nothing" >&2
    return 1
  fi
  diff -u "$want" "$got" >&2
}

# ---- field extraction: both zdbs' outputs go through the same filter -------------------

# zdb_label_kv N: the "key: value" lines (with their indentation, so nesting counts) of label
# N in `zdb -l` output. Uberblock lines (tab-indented, "key = value") are left out.
zdb_label_kv() {
  awk -v want="LABEL $1" '
    /^-+$/ { next }
    /^LABEL [0-9]+$/ { inside = ($0 == want); next }
    /^Uberblock/ { inside = 0 }
    inside && /^ +[A-Za-z_][A-Za-z0-9_]*(\[[0-9]+\])?:/ { sub(/[ \t]+$/, ""); print }
  '
}

# zdb_label_failed: the numbers of the labels reported as failed to unpack.
zdb_label_failed() {
  sed -n 's/^failed to unpack label \([0-9]\).*/\1/p'
}

# zdb_lu_txgs N: the txgs of the uberblocks listed under label N of `zdb -lu`, sorted.
zdb_lu_txgs() {
  awk -v want="LABEL $1" '
    /^LABEL [0-9]+$/ { inside = ($0 == want); next }
    inside && /^[ \t]+txg = [0-9]+$/ { print $3 }
  ' | sort -n
}

# zdb_ub_fields: magic, version, txg, guid_sum, timestamp and rootbp of the "Uberblock:"
# section of `zdb -u`/`-uuu`, as "key = value" lines.
zdb_ub_fields() {
  awk '
    /^Uberblock:/ { inside = 1; next }
    /^[^ \t]/ { inside = 0 }
    inside && /^[ \t]+(magic|version|txg|guid_sum|timestamp|rootbp) = / { sub(/^[ \t]+/, ""); print }
  '
}

# zdb_datasets: the datasets and snapshots of `zdb -d`, as "NAME [TYPE] N objects", sorted.
# zdb_datasets full: the whole "Dataset ..." lines up to the object count (ID, cr_txg, size).
zdb_datasets() {
  if [ "${1:-}" = full ]; then
    sed -n 's/^\(Dataset .*objects\).*/\1/p' | LC_ALL=C sort
  else
    sed -n 's/^Dataset \([^ ]*\) \(\[[A-Z]*\]\), .*, \([0-9]*\) objects.*/\1 \2 \3 objects/p' | LC_ALL=C sort
  fi
}

# zdb_bp_totals: "bp count: N", "bp logical: N", "bp physical: N", "bp allocated: N" of `-b`.
zdb_bp_totals() {
  awk '/^[ \t]*bp (count|logical|physical|allocated):/ { print $1, $2, $3 }'
}

# zdb_mos_config: the "key: value" lines of the "MOS Configuration:" section of `zdb -C`.
zdb_mos_config() {
  awk '
    /^MOS Configuration:/ { inside = 1; next }
    /^[^ \t]/ { inside = 0 }
    inside && /^ +[A-Za-z_][A-Za-z0-9_]*(\[[0-9]+\])?:/ { sub(/[ \t]+$/, ""); print }
  '
}

# zdb_error_count: the sum of the counts in the "Error counts:" table of `zdb -c`.
zdb_error_count() {
  awk '
    /^Error counts:/ { inside = 1; next }
    inside && /^[ \t]+[0-9]+[ \t]+[0-9]+[ \t]*$/ { n += $2 }
    END { print n + 0 }
  '
}

# l0_dva: offset and asize (hex, no 0x) of the first L0 block in zfs-fuse's `zdb -dddddd`
# dump of a file (EXPECT/random.dddddd), e.g. "381000 20000".
l0_dva() {
  awk '$2 == "L0" { split($3, d, ":"); print d[2], d[3]; exit }' "$EXPECT/random.dddddd"
}

# manifest_files: "DATASET<TAB>PATH<TAB>SIZE<TAB>SHA256" of every regular file in MANIFEST,
# except that of a directory with more than 100 entries (a/big: 10,000) only 1 in 1000
# (first, last and every 1000th by name) is listed, to keep the test time bounded.
manifest_files() {
  awk -F'\t' -v OFS='\t' '
    FILENAME == ARGV[1] { if ($3 == "d") n[$1 "\t" $2] = $4; next }
    $3 == "f" {
      dir = $2; if (!sub(/\/[^\/]*$/, "", dir)) dir = ""
      key = $1 "\t" dir
      if (dir != "" && n[key] > 100) { k = ++seen[key]; if (k != 1 && k != n[key] && k % 1000 != 0) next }
      print $1, $2, $4, $5
    }
  ' "$MANIFEST" "${MANIFEST%/*}/./${MANIFEST##*/}"   # two spellings: awk tells the passes apart
}
