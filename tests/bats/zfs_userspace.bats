#!/usr/bin/env bats
# User and group space accounting (pool version 15): the userused/groupused objects uzfs keeps
# at each sync, zfs userspace / groupspace, the {user,group}{used,quota}@ properties and
# quota enforcement. Judges: the files' own st_blocks (a file charges 512 bytes for its dnode
# plus its allocated bytes, which is what our st_blocks reports: (used + 256) / 512 + 1
# sectors), and zfs-fuse: in one pool it makes the same files on a filesystem of its own
# and must count them as we count ours; it reads our figures as we do, and its zdb -bcc
# finds the pool clean, also after a SIGKILL of zfsd in the middle of a workload.

load ../lib/pool_helpers
load ../lib/oracle

setup() {
  V=$BATS_TEST_TMPDIR/v
  ALT=$BATS_TEST_TMPDIR/alt
  mkvdevs "$V" 1 256M
}

teardown() {
  pool_suite_teardown
  [ -n "${PUB:-}" ] && rm -rf "$PUB"
  return 0
}

# populate DIR: the same tree on any filesystem: files of one block (their allocation does
# not depend on block pointers), owned by several users and groups.
populate() {
  local d=$1
  mkdir "$d/d" "$d/e"
  chown 1001:2001 "$d/d"
  chown 1003:2002 "$d/e"
  head -c 1000 /dev/zero | tr '\0' a >"$d/d/f1"
  chown 1001:2001 "$d/d/f1"
  head -c 100000 /dev/zero | tr '\0' b >"$d/d/f2"
  chown 1002:2001 "$d/d/f2"
  : >"$d/e/f3"
  chown 1001:2002 "$d/e/f3"
  ln -s target "$d/e/s"
  chown -h 1002:2002 "$d/e/s"
}

# blocks_of DIR uid|gid ID: what the files of ID under DIR (DIR included) charge, from
# their st_blocks.
blocks_of() {
  local flag=-uid
  [ "$2" = gid ] && flag=-gid
  find "$1" -path "$1/.zfs" -prune -o "$flag" "$3" -printf '%b\n' | awk '{ s += $1 } END { print s * 512 }'
}

# used TOOL DS user|group ID: userused@ID / groupused@ID of DS, exact.
used() { "$1" get -H -p -o value "$3used@$4" "$2"; }

