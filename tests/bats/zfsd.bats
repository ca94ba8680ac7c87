#!/usr/bin/env bats
# zfsd itself: options, start-up (socket directory, stale socket, a second zfsd refused),
# daemonizing (pid file, log file, start-up errors reach the caller), what clients see when
# it is down, hostile bytes on its socket, permissions by caller uid, SIGTERM/SIGINT (socket
# removed, exit 0), and the systemd unit in packaging/.

load ../lib/zfsd_helpers

setup() {
  require_binaries
  D=$BATS_TEST_TMPDIR
}

teardown() {
  zfsd_stop || true
  [ -n "${DAEMON_PID:-}" ] && kill -KILL "$DAEMON_PID" 2>/dev/null
  zfsd_public_cleanup
}

# wait_gone PID: waits (at most 10 s) until PID has exited.
wait_gone() {
  local _
  for _ in $(seq 200); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
  echo "process $1 still running" >&2
  return 1
}

# send_raw HEX...: connects to $UZFS_SOCKET, sends the bytes, prints what comes back (hex)
# within 2 s.
send_raw() {
  python3 - "$UZFS_SOCKET" "$@" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(bytes.fromhex("".join(sys.argv[2:])))
s.shutdown(socket.SHUT_WR)
s.settimeout(2)
data = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except (socket.timeout, ConnectionResetError):
    pass
print(data.hex())
EOF
}

@test "zfsd --help: usage and options on stdout, exit 0" {
  zrun "$ZFSD" --help
  expect_rc 0
  grep -q '^Usage: zfsd \[--foreground\] \[--socket PATH\] \[--state-dir DIR\] \[--pidfile PATH\] \[--log-level LEVEL\] \[--arc-max SIZE\] \[--dirty-max SIZE\] \[--txg-timeout SECONDS\] \[--scrub-delay USEC\] \[--device-poll SECONDS\] \[--dax-emulation\]$' "$out"
  for o in --foreground --socket --state-dir --pidfile --log-level --arc-max --dirty-max --txg-timeout --scrub-delay --device-poll --dax-emulation --help; do
    grep -qE "^ +$o( |$)" "$out" || { echo "--help lacks $o" >&2; return 1; }
  done
  expect_stderr ""
}

@test "zfsd: bad usage is exit 2 with the reason and the usage line" {
  usage=$(zfsd_usage)
  zrun "$ZFSD" --bogus
  expect_rc 2
  expect_stderr "zfsd: unrecognized option '--bogus'
$usage"
  zrun "$ZFSD" --socket
  expect_rc 2
  expect_stderr "zfsd: option '--socket' requires an argument
$usage"
  zrun "$ZFSD" --foreground --log-level loud
  expect_rc 2
  expect_stderr "zfsd: bad log level 'loud'
$usage"
  zrun "$ZFSD" extra
  expect_rc 2
  expect_stderr "zfsd: unexpected argument 'extra'
$usage"
  zrun "$ZFSD" --dirty-max 512K
  expect_rc 2
  expect_stderr "zfsd: dirty_max must be at least 1M
$usage"
  zrun "$ZFSD" --txg-timeout 0
  expect_rc 2
  expect_stderr "zfsd: txg_timeout must be 1 to 3600 seconds
$usage"
  zrun "$ZFSD" --device-poll 0
  expect_rc 2
  expect_stderr "zfsd: device_poll must be 1 to 3600 seconds
$usage"
}

@test "zfsd --foreground: creates the socket's directory, answers, SIGTERM removes the socket and exits 0" {
  sock=$D/deep/er/zfsd.sock
  export UZFS_SOCKET=$sock
  "$ZFSD" --foreground --socket "$sock" --state-dir "$D/state" --log-level info 2>"$D/log" 3>&- &
  pid=$!
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
  [ -S "$sock" ]
  [ "$(stat -c %a "$sock")" = 666 ]
  [ -d "$D/state" ]
  zrun "$ZPOOL" version
  expect_rc 0
  kill -TERM "$pid"
  status=0
  wait "$pid" || status=$?
  [ "$status" -eq 0 ]
  [ ! -e "$sock" ]
  grep -q 'listening on '"$sock" "$D/log"
  # Which device watch is in use: the monitor and its poll, or the poll alone.
  grep -qE 'device monitor: (udev|kernel|none) uevents.*; devices polled every 10 s|no device monitor .*; devices polled every 1 s' "$D/log"
}

@test "zfsd: SIGINT stops it as cleanly as SIGTERM" {
  zfsd_start
  sock=$UZFS_SOCKET
  kill -INT "$ZFSD_PID"
  status=0
  wait "$ZFSD_PID" || status=$?
  ZFSD_PID=
  [ "$status" -eq 0 ]
  [ ! -e "$sock" ]
}

