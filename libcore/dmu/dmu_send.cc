// The send stream's records and the snapshot traversal that writes them (see dmu_send.h;
// zfs-fuse dmu_send.c dump_* and backup_cb, dmu_traverse.c traverse_visitbp).
#include "libcore/dmu/dmu_send.h"
#include "libcore/dmu/dmu_send_read.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "libcore/base/compress.h"
#include "libcore/base/fletcher4.h"
#include "libcore/dmu/dmu_prefetch.h"

namespace uzfs {

namespace {

constexpr size_t kChunk = 1 << 20;
constexpr size_t kDirect = 32 << 10;  // payloads this large skip the buffer
// The traversal's read-ahead: reads in flight at once and bytes read ahead at most (the
// children of two indirect blocks: 128 blocks of 128 KiB under each 16 KiB L1).
constexpr unsigned kPrefetchThreads = 4;
constexpr uint64_t kPrefetchWindow = 64ULL << 20;
// A run of adjacent blocks read at once: 1 MiB, the size from which reads of this file or
// disk run at its sequential rate (zfs_vdev_aggregation_limit's later default).
constexpr uint64_t kAggregateMax = 1ULL << 20;
constexpr int kBpShift = 7;  // SPA_BLKPTRSHIFT

uint64_t Ld64(const uint8_t* p, bool swap) { return swap ? Bswap64(LoadRaw<uint64_t>(p)) : LoadRaw<uint64_t>(p); }
uint32_t Ld32(const uint8_t* p, bool swap) { return swap ? Bswap32(LoadRaw<uint32_t>(p)) : LoadRaw<uint32_t>(p); }

// BP_SPAN: bytes a block pointer at `level` of dn covers, clamped to 2^64-1.
uint64_t Span(const DnodePhys& dn, int level) {
  unsigned shift = 9 + level * (dn.indblkshift - kBpShift);
  unsigned __int128 s = static_cast<unsigned __int128>(dn.datablkszsec) << std::min(shift, 100u);
  return s > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(s);
}

uint64_t MulClamp(uint64_t a, uint64_t b) {
  unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  return p > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(p);
}

// Fletcher-4 of a stream x followed by y, from x's sums *zc and y's own sums (from zero) over
// its n 32-bit words: the words of y add y's own sums, and x's sums, carried n steps with
// nothing added, become a, b + n a, c + n b + C(n+1,2) a, d + n c + C(n+1,2) b + C(n+2,3) a
// (mod 2^64; exact here for n < 2^42: y is one block).
void Fletcher4Append(ZioCksum* zc, const ZioCksum& y, uint64_t n) {
  using U = unsigned __int128;
  const uint64_t a = zc->word[0], b = zc->word[1], c = zc->word[2], d = zc->word[3];
  const uint64_t t2 = static_cast<uint64_t>(U{n} * (n + 1) / 2);
  const uint64_t t3 = static_cast<uint64_t>(U{n} * (n + 1) / 2 * (n + 2) / 3);
  zc->word[0] = a + y.word[0];
  zc->word[1] = b + n * a + y.word[1];
  zc->word[2] = c + n * b + t2 * a + y.word[2];
  zc->word[3] = d + n * c + t2 * b + t3 * a + y.word[3];
}

// Whether bp's checksum is the stream's Fletcher-4 of its logical data, so a WRITE of that
// data can add bp's sums instead of reading every byte again (the read verified the data
// against them): fletcher4 over the block as it is in memory (not compressed, this host's
// order, not a gang block, whose checksum the read checks only member by member).
bool CksumIsStreamSums(const BlkPtr& bp, size_t size) {
  return bp.checksum() == static_cast<uint8_t>(ChecksumId::kFletcher4) &&
         bp.compress() == static_cast<uint8_t>(CompressId::kOff) && bp.psize() == size &&
         bp.lsize() == size && size <= kSpaMaxLargeBlockSize && size % 4 == 0 &&
         bp.little_endian() == (std::endian::native == std::endian::little) && !bp.dva[0].gang();
}

}  // namespace

void DrrRecord::Encode(uint8_t* p) const {
  std::memset(p, 0, kDrrSize);
  StoreRaw<uint32_t>(p, type);
  StoreRaw<uint32_t>(p + 4, payloadlen);
  uint8_t* u = p + 8;
  switch (type) {
    case kDrrBegin:
      StoreRaw<uint64_t>(u, magic);
      StoreRaw<uint64_t>(u + 8, versioninfo);
      StoreRaw<uint64_t>(u + 16, creation_time);
      StoreRaw<uint32_t>(u + 24, ostype);
      StoreRaw<uint32_t>(u + 28, flags);
      StoreRaw<uint64_t>(u + 32, toguid);
      StoreRaw<uint64_t>(u + 40, fromguid);
      std::memcpy(u + 48, toname.data(), std::min(toname.size(), kDrrNameLen - 1));
      break;
    case kDrrObject:
      StoreRaw<uint64_t>(u, object);
      StoreRaw<uint32_t>(u + 8, obj_type);
      StoreRaw<uint32_t>(u + 12, bonustype);
      StoreRaw<uint32_t>(u + 16, blksz);
      StoreRaw<uint32_t>(u + 20, bonuslen);
      u[24] = checksumtype;
      u[25] = compress;
      StoreRaw<uint64_t>(u + 32, toguid);
      break;
    case kDrrFreeObjects:
      StoreRaw<uint64_t>(u, object);
      StoreRaw<uint64_t>(u + 8, length);
      StoreRaw<uint64_t>(u + 16, toguid);
      break;
    case kDrrWrite:
      StoreRaw<uint64_t>(u, object);
      StoreRaw<uint32_t>(u + 8, obj_type);
      StoreRaw<uint64_t>(u + 16, offset);
      StoreRaw<uint64_t>(u + 24, length);
      StoreRaw<uint64_t>(u + 32, toguid);
      u[40] = checksumtype;
      u[41] = checksumflags;
      for (int i = 0; i < 4; i++) StoreRaw<uint64_t>(u + 48 + 8 * i, key_cksum.word[i]);
      StoreRaw<uint64_t>(u + 80, key_prop);
      break;
    case kDrrFree:
      StoreRaw<uint64_t>(u, object);
      StoreRaw<uint64_t>(u + 8, offset);
      StoreRaw<uint64_t>(u + 16, length);
      StoreRaw<uint64_t>(u + 24, toguid);
      break;
    case kDrrEnd:
      for (int i = 0; i < 4; i++) StoreRaw<uint64_t>(u + 8 * i, key_cksum.word[i]);
      StoreRaw<uint64_t>(u + 32, toguid);
      break;
    case kDrrWriteByref:
      StoreRaw<uint64_t>(u, object);
      StoreRaw<uint64_t>(u + 8, offset);
      StoreRaw<uint64_t>(u + 16, length);
      StoreRaw<uint64_t>(u + 24, toguid);
      StoreRaw<uint64_t>(u + 32, refguid);
      StoreRaw<uint64_t>(u + 40, refobject);
      StoreRaw<uint64_t>(u + 48, refoffset);
      u[56] = checksumtype;
      u[57] = checksumflags;
      for (int i = 0; i < 4; i++) StoreRaw<uint64_t>(u + 64 + 8 * i, key_cksum.word[i]);
      StoreRaw<uint64_t>(u + 96, key_prop);
      break;
    default:
      break;
  }
}

// backup_byteswap's fields, read in the sender's order.
Result<DrrRecord> DrrRecord::Decode(const uint8_t* p, bool sw) {
  DrrRecord r;
  r.type = Ld32(p, sw);
  r.payloadlen = Ld32(p + 4, sw);
  const uint8_t* u = p + 8;
  switch (r.type) {
    case kDrrBegin: {
      r.magic = Ld64(u, sw);
      r.versioninfo = Ld64(u + 8, sw);
      r.creation_time = Ld64(u + 16, sw);
      r.ostype = Ld32(u + 24, sw);
      r.flags = Ld32(u + 28, sw);
      r.toguid = Ld64(u + 32, sw);
      r.fromguid = Ld64(u + 40, sw);
      const char* n = reinterpret_cast<const char*>(u + 48);
      r.toname.assign(n, strnlen(n, kDrrNameLen));
      break;
    }
    case kDrrObject:
      r.object = Ld64(u, sw);
      r.obj_type = Ld32(u + 8, sw);
      r.bonustype = Ld32(u + 12, sw);
      r.blksz = Ld32(u + 16, sw);
      r.bonuslen = Ld32(u + 20, sw);
      r.checksumtype = u[24];
      r.compress = u[25];
      r.toguid = Ld64(u + 32, sw);
      break;
    case kDrrFreeObjects:
      r.object = Ld64(u, sw);
      r.length = Ld64(u + 8, sw);
      r.toguid = Ld64(u + 16, sw);
      break;
    case kDrrWrite:
      r.object = Ld64(u, sw);
      r.obj_type = Ld32(u + 8, sw);
      r.offset = Ld64(u + 16, sw);
      r.length = Ld64(u + 24, sw);
      r.toguid = Ld64(u + 32, sw);
      r.checksumtype = u[40];
      r.checksumflags = u[41];
      for (int i = 0; i < 4; i++) r.key_cksum.word[i] = Ld64(u + 48 + 8 * i, sw);
      r.key_prop = Ld64(u + 80, sw);
      break;
    case kDrrFree:
      r.object = Ld64(u, sw);
      r.offset = Ld64(u + 8, sw);
      r.length = Ld64(u + 16, sw);
      r.toguid = Ld64(u + 24, sw);
      break;
    case kDrrEnd:
      for (int i = 0; i < 4; i++) r.key_cksum.word[i] = Ld64(u + 8 * i, sw);
      r.toguid = Ld64(u + 32, sw);
      break;
    case kDrrWriteByref:
      r.object = Ld64(u, sw);
      r.offset = Ld64(u + 8, sw);
      r.length = Ld64(u + 16, sw);
      r.toguid = Ld64(u + 24, sw);
      r.refguid = Ld64(u + 32, sw);
      r.refobject = Ld64(u + 40, sw);
      r.refoffset = Ld64(u + 48, sw);
      r.checksumtype = u[56];
      r.checksumflags = u[57];
      for (int i = 0; i < 4; i++) r.key_cksum.word[i] = Ld64(u + 64 + 8 * i, sw);
      r.key_prop = Ld64(u + 96, sw);
      break;
    default:
      return Status::Error(ECORRUPT, "unknown record type " + std::to_string(r.type));
  }
  return r;
}

void Fletcher4Incremental(ByteSpan data, ZioCksum* zc) {
  Fletcher4State s{zc->word[0], zc->word[1], zc->word[2], zc->word[3]};
  Fletcher4Update(&s, data, /*swap=*/false);
  *zc = ZioCksum{{s.a, s.b, s.c, s.d}};
}

// ---- DrrWriter (backuparg) ----

Status DrrWriter::Put(ByteSpan b) {
  Fletcher4Incremental(b, &zc_);  // dump_bytes
  bytes_ += b.size();
  if (b.size() >= kDirect) {
    // A block's data goes out as it is, after what is buffered (no copy of it).
    UZFS_TRY(Flush());
    return sink_(b);
  }
  if (buf_.capacity() < kChunk) buf_.reserve(kChunk + kDirect);
  buf_.insert(buf_.end(), b.begin(), b.end());
  return buf_.size() >= kChunk ? Flush() : Status::Ok();
}

Status DrrWriter::Flush() {
  if (buf_.empty()) return Status::Ok();
  Status s = sink_(ByteSpan(buf_.data(), buf_.size()));
  buf_.clear();
  return s;
}

Status DrrWriter::PutRecord(const DrrRecord& r) {
  uint8_t rec[kDrrSize];
  r.Encode(rec);
  return Put(ByteSpan(rec, kDrrSize));
}

Status DrrWriter::PushPending() {
  if (pending_ == kNone) return Status::Ok();
  pending_ = kNone;
  return PutRecord(drr_);
}

Status DrrWriter::Begin(const DrrRecord& begin) { return PutRecord(begin); }

Status DrrWriter::Free(uint64_t object, uint64_t offset, uint64_t length) {
  if (pending_ == kFreeObjects) UZFS_TRY(PushPending());
  if (pending_ == kFree) {
    // A continuation of the pending FREE grows it.
    if (drr_.object == object && drr_.offset + drr_.length == offset && length != ~0ULL) {
      drr_.length += length;
      return Status::Ok();
    }
    UZFS_TRY(PushPending());
  }
  drr_ = DrrRecord{};
  drr_.type = kDrrFree;
  drr_.object = object;
  drr_.offset = offset;
  drr_.length = length;
  drr_.toguid = toguid_;
  if (length == ~0ULL) return PutRecord(drr_);
  pending_ = kFree;
  return Status::Ok();
}

Status DrrWriter::FreeObjects(uint64_t first, uint64_t count) {
  if (pending_ == kFree) UZFS_TRY(PushPending());
  if (pending_ == kFreeObjects) {
    if (drr_.object + drr_.length == first) {
      drr_.length += count;
      return Status::Ok();
    }
    UZFS_TRY(PushPending());
  }
  drr_ = DrrRecord{};
  drr_.type = kDrrFreeObjects;
  drr_.object = first;
  drr_.length = count;
  drr_.toguid = toguid_;
  pending_ = kFreeObjects;
  return Status::Ok();
}

Status DrrWriter::Dnode(uint64_t object, const DnodePhys* dn) {
  if (!dn || !dn->allocated()) return FreeObjects(object, 1);
  UZFS_TRY(PushPending());
  DrrRecord r;
  r.type = kDrrObject;
  r.object = object;
  r.obj_type = dn->type;
  r.bonustype = dn->bonustype;
  r.blksz = static_cast<uint32_t>(dn->datablksz());
  r.bonuslen = dn->bonuslen;
  r.checksumtype = dn->checksum;
  r.compress = dn->compress;
  r.toguid = toguid_;
  UZFS_TRY(PutRecord(r));
  Bytes bonus = dn->bonus;
  bonus.resize((bonus.size() + 7) & ~size_t{7}, 0);
  if (!bonus.empty()) UZFS_TRY(Put(bonus));
  // Free anything past the end of the object.
  return Free(object, MulClamp(dn->maxblkid + 1, dn->datablksz()), ~0ULL);
}

Status DrrWriter::Write(uint64_t object, const BlkPtr& bp, uint64_t offset, ByteSpan data) {
  UZFS_TRY(PushPending());
  DrrRecord r;
  r.type = kDrrWrite;
  r.object = object;
  r.obj_type = bp.type();
  r.offset = offset;
  r.length = data.size();
  r.toguid = toguid_;
  r.checksumtype = bp.checksum();
  if (bp.checksum() == static_cast<uint8_t>(ChecksumId::kSha256)) r.checksumflags = kDrrChecksumDedup;
  r.key_cksum = bp.cksum;
  r.key_prop = bp.prop & ((1ULL << 40) - 1);  // DDK LSIZE, PSIZE, COMPRESS: the bp's bits
  UZFS_TRY(PutRecord(r));
  if (!CksumIsStreamSums(bp, data.size())) return Put(data);
  // dump_data's dump_bytes without a second pass over the block: its sums are bp's. (The
  // callers hand Write what a read verified against bp; data that differed would give a
  // stream whose END the receiver refuses, never a wrong one accepted.)
  UZFS_TRY(Flush());
  Fletcher4Append(&zc_, bp.cksum, data.size() / 4);
  bytes_ += data.size();
  return sink_(data);
}

Status DrrWriter::End() {
  UZFS_TRY(PushPending());
  DrrRecord r;
  r.type = kDrrEnd;
  r.key_cksum = zc_;
  r.toguid = toguid_;
  UZFS_TRY(PutRecord(r));
  return Flush();
}

// ---- the traversal (traverse_visitbp with backup_cb) ----

namespace {

class SendWalk {
 public:
  SendWalk(PrefetchReader* r, DrrWriter* w, uint64_t from_txg) : r_(r), w_(w), from_(from_txg) {}

