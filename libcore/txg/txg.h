// The txg engine's clock and brakes for one pool: which txg is open and which is synced, in
// what order txgs end (OpenZFS's txg.c, tx_state_t), and how much dirty data the open txg
// holds, with the write throttle that keeps it bounded (dsl_pool.c's dirty accounting,
// dmu_tx.c's dmu_tx_delay / dmu_tx_wait). What a txg writes, and how, is spa_sync's: the
// pool's Sync (libcore/pool/pool.h) drives these through its three phases.
//
// Locks: TxgState is guarded by its owner's lock (the Pool's mu_), which its waits take as
// an argument and release while they wait; synced() alone may be read without it.
// DirtyThrottle is thread-safe: its counters are atomic and its waits use its own mutex,
// never held while calling the sync-wanted hook.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace uzfs {

class TxgState {
 public:
  // After create or import: synced is the last txg on disk, the next one is open.
  void Init(uint64_t synced) {
    synced_ = synced;
    open_ = synced + 1;
  }
  uint64_t open() const { return open_; }      // the txg changes go into now
  uint64_t synced() const { return synced_; }  // the last txg whose uberblock is on disk

  // An early writeback wrote for the open txg and will put its blocks in place: the txg
  // must not close in between (its allocations land in this txg's space maps only if used).
  void BeginEarly() { early_ = true; }
  void EndEarly() {
    early_ = false;
    cv_.notify_all();
  }
  bool early() const { return early_; }
  // txg_hold_open: a change made outside the owner's lock needs the open txg to stay open
  // until it is done (an intent log block allocated in it, not yet written). Counted.
  void Hold() { holds_++; }
  void Release() {
    holds_--;
    cv_.notify_all();
  }

  // txg_wait_open's part: waits, releasing lock (the owner's, held), until the open txg may
  // close: no early writeback between capture and apply, no hold, no other txg's labels in
  // flight.
  void WaitQuiet(std::mutex& lock) {
    while (early_ || labels_ || holds_ > 0) cv_.wait(lock);
  }
  // The open txg is closed (its blocks are written): changes from now on go into the next.
  void Closed(uint64_t txg) { open_ = txg + 1; }
  // Its labels and uberblocks are being written without the owner's lock (txg.c's syncing
  // state overlapping the next open one).
  void BeginLabels() { labels_ = true; }
  void EndLabels() {
    labels_ = false;
    cv_.notify_all();
  }
  // The uberblock of txg is on disk.
  void Synced(uint64_t txg) { synced_ = txg; }

 private:
  std::atomic<uint64_t> synced_{0};
  uint64_t open_ = 1;
  bool early_ = false, labels_ = false;
  int holds_ = 0;
  std::condition_variable_any cv_;
};

class DirtyThrottle {
 public:
  // zfs_dirty_data_max's default: 10% of physical memory, at most 4 GiB.
  static uint64_t DefaultMax();
  void SetMax(uint64_t bytes);  // at least 1 MiB
  uint64_t max() const { return max_; }
  uint64_t dirty() const { return dirty_; }
  // Called (from the writer or the throttle, never under this class's lock) when the open
  // txg's dirty data passes the sync threshold, once until the next Writeback or close.
  void SetSyncWanted(std::function<void()> fn) { sync_wanted_ = std::move(fn); }

  // Bytes reserved in the open txg by a writer.
  void Add(uint64_t bytes) { dirty_ += bytes; }
  // Bytes written early and put in place: no longer dirty in memory.
  void Credit(uint64_t bytes);
  // The open txg closed: everything dirty is on disk. Wakes writers held at the bound.
  void Closed();
  // Wakes writers held at the bound to look again (a txg ended, the pool failed).
  void Wake() { cv_.notify_all(); }

  // After a writer's change: asks for a sync once dirty data passes the threshold
  // (zfs_dirty_data_sync: 64 MiB, or zfs_dirty_data_sync_percent, 20% of max, if smaller).
  void NoteDirty();
  // After an early writeback: true (and the hook may ask again) when dirty data fell below
  // the threshold; false when as much is dirty as made it ask, and the txg should close.
  bool DrainedBelowThreshold();
  // Lets the hook be called again by the next writer past the threshold (a writeback that
  // left as much dirty as it found, with more to write).
  void AskAgain() { asked_ = false; }
  // Before a writer's change (dmu_tx_delay / dmu_tx_wait): past 60% of max it sleeps
  // 500 us * (dirty - 60%) / (max - dirty), at most 100 ms; at max it waits for the open txg
  // to close, or for failed() to say the pool is suspended.
  void Throttle(const std::function<bool()>& failed);

  // The delay dmu_tx_delay gives at this much dirty data (0 below 60%; for tests).
  uint64_t DelayNs(uint64_t dirty) const;
  uint64_t delays() const { return delays_; }
  uint64_t waits() const { return waits_; }

 private:
  uint64_t Threshold() const;
  std::atomic<uint64_t> dirty_{0};
  std::atomic<uint64_t> max_{DefaultMax()};
  std::atomic<bool> asked_{false};  // the hook was called since the last drain or close
  std::function<void()> sync_wanted_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> delays_{0}, waits_{0};
};

}  // namespace uzfs