@test "zfsd: SIGHUP is ignored" {
  zfsd_start
  kill -HUP "$ZFSD_PID"
  sleep 0.2
  zrun "$ZPOOL" version
  expect_rc 0
}

@test "zfsd: a second zfsd on the same socket is refused, the first keeps serving" {
  zfsd_start
  zrun "$ZFSD" --foreground --socket "$UZFS_SOCKET" --state-dir "$D/state2"
  expect_rc 1
  grep -qxF "zfsd: another zfsd is running on $UZFS_SOCKET" "$err"
  [ -S "$UZFS_SOCKET" ]
  zrun "$ZPOOL" version
  expect_rc 0
}

@test "zfsd: the socket a killed zfsd left behind is replaced" {
  zfsd_start
  sock=$UZFS_SOCKET
  zfsd_kill
  [ -S "$sock" ]
  zrun "$ZPOOL" version
  expect_rc 1
  grep -qF "cannot connect to zfsd at $sock: Connection refused" "$err"
  zfsd_start "$ZFSD_DIR"
  zrun "$ZPOOL" version
  expect_rc 0
}

@test "zfsd (daemonizing): returns once the socket answers, pid file and log file, SIGTERM cleans up" {
  sock=$D/d.sock
  export UZFS_SOCKET=$sock
  zrun "$ZFSD" --socket "$sock" --state-dir "$D/state" --pidfile "$D/zfsd.pid"
  expect_rc 0
  DAEMON_PID=$(cat "$D/zfsd.pid")
  kill -0 "$DAEMON_PID"
  [ "$(ps -o sid= -p "$DAEMON_PID" | tr -d ' ')" = "$DAEMON_PID" ]   # its own session
  zrun "$ZPOOL" version
  expect_rc 0
  # A second daemonizing zfsd reports the refusal to its caller.
  zrun "$ZFSD" --socket "$sock" --state-dir "$D/state2"
  expect_rc 1
  expect_stderr "zfsd: another zfsd is running on $sock"
  kill -TERM "$DAEMON_PID"
  wait_gone "$DAEMON_PID"
  DAEMON_PID=
  [ ! -e "$sock" ]
  [ ! -e "$D/zfsd.pid" ]
  grep -q 'listening on '"$sock" "$D/state/zfsd.log"
  grep -q 'stopped' "$D/state/zfsd.log"
}

@test "zfsd: relative --socket and --state-dir are taken from the caller's directory" {
  mkdir -p "$D/here"
  cd "$D/here"
  zrun "$ZFSD" --socket run/z.sock --state-dir st --pidfile z.pid
  expect_rc 0
  DAEMON_PID=$(cat "$D/here/z.pid")
  [ -S "$D/here/run/z.sock" ]
  [ -f "$D/here/st/zfsd.log" ]
  kill -TERM "$DAEMON_PID"
  wait_gone "$DAEMON_PID"
  DAEMON_PID=
}

@test "zfsd: UZFS_SOCKET is the default socket" {
  export UZFS_SOCKET=$D/env.sock
  "$ZFSD" --foreground --state-dir "$D/state" 2>"$D/log" 3>&- &
  ZFSD_PID=$!
  for _ in $(seq 100); do [ -S "$UZFS_SOCKET" ] && break; sleep 0.05; done
  zrun "$ZPOOL" version
  expect_rc 0
}

@test "clients: a dead daemon is 'cannot connect to zfsd at PATH', exit 1" {
  export UZFS_SOCKET=$D/nobody-home.sock
  zrun "$ZPOOL" import
  expect_rc 1
  expect_stdout ""
  expect_stderr "cannot connect to zfsd at $UZFS_SOCKET: No such file or directory"
  zrun "$ZPOOL" import -d "$D"
  expect_rc 1
  expect_stderr "cannot connect to zfsd at $UZFS_SOCKET: No such file or directory"
}

@test "zfsd: hostile bytes get error replies or a closed connection, and it keeps serving" {
  zfsd_start
  # "GARB" as a length is > 16 MiB: an EMSGSIZE reply (errno 90 in the XDR reply).
  reply=$(send_raw 4741524241474521)
  [ -n "$reply" ]
  # Length 6, body "hello!": not an nvlist, an ECORRUPT (117) reply.
  reply=$(send_raw 00000006 68656c6c6f21)
  [ -n "$reply" ]
  # A truncated frame, then the client stops: no reply, no crash.
  send_raw 00000100 0102 >/dev/null
  # Random bytes, many times.
  for _ in $(seq 20); do send_raw "$(head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n')" >/dev/null; done
  kill -0 "$ZFSD_PID"
  zrun "$ZPOOL" version
  expect_rc 0
}

