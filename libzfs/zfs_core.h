// libzfs, layer 1: one call per zfsd operation (OpenZFS's libzfs_core idea). Never prints;
// returns the daemon's result or a Status carrying its errno and detail message.
// A daemon that cannot be reached gives kConnectError-marked statuses (see IsConnectError).
//
// Every operation the CLIs use has a typed call here, and the request nvlists are built only
// in zfs_core.cc (argument names as daemon/pool_ops.h, dataset_ops.h and ops_arc.h document
// them). A property table or config comes back as the daemon's NvList (as OpenZFS's libzfs
// hands out nvlists); a simple value comes back typed. Property lists the user gives (-o)
// are taken as an NvList of strings, as lzc_create takes an nvlist of props. `history` is
// the command line recorded in the pool's history (`zpool history`).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"
#include "libzfs/proto.h"

namespace uzfs::lzc {

// Sends {op, op_id, args} to zfsd at proto::SocketPath() and waits for the reply. The
// transport under the typed calls below; the CLIs do not call it themselves.
Result<NvList> Call(proto::OpId op, const NvList& args, const std::vector<int>& fds = {});

// True for the status Call returns when zfsd cannot be reached; its message is
// "cannot connect to zfsd at PATH: <reason>".
bool IsConnectError(const Status& s);

// ---- the daemon

Status Ping();
struct DaemonVersion {
  std::string version;  // "zfsd-X.Y.Z"; empty when the daemon did not say
  uint64_t spa_version = 0, zpl_version = 0;
};
Result<DaemonVersion> Version();

// ---- pools (zpool's)

// The importable pools found in dirs (default /dev): pools: array of configs. destroyed:
// the destroyed pools instead (zpool import -D).
Result<NvList> PoolScan(const std::vector<std::string>& dirs, bool destroyed = false);
Status PoolCreate(const std::string& name, const NvList& nvroot, const NvList& props,
                  const NvList& fsprops, const std::string& altroot, const std::string& history);
// pool: a name or a decimal guid; missing_log: zpool import -m; destroyed: -D. Returns the name the pool was imported under ("" when the
// daemon did not say).
Result<std::string> PoolImport(const std::string& pool, const std::vector<std::string>& devices,
                               const std::string& newname, bool force, const NvList& props,
                               const std::string& altroot, const std::string& history,
                               bool nomount = false, bool missing_log = false,
                               bool destroyed = false);
Status PoolExport(const std::string& name, bool force);
Status PoolDestroy(const std::string& name, bool force);
Result<NvList> PoolList();
Result<NvList> PoolStatus(const std::string& name);  // "" = every pool
Result<NvList> PoolGet(const std::string& name, const std::vector<std::string>& props);
Status PoolSet(const std::string& name, const std::string& prop, const std::string& value,
               const std::string& history);
Result<NvList> PoolHistory(const std::string& name);
Status PoolSync(const std::string& name);  // "" = every pool
// zpool add: nvroot as PoolCreate's (vdev_spec.h), its top-level vdevs joining the pool.
Status PoolAdd(const std::string& name, const NvList& nvroot, const std::string& history);
// zpool remove: the vdev of that guid (a separate log device) leaves the pool.
Status PoolRemove(const std::string& name, uint64_t guid, const std::string& history);
// zpool clear: guid names the vdev whose errors are cleared (0: the whole pool).
Status PoolClear(const std::string& name, uint64_t guid, const std::string& history);
// zpool events: the events after eid `after` (0: from the oldest zfsd keeps), at most a
// batch; more may follow (call again with `last`).
struct EventBatch {
  std::vector<NvList> events;
  uint64_t dropped = 0;  // events after `after` zfsd no longer had
  uint64_t last = 0;     // the cursor for the next call
};
Result<EventBatch> PoolEvents(uint64_t after);
// zpool events -c: how many were dropped.
Result<uint64_t> PoolEventsClear();
// zpool scrub [-s]: starts (stop: stops) the pool's scrub.
Status PoolScrub(const std::string& name, bool stop, const std::string& history);
// zpool offline / online (zfs_ioc_vdev_set_state): action "offline" (temporary: -t) or
// "online" (expand: -e, ZFS_ONLINE_EXPAND: the device's top-level vdev grows to the
// devices' size); an online whose device stays unusable answers with "faulted" set.
Result<NvList> PoolVdevState(const std::string& name, uint64_t guid, const std::string& action,
                             bool temporary, const std::string& history, bool expand = false);
// zpool attach / replace (zfs_ioc_vdev_attach): nvroot (vdev_spec.h) holds the one new
// leaf, guid the leaf it joins; replacing: a replacing vdev (zpool replace).
Status PoolAttach(const std::string& name, uint64_t guid, const NvList& nvroot, bool replacing,
                  const std::string& history);
// zpool detach (zfs_ioc_vdev_detach): the leaf of that guid leaves its mirror.
Status PoolDetach(const std::string& name, uint64_t guid, const std::string& history);
// zinject's device handlers (pool_inject): one added (error EIO or ENXIO, iotype 1 read,
// 2 write, 3 all, freq 1-100) → its id; one cleared by id; all listed (handlers: array of
// {id, pool, guid, error, iotype, freq}); a device faulted at once (zinject -A fault).
inline constexpr int kInjectRead = 1, kInjectWrite = 2, kInjectAll = 3;  // Pool::kInject*
// labels: a label fault (zinject -L) on those regions (vdev_inject.h's kLabel* bits).
Result<uint64_t> InjectAdd(const std::string& pool, uint64_t guid, int error, int iotype,
                           uint32_t freq, unsigned labels = 0);
inline constexpr unsigned kLabelPad1 = 1, kLabelPad2 = 2, kLabelNvlist = 4, kLabelUber = 8;  // vdev_inject.h's
Status InjectClear(uint64_t id);
Result<NvList> InjectList();
Status InjectFaultDevice(const std::string& pool, uint64_t guid);
// zinject -t data: reads of object's blocks at `level` above bytes [start, end] of
// filesystem fs fail with error (EIO or ECKSUM), freq percent of the time; flush_arc first
// (zinject -a). dnode (-t dnode): the meta-dnode's block holding object's dnode instead.
// Listed with {id, type "data", objtype (data, dnode, mos, ...), pool, objset, object,
// level, start, end, error, freq}.
Result<uint64_t> InjectData(const std::string& fs, uint64_t object, uint64_t start, uint64_t end, int error,
                            uint32_t freq, bool flush_arc, int level = 0, bool dnode = false);
// zinject -t mos|mosdir|metaslab|config|bplist|spacemap|errlog POOL: reads of the pool's MOS
// blocks of that type fail (a scrub's among them).
Result<uint64_t> InjectMos(const std::string& pool, const std::string& type, int error, uint32_t freq,
                           bool flush_arc);
// zinject -b objset:object:level:blkid POOL: reads of that one block fail (objset 0: the
// MOS), listed with objtype "raw".
Result<uint64_t> InjectRaw(const std::string& pool, uint64_t objset, uint64_t object, int level,
                           uint64_t blkid, int error, uint32_t freq, bool flush_arc);
// zinject -a alone: the ARC flushed.
Status InjectFlushArc();

// ---- datasets (zfs's)

// props: property name → value strings (-o), as the user gave them.
Status ZfsCreate(const std::string& name, const NvList& props, bool parents,
                 const std::string& history);
struct DestroyFlags {
  bool recursive = false;   // -r: descendants and their snapshots
  bool dependents = false;  // -R: and dependent clones
  bool force = false;       // -f: unmount busy filesystems
  bool dryrun = false;      // -n: destroy nothing, only say what would go
  bool defer = false;       // -d: a held or cloned snapshot is marked for deferred destroy
};
// The names destroyed (with dryrun: that would be), in order. A snapshot's error names the
// snapshot at fault (TakeFailedName).
Result<std::vector<std::string>> ZfsDestroy(const std::string& name, const DestroyFlags& flags,
                                            const std::string& history);
// The named datasets (every pool's when names is empty), with their descendants when
// recursive, at most depth levels below (-1: any): datasets: array of {name, type, props:
// {property → {value, source}}}.
Result<NvList> ZfsList(const std::vector<std::string>& names, bool recursive, int64_t depth);
Status ZfsSet(const std::string& name, const NvList& props, const std::string& history);
// received: zfs inherit -S (back to the received value).
Status ZfsInherit(const std::string& name, const std::string& property, bool recursive, bool received,
                  const std::string& history);
// names: "fs@snap", taken together in one txg. On a failure among several the message is
// "NAME: reason" for the snapshot at fault.
Status ZfsSnapshot(const std::vector<std::string>& names, bool recursive, const NvList& props,
                   const std::string& history);
// recursive: destroy the snapshots later than snapshot first.
Status ZfsRollback(const std::string& snapshot, bool recursive, const std::string& history);
Status ZfsClone(const std::string& origin, const std::string& name, const NvList& props,
                bool parents, const std::string& history);
Status ZfsPromote(const std::string& name, const std::string& history);
struct RenameFlags {
  bool parents = false;    // -p: create missing parents (filesystems)
  bool recursive = false;  // -r: the same snapshot of every descendant (snapshots)
  bool force = false;      // -f: unmount busy filesystems
};
Status ZfsRename(const std::string& name, const std::string& newname, const RenameFlags& flags,
                 const std::string& history);
struct Mount {
  std::string name, mountpoint;
};
// The mounted filesystems, sorted by name (so a child follows its parent).
Result<std::vector<Mount>> ZfsMounts();
// The filesystem of mounts holding a file on device dev (stat's st_dev): the one whose
// mountpoint is on that device (zfs_path_to_zhandle). Empty when none is.
std::string MountedFilesystemOf(uint64_t dev, const std::vector<Mount>& mounts);
// name must not be empty (an empty name asks the daemon for the list: ZfsMounts). options:
// zfs mount -o's temporary options, comma-separated (ro, rw, atime, noatime, exec, noexec,
// suid, nosuid, dev, nodev), for this mount only; with remount, for a mounted filesystem,
// in place. zfsd checks them: EINVAL "unsupported mount option 'x'".
Status ZfsMount(const std::string& name, const std::string& options = "");
// mount.zfs: name mounted at the absolute directory at, when its mountpoint is legacy (any,
// with zfsutil). EINVAL "not legacy" otherwise. sloppy: unknown options are skipped. fake:
// the dataset and the options are checked, nothing is mounted.
Status ZfsMountAt(const std::string& name, const std::string& options, const std::string& at,
                  bool zfsutil, bool sloppy = false, bool fake = false);
// name: a filesystem or a mount point.
Status ZfsUnmount(const std::string& name, bool force);
// zfs hold / zfs release (pool version 18): tag on (off) snapshot "fs@snap", with
// recursive of the snapshot of that name of every descendant too. Errors name the snapshot
// at fault (TakeFailedName). temphold: a temporary hold (zfs hold -t), which the pool's next
// import releases.
Status ZfsHold(const std::string& snapshot, const std::string& tag, bool recursive,
               const std::string& history, bool temphold = false);
Status ZfsRelease(const std::string& snapshot, const std::string& tag, bool recursive,
                  const std::string& history);
struct Hold {
  std::string tag;
  uint64_t time = 0;  // when it was taken, seconds since the epoch
};
// zfs holds: the snapshot's holds, by tag.
Result<std::vector<Hold>> ZfsHolds(const std::string& snapshot);
// zfs send: the stream of snapshot ("pool/fs@snap"; from: an incremental source, "@a" or
// "pool/fs@a", empty for a full stream) written by zfsd to out_fd (passed as SCM_RIGHTS);
// returns when the stream has ended, with its length. fromorigin (from empty): a clone's
// snapshot as the incremental from the clone's origin, flagged DRR_FLAG_CLONE (anything
// else whole), as zfs_ioc_send's zc_obj asks.
Result<uint64_t> ZfsSend(const std::string& snapshot, const std::string& from, int out_fd,
                         bool fromorigin = false);
// zfs receive: zfsd reads a stream from in_fd (SCM_RIGHTS) into target. Returns the daemon's
// result (toname, into, incremental, bytes, seconds, fs); an error's message is the whole
// line to print.
struct RecvOptions {
  bool force = false, dryrun = false, isprefix = false, istail = false;
};
Result<NvList> ZfsReceive(const std::string& target, const RecvOptions& o, int in_fd);
// zfs userspace / groupspace (zfs_userspace): the four tables of a filesystem or snapshot,
// id → bytes, in zfs_userquota_prop_t order (userused, userquota, groupused, groupquota).
// ENOTSUP while the dataset keeps no accounting (pool version below 15, not yet upgraded).
struct UserSpaceTables {
  std::map<uint64_t, uint64_t> props[4];
};
Result<UserSpaceTables> ZfsUserspace(const std::string& name);
// zfs allow / unallow (zfs_set_fsacl): acl {whokey: {perm: boolean}} granted on (unset: taken
// from) filesystem or volume name; a whokey with a boolean instead of an nvlist, on unset,
// takes all it has.
Status ZfsSetAcl(const std::string& name, bool unset, const NvList& acl);
// zfs allow FS (zfs_get_fsacl): {dataset: {whokey: {perm: boolean}}}, name first, then each
// ancestor with delegations.
Result<NvList> ZfsGetAcl(const std::string& name);
// An error of ZfsHold, ZfsRelease or ZfsDestroy that names the snapshot at fault: *name set
// to it and the status returned without it; other errors unchanged (*name untouched).
Status TakeFailedName(const Status& s, std::string* name);

// ---- the ARC (arcstat's)

// Every uint64 statistic by name (the ARC's, then the file service's; any may be absent).
Result<std::map<std::string, uint64_t>> ArcStats();
Status ArcSet(uint64_t arc_max);

}  // namespace uzfs::lzc
