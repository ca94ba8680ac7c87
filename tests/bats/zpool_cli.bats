#!/usr/bin/env bats
# zpool's command line, positive and negative, with OpenZFS's exact messages and exit codes
# (0 ok, 1 error, 2 usage). One private zfsd per test.

load ../lib/pool_helpers

setup() {
  V=$BATS_TEST_TMPDIR/v
  mkvdevs "$V" 6
  # A socket directory everyone may enter, for the non-root cases.
  SOCKDIR=$(mktemp -d /tmp/uzfs-cli.XXXXXX)
  chmod 755 "$SOCKDIR"
  zfsd_start "$SOCKDIR"
}

teardown() {
  zfsd_stop || true
  rm -rf "$SOCKDIR"
}

usage_of() { "$ZPOOL" "$1" --help | sed -n 's/^Usage: zpool /\t/p; s/^       zpool /\t/p'; }

@test "cli: no command, unknown command" {
  run "$ZPOOL"
  [ "$status" -eq 2 ]
  [[ "${lines[0]}" == "missing command" ]]
  [[ "$output" == *"where 'command' is one of the following:"* ]]
  run "$ZPOOL" frobnicate
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "unrecognized command 'frobnicate'" ]
}

@test "cli: a dead daemon is a clear error, exit 1" {
  export UZFS_SOCKET=$BATS_TEST_TMPDIR/nobody-here.sock
  expect 1 "cannot connect to zfsd at $UZFS_SOCKET: No such file or directory" "$ZPOOL" list
  expect 1 "cannot connect to zfsd at $UZFS_SOCKET: No such file or directory" "$ZPOOL" create tank "$V/d0"
  expect 1 "cannot connect to zfsd at $UZFS_SOCKET: No such file or directory" "$ZPOOL" status
}

@test "cli: create — usage errors" {
  expect 2 "invalid option 'q'
usage:
$(usage_of create)" "$ZPOOL" create -q tank "$V/d0"
  expect 2 "missing pool name argument
usage:
$(usage_of create)" "$ZPOOL" create
  expect 2 "missing vdev specification
usage:
$(usage_of create)" "$ZPOOL" create tank
  expect 2 "missing '=' for -o option
usage:
$(usage_of create)" "$ZPOOL" create -o failmode tank "$V/d0"
  expect 2 "missing argument for 'o' option
usage:
$(usage_of create)" "$ZPOOL" create tank "$V/d0" -o
}

@test "cli: create — bad vdev specifications" {
  expect 1 "cannot open '/nonexistent/disk': No such file or directory" "$ZPOOL" create tank /nonexistent/disk
  expect 1 "cannot open 'nosuchdisk': no such device in /dev
must be a full path or shorthand device name" "$ZPOOL" create tank nosuchdisk
  expect 1 "cannot use '$V': must be a block device or regular file" "$ZPOOL" create tank "$V"
  expect 1 "invalid vdev specification: mirror requires at least 2 devices" "$ZPOOL" create tank mirror "$V/d0"
  expect 1 "invalid vdev specification: raidz2 requires at least 3 devices" "$ZPOOL" create tank raidz2 "$V/d0" "$V/d1"
  expect 1 "cannot create 'tank': one or more vdevs refer to the same device, or one of
the devices is part of an active md or lvm device" "$ZPOOL" create tank mirror "$V/d0" "$V/d0"
  expect 1 "invalid vdev specification
use '-f' to override the following errors:
mismatched replication level: both mirror and raidz vdevs are present" \
    "$ZPOOL" create tank mirror "$V/d0" "$V/d1" raidz1 "$V/d2" "$V/d3"
  expect 1 "invalid vdev specification
use '-f' to override the following errors:
mismatched replication level: both 2-way and 3-way mirror vdevs are present" \
    "$ZPOOL" create tank mirror "$V/d0" "$V/d1" mirror "$V/d2" "$V/d3" "$V/d4"
  truncate -s 32M "$BATS_TEST_TMPDIR/small"
  expect 1 "cannot create 'tank': one or more devices is less than the minimum size (64M)" \
    "$ZPOOL" create tank "$BATS_TEST_TMPDIR/small"
  expect 0 "no pools available" "$ZPOOL" list
}

