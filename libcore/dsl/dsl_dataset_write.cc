#include "libcore/dsl/dsl_dataset_write.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace uzfs {

namespace {

std::string Hex(uint64_t v) {
  char b[32];
  snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(v));
  return b;
}

}  // namespace

Result<uint64_t> HeadRefreservation(ObjsetWriter& mos, ZapStore& zaps, uint64_t ds_obj) {
  UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(mos, ds_obj));
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(mos, ds.dir_obj));
  if (dd.head_dataset_obj != ds_obj || !dd.props_zapobj) return uint64_t{0};
  // dsl_prop_get_dd for a property that does not inherit: the local value, else the
  // received one unless an explicit inherit entry hides it.
  UZFS_ASSIGN(auto local, zaps.Lookup(dd.props_zapobj, "refreservation"));
  if (local) return local->int_size == 8 && local->value.size() == 1 ? local->first() : 0;
  UZFS_ASSIGN(auto inherit, zaps.Lookup(dd.props_zapobj, "refreservation$inherit"));
  if (inherit) return uint64_t{0};
  UZFS_ASSIGN(auto recvd, zaps.Lookup(dd.props_zapobj, "refreservation$recvd"));
  if (recvd && recvd->int_size == 8 && recvd->value.size() == 1) return recvd->first();
  return uint64_t{0};
}

Result<uint64_t> OriginTxg(ObjsetWriter& mos, uint64_t dir_obj) {
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(mos, dir_obj));
  if (!dd.origin_obj) return uint64_t{0};
  UZFS_ASSIGN(DslDatasetPhys o, LoadDataset(mos, dd.origin_obj));
  return o.creation_txg;
}

void DatasetBlockAccounting::Born(const BlkPtr& bp, uint64_t dsize) {
  if (bp.is_hole()) return;
  int64_t u = static_cast<int64_t>(dsize), c = static_cast<int64_t>(bp.psize()),
          uc = static_cast<int64_t>(BpUcsize(bp));
  used_ += u, comp_ += c, uncomp_ += uc;
  fused_ += u, fcomp_ += c, funcomp_ += uc;
}

bool DatasetBlockAccounting::Kill(const BlkPtr& bp, uint64_t dsize) {
  if (bp.is_hole()) return false;
  int64_t u = static_cast<int64_t>(dsize), c = static_cast<int64_t>(bp.psize()),
          uc = static_cast<int64_t>(BpUcsize(bp));
  used_ -= u, comp_ -= c, uncomp_ -= uc;
  if (bp.birth > prev_snap_txg_) {
    fused_ -= u, fcomp_ -= c, funcomp_ -= uc;
    return true;
  }
  dead_.push_back(bp);
  dead_dsize_.push_back(dsize);
  return false;
}

