#!/bin/bash
# Builds small zfs-fuse pools for the read-path unit tests (libcore/spa/spa_test.cc):
#   mkpools_small.sh DIR  ->  DIR/{single,mirror,raidz1,raidz2}/d* (exported pools) and
#   DIR/names (pool name per kind), DIR/KIND.zdb_u (zdb -e -uuu) and DIR/KIND.zdb_l (zdb -l d0). Exit 77 when zfs-fuse is not installed.
# Holds /tmp/uzfs-zfsfuse.lock around its private zfs-fuse daemon (one daemon per machine).
set -eu
dir=$1
[ -x /usr/sbin/zfs-fuse ] || exit 77
mkdir -p "$dir"
# shellcheck source=tests/lib/zfsfuse.sh
source "$(dirname "${BASH_SOURCE[0]}")/zfsfuse.sh"
zfsfuse_lock
pidf="$dir/zfs-fuse.pid"
zfsfuse_start "$pidf"
stop() { zfsfuse_stop "$pidf"; }
trap stop EXIT
tag=h2t$$
: > "$dir/names"
for kind in single mirror raidz1 raidz2; do
  mkdir -p "$dir/$kind"
  case $kind in
    single) n=1; layout="";;
    mirror) n=2; layout=mirror;;
    raidz1) n=4; layout=raidz1;;
    raidz2) n=4; layout=raidz2;;
  esac
  devs=()
  for i in $(seq 0 $((n - 1))); do
    truncate -s 64M "$dir/$kind/d$i"
    devs+=("$dir/$kind/d$i")
  done
  pool=${tag}${kind}
  /usr/sbin/zpool create -f "$pool" $layout "${devs[@]}"
  /usr/sbin/zfs create -o compression=on "$pool/fs"
  head -c 300000 /dev/urandom > "/$pool/fs/random.bin"
  seq 1 20000 > "/$pool/fs/seq.txt"
  /usr/sbin/zpool export "$pool"
  echo "$kind $pool" >> "$dir/names"
done
# The oracle's view, for the tests to compare with (zdb -e needs the daemon running).
for kind in single mirror raidz1 raidz2; do
  /usr/sbin/zdb -e -p "$dir/$kind" -uuu "${tag}${kind}" > "$dir/$kind.zdb_u" 2>&1 || true
  /usr/sbin/zdb -l "$dir/$kind/d0" > "$dir/$kind.zdb_l" 2>&1 || true
done
