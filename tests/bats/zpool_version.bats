#!/usr/bin/env bats
# zpool version: our userland version and zfsd's (OpenZFS prints zfs-X and zfs-kmod-X), its
# usage errors, and what it does with zfsd down or run by an unprivileged user.

load ../lib/zfsd_helpers

setup() {
  require_binaries
}

teardown() {
  zfsd_stop || true
  zfsd_public_cleanup
}

# The project version, from CMake (project(uzfs VERSION x.y.z)).
project_version() {
  sed -n 's/^project(uzfs VERSION \([0-9.]*\).*/\1/p' "$UZFS_ROOT/CMakeLists.txt"
}

@test "zpool version: uzfs-VERSION then zfsd-VERSION, exit 0" {
  zfsd_start
  v=$(project_version)
  [ -n "$v" ]
  zrun "$ZPOOL" version
  expect_rc 0
  expect_stdout "uzfs-$v
zfsd-$v"
  expect_stderr ""
}

@test "zpool version: zfsd down: our version, then the connect error, exit 1" {
  export UZFS_SOCKET=$BATS_TEST_TMPDIR/none.sock
  zrun "$ZPOOL" version
  expect_rc 1
  expect_stdout "uzfs-$(project_version)"
  expect_stderr "cannot connect to zfsd at $UZFS_SOCKET: No such file or directory"
}

@test "zpool version: any user may ask" {
  zfsd_public_start
  zrun as_nobody "$ZPOOL" version
  expect_rc 0
  expect_stdout "uzfs-$(project_version)
zfsd-$(project_version)"
}

@test "zpool version: bad usage is exit 2 with the usage on stderr" {
  zrun "$ZPOOL" version -x
  expect_rc 2
  expect_stdout ""
  expect_stderr $'invalid option \'x\'\nusage:\n\tversion'
  zrun "$ZPOOL" version extra
  expect_rc 2
  expect_stderr $'too many arguments\nusage:\n\tversion'
}

@test "zpool version --help: the usage and option table on stdout, exit 0" {
  zrun "$ZPOOL" version --help
  expect_rc 0
  expect_stderr ""
  [ "$(head -1 "$out")" = "Usage: zpool version" ]
  grep -qE '^ +--help ' "$out"
}