Status DatasetBlockAccounting::Apply(ObjsetWriter& mos, ZapStore& zaps, uint64_t ds_obj,
                                     const BlkPtr& new_bp) {
  UZFS_ASSIGN(uint64_t res, HeadRefreservation(mos, zaps, ds_obj));
  UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(mos, ds_obj));
  if (ds.prev_snap_txg != prev_snap_txg_)
    return Status::Error(EIO, "dataset " + std::to_string(ds_obj) + " changed snapshots during its sync");
  ds.bp = new_bp;
  ds.used_bytes += static_cast<uint64_t>(used_);
  ds.compressed_bytes += static_cast<uint64_t>(comp_);
  ds.uncompressed_bytes += static_cast<uint64_t>(uncomp_);
  // parent_delta, summed over the births and frees: with a refreservation the dir was
  // charged for it already, up to the unique bytes it covers.
  int64_t charged = fused_;
  if (res) {
    uint64_t u0 = ds.unique_bytes, u1 = u0 + static_cast<uint64_t>(fused_);
    charged = static_cast<int64_t>(std::max(u1, res)) - static_cast<int64_t>(std::max(u0, res));
  }
  ds.unique_bytes += static_cast<uint64_t>(fused_);
  UZFS_TRY(DirDidUseSpace(mos, ds.dir_obj, kDdUsedHead, charged, fcomp_, funcomp_));
  UZFS_TRY(DirTransferSpace(mos, ds.dir_obj, fused_ - charged, kDdUsedRefrsrv, kDdUsedHead));
  if (!dead_.empty()) {
    UZFS_TRY(BplistAppend(mos, ds.deadlist_obj, dead_, dead_dsize_));
    UZFS_ASSIGN(uint64_t origin_txg, OriginTxg(mos, ds.dir_obj));
    UZFS_ASSIGN(DslDatasetPhys prev, LoadDataset(mos, ds.prev_snap_obj));
    bool prev_is_ours = prev.next_snap_obj == ds_obj;
    int64_t to_snap = 0;
    for (size_t i = 0; i < dead_.size(); i++) {
      // The previous snapshot now holds alone what it shared with the head only.
      if (prev_is_ours && dead_[i].birth > prev.prev_snap_txg) prev.unique_bytes += dead_dsize_[i];
      if (dead_[i].birth > origin_txg) to_snap += static_cast<int64_t>(dead_dsize_[i]);
    }
    UZFS_TRY(StoreDataset(mos, ds.prev_snap_obj, prev));
    UZFS_TRY(DirTransferSpace(mos, ds.dir_obj, to_snap, kDdUsedHead, kDdUsedSnap));
  }
  return StoreDataset(mos, ds_obj, ds);
}

Result<uint64_t> SnapshotSync(ObjsetWriter& mos, ZapStore& zaps, uint64_t head_obj,
                              const std::string& snapname, uint64_t txg, uint64_t now) {
  UZFS_ASSIGN(DslDatasetPhys head, LoadDataset(mos, head_obj));
  if (head.prev_snap_txg >= txg)
    return Status::Error(EAGAIN, "dataset already has a snapshot of this txg");
  UZFS_ASSIGN(uint64_t obj, mos.Allocate(kOtDslDataset, 512, kOtDslDataset, kDslDatasetPhysSize));
  DslDatasetPhys s;
  s.dir_obj = head.dir_obj;
  s.fsid_guid = NewFsidGuid();
  s.guid = NewGuid();
  s.prev_snap_obj = head.prev_snap_obj;
  s.prev_snap_txg = head.prev_snap_txg;
  s.next_snap_obj = head_obj;
  s.num_children = 1;
  s.creation_time = now;
  s.creation_txg = txg;
  s.deadlist_obj = head.deadlist_obj;
  s.used_bytes = head.used_bytes;
  s.compressed_bytes = head.compressed_bytes;
  s.uncompressed_bytes = head.uncompressed_bytes;
  // unique stays 0: the snapshot shares every block with its next, the head.
  s.flags = head.flags;
  s.bp = head.bp;
  UZFS_TRY(StoreDataset(mos, obj, s));
  if (head.prev_snap_obj) {
    UZFS_ASSIGN(DslDatasetPhys prev, LoadDataset(mos, head.prev_snap_obj));
    if (prev.next_snap_obj == head_obj) {
      prev.next_snap_obj = obj;
      UZFS_TRY(StoreDataset(mos, head.prev_snap_obj, prev));
    } else if (prev.next_clones_obj) {
      // The head was a clone of prev: its first snapshot takes its place among prev's clones.
      (void)zaps.Remove(prev.next_clones_obj, Hex(head_obj));
      UZFS_TRY(zaps.AddInt(prev.next_clones_obj, Hex(obj), obj));
    }
  }
  // Its unique bytes go to zero: a refreservation is charged in full again.
  UZFS_ASSIGN(uint64_t res, HeadRefreservation(mos, zaps, head_obj));
  if (res) {
    UZFS_TRY(DirDidUseSpace(mos, head.dir_obj, kDdUsedRefrsrv,
                            static_cast<int64_t>(std::min(head.unique_bytes, res)), 0, 0));
  }
  head.prev_snap_obj = obj;
  head.prev_snap_txg = txg;
  head.unique_bytes = 0;
  head.flags |= kDsFlagUniqueAccurate;
  UZFS_ASSIGN(head.deadlist_obj, CreateBplist(mos));
  UZFS_TRY(StoreDataset(mos, head_obj, head));
  UZFS_TRY(zaps.AddInt(head.snapnames_zapobj, snapname, obj));
  return obj;
}

