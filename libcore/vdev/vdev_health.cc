#include "libcore/vdev/vdev_health.h"

namespace uzfs {

LeafState LeafHealth::OnError(VdevErrKind k, const std::function<ProbeResult()>& probe,
                              const std::function<bool()>& may_fault) {
  std::lock_guard<std::mutex> l(probe_mu_);
  if (dead()) return state();  // vdev_stat_update: nothing is counted on a dead vdev
  switch (k) {
    case VdevErrKind::kRead: read_.fetch_add(1, std::memory_order_relaxed); break;
    case VdevErrKind::kWrite: write_.fetch_add(1, std::memory_order_relaxed); break;
    case VdevErrKind::kChecksum: cksum_.fetch_add(1, std::memory_order_relaxed); break;
  }
  if (probe) {
    switch (probe()) {
      case ProbeResult::kOk: break;
      case ProbeResult::kFailed: Set(LeafState::kFaulted); return state();
      case ProbeResult::kGone: Set(LeafState::kCantOpen); return state();
      case ProbeResult::kRemoved:
        ZeroLocked();
        Set(LeafState::kRemoved);
        return state();
    }
  }
  // Checksum errors never fault a leaf: the device answers, and the data it returned is
  // repaired from the other copies (OpenZFS's diagnosis engine only degrades a vdev for them).
  // vdev_fault: a fault that would leave the top-level vdev without its only copy backs off
  // to DEGRADED (the probe above found the device readable, as vdev_fault's reopen checks).
  if (read_errors() + write_errors() >= kFaultAfter) {
    if (!may_fault || may_fault()) Set(LeafState::kFaulted);
    else if (state() == LeafState::kOnline) Set(LeafState::kDegraded);
  }
  return state();
}

void LeafHealth::ZeroLocked() {
  read_.store(0, std::memory_order_relaxed);
  write_.store(0, std::memory_order_relaxed);
  cksum_.store(0, std::memory_order_relaxed);
}

LeafState LeafHealth::Remove() {
  std::lock_guard<std::mutex> l(probe_mu_);
  const LeafState before = state();
  if (before == LeafState::kOffline || before == LeafState::kRemoved) return before;
  ZeroLocked();
  Set(LeafState::kRemoved);
  return before;
}

void LeafHealth::Clear() {
  std::lock_guard<std::mutex> l(probe_mu_);
  ZeroLocked();
  if (state() != LeafState::kOffline) Set(LeafState::kOnline);
}

}  // namespace uzfs
