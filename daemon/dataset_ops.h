// The dataset operations of zfsd (the zfs command's), independent of the wire: each takes the
// request's argument nvlist and fills a result nvlist; errors carry OpenZFS's wording in the
// Status message (the part after "cannot <verb> '<name>': "). Registered in ops_dataset.cc.
// Every change is synced before the operation returns, and logged in the pool's history.
//
// Arguments (* = required):
//   zfs_create    name*, props (nvlist of strings), parents (bool, -p), history
//   zfs_destroy   name*, recursive (-r), dependents (-R), dryrun (-n), force (-f), defer
//                 (-d: snapshots only; a held or cloned one is marked for deferred
//                 destroy), history → destroyed: the names destroyed (or that would be), in
//                 order
//   zfs_list      names (string array; empty = every pool), recursive, depth (int64, -1 =
//                 no limit) → datasets: array of {name, type, props: nvlist of
//                 {property → {value, source, received}}}; a property is left out where it does not
//                 apply (origin of a non-clone); a mounted filesystem's readonly, atime,
//                 exec, setuid and devices are the mount's, source "temporary", where
//                 its options differ from the properties
//   zfs_set       name*, props* (nvlist of strings), history
//   zfs_inherit   name*, property*, recursive, received (-S: revert to the received value),
//                 history
//   zfs_snapshot  names* (string array, "fs@snap"), recursive, props, history
//   zfs_rollback  name* (snapshot), recursive (-r: destroy later snapshots), history; a
//                 mounted filesystem is rolled back in place under its mount
//   zfs_clone     origin* (snapshot), name*, props, parents, history
//   zfs_promote   name*, history
//   zfs_rename    name*, newname*, parents, recursive (snapshots), history
//   zfs_mount     name (empty: list), options (comma-separated: MountTable::ParseTempOptions;
//                 remount changes a mounted one in place), at (mount.zfs's directory),
//                 zfsutil, sloppy (unknown options skipped), fake (checks only) → mounts:
//                 array of {name, mountpoint}
//   zfs_unmount   name* (filesystem or mountpoint), force
//   zfs_hold      name* ("fs@snap"), tag*, recursive, history (dataset_holds.cc)
//   zfs_release   name*, tag*, recursive, history
//   zfs_holds     name* (a snapshot) → holds: nvlist {tag → creation time (uint64 seconds)}
//   zfs_send      name* ("fs@snap"), from (incremental source "@a" or "fs@a"); the stream's
//                 descriptor comes as SCM_RIGHTS → bytes: the stream's length
//   zfs_receive   target* (filesystem or snapshot), force (-F), dryrun (-n), isprefix (-d),
//                 istail (-e); the stream's descriptor as SCM_RIGHTS → toname (the stream's
//                 snapshot), into (the snapshot made), incremental, bytes, seconds, fs; an
//                 error's message is the whole line ("cannot receive ...: reason")
// zfs_hold, zfs_release and zfs_destroy's snapshot errors name the snapshot at fault first:
// the message is "NAME\treason" (a tab: no dataset name has one).
#pragma once

#include <map>
#include <string>

#include "daemon/mount_table.h"
#include "daemon/ops.h"
#include "daemon/pool_table.h"
#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"
#include "libcore/dmu/dmu_send_package.h"

namespace uzfs {

// dataset_namecheck (zfs_namecheck.c) in OpenZFS's words; snapshots allowed when snap_ok.
Status CheckDatasetName(const std::string& name, bool snap_ok);

// zfs create -V (dataset_volumes.cc): volsize (bytes) and volblocksize (bytes, default 8K)
// taken out of props; *volume when volsize is there. EINVAL with libzfs's words for a bad
// block size, or a volblocksize without a volsize.
Status TakeVolumeProps(std::map<std::string, std::string>* props, bool* volume,
                       uint64_t* volsize, uint64_t* volblocksize);
// EINVAL "'P' does not apply to datasets of this type" for a property a volume lacks.
Status CheckVolumeProp(const std::string& prop);

// zfs set volsize (zfs_valid_proplist): a volume whose refreservation equals its volsize
// keeps them equal — refreservation joins props unless it is set there too.
Status VolsizeReservation(Pool& p, const std::string& name, std::map<std::string, std::string>* props);

// The {user,group}{used,quota}@ property names.
bool IsUserQuotaProp(const std::string& k);

class RecvInput;  // a zfs receive's stream (dataset_recv.cc)

class DatasetOps {
 public:
  DatasetOps(PoolTable* table, MountTable* mounts) : t_(table), m_(mounts) {}
  Status Create(const NvList& args, NvList* result);
  Status Destroy(const NvList& args, NvList* result);
  Status List(const NvList& args, NvList* result);
  Status Set(const NvList& args, NvList* result);
  Status Inherit(const NvList& args, NvList* result);
  Status Snapshot(const NvList& args, NvList* result);
  Status Rollback(const NvList& args, NvList* result);
  Status Clone(const NvList& args, NvList* result);
  Status Promote(const NvList& args, NvList* result);
  Status Rename(const NvList& args, NvList* result);
  Status Mount(const NvList& args, NvList* result);
  Status Unmount(const NvList& args, NvList* result);
  Status Hold(const NvList& args, NvList* result);
  Status Release(const NvList& args, NvList* result);
  Status Holds(const NvList& args, NvList* result);
  // zfs_send (dataset_send.cc): the stream goes to session's descriptor, after the reply's
  // checks, without the ops mutex (Session::then).
  Status Send(Session* session, const NvList& args);
  // zfs_receive (dataset_recv.cc): the stream is read from session's descriptor the same way.
  Status Receive(Session* session, const NvList& args);
  // zfs userspace / groupspace and the {user,group}{used,quota}@ properties
  // (dataset_userspace.cc): "userused", "userquota", "groupused", "groupquota", each id → bytes.
  Status Userspace(const NvList& args, NvList* result);
  // zfs allow / unallow and zfs allow FS (dataset_deleg.cc): zfs_set_fsacl name*, unset,
  // acl* ({whokey: {perm: boolean}}); zfs_get_fsacl name* → acl: {dataset: {whokey:
  // {perm: boolean}}}, name first, then each ancestor with delegations.
  Status SetAcl(const NvList& args, NvList* result);
  Status GetAcl(const NvList& args, NvList* result);

