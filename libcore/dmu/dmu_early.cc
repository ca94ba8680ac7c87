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
      if (blkid >= o->free_from || o->Punched(blkid)) continue;
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
      b.blkid >= o->free_from || o->Punched(b.blkid) || !o->dirty_blocks.count(b.blkid))
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

Result<ObjsetWriter::SyncBlock> ObjsetWriter::CaptureSync(uint64_t obj, uint64_t off,
                                                          uint64_t len, uint64_t synced,
                                                          EarlyBlock* b, BlkPtr* bp) {
  auto loaded = Load(obj);
  if (!loaded.ok()) return SyncBlock::kNone;  // freed meanwhile, or unreadable: copy
  Obj* o = *loaded;
  if (o->freeing || !IsFileData(o->dn.type) || len == 0) return SyncBlock::kNone;
  const uint64_t bs = o->dn.datablksz();
  if (bs == 0) return SyncBlock::kNone;
  const uint64_t blkid = off / bs;
  // The write's range must lie in one block, and that block be one the sync keeps.
  if ((off + len - 1) / bs != blkid || blkid >= o->free_from || o->Punched(blkid) ||
      blkid > o->dn.maxblkid)
    return SyncBlock::kNone;
  if (o->dirty_blocks.count(blkid)) {
    auto d = o->blocks.find(blkid);
    auto g = o->gen.find(blkid);
    if (d == o->blocks.end() || g == o->gen.end() || d->second->size() != bs)
      return SyncBlock::kNone;
    b->obj = obj;
    b->blkid = blkid;
    b->gen = g->second;
    b->blksz = static_cast<uint32_t>(bs);
    b->data = d->second;  // shared: a writer copies it before changing it
    b->props = PropsFor(o->dn, 0);
    return SyncBlock::kDirty;
  }
  // dmu_sync on a clean dbuf: the block is already written in a txg not yet on disk (its
  // bp is what the txg's sync will keep, unless a later change replaces and frees it).
  UZFS_ASSIGN(BlkPtr cur, BpAt(*o, 0, blkid));
  if (cur.is_hole() || cur.birth <= synced || cur.lsize() != bs) return SyncBlock::kNone;
  *bp = cur;
  return SyncBlock::kWritten;
}

}  // namespace uzfs
