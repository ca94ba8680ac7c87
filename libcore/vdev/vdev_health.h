// A leaf vdev's error counters and fault state (OpenZFS vdev_stat_t's vs_read_errors,
// vs_write_errors, vs_checksum_errors; vdev.c vdev_stat_update, vdev_probe, vdev_fault,
// vdev_clear; the diagnosis engine's "persistent errors"). docs/design.md section 8.
//
// The rules:
// - an I/O error a leaf meets is counted, unless the leaf is already dead (FAULTED or
//   UNAVAIL: vdev_stat_update counts nothing on a dead vdev, whose I/O fails at once);
// - then the device is probed (vdev_probe: the pad areas of labels 1-3 read and written
//   back through the open descriptor, then the path opened afresh): a device that answers
//   keeps the leaf ONLINE with the error counted; one that does not is FAULTED ("too many
//   errors", VDEV_AUX_ERR_EXCEEDED), or UNAVAIL ("cannot open", VDEV_AUX_OPEN_FAILED) when
//   its path is gone (ENOENT, ENXIO, ENODEV at the reopen), or REMOVED when the gone device
//   was a block device (vdev_disk's media check: vdev_remove_wanted, spa_async_remove);
// - kFaultAfter I/O errors (read and write) since the last clear fault the leaf whatever the
//   probe says (the diagnosis engine's SERD of ten I/O errors), unless the leaf holds its
//   top-level vdev's only copy: vdev_fault then backs off and marks the leaf DEGRADED, "too
//   many errors" (VDEV_STATE_DEGRADED, VDEV_AUX_ERR_EXCEEDED), which is no dead state: its
//   I/O goes on and its errors are still counted, and a failed probe still faults it;
//   checksum errors are counted but fault nothing (the device answers; the data is
//   repaired from the other copies);
// - Clear (zpool clear) zeroes the counters and makes the leaf ONLINE (DEGRADED included:
//   vdev_clear drops vdev_degraded); the caller reopens the device and sets what the reopen
//   found.
// A dead leaf takes no I/O: reads and writes fail with ENXIO without touching the device,
// its labels are not written, allocations skip its top-level vdev.
//
// FAULTED and DEGRADED are persisted in the config (ZPOOL_CONFIG_FAULTED and _DEGRADED,
// vdev_faulted and vdev_degraded): zfsd's reopen from its cache file keeps them, an explicit
// import drops them (v23's vdev_alloc reads them only in SPA_LOAD_OPEN; SpaOpenOptions::
// from_cache). The other dead states live in memory only: an import opens those afresh.
//
// Thread safety: every method may be called from any thread; probes are serialized (one at
// a time per leaf, as vdev_probe's single probe zio), counters are atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>

namespace uzfs {

enum class VdevErrKind { kRead, kWrite, kChecksum };

enum class LeafState : int {
  kOnline = 0,
  kFaulted = 1,   // FAULTED, "too many errors"
  kCantOpen = 2,  // UNAVAIL, "cannot open"
  kOffline = 3,   // OFFLINE: zpool offline (vdev_offline); only zpool online returns it
  kRemoved = 4,   // REMOVED: its block device went away (spa_async_remove, VDEV_AUX_NONE)
  kDegraded = 5,  // DEGRADED, "too many errors": vdev_fault's back-off; not dead, I/O goes on
};

// What a probe of a leaf's device found.
enum class ProbeResult {
  kOk,      // it reads and writes
  kFailed,  // it is there but does not answer (EIO, ENOTCONN, EACCES...)
  kGone,    // its path names nothing (ENOENT, ENXIO, ENODEV)
  kRemoved, // its block device is gone (File::Present: removed, detached)
};

class LeafHealth {
 public:
  static constexpr uint64_t kFaultAfter = 10;

  LeafState state() const { return static_cast<LeafState>(state_.load(std::memory_order_acquire)); }
  // No I/O reaches a dead leaf; a DEGRADED one is only a warning (vdev_degrade: "the vdev
  // continues to operate as normal as far as I/O is concerned").
  bool dead() const {
    const LeafState s = state();
    return s != LeafState::kOnline && s != LeafState::kDegraded;
  }
  uint64_t read_errors() const { return read_.load(std::memory_order_relaxed); }
  uint64_t write_errors() const { return write_.load(std::memory_order_relaxed); }
  uint64_t checksum_errors() const { return cksum_.load(std::memory_order_relaxed); }

  // An I/O error of kind k (see the rules above). probe may be empty: the error is counted
  // and only kFaultAfter errors fault the leaf. may_fault (may be empty: yes) says whether
  // kFaultAfter errors may fault it (false: the leaf holds the only copy, and an ONLINE leaf
  // becomes DEGRADED instead). Returns the state after it.
  LeafState OnError(VdevErrKind k, const std::function<ProbeResult()>& probe,
                    const std::function<bool()>& may_fault = nullptr);

  // zpool clear: counters zeroed, ONLINE (an OFFLINE leaf stays OFFLINE: vdev_clear does
  // not online a device).
  void Clear();
  // spa_async_remove: REMOVED, the counters zeroed (not a vdev_clear: the state is kept).
  // An OFFLINE leaf stays OFFLINE. Returns the state before.
  LeafState Remove();
  // What a reopen found (zpool clear's vdev_reopen).
  void Set(LeafState s) { state_.store(static_cast<int>(s), std::memory_order_release); }

 private:
  void ZeroLocked();  // counters to 0; probe_mu_ held
  std::mutex probe_mu_;
  std::atomic<int> state_{0};
  std::atomic<uint64_t> read_{0}, write_{0}, cksum_{0};
};

}  // namespace uzfs
