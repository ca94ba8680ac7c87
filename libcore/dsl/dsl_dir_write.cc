#include "libcore/dsl/dsl_dir_write.h"

#include <cstdio>
#include <vector>

#include "libcore/dmu/dmu.h"
#include "libcore/dsl/dsl_deleg.h"

namespace uzfs {

Result<uint64_t> PoolOriginSnapshot(ObjsetWriter& mos, ZapStore& zaps, uint64_t root_dir) {
  UZFS_ASSIGN(DslDirPhys rootdd, LoadDir(mos, root_dir));
  auto odir = zaps.LookupInt(rootdd.child_dir_zapobj, "$ORIGIN");
  if (!odir.ok()) return uint64_t{0};
  UZFS_ASSIGN(DslDirPhys od, LoadDir(mos, *odir));
  UZFS_ASSIGN(DslDatasetPhys ohead, LoadDataset(mos, od.head_dataset_obj));
  return ohead.prev_snap_obj;
}

Result<uint64_t> DestroyHeadSync(ObjsetWriter& mos, ZapStore& zaps, DslBlockOps& ops,
                                 BlockReader* reader, uint64_t dir_obj,
                                 const std::string& name_in_parent) {
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(mos, dir_obj));
  uint64_t ds_obj = dd.head_dataset_obj;
  UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(mos, ds_obj));
  // dsl_dataset_destroy_sync and dsl_dir_destroy_sync give up the reservations first.
  UZFS_ASSIGN(uint64_t refres, HeadRefreservation(mos, zaps, ds_obj));
  if (refres) UZFS_TRY(RefreservationChanged(mos, ds_obj, refres, 0));
  if (dd.reserved) UZFS_TRY(ReservationChanged(mos, dir_obj, 0));
  // What is on disk is freed block by block: every block born after the origin snapshot
  // belongs to this filesystem alone.
  UZFS_ASSIGN(OwnBlocks own, BlocksBornAfter(ops, reader, ds.bp, ds.prev_snap_txg));
  for (const BlkPtr& bp : own.bps) ops.Free(bp);
  UZFS_TRY(DirDidUseSpace(mos, dd.parent_obj, kDdUsedChild, -own.used, -own.comp, -own.uncomp));
  // The origin snapshot forgets its clone.
  if (ds.prev_snap_obj) {
    UZFS_ASSIGN(DslDatasetPhys o, LoadDataset(mos, ds.prev_snap_obj));
    if (o.num_children) o.num_children--;
    if (o.next_clones_obj) {
      char hex[32];
      snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(ds_obj));
      (void)zaps.Remove(o.next_clones_obj, hex);
    }
    UZFS_TRY(StoreDataset(mos, ds.prev_snap_obj, o));
  }
  // The objects: delegations (dsl_deleg_destroy), deadlist, snapnames, dataset, child map,
  // props, dir; the parent's entry.
  UZFS_TRY(DelegDestroy(mos, zaps, dd.deleg_zapobj));
  for (uint64_t obj : {ds.deadlist_obj, ds.snapnames_zapobj, ds_obj, dd.child_dir_zapobj,
                       dd.props_zapobj, dir_obj}) {
    if (!obj) continue;
    zaps.Drop(obj);
    UZFS_TRY(mos.FreeObject(obj));
  }
  UZFS_ASSIGN(DslDirPhys parent, LoadDir(mos, dd.parent_obj));
  UZFS_TRY(zaps.Remove(parent.child_dir_zapobj, name_in_parent));
  return ds.prev_snap_obj;
}

Status SnapshotRenameSync(ZapStore& zaps, ObjsetWriter& mos, uint64_t head_obj,
                          const std::string& from, const std::string& to) {
  UZFS_ASSIGN(DslDatasetPhys head, LoadDataset(mos, head_obj));
  auto obj = zaps.LookupInt(head.snapnames_zapobj, from);
  if (!obj.ok()) return Status::Error(ENOENT, "dataset does not exist");
  UZFS_ASSIGN(auto clash, zaps.Lookup(head.snapnames_zapobj, to));
  if (clash) return Status::Error(EEXIST, "dataset already exists");
  // Only the snapnames entry changes.
  UZFS_TRY(zaps.Remove(head.snapnames_zapobj, from));
  return zaps.AddInt(head.snapnames_zapobj, to, *obj);
}

Status DirRenameSync(ObjsetWriter& mos, ZapStore& zaps, uint64_t dir_obj,
                     const std::string& old_name, uint64_t new_parent, const std::string& new_name) {
  for (uint64_t d = new_parent; d;) {
    if (d == dir_obj) return Status::Error(EINVAL, "cannot rename a dataset to a descendant of itself");
    UZFS_ASSIGN(DslDirPhys p, LoadDir(mos, d));
    d = p.parent_obj;
  }
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(mos, dir_obj));
  if (dd.parent_obj != new_parent) {
    // The dir's whole space moves from one parent's CHILD usage to the other's.
    int64_t used = static_cast<int64_t>(dd.used_bytes), comp = static_cast<int64_t>(dd.compressed_bytes),
            uncomp = static_cast<int64_t>(dd.uncompressed_bytes);
    UZFS_TRY(DirDidUseSpace(mos, dd.parent_obj, kDdUsedChild, -used, -comp, -uncomp));
    UZFS_TRY(DirDidUseSpace(mos, new_parent, kDdUsedChild, used, comp, uncomp));
  }
  UZFS_ASSIGN(DslDirPhys oldp, LoadDir(mos, dd.parent_obj));
  UZFS_TRY(zaps.Remove(oldp.child_dir_zapobj, old_name));
  UZFS_ASSIGN(DslDirPhys newp, LoadDir(mos, new_parent));
  UZFS_TRY(zaps.AddInt(newp.child_dir_zapobj, new_name, dir_obj));
  dd.parent_obj = new_parent;
  return StoreDir(mos, dir_obj, dd);
}

}  // namespace uzfs
