// WR_INDIRECT log records: a large synchronous write is logged by block pointer (zfs-fuse
// zfs_vnops.c zfs_get_data, dmu.c dmu_sync / dmu_sync_done, dbuf.c dbuf_sync_leaf's
// dr_overridden_by). The commit writes the file's block at once, in the open txg, and puts
// it in the object's tree as that txg's sync would have (ObjsetWriter::ApplyEarly, the same
// step early writeback takes): the sync then writes nothing more for it, the data reaches
// the disk once. The record carries the pointer only, and import claims the block
// (Pool::ClaimLogLocked) until replay or the log's destruction frees it.
//
// Every case ends with the block either in the tree (its allocation counted in the txg's
// space maps with the tree's) or freed in the same txg (allocation and free both in its
// space maps): changed again, truncated, freed, rolled back or resized between the capture
// and the apply, or later in the txg, the block stays whole on disk until the txg syncs
// (Pool::NoteLoggedBlockLocked), so a crash before then still replays the record.
#include "libcore/pool/pool.h"
#include "libcore/pool/pool_sinks.h"
#include "libcore/zil/zil_write.h"

namespace uzfs {

void Pool::NoteLoggedBlockLocked(const BlkPtr& bp) {
  if (bp.is_hole()) return;
  logged_blocks_[{bp.dva[0].vdev(), bp.dva[0].offset()}] = bp.birth;
}

bool Pool::LoggedBlockLocked(const BlkPtr& bp) const {
  return !logged_blocks_.empty() && logged_blocks_.count({bp.dva[0].vdev(), bp.dva[0].offset()});
}

Status Pool::DmuSyncLocked(uint64_t ds_obj, const std::shared_ptr<ZilWriter>& zil,
                           std::vector<Itx>& itxs, std::vector<DmuSyncWrite>& writes,
                           std::unique_lock<std::mutex>& l, std::set<uint64_t>* tops,
                           bool* sync, bool* gone) {
  *sync = *gone = false;
  if (writes.empty()) return Status::Ok();
  // The txg the blocks are allocated in stays open until they are in place (dmu_sync's
  // dmu_tx: the block belongs to the txg whose dirty record it overrides).
  const uint64_t txg = txg_.open();
  const uint64_t serial = datasets_.at(ds_obj).os->serial();
  txg_.Hold();
  WritePipeline pl = Pipeline(txg);
  l.unlock();
  std::vector<BlockWrite> batch(writes.size());
  for (size_t i = 0; i < writes.size(); i++) {
    batch[i].data = *writes[i].blk.data;
    batch[i].props = writes[i].blk.props;
  }
  std::vector<VdevIoError> errs;
  Status s = uzfs::WriteBlocks(batch, txg, pl, &errs);
  // Not flushed here: the commit flushes these vdevs with its log block, once, before it
  // answers (zil_commit waits for the dmu_sync writes and the log blocks together, then
  // flushes). A crash in between that leaves the log block but not a block it names ends
  // the log at that record (the claim cannot read it, zil_claim_log_record): nothing
  // acknowledged is lost.
  for (const BlockWrite& w : batch)
    for (int d = 0; d < w.bp.ndvas(); d++) tops->insert(w.bp.dva[d].vdev());
  l.lock();
  auto give_back = [&]() {  // never named by a record on disk: reusable at once
    std::lock_guard<std::mutex> al(alloc_mu_);
    for (BlockWrite& w : batch)
      if (w.allocated) (void)MetaslabFree(groups_, w.bp, /*unalloc=*/true);
  };
  auto it = datasets_.find(ds_obj);
  if (!s.ok() || it == datasets_.end() || it->second.zil != zil) {
    give_back();
    txg_.Release();
    if (!s.ok() && s.code() != ENOSPC) return failed_ = s.Context("pool " + name_ + " suspended");
    *sync = !s.ok();  // out of space: the txg's sync is the commit (it meets the ENOSPC)
    *gone = s.ok();   // rolled back or destroyed: the records describe nothing now
    return Status::Ok();
  }
  OpenDataset& od = it->second;
  const bool same = od.os->serial() == serial && txg_.open() == txg;
  if (same && !od.pending_sink) {
    UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, ds_obj));
    od.pending_sink = std::make_shared<DatasetSink>(this, ds.prev_snap_txg);
  }
  uint64_t applied = 0;
  for (size_t i = 0; i < writes.size(); i++) {
    BlkPtr bp = batch[i].bp;
    const DmuSyncWrite& w = writes[i];
    bool used = false;
    if (same) {
      // dmu_sync_done: the block overrides the dirty record (here: takes its place now).
      // Changed, truncated, freed or resized since the capture: not used (dbuf_unoverride),
      // but the record may still name it: its bytes are the file's as of the capture, which
      // every write the record describes had reached (later changes log their own records).
      auto r = od.os->ApplyEarly(w.blk, bp, *od.pending_sink, txg);
      if (!r.ok()) {
        txg_.Release();
        return failed_ = r.status();
      }
      used = *r;
    }
    if (bp.is_hole()) {
      // dmu_sync_ready: a block of zeros compressed to a hole still says its size for
      // replay.
      bp = BlkPtr{};
      bp.set_lsize(w.blk.blksz);
    } else {
      bp.fill = 1;
      std::lock_guard<std::mutex> al(alloc_mu_);
      NoteLoggedBlockLocked(bp);
    }
    if (used) {
      applied += w.blk.data->size();
    } else if (!bp.is_hole()) {
      FreeBlock(bp, txg);  // into the txg's frees: NoteLoggedBlockLocked keeps it whole
    }
    for (auto [idx, blkoff] : w.recs) SetLrWriteBlock(&itxs[idx].lr, blkoff, bp);
  }
  dirty_.Credit(applied);
  stats_.indirect_blocks += writes.size();
  txg_.Release();
  return Status::Ok();
}

}  // namespace uzfs