  Status Dnode(const DnodePhys& dn, uint64_t object) {  // traverse_dnode
    PrefetchDnode(dn);
    for (int j = 0; j < dn.nblkptr && j < static_cast<int>(dn.blkptr.size()); j++)
      UZFS_TRY(VisitBp(dn, dn.blkptr[j], object, dn.nlevels - 1, j));
    return Status::Ok();
  }

 private:
  // TRAVERSE_PREFETCH: the blocks about to be visited are read ahead (those the walk skips,
  // holes and blocks born before from_txg, are not).
  void Prefetch(const BlkPtr& bp) {
    if (!bp.is_hole() && bp.birth > from_) r_->Prefetch(bp);
  }
  void PrefetchDnode(const DnodePhys& dn) {
    for (int j = 0; j < dn.nblkptr && j < static_cast<int>(dn.blkptr.size()); j++) Prefetch(dn.blkptr[j]);
  }

  Status VisitBp(const DnodePhys& dn, const BlkPtr& bp, uint64_t object, int level, uint64_t blkid) {
    if (bp.is_hole()) {
      uint64_t span = Span(dn, level);
      if (object == 0) {
        uint64_t first = MulClamp(blkid, span) >> kDnodeShift;
        return w_->FreeObjects(first, std::min(span >> kDnodeShift, UINT64_MAX - first));
      }
      uint64_t off = MulClamp(blkid, span);
      return w_->Free(object, off, std::min(span, UINT64_MAX - off));
    }
    if (bp.birth <= from_) return Status::Ok();
    if (!bp.little_endian() && (level > 0 || bp.type() == kOtDnode || object == 0))
      return Status::Error(ENOTSUP, "big-endian blocks cannot be sent");
    UZFS_ASSIGN(Bytes b, r_->Read(bp));
    return VisitBlock(dn, bp, std::move(b), object, level, blkid);
  }

