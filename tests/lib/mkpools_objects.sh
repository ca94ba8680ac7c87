#!/bin/bash
# Builds one zfs-fuse pool exercising the object layers, for libcore/zpl tests:
#   mkpools_objects.sh DIR -> DIR/pool/d0 (exported pool "objtest"), DIR/manifest
#   ("sha256 size path" of each regular file, relative to objtest/fs), DIR/names (the long
#   names in fs/fat, one per line), DIR/zfs-list (zfs list -H -o name -t all), DIR/links.
# Exit 77 when zfs-fuse is not installed. Holds /tmp/uzfs-zfsfuse.lock around its daemon.
set -euo pipefail
dir=$1
[ -x /usr/sbin/zfs-fuse ] || exit 77
mkdir -p "$dir/pool"
# shellcheck source=tests/lib/zfsfuse.sh
source "$(dirname "${BASH_SOURCE[0]}")/zfsfuse.sh"
zfsfuse_lock
pidf="$dir/zfs-fuse.pid"
rm -f "$pidf"
zfsfuse_start "$pidf"
stop() { zfsfuse_stop "$pidf"; }
trap stop EXIT
pool=objtest$$
truncate -s 128M "$dir/pool/d0"
/usr/sbin/zpool create -f "$pool" "$dir/pool/d0"
/usr/sbin/zfs create "$pool/fs"
/usr/sbin/zfs create -o compression=gzip "$pool/fs/gz"
m=/$pool/fs
mkdir "$m/fat"
: > "$dir/names"
for i in $(seq 1 300); do  # names of 50+ bytes force a fat ZAP
  n="a_name_long_enough_to_need_a_fat_zap_directory_entry_$i"
  echo "$i" > "$m/fat/$n"; echo "$n" >> "$dir/names"
done
head -c 700000 /dev/urandom > "$m/random.bin"
seq 1 50000 > "$m/gz/seq.txt"
truncate -s 1500M "$m/sparse"
echo middle | dd of="$m/sparse" bs=1 seek=1000000000 conv=notrunc 2>/dev/null
ln -s short "$m/shortlink"
ln -s "/$(printf 'x%.0s' $(seq 1 80))/target" "$m/longlink"
echo hi > "$m/hard1"; ln "$m/hard1" "$m/hard2"
/usr/sbin/zfs snapshot "$pool/fs@s1"
echo after > "$m/hard1"
(cd "$m" && find . -type f ! -name sparse | sed 's|^\./||' | sort | while read -r f; do
   echo "$(sha256sum < "$f" | cut -d' ' -f1) $(stat -c %s "$f") $f"; done) > "$dir/manifest"
# Assigned first: a failure inside echo's $(...) would not stop the script, and a manifest
# line without its sum would be cached as the pool's truth.
sparse_sum=$(sha256sum < "$m/sparse" | cut -d' ' -f1)
sparse_size=$(stat -c %s "$m/sparse")
echo "$sparse_sum $sparse_size sparse" >> "$dir/manifest"
printf '%s\n%s\n' "$(readlink "$m/shortlink")" "$(readlink "$m/longlink")" > "$dir/links"
/usr/sbin/zfs list -H -o name -t all -r "$pool" | sort > "$dir/zfs-list"
echo "$pool" > "$dir/poolname"
/usr/sbin/zpool export "$pool"
