// zfs receive of an incremental stream into an existing filesystem (see pool.h): zfs-fuse
// dmu_send.c's recv_existing_check / recv_existing_sync (the stream goes into a temporary
// clone "fs/%snap" of the target's latest snapshot, flagged inconsistent) and
// dmu_recv_existing_end (dsl_dataset_clone_swap, the snapshot, the clone's destroy). The
// target is not touched until the swap, which is made with the snapshot in one txg: a crash
// or a bad stream leaves it as it was and a clone an import destroys (DestroyInconsistent).
#include <cerrno>
#include <ctime>

#include "libcore/dsl/dsl_dataset_write.h"
#include "libcore/dsl/dsl_dir_write.h"
#include "libcore/pool/pool.h"
#include "libcore/pool/pool_sinks.h"
#include "libcore/zap/zap_userused.h"

namespace uzfs {

namespace {
constexpr uint64_t kDsFlagInconsistent = 1;        // DS_FLAG_INCONSISTENT
constexpr uint64_t kDsFlagCiDataset = 1ULL << 16;  // DS_FLAG_CI_DATASET
}  // namespace

Result<bool> Pool::ModifiedSinceSnapLocked(uint64_t head_ds) {
  UZFS_ASSIGN(DslDatasetPhys h, LoadDataset(*mos_, head_ds));
  if (!h.prev_snap_obj || h.prev_snap_txg < kTxgInitial) return false;
  UZFS_ASSIGN(DslDatasetPhys s, LoadDataset(*mos_, h.prev_snap_obj));
  if (h.bp.birth <= s.creation_txg) return false;
  // Only the ZIL header may differ (it is reset in the head after a snapshot): compare the
  // meta-dnodes, as dsl_dataset_modified_since_lastsnap does.
  UZFS_ASSIGN(auto hos, ObjSet::Open(this, h.bp));
  UZFS_ASSIGN(auto sos, ObjSet::Open(this, s.bp));
  const DnodePhys &a = hos->meta_dnode(), &b = sos->meta_dnode();
  return !(a.blkptr == b.blkptr && a.maxblkid == b.maxblkid && a.nlevels == b.nlevels);
}

Result<Pool::RecvState> Pool::RecvBeginExisting(const std::string& fs, const std::string& snap,
                                                const DrrRecord& begin, bool force) {
  UZFS_TRY(Sync());  // the target's unsynced changes count as changes
  RecvState st;
  st.fs = fs;
  st.snap = snap;
  st.begin = begin;
  st.existing = true;
  st.force = force;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (readonly_) return Status::Error(EROFS, "pool is read-only");
    if (!failed_.ok()) return failed_;
    if (!ResolveFs(fs, &st.head_dir, &st.head_ds).ok())
      return Status::Error(ENOENT, "destination '" + fs + "' does not exist");
    UZFS_ASSIGN(DslDatasetPhys h, LoadDataset(*mos_, st.head_ds));
    // recv_existing_check, in its order.
    UZFS_ASSIGN(bool modified, ModifiedSinceSnapLocked(st.head_ds));
    if (modified && !force)
      return Status::Error(ETXTBSY, "destination " + fs + " has been modified\nsince most recent snapshot");
    const Status nodev = Status::Error(ENODEV, "most recent snapshot of " + fs + " does not\nmatch incremental source");
    if (!begin.fromguid) {
      // A full stream replaces a filesystem without snapshots: its clone is of $ORIGIN.
      if (h.prev_snap_txg >= kTxgInitial) return nodev;
      if (!h.prev_snap_obj)
        return Status::Error(ENOTSUP, "pool version is too old to replace a filesystem with a full stream");
    } else if (!h.prev_snap_obj || h.prev_snap_txg < kTxgInitial) {
      return nodev;
    }
    UZFS_ASSIGN(DslDatasetPhys latest, LoadDataset(*mos_, h.prev_snap_obj));
    if (begin.fromguid && latest.guid != begin.fromguid) {
      // Later snapshots that add nothing to the source are allowed.
      uint64_t obj = latest.prev_snap_obj;
      while (obj) {
        UZFS_ASSIGN(DslDatasetPhys sn, LoadDataset(*mos_, obj));
        if (sn.creation_txg < latest.bp.birth) return nodev;
        if (sn.guid == begin.fromguid) break;
        obj = sn.prev_snap_obj;
      }
      if (!obj) return nodev;
    }
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, st.head_dir));
    const std::string clone = "%" + snap;
    UZFS_ASSIGN(auto tmp, mos_zaps_->Lookup(dd.child_dir_zapobj, clone));
    UZFS_ASSIGN(auto dup, mos_zaps_->Lookup(h.snapnames_zapobj, snap));
    if (tmp || dup) return Status::Error(EEXIST, "destination already exists");
    // Mapped DAX files of the target do not stop the stream: the target is untouched until
    // the swap, which zfsd makes with their mappings paused (RecvEndExisting).
    // recv_existing_sync: the clone, inconsistent until the swap.
    uint64_t txg = txg_.open();
    uint64_t now = static_cast<uint64_t>(std::time(nullptr));
    UZFS_ASSIGN(st.dir, CreateDir(*mos_, *mos_zaps_, st.head_dir, clone, now));
    UZFS_ASSIGN(st.ds_obj, CreateDataset(*mos_, *mos_zaps_, st.dir, h.prev_snap_obj, txg, now));
    UZFS_ASSIGN(DslDatasetPhys c, LoadDataset(*mos_, st.ds_obj));
    c.flags |= kDsFlagInconsistent;
    if (begin.flags & kDrrFlagCiData) c.flags |= kDsFlagCiDataset;
    UZFS_TRY(StoreDataset(*mos_, st.ds_obj, c));
    if (c.bp.is_hole()) {
      // A clone of $ORIGIN, which has no objset here: recv_existing_sync's "actually created
      // a non-clone" case, an empty objset (the stream makes every object).
      OpenDataset od;
      ObjsetPolicy pol;
      if (version_ >= kSpaVersionUserspace) pol.userused = &ZapApplyUserUsed;
      od.os = ObjsetWriter::Create(this, kOstZfs, pol);
      od.os->set_cache(arc_, ArcObjKey{guid_, st.ds_obj, 0});
      od.zaps = std::make_unique<ZapStore>(od.os.get());
      od.objset_id = st.ds_obj;
      datasets_[st.ds_obj] = std::move(od);
    }
  }
  UZFS_TRY(Sync());  // the clone and its flag on disk before any of the stream is
  {
    std::lock_guard<std::mutex> l(mu_);
    DropDatasetLocked(st.ds_obj);  // reopened from disk with the dir's policy
  }
  return st;
}