Status RefreservationChanged(ObjsetWriter& mos, uint64_t head_obj, uint64_t old_value,
                             uint64_t new_value) {
  UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(mos, head_obj));
  auto over = [&](uint64_t v) { return v > ds.unique_bytes ? static_cast<int64_t>(v - ds.unique_bytes) : 0; };
  return DirDidUseSpace(mos, ds.dir_obj, kDdUsedRefrsrv, over(new_value) - over(old_value), 0, 0);
}

Status ReservationChanged(ObjsetWriter& mos, uint64_t dir_obj, uint64_t value) {
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(mos, dir_obj));
  int64_t delta = static_cast<int64_t>(std::max(dd.used_bytes, value)) -
                  static_cast<int64_t>(std::max(dd.used_bytes, dd.reserved));
  dd.reserved = value;
  UZFS_TRY(StoreDir(mos, dir_obj, dd));
  if (!dd.parent_obj) return Status::Ok();
  return DirDidUseSpace(mos, dd.parent_obj, kDdUsedChildRsrv, delta, 0, 0);
}

Status RecalcHeadUnique(ObjsetWriter& mos, uint64_t head_obj) {
  UZFS_ASSIGN(DslDatasetPhys head, LoadDataset(mos, head_obj));
  uint64_t mrs_used = 0;
  if (head.prev_snap_obj) {
    UZFS_ASSIGN(DslDatasetPhys prev, LoadDataset(mos, head.prev_snap_obj));
    mrs_used = prev.used_bytes;
  }
  UZFS_ASSIGN(BplistPhys dl, LoadBplist(mos, head.deadlist_obj));
  if (dl.bytes > mrs_used || head.used_bytes < mrs_used - dl.bytes)
    return Status::Error(ECORRUPT, "dataset " + std::to_string(head_obj) + ": dead list larger than its snapshot");
  head.unique_bytes = head.used_bytes - (mrs_used - dl.bytes);
  head.flags |= kDsFlagUniqueAccurate;
  return StoreDataset(mos, head_obj, head);
}

