// ObjsetWriter's frees (see dmu_write.h): a range inside an object punched (dnode.c
// dnode_free_range), and at the sync the blocks of a truncate or a punch freed from the tree
// (dnode_sync.c free_children / free_blocks).
#include <algorithm>
#include <functional>

#include "libcore/dmu/dmu_write.h"
#include "libcore/dmu/dmu_write_obj.h"

namespace uzfs {

Status ObjsetWriter::FreeInside(uint64_t obj, uint64_t off, uint64_t len) {
  UZFS_ASSIGN(Obj * o, Load(obj));
  const uint64_t bs = o->dn.datablksz();
  if (len == 0 || bs == 0) return Status::Ok();
  const uint64_t end = off + len;
  // dnode_free_range: the partial blocks at the ends zeroed, the whole ones freed.
  uint64_t first = (off + bs - 1) / bs, last_end = end / bs;  // whole blocks [first, last_end)
  for (uint64_t b : {off / bs, (end - 1) / bs}) {
    uint64_t from = std::max(b * bs, off), to = std::min((b + 1) * bs, end);
    if (from == b * bs && to == (b + 1) * bs) continue;  // whole: freed below
    UZFS_ASSIGN(BlkPtr bp, BpAt(*o, 0, b));
    if (bp.is_hole() && !o->blocks.count(b)) continue;
    UZFS_ASSIGN(Bytes * data, Block(*o, b, true));
    std::fill(data->begin() + static_cast<long>(from - b * bs), data->begin() + static_cast<long>(to - b * bs), 0);
    if (off / bs == (end - 1) / bs) break;
  }
  if (first < last_end) {
    for (auto it = o->blocks.lower_bound(first); it != o->blocks.end() && it->first < last_end;) {
      o->dirty_blocks.erase(it->first);
      o->gen.erase(it->first);
      it = o->blocks.erase(it);
    }
    o->punched.emplace_back(first, last_end - 1);
  }
  MarkDirty(*o);
  if (IsFileData(o->dn.type)) DropCached(*o);  // the ARC's copy of the range is stale
  return Status::Ok();
}

Status ObjsetWriter::FreeSubtree(Obj& o, const BlkPtr& bp, ObjsetSink& sink, uint64_t txg) {
  if (bp.is_hole()) return Status::Ok();
  if (bp.level() > 0) {
    if (!bp.little_endian()) return Status::Error(ENOTSUP, "big-endian indirect block");
    UZFS_ASSIGN(Bytes data, reader_->Read(bp));
    for (size_t off = 0; off + kBlkPtrSize <= data.size(); off += kBlkPtrSize)
      UZFS_TRY(FreeSubtree(o, BlkPtr::Decode(data.data() + off, true), sink, txg));
  }
  o.dn.used -= std::min(o.dn.used, sink.Dsize(bp));
  sink.Kill(bp, txg);
  return Status::Ok();
}

Status ObjsetWriter::FreeRange(Obj& o, uint64_t first, ObjsetSink& sink, uint64_t txg,
                               uint64_t last) {
  int epbs = o.epbs();
  int top = o.dn.nlevels - 1;
  // Visits the block (level, blkid) whose pointer is bp; frees what lies at or past `first`.
  std::function<Status(int, uint64_t)> visit = [&](int level, uint64_t blkid) -> Status {
    uint64_t span_shift = static_cast<uint64_t>(epbs) * level;
    uint64_t lo = span_shift >= 64 ? 0 : blkid << span_shift;
    uint64_t hi = span_shift >= 64 ? UINT64_MAX : ((blkid + 1) << span_shift) - 1;
    if (hi < first || lo > last) return Status::Ok();
    // The pointer to this block, from the parent (which is in memory when level < top).
    BlkPtr bp;
    if (level == top) {
      bp = o.dn.blkptr[blkid];
    } else {
      Bytes& parent = o.ind.at({level + 1, blkid >> epbs});
      bp = BlkPtr::Decode(parent.data() + (blkid & ((1ULL << epbs) - 1)) * kBlkPtrSize, true);
    }
    bool have_mem = level > 0 && o.ind.count({level, blkid});
    if (bp.is_hole() && !have_mem) return Status::Ok();
    if (lo >= first && hi <= last && !have_mem) {
      UZFS_TRY(FreeSubtree(o, bp, sink, txg));
      if (level == top) {
        o.dn.blkptr[blkid] = BlkPtr{};
      } else {
        Bytes& parent = o.ind.at({level + 1, blkid >> epbs});
        BlkPtr{}.Encode(parent.data() + (blkid & ((1ULL << epbs) - 1)) * kBlkPtrSize);
        o.dirty_ind.insert({level + 1, blkid >> epbs});
      }
      return Status::Ok();
    }
    if (level == 0) return Status::Ok();  // outside [first, last]: a block that stays
    UZFS_TRY(Indirect(o, level, blkid).status());
    for (uint64_t c = 0; c < (1ULL << epbs); c++) UZFS_TRY(visit(level - 1, (blkid << epbs) + c));
    return Status::Ok();
  };
  uint64_t saved = o.free_from;
  o.free_from = UINT64_MAX;  // BpAt must see the on-disk tree while freeing it
  for (uint64_t i = 0; i < o.dn.blkptr.size(); i++) {
    Status s = visit(top, i);
    if (!s.ok()) {
      o.free_from = saved;
      return s;
    }
  }
  // A punch's range freed before a truncate pending in the same txg: that one still to do.
  o.free_from = saved;
  return Status::Ok();
}

}  // namespace uzfs
