#!/usr/bin/env bats
# zfs rollback in place: a mounted filesystem is swapped under its mount (zfs_suspend_fs /
# zfs_resume_fs), so children's mounts, working directories and open files survive it; what a
# reader sees once the command returns is exactly the snapshot (the kernel's pages, attributes
# and names were dropped); a descriptor of a file the snapshot does not have answers ESTALE.
# One private zfsd and one pool (altroot $ALT) per test.

load ../lib/pool_helpers

setup() {
  V=$BATS_TEST_TMPDIR/v
  ALT=$BATS_TEST_TMPDIR/alt
  mkvdevs "$V" 1 512M
  SOCKDIR=$(mktemp -d /tmp/uzfs-rollback.XXXXXX)
  chmod 755 "$SOCKDIR"
  zfsd_start "$SOCKDIR"
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  M=$ALT/tank
  MANIFEST=$UZFS_ROOT/tests/lib/manifest.py
}

teardown() {
  exec 6<&- 7<&- 8<&- 2>/dev/null || true
  cd /
  zfsd_stop || true
  dead_mounts_clear
  rm -rf "$SOCKDIR"
}

# mount_id PATH: the mount's id in /proc/self/mountinfo (a remount gets a new one).
mount_id() { findmnt -n -o ID --mountpoint "$1"; }

@test "zfs rollback: a mounted filesystem with a mounted child stays mounted, the child untouched" {
  "$ZFS" create tank/fs
  "$ZFS" create tank/fs/child
  echo parent-old >"$M/fs/file"
  echo child-data >"$M/fs/child/cfile"
  "$ZFS" snapshot tank/fs@s
  echo parent-new >"$M/fs/file"
  echo extra >"$M/fs/extra"
  # A child made after the snapshot: its mount point is not in the snapshot.
  "$ZFS" create tank/fs/late
  echo late >"$M/fs/late/lfile"
  fs_id=$(mount_id "$M/fs")
  child_id=$(mount_id "$M/fs/child")
  # An open file and a working directory in the filesystem do not make it busy.
  exec 6<"$M/fs/file"
  cd "$M/fs"
  "$ZFS" rollback tank/fs@s
  cd /
  [ "$(cat "$M/fs/file")" = parent-old ]
  [ ! -e "$M/fs/extra" ]
  # The same mounts: the filesystem was not remounted, the child not touched.
  [ "$(mount_id "$M/fs")" = "$fs_id" ]
  [ "$(mount_id "$M/fs/child")" = "$child_id" ]
  [ "$(cat "$M/fs/child/cfile")" = child-data ]
  # The late child was unmounted and mounted again on a new mount point directory.
  findmnt -n "$M/fs/late"
  [ "$(cat "$M/fs/late/lfile")" = late ]
  run "$ZFS" list -H -o name,mounted -r tank/fs
  [ "$output" = "$(printf 'tank/fs\tyes\ntank/fs/child\tyes\ntank/fs/late\tyes')" ]
  # The descriptor opened before names a file the snapshot has (same object): it reads the
  # snapshot's bytes.
  [ "$(cat <&6)" = parent-old ]
  exec 6<&-
}

