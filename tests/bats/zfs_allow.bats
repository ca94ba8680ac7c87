#!/usr/bin/env bats
# Delegated administration (pool version 15): zfs allow / zfs unallow, their usage, messages
# and the output of `zfs allow FS` (OpenZFS's: v23's was a Python script zfs-fuse does not
# ship), and zfsd admitting callers other than root by delegation only: a user allowed
# snapshot,mount does that and nothing else; -l against -d, sets, everyone, groups,
# create-time permissions, unallow, delegation=off. zfs-fuse judges the disk side: its zdb
# -bcc finds no leak with our delegations (also after its own destroy of a filesystem that
# has some), its zdb dumps our ZAPs, and the create-time grant its zfs create writes is
# what we show. One private zfsd (socket in a directory every user may enter) per test.

load ../lib/pool_helpers
load ../lib/oracle

setup() {
  V=$BATS_TEST_TMPDIR/v
  ALT=$BATS_TEST_TMPDIR/alt
  mkvdevs "$V" 1 128M
  SOCKDIR=$(mktemp -d /tmp/uzfs-allow.XXXXXX)
  chmod 755 "$SOCKDIR"
  zfsd_start "$SOCKDIR"
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  "$ZFS" create tank/a
  "$ZFS" create tank/a/b
  "$ZFS" create tank/c
}

teardown() {
  pool_suite_teardown
  rm -rf "$SOCKDIR"
}

# as UID GID CMD...: CMD as that user and group, without supplementary groups.
as() { local u=$1 g=$2; shift 2; setpriv --reuid="$u" --regid="$g" --clear-groups -- "$@"; }
nobody() { as 65534 65534 "$@"; }
header() { local h="---- Permissions on $1 "; printf '%s%s\n' "$h" "$(printf -- '-%.0s' $(seq $((70 - ${#h}))))"; }

@test "zfs allow / unallow: usage and errors in OpenZFS's words" {
  run "$ZFS" allow
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "wrong number of parameters" ]
  [ "${lines[1]}" = "usage:" ]
  run "$ZFS" allow -u -g nobody snapshot tank/a
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "-u, -g, and -e are mutually exclusive" ]
  run "$ZFS" allow -s pset snapshot tank/a
  [ "${lines[0]}" = "invalid set name: missing '@' prefix" ]
  run "$ZFS" allow -c -l snapshot tank/a
  [ "${lines[0]}" = "invalid options combined with -c" ]
  run "$ZFS" allow -u no_such_user_here snapshot tank/a
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "invalid user no_such_user_here" ]
  run "$ZFS" allow -g no_such_group_here snapshot tank/a
  [ "${lines[0]}" = "invalid group no_such_group_here" ]
  run "$ZFS" allow no_such_who_here snapshot tank/a
  [ "${lines[0]}" = "invalid user/group no_such_who_here" ]
  expect 1 "cannot open 'tank/nope': dataset does not exist" "$ZFS" allow nobody snapshot tank/nope
  expect 1 "cannot open 'tank/nope': dataset does not exist" "$ZFS" allow tank/nope
  "$ZFS" snapshot tank/a@s
  expect 1 "cannot open 'tank/a@s': operation not applicable to datasets of this type" "$ZFS" allow tank/a@s
  expect 1 "cannot set permissions on 'tank/a': invalid permission" "$ZFS" allow nobody frobnicate tank/a
  expect 1 "cannot set permissions on 'tank/a': invalid permission" "$ZFS" allow nobody used tank/a
  # Nothing was written by the failures.
  expect 0 "" "$ZFS" allow tank/a
  run "$ZFS" unallow
  [ "$status" -eq 2 ]
  run "$ZFS" allow -r nobody snapshot tank/a
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "invalid option 'r'" ]
}

