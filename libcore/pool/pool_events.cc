// Pool events (pool.h, "Events"): the payloads OpenZFS's zfs_fm.c (zfs_ereport_start,
// zfs_post_state_change) and spa.c (spa_event_create) build, posted to the daemon's EventLog.
#include <cerrno>

#include "libcore/pool/pool_events.h"

namespace uzfs {

namespace {

constexpr uint64_t kContextNormal = 0;    // SPA_LOAD_NONE: the pool is running
constexpr int kEcksum = EBADE;            // ECKSUM on Linux, as zio_err reports it

// vdev_state_t of a leaf's health.
uint64_t VdevStateOf(LeafState s) {
  switch (s) {
    case LeafState::kOnline: return 7;    // VDEV_STATE_HEALTHY
    case LeafState::kFaulted: return 5;   // VDEV_STATE_FAULTED
    case LeafState::kCantOpen: return 4;  // VDEV_STATE_CANT_OPEN
    case LeafState::kOffline: return 2;   // VDEV_STATE_OFFLINE
    case LeafState::kRemoved: return 3;   // VDEV_STATE_REMOVED
    case LeafState::kDegraded: return 6;  // VDEV_STATE_DEGRADED
  }
  return 0;
}

std::string PathOf(const Vdev& v) { return v.open_path.empty() ? v.path : v.open_path; }

}  // namespace

void Pool::PostEvent(const std::string& what, const Vdev* vd, NvList extra) {
  EventLog* log = events_.load(std::memory_order_acquire);
  if (!log) return;
  NvList ev;
  ev.AddUint64("version", 0);
  ev.AddString("class", "sysevent.fs.zfs." + what);
  ev.AddString("pool", name_);
  ev.AddUint64("pool_guid", guid_);
  ev.AddUint64("pool_state", kPoolStateActive);
  ev.AddUint64("pool_context", kContextNormal);
  if (vd) {
    ev.AddUint64("vdev_guid", vd->guid);
    if (!PathOf(*vd).empty()) ev.AddString("vdev_path", PathOf(*vd));
  }
  for (const NvList::Pair& p : extra.pairs()) ev.AddValue(p.name, p.value);
  log->Post(std::move(ev));
}

void Pool::PostVdevError(Vdev& leaf, const Vdev::ErrorReport& r) {
  // A leaf that died or was degraded: zfsd's retire agent may give it a spare
  // (ActivateSpares; zfs_retire_recv_cb after zpool_vdev_fault or zpool_vdev_degrade).
  if (r.after != r.before && (r.after == LeafState::kFaulted || r.after == LeafState::kCantOpen ||
                              r.after == LeafState::kRemoved || r.after == LeafState::kDegraded))
    spare_wanted_.store(true, std::memory_order_relaxed);
  // A leaf the errors faulted is FAULTED in the config from the next txg (the diagnosis
  // engine's vdev_fault, persistent): CloseTxgLocked takes the flag (no mu_ here).
  // So is one they degraded (vdev_fault's back-off, vdev_degraded).
  if (r.after != r.before && (r.after == LeafState::kFaulted || r.after == LeafState::kDegraded))
    fault_config_.store(true, std::memory_order_relaxed);
  EventLog* log = events_.load(std::memory_order_acquire);
  if (!log) return;
  // zfs_ereport_start: the detector names the pool and the vdev; the payload describes the
  // pool, the vdev with its counters, and the I/O.
  NvList det;
  det.AddUint64("version", 0);
  det.AddString("scheme", "zfs");
  det.AddUint64("pool", guid_);
  det.AddUint64("vdev", leaf.guid);
  NvList ev;
  ev.AddString("class", std::string("ereport.fs.zfs.") +
                            (r.kind == VdevErrKind::kChecksum ? "checksum" : "io"));
  ev.AddNvList("detector", std::move(det));
  ev.AddString("pool", name_);
  ev.AddUint64("pool_guid", guid_);
  ev.AddUint64("pool_state", kPoolStateActive);
  ev.AddUint64("pool_context", kContextNormal);
  ev.AddString("pool_failmode", "wait");
  ev.AddUint64("vdev_guid", leaf.guid);
  ev.AddString("vdev_type", leaf.type);
  if (!PathOf(leaf).empty()) ev.AddString("vdev_path", PathOf(leaf));
  ev.AddUint64("vdev_read_errors", leaf.health.read_errors());
  ev.AddUint64("vdev_write_errors", leaf.health.write_errors());
  ev.AddUint64("vdev_cksum_errors", leaf.health.checksum_errors());
  ev.AddUint32("zio_err", r.kind == VdevErrKind::kChecksum ? kEcksum : EIO);
  ev.AddUint32("zio_type", r.kind == VdevErrKind::kWrite ? 2 : 1);  // ZIO_TYPE_WRITE / READ
  if (r.size) {
    ev.AddUint64("zio_offset", r.offset);
    ev.AddUint64("zio_size", r.size);
  }
  log->Post(std::move(ev));
  // The leaf died of it (FAULTED, UNAVAIL, REMOVED).
  if (r.after == LeafState::kRemoved) PostRemoved(log, *this, leaf);
  if (r.after != r.before) PostStateChange(log, *this, leaf, r.before, r.after);
}

namespace {

// zfs_post_common: a resource event's payload for a leaf now in state.
NvList ResourceEvent(const char* cls, const Pool& pool, const Vdev& leaf, LeafState state) {
  NvList ev;
  ev.AddString("class", cls);
  ev.AddUint64("version", 0);
  ev.AddString("pool", pool.name());
  ev.AddUint64("pool_guid", pool.guid());
  ev.AddUint64("pool_state", kPoolStateActive);
  ev.AddUint64("pool_context", kContextNormal);
  ev.AddUint64("vdev_guid", leaf.guid);
  ev.AddUint64("vdev_state", VdevStateOf(state));
  if (!PathOf(leaf).empty()) ev.AddString("vdev_path", PathOf(leaf));
  return ev;
}

}  // namespace

void PostRemoved(EventLog* log, const Pool& pool, const Vdev& leaf) {
  // zfs_post_remove: FM_RESOURCE_REMOVED.
  if (log) log->Post(ResourceEvent("resource.fs.zfs.removed", pool, leaf, LeafState::kRemoved));
}

void PostStateChange(EventLog* log, const Pool& pool, const Vdev& leaf, LeafState before,
                     LeafState after) {
  if (!log || before == after) return;
  NvList st = ResourceEvent("resource.fs.zfs.statechange", pool, leaf, after);
  st.AddUint64("vdev_laststate", VdevStateOf(before));
  log->Post(std::move(st));
}

}  // namespace uzfs
