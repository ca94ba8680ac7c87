#include "libcore/dsl/dsl_write.h"

#include <algorithm>
#include <random>

namespace uzfs {

namespace {

void Put(Bytes& b, size_t i, uint64_t v) { StoreLE64(b.data() + 8 * i, v); }

std::mt19937_64& Rng() {
  static std::mt19937_64 rng{std::random_device{}() ^ (static_cast<uint64_t>(std::random_device{}()) << 32)};
  return rng;
}

}  // namespace

uint64_t NewGuid() {
  uint64_t g;
  do g = Rng()(); while (g == 0);
  return g;
}

uint64_t NewFsidGuid() {
  uint64_t g;
  do g = Rng()() & ((1ULL << 56) - 1); while (g == 0);
  return g;
}

Bytes EncodeDslDirPhys(const DslDirPhys& d) {
  Bytes b(kDslDirPhysSize, 0);
  uint64_t v[] = {d.creation_time,   d.head_dataset_obj, d.parent_obj,       d.origin_obj,
                  d.child_dir_zapobj, d.used_bytes,      d.compressed_bytes, d.uncompressed_bytes,
                  d.quota,           d.reserved,         d.props_zapobj,     d.deleg_zapobj,
                  d.flags};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) Put(b, i, v[i]);
  for (int i = 0; i < 5; i++) Put(b, 13 + i, d.used_breakdown[i]);
  return b;
}

Bytes EncodeDslDatasetPhys(const DslDatasetPhys& d) {
  Bytes b(kDslDatasetPhysSize, 0);
  uint64_t v[] = {d.dir_obj,      d.prev_snap_obj,    d.prev_snap_txg, d.next_snap_obj,
                  d.snapnames_zapobj, d.num_children, d.creation_time, d.creation_txg,
                  d.deadlist_obj, d.used_bytes,       d.compressed_bytes, d.uncompressed_bytes,
                  d.unique_bytes, d.fsid_guid,        d.guid,          d.flags};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) Put(b, i, v[i]);
  d.bp.Encode(b.data() + 128);
  Put(b, 32, d.next_clones_obj);
  Put(b, 33, d.props_obj);
  Put(b, 34, d.userrefs_obj);
  return b;
}

Result<DslDirPhys> LoadDir(ObjsetWriter& mos, uint64_t obj) {
  UZFS_ASSIGN(const DnodePhys* dn, mos.Dnode(obj));
  if (dn->bonustype != kOtDslDir) return Status::Error(ECORRUPT, "not a DSL dir");
  return DslDirPhys::Decode(*dn);
}

Status StoreDir(ObjsetWriter& mos, uint64_t obj, const DslDirPhys& d) {
  return mos.SetBonus(obj, EncodeDslDirPhys(d));
}

Result<DslDatasetPhys> LoadDataset(ObjsetWriter& mos, uint64_t obj) {
  UZFS_ASSIGN(const DnodePhys* dn, mos.Dnode(obj));
  if (dn->bonustype != kOtDslDataset) return Status::Error(ECORRUPT, "not a DSL dataset");
  return DslDatasetPhys::Decode(*dn);
}

Status StoreDataset(ObjsetWriter& mos, uint64_t obj, const DslDatasetPhys& d) {
  return mos.SetBonus(obj, EncodeDslDatasetPhys(d));
}

Status DirDidUseSpace(ObjsetWriter& mos, uint64_t dir, DdUsed type, int64_t used, int64_t comp,
                      int64_t uncomp) {
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(mos, dir));
  // parent_delta: with a reservation the parent was already charged up to it.
  int64_t accounted = used;
  if (dd.reserved) {
    uint64_t old_bytes = std::max(dd.used_bytes, dd.reserved);
    uint64_t new_bytes = std::max(dd.used_bytes + static_cast<uint64_t>(used), dd.reserved);
    accounted = static_cast<int64_t>(new_bytes - old_bytes);
  }
  dd.used_bytes += static_cast<uint64_t>(used);
  dd.compressed_bytes += static_cast<uint64_t>(comp);
  dd.uncompressed_bytes += static_cast<uint64_t>(uncomp);
  if (dd.flags & kDdFlagUsedBreakdown) dd.used_breakdown[type] += static_cast<uint64_t>(used);
  UZFS_TRY(StoreDir(mos, dir, dd));
  if (!dd.parent_obj) return Status::Ok();
  UZFS_TRY(DirDidUseSpace(mos, dd.parent_obj, kDdUsedChild, accounted, comp, uncomp));
  return DirTransferSpace(mos, dd.parent_obj, used - accounted, kDdUsedChildRsrv, kDdUsedChild);
}