Status DestroySnapshotSync(ObjsetWriter& mos, ZapStore& zaps, DslBlockOps& ops,
                           uint64_t snap_obj, const std::string& snapname) {
  UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(mos, snap_obj));
  if (!ds.next_snap_obj) return Status::Error(EINVAL, "not a snapshot");
  if (ds.num_children > 1) return Status::Error(EBUSY, "snapshot has dependent clones");
  if (ds.userrefs_obj) {  // zfs hold (pool version 18): a held snapshot stays
    UZFS_ASSIGN(uint64_t holds, zaps.Count(ds.userrefs_obj));
    if (holds) return Status::Error(EBUSY, "dataset is busy");
  }
  bool after_branch_point = false;
  DslDatasetPhys prev;
  if (ds.prev_snap_obj) {
    UZFS_ASSIGN(prev, LoadDataset(mos, ds.prev_snap_obj));
    after_branch_point = prev.next_snap_obj != snap_obj;
    if (after_branch_point && prev.next_clones_obj) {
      // The first snapshot of a clone: its successor becomes the origin's clone entry.
      (void)zaps.Remove(prev.next_clones_obj, Hex(snap_obj));
      UZFS_TRY(zaps.AddInt(prev.next_clones_obj, Hex(ds.next_snap_obj), ds.next_snap_obj));
    }
    if (!after_branch_point) prev.next_snap_obj = ds.next_snap_obj;
  }

  UZFS_ASSIGN(DslDatasetPhys next, LoadDataset(mos, ds.next_snap_obj));
  next.prev_snap_obj = ds.prev_snap_obj;
  next.prev_snap_txg = ds.prev_snap_txg;
  // next's dead list splits: what was born before our predecessor moves to our dead list
  // (which becomes next's); the rest was ours alone and is freed.
  UZFS_ASSIGN(std::vector<BlkPtr> dead, BplistEntries(mos, next.deadlist_obj));
  std::vector<BlkPtr> keep, doomed;
  std::vector<uint64_t> keep_dsize;
  int64_t used = 0, comp = 0, uncomp = 0;
  for (const BlkPtr& bp : dead) {
    uint64_t dsize = ops.Dsize(bp);
    if (bp.birth <= ds.prev_snap_txg) {
      keep.push_back(bp);
      keep_dsize.push_back(dsize);
      if (ds.prev_snap_obj && !after_branch_point && bp.birth > prev.prev_snap_txg)
        prev.unique_bytes += dsize;
    } else {
      used += static_cast<int64_t>(dsize);
      comp += static_cast<int64_t>(bp.psize());
      uncomp += static_cast<int64_t>(BpUcsize(bp));
      doomed.push_back(bp);
    }
  }
  // What only this snapshot held is exactly its unique bytes; anything else means the
  // accounting is wrong, and nothing has been changed yet.
  if (static_cast<uint64_t>(used) != ds.unique_bytes)
    return Status::Error(ECORRUPT, "snapshot " + snapname + ": unique bytes " +
                                       std::to_string(ds.unique_bytes) + " but " +
                                       std::to_string(used) + " to free");
  for (const BlkPtr& bp : doomed) ops.Free(bp);
  if (ds.prev_snap_obj) UZFS_TRY(StoreDataset(mos, ds.prev_snap_obj, prev));
  UZFS_TRY(BplistAppend(mos, ds.deadlist_obj, keep, keep_dsize));
  UZFS_TRY(DirDidUseSpace(mos, ds.dir_obj, kDdUsedSnap, -used, -comp, -uncomp));
  UZFS_TRY(mos.FreeObject(next.deadlist_obj));
  next.deadlist_obj = ds.deadlist_obj;
  if (next.next_snap_obj) {
    // Blocks born between our predecessor and us that died after next: only next has them now.
    UZFS_ASSIGN(DslDatasetPhys after_next, LoadDataset(mos, next.next_snap_obj));
    UZFS_ASSIGN(uint64_t space,
                BplistSpaceBirthrange(mos, after_next.deadlist_obj, ds.prev_snap_txg,
                                      ds.creation_txg, [&](const BlkPtr& b) { return ops.Dsize(b); }));
    next.unique_bytes += space;
    UZFS_TRY(StoreDataset(mos, ds.next_snap_obj, next));
  } else {
    uint64_t old_unique = next.unique_bytes;
    UZFS_TRY(StoreDataset(mos, ds.next_snap_obj, next));
    UZFS_TRY(RecalcHeadUnique(mos, ds.next_snap_obj));
    // The head's new unique bytes use up that much more of its refreservation.
    UZFS_ASSIGN(uint64_t res, HeadRefreservation(mos, zaps, ds.next_snap_obj));
    if (old_unique < res) {
      UZFS_ASSIGN(DslDatasetPhys h, LoadDataset(mos, ds.next_snap_obj));
      int64_t mrsdelta = static_cast<int64_t>(std::min(h.unique_bytes - old_unique, res - old_unique));
      UZFS_TRY(DirDidUseSpace(mos, ds.dir_obj, kDdUsedRefrsrv, -mrsdelta, 0, 0));
    }
  }

  // Out of the snapshot namespace, then the objects.
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(mos, ds.dir_obj));
  UZFS_ASSIGN(DslDatasetPhys head, LoadDataset(mos, dd.head_dataset_obj));
  UZFS_TRY(zaps.Remove(head.snapnames_zapobj, snapname));
  for (uint64_t obj : {ds.next_clones_obj, ds.props_obj, ds.userrefs_obj}) {
    if (!obj) continue;
    zaps.Drop(obj);
    UZFS_TRY(mos.FreeObject(obj));
  }
  return mos.FreeObject(snap_obj);
}

