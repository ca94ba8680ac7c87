#!/usr/bin/env bash
# The main job, as a demo on file vdevs: our zfsd and zpool create a mirror pool; zfs
# creates datasets, which zfsd mounts with FUSE; files go in through the mounts; a snapshot,
# a rollback and a clone; a file mapped twice through libzfs (one copy: the ARC's memory) and
# arcstat; status, list, history; our zdb verifies every block and copies files
# out of the pool and a snapshot. Then zfs-fuse (Debian's real ZFS, pool v23) judges: its zdb
# checks every block, it imports the pool and reads the same bytes. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/deps.sh
scripts/build.sh >/dev/null
export UZFS_BUILD=${UZFS_BUILD:-$root/build}
zdb=$UZFS_BUILD/cmd/zdb/zdb        # ours; zfs-fuse's is /usr/sbin/zdb
zpool=$UZFS_BUILD/cmd/zpool/zpool  # ours; zfs-fuse's is /usr/sbin/zpool
zfs=$UZFS_BUILD/cmd/zfs/zfs          # ours; zfs-fuse's is /usr/sbin/zfs
zfsd=$UZFS_BUILD/daemon/zfsd
arcstat=$UZFS_BUILD/cmd/arcstat/arcstat
uzfs_map=$UZFS_BUILD/cmd/uzfs-map/uzfs-map
work=$(mktemp -d /tmp/uzfs-demo.XXXXXX)
export UZFS_SOCKET=$work/zfsd.sock
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }
zfsd_pid=
start_zfsd() {
  "$zfsd" --foreground --socket "$UZFS_SOCKET" --state-dir "$work/state" --log-level warn &
  zfsd_pid=$!
  for _ in $(seq 100); do "$zpool" version >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "zfsd did not start" >&2; exit 1
}
stop_zfsd() { kill -TERM "$zfsd_pid"; wait "$zfsd_pid"; }
trap 'kill "$zfsd_pid" 2>/dev/null && wait "$zfsd_pid"; rm -rf "$work"' EXIT

# --- 1. our daemon creates the pool, datasets and files ----------------------------------
truncate -s 256M "$work/disk0" "$work/disk1"
start_zfsd
m=$work/mnt/demo   # the root dataset's default mountpoint /demo, under the altroot
run "$zpool" create -R "$work/mnt" demo mirror "$work/disk0" "$work/disk1"
run "$zpool" set comment="made by uzfs" demo
run "$zfs" create demo/home
run "$zfs" create -o compression=gzip demo/home/docs
run "$zfs" mount
seq 1 100000 >"$m/home/docs/numbers.txt"
head -c 5000000 /dev/urandom >"$m/home/photo.bin"
echo "hello from uzfs" >"$m/home/hello.txt"
sha256sum "$m/home/photo.bin" "$m/home/docs/numbers.txt" | sed "s|$m/||" >"$work/sums"
run "$zfs" snapshot -r demo/home@monday
echo "changed after the snapshot" >"$m/home/hello.txt"
rm "$m/home/docs/numbers.txt"
say "cat $m/home/hello.txt"; cat "$m/home/hello.txt"
run "$zfs" rollback demo/home/docs@monday
run "$zfs" clone demo/home@monday demo/monday
say "cat $m/monday/hello.txt"; cat "$m/monday/hello.txt"
# One copy for mmap: uzfs-map maps photo.bin through libzfs (the mapping is the ARC's own
# memory), twice at once; arcstat shows the one copy and the two mappings.
say "uzfs-map --sum --hold 3 $m/home/photo.bin &  (twice)"
"$uzfs_map" --sum --hold 3 "$m/home/photo.bin" >"$work/map1" &
map1=$!
"$uzfs_map" --sum --hold 3 "$m/home/photo.bin" >"$work/map2" &
map2=$!
sleep 1.5
run "$arcstat" -f arcsz,c,segs,mapped,maps,clients,mfault
wait "$map1" "$map2"
want=$(awk '$2 == "home/photo.bin" { print $1 }' "$work/sums")
for f in "$work/map1" "$work/map2"; do
  [ "$(cut -d' ' -f1 "$f")" = "$want" ] || { echo "a mapping read wrong bytes" >&2; exit 1; }
done
echo "both mappings read the sha256 written ($want)"
run "$zfs" list -t all -o name,used,avail,refer,ratio,mountpoint
run "$zfs" get compression,compressratio,origin demo/home/docs demo/monday
run "$zpool" status demo
run "$zpool" list -v demo
run "$zpool" history demo
run "$zpool" export demo
stop_zfsd

# --- 2. our zdb reads the pool from the devices ------------------------------------------
say "$zdb -l $work/disk0   (label 0 of 4)"
"$zdb" -l "$work/disk0" | awk '/^LABEL 1$/ { stop = 1 } !stop' | sed '$d'
run "$zdb" -e -p "$work" -d demo
run "$zdb" -e -p "$work" -bcc demo
run "$zdb" -e -p "$work" -r demo/home photo.bin "$work/photo.out"
run "$zdb" -e -p "$work" -r demo/home@monday hello.txt "$work/hello.monday"
say "cat $work/hello.monday"; cat "$work/hello.monday"
say "sha256 of the copy against what was written"
want=$(awk '$2 == "home/photo.bin" { print $1 }' "$work/sums"); got=$(sha256sum "$work/photo.out" | cut -d' ' -f1)
echo "written $want"; echo "read    $got"; [ "$want" = "$got" ] && echo "identical"

# --- 3. zfs-fuse (the judge) checks every block, imports the pool, reads the files --------
judge_with_zfsfuse() {
  zfsfuse_start "$work/zfs-fuse.pid"
  run /usr/sbin/zdb -e -p "$work" -bcc demo
  run /usr/sbin/zpool import -R "$work/zf" -d "$work" demo
  run /usr/sbin/zfs list -t all -r demo
  z=$work/zf/demo
  for d in "$z/home" "$z/home/docs"; do  # zfs-fuse mounts through FUSE: wait for it
    for _ in $(seq 50); do mountpoint -q "$d" && break; sleep 0.1; done
  done
  say "sha256sum -c (the files as zfs-fuse reads them)"
  (cd "$z" && sha256sum -c "$work/sums")
  run /usr/sbin/zpool export demo
}
# One zfs-fuse daemon on the machine at a time: under the lock the tests take
# (tests/lib/zfsfuse.sh), stopped whatever happens.
# shellcheck source=tests/lib/zfsfuse.sh
source tests/lib/zfsfuse.sh
export -f judge_with_zfsfuse zfsfuse_start zfsfuse_stop zfsfuse_alive say run; export work
flock "$ZFSFUSE_LOCK" bash -c 'trap "zfsfuse_stop \"\$work/zfs-fuse.pid\"" EXIT; judge_with_zfsfuse'