  // The caller of the operation about to run (zfsd runs one at a time: ops.h).
  void set_caller(const Caller& c) { caller_ = c; }
  // What a caller other than root needs for operation op (zfs_secpolicy_* with
  // dsl_deleg_access; dataset_deleg.cc): OK, EPERM "permission denied", ECANCELED
  // "delegated administration is disabled on pool"; the dataset's own errors (ENOENT...)
  // pass through. OK for root.
  Status Secpolicy(uint64_t op, const NvList& args);
  // zfs userspace by a user: the tables the caller may not read (userused, userquota,
  // groupused, groupquota permissions) cut down to the caller's own ids.
  Status UserspaceFilter(const std::string& name, NvList* result);

 private:
  // dataset_deleg.cc: root, or perm delegated to the caller on name (below: as a
  // descendant of name inherits it).
  Status Access(const std::string& name, const std::string& perm);
  Status AccessAll(const std::string& name, std::initializer_list<const char*> perms);
  Status BelowAccess(const std::string& name, const std::string& perm);
  Status PropAccess(const std::string& name, const std::string& prop);
  Status CreateAccess(const std::string& name);
  Status MountAccess(const NvList& args);
  // The mount a new filesystem gets when a user made it: as MountIfAuto, under the rules of
  // a user's zfs mount (MountAccess; nosuid, nodev).
  Status UserMount(const std::string& fs);
  Caller caller_;  // set_caller's (guarded as the handlers are: the ops mutex)
  // Runs fn on the pool of dataset `name` ("no such pool 'x'" when absent).
  Status WithPool(const std::string& name, const std::function<Status(Pool&)>& fn);
  Status MountMade(const std::vector<std::string>& made);
  // zfs set userquota@ID / groupquota@ID (ID numeric; value a size or "none").
  Status SetUserQuotaProp(Pool& p, const std::string& name, const std::string& k,
                          const std::string& v);
  // Logs the history record (when given) and syncs.
  Status Finish(Pool& p, const NvList& args);
  // Rollback's mounted children of fs that would lose their mount point to snapshot snap.
  Status LostMountpoints(Pool& p, const std::string& fs, const std::string& snap,
                         std::vector<std::string>* lost);
  // in: the stream, read ahead in large pieces (dataset_recv.cc).
  Status ReceiveStream(RecvInput& in, const std::string& target, bool force, bool dryrun, bool isprefix,
                       bool istail, NvList* result);
  // sendfs: the filesystem zfs send named (a compound stream's top); "" for the substream's.
  // info: the compound stream's header (its filesystems' parentfromsnap guids, for finding
  // a renamed target by guid as zfs_receive_one does), null for a lone stream.
  Status ReceiveOne(RecvInput& in, const uint8_t* rec, const DrrRecord& begin, bool swap,
                    const std::string& target, bool force, bool dryrun, bool isprefix, bool istail,
                    NvList* result, const std::string& sendfs = "",
                    const ReplHeaderInfo* info = nullptr,
                    std::vector<std::string>* prop_warnings = nullptr);
  // create_parents for zfs receive -d: the filesystems between target and new filesystem
  // fs's parent that do not exist are made and mounted; EINVAL "cannot receive new
  // filesystem stream: failed to create ancestor 'X'".
  Status CreateRecvParents(const std::string& target, const std::string& fs);
  // dataset_recv_repl.cc: the target's tree under tofs as gather_nvlist describes a sender's.
  Result<std::vector<ReplFs>> GatherLocal(const std::string& tofs, const std::string& fromsnap,
                                          bool recursive);
  // guid_to_name: the snapshot with this guid below target, else (unless below_only)
  // anywhere in its pool; "".
  std::string GuidToName(const std::string& target, uint64_t guid, bool below_only = false);
  // recv_incremental_replication: destroys (force) and renames of the tree under tofs that
  // make it the stream's, in passes while they make progress; zfs receive -v's lines in
  // *log, errors to print in *errors. True when something could not be done (a soft error).
  bool RecvIncrementalReplication(const std::string& tofs, const ReplHeaderInfo& info, bool force,
                                  bool isprefix, std::vector<std::string>* log,
                                  std::vector<std::string>* errors);
  // The stream's properties set on a received filesystem or snapshot as received values
  // (zfs_ioc_recv's props: Pool::ReceiveProps). Each failure is a warning line in *warnings.
  void SetReceivedProps(const std::string& name, const NvList& props,
                        std::vector<std::string>* warnings);
  // zfs_ioc_recv's restore of origprops after a failed stream: fs's received and local
  // properties made what orig (DatasetProps before the stream's were set) lists; first: fs had
  // no "$hasrecvd" mark before (the mark is taken away again).
  void RestoreProps(const std::string& fs, const std::vector<Pool::DsProp>& orig, bool first);
  PoolTable* t_;
  MountTable* m_;
};

}  // namespace uzfs