Result<OwnBlocks> BlocksBornAfter(DslBlockOps& ops, BlockReader* reader, const BlkPtr& os_bp,
                                  uint64_t txg) {
  OwnBlocks own;
  if (os_bp.is_hole()) return own;
  UZFS_ASSIGN(auto os, ObjSet::Open(reader, os_bp));
  UZFS_TRY(os->Traverse(txg, [&](const BlockVisit& v) {
    own.bps.push_back(*v.bp);
    return Status::Ok();
  }));
  for (const BlkPtr& bp : own.bps) {
    own.used += static_cast<int64_t>(ops.Dsize(bp));
    own.comp += static_cast<int64_t>(bp.psize());
    own.uncomp += static_cast<int64_t>(BpUcsize(bp));
  }
  return own;
}

Status RollbackSync(ObjsetWriter& mos, ZapStore& zaps, DslBlockOps& ops, BlockReader* reader,
                    uint64_t head_obj) {
  UZFS_ASSIGN(uint64_t res, HeadRefreservation(mos, zaps, head_obj));
  UZFS_ASSIGN(DslDatasetPhys head, LoadDataset(mos, head_obj));
  if (!head.prev_snap_obj) return Status::Error(EINVAL, "no snapshot to roll back to");
  UZFS_ASSIGN(DslDatasetPhys snap, LoadDataset(mos, head.prev_snap_obj));
  // The head's own blocks.
  UZFS_ASSIGN(OwnBlocks own, BlocksBornAfter(ops, reader, head.bp, head.prev_snap_txg));
  int64_t used = own.used, comp = own.comp, uncomp = own.uncomp;
  if (static_cast<uint64_t>(used) != head.unique_bytes && !head.bp.is_hole())
    return Status::Error(ECORRUPT, "dataset " + std::to_string(head_obj) + ": unique bytes " +
                                       std::to_string(head.unique_bytes) + " but " +
                                       std::to_string(used) + " to free");
  for (const BlkPtr& bp : own.bps) ops.Free(bp);
  UZFS_TRY(DirDidUseSpace(mos, head.dir_obj, kDdUsedHead, -used, -comp, -uncomp));
  // The dead list's blocks are the snapshot's again, referenced by the head.
  UZFS_ASSIGN(uint64_t origin_txg, OriginTxg(mos, head.dir_obj));
  UZFS_ASSIGN(uint64_t back,
              BplistSpaceBirthrange(mos, head.deadlist_obj, origin_txg, UINT64_MAX,
                                    [&](const BlkPtr& b) { return ops.Dsize(b); }));
  UZFS_TRY(DirTransferSpace(mos, head.dir_obj, static_cast<int64_t>(back), kDdUsedSnap, kDdUsedHead));
  // unique goes to zero: the refreservation is charged in full again (clone_swap's
  // unused_refres_delta).
  if (res) {
    UZFS_TRY(DirDidUseSpace(mos, head.dir_obj, kDdUsedRefrsrv,
                            static_cast<int64_t>(std::min(res, head.unique_bytes)), 0, 0));
  }
  if (snap.next_snap_obj == head_obj) {
    snap.unique_bytes = 0;
    UZFS_TRY(StoreDataset(mos, head.prev_snap_obj, snap));
  }
  UZFS_TRY(mos.FreeObject(head.deadlist_obj));
  UZFS_ASSIGN(head.deadlist_obj, CreateBplist(mos));
  head.bp = snap.bp;
  head.used_bytes = snap.used_bytes;
  head.compressed_bytes = snap.compressed_bytes;
  head.uncompressed_bytes = snap.uncompressed_bytes;
  head.unique_bytes = 0;
  return StoreDataset(mos, head_obj, head);
}