@test "zfs allow FS: what is set, where, by locality; sets, create time, everyone, groups; unallow" {
  "$ZFS" allow -u nobody snapshot,mount tank/a
  "$ZFS" allow -l -u daemon destroy tank/a
  "$ZFS" allow -d -g daemon hold,compression tank/a
  "$ZFS" allow -l everyone send tank/a
  "$ZFS" allow -e -d release tank/a
  "$ZFS" allow -s @pset create,rename tank
  "$ZFS" allow -s @pset @other tank
  "$ZFS" allow -c destroy,@pset tank
  "$ZFS" allow -g nogroup @pset,userprop tank
  "$ZFS" allow 4242 clone tank 2>/dev/null && return 1   # no such user or group
  "$ZFS" allow -u 4242 clone tank
  run "$ZFS" allow tank/a/b
  [ "$status" -eq 0 ]
  want="$(header tank/a)
Local permissions:
	user daemon destroy
	everyone send
Descendent permissions:
	group daemon compression,hold
	everyone release
Local+Descendent permissions:
	user nobody mount,snapshot
$(header tank)
Permission sets:
	@pset @other,create,rename
Create time permissions:
	@pset,destroy
Local+Descendent permissions:
	user (unknown: 4242) clone
	group nogroup @pset,userprop"
  [ "$output" = "$want" ] || { diff <(echo "$want") <(echo "$output") >&2; return 1; }
  # unallow: single permissions, a whole who, -l only, a set, create time, -r.
  "$ZFS" unallow -u nobody snapshot tank/a
  "$ZFS" unallow -l everyone tank/a
  "$ZFS" unallow -d -g daemon hold tank/a
  "$ZFS" unallow -s @pset @other tank
  "$ZFS" unallow -c destroy tank
  "$ZFS" unallow -u 4242 tank
  "$ZFS" allow -u nobody hold tank/a/b
  "$ZFS" unallow -r -u nobody hold tank/a
  run "$ZFS" allow tank/a/b
  want="$(header tank/a)
Local permissions:
	user daemon destroy
Descendent permissions:
	group daemon compression
	everyone release
Local+Descendent permissions:
	user nobody mount
$(header tank)
Permission sets:
	@pset create,rename
Create time permissions:
	@pset
Local+Descendent permissions:
	group nogroup @pset,userprop"
  [ "$output" = "$want" ] || { diff <(echo "$want") <(echo "$output") >&2; return 1; }
  # The changes are in the pool's history as v23 logs them.
  "$ZPOOL" history -i tank | grep -q "permission update.*ul\$65534 snapshot dataset = "
  "$ZPOOL" history -i tank | grep -q "permission who remove.*Ul\$4242 dataset = "
  # The ZAPs the unallows emptied were freed: zfs-fuse's zdb finds no leak.
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "a user allowed snapshot,mount on tank/a snapshots and mounts it, and does nothing else" {
  "$ZFS" allow nobody snapshot,mount tank/a
  # Before anything: refused. Afterwards every refusal leaves the pool as it was.
  expect 0 "" nobody "$ZFS" snapshot tank/a@mine
  "$ZFS" list -H -o name tank/a@mine
  expect 1 "cannot create snapshot 'tank/c@x': permission denied" nobody "$ZFS" snapshot tank/c@x
  expect 1 "cannot destroy 'tank/a@mine': permission denied" nobody "$ZFS" destroy tank/a@mine
  expect 1 "cannot destroy 'tank/a/b': permission denied" nobody "$ZFS" destroy tank/a/b
  expect 1 "cannot rename to 'tank/z': permission denied" nobody "$ZFS" rename tank/a tank/z
  expect 1 "cannot set property for 'tank/a': permission denied" nobody "$ZFS" set compression=on tank/a
  expect 1 "cannot create 'tank/a/new': permission denied" nobody "$ZFS" create tank/a/new
  expect 1 "cannot rollback to 'tank/a@mine': permission denied" nobody "$ZFS" rollback tank/a@mine
  expect 1 "cannot set permissions on 'tank/a': permission denied" nobody "$ZFS" allow nobody destroy tank/a
  run "$ZFS" list -H -o name -r tank
  [ "$output" = "$(printf 'tank\ntank/a\ntank/a/b\ntank/c')" ]
  [ "$("$ZFS" get -H -o value compression tank/a)" = off ]
  # Unmount and mount: on a directory it does not own, refused; on its own, done (nosuid,
  # nodev); root's mount.zfs path stays root's.
  # mount is inherited by tank/a/b (granted with -ld).
  expect 0 "" nobody "$ZFS" unmount tank/a/b
  "$ZFS" unmount tank/a
  mkdir -p "$ALT/tank/a"
  chown 0:0 "$ALT/tank/a"
  chmod 755 "$ALT/tank/a"
  expect 1 "cannot mount 'tank/a': permission denied" nobody "$ZFS" mount tank/a
  chown 65534:65534 "$ALT/tank/a"
  expect 0 "" nobody "$ZFS" mount tank/a
  [ "$("$ZFS" get -H -o value mounted tank/a)" = yes ]
  findmnt -rn -o OPTIONS "$ALT/tank/a" | grep -q nosuid
  findmnt -rn -o OPTIONS "$ALT/tank/a" | grep -q nodev
  "$ZFS" unmount tank/c
  mkdir -p "$ALT/tank/c"
  chown 65534:65534 "$ALT/tank/c"
  expect 1 "cannot mount 'tank/c': permission denied" nobody "$ZFS" mount tank/c
  "$ZFS" mount tank/c
  expect 0 "" nobody "$ZFS" unmount tank/a
  expect 1 "cannot unmount 'tank/c': permission denied" nobody "$ZFS" unmount tank/c
  # Pool changes stay root's.
  run nobody "$ZPOOL" set autoreplace=on tank
  [ "$status" -eq 1 ]
  [[ "$output" == *"permission denied"* ]]
  [ "$("$ZPOOL" get -H -o value autoreplace tank)" = off ]
  run nobody "$ZPOOL" export tank
  [ "$status" -eq 1 ]
  [[ "$output" == *"permission denied"* ]]
}

@test "inheritance: -l reaches the dataset only, -d its descendants only; sets, everyone, groups" {
  "$ZFS" allow -l nobody snapshot tank/a
  "$ZFS" allow -d nobody hold tank/a
  expect 0 "" nobody "$ZFS" snapshot tank/a@l
  expect 1 "cannot create snapshot 'tank/a/b@l': permission denied" nobody "$ZFS" snapshot tank/a/b@l
  "$ZFS" snapshot tank/a/b@s
  # hold is asked of the snapshot's filesystem (zfs_secpolicy_hold: zc_name): tank/a/b's
  # comes from -d, tank/a's would need -l.
  expect 1 "cannot hold 'tank/a@l': permission denied" nobody "$ZFS" hold t tank/a@l
  expect 0 "" nobody "$ZFS" hold t tank/a/b@s
  [ "$("$ZFS" get -H -o value userrefs tank/a/b@s)" = 1 ]
  expect 1 "cannot release 't' from 'tank/a/b@s': permission denied" nobody "$ZFS" release t tank/a/b@s
  # A set (naming another set), granted to a group: a user in that group (primary or
  # supplementary) has it; another does not.
  "$ZFS" allow -s @inner userprop tank
  "$ZFS" allow -s @outer @inner tank
  "$ZFS" allow -g daemon @outer tank
  expect 0 "" as 4000 1 "$ZFS" set my:prop=1 tank/c
  expect 1 "cannot set property for 'tank/c': permission denied" as 4000 4000 "$ZFS" set my:prop=2 tank/c
  expect 0 "" setpriv --reuid=4000 --regid=4000 --groups=1 -- "$ZFS" set my:prop=3 tank/c
  [ "$("$ZFS" get -H -o value my:prop tank/c)" = 3 ]
  # inherit -r is checked on each filesystem of the tree: -l on tank/a does not reach tank/a/b.
  "$ZFS" allow -l -u 4003 userprop tank/a
  "$ZFS" set my:prop=1 tank/a/b
  expect 1 "cannot inherit my:prop for 'tank/a': permission denied" as 4003 4003 "$ZFS" inherit -r my:prop tank/a
  [ "$("$ZFS" get -H -o value,source my:prop tank/a/b)" = "1	local" ]
  expect 0 "" as 4003 4003 "$ZFS" inherit my:prop tank/a
  # everyone.
  expect 1 "cannot create snapshot 'tank/c@e': permission denied" as 4001 4001 "$ZFS" snapshot tank/c@e
  "$ZFS" allow everyone snapshot tank/c
  expect 0 "" as 4001 4001 "$ZFS" snapshot tank/c@e
  # unallow takes it away again.
  "$ZFS" unallow everyone tank/c
  expect 1 "cannot create snapshot 'tank/c@f': permission denied" as 4001 4001 "$ZFS" snapshot tank/c@f
  # A user with allow may hand on what it has, never allow itself, and unallow only its own.
  "$ZFS" allow nobody allow,destroy,mount tank/c
  expect 0 "" nobody "$ZFS" allow -u 4002 destroy tank/c
  expect 1 "cannot set permissions on 'tank/c': permission denied" nobody "$ZFS" allow -u 4002 rename tank/c
  expect 1 "cannot set permissions on 'tank/c': permission denied" nobody "$ZFS" allow -u 4002 allow tank/c
  expect 1 "cannot set permissions on 'tank/c': permission denied" nobody "$ZFS" unallow -u 4002 tank/c
  expect 0 "" nobody "$ZFS" unallow -u nobody destroy tank/c
  expect 1 "cannot destroy 'tank/c@e': permission denied" nobody "$ZFS" destroy tank/c@e
}

@test "create-time permissions go to the creator; delegation=off refuses every user change" {
  "$ZFS" allow -u nobody create,mount tank/c
  "$ZFS" allow -c destroy,snapshot tank/c
  # Made by a user, it is mounted as a user's zfs mount would: only on a directory the
  # user owns.
  expect 1 "cannot create 'tank/c/other': filesystem successfully created, but not mounted
permission denied" nobody "$ZFS" create tank/c/other
  "$ZFS" unmount tank/c
  mkdir -p "$ALT/tank/c/mine"
  chown 65534:65534 "$ALT/tank/c/mine"
  expect 0 "" nobody "$ZFS" create tank/c/mine
  [ "$("$ZFS" get -H -o value mounted tank/c/mine)" = yes ]
  "$ZFS" unmount tank/c/mine
  run "$ZFS" allow tank/c/mine
  [ "${lines[0]}" = "$(header tank/c/mine)" ]
  [ "${lines[1]}" = "Local permissions:" ]
  [ "${lines[2]}" = "	user nobody destroy,snapshot" ]
  expect 0 "" nobody "$ZFS" snapshot tank/c/mine@s
  # Not on a sibling it did not create.
  expect 1 "cannot create snapshot 'tank/c@s': permission denied" nobody "$ZFS" snapshot tank/c@s
  "$ZPOOL" set delegation=off tank
  expect 1 "cannot create snapshot 'tank/c/mine@t': delegated administration is disabled on pool" \
    nobody "$ZFS" snapshot tank/c/mine@t
  expect 1 "cannot set permissions on 'tank/c': delegated administration is disabled on pool" \
    nobody "$ZFS" allow -u 4002 destroy tank/c
  # Root is not affected; the delegations stay and count again when it is back on.
  "$ZFS" snapshot tank/c/mine@root
  "$ZPOOL" set delegation=on tank
  expect 0 "" nobody "$ZFS" snapshot tank/c/mine@t
  # The create-time grants are local ones, and a snapshot sees descendant grants only: its
  # snapshots are not the user's to destroy (as in v23).
  expect 1 "cannot destroy 'tank/c/mine@t': permission denied" nobody "$ZFS" destroy tank/c/mine@t
  # Destroying a filesystem frees its delegation objects with it.
  "$ZFS" destroy -r tank/c/mine
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "zfs-fuse reads our delegations and writes ones we read; a SIGKILL keeps them" {
  "$ZFS" allow -u nobody snapshot,mount tank/a
  "$ZFS" allow -s @pset hold,send tank
  "$ZFS" allow -c create,snapshot tank
  "$ZFS" allow -g daemon @pset tank/c
  "$ZFS" set canmount=off tank/c  # zfs-fuse destroys it below: unmounted, never busy
  zfsd_kill
  zfsd_start "$SOCKDIR"
  "$ZPOOL" import -d "$V" -R "$ALT" tank
  run "$ZFS" allow tank/a
  [ "${lines[1]}" = "Local+Descendent permissions:" ]
  [ "${lines[2]}" = "	user nobody mount,snapshot" ]
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  # zfs-fuse's zdb sees the ZAPs as DSL permissions objects with our entries.
  run "$ZF_ZDB" -e -p "$V" -dddd tank
  [[ "$output" == *"DSL permissions"* ]]
  [[ "$output" == *'ul$65534 = '* ]]
  [[ "$output" == *'s-$@pset = '* ]]
  [[ "$output" == *'c-$ = '* ]]
  [[ "$output" == *'Gl$1 = '* ]]
  # zfs-fuse creates a filesystem under tank (its dsl_deleg_set_create_perms gives root, the
  # creator, the create-time permissions) and destroys tank/c with our delegations.
  # Its own zfs allow cannot be asked: v23's is pyzfs, which Debian's zfs-fuse lacks.
  run "$ZF_ZFS" allow tank
  [[ "$output" == *"pyzfs.py not found"* ]]
  "$ZF_ZPOOL" import -d "$V" -R "$ALT/zf" tank
  "$ZF_ZFS" create tank/byzf
  "$ZF_ZFS" destroy -r tank/c
  "$ZF_ZPOOL" export tank
  oracle_zdb_clean "$V" tank
  oracle_stop
  "$ZPOOL" import -d "$V" -R "$ALT" tank
  run "$ZFS" allow tank/byzf
  [ "${lines[0]}" = "$(header tank/byzf)" ]
  [ "${lines[1]}" = "Local permissions:" ]
  [ "${lines[2]}" = "	user root create,snapshot" ]
  [ "${lines[3]}" = "$(header tank)" ]
}
