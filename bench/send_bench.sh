#!/usr/bin/env bash
# Benchmark, not a test: zfs send of a dataset of large files to /dev/null and zfs receive of
# that stream (from a file) into the same pool, by uzfs and by zfs-fuse in one run, each on a
# file vdev of its own, cold (pools exported and caches dropped before each step). Prints
# each rate and uzfs's over zfs-fuse's; it never fails on a figure.
#
#   bench/send_bench.sh [DIR]    DIR: where the vdev files and streams go (default /var/tmp)
# Environment: SIZE (data written, in MiB, default 1024), UZFS_BUILD (default build/; zfsd,
# zpool and zfs are built there first, unless NO_BUILD=1), VDEV (file, the default, or loop:
# each vdev file behind a loop device with direct I/O, named by a link in DIR). Run as root.
# On file vdevs zfs-fuse reads through the page cache (it opens only block devices O_DIRECT,
# libsolkerncompat vn_open), so its cold send has the kernel's read-ahead; uzfs reads every
# vdev O_DIRECT. VDEV=loop puts both on block devices, both O_DIRECT.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
B=${UZFS_BUILD:-$root/build}
# shellcheck source=tests/lib/zfsfuse.sh
source "$root/tests/lib/zfsfuse.sh"
if [ "${NO_BUILD:-0}" != 1 ]; then
  cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$B" --target zfsd zpool zfs >/dev/null
fi
SIZE=${SIZE:-1024}
ZP=$B/cmd/zpool/zpool
ZF=$B/cmd/zfs/zfs
base=$(mktemp -d "${1:-/var/tmp}/uzfs-send.XXXXXX")
export UZFS_SOCKET=$base/zfsd.sock
zfsd_pid= zf_pid=$base/zfs-fuse.pid loops=()
cleanup() {
  set +e
  [ -n "$zfsd_pid" ] && { "$ZP" export ubench 2>/dev/null; kill "$zfsd_pid"; wait "$zfsd_pid"; }
  [ -f "$zf_pid" ] && zfsfuse_stop "$zf_pid"
  for l in "${loops[@]}"; do losetup -d "$l"; done
  rm -rf "$base"
}
trap cleanup EXIT
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now() { date +%s.%N; }
mbps() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.1f", b / 1048576 / t }'; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { print b - a }'; }
fill() { for i in $(seq $((SIZE / 64))); do head -c 64M /dev/urandom >"$1/f$i"; done; }

# uzfs: pool ubench on v0, ubench/fs of SIZE MiB, snapshot s.
truncate -s $((SIZE * 3 + 512))M "$base/v0" "$base/v1"
devs=$base
if [ "${VDEV:-file}" = loop ]; then
  devs=$base/devs
  mkdir "$devs"
  for v in v0 v1; do
    loops+=("$(losetup -f --show --direct-io=on "$base/$v")")
    ln -s "${loops[-1]}" "$devs/$v"
  done
fi
"$B/daemon/zfsd" --foreground --socket "$UZFS_SOCKET" --state-dir "$base/state" --log-level warn 2>"$base/zfsd.log" &
zfsd_pid=$!
for _ in $(seq 100); do "$ZP" version >/dev/null 2>&1 && break; sleep 0.05; done
"$ZP" create -m "$base/umnt" ubench "$devs/v0"
# A whole disk gets a partition table (zpool_label_disk): the import finds the pool's
# partition, so the link names it.
if [ "${VDEV:-file}" = loop ] && [ -b "${loops[0]}p1" ]; then ln -sfn "${loops[0]}p1" "$devs/v0"; fi
"$ZF" create ubench/fs
fill "$base/umnt/fs"
"$ZF" snapshot ubench/fs@s
"$ZF" send ubench/fs@s >"$base/ustream"
bytes=$(stat -c %s "$base/ustream")
"$ZP" export ubench
drop
"$ZP" import -d "$devs" ubench
t0=$(now)
"$ZF" send ubench/fs@s >/dev/null
u_send=$(mbps "$bytes" "$(since "$t0")")
drop
t0=$(now)
"$ZF" receive -u ubench/copy <"$base/ustream"
u_recv=$(mbps "$bytes" "$(since "$t0")")
"$ZP" export ubench
kill "$zfsd_pid"
wait "$zfsd_pid" || true
zfsd_pid=

# zfs-fuse: the same on v1 (one zfs-fuse on the machine: the lock the tests' oracle takes).
zfsfuse_lock
zfsfuse_start "$zf_pid"
/usr/sbin/zpool create -m "$base/zmnt" zbench "$devs/v1"
/usr/sbin/zfs create zbench/fs
fill "$base/zmnt/fs"
/usr/sbin/zfs snapshot zbench/fs@s
/usr/sbin/zfs send zbench/fs@s >"$base/zstream"
zbytes=$(stat -c %s "$base/zstream")
# Its mount can stay busy for a moment after the writes ("pool is busy").
for _ in $(seq 30); do /usr/sbin/zpool export zbench 2>/dev/null && break; sleep 1; done
drop
/usr/sbin/zpool import -d "$devs" zbench
t0=$(now)
/usr/sbin/zfs send zbench/fs@s >/dev/null
z_send=$(mbps "$zbytes" "$(since "$t0")")
drop
t0=$(now)
/usr/sbin/zfs receive -u zbench/copy <"$base/zstream"
sync
z_recv=$(mbps "$zbytes" "$(since "$t0")")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "vdevs: ${VDEV:-file}"
echo "stream: uzfs $bytes bytes, zfs-fuse $zbytes bytes ($SIZE MiB of files)"
echo "send to /dev/null:  uzfs $u_send MB/s, zfs-fuse $z_send MB/s, ratio $(ratio "$u_send" "$z_send")x"
echo "receive from file:  uzfs $u_recv MB/s, zfs-fuse $z_recv MB/s, ratio $(ratio "$u_recv" "$z_recv")x"