// dsl_dataset_clone_swap_sync, for the case dmu_recv_existing_end swaps: the head holds
// nothing of its own, so only the clone's side of its accounting has anything to move.
Status CloneSwapSync(ObjsetWriter& mos, ZapStore& zaps, uint64_t clone_obj, uint64_t head_obj,
                     const std::function<uint64_t(const BlkPtr&)>& dsize) {
  UZFS_ASSIGN(DslDatasetPhys h, LoadDataset(mos, head_obj));
  UZFS_ASSIGN(DslDatasetPhys c, LoadDataset(mos, clone_obj));
  if (!h.prev_snap_obj || c.prev_snap_obj != h.prev_snap_obj)
    return Status::Error(EINVAL, "the clone is not of the head's latest snapshot");
  if (h.unique_bytes || h.bp.birth > h.prev_snap_txg)
    return Status::Error(EINVAL, "the head has changed since its latest snapshot");
  UZFS_ASSIGN(DslDatasetPhys s, LoadDataset(mos, h.prev_snap_obj));
  UZFS_ASSIGN(DslDirPhys cdd, LoadDir(mos, c.dir_obj));
  UZFS_ASSIGN(uint64_t res, HeadRefreservation(mos, zaps, head_obj));
  // The clone's own blocks (born after S; all its dir is charged for: it has no children,
  // snapshots or reservation) become the head's. With a refreservation the head's dir was
  // charged for it already, up to the unique bytes it now covers (as Apply charges births).
  const int64_t used = static_cast<int64_t>(c.unique_bytes);
  const int64_t comp = static_cast<int64_t>(cdd.compressed_bytes);
  const int64_t uncomp = static_cast<int64_t>(cdd.uncompressed_bytes);
  const int64_t charged = res ? static_cast<int64_t>(std::max(c.unique_bytes, res) - res) : used;
  UZFS_TRY(DirDidUseSpace(mos, c.dir_obj, kDdUsedHead, -used, -comp, -uncomp));
  UZFS_TRY(DirDidUseSpace(mos, h.dir_obj, kDdUsedHead, charged, comp, uncomp));
  UZFS_TRY(DirTransferSpace(mos, h.dir_obj, used - charged, kDdUsedRefrsrv, kDdUsedHead));
  // The clone's dead list holds S's blocks the received objset dropped: born after the head
  // dir's origin they are its snapshots' space now, born after S's predecessor S's alone.
  UZFS_ASSIGN(uint64_t origin_txg, OriginTxg(mos, h.dir_obj));
  UZFS_ASSIGN(uint64_t to_snap, BplistSpaceBirthrange(mos, c.deadlist_obj, origin_txg, UINT64_MAX, dsize));
  UZFS_TRY(DirTransferSpace(mos, h.dir_obj, static_cast<int64_t>(to_snap), kDdUsedHead, kDdUsedSnap));
  if (s.next_snap_obj == head_obj) {
    UZFS_ASSIGN(uint64_t only_s,
                BplistSpaceBirthrange(mos, c.deadlist_obj, s.prev_snap_txg, UINT64_MAX, dsize));
    s.unique_bytes += only_s;
    UZFS_TRY(StoreDataset(mos, h.prev_snap_obj, s));
  }
  std::swap(h.bp, c.bp);
  std::swap(h.used_bytes, c.used_bytes);
  std::swap(h.compressed_bytes, c.compressed_bytes);
  std::swap(h.uncompressed_bytes, c.uncompressed_bytes);
  std::swap(h.unique_bytes, c.unique_bytes);
  std::swap(h.deadlist_obj, c.deadlist_obj);
  UZFS_TRY(StoreDataset(mos, head_obj, h));
  return StoreDataset(mos, clone_obj, c);
}