@test "cli: create — names and properties" {
  expect 1 "cannot create '1tank': name must begin with a letter" "$ZPOOL" create 1tank "$V/d0"
  expect 1 "cannot create 'mirror': name is reserved
pool name may have been omitted" "$ZPOOL" create mirror "$V/d0" "$V/d1"
  expect 1 "cannot create 'ta%nk': invalid character '%' in pool name" "$ZPOOL" create 'ta%nk' "$V/d0"
  expect 1 "cannot create 'tank': property 'foo' is not a valid pool property" "$ZPOOL" create -o foo=bar tank "$V/d0"
  expect 1 "cannot create 'tank': property 'failmode' must be one of 'wait | continue | panic'" \
    "$ZPOOL" create -o failmode=sometimes tank "$V/d0"
  expect 1 "cannot create 'tank': 'compression' must be one of 'on | off | lzjb | gzip | gzip-1 | gzip-2 | gzip-3 | gzip-4 | gzip-5 | gzip-6 | gzip-7 | gzip-8 | gzip-9 | zle'" \
    "$ZPOOL" create -O compression=fast tank "$V/d0"
  expect 0 "" "$ZPOOL" create -o failmode=continue -O compression=on tank "$V/d0"
  [ "$("$ZPOOL" get -H -o value failmode tank)" = continue ]
  expect 1 "cannot create 'tank': pool already exists" "$ZPOOL" create tank "$V/d1"
  expect 1 "invalid vdev specification
use '-f' to override the following errors:
$V/d0 is part of active pool 'tank'" "$ZPOOL" create other "$V/d0"
  expect 1 "invalid vdev specification
the following errors must be manually repaired:
$V/d0 is part of active pool 'tank'" "$ZPOOL" create -f other "$V/d0"
  "$ZPOOL" export tank
  expect 1 "invalid vdev specification
use '-f' to override the following errors:
$V/d0 is part of exported pool 'tank'" "$ZPOOL" create other "$V/d0"
  expect 0 "" "$ZPOOL" create -f other "$V/d0"
  run "$ZPOOL" import -d "$V"
  [ "$status" -eq 1 ]
  [ "$output" = "no pools available to import" ]
}

@test "cli: create -n prints the layout and creates nothing" {
  expect 0 "would create 'tank' with the following layout:

	tank
	  mirror
	    $V/d0
	    $V/d1
	  raidz2
	    $V/d2
	    $V/d3
	    $V/d4
	    $V/d5" "$ZPOOL" create -n -f tank mirror "$V/d0" "$V/d1" raidz2 "$V/d2" "$V/d3" "$V/d4" "$V/d5"
  expect 0 "no pools available" "$ZPOOL" list
  # Scripted output (-H) prints nothing, as zfs-fuse's zpool does.
  expect 0 "" "$ZPOOL" list -H
}

@test "cli: a caller who is not root may read but not change" {
  "$ZPOOL" create tank "$V/d0"
  nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
  # Devices the caller can see, so the refusal comes from zfsd, not from the file system.
  mkvdevs "$SOCKDIR/v" 1
  chmod 644 "$SOCKDIR/v/d0"
  chmod 755 "$SOCKDIR/v"
  expect 1 "cannot create 'other': permission denied" nobody "$ZPOOL" create other "$SOCKDIR/v/d0"
  expect 1 "cannot set property for 'tank': permission denied" nobody "$ZPOOL" set failmode=panic tank
  expect 1 "cannot export 'tank': permission denied" nobody "$ZPOOL" export tank
  expect 1 "cannot destroy 'tank': permission denied" nobody "$ZPOOL" destroy tank
  run nobody "$ZPOOL" list -H -o name
  [ "$status" -eq 0 ]
  [ "$output" = tank ]
  run nobody "$ZPOOL" get -H -o value failmode tank
  [ "$output" = wait ]
}

