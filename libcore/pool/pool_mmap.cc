// Mapped files (docs/design.md section 7): the pool's side of zfsd's fault service. A mapped
// file is its ARC segment; a missing page is filled through the DMU (FaultFile), a first
// store charges its unit to the open txg and holds it (DirtyFile), and the sync copies the
// mapped-dirty units from the ARC into the files after the daemon has write-protected them
// (FlushMappedLocked), which is zfs_putpage's job in a kernel ZFS.
//
// Why hold a dirty unit: until the sync copies it, the only copy of the stores is the ARC's;
// an eviction (a punched hole) would lose them.
#include <sys/stat.h>
#include <time.h>

#include "libcore/pool/pool.h"

namespace uzfs {

namespace {
// What an msync logs at most; above it the txg is synced (measured: see CommitMappedFile).
constexpr uint64_t kMsyncLogMax = 1ULL << 20;

ZTime ZTimeNow() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return ZTime{static_cast<uint64_t>(ts.tv_sec), static_cast<uint64_t>(ts.tv_nsec)};
}
}  // namespace

Result<Pool::OpenDataset*> Pool::MappedFileLocked(const std::string& fs, uint64_t obj,
                                                  uint64_t* dir, uint64_t* ds_obj, ZnodePhys* z) {
  if (!arc_) return Status::Error(EINVAL, "pool " + name_ + " has no ARC: files cannot be mapped");
  if (!failed_.ok()) return failed_;
  UZFS_TRY(ResolveFs(fs, dir, ds_obj));
  UZFS_ASSIGN(OpenDataset * od, OpenDatasetLocked(*dir, *ds_obj));
  auto attr = od->zpl->GetAttr(obj);
  if (!attr.ok() || !S_ISREG(attr->mode))
    return Status::Error(ENOENT, "object " + std::to_string(obj) + " is no regular file");
  // A DAX file's data is on persistent memory, not in the ARC: the libzfs mapping of its
  // extents (MAP_SYNC on the device itself) is not built yet.
  if (ZplWriter::IsDaxFile(*attr))
    return Status::Error(ENOTSUP, "mapping a DAX file through libzfs is not supported yet");
  *z = *attr;
  // The segment's size is the file's (it may not have been told since the import).
  UZFS_TRY(od->os->NoteFileSize(obj, z->size));
  return od;
}

Result<std::shared_ptr<ArcSegment>> Pool::MapFile(const std::string& fs, uint64_t obj) {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t dir = 0, ds_obj = 0;
  ZnodePhys z;
  UZFS_ASSIGN(OpenDataset * od, MappedFileLocked(fs, obj, &dir, &ds_obj, &z));
  return od->os->CacheSegment(obj);
}

Result<Pool::MapUnit> Pool::FaultFile(const std::string& fs, uint64_t obj, uint64_t at) {
  // First the lookups under the lock and the fill after it (ObjsetWriter::PlanFault), so a
  // fault waits neither for another's disk reads nor for a sync; when that fill came to
  // nothing (a write made it stale, a reused block failed its checksum, an eviction came
  // first), once more wholly under the lock.
  // Blocks the first fill could not read go into the error log when the second fails too.
  std::vector<uint64_t> unreadable;
  {
    ObjsetWriter::ReadPlan plan;
    ObjsetWriter::CacheUnit u;
    std::unique_lock<std::mutex> l(mu_);
    uint64_t dir = 0, ds_obj = 0;
    ZnodePhys z;
    UZFS_ASSIGN(OpenDataset * od, MappedFileLocked(fs, obj, &dir, &ds_obj, &z));
    UZFS_TRY(od->os->PlanFault(obj, at, &u, &plan));
    l.unlock();
    if (plan.pieces.empty()) return MapUnit{u.off, u.len, false};
    bool ours = plan.pieces[0].ticket != nullptr;
    Status s = plan.Complete();
    if (s.ok() && arc_->Cached(plan.key, u.off)) return MapUnit{u.off, u.len, ours};
    unreadable = std::move(plan.unreadable);
  }
  std::lock_guard<std::mutex> l(mu_);
  uint64_t dir = 0, ds_obj = 0;
  ZnodePhys z;
  UZFS_ASSIGN(OpenDataset * od, MappedFileLocked(fs, obj, &dir, &ds_obj, &z));
  ObjsetWriter::CacheUnit u;
  Result<bool> filled = od->os->FaultUnit(obj, at, &u);
  if (!filled.ok()) {
    int code = filled.status().code();
    if (code == EIO || code == ECKSUM || code == ENXIO) LogReadErrors(ds_obj, obj, unreadable);
    return filled.status();
  }
  return MapUnit{u.off, u.len, *filled};
}