Status Pool::RecvEndExisting(RecvState& st) {
  UZFS_TRY(Sync());  // the received objset, and the target's changes made meanwhile
  std::lock_guard<std::mutex> l(mu_);
  if (!failed_.ok()) return failed_;
  // dsl_dataset_clone_swap_check: unchanged still, unless forced (then rolled back).
  UZFS_ASSIGN(DslDatasetPhys h, LoadDataset(*mos_, st.head_ds));
  UZFS_ASSIGN(bool modified, ModifiedSinceSnapLocked(st.head_ds));
  if (modified && !st.force)
    return Status::Error(ETXTBSY, "destination " + st.fs + " has been modified\nsince most recent snapshot");
  // dmu_recv_existing_end suspends the mounted target around the swap (zfs_suspend_fs);
  // its mapped DAX files are paused by zfsd (SetDaxPaused), then resumed on the received
  // file or revoked.
  if (!dax_paused_.count(st.head_ds)) UZFS_TRY(CheckNoDaxMapsLocked(st.head_ds));
  for (uint64_t ds : {st.head_ds, st.ds_obj}) {
    DropDatasetLocked(ds);
    ForgetMappedLocked(ds);
    if (arc_) arc_->DropSpace(guid_, ds);
  }
  uint64_t txg = txg_.open();
  TxgBlockOps ops(this, txg);
  // The head's own blocks (-F, or only a ZIL reset since the snapshot) go first.
  if (h.bp.birth > h.prev_snap_txg) UZFS_TRY(RollbackSync(*mos_, *mos_zaps_, ops, this, st.head_ds));
  UZFS_TRY(CloneSwapSync(*mos_, *mos_zaps_, st.ds_obj, st.head_ds,
                         [&](const BlkPtr& bp) { return ops.Dsize(bp); }));
  ScanDsDestroyedLocked(st.ds_obj, 0);
  UZFS_TRY(DestroyHeadSync(*mos_, *mos_zaps_, ops, this, st.dir, "%" + st.snap).status());
  // dmu_recv_existing_end's recv_end_sync: the snapshot, with the stream's guid and time, in
  // the same txg as the swap.
  const uint64_t head = st.head_ds;
  const std::string snap = st.snap;
  const DrrRecord begin = st.begin;
  sync_tasks_.push_back([this, head, snap, begin](uint64_t t) -> Status {
    UZFS_ASSIGN(uint64_t snap_obj, SnapshotSync(*mos_, *mos_zaps_, head, snap, t, begin.creation_time));
    UZFS_ASSIGN(DslDatasetPhys s, LoadDataset(*mos_, snap_obj));
    s.guid = begin.toguid;
    s.flags &= ~kDsFlagInconsistent;
    UZFS_TRY(StoreDataset(*mos_, snap_obj, s));
    ScanDsSnapshottedLocked(head, snap_obj);
    return Status::Ok();
  });
  Status s = SyncLocked(kPoolStateActive);
  sync_tasks_.clear();
  return s;
}

}  // namespace uzfs