@test "cli: destroy and export" {
  expect 2 "missing pool argument
usage:
$(usage_of destroy)" "$ZPOOL" destroy
  expect 2 "too many arguments
usage:
$(usage_of destroy)" "$ZPOOL" destroy a b
  expect 1 "cannot open 'nope': no such pool" "$ZPOOL" destroy nope
  expect 2 "missing pool argument
usage:
$(usage_of export)" "$ZPOOL" export
  expect 1 "cannot open 'nope': no such pool" "$ZPOOL" export nope
  "$ZPOOL" create tank mirror "$V/d0" "$V/d1"
  expect 0 "" "$ZPOOL" destroy tank
  # A destroyed pool is not offered for import, and its devices are free again.
  run "$ZPOOL" import -d "$V"
  [ "$status" -eq 1 ]
  expect 0 "" "$ZPOOL" create tank2 "$V/d0"
}

@test "cli: list" {
  expect 0 "no pools available" "$ZPOOL" list
  expect 2 "invalid property 'foo'
usage:
$(usage_of list)" "$ZPOOL" list -o name,foo
  "$ZPOOL" create tank "$V/d0"
  "$ZPOOL" create tonk mirror "$V/d1" "$V/d2"
  run "$ZPOOL" list -H -o name,health
  [ "$output" = "$(printf 'tank\tONLINE\ntonk\tONLINE')" ]
  run "$ZPOOL" list -Hp -o name,size tank
  [ "$output" = "$(printf 'tank\t%s' "$("$ZPOOL" get -Hp -o value size tank)")" ]
  # Column headers name columns too, in any case.
  run "$ZPOOL" list -Hp -o NAME,alloc,Cap tank
  [ "$output" = "$(printf 'tank\t%s\t%s' "$("$ZPOOL" get -Hp -o value allocated tank)" \
    "$("$ZPOOL" get -Hp -o value capacity tank)")" ]
  run "$ZPOOL" list
  [ "${lines[0]}" = "NAME   SIZE  ALLOC   FREE  CKPOINT  EXPANDSZ   FRAG    CAP  DEDUP  HEALTH  ALTROOT" ] ||
    [[ "${lines[0]}" == NAME*SIZE*ALLOC*FREE*CKPOINT*EXPANDSZ*FRAG*CAP*DEDUP*HEALTH*ALTROOT ]]
  [ "${#lines[@]}" -eq 3 ]
  run "$ZPOOL" list -v -H -o name tonk
  [ "$output" = "$(printf 'tonk\n  mirror-0\n    %s\n    %s' "$V/d1" "$V/d2")" ]
  run "$ZPOOL" list nope
  [ "$status" -eq 1 ]
  [[ "$output" == *"cannot open 'nope': no such pool"* ]]
  run "$ZPOOL" list -j
  [[ "$output" == '{"output_version": {"command": "zpool list"'* ]]
  [[ "$output" == *'"tank": {"name": "tank", "type": "POOL", "state": "ONLINE"'* ]]
}

