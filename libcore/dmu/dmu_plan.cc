// Planned reads of file data (see dmu_write.h, "Reads whose disk part runs without the
// caller's lock"): the lookups under the pool's lock, the disk reads and ARC fills after it.
#include <algorithm>
#include <mutex>
#include <optional>

#include "libcore/base/taskq.h"
#include "libcore/dmu/dmu_write.h"
#include "libcore/dmu/dmu_write_obj.h"
#include "libcore/zio/zio_inject.h"

namespace uzfs {

Status ObjsetWriter::PlanRead(uint64_t obj, uint64_t off, uint64_t len, ReadPlan* plan) {
  UZFS_ASSIGN(Obj * o, Load(obj));
  plan->pieces.clear();
  plan->out.clear();
  uint64_t bs = o->dn.datablksz();
  uint64_t end = (o->dn.maxblkid + 1) * bs;
  bool cache = IsFileData(o->dn.type) && UseCache(*o);
  std::shared_ptr<ArcSegment> seg;
  if (cache) {
    if (auto r = SegmentOf(*o); r.ok()) seg = std::move(r).value();
    else cache = false;  // no segment (out of descriptors, say): read around the cache
  }
  // Past the last block but within the file, the ARC may hold what the object does not yet:
  // the units a mapping stored into since the last sync (a file grown by truncate and then
  // filled through a mapping). Zeros from the object there would be cached by the kernel.
  uint64_t limit = cache ? std::max(end, seg->size()) : end;
  if (off >= limit) return Status::Ok();
  len = std::min(len, limit - off);
  // not assign(len, 0): a byte-at-a-time loop for this allocator. A by_ref plan's pieces
  // keep their own bytes (no zeroing of a buffer under the caller's lock).
  if (!plan->by_ref) plan->out = Bytes(len);
  plan->reader = reader_;
  plan->arc = arc_;
  plan->key = CacheKey(obj);
  if (plan->by_ref) plan->seg = seg;
  for (uint64_t pos = 0; pos < len;) {
    uint64_t at = off + pos;
    ReadPlan::Piece pc;
    CacheUnit u{at / bs * bs, bs};  // without the ARC: block by block
    if (cache) UnitOf(*o, at, &u);
    pc.unit_off = u.off;
    pc.unit_len = u.len;
    pc.at = at;
    pc.n = std::min(u.off + u.len - at, len - pos);
    pc.pos = pos;
    pc.bs = bs;
    pc.end = end;
    pc.cache = cache && u.off < seg->size();  // past the size the segment was given: uncached
    pos += pc.n;
    if (pc.cache && plan->by_ref) {
      UZFS_ASSIGN(pc.held, arc_->HoldForRead(plan->key, u.off, seg.get(), /*wait=*/false, /*hit=*/true));
      if (pc.held) {
        plan->pieces.push_back(std::move(pc));
        continue;
      }
    } else if (pc.cache) {
      MutByteSpan dst(plan->out.data() + pc.pos, pc.n);
      UZFS_ASSIGN(bool hit, arc_->ReadIfCached(plan->key, u.off, u.len, at, dst, /*wait=*/false));
      if (hit) continue;
    }
    if (pc.cache) pc.ticket = arc_->BeginFill(plan->key, u.off, u.len);  // null: another fill is under way
    Status s = PlanSources(*o, &pc);
    plan->pieces.push_back(std::move(pc));
    if (!s.ok()) {
      plan->Abandon(s);
      return s;
    }
  }
  TrimClean(*o);
  return Status::Ok();
}

Status ObjsetWriter::PlanSources(Obj& o, ReadPlan::Piece* pc) {
  uint64_t bs = pc->bs;
  for (uint64_t blkid = pc->unit_off / bs; blkid * bs < pc->unit_off + pc->unit_len && blkid <= o.dn.maxblkid;
       blkid++) {
    ReadPlan::Src src;
    src.at = blkid * bs;
    if (auto it = o.blocks.find(blkid); it != o.blocks.end()) {
      src.image = it->second;  // shared: Block() copies before changing it
    } else {
      UZFS_ASSIGN(BlkPtr bp, BpAt(o, 0, blkid));
      if (bp.is_hole()) continue;
      src.bp = bp;
    }
    pc->srcs.push_back(std::move(src));
  }
  return Status::Ok();
}

Status ObjsetWriter::PlanFault(uint64_t obj, uint64_t at, CacheUnit* unit, ReadPlan* plan) {
  UZFS_ASSIGN(CacheUnit u, UnitAt(obj, at));
  UZFS_ASSIGN(Obj * o, Load(obj));
  UZFS_ASSIGN(auto seg, SegmentOf(*o));
  if (at >= seg->size()) return Status::Error(EINVAL, "fault past the end of the file");
  *unit = u;
  plan->pieces.clear();
  plan->out.clear();
  plan->reader = reader_;
  plan->arc = arc_;
  plan->key = CacheKey(obj);
  ReadPlan::Piece pc;
  pc.unit_off = u.off;
  pc.unit_len = u.len;
  pc.at = u.off;
  pc.n = 0;  // nothing to copy out: the unit is made resident
  pc.cache = true;
  pc.bs = o->dn.datablksz();
  pc.end = (o->dn.maxblkid + 1) * pc.bs;
  Bytes none;
  UZFS_ASSIGN(bool hit, arc_->ReadIfCached(plan->key, u.off, u.len, u.off, MutByteSpan(none), false));
  if (hit) return Status::Ok();
  pc.ticket = arc_->BeginFill(plan->key, u.off, u.len);
  Status s = PlanSources(*o, &pc);
  if (!s.ok()) {
    arc_->FinishFill(pc.ticket, s);
    return s;
  }
  plan->pieces.push_back(std::move(pc));
  TrimClean(*o);
  return Status::Ok();
}

Status ObjsetWriter::PlanPrefetch(uint64_t obj, uint64_t from, uint64_t to,
                                  std::vector<std::unique_ptr<ReadPlan>>* plans) {
  UZFS_ASSIGN(Obj * o, Load(obj));
  if (!IsFileData(o->dn.type) || !UseCache(*o)) return Status::Ok();
  auto seg = SegmentOf(*o);
  if (!seg.ok()) return Status::Ok();  // read around the cache: nothing to fill
  uint64_t bs = o->dn.datablksz();
  uint64_t end = (o->dn.maxblkid + 1) * bs;
  to = std::min(to, (*seg)->size());
  for (uint64_t at = from; at < to;) {
    CacheUnit u{at / bs * bs, bs};
    UnitOf(*o, at, &u);
    at = u.off + u.len;
    if (arc_->Cached(CacheKey(obj), u.off)) continue;
    auto plan = std::make_unique<ReadPlan>();
    plan->reader = reader_;
    plan->arc = arc_;
    plan->key = CacheKey(obj);
    ReadPlan::Piece pc;
    pc.unit_off = pc.at = u.off;
    pc.unit_len = u.len;
    pc.cache = true;
    pc.bs = bs;
    pc.end = end;
    pc.ticket = arc_->BeginFill(plan->key, u.off, u.len);
    if (!pc.ticket) continue;  // being filled already
    if (Status s = PlanSources(*o, &pc); !s.ok()) {
      arc_->FinishFill(pc.ticket, s);
      break;  // the demand read reports it
    }
    plan->pieces.push_back(std::move(pc));
    plans->push_back(std::move(plan));
  }
  TrimClean(*o);
  return Status::Ok();
}

namespace {

// The unit's bytes from its sources (zeros for holes and past the last block). *bad is set
// to the blkid of a block no copy of which could be read.
Result<Bytes> Assemble(const ObjsetWriter::ReadPlan::Piece& pc, BlockReader* reader, const ArcObjKey& key,
                       std::optional<uint64_t>* bad) {
  Bytes u;  // zeros, once a piece needs copying in (a whole block needs none)
  for (const auto& src : pc.srcs) {
    Bytes disk;
    const Bytes* data = src.image.get();
    if (!data) {
      if (!src.bp.little_endian()) return Status::Error(ENOTSUP, "big-endian block: read-only here");
      // zinject -t data: as if no copy could be read (zio_inject.h).
      Status inj = InjectedRead(key.pool, key.space, key.object, 0, pc.bs ? src.at / pc.bs : 0);
      Result<Bytes> r = inj.ok() ? reader->Read(src.bp) : Result<Bytes>(inj);
      if (!r.ok()) {
        int code = r.status().code();
        if (code == EIO || code == ECKSUM || code == ENXIO) *bad = pc.bs ? src.at / pc.bs : 0;
        return r.status();
      }
      disk = std::move(r).value();
      data = &disk;
      // The unit is this one whole block: its buffer is the unit (no copy).
      if (pc.srcs.size() == 1 && src.at == pc.unit_off && pc.bs == pc.unit_len &&
          pc.end >= pc.unit_off + pc.unit_len && disk.size() >= pc.unit_len) {
        disk.resize(pc.unit_len);
        return disk;
      }
    }
    uint64_t lo = std::max(src.at, pc.unit_off);
    uint64_t hi = std::min({src.at + pc.bs, pc.unit_off + pc.unit_len, pc.end, src.at + data->size()});
    if (u.empty()) u = Bytes(pc.unit_len);
    if (hi > lo)
      std::copy(data->begin() + static_cast<long>(lo - src.at), data->begin() + static_cast<long>(hi - src.at),
                u.begin() + static_cast<long>(lo - pc.unit_off));
  }
  if (u.empty()) u = Bytes(pc.unit_len);
  return u;
}

}  // namespace

void ObjsetWriter::ReadPlan::Abandon(const Status& why) {
  for (auto& pc : pieces) {
    if (pc.ticket) arc->FinishFill(pc.ticket, why);
    if (pc.held) arc->ReleaseRead(key, pc.unit_off, pc.held);
  }
  pieces.clear();
}

ObjsetWriter::ReadPlan::~ReadPlan() { Abandon(Status::Error(ECANCELED, "read not completed")); }

std::vector<ObjsetWriter::ReadPlan::Part> ObjsetWriter::ReadPlan::Parts(uint64_t length) {
  std::vector<Part> parts;
  uint64_t have = 0;
  if (pieces.empty() && !out.empty()) {  // read whole under the lock (not a regular file, DAX)
    parts.push_back(Part{-1, 0, out.data(), std::min<uint64_t>(out.size(), length)});
    have = parts.back().n;
  }
  for (const Piece& pc : pieces) {
    if (pc.held) parts.push_back(Part{seg->fd(), pc.at, nullptr, pc.n});
    else parts.push_back(Part{-1, 0, pc.data->data() + (pc.at - pc.unit_off), pc.n});
    have += pc.n;
  }
  if (have < length) {  // past the last block within the file's size
    tail = Bytes(length - have);
    parts.push_back(Part{-1, 0, tail.data(), tail.size()});
  }
  return parts;
}

Status ObjsetWriter::ReadPlan::Complete() {
  std::mutex mu;
  Status first = Status::Ok();
  auto run = [&](size_t i) {
    Piece& pc = pieces[i];
    Status s = [&]() -> Status {
      if (pc.held) return Status::Ok();
      MutByteSpan dst;
      if (!by_ref) dst = MutByteSpan(out.data() + pc.pos, pc.n);
      if (pc.cache && !pc.ticket) {
        // Someone else was filling the unit: take theirs, or read around the ARC.
        if (by_ref) {
          UZFS_ASSIGN(pc.held, arc->HoldForRead(key, pc.unit_off, seg.get(), /*wait=*/true, /*hit=*/true));
          if (pc.held) return Status::Ok();
        } else {
          UZFS_ASSIGN(bool hit, arc->ReadIfCached(key, pc.unit_off, pc.unit_len, pc.at, dst));
          if (hit) return Status::Ok();
        }
      }
      std::optional<uint64_t> bad;
      Result<Bytes> unit = Assemble(pc, reader, key, &bad);
      if (pc.ticket) arc->FinishFill(pc.ticket, unit);
      pc.ticket.reset();
      if (bad) {
        std::lock_guard<std::mutex> l(mu);
        unreadable.push_back(*bad);
      }
      UZFS_TRY(unit.status());
      if (by_ref) {
        // What this plan filled is handed on from the ARC when it went in (not stale).
        if (pc.cache) {
          UZFS_ASSIGN(pc.held, arc->HoldForRead(key, pc.unit_off, seg.get(), /*wait=*/false, /*hit=*/false));
          if (pc.held) return Status::Ok();
        }
        pc.data = std::make_shared<const Bytes>(std::move(unit).value());
        return Status::Ok();
      }
      std::copy_n(unit->begin() + static_cast<long>(pc.at - pc.unit_off), pc.n, dst.begin());
      return Status::Ok();
    }();
    if (!s.ok()) {
      std::lock_guard<std::mutex> l(mu);
      if (first.ok()) first = s;
    }
  };
  if (pieces.size() > 1) {
    TaskQueue::Shared().ParallelFor(pieces.size(), run);
  } else if (!pieces.empty()) {
    run(0);
  }
  return first;
}

}  // namespace uzfs