  // An indirect block's children, each read ahead (Prefetch dedups those queued already).
  std::vector<BlkPtr> Kids(const BlkPtr& bp, const Bytes& b) {
    uint64_t epb = bp.lsize() >> kBpShift;
    std::vector<BlkPtr> kids;
    for (uint64_t i = 0; i < epb && (i + 1) * kBlkPtrSize <= b.size(); i++)
      kids.push_back(BlkPtr::Decode(b.data() + i * kBlkPtrSize, true));
    for (const BlkPtr& c : kids) Prefetch(c);
    return kids;
  }
  // An indirect child VisitBp would read (not a hole, not skipped, not refused).
  bool Descends(const BlkPtr& c) const { return !c.is_hole() && c.birth > from_ && c.little_endian(); }

  Status VisitBlock(const DnodePhys& dn, const BlkPtr& bp, Bytes b, uint64_t object, int level,
                    uint64_t blkid) {
    if (level > 0) {
      uint64_t epb = bp.lsize() >> kBpShift;
      std::vector<BlkPtr> kids = Kids(bp, b);
      if (level == 1) {
        for (uint64_t i = 0; i < kids.size(); i++)
          UZFS_TRY(VisitBp(dn, kids[i], object, level - 1, blkid * epb + i));
        return Status::Ok();
      }
      // Children that are indirect blocks: the next one is read, and its children queued
      // behind this one's, before this one is visited, so the read-ahead does not run dry
      // at each child's end (traverse_prefetch_thread runs ahead of the traversal so).
      std::optional<Bytes> ahead;
      uint64_t ahead_i = UINT64_MAX;
      for (uint64_t i = 0; i < kids.size(); i++) {
        if (!Descends(kids[i])) {
          UZFS_TRY(VisitBp(dn, kids[i], object, level - 1, blkid * epb + i));
          continue;
        }
        Bytes cur;
        if (ahead_i == i) {
          cur = std::move(*ahead);
        } else {
          UZFS_ASSIGN(cur, r_->Read(kids[i]));
          (void)Kids(kids[i], cur);
        }
        ahead.reset();
        ahead_i = UINT64_MAX;
        for (uint64_t j = i + 1; j < kids.size(); j++) {
          if (kids[j].is_hole() || kids[j].birth <= from_) continue;
          if (!Descends(kids[j])) break;
          // A read that fails here is tried again, and reported, in its turn.
          if (auto nb = r_->Read(kids[j]); nb.ok()) {
            (void)Kids(kids[j], *nb);
            ahead = std::move(*nb);
            ahead_i = j;
          }
          break;
        }
        UZFS_TRY(VisitBlock(dn, kids[i], std::move(cur), object, level - 1, blkid * epb + i));
      }
      return Status::Ok();
    }
    if (object != 0) {
      b.resize(bp.lsize(), 0);
      return w_->Write(object, bp, blkid * bp.lsize(), b);
    }
    // A block of dnodes: every dnode's record, then each one's blocks.
    uint64_t per = bp.lsize() >> kDnodeShift;
    std::vector<DnodePhys> dns(per);
    for (uint64_t i = 0; i < per; i++) {
      if ((i + 1) * kDnodeSize > b.size()) break;
      UZFS_ASSIGN(dns[i], DnodePhys::Decode(b.data() + i * kDnodeSize, true));
      UZFS_TRY(w_->Dnode(blkid * per + i, &dns[i]));
      if (dns[i].allocated()) PrefetchDnode(dns[i]);
    }
    for (uint64_t i = 0; i < per; i++)
      if (dns[i].allocated()) UZFS_TRY(Dnode(dns[i], blkid * per + i));
    return Status::Ok();
  }

  PrefetchReader* r_;
  DrrWriter* w_;
  uint64_t from_;
};

}  // namespace

Status DmuSendBackup(BlockReader* reader, ObjSet& os, const DrrRecord& begin, uint64_t from_txg,
                     StreamSink sink, uint64_t* bytes) {
  return DmuSendBackup(reader, RangeRead(), os, begin, from_txg, std::move(sink), bytes);
}

Status DmuSendBackup(BlockReader* reader, const RangeRead& range, ObjSet& os, const DrrRecord& begin,
                     uint64_t from_txg, StreamSink sink, uint64_t* bytes) {
  DrrWriter w(std::move(sink), begin.toguid);
  UZFS_TRY(w.Begin(begin));
  PrefetchReader prefetch(reader, kPrefetchThreads, kPrefetchWindow, range, kAggregateMax);
  SendWalk walk(&prefetch, &w, from_txg);
  UZFS_TRY(walk.Dnode(os.meta_dnode(), 0));
  UZFS_TRY(w.End());
  if (bytes) *bytes = w.bytes();
  return Status::Ok();
}

}  // namespace uzfs
