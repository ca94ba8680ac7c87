// Volumes of a pool (zfs-fuse zvol.c: zvol_create_cb through dmu_objset_create,
// zvol_get_stats, zvol_read / zvol_write as dmu_read / dmu_write of ZVOL_OBJ). The object
// model is libcore/zvol; this is the pool's side: the dataset, the txg, the lock, the
// space a write takes.
#include <algorithm>
#include <functional>

#include "libcore/pool/pool.h"
#include "libcore/pool/pool_sinks.h"
#include "libcore/zil/zil_write.h"

namespace uzfs {

Result<uint64_t> Pool::ObjsetTypeLocked(uint64_t ds_obj) {
  // The open objset, else its objset_phys on disk (a metadata read the ARC keeps).
  if (auto it = datasets_.find(ds_obj); it != datasets_.end()) return it->second.os->os_type();
  UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, ds_obj));
  if (ds.bp.is_hole()) return static_cast<uint64_t>(kOstNone);
  UZFS_ASSIGN(auto os, ObjSet::Open(this, ds.bp));
  return os->type();
}

Status Pool::CreateVolume(const std::string& name, uint64_t volsize, uint64_t volblocksize,
                          const std::map<std::string, std::string>& props, uint64_t creator) {
  UZFS_TRY(ZvolCheckBlockSize(volblocksize));
  UZFS_TRY(ZvolCheckSize(volsize, volblocksize));
  std::lock_guard<std::mutex> l(mu_);
  return CreateHeadLocked(name, props, kOstZvol, [&](OpenDataset& od, uint64_t) -> Status {
    UZFS_TRY(ZvolCreate(*od.os, *od.zaps, volsize, volblocksize));
    return od.os->NoteFileSize(kZvolObj, volsize);
  }, creator);
}

Result<bool> Pool::IsVolume(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  UZFS_ASSIGN(DsRef ref, ResolveDataset(name));
  UZFS_ASSIGN(uint64_t type, ObjsetTypeLocked(ref.ds));
  return type == kOstZvol;
}

Result<Pool::OpenDataset*> Pool::OpenVolumeLocked(const std::string& name) {
  uint64_t dir = 0, ds_obj = 0;
  UZFS_TRY(ResolveFs(name, &dir, &ds_obj));
  UZFS_ASSIGN(uint64_t type, ObjsetTypeLocked(ds_obj));
  if (type != kOstZvol) return Status::Error(EINVAL, "not a volume");
  bool fresh = !datasets_.count(ds_obj);
  UZFS_ASSIGN(OpenDataset * od, OpenDatasetObjsetLocked(dir, ds_obj));
  if (fresh) {
    // The ARC's segment for the data object spans the volume (zvol_open's zv_volsize).
    UZFS_ASSIGN(ZvolStats st, ZvolGetStats(*od->os, *od->zaps));
    UZFS_TRY(od->os->NoteFileSize(kZvolObj, st.volsize));
  }
  // zvol_create_minor's zil_replay, the first time the volume is used since the objset was
  // opened (the import's claim opens it without using it): what its log holds is applied
  // before any read or write.
  if (!od->zil && !readonly_) {
    UZFS_TRY(ReplayLogLocked(*od));
    UZFS_TRY(RefreshSyncModes());
  }
  return od;
}

Result<ZvolStats> Pool::VolumeStats(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  UZFS_ASSIGN(DsRef ref, ResolveDataset(name));
  UZFS_ASSIGN(uint64_t type, ObjsetTypeLocked(ref.ds));
  if (type != kOstZvol) return Status::Error(EINVAL, "not a volume");
  if (!ref.snapshot) {
    UZFS_ASSIGN(OpenDataset * od, OpenVolumeLocked(name));
    return ZvolGetStats(*od->os, *od->zaps);
  }
  UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, ref.ds));
  UZFS_ASSIGN(auto os, ObjSet::Open(this, ds.bp));
  return ZvolGetStats(*os);
}

Result<std::vector<std::string>> Pool::Volumes() {
  UZFS_ASSIGN(auto all, Datasets());
  std::vector<std::string> out;
  for (const DsEntry& e : all)
    if (e.volume && !e.snapshot) out.push_back(e.name);
  return out;
}

Result<Bytes> Pool::ReadVolume(const std::string& name, uint64_t off, uint64_t len) {
  for (int attempt = 0;; attempt++) {
    ObjsetWriter::ReadPlan plan;
    uint64_t ds_obj = 0;
    std::unique_lock<std::mutex> l(mu_);
    if (!failed_.ok()) return failed_;
    UZFS_ASSIGN(OpenDataset * od, OpenVolumeLocked(name));
    ds_obj = od->objset_id;
    UZFS_ASSIGN(ZvolStats st, ZvolGetStats(*od->os, *od->zaps));
    if (off > st.volsize) return Status::Error(EINVAL, "read past the end of the volume");
    len = std::min(len, st.volsize - off);
    UZFS_TRY(od->os->PlanRead(kZvolObj, off, len, &plan));
    if (attempt == 0) l.unlock();
    Status s = plan.Complete();
    if (!s.ok() && s.code() == ECKSUM && attempt == 0) continue;  // maybe a block reused since
    if (!s.ok()) {
      LogReadErrors(ds_obj, kZvolObj, plan.unreadable);
      return s;
    }
    plan.out.resize(len, 0);  // past the last block written: zeros
    return std::move(plan.out);
  }
}

Status Pool::WriteVolume(const std::string& name, uint64_t off, ByteSpan data) {
  if (data.empty()) return Status::Ok();
  // As WithZpl: the throttle, then the write's bytes reserved in the open txg, a retry after
  // a sync when the txg's own reservations or deferred frees hold the space.
  dirty_.Throttle([this] { return suspended(); });
  for (int retries = 0;; retries++) {
    bool pending = false, deferred = false;
    StepAsideForSync();
    Status s = [&]() -> Status {
      std::lock_guard<std::mutex> l(mu_);
      if (readonly_) return Status::Error(EROFS, "pool is read-only");
      if (!failed_.ok()) return failed_;
      UZFS_ASSIGN(OpenDataset * od, OpenVolumeLocked(name));
      UZFS_ASSIGN(ZvolStats st, ZvolGetStats(*od->os, *od->zaps));
      if (off > st.volsize || data.size() > st.volsize - off)
        return Status::Error(EINVAL, "write past the end of the volume");
      uint64_t dir = 0, ds_obj = 0;
      UZFS_TRY(ResolveFs(name, &dir, &ds_obj));
      uint64_t bs = st.volblocksize;
      uint64_t reserve = ((off + data.size() + bs - 1) / bs - off / bs) * bs;
      if (Status r = ReserveLocked(dir, ds_obj, reserve); !r.ok()) {
        for (auto& [o, b] : pending_write_) pending |= b > 0;
        deferred = DeferredFreesLocked();
        return r;
      }
      UZFS_TRY(od->os->Write(kZvolObj, off, data));
      // zvol_log_write: a flush (Pool::ZilCommit) writes it to the volume's log, whole
      // blocks larger than the immediate size by pointer (WR_INDIRECT).
      LogWriteVolume(od->zil.get(), txg_.open(), kZvolObj, off, data.size(), bs,
                     od->logbias_throughput ? 0 : kZfsImmediateWriteSz);
      return Status::Ok();
    }();
    if ((s.code() == ENOSPC || s.code() == EDQUOT) && ((pending && retries == 0) || (deferred && retries < 3))) {
      UZFS_TRY(Sync());
      continue;
    }
    dirty_.NoteDirty();
    return s;
  }
}

}  // namespace uzfs
