#include "libcore/txg/txg.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace uzfs {

namespace {
constexpr uint64_t kDelayMinPercent = 60;           // zfs_delay_min_dirty_percent
constexpr uint64_t kDelayScaleNs = 500000;          // zfs_delay_scale
constexpr uint64_t kDelayMaxNs = 100ULL * 1000000;  // zfs_delay_max_ns
constexpr uint64_t kSyncPercent = 20;               // zfs_dirty_data_sync_percent
constexpr uint64_t kSyncBytes = 64ULL << 20;        // zfs_dirty_data_sync (older OpenZFS)
}  // namespace

uint64_t DirtyThrottle::DefaultMax() {
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  uint64_t mem = pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page)
                                       : 4ULL << 30;
  return std::min<uint64_t>(mem / 10, 4ULL << 30);
}

void DirtyThrottle::SetMax(uint64_t bytes) { max_ = std::max<uint64_t>(bytes, 1ULL << 20); }

uint64_t DirtyThrottle::Threshold() const { return std::min<uint64_t>(kSyncBytes, max_ * kSyncPercent / 100); }

void DirtyThrottle::Credit(uint64_t bytes) {
  {
    std::lock_guard<std::mutex> l(mu_);
    uint64_t d = dirty_;
    dirty_ = d - std::min(d, bytes);
  }
  cv_.notify_all();
}

void DirtyThrottle::Closed() {
  {
    std::lock_guard<std::mutex> l(mu_);
    dirty_ = 0;
    asked_ = false;
  }
  cv_.notify_all();
}

void DirtyThrottle::NoteDirty() {
  if (!sync_wanted_ || asked_ || dirty_ < Threshold()) return;
  if (!asked_.exchange(true)) sync_wanted_();
}

bool DirtyThrottle::DrainedBelowThreshold() {
  if (dirty_ >= Threshold()) return false;
  asked_ = false;  // past the threshold again, it asks again
  return true;
}

uint64_t DirtyThrottle::DelayNs(uint64_t dirty) const {
  uint64_t max = max_, min = max * kDelayMinPercent / 100;
  if (dirty <= min) return 0;
  if (dirty >= max) return kDelayMaxNs;
  return std::min<uint64_t>(kDelayMaxNs, kDelayScaleNs * (dirty - min) / (max - dirty));
}

void DirtyThrottle::Throttle(const std::function<bool()>& failed) {
  uint64_t max = max_, dirty = dirty_;
  if (dirty <= max * kDelayMinPercent / 100) return;
  if (dirty < max) {
    // dmu_tx_delay: the closer to the bound, the longer each writer waits.
    uint64_t ns = DelayNs(dirty);
    if (!asked_.exchange(true) && sync_wanted_) sync_wanted_();
    delays_++;
    std::this_thread::sleep_for(std::chrono::nanoseconds(ns));
    return;
  }
  // dmu_tx_wait: at the bound, wait for the open txg to close.
  waits_++;
  std::unique_lock<std::mutex> l(mu_);
  while (dirty_ >= max_ && !failed()) {
    if (!asked_.exchange(true) && sync_wanted_) {
      l.unlock();
      sync_wanted_();
      l.lock();
      continue;
    }
    cv_.wait_for(l, std::chrono::seconds(1));
  }
}

}  // namespace uzfs
