#!/usr/bin/env bats
# Guest tests on a real device-DAX: tests/vm/dax-vm.sh boots a qemu guest (software
# emulation) whose two emulated NVDIMMs live in files of the test's directory, one a raw
# namespace (/dev/pmem0, a block device) and one a devdax namespace (/dev/daxN.M). A test
# powers a guest off and boots another on the same files: what was on the persistent memory
# must still be there. Skipped (with the reason) where qemu, ndctl or Debian's kernel
# package cannot be had; scripts/deps.sh installs what it needs.

load ../lib/pool_helpers

VM=$UZFS_ROOT/tests/vm/dax-vm.sh

setup_file() {
  local why=
  for t in qemu-system-x86_64 ndctl cpio cc; do
    command -v "$t" >/dev/null || why="$why $t missing;"
  done
  [ -n "$why" ] || "$VM" -F >"$BATS_FILE_TMPDIR/fetch.log" 2>&1 ||
    why="no guest kernel: $(tail -1 "$BATS_FILE_TMPDIR/fetch.log")"
  [ -n "$why" ] || cc -O2 -static -o "$BATS_FILE_TMPDIR/daxio" "$UZFS_ROOT/tests/vm/daxio.c" ||
    why="cannot build daxio"
  # daxlog links libzfs's file API; dax-vm.sh puts the build's libuzfs_file.so in the guest.
  [ -n "$why" ] || cc -O2 -o "$BATS_FILE_TMPDIR/daxlog" "$UZFS_ROOT/tests/vm/daxlog.c" \
    -I "$UZFS_ROOT/libzfs/include" -L "$UZFS_BUILD/libzfs" -luzfs_file -Wl,-rpath,"$UZFS_BUILD/libzfs" ||
    why="cannot build daxlog"
  echo "$why" >"$BATS_FILE_TMPDIR/skip"
  # The start of a guest script that runs zfsd in the guest (zfsd_up starts it again, with
  # the same state directory, after a kill: $zfsd_pid).
  cat >"$BATS_FILE_TMPDIR/zfsd.sh" <<'G'
mkdir -p /run/zfsd
export UZFS_SOCKET=/run/zfsd/sock
zfsd_up() {
  zfsd --foreground --socket $UZFS_SOCKET --state-dir /run/zfsd --log-level warn 2>>/tmp/zfsd.log &
  zfsd_pid=$!
  i=0
  until zpool version >/dev/null 2>&1; do
    sleep 0.1; i=$((i + 1)); [ $i -lt 100 ] || { cat /tmp/zfsd.log; exit 9; }
  done
}
zfsd_up
G
}

setup() {
  local why
  why=$(cat "$BATS_FILE_TMPDIR/skip")
  [ -z "$why" ] || skip "$why"
  S=$BATS_TEST_TMPDIR/state
  G=$BATS_TEST_TMPDIR/guest.sh
}

# vm [-b FILE]...: runs the guest script $G on the state $S, with daxio, daxlog and the
# files given in the guest; the initramfs's common part is made once for the file.
vm() {
  run "$VM" -s "$S" -c "$BATS_FILE_TMPDIR/initrd" -t 240 -b "$BATS_FILE_TMPDIR/daxio" \
    -b "$BATS_FILE_TMPDIR/daxlog" "$@" "$G"
}

# guest RC: vm, wants exit status RC.
guest() {
  vm
  echo "$output"
  [ "$status" -eq "$1" ] || { echo "guest exit $status, want $1" >&2; return 1; }
}

# field NAME: the value of "NAME ..." in $output (the first word after it).
field() { sed -n "s/^$1 \([^ ]*\).*/\1/p" <<<"$output" | head -1; }

