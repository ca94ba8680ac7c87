#!/usr/bin/env bash
# The main job, as a demo on file vdevs. Today uzfs reads pools (zdb); the daemon that
# creates and writes them is the next milestone, so the pool is made with Debian's
# zfs-fuse (a real ZFS, pool v23) and then inspected with OUR zdb, which reads the devices
# directly. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/deps.sh
scripts/build.sh >/dev/null
export UZFS_BUILD=${UZFS_BUILD:-$root/build}
zdb=$UZFS_BUILD/cmd/zdb/zdb   # ours; zfs-fuse's is /usr/sbin/zdb
work=$(mktemp -d /tmp/uzfs-demo.XXXXXX)
pid=$work/zfs-fuse.pid
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

# --- make a pool with zfs-fuse (one daemon at a time on this machine) -----------------
make_pool() {
  rm -f "$pid"
  /usr/sbin/zfs-fuse --pidfile "$pid" --no-kstat-mount
  sleep 1.5
  truncate -s 256M "$work/disk0" "$work/disk1"
  run /usr/sbin/zpool create -f demo mirror "$work/disk0" "$work/disk1"
  run /usr/sbin/zfs create demo/home
  run /usr/sbin/zfs create -o compression=on demo/home/docs
  seq 1 100000 > /demo/home/docs/numbers.txt
  head -c 5000000 /dev/urandom > /demo/home/photo.bin
  echo "hello from uzfs" > /demo/home/hello.txt
  ln -s hello.txt /demo/home/link
  run /usr/sbin/zfs snapshot demo/home@monday
  echo "changed after the snapshot" > /demo/home/hello.txt
  run /usr/sbin/zpool status demo
  run /usr/sbin/zfs list -t all -r demo
  sha256sum /demo/home/photo.bin /demo/home/docs/numbers.txt > "$work/sums"
  run /usr/sbin/zpool export demo
  kill "$(cat "$pid")"; while pgrep -x zfs-fuse >/dev/null; do sleep 0.2; done
}
export -f make_pool say run; export work pid
flock /tmp/uzfs-zfsfuse.lock bash -c make_pool

# --- inspect it with our zdb ----------------------------------------------------------
say "$zdb -l $work/disk0   (label 0 of 4)"
"$zdb" -l "$work/disk0" | awk '/^LABEL 1$/ { stop = 1 } !stop' | sed '$d'
run "$zdb" -e -p "$work" -uuu demo
run "$zdb" -e -p "$work" -d demo
run "$zdb" -e -p "$work" -bcc demo
run "$zdb" -e -p "$work" -h demo
run "$zdb" -e -p "$work" -r demo/home photo.bin "$work/photo.out"
run "$zdb" -e -p "$work" -r demo/home@monday hello.txt "$work/hello.monday"
say "cat $work/hello.monday"; cat "$work/hello.monday"
say "sha256 of the copies against what was written"
want=$(grep photo.bin "$work/sums" | cut -d' ' -f1); got=$(sha256sum "$work/photo.out" | cut -d' ' -f1)
echo "written $want"; echo "read    $got"; [ "$want" = "$got" ] && echo "identical"
rm -rf "$work"
