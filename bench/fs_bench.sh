#!/usr/bin/env bash
# Benchmark, not a test: the same fio jobs and a small-file create loop on (a) a uzfs FUSE
# mount, (b) a zfs-fuse mount, (c) ext4 — each on its own file vdev / loop device backed by a
# file in the same directory, so the same disk — in one run. Prints each figure and the
# ratios against zfs-fuse and ext4; it never fails on a figure.
#
#   bench/fs_bench.sh [DIR]      DIR: where the backing files go (default /var/tmp)
# Environment: SIZE (sequential file size, default 1G), RAND_SECONDS (each random job's
# run time, default 20), FILES (small-file creates, default 5000), UZFS_BUILD (default
# build/; zfsd and zpool are built there first, unless NO_BUILD=1). Run as root; installs fio.
# Jobs: sequential write (1 MiB writes, fsync at the end); cold sequential read (the file
# system's cache emptied by an export/import or a remount, and the kernel's dropped); the
# same file read cold through a mapping (fio's mmap engine, 1 MiB at a time); random 4 KiB
# reads of it (IOPS); random 4 KiB writes by 4 threads, each to a file of its own of 256M
# (IOPS, fsync at the end); FILES creates of 1 KiB files (seconds, sync at the end);
# 4 KiB appends each followed by fsync, by 1 and by 8 threads (IOPS: the intent log's
# commits and their batching); 128 KiB writes each followed by fsync, one thread (MB/s: whole
# blocks logged by pointer, WR_INDIRECT, written once). ONLY (words, e.g. "fsync1 fsync8")
# runs only those jobs. "device" (in the default set) measures the disk itself first: fio
# with O_DIRECT on a file beside the images (1 MiB writes and reads 16 deep, 4 KiB writes
# each followed by fdatasync), printed below the table with uzfs's share of it, so a target
# above what the disk can do shows as such.
# Targets: sequential write >= 2x zfs-fuse and >= 0.5x ext4; cold sequential read >= 0.9x
# ext4; mmap read through the mount >= 0.5x ext4; creates in <= 0.5x zfs-fuse's time;
# 4-thread 4 KiB random write >= 2x zfs-fuse; 4 KiB write + fsync >= 2x zfs-fuse with one
# thread and >= 3x with 8.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
dpkg-query -W -f='${Status}' fio 2>/dev/null | grep -q 'install ok installed' ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fio >/dev/null
B=${UZFS_BUILD:-$root/build}
# shellcheck source=tests/lib/zfsfuse.sh
source "$root/tests/lib/zfsfuse.sh"
if [ "${NO_BUILD:-0}" != 1 ]; then
  cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$B" --target zfsd zpool >/dev/null
fi
SIZE=${SIZE:-1G} RAND_SECONDS=${RAND_SECONDS:-20} FILES=${FILES:-5000}
base=$(mktemp -d "${1:-/var/tmp}/uzfs-bench.XXXXXX")
export UZFS_SOCKET=$base/zfsd.sock
zfsd_pid= loop= zf_pid=$base/zfs-fuse.pid
cleanup() {
  set +e
  [ -n "$zfsd_pid" ] && { "$B/cmd/zpool/zpool" export ubench 2>/dev/null; kill "$zfsd_pid"; wait "$zfsd_pid"; }
  [ -f "$zf_pid" ] && zfsfuse_stop "$zf_pid"
  mountpoint -q "$base/ext4" && umount "$base/ext4"
  [ -n "$loop" ] && losetup -d "$loop"
  rm -rf "$base"
}
trap cleanup EXIT
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# fio_mb DIR JOB...: MB/s of one fio job (bandwidth in KiB/s / 1024).
fio_mb() {
  local dir=$1; shift
  fio --name=b --directory="$dir" --output-format=terse --terse-version=3 "$@" 2>/dev/null |
    awk -F';' '{ r = $7; w = $48; printf "%.1f\n", (r > 0 ? r : w) / 1024 }'
}
# fio_iops DIR JOB...: IOPS of one fio job (reads, else writes; one line: --group_reporting).
fio_iops() {
  local dir=$1; shift
  fio --name=b --directory="$dir" --output-format=terse --terse-version=3 "$@" 2>/dev/null |
    awk -F';' '{ r = $8; w = $49; print (r > 0 ? r : w) }'
}
creates() {  # seconds for FILES creates of 1 KiB files
  python3 - "$1" "$FILES" <<'PY'
import os, sys, time
d = os.path.join(sys.argv[1], "small"); os.mkdir(d)
data = b"x" * 1024
t = time.time()
for i in range(int(sys.argv[2])):
    with open(os.path.join(d, "f%d" % i), "wb") as f: f.write(data)
os.sync()
print("%.2f" % (time.time() - t))
PY
}

