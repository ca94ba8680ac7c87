#!/usr/bin/env bats
# The Debian packages uzfs and uzfs-dev (scripts/package.sh: CPack's DEB generator over the
# install rules of packaging/CMakeLists.txt), built from the build tree: their control fields,
# their contents, and an install into a scratch root (dpkg-deb -x; nothing goes into the real
# system, whose binaries other suites may be using) whose programs run from there, finding
# their library in the scratch root and nothing of the build tree.

load ../lib/pool_helpers

setup_file() {
  export OUT=$BATS_FILE_TMPDIR/out
  local debs
  debs=$("$UZFS_ROOT/scripts/package.sh" "$UZFS_BUILD" "$OUT")
  DEB=$(sed -n 1p <<<"$debs")
  DEV=$(sed -n 2p <<<"$debs")
  export DEB DEV
  export R=$BATS_FILE_TMPDIR/root
  mkdir -p "$R"
  dpkg-deb -x "$DEB" "$R"
  dpkg-deb -x "$DEV" "$R"
  export LIBDIR
  LIBDIR=$(dirname "$(cd "$R" && find . -name 'libuzfs_file.so.0' | head -1)")
  LIBDIR=$R/${LIBDIR#./}
}

teardown() {
  cd /
  zfsd_stop || true
  dead_mounts_clear
}

# owner PATH: the package that owns PATH, under any of its names (/lib and /usr/lib are one
# directory on a merged-/usr system, and dpkg knows one of them).
owner() {
  local p real=$(readlink -f "$1")
  for p in "$1" "$real" "${1#/usr}" "/usr$1" "${real#/usr}" "$(dirname "$1")/$(basename "$real")"; do
    dpkg -S "$p" 2>/dev/null | head -1 | cut -d: -f1 | grep . && return 0
  done
  return 0
}

@test "package: control fields (name, version, architecture, Depends from the binaries, Conflicts)" {
  [ "$(basename "$DEB")" = "uzfs_0.1.0_$(dpkg --print-architecture).deb" ]
  [ "$(dpkg-deb -f "$DEB" Package)" = uzfs ]
  [ "$(dpkg-deb -f "$DEB" Version)" = 0.1.0 ]
  [ "$(dpkg-deb -f "$DEB" Architecture)" = "$(dpkg --print-architecture)" ]
  [ "$(dpkg-deb -f "$DEB" Conflicts)" = "zfs-fuse, zfsutils-linux" ]
  dep=$(dpkg-deb -f "$DEB" Depends)
  names=$(echo "$dep" | tr ',' '\n' | sed 's/^ *//; s/ .*//; s/|.*//')
  echo "$names" | grep -qx fuse3
  # Every library the installed programs and library need comes from a package Depends
  # names (or is the package's own libuzfs_file).
  needed=$(find "$R" -type f -perm -u+x -o -type f -name '*.so*' | while read -r f; do
    readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
  done | sort -u)
  [ -n "$needed" ]
  for lib in $needed; do
    [ "$lib" = libuzfs_file.so.0 ] && continue
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
    [ -n "$path" ]
    pkg=$(owner "$path")
    [ -n "$pkg" ] || { echo "$lib ($path): no package owns it" >&2; return 1; }
    # By its name or a name it provides (libspdlog1.10 provides libspdlog1.10-fmt9).
    provides=$(dpkg-query -W -f='${Provides}' "$pkg" | tr ',' '\n' | sed 's/^ *//; s/ .*//')
    printf '%s\n' "$pkg" $provides | grep -qxF -f - <(echo "$names") ||
      { echo "$lib ($pkg) is not in Depends: $dep" >&2; return 1; }
  done
  # What the programs use (no liburing: uzfs does not link it).
  for p in libfuse3-3 libblkid1 libudev1 libfdisk1 libpmem1; do
    echo "$names" | grep -qx "$p"
  done
}

@test "package: contents (programs, library, every man page and completion, the units)" {
  dpkg-deb -c "$DEB" | awk '{ print $6 }' >"$BATS_TEST_TMPDIR/list"
  in_deb() { grep -qx "./$1" "$BATS_TEST_TMPDIR/list" || { echo "missing: $1" >&2; return 1; }; }
  for b in zpool zfs zdb zinject zfsd mount.zfs mount.fuse.zfs; do in_deb "usr/sbin/$b"; done
  [ "$(readlink "$R/usr/sbin/mount.fuse.zfs")" = mount.zfs ]
  for b in arcstat uzfs-map; do in_deb "usr/bin/$b"; done
  in_deb usr/lib/systemd/system/zfsd.service
  in_deb usr/lib/systemd/system/zfsd.socket
  # The library itself, not what building against it needs (uzfs-dev's).
  run grep -E 'include/|\.pc$|libuzfs_file\.so$' "$BATS_TEST_TMPDIR/list"
  [ "$status" -eq 1 ]
  for page in "$UZFS_ROOT"/man/man[178]/*.[178]; do
    sec=${page##*.}
    in_deb "usr/share/man/man$sec/$(basename "$page").gz"
  done
  for c in "$UZFS_ROOT"/completions/*; do in_deb "usr/share/bash-completion/completions/$(basename "$c")"; done
  # Nothing of the build or the tests (unit tests, fuzzers, benchmarks) is shipped.
  run grep -E 'test|fuzz|bench|fsx|featpool' "$BATS_TEST_TMPDIR/list"
  [ "$status" -eq 1 ]
  # Owned by root; programs executable.
  dpkg-deb -c "$DEB" | awk '$2 != "root/root" { print; bad = 1 } END { exit bad }'
  [ -x "$R/usr/sbin/zfsd" ]
  # The maintainer scripts are shell that parses.
  dpkg-deb -e "$DEB" "$BATS_TEST_TMPDIR/ctl"
  for s in postinst prerm postrm; do
    [ -x "$BATS_TEST_TMPDIR/ctl/$s" ]
    sh -n "$BATS_TEST_TMPDIR/ctl/$s"
  done
  grep -q 'systemctl daemon-reload' "$BATS_TEST_TMPDIR/ctl/postinst"
  # The shared library: ldconfig runs after the install; a shlibs entry for its users.
  grep -qx 'activate-noawait ldconfig' "$BATS_TEST_TMPDIR/ctl/triggers"
  grep -qx 'libuzfs_file 0 uzfs (= 0.1.0)' "$BATS_TEST_TMPDIR/ctl/shlibs"
}

@test "package: uzfs-dev holds the header, the .so link and the pkg-config file, and needs uzfs of its version" {
  [ "$(basename "$DEV")" = "uzfs-dev_0.1.0_$(dpkg --print-architecture).deb" ]
  [ "$(dpkg-deb -f "$DEV" Package)" = uzfs-dev ]
  [ "$(dpkg-deb -f "$DEV" Depends)" = "uzfs (= 0.1.0)" ]
  [ "$(dpkg-deb -f "$DEV" Section)" = libdevel ]
  [ -z "$(dpkg-deb -f "$DEV" Conflicts)" ]
  dpkg-deb -c "$DEV" | awk '$1 !~ /^d/ { print $6 }' | sort >"$BATS_TEST_TMPDIR/list"
  [ "$(cat "$BATS_TEST_TMPDIR/list")" = "./usr/include/uzfs/file.h
./usr/lib/libuzfs_file.so
./usr/lib/pkgconfig/uzfs_file.pc" ]
  [ "$(readlink "$R/usr/lib/libuzfs_file.so")" = libuzfs_file.so.0 ]
  export PKG_CONFIG_SYSROOT_DIR=$R PKG_CONFIG_LIBDIR=$R/usr/lib/pkgconfig
  [ "$(pkg-config --modversion uzfs_file)" = 0.1.0 ]
  [ "$(pkg-config --cflags uzfs_file | xargs)" = "-I$R/usr/include" ]
  [ "$(pkg-config --libs uzfs_file | xargs)" = "-L$R/usr/lib -luzfs_file" ]
}

@test "package: the installed programs run from the scratch root, with no reference to the build tree" {
  # No RUNPATH/RPATH (the build tree's is dropped at install), and no path of the build tree
  # in what the dynamic linker reads.
  for f in "$R"/usr/sbin/* "$R"/usr/bin/* "$LIBDIR"/libuzfs_file.so.0.*; do
    run readelf -d "$f"
    [ "$status" -eq 0 ]
    [[ $output != *RPATH* && $output != *RUNPATH* ]] || { echo "$f: $output" >&2; return 1; }
  done
  # The library resolves to the scratch root's copy; nothing is missing.
  run env LD_LIBRARY_PATH="$LIBDIR" ldd "$R/usr/bin/uzfs-map"
  [ "$status" -eq 0 ]
  [[ $output == *"libuzfs_file.so.0 => $LIBDIR/libuzfs_file.so.0"* ]]
  [[ $output != *"not found"* ]]
  [[ $output != *"$UZFS_BUILD"* ]]
  run env LD_LIBRARY_PATH="$LIBDIR" "$R/usr/bin/uzfs-map" --help
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == Usage:* ]]
  # zpool --help, zfs version with no daemon, then a daemon of the scratch root serving them.
  run "$R/usr/sbin/zpool" --help
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == "usage: zpool command args ..." ]]
  UZFS_SOCKET=$BATS_TEST_TMPDIR/none.sock run "$R/usr/sbin/zfs" version
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = uzfs-0.1.0 ]
  ZFSD=$R/usr/sbin/zfsd zfsd_start "$BATS_TEST_TMPDIR/d"
  run "$R/usr/sbin/zfs" version
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'uzfs-0.1.0\nzfsd-0.1.0')" ]
  truncate -s 128M "$BATS_TEST_TMPDIR/v0"
  "$R/usr/sbin/zpool" create -R "$BATS_TEST_TMPDIR/alt" tank "$BATS_TEST_TMPDIR/v0"
  "$R/usr/sbin/zfs" create tank/a
  echo hello >"$BATS_TEST_TMPDIR/alt/tank/a/f"
  [ "$(cat "$BATS_TEST_TMPDIR/alt/tank/a/f")" = hello ]
  run "$R/usr/sbin/zfs" list -H -o name
  [ "$output" = "$(printf 'tank\ntank/a')" ]
  "$R/usr/sbin/zpool" export tank
  run "$R/usr/sbin/zdb" -e -p "$BATS_TEST_TMPDIR" -bcc tank
  [ "$status" -eq 0 ]
  [[ $output == *"No leaks"* ]]
}

@test "package: man pages, completions and the systemd unit are usable as installed" {
  for page in "$R"/usr/share/man/man*/*.gz; do
    zcat "$page" | grep -q '^\.Dt ' || { echo "$page: not a man page" >&2; return 1; }
  done
  run env MANPATH="$R/usr/share/man" man -P cat zpool-create
  [ "$status" -eq 0 ]
  [[ $output == *"zpool create"* ]]
  for c in "$R"/usr/share/bash-completion/completions/*; do
    run bash -c "source '$c' && complete -p '$(basename "$c")'"
    [ "$status" -eq 0 ] || { echo "$c: $output" >&2; return 1; }
  done
  U=$R/usr/lib/systemd/system/zfsd.service
  grep -qx 'ExecStart=/usr/sbin/zfsd --foreground' "$U"
  grep -qx 'Type=notify' "$U"
  # systemd-analyze verify against this system's units, with ExecStart naming the scratch
  # root's zfsd (it checks that the program exists); a unit it finds fault with is reported
  # on its output even when the status is 0.
  S=$R/usr/lib/systemd/system/zfsd.socket
  grep -qx 'ListenStream=/run/uzfs/zfsd.sock' "$S"
  grep -qx 'Requires=zfsd.socket' "$U"
  grep -qx 'Also=zfsd.socket' "$U"
  if command -v systemd-analyze >/dev/null; then
    mkdir "$BATS_TEST_TMPDIR/units"
    sed "s|^ExecStart=/usr/sbin/zfsd|ExecStart=$R/usr/sbin/zfsd|" "$U" >"$BATS_TEST_TMPDIR/units/zfsd.service"
    cp "$S" "$BATS_TEST_TMPDIR/units/"
    run systemd-analyze verify --man=no "$BATS_TEST_TMPDIR/units/zfsd.socket" "$BATS_TEST_TMPDIR/units/zfsd.service"
    [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
    [ -z "$output" ] || { echo "$output" >&2; return 1; }
  fi
}

@test "zfsd: Type=notify readiness (READY=1 once the socket answers and the pools are mounted), STOPPING=1 on SIGTERM" {
  command -v python3 >/dev/null || skip "python3 needed for the notify socket"
  N=$BATS_TEST_TMPDIR/notify.sock
  python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(60)
out = open(sys.argv[2], "w")
for _ in range(2):
    out.write(s.recv(4096).decode() + "\n--\n"); out.flush()
' "$N" "$BATS_TEST_TMPDIR/got" &
  listener=$!
  for _ in $(seq 50); do [ -S "$N" ] && break; sleep 0.05; done
  NOTIFY_SOCKET=$N zfsd_start "$BATS_TEST_TMPDIR/d"
  for _ in $(seq 50); do grep -q READY=1 "$BATS_TEST_TMPDIR/got" 2>/dev/null && break; sleep 0.05; done
  grep -qx READY=1 "$BATS_TEST_TMPDIR/got"
  grep -qx "MAINPID=$ZFSD_PID" "$BATS_TEST_TMPDIR/got"
  zfsd_stop
  wait "$listener"
  grep -qx STOPPING=1 "$BATS_TEST_TMPDIR/got"
}

@test "package: zfsd.socket's activation starts zfsd on first use; a C program built with pkg-config against uzfs-dev writes and reads a file through it" {
  command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate needed"
  D=$BATS_TEST_TMPDIR/d
  mkdir -p "$D/state"
  export UZFS_SOCKET=$D/sock
  # What systemd does for zfsd.socket: listen, and start zfsd with the socket on fd 3 at the
  # first connection (--foreground, as zfsd.service runs it).
  systemd-socket-activate -l "$UZFS_SOCKET" "$R/usr/sbin/zfsd" --foreground --state-dir "$D/state" \
    --log-level info 2>"$D/zfsd.log" &
  ZFSD_PID=$!
  for _ in $(seq 50); do [ -S "$UZFS_SOCKET" ] && break; sleep 0.05; done
  # Nothing runs zfsd yet: the activator waits for a client.
  ! pgrep -f "$R/usr/sbin/zfsd" >/dev/null
  run "$R/usr/sbin/zpool" list -H
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  pgrep -f "$R/usr/sbin/zfsd" >/dev/null
  grep -q "listening on $UZFS_SOCKET (from the service manager)" "$D/zfsd.log"
  truncate -s 128M "$D/v0"
  "$R/usr/sbin/zpool" create -R "$D/alt" tank "$D/v0"
  cat >"$D/t.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <uzfs/file.h>
int main(int argc, char **argv) {
  uzfs_file *f = uzfs_open(argv[1], O_CREAT | O_RDWR, 0644);
  if (!f) { perror("uzfs_open"); return 1; }
  char buf[6] = {0};
  if (uzfs_pwrite(f, "hello", 5, 0) != 5 || uzfs_pread(f, buf, 5, 0) != 5) { perror("io"); return 1; }
  printf("%s\n", buf);
  return uzfs_close(f) != 0;
}
C
  export PKG_CONFIG_SYSROOT_DIR=$R PKG_CONFIG_LIBDIR=$R/usr/lib/pkgconfig
  # shellcheck disable=SC2046
  cc -o "$D/t" "$D/t.c" $(pkg-config --cflags --libs uzfs_file)
  run env LD_LIBRARY_PATH="$LIBDIR" "$D/t" "$D/alt/tank/f"
  [ "$status" -eq 0 ]
  [ "$output" = hello ]
  [ "$(cat "$D/alt/tank/f")" = hello ]
  "$R/usr/sbin/zpool" export tank
  # SIGTERM: zfsd stops and leaves the socket to its owner (systemd keeps listening on it).
  kill -TERM "$(pgrep -f "$R/usr/sbin/zfsd")"
  wait "$ZFSD_PID"
  ZFSD_PID=
  [ -S "$UZFS_SOCKET" ]
  grep -q stopped "$D/zfsd.log"
}
