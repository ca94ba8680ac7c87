#!/usr/bin/env bats
# A workload over nested datasets written through our FUSE mounts
# (random, compressible and sparse files, thousands of entries in a directory, long names,
# renames, unlinks, hard links, symlinks, xattrs, snapshots, rollback, clones, promote),
# then export: zfs-fuse's zdb -bcc says "No leaks", zfs-fuse imports and mounts the pool and
# every file has the same bytes, size, mode, owner and mtime; zfs-fuse's space figures equal
# ours. And the reverse: a tree zfs-fuse wrote, read through our mounts.

load ../lib/pool_helpers
load ../lib/oracle

MANIFEST=$UZFS_ROOT/tests/lib/manifest.py

setup() {
  V=$BATS_TEST_TMPDIR/v
  ALT=$BATS_TEST_TMPDIR/alt
  ZALT=$BATS_TEST_TMPDIR/zalt
  mkvdevs "$V" 2 256M
  zfsd_start
}

teardown() {
  pool_suite_teardown
}

# space_of CMD...: "name used referenced" of every filesystem and snapshot but the pool's
# root (whose MOS the other side's import changes), from `zfs get -H -p` (both sides have it).
space_of() {
  "$@" get -H -p -r -o name,property,value used,referenced upool |
    awk '$1 != "upool" { v[$1] = v[$1] " " $3 } END { for (n in v) print n v[n] }' | sort
}

@test "interop: a workload on our mounts reads back identically in zfs-fuse" {
  "$ZPOOL" create -R "$ALT" upool mirror "$V/d0" "$V/d1"
  M=$ALT/upool
  "$ZFS" create -p upool/home/alice
  "$ZFS" create -o compression=gzip upool/logs
  "$ZFS" create -o compression=lzjb -o recordsize=16K upool/db
  "$ZFS" create -o copies=2 upool/precious
  # Random, compressible and sparse files.
  dd if=/dev/urandom of="$M/home/alice/random" bs=1M count=6 status=none
  yes "a compressible line of text for the log" | head -c 8000000 >"$M/logs/big.log"
  truncate -s 40M "$M/db/sparse"
  dd if=/dev/urandom of="$M/db/sparse" bs=64K count=3 seek=300 conv=notrunc status=none
  dd if=/dev/urandom of="$M/db/pages" bs=16K count=64 status=none
  dd if=/dev/urandom of="$M/precious/keep" bs=100K count=3 status=none
  # Thousands of entries in one directory (a fat ZAP), long names.
  mkdir "$M/home/alice/many"
  for i in $(seq 2500); do echo "$i" >"$M/home/alice/many/entry-$i"; done
  long=$(printf 'L%.0s' $(seq 255))
  echo long >"$M/home/alice/$long"
  # Renames (within and across directories, replacing), unlinks, hard links, symlinks.
  mkdir -p "$M/home/alice/dir1/dir2"
  echo moved >"$M/home/alice/tomove"
  mv "$M/home/alice/tomove" "$M/home/alice/dir1/dir2/moved"
  echo old >"$M/home/alice/victim"
  echo new >"$M/home/alice/replacer"
  mv "$M/home/alice/replacer" "$M/home/alice/victim"
  for i in $(seq 1 2 2500); do rm "$M/home/alice/many/entry-$i"; done
  ln "$M/home/alice/victim" "$M/home/alice/hardlink"
  ln -s victim "$M/home/alice/short-link"
  ln -s "/a/very/long/target/$(printf 'x%.0s' $(seq 120))" "$M/home/alice/long-link"
  chmod 0750 "$M/home/alice/dir1"
  chown 1234:5678 "$M/home/alice/random"
  touch -d '2001-02-03 04:05:06.789' "$M/db/pages"
  xattr_set "$M/home/alice/random" user.color blue
  # (zfs-fuse itself returns garbage for values of a few hundred bytes, even its own.)
  xattr_set "$M/home/alice/dir1" user.note "$(printf 'v%.0s' $(seq 40))"
  # Snapshots, rollback, clones, promote.
  "$ZFS" snapshot -r upool/home@monday
  echo tuesday >"$M/home/alice/diary"
  rm "$M/home/alice/victim"
  "$ZFS" snapshot upool/home/alice@tuesday
  echo wednesday >"$M/home/alice/diary"
  "$ZFS" rollback upool/home/alice@tuesday
  [ "$(cat "$M/home/alice/diary")" = tuesday ]
  "$ZFS" clone upool/home/alice@monday upool/alice-copy
  echo "only in the clone" >"$M/alice-copy/clone-file"
  "$ZFS" snapshot upool/alice-copy@c1
  "$ZFS" promote upool/alice-copy
  "$ZFS" snapshot upool/db@s
  dd if=/dev/urandom of="$M/db/pages" bs=16K count=8 seek=10 conv=notrunc status=none
  touch -d '2001-02-03 04:05:06.789' "$M/db/pages"
  # atime off everywhere, so zfs-fuse's reads change nothing in the datasets.
  "$ZFS" set atime=off upool
  python3 "$MANIFEST" "$M" >"$BATS_TEST_TMPDIR/ours"
  [ "$(grep -c '^home/alice/many/entry-' "$BATS_TEST_TMPDIR/ours")" -eq 1250 ]
  grep -q '^home/alice/random f 6291456 0o644 1234 5678 .* user.color=626c7565$' "$BATS_TEST_TMPDIR/ours"
  space_of "$ZFS" >"$BATS_TEST_TMPDIR/space-ours"
  "$ZPOOL" export upool
  oracle_start
  oracle_zdb_clean "$V" upool
  "$ZF_ZPOOL" import -d "$V" -R "$ZALT" upool
  # Space first: zfs-fuse's listxattr makes xattr directories, which changes the datasets.
  space_of "$ZF_ZFS" >"$BATS_TEST_TMPDIR/space-theirs"
  diff "$BATS_TEST_TMPDIR/space-ours" "$BATS_TEST_TMPDIR/space-theirs"
  # zfs-fuse mounts a pool root without a mountpoint property at ALTROOT/POOL, like us.
  python3 "$MANIFEST" "$ZALT/upool" >"$BATS_TEST_TMPDIR/theirs"
  diff "$BATS_TEST_TMPDIR/ours" "$BATS_TEST_TMPDIR/theirs"
  run "$ZF_ZFS" list -H -o name,origin upool/home/alice
  [ "$output" = "$(printf 'upool/home/alice\tupool/alice-copy@monday')" ]
  "$ZF_ZPOOL" export upool
  oracle_zdb_clean "$V" upool
  oracle_stop
}

