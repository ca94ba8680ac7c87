#!/usr/bin/env bash
# Builds the reference pools with zfs-fuse (the oracle), for the unit and Bats suites.
#
#   tests/lib/refpools.sh [DIR]     DIR defaults to $UZFS_REFPOOLS, else build/refpools
#
# Layout, one subdirectory per pool (zdb -e -p needs a directory holding only that pool):
#   DIR/KIND/vdevs/d0..dN   the exported pool's file vdevs          KIND: single mirror raidz1 raidz2
#   DIR/KIND/pool           the pool's name
#   DIR/KIND/manifest       every file written: DATASET<TAB>PATH<TAB>TYPE<TAB>SIZE<TAB>SHA256
#                           TYPE f (regular; SHA256 of its bytes), l (symlink; SIZE and SHA256 of
#                           the target string), d (directory; SIZE = number of entries, SHA256 -).
#                           PATH is relative to the dataset's root; snapshots appear as P/a@snap1.
#   DIR/KIND/expect/{l,lu,u,uuu,d,b,C}  zfs-fuse's zdb -l d0, -lu d0, -e -p vdevs -u/-uuu/-d/-b/-C POOL
#   DIR/KIND/expect/random.obj       object number of a/random.bin in POOL/a
#   DIR/KIND/expect/random.dddddd    zfs-fuse's zdb -dddddd POOL/a OBJ (its block pointers)
#   DIR/single/expect/big.{obj,dddd}  object number and zfs-fuse's zdb -dddd of a/big (fat ZAP)
#   DIR/stamp               sha256 of this script (its bytes, whatever path runs it); the
#                           pools are rebuilt when it changes
#
# Contents of every pool: datasets P, P/a, P/a/lz (compression=on, i.e. lzjb), P/a/lz/deep,
# P/gz (gzip); random, compressible and text files, empty and block-boundary sizes, a short
# symlink and a long one (> 56 bytes: a ZPL v4 znode's bonus buffer holds at most 56 bytes of
# target, longer targets live in a data block), a hard link, a 300-entry directory with long names (fat ZAP), snapshot P/a@snap1, clone P/clone, a
# sparse 1.1 GiB file written after the snapshot, and a recursive snapshot P@all. The single
# pool also has a/big, a directory of $REFPOOLS_BIG (10,000) entries.
#
# Takes /tmp/uzfs-zfsfuse.lock around its private zfs-fuse daemon (one daemon per machine) and
# DIR.lock around the build (concurrent test runs share the cache). Exit 0 when DIR is ready.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=${1:-${UZFS_REFPOOLS:-$root/build/refpools}}
big=${REFPOOLS_BIG:-10000}
stamp=$( (sha256sum <"${BASH_SOURCE[0]}"; echo "big=$big") | sha256sum | cut -c1-64)
kinds=(single mirror raidz1 raidz2)

