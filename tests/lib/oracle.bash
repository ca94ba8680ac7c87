# zfs-fuse as the judge (load with: load ../lib/oracle). Its binaries share our names, so they
# are always called by full path: ZF_ZPOOL, ZF_ZDB, ZF_ZFS. One zfs-fuse daemon at a time on
# the machine: oracle_start takes /tmp/uzfs-zfsfuse.lock (the lock refpools.sh also takes)
# and starts the daemon; oracle_stop exports what it imported, stops it and releases the lock.
# zfs-fuse's zdb needs its daemon running even for -e.

ZF_ZPOOL=/usr/sbin/zpool
ZF_ZDB=/usr/sbin/zdb
ZF_ZFS=/usr/sbin/zfs
# shellcheck source=tests/lib/zfsfuse.sh
source "$(dirname "${BASH_SOURCE[0]}")/zfsfuse.sh"

oracle_start() {
  zfsfuse_lock
  ORACLE_LOCK_FD=$ZFSFUSE_LOCK_FD
  ORACLE_PID=$(mktemp /tmp/uzfs-oracle.XXXXXX)
  rm -f "$ORACLE_PID"
  # --enable-xattr: zfs-fuse serves no extended attributes without it. ORACLE_NO_XATTR=1
  # leaves it off (with it, a chown on zfs-fuse's mount gives the file an xattr directory).
  local xattr=--enable-xattr
  [ -n "${ORACLE_NO_XATTR:-}" ] && xattr=
  zfsfuse_start "$ORACLE_PID" $xattr || { echo "oracle: zfs-fuse did not start" >&2; return 1; }
}

oracle_stop() {
  # Only while this test holds the lock: called again (a teardown after the test's own stop),
  # the zfs-fuse running now, if any, is another suite's, whose pools must be left alone.
  [ -n "${ORACLE_LOCK_FD:-}" ] || return 0
  zfsfuse_stop "$ORACLE_PID"
  ZFSFUSE_LOCK_FD=$ORACLE_LOCK_FD
  zfsfuse_unlock
  ORACLE_LOCK_FD= ORACLE_PID=
}

# oracle_zdb_clean DIR POOL: zfs-fuse's zdb -e -p DIR -bcc POOL says "No leaks", finds no
# checksum error and exits 0. Prints its output on failure.
oracle_zdb_clean() {
  local out rc
  out=$("$ZF_ZDB" -e -p "$1" -bcc "$2" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] || ! grep -q 'No leaks' <<<"$out" || grep -qiE 'checksum error|zio error' <<<"$out"; then
    echo "zfs-fuse zdb -e -p $1 -bcc $2 (exit $rc):" >&2
    echo "$out" >&2
    return 1
  fi
}

# oracle_unbusy CMD...: runs one of zfs-fuse's commands that a mount still settling after a
# failed receive can refuse for a moment ("pool is busy", "dataset is busy"): tried again
# for up to 5 s while it says so; any other failure is returned at once.
oracle_unbusy() {
  local out rc _
  for _ in $(seq 25); do
    rc=0
    out=$("$@" 2>&1) || rc=$?
    [ $rc -eq 0 ] && return 0
    [[ $out == *"is busy"* ]] || break
    sleep 0.2
  done
  echo "$* (exit $rc): $out" >&2
  return $rc
}

# mountpoint_of BIN FS: where BIN's daemon (our zfs or zfs-fuse's) mounted FS (waits for
# the mount).
mountpoint_of() {
  local mp _
  mp=$("$1" get -H -o value mountpoint "$2")
  for _ in $(seq 50); do mountpoint -q "$mp" && break; sleep 0.1; done
  echo "$mp"
}

# zf_mountpoint FS: where zfs-fuse mounted FS.
zf_mountpoint() { mountpoint_of "$ZF_ZFS" "$1"; }

# tree_sum DIR: what two mounts of the same files must agree on (names, types, sizes,
# permission bits, link counts, symlink targets, contents); times are left out (a replayed
# write stamps the time of the replay, as in ZFS).
tree_sum() {
  (
    cd "$1" || exit 1
    find . -path ./.zfs -prune -o -printf '%P %y %s %m %n %l\n' | sort
    find . -path ./.zfs -prune -o -type f -print0 | sort -z | xargs -0 -r sha256sum
  )
}

# pool_suite_teardown (with ../lib/pool_helpers): the teardown of a suite that runs its own
# zfsd and may have left zfs-fuse running: zfsd stopped, dead FUSE mounts detached, zfs-fuse
# stopped and its lock released.
pool_suite_teardown() {
  cd /
  # A failed test shows what its zfsd logged (warnings and errors): a refusal at import, say.
  if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -s "${ZFSD_DIR:-/nonexistent}/zfsd.log" ]; then
    echo "--- the end of $ZFSD_DIR/zfsd.log:" >&2
    tail -40 "$ZFSD_DIR/zfsd.log" >&2
  fi
  zfsd_stop || true
  dead_mounts_clear
  oracle_stop 2>/dev/null || true
}