@test "cli: status" {
  expect 0 "no pools available" "$ZPOOL" status
  expect 1 "cannot open 'nope': no such pool" "$ZPOOL" status nope
  "$ZPOOL" create tank raidz1 "$V/d0" "$V/d1" "$V/d2"
  w=$(( ${#V} + 7 ))
  expect 0 "  pool: tank
 state: ONLINE
config:

$(printf '\t%-*s  %-8s %5s %5s %5s' "$w" NAME STATE READ WRITE CKSUM)
$(printf '\t%-*s  %-8s %5s %5s %5s' "$w" tank ONLINE 0 0 0)
$(printf '\t  %-*s  %-8s %5s %5s %5s' $((w - 2)) raidz1-0 ONLINE 0 0 0)
$(printf '\t    %-*s  %-8s %5s %5s %5s' $((w - 4)) "$V/d0" ONLINE 0 0 0)
$(printf '\t    %-*s  %-8s %5s %5s %5s' $((w - 4)) "$V/d1" ONLINE 0 0 0)
$(printf '\t    %-*s  %-8s %5s %5s %5s' $((w - 4)) "$V/d2" ONLINE 0 0 0)

errors: No known data errors" "$ZPOOL" status tank
  expect 0 "all pools are healthy" "$ZPOOL" status -x
  expect 0 "pool 'tank' is healthy" "$ZPOOL" status -x tank
  run "$ZPOOL" status -j
  [[ "$output" == *'"raidz1-0": {"name": "raidz1-0", "vdev_type": "raidz"'* ]]
}

@test "cli: get and set" {
  "$ZPOOL" create tank "$V/d0"
  expect 2 "missing property argument
usage:
$(usage_of get)" "$ZPOOL" get
  expect 2 "bad property list: property 'foo' is not a valid pool property
usage:
$(usage_of get)" "$ZPOOL" get foo tank
  expect 2 "invalid field 'bar'
usage:
$(usage_of get)" "$ZPOOL" get -o name,bar all tank
  expect 1 "cannot open 'nope': no such pool" "$ZPOOL" get all nope
  expect 0 "NAME  PROPERTY  VALUE  SOURCE
tank  failmode  wait   default" "$ZPOOL" get failmode tank
  # name: valid and read-only, as zfs-fuse's zpool answers it; not part of "all".
  expect 0 "NAME  PROPERTY  VALUE  SOURCE
tank  name      tank   -" "$ZPOOL" get name tank
  run "$ZPOOL" get -H -o property all tank
  [[ $'\n'$output$'\n' != *$'\n'name$'\n'* ]]
  expect 1 "cannot set property for 'tank': property 'name' is readonly" "$ZPOOL" set name=x tank
  expect 2 "missing property=value argument
usage:
$(usage_of set)" "$ZPOOL" set
  expect 2 "missing pool name
usage:
$(usage_of set)" "$ZPOOL" set failmode=panic
  expect 2 "missing value in property=value argument
usage:
$(usage_of set)" "$ZPOOL" set failmode tank
  expect 1 "cannot set property for 'tank': property 'failmode' must be one of 'wait | continue | panic'" \
    "$ZPOOL" set failmode=often tank
  expect 1 "cannot set property for 'tank': property 'size' is readonly" "$ZPOOL" set size=1G tank
  expect 1 "cannot set property for 'tank': property 'foo' is not a valid pool property" "$ZPOOL" set foo=1 tank
  expect 1 "cannot set property for 'tank': property 'altroot' can only be set during pool creation or import" \
    "$ZPOOL" set altroot=/mnt tank
  expect 1 "cannot set property for 'tank': property 'version' number 24 is invalid." "$ZPOOL" set version=24 tank
  expect 1 "cannot open 'nope': no such pool" "$ZPOOL" set failmode=panic nope
  expect 0 "" "$ZPOOL" set failmode=panic tank
  expect 0 "" "$ZPOOL" set comment=hello tank
  expect 0 "" "$ZPOOL" set autoreplace=on tank
  expect 0 "$(printf 'tank\tfailmode\tpanic\tlocal\ntank\tcomment\thello\tlocal\ntank\tautoreplace\ton\tlocal')" \
    "$ZPOOL" get -H failmode,comment,autoreplace tank
  # Persisted: export and import keep them.
  "$ZPOOL" export tank
  "$ZPOOL" import -d "$V" tank
  expect 0 "$(printf 'panic\nhello\non')" "$ZPOOL" get -H -o value failmode,comment,autoreplace tank
}

@test "cli: import" {
  expect 1 "no pools available to import" "$ZPOOL" import -d "$V"
  expect 1 "cannot import 'nope': no such pool available" "$ZPOOL" import -d "$V" nope
  "$ZPOOL" create tank mirror "$V/d0" "$V/d1"
  guid=$("$ZPOOL" get -H -o value guid tank)
  expect 1 "cannot import 'tank': a pool with that name already exists
use the form 'zpool import <pool | id> <newpool>' to give it a new name" "$ZPOOL" import -d "$V" tank
  "$ZPOOL" export tank
  w=$(( ${#V} + 7 ))
  expect 0 "   pool: tank
     id: $guid
  state: ONLINE
 action: The pool can be imported using its name or numeric identifier.
 config:

$(printf '\t%-*s  %s' "$w" tank ONLINE)
$(printf '\t  %-*s  %s' $((w - 2)) mirror-0 ONLINE)
$(printf '\t    %-*s  %s' $((w - 4)) "$V/d0" ONLINE)
$(printf '\t    %-*s  %s' $((w - 4)) "$V/d1" ONLINE)" "$ZPOOL" import -d "$V"
  # By numeric id under a new name.
  expect 0 "" "$ZPOOL" import -d "$V" "$guid" renamed
  expect 0 "renamed" "$ZPOOL" list -H -o name
  [ "$("$ZPOOL" get -H -o value guid renamed)" = "$guid" ]
  run "$ZPOOL" history renamed
  [[ "$output" == *"zpool import -d $V $guid renamed"* ]]
  # A device missing from a mirror: still importable, degraded.
  "$ZPOOL" export renamed
  mv "$V/d1" "$BATS_TEST_TMPDIR/away"
  "$ZPOOL" import -d "$V" renamed
  run "$ZPOOL" status -x
  [[ "$output" == *"state: DEGRADED"* ]]
}

@test "cli: import -o readonly=on: files readable, changes refused, nothing written" {
  A=$BATS_TEST_TMPDIR/alt
  "$ZPOOL" create -R "$A" tank "$V/d0"
  "$ZFS" create tank/fs
  echo hi >"$A/tank/f"
  echo there >"$A/tank/fs/g"
  "$ZPOOL" export tank
  before=$(sha256sum <"$V/d0")
  "$ZPOOL" import -d "$V" -o readonly=on -R "$A" tank
  [ "$(cat "$A/tank/f" "$A/tank/fs/g")" = "$(printf 'hi\nthere')" ]
  run touch "$A/tank/new"
  [ "$status" -ne 0 ]
  [[ "$output" == *"Read-only file system"* ]]
  [ "$("$ZFS" get -H -o value,source readonly tank/fs)" = "$(printf 'on\ttemporary')" ]
  # The pool's readonly is a read-only property (OpenZFS's PROP_READONLY): source "-".
  [ "$("$ZPOOL" get -H -o value,source readonly tank)" = "$(printf 'on\t-')" ]
  expect 1 "cannot create 'tank/x': pool is read-only" "$ZFS" create tank/x
  expect 1 "cannot create snapshot 'tank/fs@s': pool is read-only" "$ZFS" snapshot tank/fs@s
  "$ZPOOL" export tank
  # Neither the import nor the export wrote a byte (no history, no labels, no txg).
  [ "$(sha256sum <"$V/d0")" = "$before" ]
  "$ZPOOL" import -d "$V" -R "$A" tank
  [ "$("$ZPOOL" get -H -o value,source readonly tank)" = "$(printf 'off\t-')" ]
  echo more >>"$A/tank/f"
  [ "$(cat "$A/tank/f")" = "$(printf 'hi\nmore')" ]
}

@test "cli: history, sync and version" {
  expect 1 "cannot open 'nope': no such pool" "$ZPOOL" history nope
  expect 1 "cannot open 'nope': no such pool" "$ZPOOL" sync nope
  "$ZPOOL" create tank "$V/d0"
  "$ZPOOL" set listsnapshots=on tank
  expect 0 "" "$ZPOOL" sync tank
  expect 0 "" "$ZPOOL" sync
  run "$ZPOOL" history tank
  [ "${lines[0]}" = "History for 'tank':" ]
  [[ "${lines[1]}" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\.[0-9:]{8}\ zpool\ create\ tank\ $V/d0$ ]]
  [[ "${lines[2]}" =~ \ zpool\ set\ listsnapshots=on\ tank$ ]]
  expect 0 "uzfs-0.1.0
zfsd-0.1.0" "$ZPOOL" version
  expect 2 "too many arguments
usage:
$(usage_of version)" "$ZPOOL" version extra
}