@test "accounting: figures equal the files' st_blocks and zfs-fuse's for the same files" {
  zfsd_start
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  "$ZFS" create tank/fs
  populate "$ALT/tank/fs"
  "$ZPOOL" sync tank
  # (Root's figures also hold the hidden shares directory: zfs-fuse judges those.)
  declare -A ours
  ours[u0]=$(used "$ZFS" tank/fs user 0)
  ours[g0]=$(used "$ZFS" tank/fs group 0)
  [ "${ours[u0]}" -gt "$(blocks_of "$ALT/tank/fs" uid 0)" ]
  for id in 1001 1002 1003; do
    ours[u$id]=$(used "$ZFS" tank/fs user $id)
    [ "${ours[u$id]}" = "$(blocks_of "$ALT/tank/fs" uid $id)" ] || { echo "user $id: ${ours[u$id]}" >&2; return 1; }
  done
  for id in 2001 2002; do
    ours[g$id]=$(used "$ZFS" tank/fs group $id)
    [ "${ours[g$id]}" = "$(blocks_of "$ALT/tank/fs" gid $id)" ] || { echo "group $id: ${ours[g$id]}" >&2; return 1; }
  done
  # 1001 owns d, f1 and the empty f3: three dnodes and two blocks.
  [ "${ours[u1001]}" -gt 1536 ]
  [ "$(used "$ZFS" tank/fs user 4242)" = 0 ]
  # The table.
  run "$ZFS" userspace -H -p -n tank/fs
  [ "$status" -eq 0 ]
  [ "$output" = "POSIX User	0	${ours[u0]}	none
POSIX User	1001	${ours[u1001]}	none
POSIX User	1002	${ours[u1002]}	none
POSIX User	1003	${ours[u1003]}	none" ]
  run "$ZFS" groupspace -H -p -n -o name,used -S used tank/fs
  [ "$status" -eq 0 ]
  [ "$(head -1 <<<"$output" | cut -f2)" -ge "$(tail -1 <<<"$output" | cut -f2)" ]
  [ "$(wc -l <<<"$output")" = 3 ]
  "$ZPOOL" export tank
  # zfs-fuse: reads our figures, then counts the same files on a filesystem of its own
  # (without xattr support, which would give each chown'ed file an xattr directory).
  ORACLE_NO_XATTR=1 oracle_start
  "$ZF_ZPOOL" import -d "$V" -R "$ALT" tank
  "$ZF_ZFS" create tank/zf
  populate "$(zf_mountpoint tank/zf)"
  "$ZF_ZPOOL" export tank
  "$ZF_ZPOOL" import -d "$V" -R "$ALT" tank
  for k in "${!ours[@]}"; do
    t=user
    [[ $k == g* ]] && t=group
    [ "$(used "$ZF_ZFS" tank/fs $t "${k#?}")" = "${ours[$k]}" ] || { echo "zfs-fuse reads $k differently" >&2; return 1; }
    [ "$(used "$ZF_ZFS" tank/zf $t "${k#?}")" = "${ours[$k]}" ] || { echo "zfs-fuse counts $k: $(used "$ZF_ZFS" tank/zf $t "${k#?}") vs ours ${ours[$k]}" >&2; return 1; }
  done
  "$ZF_ZPOOL" export tank
  oracle_zdb_clean "$V" tank
  oracle_stop
  # And we read zfs-fuse's, and keep counting on top of them (a new zfsd: nothing cached).
  zfsd_stop
  zfsd_start
  "$ZPOOL" import -d "$V" -R "$ALT" tank
  [ "$(used "$ZFS" tank/zf user 1002)" = "${ours[u1002]}" ]
  rm "$ALT/tank/zf/d/f2"
  "$ZPOOL" sync tank
  [ "$(used "$ZFS" tank/zf user 1002)" = "$(blocks_of "$ALT/tank/zf" uid 1002)" ]
  [ "$(used "$ZFS" tank/zf group 2001)" = "$(blocks_of "$ALT/tank/zf" gid 2001)" ]
  judge tank
}

@test "accounting: chown, growth, truncate and removal move the figures" {
  zfsd_start
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  F=$ALT/tank/f
  head -c 300000 /dev/zero | tr '\0' x >"$F"
  chown 1001:2001 "$F"
  "$ZPOOL" sync tank
  a=$(used "$ZFS" tank user 1001)
  [ "$a" = "$(blocks_of "$ALT/tank" uid 1001)" ]
  [ "$a" -gt 300000 ]
  chown 1002 "$F"
  "$ZPOOL" sync tank
  [ "$(used "$ZFS" tank user 1001)" = 0 ]
  [ "$(used "$ZFS" tank user 1002)" = "$a" ]
  [ "$(used "$ZFS" tank group 2001)" = "$a" ]
  truncate -s 1000 "$F"
  "$ZPOOL" sync tank
  b=$(used "$ZFS" tank user 1002)
  [ "$b" -lt "$a" ] && [ "$b" = "$(blocks_of "$ALT/tank" uid 1002)" ]
  # A snapshot keeps the figures of its time.
  "$ZFS" snapshot tank@s
  rm "$F"
  "$ZPOOL" sync tank
  [ "$(used "$ZFS" tank user 1002)" = 0 ]
  [ "$(used "$ZFS" tank@s user 1002)" = "$b" ]
  run "$ZFS" userspace -H -n -o name tank@s
  [ "$output" = "0
1002" ]
  judge tank
}

@test "zfs userspace / groupspace / get / set: v23's words and exit codes" {
  zfsd_start
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  "$ZFS" create tank/fs
  touch "$ALT/tank/fs/x"
  chown 1001:2001 "$ALT/tank/fs/x"
  expect 0 "" "$ZFS" set userquota@1001=10M groupquota@2001=1G tank/fs
  expect 0 "" "$ZFS" set userquota@root=5K tank/fs
  run "$ZFS" get -H -o property,value,source userquota@1001,userquota@root,userquota@1002,groupquota@2001,userused@1001 tank/fs
  [ "$output" = "userquota@1001	10M	local
userquota@root	5K	local
userquota@1002	none	local
groupquota@2001	1G	local
userused@1001	512	local" ]
  [ "$("$ZFS" get -H -p -o value userquota@1001 tank/fs)" = 10485760 ]
  "$ZPOOL" sync tank
  [ "$(used "$ZFS" tank/fs user 1001)" = 512 ]
  # (zfs set synced: x is counted.)
  r=$(used "$ZFS" tank/fs user 0)
  run "$ZFS" userspace -n -p -H tank/fs
  [ "$output" = "POSIX User	0	$r	5120
POSIX User	1001	512	10485760" ] || { echo "$output" >&2; return 1; }
  run "$ZFS" userspace -n tank/fs
  [ "${lines[0]}" = "TYPE        NAME  USED  QUOTA" ] && [ "${lines[2]}" = "POSIX User  1001   512    10M" ] || { echo "$output" >&2; return 1; }
  run "$ZFS" userspace -H -n -o name,quota -t all -s type -S name tank/fs
  [ "$output" = "2001	1G
0	none
1001	10M
0	5K" ] || { echo "$output" >&2; return 1; }
  run "$ZFS" groupspace -H -n -o type,name tank/fs
  [ "$output" = "POSIX Group	0
POSIX Group	2001" ]
  expect 0 "" "$ZFS" set userquota@root=none tank/fs
  [ "$("$ZFS" get -H -o value userquota@0 tank/fs)" = none ]
  # Bad input.
  expect 1 "cannot set property for 'tank/fs': 'userused@1001' is readonly" "$ZFS" set userused@1001=1M tank/fs
  expect 1 "cannot set property for 'tank/fs': 'userquota@bob@example.com' has an invalid user/group name" \
    "$ZFS" set userquota@bob@example.com=1M tank/fs
  expect 1 "cannot set property for 'tank/fs': 'userquota@no-such-user-x' has an invalid user/group name" \
    "$ZFS" set userquota@no-such-user-x=1M tank/fs
  expect 1 "cannot set property for 'tank/fs': 'groupquota@12x' has an invalid user/group name" \
    "$ZFS" set groupquota@12x=1M tank/fs
  run "$ZFS" set userquota@1001=lots tank/fs
  [ "$status" -eq 1 ]
  [[ $output == "cannot set property for 'tank/fs': "* ]]
  [ "$("$ZFS" get -H -o value userquota@bob@example.com tank/fs)" = - ]
  expect 2 "wrong number of arguments
usage:
	userspace [-Hinp] [-o field[,...]] [-s field]... [-S field]... [-t type[,...]] filesystem|snapshot" "$ZFS" userspace
  run "$ZFS" userspace -o size tank/fs
  [ "$status" -eq 2 ] && [ "${lines[0]}" = "invalid field size" ]
  run "$ZFS" groupspace -t people tank/fs
  [ "$status" -eq 2 ] && [ "${lines[0]}" = "invalid type people" ]
  run "$ZFS" userspace -s size tank/fs
  [ "$status" -eq 2 ] && [ "${lines[0]}" = "invalid field size" ]
  expect 1 "cannot open 'tank/nope': dataset does not exist" "$ZFS" userspace tank/nope
  # zfs-fuse reads the quotas we set.
  "$ZPOOL" export tank
  oracle_start
  "$ZF_ZPOOL" import -d "$V" -R "$ALT" tank
  [ "$("$ZF_ZFS" get -H -p -o value userquota@1001 tank/fs)" = 10485760 ]
  [ "$("$ZF_ZFS" get -H -p -o value groupquota@2001 tank/fs)" = 1073741824 ]
  [ "$("$ZF_ZFS" get -H -o value userquota@0 tank/fs)" = none ]
  "$ZF_ZPOOL" export tank
  oracle_zdb_clean "$V" tank
}

@test "quotas: a user or group over its quota gets EDQUOT on write and create" {
  # The socket and the mount in a directory every user may enter (BATS_TEST_TMPDIR is not).
  PUB=$(mktemp -d /tmp/uzfs-uq.XXXXXX)
  chmod 755 "$PUB"
  zfsd_start "$PUB/zfsd"
  "$ZPOOL" create -m "$PUB/tank" tank "$V/d0"
  mkdir "$PUB/tank/u"
  chown 1001:2001 "$PUB/tank/u"
  as() { setpriv --reuid=1001 --regid=2001 --clear-groups "$@"; }
  "$ZFS" set userquota@1001=1M tank
  run as sh -c "head -c 1500000 /dev/zero >$PUB/tank/u/a"
  [ "$status" -eq 0 ]
  "$ZPOOL" sync tank
  [ "$(used "$ZFS" tank user 1001)" -ge 1048576 ]
  run as dd if=/dev/zero of="$PUB/tank/u/a" bs=4k count=1 seek=10 conv=notrunc status=none
  [ "$status" -ne 0 ] && [[ $output == *"Disk quota exceeded"* ]]
  run as touch "$PUB/tank/u/b"
  [ "$status" -ne 0 ] && [[ $output == *"Disk quota exceeded"* ]]
  # Root and other users write on; root may write to 1001's file (its owner is over).
  echo ok >"$PUB/tank/u/c"
  run dd if=/dev/zero of="$PUB/tank/u/a" bs=4k count=1 seek=10 conv=notrunc status=none
  [ "$status" -ne 0 ] && [[ $output == *"Disk quota exceeded"* ]]
  # Freeing space (as of the next sync) or lifting the quota lets it write again.
  rm "$PUB/tank/u/a"
  "$ZPOOL" sync tank
  run as touch "$PUB/tank/u/b"
  [ "$status" -eq 0 ]
  "$ZFS" set groupquota@2001=1K tank
  "$ZPOOL" sync tank
  run as touch "$PUB/tank/u/g"
  [ "$status" -ne 0 ] && [[ $output == *"Disk quota exceeded"* ]]
  "$ZFS" set groupquota@2001=none tank
  run as touch "$PUB/tank/u/g"
  [ "$status" -eq 0 ]
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
}

@test "crash: a SIGKILL of zfsd mid-workload leaves figures the files and zfs-fuse agree with" {
  zfsd_start
  "$ZPOOL" create -m "$BATS_TEST_TMPDIR/mnt" tank "$V/d0"
  "$ZFS" create tank/fs
  D=$BATS_TEST_TMPDIR/mnt/fs
  # The writers work in a directory of the filesystem: once zfsd is gone it does not exist.
  mkdir "$D/w"
  "$ZPOOL" sync tank
  # Txgs sync under the writers every 0.3 s.
  (while "$ZPOOL" sync tank 2>/dev/null; do sleep 0.3; done) &
  pids=($!)
  for k in 1 2 3; do
    (
      i=0
      while :; do
        u=$((1001 + (i % 3)))
        f=$D/w/$k.$((i % 7))
        { head -c $(((i * 7919) % 200000 + 1)) /dev/zero >"$f"; } 2>/dev/null || exit 0
        chown $u:$((2000 + k)) "$f" 2>/dev/null || exit 0
        if [ $((i % 5)) = 4 ]; then rm -f "$D/w/$k.$(((i + 3) % 7))" 2>/dev/null || exit 0; fi
        i=$((i + 1))
      done
    ) &
    pids+=($!)
  done
  sleep 2.5
  zfsd_kill
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  zfsd_start
  "$ZPOOL" list tank >/dev/null 2>&1 || "$ZPOOL" import -d "$V" tank
  "$ZPOOL" sync tank
  declare -A ours
  for id in 1001 1002 1003; do
    ours[u$id]=$(used "$ZFS" tank/fs user $id)
    [ "${ours[u$id]}" = "$(blocks_of "$D" uid $id)" ] || { echo "user $id: ${ours[u$id]} vs $(blocks_of "$D" uid $id)" >&2; return 1; }
  done
  for id in 2001 2002 2003; do
    ours[g$id]=$(used "$ZFS" tank/fs group $id)
    [ "${ours[g$id]}" = "$(blocks_of "$D" gid $id)" ] || { echo "group $id" >&2; return 1; }
  done
  [ "$(find "$D/w" -type f | wc -l)" -gt 0 ]
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  "$ZF_ZPOOL" import -d "$V" -R "$ALT" tank
  for k in "${!ours[@]}"; do
    t=user
    [[ $k == g* ]] && t=group
    [ "$(used "$ZF_ZFS" tank/fs $t "${k#?}")" = "${ours[$k]}" ] || { echo "zfs-fuse: $k" >&2; return 1; }
  done
}
