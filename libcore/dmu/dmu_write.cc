#include "libcore/dmu/dmu_write.h"
#include "libcore/dmu/dmu_write_obj.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "libcore/base/checksum.h"
#include "libcore/base/compress.h"
#include "libcore/zio/zio_inject.h"

namespace uzfs {

namespace {

constexpr uint8_t kFletcher4 = static_cast<uint8_t>(ChecksumId::kFletcher4);
constexpr uint8_t kLzjb = static_cast<uint8_t>(CompressId::kLzjb);
constexpr uint8_t kCompressOff = static_cast<uint8_t>(CompressId::kOff);
constexpr uint8_t kFlagUsedBytes = 1;
constexpr int kDnodesPerBlockShift = 5;  // 16K dnode blocks hold 32 dnodes
constexpr uint32_t kDnodeBlockSize = 16 * 1024;
constexpr uint8_t kIndBlkShift = 14;     // DN_MAX_INDBLKSHIFT


bool SameDvas(const BlkPtr& a, const BlkPtr& b) {
  for (int i = 0; i < kSpaDvas; i++)
    if (!(a.dva[i] == b.dva[i])) return false;
  return true;
}

uint8_t ResolveChecksum(uint8_t c, uint8_t dflt) {
  if (c == 0) return dflt;
  if (c == static_cast<uint8_t>(ChecksumId::kOn)) return kFletcher4;
  return c;
}
uint8_t ResolveCompress(uint8_t c, uint8_t dflt) {
  if (c == 0) return dflt;
  if (c == static_cast<uint8_t>(CompressId::kOn)) return kLzjb;
  return c;
}

// A copy of a block image. Bytes' copy constructor copies byte by byte (libstdc++ builds
// each element through the custom allocator and GCC keeps that loop): a 4 KiB random write
// into a block an early writeback was writing spent most of its time under the pool lock
// there. Allocating zeroed (a memset) and then memcpy is several times faster.
Bytes CopyImage(const Bytes& src) {
  Bytes out(src.size());
  if (!src.empty()) std::memcpy(out.data(), src.data(), src.size());
  return out;
}

}  // namespace

void EncodeDnodePhys(const DnodePhys& dn, uint8_t* p) {
  std::memset(p, 0, kDnodeSize);
  if (dn.type == kOtNone) return;
  p[0] = dn.type;
  p[1] = dn.indblkshift;
  p[2] = dn.nlevels;
  p[3] = dn.nblkptr;
  p[4] = dn.bonustype;
  p[5] = dn.checksum;
  p[6] = dn.compress;
  p[7] = dn.flags;
  StoreLE16(p + 8, dn.datablkszsec);
  StoreLE16(p + 10, dn.bonuslen);
  StoreLE64(p + 16, dn.maxblkid);
  StoreLE64(p + 24, dn.used);
  for (int i = 0; i < dn.nblkptr; i++) {
    BlkPtr bp = i < static_cast<int>(dn.blkptr.size()) ? dn.blkptr[i] : BlkPtr{};
    bp.Encode(p + 64 + i * kBlkPtrSize);
  }
  std::copy(dn.bonus.begin(), dn.bonus.end(), p + 64 + dn.nblkptr * kBlkPtrSize);
}


ObjsetWriter::ObjsetWriter(BlockReader* r, const ObjsetPolicy& p) : reader_(r), policy_(p) {
  static std::atomic<uint64_t> next_serial{1};
  serial_ = next_serial++;
}
ObjsetWriter::~ObjsetWriter() = default;

std::unique_ptr<ObjsetWriter> ObjsetWriter::Create(BlockReader* reader, uint64_t os_type,
                                                   const ObjsetPolicy& policy) {
  std::unique_ptr<ObjsetWriter> w(new ObjsetWriter(reader, policy));
  w->os_type_ = os_type;
  auto meta = std::make_unique<Obj>();
  meta->dn.type = kOtDnode;
  meta->dn.indblkshift = kIndBlkShift;
  meta->dn.nblkptr = 3;
  meta->dn.blkptr.resize(3);
  meta->dn.datablkszsec = kDnodeBlockSize >> 9;
  meta->dn.flags = kFlagUsedBytes;
  meta->dn.checksum = 0;
  meta->dn.compress = 0;
  // dmu_objset_create_impl: dataset meta-dnodes get enough levels for every object number
  // from the start (7 with 16K blocks); the MOS grows as needed.
  meta->dn.nlevels = os_type == kOstMeta ? 1 : 7;
  w->objs_[0] = std::move(meta);
  w->phys_tail_.assign(kObjsetPhysSize - kDnodeSize, 0);
  StoreLE64(w->phys_tail_.data() + (704 - 512), os_type);
  w->root_dirty_ = true;
  return w;
}

Result<std::unique_ptr<ObjsetWriter>> ObjsetWriter::Open(BlockReader* reader,
                                                         const BlkPtr& rootbp,
                                                         const ObjsetPolicy& policy) {
  if (rootbp.is_hole()) return Status::Error(ENOENT, "objset: hole block pointer");
  if (!rootbp.little_endian())
    return Status::Error(ENOTSUP, "objset written in big-endian order: read-only here");
  UZFS_ASSIGN(Bytes buf, reader->Read(rootbp));
  if (buf.size() < kObjsetPhysSizeV1) return Status::Error(ECORRUPT, "objset: block too small");
  std::unique_ptr<ObjsetWriter> w(new ObjsetWriter(reader, policy));
  auto meta = std::make_unique<Obj>();
  UZFS_ASSIGN(meta->dn, DnodePhys::Decode(buf.data(), true));
  if (meta->dn.type != kOtDnode) return Status::Error(ECORRUPT, "objset: bad meta-dnode");
  w->objs_[0] = std::move(meta);
  w->phys_tail_.assign(buf.begin() + kDnodeSize, buf.end());
  w->phys_tail_.resize(kObjsetPhysSize - kDnodeSize, 0);
  w->os_type_ = LoadLE64(buf.data() + 704);
  w->rootbp_ = rootbp;
  w->nobjects_ = rootbp.fill;
  return w;
}

ObjsetWriter::Obj* ObjsetWriter::LoadedOrNull(uint64_t obj) {
  auto it = objs_.find(obj);
  return it == objs_.end() ? nullptr : it->second.get();
}

Result<ObjsetWriter::Obj*> ObjsetWriter::Load(uint64_t obj) {
  if (Obj* o = LoadedOrNull(obj)) {
    if (o->dn.type == kOtNone) return Status::Error(ENOENT, "object " + std::to_string(obj) + " is free");
    return o;
  }
  if (IsSpecialObject(obj)) return LoadSpecial(obj);
  Obj& meta = *objs_[0];
  uint64_t blkid = obj >> kDnodesPerBlockShift;
  if (blkid > meta.dn.maxblkid && !meta.dirty_blocks.count(blkid))
    return Status::Error(ENOENT, "object " + std::to_string(obj) + " does not exist");
  UZFS_ASSIGN(Bytes * b, Block(meta, blkid, false));
  uint64_t slot = obj & ((1u << kDnodesPerBlockShift) - 1);
  UZFS_ASSIGN(DnodePhys dn, DnodePhys::Decode(b->data() + slot * kDnodeSize, true));
  if (dn.type == kOtNone) return Status::Error(ENOENT, "object " + std::to_string(obj) + " is free");
  auto o = std::make_unique<Obj>();
  o->id = obj;
  o->dn = std::move(dn);
  Obj* raw = o.get();
  objs_[obj] = std::move(o);
  return raw;
}

Result<BlkPtr> ObjsetWriter::BpAt(Obj& o, int level, uint64_t blkid) {
  int top = o.dn.nlevels - 1;
  if (level > top) return BlkPtr{};
  if (level == 0 && (blkid >= o.free_from || o.Punched(blkid))) return BlkPtr{};
  if (level == top) {
    if (blkid >= o.dn.blkptr.size()) return BlkPtr{};
    return o.dn.blkptr[blkid];
  }
  int epbs = o.epbs();
  UZFS_ASSIGN(Bytes * parent, Indirect(o, level + 1, blkid >> epbs));
  uint64_t idx = blkid & ((1ULL << epbs) - 1);
  return BlkPtr::Decode(parent->data() + idx * kBlkPtrSize, true);
}

Result<Bytes*> ObjsetWriter::Indirect(Obj& o, int level, uint64_t blkid) {
  auto key = std::make_pair(level, blkid);
  auto it = o.ind.find(key);
  if (it != o.ind.end()) return &it->second;
  UZFS_ASSIGN(BlkPtr bp, BpAt(o, level, blkid));
  Bytes data;
  if (bp.is_hole()) {
    data = Bytes(1ULL << o.dn.indblkshift);
  } else {
    if (!bp.little_endian())
      return Status::Error(ENOTSUP, "big-endian indirect block: read-only here");
    UZFS_ASSIGN(data, ReadFromDisk(o, level, blkid, bp));
  }
  return &(o.ind[key] = std::move(data));
}

Result<Bytes> ObjsetWriter::ReadFromDisk(Obj& o, int level, uint64_t blkid, const BlkPtr& bp) {
  // zio_handle_fault_injection (zinject -t data, dnode), then the read; zio_done's
  // spa_log_error for a logical read that failed.
  Status inj = Status::Ok();
  if (cache_base_.space != 0) {
    inj = InjectedRead(cache_base_.pool, cache_base_.space, o.id, level, blkid, bp.type());
  } else if (cache_base_.pool != 0) {
    // The MOS (Pool::ArmMos): its ordinary reads meet the handlers naming one of its blocks
    // (zinject -b 0:...); those naming a DMU type (-t mos, config...) are a scrub's, as in
    // OpenZFS, where such blocks are read once and then served by the ARC.
    for (const DataInjection& d : DataInjections())
      if (!d.mos && d.pool_guid == cache_base_.pool && d.objset == 0 && d.object == o.id &&
          d.level == level && blkid >= d.start_blkid && blkid <= d.end_blkid) {
        inj = Status::Error(d.error, d.error == ECKSUM ? "checksum error (injected)" : "I/O error (injected)");
        break;
      }
  }
  Result<Bytes> r = inj.ok() ? reader_->Read(bp) : Result<Bytes>(inj);
  if (!r.ok() && read_error_) {
    const int c = r.status().code();
    if (c == EIO || c == ECKSUM || c == ENXIO) read_error_(o.id, level, blkid);
  }
  return r;
}

Status ObjsetWriter::GrowLevels(Obj& o, uint64_t blkid) {
  for (;;) {
    int epbs = o.epbs();
    uint64_t shift = static_cast<uint64_t>(epbs) * (o.dn.nlevels - 1);
    if (shift >= 64 || blkid < (static_cast<uint64_t>(o.dn.nblkptr) << shift)) return Status::Ok();
    if (o.dn.nlevels >= kMaxLevels) return Status::Error(EFBIG, "object too large");
    // The new top indirect block holds the old top-level pointers.
    Bytes top(1ULL << o.dn.indblkshift, 0);
    for (int i = 0; i < o.dn.nblkptr; i++) o.dn.blkptr[i].Encode(top.data() + i * kBlkPtrSize);
    if (o.dn.nlevels == 1) {
      // Entering level 1: loaded level-0 blocks keep their keys; nothing else to move.
    }
    int new_level = o.dn.nlevels;
    o.ind[{new_level, 0}] = std::move(top);
    o.dirty_ind.insert({new_level, 0});
    for (auto& bp : o.dn.blkptr) bp = BlkPtr{};
    o.dn.nlevels++;
  }
}

Result<Bytes*> ObjsetWriter::Block(Obj& o, uint64_t blkid, bool for_write) {
  auto it = o.blocks.find(blkid);
  if (it == o.blocks.end()) {
    uint64_t bs = o.dn.datablksz();
    Bytes data;
    bool have = false;
    CacheUnit u;
    if (for_write && UseCache(o) && UnitOf(o, blkid * bs, &u)) {
      // The ARC's copy may be newer than disk (stores through a mapping).
      auto r = arc_->Peek(CacheKey(o.id), u.off, u.len);
      if (r.ok()) {
        uint64_t start = blkid * bs;
        if (u.off == start && r->size() == bs) {
          data = std::move(r).value();  // the unit is the block: no second copy
        } else {
          data = Bytes(bs);
          uint64_t n = std::min<uint64_t>(bs, u.off + r->size() - start);
          std::copy_n(r->begin() + static_cast<long>(start - u.off), n, data.begin());
        }
        // Stores past the end of the file (in its last page) never reach the disk.
        if (o.file_size != kUnknownFileSize && o.file_size < start + bs)
          std::fill(data.begin() + static_cast<long>(std::max(o.file_size, start) - start), data.end(), 0);
        have = true;
      }
    }
    if (!have) {
      UZFS_ASSIGN(data, BlockBytes(o, blkid));
    }
    it = o.blocks.emplace(blkid, std::make_shared<Bytes>(std::move(data))).first;
  }
  if (for_write) {
    // Copy-on-write: an early writeback may still be writing this image (dbuf_fix_old_data).
    if (it->second.use_count() > 1) it->second = std::make_shared<Bytes>(CopyImage(*it->second));
    UZFS_TRY(GrowLevels(o, blkid));
    o.dirty_blocks.insert(blkid);
    o.gen[blkid] = ++gen_;
    MarkDirty(o);
  }
  return it->second.get();
}

// Sequential 1 MiB writes through the FUSE mount spent over half of their time in
// ZplWriter::Write (under the pool lock) zero-filling fresh blocks (and faulting their pages
// in) only to overwrite them, and an overwrite of a block on disk read it first. With this
// (and zfsd's malloc thresholds) a 1 GiB fio write's mean latency per 1 MiB write went from
// 1187-1251 us to 991-1003 us in alternating runs.
Result<Bytes*> ObjsetWriter::WholeBlock(Obj& o, uint64_t blkid, ByteSpan src) {
  std::shared_ptr<Bytes>& b = o.blocks[blkid];
  if (b && b.use_count() == 1 && b->size() == src.size())
    std::copy(src.begin(), src.end(), b->begin());  // not shared: reuse the buffer
  else
    b = std::make_shared<Bytes>(src.begin(), src.end());
  Bytes* raw = b.get();
  UZFS_TRY(GrowLevels(o, blkid));
  o.dirty_blocks.insert(blkid);
  o.gen[blkid] = ++gen_;
  MarkDirty(o);
  return raw;
}

Result<Bytes> ObjsetWriter::BlockBytes(Obj& o, uint64_t blkid) {
  uint64_t bs = o.dn.datablksz();
  if (auto it = o.blocks.find(blkid); it != o.blocks.end()) return CopyImage(*it->second);
  UZFS_ASSIGN(BlkPtr bp, BpAt(o, 0, blkid));
  if (bp.is_hole()) return Bytes(bs, 0);
  if (!bp.little_endian()) return Status::Error(ENOTSUP, "big-endian block: read-only here");
  UZFS_ASSIGN(Bytes data, ReadFromDisk(o, 0, blkid, bp));  // zinject -t data / dnode first
  data.resize(bs, 0);
  return data;
}

void ObjsetWriter::MarkDirty(Obj& o) { dirty_.insert(o.id); }

Result<uint64_t> ObjsetWriter::Allocate(uint8_t type, uint32_t blocksize, uint8_t bonustype,
                                        uint16_t bonuslen, uint64_t want) {
  if (blocksize == 0) blocksize = 512;
  if (blocksize % 512 || blocksize > kSpaMaxBlockSize)
    return Status::Error(EINVAL, "bad block size " + std::to_string(blocksize));
  if (bonuslen > 320) return Status::Error(EINVAL, "bonus too large");
  uint64_t obj = want ? want : next_obj_;
  for (;; obj++) {
    if (want && obj != want) return Status::Error(EEXIST, "object " + std::to_string(want) + " in use");
    if (Obj* o = LoadedOrNull(obj)) {
      if (o->dn.type == kOtNone && !o->freeing) break;
      continue;
    }
    auto r = Load(obj);
    if (!r.ok() && r.status().code() == ENOENT) break;
    if (!r.ok()) return r.status();
  }
  auto o = std::make_unique<Obj>();
  o->id = obj;
  DnodePhys& dn = o->dn;
  dn.type = type;
  dn.indblkshift = kIndBlkShift;
  dn.nlevels = 1;
  dn.nblkptr = static_cast<uint8_t>(1 + (320 - bonuslen) / kBlkPtrSize);
  dn.blkptr.resize(dn.nblkptr);
  dn.bonustype = bonustype;
  dn.bonuslen = bonuslen;
  dn.bonus.assign(bonuslen, 0);
  dn.datablkszsec = static_cast<uint16_t>(blocksize >> 9);
  dn.flags = kFlagUsedBytes;
  Obj* raw = o.get();
  objs_[obj] = std::move(o);
  MarkDirty(*raw);
  if (!IsSpecialObject(obj)) nobjects_++;  // the special objects are not in the fill
  if (!want) next_obj_ = obj + 1;
  return obj;
}

Status ObjsetWriter::FreeObject(uint64_t obj) {
  if (obj == 0) return Status::Error(EINVAL, "cannot free the meta-dnode");
  UZFS_ASSIGN(Obj * o, Load(obj));
  if (IsFileData(o->dn.type)) DropCached(*o);
  o->file_size = kUnknownFileSize;
  o->blocks.clear();
  o->dirty_blocks.clear();
  o->gen.clear();
  o->free_from = 0;
  o->punched.clear();
  o->freeing = true;
  MarkDirty(*o);
  nobjects_--;
  return Status::Ok();
}

Result<const DnodePhys*> ObjsetWriter::Dnode(uint64_t obj) {
  if (obj == 0) return &objs_[0]->dn;
  UZFS_ASSIGN(Obj * o, Load(obj));
  if (o->freeing) return Status::Error(ENOENT, "object freed");
  return &o->dn;
}

Result<Bytes> ObjsetWriter::Bonus(uint64_t obj) {
  UZFS_ASSIGN(const DnodePhys* dn, Dnode(obj));
  return dn->bonus;
}

Status ObjsetWriter::SetBonus(uint64_t obj, ByteSpan bonus) {
  UZFS_ASSIGN(Obj * o, Load(obj));
  if (bonus.size() != o->dn.bonuslen) return Status::Error(EINVAL, "bonus length mismatch");
  o->dn.bonus.assign(bonus.begin(), bonus.end());
  MarkDirty(*o);
  return Status::Ok();
}

Status ObjsetWriter::SetBlockSize(uint64_t obj, uint32_t blocksize) {
  UZFS_ASSIGN(Obj * o, Load(obj));
  if (blocksize % 512 || blocksize == 0 || blocksize > kSpaMaxLargeBlockSize)
    return Status::Error(EINVAL, "bad block size");
  if (o->dn.datablksz() == blocksize) return Status::Ok();
  if (o->dn.maxblkid > 0) return Status::Error(ENOTSUP, "object has more than one block");
  // No block yet (a new or sparse file): only the size changes, nothing is written
  // (dnode_set_blksz on an object without data).
  {
    UZFS_ASSIGN(BlkPtr bp0, BpAt(*o, 0, 0));
    CacheUnit u0;
    bool cached = UseCache(*o) && UnitOf(*o, 0, &u0) && arc_->Cached(CacheKey(obj), u0.off);
    if (bp0.is_hole() && !o->blocks.count(0) && !cached) {
      o->dn.datablkszsec = static_cast<uint16_t>(blocksize >> 9);
      if (IsFileData(o->dn.type)) RecutCached(*o);
      MarkDirty(*o);
      return Status::Ok();
    }
  }
  // Keep the single block's contents: load it, resize, rewrite.
  UZFS_ASSIGN(Bytes * b, Block(*o, 0, true));
  CacheUnit u;
  if (UseCache(*o) && UnitOf(*o, 0, &u)) {
    // The ARC's copy is at least as new as ours (stores through a mapping).
    if (auto r = arc_->Peek(CacheKey(obj), u.off, u.len); r.ok()) {
      uint64_t keep = std::min<uint64_t>(b->size(), o->file_size == kUnknownFileSize ? b->size() : o->file_size);
      std::copy_n(r->begin(), keep, b->begin());
    }
  }
  b->resize(blocksize, 0);
  o->dn.datablkszsec = static_cast<uint16_t>(blocksize >> 9);
  // The units change with the block size; the segment (maybe mapped by clients) stays.
  if (IsFileData(o->dn.type)) RecutCached(*o);
  return Status::Ok();
}

Status ObjsetWriter::SetChecksumCompress(uint64_t obj, uint8_t checksum, uint8_t compress) {
  UZFS_ASSIGN(Obj * o, Load(obj));
  o->dn.checksum = checksum;
  o->dn.compress = compress;
  MarkDirty(*o);
  return Status::Ok();
}

Result<uint64_t> ObjsetWriter::Length(uint64_t obj) {
  UZFS_ASSIGN(Obj * o, Load(obj));
  bool any = o->dn.maxblkid > 0 || !o->dirty_blocks.empty();
  if (!any) {
    UZFS_ASSIGN(BlkPtr bp, BpAt(*o, 0, 0));
    any = !bp.is_hole();
  }
  return any ? (o->dn.maxblkid + 1) * o->dn.datablksz() : 0;
}

Result<Bytes> ObjsetWriter::Read(uint64_t obj, uint64_t off, uint64_t len) {
  UZFS_ASSIGN(Obj * o, Load(obj));
  uint64_t bs = o->dn.datablksz();
  uint64_t end = (o->dn.maxblkid + 1) * bs;
  if (off >= end) return Bytes{};
  len = std::min(len, end - off);
  Bytes out(len);
  bool file = IsFileData(o->dn.type);
  std::shared_ptr<ArcSegment> seg;
  if (file && UseCache(*o)) {
    // No segment (out of descriptors, say): read around the cache.
    if (auto r = SegmentOf(*o); r.ok()) seg = std::move(r).value();
  }
  if (seg) {
    ArcObjKey k = CacheKey(obj);
    for (uint64_t pos = 0; pos < len;) {
      uint64_t at = off + pos;
      CacheUnit u;
      UnitOf(*o, at, &u);
      uint64_t n = std::min(u.off + u.len - at, len - pos);
      MutByteSpan dst(out.data() + pos, n);
      if (u.off >= seg->size()) {
        // Past the file size the segment was given: not cached.
        UZFS_ASSIGN(Bytes b, FillUnit(*o, u.off, u.len));
        std::copy_n(b.begin() + static_cast<long>(at - u.off), n, dst.begin());
      } else {
        UZFS_TRY(arc_->Read(k, u.off, u.len, at, dst, [&]() { return FillUnit(*o, u.off, u.len); }));
      }
      pos += n;
    }
    TrimClean(*o);
    return out;
  }
  uint64_t pos = 0;
  while (pos < len) {
    uint64_t blkid = (off + pos) / bs, boff = (off + pos) % bs;
    uint64_t n = std::min(bs - boff, len - pos);
    if (file) {
      // File data is not kept here (without an ARC it is read again each time).
      UZFS_ASSIGN(Bytes b, BlockBytes(*o, blkid));
      std::copy_n(b.begin() + static_cast<long>(boff), n, out.begin() + static_cast<long>(pos));
    } else {
      UZFS_ASSIGN(Bytes * b, Block(*o, blkid, false));
      std::copy_n(b->begin() + static_cast<long>(boff), n, out.begin() + static_cast<long>(pos));
    }
    pos += n;
  }
  return out;
}

Status ObjsetWriter::Write(uint64_t obj, uint64_t off, ByteSpan data, bool write_through) {
  UZFS_ASSIGN(Obj * o, Load(obj));
  uint64_t bs = o->dn.datablksz();
  uint64_t pos = 0;
  while (pos < data.size()) {
    uint64_t blkid = (off + pos) / bs, boff = (off + pos) % bs;
    uint64_t n = std::min<uint64_t>(bs - boff, data.size() - pos);
    if (boff == 0 && n == bs) {
      UZFS_TRY(WholeBlock(*o, blkid, data.subspan(pos, n)).status());
    } else {
      UZFS_ASSIGN(Bytes * b, Block(*o, blkid, true));
      std::copy_n(data.begin() + static_cast<long>(pos), n, b->begin() + static_cast<long>(boff));
    }
    if (blkid > o->dn.maxblkid) o->dn.maxblkid = blkid;
    pos += n;
  }
  MarkDirty(*o);
  // Write-through (after the blocks: UseCache sees the layout as the write left it).
  if (!data.empty() && UseCache(*o)) {
    ArcObjKey k = CacheKey(obj);
    uint64_t end = off + data.size();
    bool ok = true;
    if (o->file_size != kUnknownFileSize && end > o->file_size) {
      o->file_size = end;
      ok = arc_->Resize(k, end).ok();
    }
    for (uint64_t p = 0; ok && write_through && p < data.size();) {
      CacheUnit u;
      UnitOf(*o, off + p, &u);
      uint64_t n = std::min<uint64_t>(u.off + u.len - (off + p), data.size() - p);
      ok = arc_->Update(k, u.off, u.len, off + p, data.subspan(p, n)).ok();
      p += n;
    }
    if (!ok) DropCached(*o);  // never leave a stale copy behind
  }
  return Status::Ok();
}

Status ObjsetWriter::Truncate(uint64_t obj, uint64_t off) {
  UZFS_ASSIGN(Obj * o, Load(obj));
  uint64_t bs = o->dn.datablksz();
  uint64_t first_free = (off + bs - 1) / bs;
  if (off % bs) {
    UZFS_ASSIGN(Bytes * b, Block(*o, off / bs, true));
    std::fill(b->begin() + static_cast<long>(off % bs), b->end(), 0);
  }
  for (auto it = o->blocks.lower_bound(first_free); it != o->blocks.end();) {
    o->dirty_blocks.erase(it->first);
    o->gen.erase(it->first);
    it = o->blocks.erase(it);
  }
  o->free_from = std::min(o->free_from, first_free);
  o->dn.maxblkid = first_free ? first_free - 1 : 0;
  MarkDirty(*o);
  if (UseCache(*o)) {
    o->file_size = off;
    if (!arc_->Resize(CacheKey(obj), off).ok()) DropCached(*o);
  }
  return Status::Ok();
}

Result<BlkPtr> ObjsetWriter::BlockPointer(uint64_t obj, uint64_t blkid) {
  UZFS_ASSIGN(Obj * o, Load(obj));
  return BpAt(*o, 0, blkid);
}

Status ObjsetWriter::PutBlock(uint64_t obj, uint64_t blkid, const BlkPtr& bp, ObjsetSink& sink,
                              uint64_t txg) {
  UZFS_ASSIGN(Obj * o, Load(obj));
  if (!o->blocks.empty()) return Status::Error(EINVAL, "object has blocks of its own");
  if (o->free_from != UINT64_MAX) {
    // The sync would free from free_from on, bp included: free now, in the same txg.
    UZFS_TRY(FreeRange(*o, o->free_from, sink, txg));
    o->free_from = UINT64_MAX;
  }
  UZFS_TRY(GrowLevels(*o, blkid));
  UZFS_TRY(SetBp(*o, 0, blkid, bp, sink, txg));
  // maxblkid stays where the last truncate left it for holes, moves up for blocks.
  if (!bp.is_hole() && blkid > o->dn.maxblkid) o->dn.maxblkid = blkid;
  MarkDirty(*o);
  return Status::Ok();
}

Status ObjsetWriter::FreeBlocksFrom(uint64_t obj, uint64_t first_blkid) {
  UZFS_ASSIGN(Obj * o, Load(obj));
  if (!o->blocks.empty()) return Status::Error(EINVAL, "object has blocks of its own");
  o->free_from = std::min(o->free_from, first_blkid);
  o->dn.maxblkid = first_blkid ? first_blkid - 1 : 0;
  MarkDirty(*o);
  return Status::Ok();
}

WriteProps ObjsetWriter::PropsFor(const DnodePhys& dn, int level) const {
  WriteProps p;
  p.type = dn.type;
  p.level = level;
  bool ismd = level > 0 || DmuTypeIsMetadata(dn.type);
  if (ismd) {
    p.checksum = kFletcher4;
    p.compress = kLzjb;
  } else {
    p.checksum = ResolveChecksum(dn.checksum, policy_.checksum);
    p.compress = ResolveCompress(dn.compress, policy_.compress);
  }
  if (pass_ >= 4) p.compress = kCompressOff;  // SYNC_PASS_DONT_COMPRESS
  p.copies = policy_.mos ? policy_.max_copies
                         : std::min(policy_.copies + (ismd ? 1 : 0), policy_.max_copies);
  return p;
}

Status ObjsetWriter::SetBp(Obj& o, int level, uint64_t blkid, const BlkPtr& bp,
                           ObjsetSink& sink, uint64_t txg) {
  int top = o.dn.nlevels - 1;
  BlkPtr old;
  uint8_t* slot = nullptr;
  if (level == top) {
    if (blkid >= o.dn.blkptr.size()) return Status::Error(EFBIG, "block beyond the dnode");
    old = o.dn.blkptr[blkid];
  } else {
    int epbs = o.epbs();
    UZFS_ASSIGN(Bytes * parent, Indirect(o, level + 1, blkid >> epbs));
    o.dirty_ind.insert({level + 1, blkid >> epbs});
    slot = parent->data() + (blkid & ((1ULL << epbs) - 1)) * kBlkPtrSize;
    old = BlkPtr::Decode(slot, true);
  }
  bool in_place = !old.is_hole() && !bp.is_hole() && SameDvas(old, bp);
  if (!in_place) {
    if (!old.is_hole()) {
      o.dn.used -= std::min(o.dn.used, sink.Dsize(old));
      sink.Kill(old, txg);
    }
    if (!bp.is_hole()) {
      o.dn.used += sink.Dsize(bp);
      sink.Born(bp, txg);
    }
  }
  if (slot) bp.Encode(slot);
  else o.dn.blkptr[blkid] = bp;
  return Status::Ok();
}

Status ObjsetWriter::SyncObject(Obj& o, ObjsetSink& sink, uint64_t txg, int pass) {
  (void)pass;
  if (!o.punched.empty()) {
    auto ranges = std::move(o.punched);  // BpAt must see the tree while freeing it
    o.punched.clear();
    for (const auto& [a, b] : ranges)
      if (a < o.free_from) UZFS_TRY(FreeRange(o, a, sink, txg, std::min(b, o.free_from - 1)));
  }
  if (o.free_from != UINT64_MAX) UZFS_TRY(FreeRange(o, o.free_from, sink, txg));
  // Level 0: one batch through the write pipeline (compressed, checksummed and written in
  // parallel), then each bp into its parent in order.
  std::vector<uint64_t> ids(o.dirty_blocks.begin(), o.dirty_blocks.end());
  std::vector<BlkPtr> olds(ids.size());
  std::vector<BlockWrite> batch(ids.size());
  for (size_t i = 0; i < ids.size(); i++) {
    UZFS_ASSIGN(olds[i], BpAt(o, 0, ids[i]));
    batch[i].data = *o.blocks.at(ids[i]);
    batch[i].props = PropsFor(o.dn, 0);
    batch[i].old = olds[i].birth == txg ? &olds[i] : nullptr;
  }
  UZFS_TRY(sink.WriteBlocks(batch, txg));
  for (size_t i = 0; i < ids.size(); i++) {
    const Bytes& data = *o.blocks.at(ids[i]);
    BlkPtr bp = batch[i].bp;
    if (!bp.is_hole()) {
      if (o.id == 0 && o.dn.type == kOtDnode && &o == objs_[0].get()) {
        uint64_t fill = 0;
        for (size_t j = 0; j < data.size(); j += kDnodeSize) fill += data[j] != kOtNone;
        bp.fill = fill;
      } else {
        bp.fill = 1;
      }
      if (bp.fill == 0) bp = BlkPtr{};  // a dnode block with no dnode left is a hole
    }
    UZFS_TRY(SetBp(o, 0, ids[i], bp, sink, txg));
  }
  o.dirty_blocks.clear();
  o.gen.clear();
  // Indirect levels, bottom up.
  for (int level = 1; level < o.dn.nlevels; level++) {
    std::vector<uint64_t> ids;
    for (auto& k : o.dirty_ind)
      if (k.first == level) ids.push_back(k.second);
    for (uint64_t blkid : ids) {
      Bytes& data = o.ind.at({level, blkid});
      uint64_t fill = 0;
      bool any = false;
      for (size_t off = 0; off + kBlkPtrSize <= data.size(); off += kBlkPtrSize) {
        BlkPtr c = BlkPtr::Decode(data.data() + off, true);
        if (!c.is_hole()) {
          fill += c.fill;
          any = true;
        }
      }
      BlkPtr bp;
      if (any) {
        WriteProps p = PropsFor(o.dn, level);
        p.type = o.dn.type;
        UZFS_ASSIGN(BlkPtr old, BpAt(o, level, blkid));
        UZFS_ASSIGN(bp, sink.WriteBlock(data, p, txg, old.birth == txg ? &old : nullptr));
        bp.fill = fill;
      }
      UZFS_TRY(SetBp(o, level, blkid, bp, sink, txg));
      o.dirty_ind.erase({level, blkid});
    }
  }
  o.dirty_ind.clear();
  o.dn.flags |= kFlagUsedBytes;
  if (o.free_from != UINT64_MAX) {
    o.free_from = UINT64_MAX;
  }
  return Status::Ok();
}

Result<BlkPtr> ObjsetWriter::Sync(ObjsetSink& sink, uint64_t txg, int pass) {
  pass_ = pass;
  Obj& meta = *objs_[0];
  // dmu_objset_userspace_upgrade, the first time this objset is written with accounting.
  bool userused = UserUsedEnabled();
  if (userused && dirty() && !(os_flags() & kObjsetFlagUserAccountingComplete))
    UZFS_TRY(UserUsedUpgrade());
  std::vector<uint64_t> ids(dirty_.begin(), dirty_.end());
  dirty_.clear();
  UserUsedDeltas deltas;
  for (uint64_t id : ids) {
    if (id == 0) continue;
    if (IsSpecialObject(id)) {
      dirty_.insert(id);  // SyncSpecials writes them, after the accounting
      continue;
    }
    Obj& o = *objs_.at(id);
    UZFS_TRY(SyncObject(o, sink, txg, pass));
    if (o.freeing) {
      o.dn = DnodePhys{};
      o.freeing = false;
    } else if (userused) {
      o.dn.flags |= kDnodeFlagUserUsedAccounted;  // dnode_sync
    }
    // Put the dnode into its dnode block.
    uint64_t blkid = id >> kDnodesPerBlockShift;
    UZFS_ASSIGN(Bytes * b, Block(meta, blkid, true));
    if (blkid > meta.dn.maxblkid) meta.dn.maxblkid = blkid;
    uint8_t* slot = b->data() + (id & ((1u << kDnodesPerBlockShift) - 1)) * kDnodeSize;
    if (userused) {
      // The slot still holds the dnode as the last txg wrote it (dn_oldphys).
      UZFS_ASSIGN(DnodePhys old, DnodePhys::Decode(slot, true));
      AccountDnode(old, true, &deltas);
      AccountDnode(o.dn, false, &deltas);
      deltas.any_synced = true;
    }
    EncodeDnodePhys(o.dn, slot);
    // Clean level-0 data and indirect blocks are dropped after the sync; dnodes stay.
    o.blocks.clear();
    o.ind.clear();
  }
  dirty_.erase(0);
  // dmu_objset_do_userquota_callbacks: the ZAP layer changes objects -1 and -2 in this txg.
  if (userused && deltas.any_synced) UZFS_TRY(policy_.userused(*this, deltas));
  UZFS_TRY(SyncSpecials(sink, txg, pass));
  dirty_.erase(0);
  bool meta_dirty = !meta.dirty_blocks.empty() || !meta.dirty_ind.empty();
  if (meta_dirty) UZFS_TRY(SyncObject(meta, sink, txg, pass));
  if (!meta_dirty && !root_dirty_ && !ids.size()) return rootbp_;
  // The objset_phys.
  Bytes phys(kObjsetPhysSize, 0);
  EncodeDnodePhys(meta.dn, phys.data());
  std::copy(phys_tail_.begin(), phys_tail_.end(), phys.begin() + kDnodeSize);
  DnodePhys osdn;
  osdn.type = kOtObjset;
  WriteProps p = PropsFor(osdn, 0);
  p.type = kOtObjset;
  BlkPtr old = rootbp_;
  UZFS_ASSIGN(BlkPtr bp, sink.WriteBlock(phys, p, txg, old.birth == txg ? &old : nullptr));
  uint64_t fill = 0;
  for (const BlkPtr& b : meta.dn.blkptr) fill += b.is_hole() ? 0 : b.fill;
  bp.fill = fill;
  bool in_place = !old.is_hole() && SameDvas(old, bp);
  if (!in_place) {
    if (!old.is_hole()) sink.Kill(old, txg);
    sink.Born(bp, txg);
  }
  rootbp_ = bp;
  root_dirty_ = false;
  // Keep the meta-dnode's blocks (dnode blocks are read often) but not its indirects.
  meta.ind.clear();
  return bp;
}

}  // namespace uzfs