@test "zfs rollback: a reader started right after it returns sees exactly the snapshot (20 rounds)" {
  "$ZFS" create tank/fs
  mkdir -p "$M/fs/d/e"
  for i in $(seq 20); do head -c $((i * 3000)) /dev/urandom >"$M/fs/d/f$i"; done
  head -c 3M /dev/urandom >"$M/fs/big"
  ln -s d/f1 "$M/fs/link"
  "$ZFS" snapshot tank/fs@s
  python3 "$MANIFEST" "$M/fs" >"$BATS_TEST_TMPDIR/snap.manifest"
  python3 "$MANIFEST" "$M/fs/.zfs/snapshot/s" >"$BATS_TEST_TMPDIR/snapdir.manifest"
  diff -u "$BATS_TEST_TMPDIR/snap.manifest" "$BATS_TEST_TMPDIR/snapdir.manifest"
  T=$BATS_TEST_TMPDIR
  mkfifo "$T/go"
  bigsum=$(sha256sum <"$M/fs/.zfs/snapshot/s/big" | cut -d' ' -f1)
  for round in $(seq 20); do
    # Changes of every kind, read back through the mount (so the kernel caches them).
    head -c $((round * 1000 + 1)) /dev/urandom >"$M/fs/new$round"
    mkdir -p "$M/fs/d/e/sub$round"
    echo "$round" >"$M/fs/d/e/sub$round/x"
    dd if=/dev/urandom of="$M/fs/big" bs=4k count=3 seek=$((round * 7)) conv=notrunc status=none
    printf 'overwritten %s\n' "$round" >"$M/fs/d/f$round"
    rm -f "$M/fs/d/f$(((round % 20) + 1))"
    mv "$M/fs/d/f$(((round + 5) % 20 + 1))" "$M/fs/moved$round" 2>/dev/null || true
    ln -sf "new$round" "$M/fs/link"
    if [ $((round % 2)) = 0 ]; then "$ZPOOL" sync tank; fi
    python3 "$MANIFEST" "$M/fs" >"$BATS_TEST_TMPDIR/changed.manifest"
    if diff -q "$BATS_TEST_TMPDIR/snap.manifest" "$BATS_TEST_TMPDIR/changed.manifest" >/dev/null; then
      echo "round $round: the changes did not show" >&2
      return 1
    fi
    cat "$M/fs/big" "$M/fs/d/f3" >/dev/null 2>&1 || true
    # A mapping of big made before the rollback (the same object in the snapshot): its pages
    # are never revalidated by attribute timeouts, only by the rollback's invalidation.
    rm -f "$T/ready"
    python3 -c '
import hashlib, mmap, sys
f = open(sys.argv[1], "rb")
m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
hashlib.sha256(m).hexdigest()
open(sys.argv[3], "w").close()
open(sys.argv[2]).read()
print(hashlib.sha256(m).hexdigest())' "$M/fs/big" "$T/go" "$T/ready" >"$T/mapsum" &
    mapper=$!
    while [ ! -e "$T/ready" ]; do sleep 0.05; done
    "$ZFS" rollback tank/fs@s
    echo >"$T/go"
    wait "$mapper"
    python3 "$MANIFEST" "$M/fs" >"$BATS_TEST_TMPDIR/after.manifest"
    diff -u "$BATS_TEST_TMPDIR/snap.manifest" "$BATS_TEST_TMPDIR/after.manifest" ||
      { echo "round $round: the mount does not show the snapshot" >&2; return 1; }
    [ "$(cat "$T/mapsum")" = "$bigsum" ] ||
      { echo "round $round: a mapping of big does not show the snapshot" >&2; return 1; }
  done
}

@test "zfs rollback: a descriptor of a file the snapshot lacks gets ESTALE; the mount goes on" {
  "$ZFS" create tank/fs
  echo kept >"$M/fs/kept"
  "$ZFS" snapshot tank/fs@s
  echo born-later >"$M/fs/new"
  cat "$M/fs/new" >/dev/null
  exec 7<"$M/fs/new"
  exec 8>>"$M/fs/new"
  "$ZFS" rollback tank/fs@s
  [ ! -e "$M/fs/new" ]
  # Reads, writes and fstat through the old descriptors fail with ESTALE.
  run python3 -c '
import errno, os, sys
bad = 0
for what, call in (("read", lambda: os.pread(7, 100, 0)), ("write", lambda: os.write(8, b"x")),
                   ("fstat", lambda: os.fstat(7))):
    try:
        call()
        print(what, "succeeded"); bad = 1
    except OSError as e:
        if e.errno != errno.ESTALE:
            print(what, os.strerror(e.errno)); bad = 1
sys.exit(bad)'
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
  exec 7<&- 8>&-
  # The name is free again, and a new file there is a new inode.
  echo again >"$M/fs/new"
  [ "$(cat "$M/fs/new")" = again ]
  [ "$(cat "$M/fs/kept")" = kept ]
  # Unmounting works (nothing is left open).
  "$ZFS" unmount tank/fs
}