@test "dax guest: a block device /dev/pmem0 and a 2 MiB aligned device-DAX of the configured size, fuse loaded; after a power cut, a new guest finds the same namespaces and the bytes written to pmem and devdax; zfsd in the guest: a pool on /dev/pmem0 exported, powered off, imported by a new guest; same bytes, zdb -bcc clean" {
  cat >"$G" <<'G'
d=${UZFS_VM_DAX#/dev/}
[ -b /dev/pmem0 ] && echo "PMEM_BLOCK yes"
[ -c "$UZFS_VM_DAX" ] && echo "DAX_CHAR yes"
[ -c /dev/fuse ] && echo "FUSE_DEV yes"
grep -q fuse /proc/filesystems && echo "FUSE_FS yes"
echo "DAX_SIZE $(cat /sys/bus/dax/devices/$d/size)"
echo "DAX_ALIGN $(cat /sys/bus/dax/devices/$d/align)"
echo "PMEM_SIZE $(($(cat /sys/block/pmem0/size) * 512))"
echo "NDCTL_DAX_SIZE $(ndctl list -n namespace1.0 | sed -n 's/.*"size":\([0-9]*\).*/\1/p')"
set -e
dd if=/dev/urandom of=/tmp/a bs=1M count=3 2>/dev/null
dd if=/tmp/a of=/dev/pmem0 bs=1M seek=7 conv=fsync 2>/dev/null
daxio write "$UZFS_VM_DAX" 3145728 </tmp/a
echo "WROTE $(sha256sum </tmp/a)"
echo "UUIDS $(ndctl list | sed -n 's/.*"uuid":"\([^"]*\)".*/\1/p' | sort | tr '\n' ,)"
poweroff -f
G
  guest 100
  [[ $output == *"uzfs-vm: pmem=/dev/pmem0"* ]]
  dax1=$(sed -n 's/^uzfs-vm: dax=//p' <<<"$output")
  [[ $dax1 == /dev/dax[0-9]*.[0-9]* ]]
  grep -qx "dax=$dax1" "$S/devices"
  [ "$(field PMEM_BLOCK)" = yes ] && [ "$(field DAX_CHAR)" = yes ]
  [ "$(field FUSE_DEV)" = yes ] && [ "$(field FUSE_FS)" = yes ]
  [ "$(field DAX_ALIGN)" = 2097152 ]
  size=$(field DAX_SIZE)
  # 512 MiB less the label area and the namespace's page map, in whole 2 MiB units
  [ $((size % 2097152)) -eq 0 ] && [ "$size" -le $((512 << 20)) ] && [ "$size" -ge $((448 << 20)) ]
  [ "$(field NDCTL_DAX_SIZE)" = "$size" ]
  psize=$(field PMEM_SIZE)
  [ "$psize" -le $((512 << 20)) ] && [ "$psize" -ge $((480 << 20)) ]
  wrote=$(field WROTE) uuids=$(field UUIDS)
  [ ${#wrote} -eq 64 ] && [[ $uuids == *-*,*-*, ]]
  # The second guest reads them back, then zfsd makes a pool on /dev/pmem0 over them.
  { cat <<'G'; cat "$BATS_FILE_TMPDIR/zfsd.sh"; cat <<'G'; } >"$G"
echo "PMEM $(dd if=/dev/pmem0 bs=1M skip=7 count=3 2>/dev/null | sha256sum)"
echo "DAX $(daxio read "$UZFS_VM_DAX" 3145728 3145728 | sha256sum)"
echo "UUIDS $(ndctl list | sed -n 's/.*"uuid":"\([^"]*\)".*/\1/p' | sort | tr '\n' ,)"
G
set -e
zpool create tank /dev/pmem0
zfs create tank/fs
mp=$(zfs get -H -o value mountpoint tank/fs)
grep -q " $mp fuse" /proc/mounts && echo "MOUNTED $mp"
dd if=/dev/urandom of="$mp/f" bs=1M count=5 2>/dev/null
echo "SUM $(sha256sum <"$mp/f")"
zpool export tank
poweroff -f
G
  guest 100
  [ "$(sed -n 's/^uzfs-vm: dax=//p' <<<"$output")" = "$dax1" ]
  [ "$(field UUIDS)" = "$uuids" ]
  [ "$(field PMEM)" = "$wrote" ]
  [ "$(field DAX)" = "$wrote" ]
  sum=$(field SUM)
  [ ${#sum} -eq 64 ] && [ "$(field MOUNTED)" = /tank/fs ]
  { cat "$BATS_FILE_TMPDIR/zfsd.sh"; cat <<'G'; } >"$G"
set -e
zpool import -d /dev tank
echo "SUM $(sha256sum </tank/fs/f)"
zpool export tank
zdb -bcc -e -p /dev tank
G
  guest 0
  [ "$(field SUM)" = "$sum" ]
  [[ $output == *"No leaks (block sum matches space maps exactly)"* ]]
}

@test "dax guest: zpool create with a dax class on the real device-DAX; DAX files on it, one stored through a libzfs mapping (MAP_SYNC, persisted), one through the mount; exported, powered off, imported by a new guest with the same bytes; zdb -bcc clean" {
  { cat "$BATS_FILE_TMPDIR/zfsd.sh"; cat <<'G'; } >"$G"
set -e
d=${UZFS_VM_DAX#/dev/}
# A device-DAX another program maps is refused: daxio holds its mapping while its write to
# the pipe blocks (the reader waits for the create to be done first).
daxio read "$UZFS_VM_DAX" 0 33554432 | { until [ -e /tmp/tried ]; do sleep 0.1; done; cat >/dev/null; } &
holder=$!
i=0
until grep -q "$UZFS_VM_DAX" /proc/$(pidof daxio)/maps 2>/dev/null; do
  sleep 0.1; i=$((i + 1)); [ $i -lt 100 ] || break
done
if zpool create tank /dev/pmem0 dax "$UZFS_VM_DAX" 2>/tmp/e; then echo "MAPPEDRC 0"; else echo "MAPPEDRC $?"; fi
touch /tmp/tried
sed 's/^/MAPPED /' /tmp/e
wait $holder
zpool create tank /dev/pmem0 dax "$UZFS_VM_DAX"
zpool status tank | sed -n '/NAME/,/^$/p' | sed 's/^/STATUS /'
echo "VERSION $(zpool get -H -o value version tank)"
echo "DAXSIZE $(zpool list -Hpv -o name,size tank | sed -n "s|^  $d\t||p")"
echo "SYSSIZE $(cat /sys/bus/dax/devices/$d/size)"
# A device-DAX another pool holds is refused.
truncate -s 128M /tmp/f0
if zpool create t2 /tmp/f0 dax "$UZFS_VM_DAX" 2>/tmp/e; then echo "INUSERC 0"; else echo "INUSERC $?"; fi
sed 's/^/INUSE /' /tmp/e
zfs create tank/fs
echo hello >/tank/fs/h
zfs create -o dax=on tank/pm
truncate -s 6M /tank/pm/m
a0=$(arcstat -H -p -f datasz)
uzfs-map --write-pattern 0x5c --persist --sum /tank/pm/m | sed 's/^/MAPSUM /'
echo "ARCGROWTH $(( $(arcstat -H -p -f datasz) - a0 ))"
dd if=/dev/urandom of=/tmp/w bs=1M count=3 2>/dev/null
dd if=/tmp/w of=/tank/pm/w bs=1M conv=fsync 2>/dev/null
echo "WSUM $(sha256sum </tmp/w)"
echo "MSUM $(sha256sum </tank/pm/m)"
echo "DAXALLOC $(zpool list -Hpv -o name,allocated tank | sed -n 4p | cut -f2)"
zpool export tank
poweroff -f
G
  guest 100
  msum=$(field MSUM) wsum=$(field WSUM)
  [ ${#msum} -eq 64 ] && [ ${#wsum} -eq 64 ]
  [ "$(field MAPSUM)" = "$msum" ]
  [ "$(field ARCGROWTH)" = 0 ]
  [ "$(field DAXALLOC)" = $((10 << 20)) ]  # 3 + 2 extents of 2 MiB
  d=$(sed -n 's/^uzfs-vm: dax=//p' <<<"$output"); d=${d#/dev/}
  grep -q "^STATUS 	dax$" <<<"$output"
  grep -q "^STATUS 	  $d  *ONLINE  *0  *0  *0$" <<<"$output"
  sys=$(field SYSSIZE) dsz=$(field DAXSIZE)
  # The device less its labels (4 MiB in front, 512K at the end), in whole metaslabs of
  # whole 2 MiB extents.
  [ $((dsz % (2 << 20))) -eq 0 ] && [ "$dsz" -le $((sys - (4 << 20) - (512 << 10))) ]
  [ "$dsz" -gt $((sys * 9 / 10)) ]
  VERSION_SEEN=$(field VERSION)
  grep -q "^INUSE .*$d" <<<"$output"
  [ "$(field INUSERC)" = 1 ]
  [ "$(field MAPPEDRC)" = 1 ]
  grep -q "^MAPPED cannot create 'tank': cannot use '/dev/$d': mapped by process [0-9][0-9]*$" <<<"$output"
  { cat "$BATS_FILE_TMPDIR/zfsd.sh"; cat <<'G'; } >"$G"
set -e
zpool import tank
zpool status tank | sed -n '/NAME/,/^$/p' | sed 's/^/STATUS /'
echo "HELLO $(cat /tank/fs/h)"
echo "MSUM $(sha256sum </tank/pm/m)"
echo "WSUM $(sha256sum </tank/pm/w)"
zpool export tank
zdb -bcc -e -p /dev tank
G
  guest 0
  grep -q "^STATUS 	  $d  *ONLINE  *0  *0  *0$" <<<"$output"
  [ "$(field HELLO)" = hello ]
  [ "$(field MSUM)" = "$msum" ]
  [ "$(field WSUM)" = "$wsum" ]
  [[ $output == *"No leaks (block sum matches space maps exactly)"* ]]
  # A pool with a dax class is a feature-flags pool (version 5000, com.uzfs:dax).
  [ "$VERSION_SEEN" = - ]
}

# dax_test T FILTER [ENV...]: a guest script line running the unit tests of libcore/base/dax.h
# matching FILTER on the real device-DAX (UZFS_TEST_DAX), prefixed "T ".
dax_test() {
  local tag=$1 filter=$2
  shift 2
  echo "UZFS_TEST_DAX=\$UZFS_VM_DAX $* uzfs_base_test --gtest_filter='$filter' 2>&1 | sed 's/^/$tag /'"
}

# guest_dax_test RC: guest (above) with the unit test binary copied in too.
guest_dax_test() {
  local t=$UZFS_BUILD/tests/unit/uzfs_base_test
  [ -x "$t" ] || { echo "$t is not built" >&2; return 1; }
  vm -b "$t"
  echo "$output"
  [ "$status" -eq "$1" ] || { echo "guest exit $status, want $1" >&2; return 1; }
}

@test "dax guest: bytes written and persisted through a DaxFile survive a power cut right after; a new guest reads them; the DaxFile unit tests on the real device-DAX: probed from sysfs, mapped MAP_SYNC, written, persisted, read back; one writer; another program's mapping found" {
  seed=$((RANDOM % 200 + 1))
  { dax_test W DaxReal.PowerCutWrite UZFS_TEST_DAX_POWERCUT=$seed; echo "poweroff -f"; } >"$G"
  guest_dax_test 100
  grep -q '^W \[       OK \] DaxReal.PowerCutWrite' <<<"$output"
  # The same check with another seed must fail: the verification can tell. Then the other
  # DaxReal tests (they overwrite parts of the device, after the checks).
  { dax_test V DaxReal.PowerCutVerify UZFS_TEST_DAX_POWERCUT=$seed
    dax_test X DaxReal.PowerCutVerify UZFS_TEST_DAX_POWERCUT=$((seed + 1))
    dax_test T 'DaxReal.*-DaxReal.PowerCut*'; } >"$G"
  guest_dax_test 0
  grep -q '^V \[       OK \] DaxReal.PowerCutVerify' <<<"$output"
  grep -q '^X \[  FAILED  \] DaxReal.PowerCutVerify' <<<"$output"
  # Both ran (none skipped for want of a device) and passed.
  [ "$(grep -c '^T \[       OK \] DaxReal\.' <<<"$output")" -eq 2 ]
  grep -q '^T \[  PASSED  \] 2 tests\.$' <<<"$output"
  [ "$(grep -c '^T .*\(SKIPPED\|FAILED\)' <<<"$output")" -eq 0 ]
}

@test "dax guest: records stored and persisted through a libzfs mapping (MAP_SYNC) until a power cut at a random moment; a new guest imports every record reported persisted; then a SIGKILL of zfsd at a random moment under such stores: the client dies of SIGSEGV, zfsd started again imports the pool from its cache file with every record reported persisted; zdb -bcc clean" {
  seed=$((RANDOM * 32768 + RANDOM + 1)) kseed=$((RANDOM * 32768 + RANDOM + 1))
  # 0.5 to 2.4 s after the first record is persisted, for the cut and for the kill.
  delay=$((RANDOM % 20 + 5)) kdelay=$((RANDOM % 20 + 5))
  delay=$((delay / 10)).$((delay % 10)) kdelay=$((kdelay / 10)).$((kdelay % 10))
  { cat "$BATS_FILE_TMPDIR/zfsd.sh"; cat <<G; } >"$G"
set -e
zpool create tank /dev/pmem0 dax "\$UZFS_VM_DAX"
zfs create -o dax=on tank/pm
truncate -s 4M /tank/pm/log
echo START
# On the console through tee: the lines tee has not written yet go with the power.
daxlog store /tank/pm/log $seed | tee /tmp/p &
until grep -q '^PERSISTED' /tmp/p; do sleep 0.05; done
sleep $delay
poweroff -f
G
  vm
  echo "$output" | grep -v '^PERSISTED' || true
  [ "$status" -eq 100 ] || { echo "guest exit $status, want 100 (the power cut)"; false; }
  [[ $output == *START* ]]
  # The last number printed whole: the lines before a cut may be lost, never invented.
  last=$(sed -n 's/^PERSISTED \([0-9]*\)$/\1/p' <<<"$output" | tail -1)
  echo "persisted through record $last (seed $seed, cut after ${delay}s)"
  [ -n "$last" ] && [ "$last" -gt 0 ]
  # Not every record fits in the time: the cut came mid-store, not after the last one.
  [ "$last" -lt $(((4 << 20) / 64)) ]
  # The second guest checks the cut, then kills zfsd under a client storing into another
  # file: the library makes the mapping inaccessible when zfsd goes (uzfs/file.h), so the
  # client dies of SIGSEGV (128 + 11); the FUSE mounts of the dead zfsd are detached, as
  # zfsd_kill does on the host. The new zfsd (same state directory) imports tank from its
  # cache file.
  { cat "$BATS_FILE_TMPDIR/zfsd.sh"; cat <<G; } >"$G"
set -e
zpool import -f tank
daxlog verify /tank/pm/log $seed
daxlog verify /tank/pm/log $((seed + 1)) | sed 's/^/OTHER /'
truncate -s 4M /tank/pm/klog
daxlog store /tank/pm/klog $kseed >/tmp/k &
w=\$!
until grep -q '^PERSISTED' /tmp/k; do sleep 0.05; done
sleep $kdelay
kill -9 \$zfsd_pid
rc=0
wait \$w || rc=\$?
echo "KRC \$rc"
echo "KLAST \$(sed -n 's/^PERSISTED \([0-9]*\)\$/\1/p' /tmp/k | tail -1)"
umount -l /tank/pm 2>/dev/null || true
umount -l /tank 2>/dev/null || true
zfsd_up
zpool list -H -o name,health | sed 's/^/KPOOL /'
daxlog verify /tank/pm/klog $kseed | sed 's/^/K /'
daxlog verify /tank/pm/log $seed | sed 's/^/AGAIN /'
zpool export tank
zdb -bcc -e -p /dev tank
G
  vm
  echo "$output"
  [ "$status" -eq 0 ]
  have=$(field HAVE)
  [ -n "$have" ] && [ "$have" -ge "$last" ]
  # The verification tells another run's records apart.
  [ "$(field 'OTHER HAVE')" = 0 ]
  # The kill: the client died of SIGSEGV mid-store, after some records and before the last.
  klast=$(field KLAST)
  echo "persisted through record $klast (seed $kseed, kill after ${kdelay}s)"
  [ "$(field KRC)" = 139 ]
  [ -n "$klast" ] && [ "$klast" -gt 0 ] && [ "$klast" -lt $(((4 << 20) / 64)) ]
  grep -q "^KPOOL tank	ONLINE$" <<<"$output"
  khave=$(field 'K HAVE')
  [ -n "$khave" ] && [ "$khave" -ge "$klast" ]
  [ "$(field 'AGAIN HAVE')" = "$have" ]
  [[ $output == *"No leaks (block sum matches space maps exactly)"* ]]
}

@test "dax guest: zfs snapshot while records are stored through a libzfs mapping (MAP_SYNC) pauses it: each snapshot a prefix of the records, no gap; a rollback under the stores shows the last snapshot's records, the stores go on; zdb -bcc clean" {
  { cat "$BATS_FILE_TMPDIR/zfsd.sh"; cat <<'G'; } >"$G"
set -e
zpool create tank /dev/pmem0 dax "$UZFS_VM_DAX"
zfs create -o dax=on tank/pm
truncate -s 8M /tank/pm/log
daxlog store /tank/pm/log 7 >/tmp/persisted &
w=$!
sleep 1
for i in 1 2 3; do
  zfs snapshot tank/pm@s$i
  sleep 0.5
done
zfs rollback tank/pm@s3
sleep 0.5
kill $w
wait $w || true
# Copied out in large reads first: the mount reads a DAX file uncached, one round trip a read.
for i in 1 2 3; do
  cat /tank/pm/.zfs/snapshot/s$i/log >/tmp/s$i
  daxlog prefix /tmp/s$i 7 | sed "s/^/S$i /"
done
echo "LAST $(tail -1 /tmp/persisted | cut -d' ' -f2)"
cat /tank/pm/log >/tmp/live
daxlog prefix /tmp/live 7 | sed 's/^/LIVE /'
zfs destroy tank/pm@s1
zfs destroy tank/pm@s2
zfs destroy tank/pm@s3
zpool sync tank
zpool sync tank
echo "DAXALLOC $(zpool list -Hpv -o name,allocated tank | sed -n 4p | cut -f2)"
zpool export tank
zdb -bcc -e -p /dev tank
G
  vm
  echo "$output"
  [ "$status" -eq 0 ]
  prev=0
  for i in 1 2 3; do
    n=$(field "S$i HAVE")
    [ -n "$n" ] && [ "$n" -gt 0 ] && [ "$n" -ge "$prev" ]
    prev=$n
  done
  # After the rollback the file holds s3's records, zeros where those stored between s3 and
  # the rollback were, then the records stored after it (persisted up to LAST).
  last=$(field LAST) live=$(field "LIVE HAVE") gap=$(field "LIVE GAP AT")
  [ "$live" = "$prev" ]
  [ -n "$gap" ] && [ "$gap" -gt $((live + 1)) ] && [ "$last" -ge "$gap" ]
  [ "$(field 'S1 HAVE')" -lt "$last" ]
  [ "$(field DAXALLOC)" = $((8 << 20)) ]
  [[ $output == *"No leaks (block sum matches space maps exactly)"* ]]
}

@test "dax guest: a libzfs mapping (MAP_SYNC) lives through zfs rename of its dataset and a parent, a snapshot under the new name pauses it, a rollback past the file revokes it (SIGBUS); an incremental receive into a dataset with a mapped file resumes it on the received bytes; zdb -bcc clean" {
  { cat "$BATS_FILE_TMPDIR/zfsd.sh"; cat <<'G'; } >"$G"
set -e
zpool create tank /dev/pmem0 dax "$UZFS_VM_DAX"
zfs create tank/a
zfs create -o dax=on tank/a/pm
zfs snapshot tank/a/pm@empty
truncate -s 8M /tank/a/pm/log
daxlog store /tank/a/pm/log 7 >/tmp/p1 &
w=$!
sleep 1
zfs rename tank/a/pm tank/a/pm2
zfs rename tank/a tank/b
sleep 0.5
zfs snapshot tank/b/pm2@s1
sleep 0.5
cat /tank/b/pm2/.zfs/snapshot/s1/log >/tmp/s1
daxlog prefix /tmp/s1 7 | sed 's/^/S1 /'
zfs rollback -r tank/b/pm2@empty
rc=0
wait $w || rc=$?
echo "RC $rc"
echo "LAST $(tail -1 /tmp/p1 | cut -d' ' -f2)"
[ -e /tank/b/pm2/log ] || echo "LOG gone"
# An incremental received into a dataset whose file is mapped and stored into.
zfs create -o dax=on tank/src
dd if=/dev/urandom of=/tank/src/f bs=1M count=4 2>/dev/null
zfs snapshot tank/src@r1
zfs send tank/src@r1 | zfs receive tank/dst
dd if=/dev/urandom of=/tank/src/f bs=1M count=4 conv=notrunc 2>/dev/null
zfs snapshot tank/src@r2
echo "R1HEAD $(head -c 64 /tank/dst/f | sha256sum)"
daxlog store /tank/dst/f 9 >/tmp/p2 &
w=$!
sleep 1
zfs send -i r1 tank/src@r2 | zfs receive -F tank/dst
n=$(tail -1 /tmp/p2 | cut -d' ' -f2)
sleep 1
kill $w
wait $w || true
m=$(tail -1 /tmp/p2 | cut -d' ' -f2)
echo "AT_RECV $n"
echo "LAST2 $m"
echo "HEAD $(head -c 64 /tank/dst/f | sha256sum)"
echo "SRCHEAD $(head -c 64 /tank/src/f | sha256sum)"
# Past the slot being stored when it was killed: the received bytes.
echo "TAIL $(tail -c +$(((m + 1) * 64 + 1)) /tank/dst/f | sha256sum)"
echo "SRCTAIL $(tail -c +$(((m + 1) * 64 + 1)) /tank/src/f | sha256sum)"
zfs list -H -o name -t snapshot -r tank/dst | tr '\n' ' ' | sed 's/^/SNAPS /'
echo
zpool export tank
zdb -bcc -e -p /dev tank
G
  vm
  echo "$output"
  [ "$status" -eq 0 ]
  # Snapshotted under its new names: a prefix of the records, no gap.
  s1=$(field "S1 HAVE")
  [ -n "$s1" ] && [ "$s1" -gt 0 ]
  ! grep -q "^S1 GAP" <<<"$output"
  # Revoked by the rollback to a snapshot without the file: SIGBUS (128 + 7), after storing on.
  [ "$(field RC)" = 135 ]
  [ "$(field LAST)" -ge "$s1" ]
  [ "$(field LOG)" = gone ]
  # The receive: the mapping went on (records persisted after it), the file shows the
  # received bytes where the client did not store since.
  [ "$(field AT_RECV)" -gt 0 ] && [ "$(field LAST2)" -gt "$(field AT_RECV)" ]
  [ "$(field HEAD)" = "$(field SRCHEAD)" ] && [ "$(field HEAD)" != "$(field R1HEAD)" ]
  [ "$(field TAIL)" = "$(field SRCTAIL)" ]
  [[ $output == *"SNAPS tank/dst@r1 tank/dst@r2 "* ]]
  [[ $output == *"No leaks (block sum matches space maps exactly)"* ]]
}