mkdir -p "$dir"
exec 8>"$dir.lock"
flock 8
if [ "$(cat "$dir/stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "refpools: $dir is up to date"
  exit 0
fi
[ -x /usr/sbin/zfs-fuse ] || { echo "refpools: /usr/sbin/zfs-fuse is not installed" >&2; exit 1; }
start=$SECONDS
rm -rf "${dir:?}"/* "$dir/stamp"
tmp=$(mktemp -d /tmp/uzfs-refpools.XXXXXX)
pidf=$tmp/zfs-fuse.pid

# shellcheck source=tests/lib/zfsfuse.sh
source "$here/zfsfuse.sh"
zfsfuse_lock
if zfsfuse_alive; then
  echo "refpools: a zfs-fuse daemon runs without holding /tmp/uzfs-zfsfuse.lock" >&2
  exit 1
fi
stop() {
  zfsfuse_stop "$pidf"
  rm -rf "$tmp"
}
trap stop EXIT
zfsfuse_start "$pidf"

# manifest DATASET TREE OUT: appends one line per entry of TREE (a local copy of the dataset).
# Batched (one sha256sum for all files): a fork per entry costs minutes on 10,000 entries.
# awk reads the list twice (counting entries per directory first), under two spellings.
manifest() {
  local ds=$1 tree=$2 out=$3 p
  (cd "$tree" && find . -mindepth 1 -type f -print0 | xargs -0 -r sha256sum) | sed 's|^\([0-9a-f]*\)  \./|\1\t|' >"$tmp/sums"
  (cd "$tree" && find . -mindepth 1 -type l -printf '%P\n') | while IFS= read -r p; do
    local t; t=$(readlink "$tree/$p")
    printf '%s\t%s\t%s\n' "$(printf %s "$t" | sha256sum | cut -c1-64)" "$p" "${#t}"
  done >"$tmp/lsums"
  (cd "$tree" && find . -mindepth 1 -printf '%y\t%P\t%s\t%h\n') >"$tmp/list"
  awk -F'\t' -v OFS='\t' -v ds="$ds" '
    FILENAME == ARGV[1] { sum[$2] = $1; next }
    FILENAME == ARGV[2] { lsum[$2] = $1; llen[$2] = $3; next }
    FILENAME == ARGV[3] { h = $4; sub(/^\.\/?/, "", h); n[h]++; next }
    $1 == "f" { print ds, $2, "f", $3, sum[$2] }
    $1 == "l" { print ds, $2, "l", llen[$2], lsum[$2] }
    $1 == "d" { print ds, $2, "d", n[$2] + 0, "-" }
  ' "$tmp/sums" "$tmp/lsums" "$tmp/list" "$tmp/./list" | LC_ALL=C sort -t$'\t' -k2,2 >>"$out"
}

# push TREE MOUNTPOINT: copies a local tree into a mounted dataset (hard links, holes kept).
push() { cp -a --sparse=always "$1/." "$2/"; }

gen_files() {  # the common content of P/a
  local t=$1
  mkdir -p "$t/dir"
  head -c 3000000 /dev/urandom >"$t/random.bin"
  seq 1 200000 >"$t/text.txt"
  echo hello >"$t/small.txt"
  : >"$t/empty"
  head -c 1 /dev/urandom >"$t/one.bin"
  head -c 131072 /dev/urandom >"$t/block128k.bin"
  head -c 131073 /dev/urandom >"$t/block128k+1.bin"
  ln "$t/small.txt" "$t/hardlink"
  ln -s small.txt "$t/shortlink"
  ln -s "/a/very/long/symlink/target/that/does/not/fit/in/the/znode/bonus/buffer/$(printf 'x%.0s' $(seq 60))" "$t/longlink"
  for i in $(seq 1 300); do echo "$i" >"$t/dir/file_with_a_name_longer_than_fifty_characters_so_fat_zap_$i"; done
}

build_pool() {
  local kind=$1 n layout pool
  case $kind in
    single) n=1; layout=();;
    mirror) n=2; layout=(mirror);;
    raidz1) n=4; layout=(raidz1);;
    raidz2) n=4; layout=(raidz2);;
  esac
  pool=r$kind   # "mirror", "raidz1"... are reserved pool names
  local k=$dir/$kind m=$tmp/mnt-$kind s=$tmp/stage/$kind devs=()
  mkdir -p "$k/vdevs" "$k/expect" "$m" "$s"
  for i in $(seq 0 $((n - 1))); do
    truncate -s 192M "$k/vdevs/d$i"
    devs+=("$k/vdevs/d$i")
  done
  echo "$pool" >"$k/pool"
  : >"$k/manifest"
  /usr/sbin/zpool create -f -R "$m" "$pool" "${layout[@]}" "${devs[@]}"
  local mp=$m   # with -R ALTROOT, the root dataset mounts at ALTROOT itself
  /usr/sbin/zfs create "$pool/a"
  /usr/sbin/zfs create -o compression=on "$pool/a/lz"
  /usr/sbin/zfs create "$pool/a/lz/deep"
  /usr/sbin/zfs create -o compression=gzip "$pool/gz"
  for d in a a/lz a/lz/deep gz; do
    mountpoint -q "$mp/$d" || { echo "refpools: $pool/$d is not mounted at $mp/$d" >&2; exit 1; }
  done

  mkdir -p "$s/root" "$s/a" "$s/lz" "$s/deep" "$s/gz"
  echo "reference pool $pool ($kind), made by zfs-fuse" >"$s/root/README.txt"
  gen_files "$s/a"
  seq 1 300000 >"$s/lz/seq.txt"
  head -c 2000000 < <(yes 'a compressible line of text, repeated') >"$s/lz/lines.txt"
  head -c 500000 /dev/urandom >"$s/lz/random.bin"   # incompressible: stored uncompressed
  echo deep >"$s/deep/nested.txt"
  seq 1 300000 >"$s/gz/seq.txt"
  head -c 1000000 < <(yes 'gzip me') >"$s/gz/lines.txt"
  push "$s/root" "$mp"; push "$s/a" "$mp/a"; push "$s/lz" "$mp/a/lz"
  push "$s/deep" "$mp/a/lz/deep"; push "$s/gz" "$mp/gz"
  if [ "$kind" = single ]; then
    # The big directory is created in place: one FUSE create per entry, no copy of attributes.
    mkdir "$s/a/big" "$mp/a/big"
    (cd "$s/a/big" && for ((i = 1; i <= big; i++)); do echo "$i" >"f$i"; done)
    local t0=$SECONDS
    (cd "$mp/a/big" && for ((i = 1; i <= big; i++)); do echo "$i" >"f$i"; done)
    echo "refpools: $big files created through zfs-fuse in $((SECONDS - t0)) s"
    ls -di "$mp/a/big" | cut -d' ' -f1 >"$k/expect/big.obj"
  fi
  ls -i "$mp/a/random.bin" | cut -d' ' -f1 >"$k/expect/random.obj"

  /usr/sbin/zfs snapshot "$pool/a@snap1"
  manifest "$pool/a@snap1" "$s/a" "$k/manifest"
  /usr/sbin/zfs clone "$pool/a@snap1" "$pool/clone"
  cp -a "$s/a" "$s/clone"
  # zfs-fuse mounts a new clone asynchronously.
  for _ in $(seq 50); do mountpoint -q "$mp/clone" && break; sleep 0.2; done
  mountpoint -q "$mp/clone" || { /usr/sbin/zfs get mounted,mountpoint "$pool/clone"; exit 1; }
  echo "only in the clone" | tee "$s/clone/clone-only.txt" >"$mp/clone/clone-only.txt"

  # After the snapshot: change a file in place (and so its hard link), remove one, add a
  # sparse file larger than 1 GiB with data at its start, middle and end.
  for t in "$s/a" "$mp/a"; do
    echo "changed after snap1" >"$t/small.txt"
    rm "$t/text.txt"
  done
  truncate -s 1100M "$s/a/sparse.bin"
  head -c 70000 /dev/urandom | dd of="$s/a/sparse.bin" conv=notrunc status=none
  head -c 5000 /dev/urandom | dd of="$s/a/sparse.bin" bs=1 seek=600000001 conv=notrunc status=none
  head -c 100 /dev/urandom | dd of="$s/a/sparse.bin" bs=1 seek=$((1100 * 1048576 - 100)) conv=notrunc status=none
  cp --sparse=always "$s/a/sparse.bin" "$mp/a/sparse.bin"

  manifest "$pool" "$s/root" "$k/manifest"
  manifest "$pool/a" "$s/a" "$k/manifest"
  manifest "$pool/a/lz" "$s/lz" "$k/manifest"
  manifest "$pool/a/lz/deep" "$s/deep" "$k/manifest"
  manifest "$pool/gz" "$s/gz" "$k/manifest"
  manifest "$pool/clone" "$s/clone" "$k/manifest"
  /usr/sbin/zfs snapshot -r "$pool@all"
  rm -rf "$s"

  # Check what zfs-fuse reads back against the stage, on a few files (the manifest is the
  # truth the tests hold our zdb to, so it must be right).
  local d f want
  for p in a:random.bin a/lz:seq.txt gz:lines.txt a:hardlink clone:clone-only.txt; do
    d=${p%%:*} f=${p#*:}
    want=$(awk -F'\t' -v ds="$pool/$d" -v f="$f" '$1 == ds && $2 == f {print $5}' "$k/manifest")
    [ -n "$want" ] && [ "$(sha256sum <"$mp/$d/$f" | cut -c1-64)" = "$want" ] ||
      { echo "refpools: $pool/$d $f differs from its stage" >&2; exit 1; }
  done
  /usr/sbin/zpool export "$pool"
  echo "refpools: $kind ($pool) made at $((SECONDS - start)) s"
}

for kind in "${kinds[@]}"; do build_pool "$kind"; done

# The oracle's outputs (zfs-fuse's zdb -e goes through libzfs: its daemon must be running).
for kind in "${kinds[@]}"; do
  k=$dir/$kind pool=$(cat "$dir/$kind/pool")
  /usr/sbin/zdb -l "$k/vdevs/d0" >"$k/expect/l" 2>&1 || true
  /usr/sbin/zdb -lu "$k/vdevs/d0" >"$k/expect/lu" 2>&1 || true
  for f in u uuu d b C; do
    /usr/sbin/zdb -e -p "$k/vdevs" -"$f" "$pool" >"$k/expect/$f" 2>&1 || true
  done
  if [ -f "$k/expect/big.obj" ]; then
    /usr/sbin/zdb -e -p "$k/vdevs" -dddd "$pool/a" "$(cat "$k/expect/big.obj")" >"$k/expect/big.dddd" 2>&1 || true
  fi
  /usr/sbin/zdb -e -p "$k/vdevs" -dddddd "$pool/a" "$(cat "$k/expect/random.obj")" >"$k/expect/random.dddddd" 2>&1 || true
  grep -q '^	bp count:' "$k/expect/b" || { echo "refpools: zfs-fuse's zdb -b failed on $pool:" >&2; cat "$k/expect/b" >&2; exit 1; }
  grep -q 'path	/a/random.bin\|path	/random.bin' "$k/expect/random.dddddd" || { echo "refpools: object $(cat "$k/expect/random.obj") of $pool/a is not random.bin" >&2; exit 1; }
  grep -q ' L0 ' "$k/expect/random.dddddd" || { echo "refpools: no L0 block in $k/expect/random.dddddd" >&2; exit 1; }
done
echo "$stamp" >"$dir/stamp"
echo "refpools: ready in $dir ($((SECONDS - start)) s)"
