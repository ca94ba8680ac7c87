# zfs-fuse's daemon, for every script that uses zfs-fuse: the Bats judge (oracle.bash), the
# pool makers (refpools.sh, mkpools_*.sh) and the benchmarks (bench/). Source it from bash.
# One zfs-fuse daemon runs on a machine at a time: callers hold /tmp/uzfs-zfsfuse.lock
# (zfsfuse_lock) from before zfsfuse_start until after zfsfuse_stop. Its binaries share our
# names, so they are called by full path.

ZFSFUSE_LOCK=/tmp/uzfs-zfsfuse.lock

# zfsfuse_lock: takes the machine's zfs-fuse lock (waiting for the holder) on a new
# descriptor, kept in ZFSFUSE_LOCK_FD; zfsfuse_unlock releases it.
zfsfuse_lock() {
  exec {ZFSFUSE_LOCK_FD}>"$ZFSFUSE_LOCK"
  flock "$ZFSFUSE_LOCK_FD"
}
zfsfuse_unlock() {
  [ -n "${ZFSFUSE_LOCK_FD:-}" ] && exec {ZFSFUSE_LOCK_FD}>&-
  ZFSFUSE_LOCK_FD=
}

# zfsfuse_start PIDFILE [OPTION...]: starts the daemon and returns once its zpool answers
# (10 s at most).
zfsfuse_start() {
  local pidf=$1 _
  shift
  /usr/sbin/zfs-fuse --pidfile "$pidf" --no-kstat-mount "$@" || return 1
  for _ in $(seq 50); do /usr/sbin/zpool list >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "zfs-fuse did not start" >&2
  return 1
}

# zfsfuse_stop PIDFILE: exports every pool it has imported and stops it, waiting for the
# exit. zfs-fuse's SIGTERM exit takes ~6 s even with nothing imported (its threads' timed
# waits); with every pool exported nothing of it is left to save (each export wrote its
# labels and zpool.cache), so it is SIGKILLed; a pool that would not export gets SIGTERM.
zfsfuse_stop() {
  local pidf=$1 p sig=TERM
  for p in $(/usr/sbin/zpool list -H -o name 2>/dev/null); do
    /usr/sbin/zpool export -f "$p" >/dev/null 2>&1 || true
  done
  [ -z "$(/usr/sbin/zpool list -H -o name 2>/dev/null)" ] && sig=KILL
  [ -f "$pidf" ] && { kill -"$sig" "$(cat "$pidf")" 2>/dev/null || true; }
  while zfsfuse_alive; do sleep 0.05; done
  rm -f "$pidf"
}

# zfsfuse_alive: a zfs-fuse process runs, a zombie not counted: a killed daemon has let go of
# its lock file, socket and mounts, and the reaping of a daemon (its parent is PID 1) can come
# a second or more later on some hosts.
zfsfuse_alive() {
  ps -C zfs-fuse -o stat= | grep -qv '^Z'
}