Status Pool::DirtyFile(const std::string& fs, uint64_t obj, uint64_t at,
                       const std::function<void(uint64_t off, uint64_t len)>& dirtied) {
  std::lock_guard<std::mutex> l(mu_);
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  uint64_t dir = 0, ds_obj = 0;
  ZnodePhys z;
  UZFS_ASSIGN(OpenDataset * od, MappedFileLocked(fs, obj, &dir, &ds_obj, &z));
  UZFS_ASSIGN(ObjsetWriter::CacheUnit u, od->os->UnitAt(obj, at));
  auto key = std::make_tuple(ds_obj, obj, u.off);
  if (!mapped_dirty_.count(key)) {
    UZFS_TRY(ReserveLocked(dir, ds_obj, u.len));
    // Resident, then held. Another pool's fill may evict the unit in between (the ARC is
    // shared and has its own lock): fault it in again.
    Status held = Status::Error(ENOENT, "unit keeps being evicted");
    for (int tries = 0; tries < 8 && !held.ok(); tries++) {
      ObjsetWriter::CacheUnit f;
      UZFS_TRY(od->os->FaultUnit(obj, at, &f).status());
      held = arc_->Hold(od->os->CacheKey(obj), u.off);
    }
    UZFS_TRY(held);
    mapped_dirty_[key] = u.len;
  }
  if (dirtied) dirtied(u.off, u.len);
  return Status::Ok();
}

Status Pool::CommitMappedFile(const std::string& fs, uint64_t obj, uint64_t off, uint64_t len) {
  if (pre_sync_) pre_sync_(*this);  // pinned mappings: their stores become mapped-dirty units
  uint64_t in_flight = 0;
  bool sync_instead = false;
  {
    StepAsideForSync();
    std::lock_guard<std::mutex> l(mu_);
    if (readonly_ || closed_) return Status::Ok();
    uint64_t dir = 0, ds_obj = 0;
    ZnodePhys z;
    UZFS_ASSIGN(OpenDataset * od, MappedFileLocked(fs, obj, &dir, &ds_obj, &z));
    std::vector<std::tuple<uint64_t, uint64_t, uint64_t>> keys;
    for (auto it = mapped_dirty_.lower_bound(std::make_tuple(ds_obj, obj, uint64_t{0}));
         it != mapped_dirty_.end() && std::get<0>(it->first) == ds_obj && std::get<1>(it->first) == obj; ++it) {
      const uint64_t uoff = std::get<2>(it->first);
      if (uoff < off + len && off < uoff + it->second) keys.push_back(it->first);
    }
    // Copied out by a txg whose sync has not finished: that sync is what makes them durable.
    if (mapped_flush_txg_ > txg_.synced()) in_flight = mapped_flush_txg_;
    // Much to log: a txg's sync writes the units once, where the log would write them twice
    // (records with their data copied: no WR_INDIRECT here) and hold log space until then.
    uint64_t bytes = 0;
    for (auto& key : keys) bytes += mapped_dirty_[key];
    if (bytes > kMsyncLogMax) {
      sync_instead = true;
      keys.clear();
    }
    if (map_protector_)
      for (auto& key : keys) map_protector_(ArcObjKey{guid_, ds_obj, obj}, std::get<2>(key), mapped_dirty_[key]);
    od->zpl->set_txg(txg_.open());
    Status first = Status::Ok();
    for (auto& key : keys) {
      const uint64_t uoff = std::get<2>(key), ulen = mapped_dirty_[key];
      ArcObjKey k{guid_, ds_obj, obj};
      Status s = [&]() -> Status {
        if (uoff >= z.size) return Status::Ok();  // past the end: nothing of the file
        auto bytes = arc_->Peek(k, uoff, ulen);
        if (!bytes.ok()) return Status::Ok();  // dropped from the ARC: already in the object
        // As a write of the open txg (the unit was reserved in it by DirtyFile), with the
        // write's log record: ZplWriter::Write is zfs_putpage's dmu_write + zfs_log_write.
        return od->zpl->Write(obj, uoff, ByteSpan(*bytes).first(std::min(ulen, z.size - uoff)), ZTimeNow());
      }();
      arc_->Release(k, uoff);
      mapped_dirty_.erase(key);
      if (!s.ok() && first.ok()) first = s.Context("writing a mapped unit of object " + std::to_string(obj));
    }
    UZFS_TRY(first);
  }
  if (sync_instead) return Sync();
  if (in_flight) {
    std::lock_guard<std::mutex> one(sync_mu_);  // Sync holds it until its txg is synced
  }
  return ZilCommit(fs);  // the file's writes through uzfs_write are in the log as well
}

