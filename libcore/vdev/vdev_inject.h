// Device fault injection (OpenZFS zio_inject.c's device handlers, zio_handle_device_injection;
// the zinject(8) command sets them through zfsd). A leaf's injected fault, as the pool's
// handlers for that leaf add up (Pool::InjectFault, pool_inject.cc):
// - EIO: the leaf's reads and/or writes (flushes count as writes) fail with EIO before they
//   reach the device; the probe that follows an error still reaches it, so a healthy device
//   stays ONLINE with its error counted (until LeafHealth::kFaultAfter errors fault it);
// - ENXIO: as if the device were pulled: I/O fails with ENXIO, and so do the probe's I/O and
//   every reopen of its path (vdev_probe, zpool clear's vdev_reopen), so the leaf becomes
//   UNAVAIL "cannot open" and stays so until the handler is cleared.
// A handler with a frequency below 100 fails that percentage of the I/O, picked at random.
// A label handler (zinject -L, zio_handle_label_injection) names regions of the leaf's four
// labels instead: every read or write of those regions fails with EIO, whatever its
// frequency; the rest of the device's I/O is untouched.
//
// Thread safety: Set is called under the pool's lock while I/O runs; every field is an
// atomic read on its own (an I/O racing a change sees the old fault or the new one).
#pragma once

#include <atomic>
#include <cstdint>

namespace uzfs {

class LeafInject {
 public:
  // The fault of the leaf: errno (0: none) for reads and for writes, and the percentage of
  // the I/O that fails (1-100).
  void Set(int read_errno, int write_errno, uint32_t freq) {
    freq_.store(freq, std::memory_order_relaxed);
    read_.store(read_errno, std::memory_order_relaxed);
    write_.store(write_errno, std::memory_order_release);
  }
  // The errno an I/O (a write or flush when write) is to fail with, 0 to let it through.
  int Hit(bool write) const;
  // The label regions (vdev_label.h's kLabel* bits) whose I/O fails with EIO.
  void SetLabels(unsigned regions) { labels_.store(regions, std::memory_order_release); }
  unsigned labels() const { return labels_.load(std::memory_order_acquire); }
  // The errno an I/O of the label regions given fails with (EIO), 0 to let it through.
  int LabelHit(unsigned regions) const { return (labels() & regions) ? kEio : 0; }
  // An ENXIO handler is set: probes and reopens fail as if the path named nothing.
  bool gone() const {
    return read_.load(std::memory_order_relaxed) == kNxio ||
           write_.load(std::memory_order_acquire) == kNxio;
  }

 private:
  static constexpr int kNxio = 6, kEio = 5;  // ENXIO, EIO
  std::atomic<int> read_{0}, write_{0};
  std::atomic<unsigned> labels_{0};
  std::atomic<uint32_t> freq_{100};
};

}  // namespace uzfs