Status PromoteSync(ObjsetWriter& mos, ZapStore& zaps, DslBlockOps& ops, uint64_t head_obj,
                   uint64_t pool_origin_snap, std::string* conflict) {
  UZFS_ASSIGN(DslDatasetPhys hds, LoadDataset(mos, head_obj));
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(mos, hds.dir_obj));
  if (!dd.origin_obj || dd.origin_obj == pool_origin_snap || dd.head_dataset_obj != head_obj)
    return Status::Error(EINVAL, "not a cloned filesystem");
  uint64_t origin_obj = dd.origin_obj;
  UZFS_ASSIGN(DslDatasetPhys ods, LoadDataset(mos, origin_obj));
  uint64_t odd_obj = ods.dir_obj;
  UZFS_ASSIGN(DslDirPhys odd, LoadDir(mos, odd_obj));
  uint64_t ohds_obj = odd.head_dataset_obj;
  UZFS_ASSIGN(DslDatasetPhys ohds, LoadDataset(mos, ohds_obj));
  // snaplist_make: the snapshots that move (the origin and those before it in its dir), the
  // clone's own chain (head first) and the origin filesystem's chain after the origin.
  auto chain = [&](uint64_t from, uint64_t stop) -> Result<std::vector<uint64_t>> {
    std::vector<uint64_t> out;
    for (uint64_t o = from; o && o != stop;) {
      out.push_back(o);
      UZFS_ASSIGN(DslDatasetPhys d, LoadDataset(mos, o));
      o = d.prev_snap_obj;
    }
    return out;
  };
  UZFS_ASSIGN(std::vector<uint64_t> shared, chain(origin_obj, odd.origin_obj));
  UZFS_ASSIGN(std::vector<uint64_t> clone_snaps, chain(head_obj, origin_obj));
  UZFS_ASSIGN(std::vector<uint64_t> origin_snaps, chain(ohds_obj, origin_obj));
  UZFS_ASSIGN(auto onames, zaps.List(ohds.snapnames_zapobj));
  std::map<uint64_t, std::string> name_of;
  for (const ZapEntry& e : onames) name_of[e.first()] = e.name;
  for (uint64_t s : shared) {
    if (!name_of.count(s)) return Status::Error(ECORRUPT, "snapshot " + std::to_string(s) + " has no name");
    UZFS_ASSIGN(auto clash, zaps.Lookup(hds.snapnames_zapobj, name_of[s]));
    if (clash) {
      if (conflict) *conflict = name_of[s];
      return Status::Error(EEXIST, "snapshot name '" + name_of[s] + "' already exists in the clone");
    }
  }
  auto dsize = [&](const BlkPtr& b) { return ops.Dsize(b); };
  auto deadlist_space = [&](const std::vector<uint64_t>& l, uint64_t mintxg) -> Result<uint64_t> {
    uint64_t total = 0;
    for (uint64_t o : l) {
      UZFS_ASSIGN(DslDatasetPhys d, LoadDataset(mos, o));
      UZFS_ASSIGN(uint64_t sp, BplistSpaceBirthrange(mos, d.deadlist_obj, mintxg, UINT64_MAX, dsize));
      total += sp;
    }
    return total;
  };
  // The origin's new unique: what its new next (the clone's oldest) no longer has.
  UZFS_ASSIGN(DslDatasetPhys tail, LoadDataset(mos, clone_snaps.back()));
  UZFS_ASSIGN(uint64_t unique,
              BplistSpaceBirthrange(mos, tail.deadlist_obj, ods.prev_snap_txg, UINT64_MAX, dsize));
  // The space that moves: everything born in the shared snapshots (their used plus what they
  // killed), less what the origin's own origin had.
  int64_t used = static_cast<int64_t>(ods.used_bytes), comp = static_cast<int64_t>(ods.compressed_bytes),
          uncomp = static_cast<int64_t>(ods.uncompressed_bytes);
  for (uint64_t s : shared) {
    UZFS_ASSIGN(DslDatasetPhys d, LoadDataset(mos, s));
    if (!d.prev_snap_obj) continue;
    UZFS_ASSIGN(BplistPhys dl, LoadBplist(mos, d.deadlist_obj));
    used += static_cast<int64_t>(dl.bytes), comp += static_cast<int64_t>(dl.comp),
        uncomp += static_cast<int64_t>(dl.uncomp);
  }
  if (odd.origin_obj && odd.origin_obj != pool_origin_snap) {
    UZFS_ASSIGN(DslDatasetPhys oo, LoadDataset(mos, odd.origin_obj));
    used -= static_cast<int64_t>(oo.used_bytes), comp -= static_cast<int64_t>(oo.compressed_bytes),
        uncomp -= static_cast<int64_t>(oo.uncompressed_bytes);
  }
  UZFS_ASSIGN(uint64_t ohds_origin_txg, OriginTxg(mos, odd_obj));
  UZFS_ASSIGN(uint64_t clone_snap_a, deadlist_space(shared, ohds_origin_txg));
  UZFS_ASSIGN(uint64_t clone_snap_b, deadlist_space(clone_snaps, ohds_origin_txg));
  UZFS_ASSIGN(uint64_t origin_snap_used, deadlist_space(origin_snaps, ods.creation_txg));

  // The origin's next becomes the clone's oldest; the origin filesystem its clone.
  uint64_t oldnext = ods.next_snap_obj;
  ods.next_snap_obj = clone_snaps.back();
  if (ods.next_clones_obj) {
    (void)zaps.Remove(ods.next_clones_obj, Hex(clone_snaps.back()));
    UZFS_TRY(zaps.AddInt(ods.next_clones_obj, Hex(oldnext), oldnext));
  }
  ods.unique_bytes = unique;
  UZFS_TRY(StoreDataset(mos, origin_obj, ods));
  dd.origin_obj = odd.origin_obj;
  UZFS_TRY(StoreDir(mos, hds.dir_obj, dd));
  odd.origin_obj = origin_obj;
  UZFS_TRY(StoreDir(mos, odd_obj, odd));
  for (uint64_t s : shared) {
    UZFS_TRY(zaps.Remove(ohds.snapnames_zapobj, name_of[s]));
    UZFS_TRY(zaps.AddInt(hds.snapnames_zapobj, name_of[s], s));
    UZFS_ASSIGN(DslDatasetPhys d, LoadDataset(mos, s));
    d.dir_obj = hds.dir_obj;
    UZFS_TRY(StoreDataset(mos, s, d));
  }
  UZFS_ASSIGN(dd, LoadDir(mos, hds.dir_obj));
  int64_t delta = static_cast<int64_t>(clone_snap_a + clone_snap_b) -
                  static_cast<int64_t>(dd.used_breakdown[kDdUsedSnap]);
  UZFS_TRY(DirDidUseSpace(mos, hds.dir_obj, kDdUsedSnap, delta, 0, 0));
  UZFS_TRY(DirDidUseSpace(mos, hds.dir_obj, kDdUsedHead, used - delta, comp, uncomp));
  UZFS_ASSIGN(odd, LoadDir(mos, odd_obj));
  delta = static_cast<int64_t>(origin_snap_used) - static_cast<int64_t>(odd.used_breakdown[kDdUsedSnap]);
  UZFS_TRY(DirDidUseSpace(mos, odd_obj, kDdUsedSnap, delta, 0, 0));
  return DirDidUseSpace(mos, odd_obj, kDdUsedHead, -used - delta, -comp, -uncomp);
}

}  // namespace uzfs