declare -A R
ONLY=${ONLY:-device seqw seqr mmapr randr randw creates fsync1 fsync8 fsync128}
want() { [[ " $ONLY " == *" $1 "* ]]; }
# run_all NAME DIR REMOUNT: REMOUNT is a command that empties the file system's own cache.
run_all() {
  local name=$1 dir=$2 remount=$3
  if want seqw || want seqr || want mmapr || want randr; then
    R[$name.seqw]=$(fio_mb "$dir" --rw=write --bs=1M --size="$SIZE" --end_fsync=1 --filename=seq)
    eval "$remount"; drop
    want seqr && R[$name.seqr]=$(fio_mb "$dir" --rw=read --bs=1M --size="$SIZE" --filename=seq)
    eval "$remount"; drop
    want mmapr && R[$name.mmapr]=$(fio_mb "$dir" --ioengine=mmap --rw=read --bs=1M --size="$SIZE" --filename=seq)
    want randr && R[$name.randr]=$(fio_iops "$dir" --rw=randread --bs=4k --size="$SIZE" --filename=seq --time_based --runtime="$RAND_SECONDS")
    rm -f "$dir/seq"
  fi
  if want randw; then
    R[$name.randw]=$(fio_iops "$dir" --rw=randwrite --bs=4k --numjobs=4 --size=256M --end_fsync=1 \
      --group_reporting --time_based --runtime="$RAND_SECONDS")
    rm -f "$dir"/b.*
  fi
  want creates && R[$name.creates]=$(creates "$dir")
  local n
  for n in 1 8; do
    want fsync$n || continue
    R[$name.fsync$n]=$(fio_iops "$dir" --rw=write --bs=4k --fsync=1 --numjobs=$n --size=64M \
      --group_reporting --time_based --runtime="$RAND_SECONDS")
    rm -f "$dir"/b.*
  done
  if want fsync128; then
    R[$name.fsync128]=$(fio_mb "$dir" --rw=write --bs=128k --fsync=1 --size=256M \
      --time_based --runtime="$RAND_SECONDS")
    rm -f "$dir"/b.*
  fi
  return 0
}

# The disk itself: what any file system on it can reach at best.
if want device; then
  mkdir "$base/raw"
  R[dev.seqw]=$(fio_mb "$base/raw" --rw=write --bs=1M --size="$SIZE" --direct=1 --ioengine=libaio --iodepth=16 --end_fsync=1 --filename=seq)
  drop
  R[dev.seqr]=$(fio_mb "$base/raw" --rw=read --bs=1M --size="$SIZE" --direct=1 --ioengine=libaio --iodepth=16 --filename=seq)
  R[dev.fsync1]=$(fio_iops "$base/raw" --rw=write --bs=4k --direct=1 --fdatasync=1 --size=64M \
    --time_based --runtime="$RAND_SECONDS" --filename=log)
  rm -rf "$base/raw"
fi

for f in u z e; do truncate -s 8G "$base/$f.img"; done
# (c) ext4 on a loop device
loop=$(losetup -f --show "$base/e.img")
mkfs.ext4 -q "$loop"; mkdir "$base/ext4"; mount "$loop" "$base/ext4"
run_all ext4 "$base/ext4" "umount '$base/ext4'; mount '$loop' '$base/ext4'"
umount "$base/ext4"; losetup -d "$loop"; loop=
# (a) uzfs
mkdir -p "$base/state"
"$B/daemon/zfsd" --foreground --socket "$UZFS_SOCKET" --state-dir "$base/state" --log-level warn &
zfsd_pid=$!
for _ in $(seq 100); do "$B/cmd/zpool/zpool" version >/dev/null 2>&1 && break; sleep 0.05; done
"$B/cmd/zpool/zpool" create -R "$base/u" ubench "$base/u.img"
run_all uzfs "$base/u/ubench" "'$B/cmd/zpool/zpool' export ubench; '$B/cmd/zpool/zpool' import -d '$base' -R '$base/u' ubench"
"$B/cmd/zpool/zpool" export ubench; kill "$zfsd_pid"; wait "$zfsd_pid" || true; zfsd_pid=
# (b) zfs-fuse (under the oracle lock the tests use)
zfsfuse_lock
zfsfuse_start "$zf_pid"
/usr/sbin/zpool create -R "$base/z" zbench "$base/z.img" >/dev/null
run_all zfs-fuse "$base/z" "/usr/sbin/zpool export zbench; /usr/sbin/zpool import -d '$base' -R '$base/z' zbench"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
printf '\n%-22s %10s %10s %10s %12s %12s\n' figure uzfs zfs-fuse ext4 uzfs/zfs-fuse uzfs/ext4
for k in seqw:"seq write MB/s" seqr:"cold seq read MB/s" mmapr:"mmap seq read MB/s" \
  randr:"rand 4K read IOPS" randw:"4x rand 4K write IOPS" creates:"${FILES} creates (s)" \
  fsync1:"4K write+fsync IOPS" fsync8:"8x 4K write+fsync IOPS" fsync128:"128K write+fsync MB/s"; do
  key=${k%%:*} label=${k#*:}
  [ -n "${R[uzfs.$key]:-}" ] || continue
  printf '%-22s %10s %10s %10s %12s %12s\n' "$label" "${R[uzfs.$key]}" "${R[zfs-fuse.$key]}" "${R[ext4.$key]}" \
    "$(ratio "${R[uzfs.$key]}" "${R[zfs-fuse.$key]}")" "$(ratio "${R[uzfs.$key]}" "${R[ext4.$key]}")"
done
if want device; then
  echo
  echo "the disk itself (fio, O_DIRECT, a file beside the images):"
  for k in seqw:"1M writes x16 MB/s" seqr:"1M reads x16 MB/s" fsync1:"4K write+fdatasync IOPS"; do
    key=${k%%:*} label=${k#*:}
    [ -n "${R[dev.$key]:-}" ] || continue
    share=-; [ -n "${R[uzfs.$key]:-}" ] && share=$(ratio "${R[uzfs.$key]}" "${R[dev.$key]}")
    printf '  %-26s %10s   uzfs/disk %s\n' "$label" "${R[dev.$key]}" "$share"
  done
fi
echo
echo "targets: seq write >= 2x zfs-fuse and >= 0.5x ext4; cold seq read >= 0.9x ext4; mmap read >= 0.5x ext4;"
echo "         creates <= 0.5x zfs-fuse's time; 4-thread 4K random write >= 2x zfs-fuse;"
echo "         4K write+fsync >= 2x zfs-fuse (1 thread), >= 3x (8 threads)"
