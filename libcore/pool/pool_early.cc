// Pool::Sync's first phase, early writeback, and Writeback between txgs (see pool.h; the
// txg state and the write throttle they drive are libcore/txg/txg.h's).
#include <algorithm>

#include "libcore/pool/pool.h"
#include "libcore/pool/pool_sinks.h"

namespace uzfs {

namespace {
constexpr int kEarlyRounds = 3;
// A round worth starting: below this (or an eighth of dirty_max, when smaller) the closing
// sync writes it as fast.
constexpr uint64_t kEarlyMinBytes = 8ULL << 20;
// At most this much is copied per round (bounds the copies' memory).
constexpr uint64_t kEarlyMaxBytes = 1ULL << 30;
}  // namespace

Pool::TxgStats Pool::txg_stats() const {
  TxgStats t;
  t.syncs = stats_.syncs;
  t.early_rounds = stats_.early_rounds;
  t.early_blocks = stats_.early_blocks;
  t.early_bytes = stats_.early_bytes;
  t.early_stale = stats_.early_stale;
  t.throttle_delays = dirty_.delays();
  t.throttle_waits = dirty_.waits();
  t.close_us = stats_.close_us;
  t.labels_us = stats_.labels_us;
  return t;
}

Status Pool::Writeback() {
  std::lock_guard<std::mutex> one(sync_mu_);
  bool ran_out = false;
  UZFS_TRY(WriteEarly(&ran_out));
  if (dirty_.DrainedBelowThreshold()) return Status::Ok();
  if (!ran_out) {
    // Every round found a full load: writers are producing file data as fast as it is
    // written. Let the next writer ask again rather than close the txg under the lock, which
    // would hold every writer while the rest is written (0.5 s stalls in a 1 GiB fio write).
    dirty_.AskAgain();
    return Status::Ok();
  }
  // Still as much dirty as made it ask, yet too little file data to write early (metadata,
  // blocks changed faster than they were written): close the txg, which empties it.
  std::unique_lock<std::mutex> l = SyncLock();
  return SyncLocked(kPoolStateActive, &l);
}

void Pool::DropDatasetLocked(uint64_t ds_obj) {
  DropLogLocked(ds_obj);
  auto it = datasets_.find(ds_obj);
  if (it == datasets_.end()) return;
  if (it->second.pending_sink) it->second.pending_sink->FreeUnsynced(txg_.open());
  datasets_.erase(it);
}

Status Pool::WriteEarly(bool* ran_out) {
  if (ran_out) *ran_out = false;
  for (int round = 0; round < kEarlyRounds; round++) {
    struct Capture {
      uint64_t ds_obj = 0, serial = 0;
      std::vector<ObjsetWriter::EarlyBlock> blocks;
    };
    std::vector<Capture> caps;
    uint64_t txg = 0, bytes = 0;
    WritePipeline pl;
    {
      std::unique_lock<std::mutex> l = SyncLock();
      if (!failed_.ok() || readonly_ || closed_ || txg_.early()) {
        if (ran_out) *ran_out = true;
        return Status::Ok();
      }
      txg = txg_.open();
      for (auto& [ds_obj, od] : datasets_) {
        Capture c;
        c.ds_obj = ds_obj;
        c.serial = od.os->serial();
        od.os->CaptureEarly(&c.blocks, kEarlyMaxBytes - std::min(bytes, kEarlyMaxBytes));
        for (const auto& b : c.blocks) bytes += b.data->size();
        if (!c.blocks.empty()) caps.push_back(std::move(c));
      }
      if (bytes < std::min<uint64_t>(kEarlyMinBytes, dirty_.max() / 8)) {
        if (ran_out) *ran_out = true;
        return Status::Ok();
      }
      pl = Pipeline(txg);
      txg_.BeginEarly();
    }
    // Without the pool lock: compress, checksum, allocate (alloc_mu_) and write.
    std::vector<BlockWrite> batch;
    for (Capture& c : caps)
      for (auto& b : c.blocks) {
        BlockWrite w;
        w.data = *b.data;
        w.props = b.props;
        batch.push_back(w);
      }
    std::vector<VdevIoError> errs;
    Status s = uzfs::WriteBlocks(batch, txg, pl, &errs);
    std::unique_lock<std::mutex> l = SyncLock();
    stats_.early_rounds++;
    txg_.EndEarly();
    auto give_back = [&](const BlkPtr& bp) {
      std::lock_guard<std::mutex> al(alloc_mu_);
      (void)MetaslabFree(groups_, bp, /*unalloc=*/true);  // never referenced: reusable at once
    };
    if (!s.ok()) {
      if (s.code() == ENOSPC) {
        for (BlockWrite& w : batch)
          if (w.allocated) give_back(w.bp);
        return Status::Ok();  // the closing sync meets (and reports) it
      }
      failed_ = s.Context("pool " + name_ + " suspended");
      return failed_;
    }
    size_t i = 0;
    uint64_t applied = 0;
    for (Capture& c : caps) {
      auto it = datasets_.find(c.ds_obj);
      bool same = it != datasets_.end() && it->second.os->serial() == c.serial &&
                  txg_.open() == txg;
      OpenDataset* od = same ? &it->second : nullptr;
      if (od && !od->pending_sink) {
        UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, c.ds_obj));
        od->pending_sink = std::make_shared<DatasetSink>(this, ds.prev_snap_txg);
      }
      for (auto& b : c.blocks) {
        BlockWrite& w = batch[i++];
        bool used = false;
        if (od) {
          auto r = od->os->ApplyEarly(b, w.bp, *od->pending_sink, txg);
          if (!r.ok()) return failed_ = r.status();
          used = *r;
        }
        if (used) {
          stats_.early_blocks++;
          stats_.early_bytes += b.data->size();
          applied += b.data->size();
        } else {
          stats_.early_stale++;
          if (w.allocated) give_back(w.bp);
        }
      }
    }
    // Written and in place: no longer dirty data in memory (the throttle's measure).
    dirty_.Credit(applied);
  }
  return Status::Ok();
}

}  // namespace uzfs