Status DirTransferSpace(ObjsetWriter& mos, uint64_t dir, int64_t delta, DdUsed from, DdUsed to) {
  if (delta == 0) return Status::Ok();
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(mos, dir));
  if (!(dd.flags & kDdFlagUsedBreakdown)) return Status::Ok();
  dd.used_breakdown[from] -= static_cast<uint64_t>(delta);
  dd.used_breakdown[to] += static_cast<uint64_t>(delta);
  return StoreDir(mos, dir, dd);
}

Result<uint64_t> CreateBplist(ObjsetWriter& mos, uint32_t blocksize) {
  return mos.Allocate(kOtBplist, blocksize, kOtBplistHdr, kBplistHdrSize);
}

Result<uint64_t> CreateDir(ObjsetWriter& mos, ZapStore& zaps, uint64_t parent,
                           const std::string& name, uint64_t now) {
  UZFS_ASSIGN(uint64_t obj, mos.Allocate(kOtDslDir, 512, kOtDslDir, kDslDirPhysSize));
  DslDirPhys d;
  d.creation_time = now;
  d.parent_obj = parent;
  UZFS_ASSIGN(d.props_zapobj, zaps.Create(kOtDslProps));
  UZFS_ASSIGN(d.child_dir_zapobj, zaps.Create(kOtDslDirChildMap));
  d.flags = kDdFlagUsedBreakdown;
  UZFS_TRY(StoreDir(mos, obj, d));
  if (parent) {
    UZFS_ASSIGN(DslDirPhys p, LoadDir(mos, parent));
    UZFS_TRY(zaps.AddInt(p.child_dir_zapobj, name, obj));
  }
  return obj;
}

Result<uint64_t> CreateDataset(ObjsetWriter& mos, ZapStore& zaps, uint64_t dir_obj,
                               uint64_t origin_snap, uint64_t creation_txg, uint64_t now) {
  UZFS_ASSIGN(uint64_t obj, mos.Allocate(kOtDslDataset, 512, kOtDslDataset, kDslDatasetPhysSize));
  DslDatasetPhys ds;
  ds.dir_obj = dir_obj;
  ds.flags = kDsFlagUniqueAccurate;
  ds.fsid_guid = NewFsidGuid();
  ds.guid = NewGuid();
  ds.creation_time = now;
  ds.creation_txg = creation_txg;
  UZFS_ASSIGN(ds.snapnames_zapobj, zaps.Create(kOtDslDsSnapMap));
  UZFS_ASSIGN(ds.deadlist_obj, CreateBplist(mos));
  if (origin_snap) {
    UZFS_ASSIGN(DslDatasetPhys o, LoadDataset(mos, origin_snap));
    ds.prev_snap_obj = origin_snap;
    ds.prev_snap_txg = o.creation_txg;
    ds.used_bytes = o.used_bytes;
    ds.compressed_bytes = o.compressed_bytes;
    ds.uncompressed_bytes = o.uncompressed_bytes;
    ds.bp = o.bp;
    o.num_children++;
    if (o.next_clones_obj == 0) {
      UZFS_ASSIGN(o.next_clones_obj, zaps.Create(kOtNextClones));
    }
    char hex[32];
    snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(obj));
    UZFS_TRY(zaps.AddInt(o.next_clones_obj, hex, obj));
    UZFS_TRY(StoreDataset(mos, origin_snap, o));
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(mos, dir_obj));
    dd.origin_obj = origin_snap;
    UZFS_TRY(StoreDir(mos, dir_obj, dd));
  }
  UZFS_TRY(StoreDataset(mos, obj, ds));
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(mos, dir_obj));
  dd.head_dataset_obj = obj;
  UZFS_TRY(StoreDir(mos, dir_obj, dd));
  return obj;
}

}  // namespace uzfs
