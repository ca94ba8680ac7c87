// The DMU's side of the ARC (see dmu_write.h, "File data and the ARC"): how a plain file's
// data is cut into ARC units, the object's segment, and fills from the dirty blocks or disk
// (dbuf.c's dbuf_read of a level-0 block, with the ARC's units in place of dbufs).
#include <algorithm>

#include "libcore/dmu/dmu_write.h"
#include "libcore/dmu/dmu_write_obj.h"
#include "libcore/zio/zio_inject.h"

namespace uzfs {

namespace {

// How an object's file data is cut into ARC units (see dmu_write.h).
enum UnitMode : int {
  kUnitNone = 0,    // several blocks of a size neither a multiple nor a divisor of a page
  kUnitBlock = 1,   // unit = block (block size a multiple of the page size)
  kUnitPage = 2,    // unit = page (block size divides the page size)
  kUnitSingle = 3,  // one block of another size: [0, block rounded up), then pages
};

int UnitModeOf(const DnodePhys& dn) {
  uint64_t bs = dn.datablksz();
  if (bs % kArcPageSize == 0) return kUnitBlock;
  if (kArcPageSize % bs == 0) return kUnitPage;
  return dn.maxblkid == 0 ? kUnitSingle : kUnitNone;
}

}  // namespace

void ObjsetWriter::set_cache(Arc* arc, ArcObjKey base) {
  arc_ = arc;
  cache_base_ = base;
  for (auto& [id, o] : objs_) {
    o->unit_mode = -1;
    o->file_size = kUnknownFileSize;
  }
}

bool ObjsetWriter::UseCache(Obj& o) {
  if (!arc_ || o.id == 0 || !IsFileData(o.dn.type)) return false;
  int mode = UnitModeOf(o.dn);
  if (mode != o.unit_mode) {
    // First use here, or the units' layout changed: whatever the ARC holds for the object was
    // cut differently (or belongs to an earlier life of the object number).
    arc_->DropObject(CacheKey(o.id));
    o.unit_mode = mode;
  }
  return mode != kUnitNone;
}

bool ObjsetWriter::UnitOf(const Obj& o, uint64_t at, CacheUnit* u) const {
  uint64_t bs = o.dn.datablksz();
  switch (o.unit_mode) {
    case kUnitBlock:
      *u = {at / bs * bs, bs};
      return true;
    case kUnitSingle:
      if (at < P2RoundUp(bs, kArcPageSize)) {
        *u = {0, P2RoundUp(bs, kArcPageSize)};
        return true;
      }
      [[fallthrough]];
    case kUnitPage:
      *u = {P2Align(at, kArcPageSize), kArcPageSize};
      return true;
    default:
      return false;
  }
}

Result<Bytes> ObjsetWriter::FillUnit(Obj& o, uint64_t off, uint64_t len) {
  Bytes out(len, 0);
  uint64_t bs = o.dn.datablksz();
  for (uint64_t blkid = off / bs; blkid * bs < off + len && blkid <= o.dn.maxblkid; blkid++) {
    uint64_t start = blkid * bs;
    uint64_t lo = std::max(start, off), hi = std::min(start + bs, off + len);
    auto it = o.blocks.find(blkid);
    if (it != o.blocks.end()) {
      std::copy(it->second->begin() + static_cast<long>(lo - start),
                it->second->begin() + static_cast<long>(hi - start), out.begin() + static_cast<long>(lo - off));
      continue;
    }
    UZFS_ASSIGN(BlkPtr bp, BpAt(o, 0, blkid));
    if (bp.is_hole()) continue;
    if (!bp.little_endian()) return Status::Error(ENOTSUP, "big-endian block: read-only here");
    UZFS_ASSIGN(Bytes data, ReadFromDisk(o, 0, blkid, bp));  // zinject -t data first
    data.resize(bs, 0);
    std::copy(data.begin() + static_cast<long>(lo - start), data.begin() + static_cast<long>(hi - start),
              out.begin() + static_cast<long>(lo - off));
  }
  return out;
}

Result<std::shared_ptr<ArcSegment>> ObjsetWriter::SegmentOf(Obj& o) {
  ArcObjKey k = CacheKey(o.id);
  if (o.file_size == kUnknownFileSize) {
    if (auto seg = arc_->FindSegment(k)) {
      o.file_size = seg->size();
      return seg;
    }
    o.file_size = (o.dn.maxblkid + 1) * o.dn.datablksz();
  }
  return arc_->Segment(k, o.file_size);
}

void ObjsetWriter::DropCached(Obj& o) {
  if (arc_) arc_->DropObject(CacheKey(o.id));
  o.unit_mode = -1;
}

// After dn's block size changed: the new layout's units start empty in the same segment.
void ObjsetWriter::RecutCached(Obj& o) {
  if (arc_) arc_->ForgetUnits(CacheKey(o.id));
  o.unit_mode = UnitModeOf(o.dn);
}

void ObjsetWriter::TrimClean(Obj& o) {
  if (!dirty_.count(o.id) && o.dirty_ind.empty() && o.free_from == UINT64_MAX && o.punched.empty())
    o.ind.clear();
}

Status ObjsetWriter::NoteFileSize(uint64_t obj, uint64_t size) {
  if (!arc_) return Status::Ok();
  UZFS_ASSIGN(Obj * o, Load(obj));
  if (!IsFileData(o->dn.type)) return Status::Ok();
  UseCache(*o);
  o->file_size = size;
  if (!arc_->Resize(CacheKey(obj), size).ok()) DropCached(*o);
  return Status::Ok();
}

Result<ObjsetWriter::CacheUnit> ObjsetWriter::UnitAt(uint64_t obj, uint64_t at) {
  UZFS_ASSIGN(Obj * o, Load(obj));
  if (!arc_ || !IsFileData(o->dn.type)) return Status::Error(EINVAL, "no file data cache");
  CacheUnit u;
  if (!UseCache(*o) || !UnitOf(*o, at, &u))
    return Status::Error(ENOTSUP, "object " + std::to_string(obj) + ": blocks fit no cache unit");
  return u;
}

Result<std::shared_ptr<ArcSegment>> ObjsetWriter::CacheSegment(uint64_t obj) {
  UZFS_ASSIGN(Obj * o, Load(obj));
  if (!arc_ || !IsFileData(o->dn.type)) return Status::Error(EINVAL, "no file data cache");
  UseCache(*o);
  return SegmentOf(*o);
}

Result<bool> ObjsetWriter::FaultUnit(uint64_t obj, uint64_t at, CacheUnit* unit) {
  UZFS_ASSIGN(CacheUnit u, UnitAt(obj, at));
  UZFS_ASSIGN(Obj * o, Load(obj));
  UZFS_ASSIGN(auto seg, SegmentOf(*o));
  if (at >= seg->size()) return Status::Error(EINVAL, "fault past the end of the file");
  *unit = u;
  auto r = arc_->Fault(CacheKey(obj), u.off, u.len, [&]() { return FillUnit(*o, u.off, u.len); });
  TrimClean(*o);
  return r;
}

}  // namespace uzfs