void Pool::SetMapProtector(MapProtector fn) {
  std::lock_guard<std::mutex> l(mu_);
  map_protector_ = std::move(fn);
}

Status Pool::FlushMappedLocked() {
  if (mapped_dirty_.empty()) return Status::Ok();
  // Protect first, all of them: from here on no client store changes what is copied.
  if (map_protector_)
    for (auto& [key, len] : mapped_dirty_) {
      auto [ds_obj, obj, off] = key;
      map_protector_(ArcObjKey{guid_, ds_obj, obj}, off, len);
    }
  Status first = Status::Ok();
  for (auto& entry : mapped_dirty_) {
    // Plain copies, not structured bindings: a lambda may not capture those before C++20's
    // P1091 (clang 14, the fuzz build's compiler, refuses).
    const uint64_t ds_obj = std::get<0>(entry.first), obj = std::get<1>(entry.first),
                   off = std::get<2>(entry.first), len = entry.second;
    ArcObjKey k{guid_, ds_obj, obj};
    Status s = [&]() -> Status {
      auto it = datasets_.find(ds_obj);
      if (it == datasets_.end() || !it->second.zpl) return Status::Ok();
      OpenDataset& od = it->second;
      auto z = od.zpl->GetAttr(obj);
      if (!z.ok() || !S_ISREG(z->mode)) return Status::Ok();  // freed since: nothing to keep
      if (off >= z->size) return Status::Ok();               // truncated away since
      auto bytes = arc_->Peek(k, off, len);
      // Gone from the ARC: its object was dropped (block size change, rollback), and what
      // the stores made of it went into the object at that point.
      if (!bytes.ok()) return Status::Ok();
      uint64_t n = std::min(len, z->size - off);
      return od.os->Write(obj, off, ByteSpan(*bytes).first(n), /*write_through=*/false);
    }();
    arc_->Release(k, off);
    if (!s.ok() && first.ok()) first = s.Context("writing a mapped unit of object " + std::to_string(obj));
  }
  mapped_dirty_.clear();
  mapped_flush_txg_ = txg_.open();
  return first;
}

void Pool::ForgetMappedLocked(uint64_t ds_obj) {
  for (auto it = mapped_dirty_.lower_bound(std::make_tuple(ds_obj, uint64_t{0}, uint64_t{0}));
       it != mapped_dirty_.end() && std::get<0>(it->first) == ds_obj;) {
    if (arc_) arc_->Release(ArcObjKey{guid_, ds_obj, std::get<1>(it->first)}, std::get<2>(it->first));
    it = mapped_dirty_.erase(it);
  }
}

}  // namespace uzfs
