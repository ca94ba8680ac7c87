// Early writeback of a txg's file data (see dmu_write.h, "Early writeback"). OpenZFS lets the
// open txg take changes while the previous one syncs, each dirty buffer carrying one record
// per txg (dbuf.c dbuf_dirty / dbuf_sync_leaf). Here the txg that is about to close has its
// file blocks copied under the lock, written by the pool without it, and put in place under
// the lock again only if nothing touched them meanwhile; a block changed in between is simply
// written again by the sync, and the early copy's space given back. The txg stays one
// instant: everything it holds was written by its end, the early copies included.
#include <algorithm>

#include "libcore/dmu/dmu_write.h"
#include "libcore/dmu/dmu_write_obj.h"

namespace uzfs {

void ObjsetWriter::CaptureEarly(std::vector<EarlyBlock>* out, uint64_t max_bytes) {
  uint64_t taken = 0;
  for (uint64_t id : dirty_) {
    if (id == 0) continue;
    Obj* o = LoadedOrNull(id);
    if (!o || o->freeing || !IsFileData(o->dn.type)) continue;
    for (uint64_t blkid : o->dirty_blocks) {
      if (taken >= max_bytes) return;
      if (blkid >= o->free_from) continue;
      auto b = o->blocks.find(blkid);
      auto g = o->gen.find(blkid);
      if (b == o->blocks.end() || g == o->gen.end()) continue;
      EarlyBlock e;
      e.obj = id;
      e.blkid = blkid;
      e.gen = g->second;
      e.blksz = static_cast<uint32_t>(o->dn.datablksz());
      e.data = b->second;  // shared: Block() copies before changing it
      e.props = PropsFor(o->dn, 0);
      taken += e.data->size();
      out->push_back(std::move(e));
    }
  }
}

Result<bool> ObjsetWriter::ApplyEarly(const EarlyBlock& b, const BlkPtr& written,
                                      ObjsetSink& sink, uint64_t txg) {
  Obj* o = LoadedOrNull(b.obj);
  if (!o || o->freeing || !IsFileData(o->dn.type) || o->dn.datablksz() != b.blksz ||
      b.blkid >= o->free_from || !o->dirty_blocks.count(b.blkid))
    return false;
  auto g = o->gen.find(b.blkid);
  if (g == o->gen.end() || g->second != b.gen) return false;
  BlkPtr bp = written;
  if (!bp.is_hole()) bp.fill = 1;
  UZFS_TRY(SetBp(*o, 0, b.blkid, bp, sink, txg));
  o->dirty_blocks.erase(b.blkid);
  o->gen.erase(b.blkid);
  // Clean now and on disk (read back from the ARC or the new bp when needed): the memory
  // goes, so a txg's written data does not pile up until it closes.
  o->blocks.erase(b.blkid);
  return true;
}

}  // namespace uzfs
