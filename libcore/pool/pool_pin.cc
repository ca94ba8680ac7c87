// Pinned files (see pool.h): what FUSE passthrough needs of the ARC. The kernel reads a
// passthrough file's pages straight from its ARC segment and never asks zfsd, so a unit
// punched out by eviction would read as zeros: every unit stays resident and held while the
// file is pinned.
//
// Limits (reported to the caller, not hidden): a unit the ARC drops while pinned (a truncate
// below it; the whole object when its block size changes) loses its hold with it; PinFile
// holds it again when the file next reaches it. A dropped object's new segment is another
// memfd: the caller sees it in PinFile's result.
#include <sys/stat.h>

#include <vector>

#include "libcore/pool/pool.h"

namespace uzfs {

Result<std::shared_ptr<ArcSegment>> Pool::PinFile(const std::string& fs, uint64_t obj) {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t dir = 0, ds_obj = 0;
  ZnodePhys z;
  UZFS_ASSIGN(OpenDataset * od, MappedFileLocked(fs, obj, &dir, &ds_obj, &z));
  ArcObjKey k = od->os->CacheKey(obj);
  auto key = std::make_pair(ds_obj, obj);
  std::set<uint64_t>& held = pinned_[key];
  std::vector<uint64_t> taken;  // by this call: released again on error
  Status s = Status::Ok();
  for (uint64_t at = 0; at < z.size && s.ok();) {
    auto unit = od->os->UnitAt(obj, at);
    if (!unit.ok()) {
      s = unit.status();
      break;
    }
    ObjsetWriter::CacheUnit u = *unit;
    // A unit held for the pin and still cached keeps that hold; one the ARC dropped since
    // lost it (Resize and DropObject forget holds).
    if (!held.count(u.off) || !arc_->Cached(k, u.off)) {
      // Resident, then held; another pool's fill may evict it in between (the ARC is shared
      // and has its own lock): fault it in again.
      Status h = Status::Error(ENOENT, "unit keeps being evicted");
      for (int tries = 0; tries < 8 && !h.ok(); tries++) {
        ObjsetWriter::CacheUnit f;
        Status fs = od->os->FaultUnit(obj, u.off, &f).status();
        if (!fs.ok()) {
          h = fs;
          break;
        }
        h = arc_->Hold(k, u.off);
      }
      if (!h.ok()) {
        s = h.Context("pinning object " + std::to_string(obj));
        break;
      }
      // A unit held for the pin but dropped since keeps its place in `held`.
      if (held.insert(u.off).second) taken.push_back(u.off);
    }
    at = u.off + u.len;
  }
  if (s.ok()) {
    auto seg = od->os->CacheSegment(obj);
    if (seg.ok()) return seg;
    s = seg.status();
  }
  for (uint64_t off : taken) {
    arc_->Release(k, off);
    held.erase(off);
  }
  if (held.empty()) pinned_.erase(key);
  return s;
}

void Pool::UnpinFile(const ArcObjKey& k) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = pinned_.find({k.space, k.object});
  if (it == pinned_.end()) return;
  if (arc_ && k.pool == guid_)
    for (uint64_t off : it->second) arc_->Release(k, off);
  pinned_.erase(it);
}

}  // namespace uzfs