@test "permissions: nobody may read (version, import listing) but not change (create)" {
  zfsd_public_start
  zrun as_nobody "$ZPOOL" version
  expect_rc 0
  [ "$(sed -n 2p "$out")" = "zfsd-$(sed -n 's/^uzfs-//p' "$out")" ]
  mkvdevs "$PUBLIC_DIR/v" 1
  chmod 755 "$PUBLIC_DIR/v"
  zrun as_nobody "$ZPOOL" create ptank "$PUBLIC_DIR/v/d0"
  expect_rc 1
  expect_stderr "cannot create 'ptank': permission denied"
  # Root, same request: it works, and nobody can list what root made.
  zrun "$ZPOOL" create ptank "$PUBLIC_DIR/v/d0"
  expect_rc 0
  zrun "$ZPOOL" export ptank
  expect_rc 0
  zrun as_nobody "$ZPOOL" import -d "$PUBLIC_DIR/v"
  expect_rc 0
  grep -qx '   pool: ptank' "$out"
}

@test "packaging: systemd-analyze verify accepts zfsd.service and zfsd.socket" {
  unit=$UZFS_ROOT/packaging/zfsd.service
  sock=$UZFS_ROOT/packaging/zfsd.socket
  [ -f "$unit" ] && [ -f "$sock" ]
  # Type=notify: zfsd sends READY=1 once the cache file's pools are mounted (package.bats
  # checks the notification itself, and the socket's activation).
  grep -qx 'Type=notify' "$unit"
  grep -qx 'KillSignal=SIGTERM' "$unit"
  grep -qx 'ExecStart=/usr/sbin/zfsd --foreground' "$unit"
  grep -qx 'StateDirectory=uzfs' "$unit"
  # The socket's directory is the socket unit's: a RuntimeDirectory= of the service would be
  # removed, socket and all, at every stop of zfsd.
  ! grep -q '^RuntimeDirectory=' "$unit"
  grep -qx 'Requires=zfsd.socket' "$unit"
  grep -qx 'ListenStream=/run/uzfs/zfsd.sock' "$sock"
  grep -qx 'SocketMode=0666' "$sock"
  command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
  # verify wants ExecStart's binary to exist: check a copy that runs the one we built (the
  # only line that differs). --man=no: the man pages of Documentation= are not installed
  # here (docs.bats checks them).
  mkdir -p "$D/unit"
  sed "s|^ExecStart=/usr/sbin/zfsd |ExecStart=$ZFSD |" "$unit" >"$D/unit/zfsd.service"
  cp "$sock" "$D/unit/"
  run systemd-analyze verify --man=no "$D/unit/zfsd.socket" "$D/unit/zfsd.service"
  echo "$output" >&2
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

@test "packaging: an /etc/fstab line of type zfs with x-systemd.requires=zfsd.service boots without an ordering cycle" {
  gen=/lib/systemd/system-generators/systemd-fstab-generator
  [ -x "$gen" ] && command -v systemd-analyze >/dev/null || skip "systemd's fstab generator and systemd-analyze needed"
  # The mount unit systemd makes at boot from the line mount.zfs(8) gives (SYSTEMD_FSTAB: the
  # generator's test hook), beside zfsd's two units: a dry run of starting each (verify)
  # reports any ordering cycle, as a boot would meet it (zfsd.service after local-fs.target,
  # the mount before it: "Found ordering cycle").
  mkdir -p "$D/gen/normal" "$D/gen/early" "$D/gen/late" "$D/unit"
  echo "tank/home  /mnt/uzfs-home  zfs  defaults,x-systemd.requires=zfsd.service  0  0" >"$D/fstab"
  SYSTEMD_FSTAB=$D/fstab SYSTEMD_PROC_CMDLINE="" "$gen" "$D/gen/normal" "$D/gen/early" "$D/gen/late"
  m=$D/gen/normal/mnt-uzfs\\x2dhome.mount
  [ -f "$m" ]
  grep -qx 'Requires=zfsd.service' "$m"
  grep -qx 'Before=local-fs.target' "$m"
  cp "$m" "$D/unit/"
  sed "s|^ExecStart=/usr/sbin/zfsd |ExecStart=$ZFSD |" "$UZFS_ROOT/packaging/zfsd.service" >"$D/unit/zfsd.service"
  cp "$UZFS_ROOT/packaging/zfsd.socket" "$D/unit/"
  run systemd-analyze verify --man=no "$D/unit/$(basename "$m")" "$D/unit/zfsd.service" "$D/unit/zfsd.socket"
  echo "$output" >&2
  [ "$status" -eq 0 ]
  [[ $output != *"ordering cycle"* ]]
  [ -z "$output" ]
}
