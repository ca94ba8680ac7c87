// Pool::Sync's first phase, early writeback, and the write throttle (see pool.h; txg.c's
// open/quiesce/sync overlap and dmu_tx.c's delay as this pool does them).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

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
constexpr uint64_t kDelayMinPercent = 60;            // zfs_delay_min_dirty_percent
constexpr uint64_t kDelayScaleNs = 500000;           // zfs_delay_scale
constexpr uint64_t kDelayMaxNs = 100ULL * 1000000;   // zfs_delay_max_ns
constexpr uint64_t kSyncPercent = 20;                // zfs_dirty_data_sync_percent
constexpr uint64_t kSyncBytes = 64ULL << 20;         // zfs_dirty_data_sync (older OpenZFS)
}  // namespace

uint64_t Pool::DefaultDirtyMax() {
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  uint64_t mem = pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page)
                                       : 4ULL << 30;
  return std::min<uint64_t>(mem / 10, 4ULL << 30);
}

Pool::TxgStats Pool::txg_stats() const {
  TxgStats t;
  t.syncs = stats_.syncs;
  t.early_rounds = stats_.early_rounds;
  t.early_blocks = stats_.early_blocks;
  t.early_bytes = stats_.early_bytes;
  t.early_stale = stats_.early_stale;
  t.throttle_delays = stats_.throttle_delays;
  t.throttle_waits = stats_.throttle_waits;
  t.close_us = stats_.close_us;
  t.labels_us = stats_.labels_us;
  return t;
}

void Pool::NoteDirty() {
  if (!sync_wanted_ || sync_asked_) return;
  if (dirty_bytes_ < std::min<uint64_t>(kSyncBytes, dirty_max_ * kSyncPercent / 100)) return;
  if (!sync_asked_.exchange(true)) sync_wanted_();
}

Status Pool::Writeback() {
  std::lock_guard<std::mutex> one(sync_mu_);
  UZFS_TRY(WriteEarly());
  if (dirty_bytes_ < std::min<uint64_t>(kSyncBytes, dirty_max_ * kSyncPercent / 100)) {
    sync_asked_ = false;  // past the threshold again, it asks again
    return Status::Ok();
  }
  // Still as much dirty as made it ask (data that is no file data, blocks changed faster than
  // they were written): close the txg, which empties it.
  std::unique_lock<std::mutex> l(mu_);
  return SyncReleasing(l, kPoolStateActive);
}

void Pool::Throttle() {
  uint64_t max = dirty_max_, dirty = dirty_bytes_;
  uint64_t min = max * kDelayMinPercent / 100;
  if (dirty <= min) return;
  if (dirty < max) {
    // dmu_tx_delay: the closer to the bound, the longer each writer waits.
    uint64_t ns = std::min<uint64_t>(kDelayMaxNs, kDelayScaleNs * (dirty - min) / (max - dirty));
    if (!sync_asked_.exchange(true) && sync_wanted_) sync_wanted_();
    stats_.throttle_delays++;
    std::this_thread::sleep_for(std::chrono::nanoseconds(ns));
    return;
  }
  // dmu_tx_wait: at the bound, wait for a sync to empty the txg.
  stats_.throttle_waits++;
  std::unique_lock<std::mutex> l(throttle_mu_);
  while (dirty_bytes_ >= dirty_max_ && !suspended()) {
    if (!sync_asked_.exchange(true) && sync_wanted_) {
      l.unlock();
      sync_wanted_();
      l.lock();
      continue;
    }
    throttle_cv_.wait_for(l, std::chrono::seconds(1));
  }
}

void Pool::DropDatasetLocked(uint64_t ds_obj) {
  auto it = datasets_.find(ds_obj);
  if (it == datasets_.end()) return;
  if (it->second.pending_sink) it->second.pending_sink->FreeUnsynced(open_txg_);
  datasets_.erase(it);
}

Status Pool::WriteEarly() {
  for (int round = 0; round < kEarlyRounds; round++) {
    struct Capture {
      uint64_t ds_obj = 0, serial = 0;
      std::vector<ObjsetWriter::EarlyBlock> blocks;
    };
    std::vector<Capture> caps;
    uint64_t txg = 0, bytes = 0;
    WritePipeline pl;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!failed_.ok() || readonly_ || closed_ || early_in_flight_) return Status::Ok();
      txg = open_txg_;
      for (auto& [ds_obj, od] : datasets_) {
        Capture c;
        c.ds_obj = ds_obj;
        c.serial = od.os->serial();
        od.os->CaptureEarly(&c.blocks, kEarlyMaxBytes - std::min(bytes, kEarlyMaxBytes));
        for (const auto& b : c.blocks) bytes += b.data->size();
        if (!c.blocks.empty()) caps.push_back(std::move(c));
      }
      if (bytes < std::min<uint64_t>(kEarlyMinBytes, dirty_max_ / 8)) return Status::Ok();
      pl = Pipeline(txg);
      early_in_flight_ = true;
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
    std::lock_guard<std::mutex> l(mu_);
    stats_.early_rounds++;
    early_in_flight_ = false;
    txg_cv_.notify_all();
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
    // Written and in place: no longer dirty data in memory (the throttle's measure).
    auto credit = [&] {
      {
        std::lock_guard<std::mutex> tl(throttle_mu_);
        uint64_t d = dirty_bytes_;
        dirty_bytes_ = d - std::min(d, applied);
      }
      throttle_cv_.notify_all();
    };
    for (Capture& c : caps) {
      auto it = datasets_.find(c.ds_obj);
      bool same = it != datasets_.end() && it->second.os->serial() == c.serial &&
                  open_txg_ == txg;
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
    credit();
  }
  return Status::Ok();
}

}  // namespace uzfs
