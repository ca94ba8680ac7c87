#include "libcore/dmu/dmu.h"

#include <algorithm>
#include <cstring>

namespace uzfs {

namespace {
constexpr int kBpShift = 7;  // 128-byte block pointers
constexpr size_t kCacheLimit = 2048;
constexpr uint64_t kMaxReadAll = 1ULL << 30;
}  // namespace

bool DmuTypeIsMetadata(uint8_t type) {
  return !(type == kOtPlainFileContents || type == kOtZvol || type == kOtPlainOther ||
           type == kOtUint64Other);
}

Result<DnodePhys> DnodePhys::Decode(const uint8_t* p, bool little) {
  DnodePhys d;
  d.little = little;
  d.type = p[0];
  d.indblkshift = p[1];
  d.nlevels = p[2];
  d.nblkptr = p[3];
  d.bonustype = p[4];
  d.checksum = p[5];
  d.compress = p[6];
  d.flags = p[7];
  d.datablkszsec = Load16(p + 8, little);
  d.bonuslen = Load16(p + 10, little);
  d.maxblkid = Load64(p + 16, little);
  d.used = Load64(p + 24, little);
  if (d.type == kOtNone) return d;
  if (d.nblkptr < 1 || d.nblkptr > 3 || 64 + d.nblkptr * kBlkPtrSize + d.bonuslen > kDnodeSize)
    return Status::Error(ECORRUPT, "dnode: bad nblkptr/bonuslen");
  if (d.nlevels < 1 || d.nlevels > kMaxLevels)
    return Status::Error(ECORRUPT, "dnode: bad nlevels " + std::to_string(d.nlevels));
  if (d.datablkszsec == 0 || d.datablksz() > kSpaMaxLargeBlockSize)
    return Status::Error(ECORRUPT, "dnode: bad data block size");
  if (d.nlevels > 1 && (d.indblkshift < 10 || d.indblkshift > 17))
    return Status::Error(ECORRUPT, "dnode: bad indirect block shift");
  for (int i = 0; i < d.nblkptr; i++) d.blkptr.push_back(BlkPtr::Decode(p + 64 + i * kBlkPtrSize, little));
  const uint8_t* b = p + 64 + d.nblkptr * kBlkPtrSize;
  d.bonus.assign(b, b + d.bonuslen);
  return d;
}

Result<std::unique_ptr<ObjSet>> ObjSet::Open(BlockReader* reader, const BlkPtr& bp) {
  std::unique_ptr<ObjSet> os(new ObjSet(reader));
  os->rootbp_ = bp;
  if (bp.is_hole()) return Status::Error(ENOENT, "objset: hole block pointer");
  UZFS_ASSIGN(Bytes buf, reader->Read(bp));
  if (buf.size() < kObjsetPhysSizeV1) return Status::Error(ECORRUPT, "objset: block too small");
  const bool le = bp.little_endian();
  UZFS_ASSIGN(os->meta_, DnodePhys::Decode(buf.data(), le));
  if (os->meta_.type != kOtDnode) return Status::Error(ECORRUPT, "objset: meta-dnode has wrong type");
  os->zil_claim_txg_ = Load64(buf.data() + 512, le);
  os->zil_log_ = BlkPtr::Decode(buf.data() + 512 + 16, le);
  os->os_type_ = Load64(buf.data() + 704, le);
  if (buf.size() >= kObjsetPhysSize) {
    for (int i = 0; i < 2; i++) {
      UZFS_ASSIGN(DnodePhys d, DnodePhys::Decode(buf.data() + 1024 + 512 * i, le));
      if (d.allocated()) (i == 0 ? os->userused_ : os->groupused_) = std::make_unique<DnodePhys>(std::move(d));
    }
  }
  return os;
}

uint64_t ObjSet::object_slots() const {
  uint64_t per_block = meta_.datablksz() >> kDnodeShift;
  return (meta_.maxblkid + 1) * per_block;
}

Result<const Bytes*> ObjSet::CachedRead(const BlkPtr& bp) {
  auto key = std::make_pair(bp.dva[0].word[1] ^ (bp.dva[0].word[0] << 40), bp.birth);
  auto it = cache_.find(key);
  if (it != cache_.end()) return &it->second;
  if (cache_.size() >= kCacheLimit) cache_.clear();
  UZFS_ASSIGN(Bytes b, reader_->Read(bp));
  return &cache_.emplace(key, std::move(b)).first->second;
}

Result<BlkPtr> ObjSet::BlockPointer(const DnodePhys& dn, uint64_t blkid) {
  if (blkid > dn.maxblkid) return BlkPtr{};
  const int epb_shift = dn.indblkshift - kBpShift;
  const int levels = dn.nlevels;
  uint64_t top = levels > 1 ? blkid >> (epb_shift * (levels - 1)) : blkid;
  if (levels > 1 && epb_shift * (levels - 1) >= 64) top = 0;
  if (top >= dn.nblkptr) return BlkPtr{};
  BlkPtr bp = dn.blkptr[top];
  for (int level = levels - 1; level >= 1; level--) {
    if (bp.is_hole()) return BlkPtr{};
    if (bp.level() != level)
      return Status::Error(ECORRUPT, "indirect block at level " + std::to_string(bp.level()) +
                                         ", expected " + std::to_string(level));
    UZFS_ASSIGN(const Bytes* ind, CachedRead(bp));
    uint64_t idx = (blkid >> (epb_shift * (level - 1))) & ((1ULL << epb_shift) - 1);
    if ((idx + 1) * kBlkPtrSize > ind->size()) return Status::Error(ECORRUPT, "indirect block too small");
    bp = BlkPtr::Decode(ind->data() + idx * kBlkPtrSize, bp.little_endian());
  }
  return bp;
}

Result<Bytes> ObjSet::ReadBlock(const DnodePhys& dn, uint64_t blkid, bool* hole) {
  UZFS_ASSIGN(BlkPtr bp, BlockPointer(dn, blkid));
  if (hole) *hole = bp.is_hole();
  if (bp.is_hole()) return Bytes(dn.datablksz(), 0);
  UZFS_ASSIGN(Bytes b, reader_->Read(bp));
  b.resize(dn.datablksz(), 0);
  return b;
}

Result<Bytes> ObjSet::Read(const DnodePhys& dn, uint64_t off, uint64_t len) {
  const uint64_t bs = dn.datablksz();
  const uint64_t end_obj = (dn.maxblkid + 1) * bs;
  if (off >= end_obj) return Bytes{};
  len = std::min(len, end_obj - off);
  if (len > kMaxReadAll) return Status::Error(ENOMEM, "read too large");
  Bytes out(len, 0);
  uint64_t pos = off;
  while (pos < off + len) {
    uint64_t blkid = pos / bs, boff = pos % bs;
    uint64_t n = std::min(bs - boff, off + len - pos);
    UZFS_ASSIGN(BlkPtr bp, BlockPointer(dn, blkid));
    if (!bp.is_hole()) {
      UZFS_ASSIGN(Bytes b, reader_->Read(bp));
      if (b.size() < boff + n) b.resize(boff + n, 0);
      std::memcpy(out.data() + (pos - off), b.data() + boff, n);
    }
    pos += n;
  }
  return out;
}

Result<Bytes> ObjSet::ReadAll(const DnodePhys& dn) {
  const uint64_t total = (dn.maxblkid + 1) * dn.datablksz();
  if (total > kMaxReadAll) return Status::Error(ENOMEM, "object too large to read whole");
  return Read(dn, 0, total);
}

Result<DnodePhys> ObjSet::Dnode(uint64_t obj) {
  if (obj >= object_slots()) return Status::Error(ENOENT, "object " + std::to_string(obj));
  const uint64_t per_block = meta_.datablksz() >> kDnodeShift;
  UZFS_ASSIGN(BlkPtr bp, BlockPointer(meta_, obj / per_block));
  if (bp.is_hole()) return Status::Error(ENOENT, "object " + std::to_string(obj));
  UZFS_ASSIGN(const Bytes* blk, CachedRead(bp));
  uint64_t off = (obj % per_block) * kDnodeSize;
  if (off + kDnodeSize > blk->size()) return Status::Error(ECORRUPT, "dnode block too small");
  UZFS_ASSIGN(DnodePhys d, DnodePhys::Decode(blk->data() + off, bp.little_endian()));
  if (!d.allocated()) return Status::Error(ENOENT, "object " + std::to_string(obj));
  return d;
}

Result<bool> ObjSet::NextObject(uint64_t* obj) {
  const uint64_t slots = object_slots();
  const uint64_t per_block = meta_.datablksz() >> kDnodeShift;
  for (uint64_t o = *obj + 1; o < slots; o++) {
    if (o % per_block == 0 || o == *obj + 1) {
      UZFS_ASSIGN(BlkPtr bp, BlockPointer(meta_, o / per_block));
      if (bp.is_hole()) {  // skip the whole block of free dnodes
        o = (o / per_block + 1) * per_block - 1;
        continue;
      }
    }
    auto d = Dnode(o);
    if (d.ok()) {
      *obj = o;
      return true;
    }
    if (d.status().code() != ENOENT) return d.status();
  }
  return false;
}

Status ObjSet::Traverse(uint64_t min_txg, const VisitFn& fn,
                        const std::function<void(const BlockVisit&, const Status&)>& on_error) {
  BlockVisit root{&rootbp_, 0, -1, 0, nullptr};
  if (rootbp_.is_hole() || rootbp_.birth <= min_txg) return Status::Ok();
  UZFS_TRY(fn(root));
  UZFS_TRY(VisitDnode(meta_, 0, min_txg, fn, on_error, 0));
  if (userused_) UZFS_TRY(VisitDnode(*userused_, kUserUsedObject, min_txg, fn, on_error, 0));
  if (groupused_) UZFS_TRY(VisitDnode(*groupused_, kGroupUsedObject, min_txg, fn, on_error, 0));
  return Status::Ok();
}

Status ObjSet::VisitDnode(const DnodePhys& dn, uint64_t object, uint64_t min_txg,
                          const VisitFn& fn,
                          const std::function<void(const BlockVisit&, const Status&)>& on_error,
                          int depth, bool into_dnodes) {
  for (int i = 0; i < dn.nblkptr; i++) {
    UZFS_TRY(VisitBp(dn.blkptr[i], object, dn.nlevels - 1, static_cast<uint64_t>(i), &dn,
                     min_txg, fn, on_error, depth, into_dnodes));
  }
  return Status::Ok();
}

Status ObjSet::VisitBp(const BlkPtr& bp, uint64_t object, int level, uint64_t blkid,
                       const DnodePhys* dn, uint64_t min_txg, const VisitFn& fn,
                       const std::function<void(const BlockVisit&, const Status&)>& on_error,
                       int depth, bool into_dnodes) {
  if (bp.is_hole() || bp.birth <= min_txg) return Status::Ok();
  if (depth > 2 * kMaxLevels + 2) return Status::Error(ECORRUPT, "block tree too deep");
  BlockVisit v{&bp, object, level, blkid, dn};
  UZFS_TRY(fn(v));
  const bool is_meta_dnode_block =
      into_dnodes && object == 0 && level == 0 && bp.type() == kOtDnode;
  if (level == 0 && !is_meta_dnode_block) return Status::Ok();
  auto data = reader_->Read(bp);
  if (!data.ok()) {
    if (on_error) {
      on_error(v, data.status());
      return Status::Ok();
    }
    return data.status();
  }
  const Bytes& b = *data;
  if (level > 0) {
    const int epb_shift = dn->indblkshift - kBpShift;
    const size_t n = b.size() / kBlkPtrSize;
    for (size_t i = 0; i < n; i++) {
      BlkPtr child = BlkPtr::Decode(b.data() + i * kBlkPtrSize, bp.little_endian());
      UZFS_TRY(VisitBp(child, object, level - 1, (blkid << epb_shift) + i, dn, min_txg, fn,
                       on_error, depth + 1, into_dnodes));
    }
    return Status::Ok();
  }
  // A block of the meta-dnode: every allocated dnode in it is an object to walk.
  const uint64_t per_block = b.size() / kDnodeSize;
  for (uint64_t i = 0; i < per_block; i++) {
    auto d = DnodePhys::Decode(b.data() + i * kDnodeSize, bp.little_endian());
    uint64_t obj = blkid * per_block + i;
    if (!d.ok()) {
      if (on_error) {
        BlockVisit dv{&bp, obj, 0, 0, nullptr};
        on_error(dv, d.status());
        continue;
      }
      return d.status();
    }
    if (!d->allocated()) continue;
    UZFS_TRY(VisitDnode(*d, obj, min_txg, fn, on_error, depth + 1));
  }
  return Status::Ok();
}

Status ObjSet::WalkObject(const DnodePhys& dn, uint64_t object, const VisitFn& fn) {
  return VisitDnode(dn, object, 0, fn, {}, 0, /*into_dnodes=*/false);
}

}  // namespace uzfs