@test "interop: a tree zfs-fuse wrote reads back identically through our mounts" {
  oracle_start
  "$ZF_ZPOOL" create -R "$ZALT" zpool1 mirror "$V/d0" "$V/d1"
  Z=$ZALT
  "$ZF_ZFS" create zpool1/a
  "$ZF_ZFS" create -o compression=gzip zpool1/a/b
  dd if=/dev/urandom of="$Z/a/rand" bs=1M count=3 status=none
  yes zfs-fuse | head -c 3000000 >"$Z/a/b/text"
  mkdir "$Z/a/dir"
  for i in $(seq 600); do echo "$i" >"$Z/a/dir/f$i"; done
  ln -s rand "$Z/a/link"
  ln "$Z/a/rand" "$Z/a/hard"
  truncate -s 10M "$Z/a/sparse"
  touch -d '1999-12-31 23:59:59' "$Z/a/b/text"
  "$ZF_ZFS" snapshot -r zpool1@snap
  echo after >"$Z/a/after-snap"
  "$ZF_ZFS" set atime=off zpool1
  python3 "$MANIFEST" "$Z" >"$BATS_TEST_TMPDIR/theirs"
  space_of_pool() { "$@" get -H -p -r -o name,property,value used,referenced zpool1 |
    awk '$1 != "zpool1" { v[$1] = v[$1] " " $3 } END { for (n in v) print n v[n] }' | sort; }
  # zfs-fuse's figures are those of its last synced txg: export and import once more first.
  "$ZF_ZPOOL" export zpool1
  "$ZF_ZPOOL" import -d "$V" -R "$ZALT" zpool1
  space_of_pool "$ZF_ZFS" >"$BATS_TEST_TMPDIR/space-theirs"
  "$ZF_ZPOOL" export zpool1
  oracle_stop
  "$ZPOOL" import -d "$V" -R "$ALT" zpool1
  space_of_pool "$ZFS" >"$BATS_TEST_TMPDIR/space-ours"
  diff "$BATS_TEST_TMPDIR/space-theirs" "$BATS_TEST_TMPDIR/space-ours"
  # zfs-fuse set the root's mountpoint to / for its altroot: the root is mounted at ALT.
  python3 "$MANIFEST" "$ALT" >"$BATS_TEST_TMPDIR/ours"
  diff "$BATS_TEST_TMPDIR/theirs" "$BATS_TEST_TMPDIR/ours"
  run "$ZFS" list -H -o name -t snapshot
  [ "$output" = "$(printf 'zpool1@snap\nzpool1/a@snap\nzpool1/a/b@snap')" ]
  # Changing it through our mounts keeps it valid for zfs-fuse.
  rm "$ALT/a/dir/f1"
  echo ours >"$ALT/a/b/ours"
  "$ZFS" destroy zpool1/a@snap
  "$ZPOOL" export zpool1
  oracle_start
  oracle_zdb_clean "$V" zpool1
  oracle_stop
}
