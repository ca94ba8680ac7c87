// Device fault injection (zio_inject.c's device handlers: zio_inject_fault,
// zio_clear_fault, zio_inject_list_next; vdev_fault for zinject -A fault). The handlers are
// the pool's and go with it (an export or destroy drops them); each change sets every
// leaf's LeafInject from the handlers naming it or a vdev above it (vdev_inject.h); a label
// fault (zio_handle_label_injection) sets the label regions whose I/O fails instead. Data
// handlers (zinject -t data) are the process's, in libcore/zio/zio_inject.h; this file turns
// a filesystem and a byte range into the bookmark they match.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <functional>
#include <iterator>
#include <utility>

#include "libcore/pool/pool.h"
#include "libcore/pool/pool_events.h"
#include "libcore/vdev/vdev_label.h"
#include "libcore/zio/zio_inject.h"

namespace uzfs {

namespace {

// The vdev named by guid among the tops (holes skipped), or null.
Vdev* FindVdev(Vdev& v, uint64_t guid) {
  if (v.guid == guid) return &v;
  for (auto& c : v.children)
    if (Vdev* hit = FindVdev(*c, guid)) return hit;
  return nullptr;
}

// Whether v would still be available (Vdev::available) were the leaf gone dead too.
bool AvailableWithout(const Vdev& v, const Vdev* gone) {
  if (&v == gone) return false;
  if (v.is_leaf() || v.children.empty()) return v.available();
  uint64_t missing = 0;
  for (const auto& c : v.children) missing += !AvailableWithout(*c, gone);
  if (v.type == "raidz") return missing <= v.nparity;
  return missing < v.children.size();  // mirror, replacing, spare: one child will do
}

void ForLeaves(Vdev& v, const std::function<void(Vdev&)>& fn) {
  if (v.is_leaf()) return fn(v);
  for (auto& c : v.children) ForLeaves(*c, fn);
}

}  // namespace

Result<uint64_t> Pool::InjectFault(uint64_t guid, int error, int iotype, uint32_t freq, unsigned labels) {
  if (labels & ~(kLabelPad1 | kLabelPad2 | kLabelNvlist | kLabelUber))
    return Status::Error(EINVAL, "invalid label type");
  if (labels) error = EIO, iotype = kInjectAll, freq = 100;  // zio_handle_label_injection's EIO
  if (error != EIO && error != ENXIO) return Status::Error(EINVAL, "device error type must be 'io' or 'nxio'");
  if (iotype < kInjectRead || iotype > kInjectAll) return Status::Error(EINVAL, "invalid I/O type");
  if (freq < 1 || freq > 100) return Status::Error(EINVAL, "frequency range must be in the range (0, 100]");
  std::lock_guard<std::mutex> l(mu_);
  if (closed_) return Status::Error(ENOENT, "no such pool");
  Vdev* target = LookupVdevLocked(guid);
  if (!target) return Status::Error(ENODEV, "no such device in pool");
  std::lock_guard<std::mutex> il(inject_mu_);
  InjectHandler h;
  h.id = NextInjectionId();  // one numbering with the data handlers
  h.guid = guid;
  h.error = error;
  h.iotype = iotype;
  h.freq = freq;
  h.labels = labels;
  injections_.push_back(h);
  ApplyInjectionsLocked();
  return h.id;
}

bool Pool::ClearInjection(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  std::lock_guard<std::mutex> il(inject_mu_);
  auto it = std::find_if(injections_.begin(), injections_.end(),
                         [&](const InjectHandler& h) { return h.id == id; });
  if (it == injections_.end()) return false;
  injections_.erase(it);
  ApplyInjectionsLocked();
  return true;
}

void Pool::ApplyInjectionsLocked() {
  // The vdevs the handlers name, found once.
  std::vector<std::pair<const InjectHandler*, Vdev*>> named;
  for (const InjectHandler& x : injections_)
    for (size_t i = 0; i < NumTops(); i++)
      if (!Top(i)->is_hole())
        if (Vdev* v = FindVdev(*Top(i), x.guid)) named.push_back({&x, v});
  for (size_t i = 0; i < NumTops(); i++) {
    if (Top(i)->is_hole()) continue;
    ForLeaves(*Top(i), [&](Vdev& leaf) {
      // A handler applies to the leaves below the vdev it names; an ENXIO handler wins
      // over an EIO one, and the highest frequency among those that apply counts.
      int r = 0, w = 0;
      uint32_t f = 0;
      unsigned labels = 0;
      for (const auto& [x, v] : named) {
        if (!FindVdev(*v, leaf.guid)) continue;
        if (x->labels) {  // a label fault touches the labels' regions only
          labels |= x->labels;
          continue;
        }
        if (x->iotype & kInjectRead) r = r == ENXIO ? r : x->error;
        if (x->iotype & kInjectWrite) w = w == ENXIO ? w : x->error;
        f = std::max(f, x->freq);
      }
      leaf.inject.Set(r, w, f ? f : 100);
      leaf.inject.SetLabels(labels);
    });
  }
}

std::vector<Pool::InjectHandler> Pool::Injections() const {
  std::lock_guard<std::mutex> il(inject_mu_);
  return injections_;
}

bool Pool::HoldsOnlyCopy(const Vdev& leaf) const {
  // TopOfLocked's walk is a reader's: without mu_ it may see the tree just before or just
  // after an attach or detach, never a torn one (SwapTopLocked).
  const Vdev* t = TopOfLocked(&leaf);
  return t && !t->is_log && !AvailableWithout(*t, &leaf);
}

Status Pool::FaultDevice(uint64_t guid) {
  std::lock_guard<std::mutex> one(sync_mu_);  // sync_mu_ before mu_, as every syncing change
  std::lock_guard<std::mutex> l(mu_);
  if (closed_) return Status::Error(ENOENT, "no such pool");
  Vdev* target = LookupVdevLocked(guid);
  if (!target) return Status::Error(ENODEV, "no such device in pool");
  ForLeaves(*target, [this](Vdev& leaf) {
    // vdev_fault: a fault that would make the top-level vdev unavailable (the leaf holds the
    // only copy; not a log) backs off and marks the leaf DEGRADED (vdev_degraded) when it
    // is readable; the pool goes on instead of being suspended. Decided before the leaf is
    // touched: I/O runs beside this without mu_.
    const LeafState before = leaf.health.state();
    if (HoldsOnlyCopy(leaf)) {
      if (before != LeafState::kOnline) return;
      leaf.health.Set(LeafState::kDegraded);
      spare_wanted_.store(true, std::memory_order_relaxed);  // zpool_vdev_degrade, then a spare
      PostStateChange(events_.load(), *this, leaf, before, LeafState::kDegraded);
      return;
    }
    leaf.health.Set(LeafState::kFaulted);
    spare_wanted_.store(true, std::memory_order_relaxed);  // zed's retire agent looks
    PostStateChange(events_.load(), *this, leaf, before, LeafState::kFaulted);  // vdev_fault
  });
  // spa_vdev_state_exit: the config says "faulted" and the command returns once that txg
  // is synced (txg_wait_synced), so a crash after it finds the leaf FAULTED.
  config_dirty_ = true;
  if (readonly_ || !failed_.ok()) return Status::Ok();
  return SyncLocked(kPoolStateActive);
}

Result<uint64_t> Pool::InjectData(const std::string& fs, uint64_t obj, uint64_t start, uint64_t end, int error,
                                  uint32_t freq, int level, bool dnode) {
  if (error != EIO && error != ECKSUM) return Status::Error(EINVAL, "data error type must be 'io' or 'checksum'");
  if (freq < 1 || freq > 100) return Status::Error(EINVAL, "frequency range must be in the range (0, 100]");
  if (start > end) return Status::Error(EINVAL, "invalid range: start beyond end");
  std::lock_guard<std::mutex> l(mu_);
  if (closed_) return Status::Error(ENOENT, "no such pool");
  uint64_t dir = 0, ds_obj = 0;
  UZFS_TRY(ResolveFs(fs, &dir, &ds_obj));
  UZFS_ASSIGN(OpenDataset * od, OpenDatasetLocked(dir, ds_obj));
  auto dn = od->os->Dnode(obj);
  if (!dn.ok()) return Status::Error(ENOENT, "no such object");
  if (level < 0 || level >= 7) return Status::Error(EINVAL, "invalid level '" + std::to_string(level) + "'");
  DataInjection d;
  d.pool_guid = guid_;
  d.objset = ds_obj;
  d.object = obj;
  d.start = start;
  d.end = end;
  d.level = level;
  const DnodePhys* target = *dn;
  if (dnode) {
    // initialize_range for TYPE_DNODE: the bytes of obj's dnode in the meta-dnode (object 0).
    d.type = "dnode";
    d.object = 0;
    start = d.start = obj * kDnodeSize;
    end = d.end = start + kDnodeSize - 1;
    UZFS_ASSIGN(target, od->os->Dnode(0));
  }
  // translate.c's calculate_range: the blocks holding the bytes, at the object's block
  // size, then an indirect block's share of those (2^(indblkshift - 7) pointers) per level.
  const uint64_t bs = std::max<uint64_t>(target->datablksz(), 1);
  d.start_blkid = start / bs;
  d.end_blkid = end == UINT64_MAX ? UINT64_MAX : end / bs;
  constexpr uint64_t kBpShift = 7;  // SPA_BLKPTRSHIFT: a block pointer is 128 bytes
  const uint64_t epbs = target->indblkshift > kBpShift ? target->indblkshift - kBpShift : 7;
  for (int l = 0; l < level; l++) {
    d.start_blkid >>= epbs;
    if (d.end_blkid != UINT64_MAX) d.end_blkid >>= epbs;
  }
  d.error = error;
  d.freq = freq;
  return AddDataInjection(d);
}

Result<uint64_t> Pool::InjectMos(const std::string& type, int error, uint32_t freq) {
  if (error != EIO && error != ECKSUM) return Status::Error(EINVAL, "data error type must be 'checksum' or 'io'");
  if (freq < 1 || freq > 100) return Status::Error(EINVAL, "frequency range must be in the range (0, 100]");
  // translate_record's MOS types and the DMU type each stands for (v23: bplist, not bpobj).
  static const std::pair<const char*, uint8_t> kTypes[] = {
      {"mos", kOtNone},           {"mosdir", kOtObjectDirectory}, {"metaslab", kOtObjectArray},
      {"config", kOtPackedNvlist}, {"bplist", kOtBplist},          {"spacemap", kOtSpaceMap},
      {"errlog", kOtErrorLog}};
  const auto* t = std::find_if(std::begin(kTypes), std::end(kTypes),
                               [&](const auto& e) { return type == e.first; });
  if (t == std::end(kTypes)) return Status::Error(EINVAL, "invalid type '" + type + "'");
  std::lock_guard<std::mutex> l(mu_);
  if (closed_) return Status::Error(ENOENT, "no such pool");
  DataInjection d;
  d.pool_guid = guid_;
  d.type = type;
  d.mos = true;
  d.dmu_type = t->second;
  d.error = error;
  d.freq = freq;
  return AddDataInjection(d);
}

Result<uint64_t> Pool::InjectRaw(uint64_t objset, uint64_t object, int level, uint64_t blkid, int error,
                                 uint32_t freq) {
  if (error != EIO && error != ECKSUM) return Status::Error(EINVAL, "data error type must be 'checksum' or 'io'");
  if (freq < 1 || freq > 100) return Status::Error(EINVAL, "frequency range must be in the range (0, 100]");
  if (level < 0 || level >= 7) return Status::Error(EINVAL, "invalid level '" + std::to_string(level) + "'");
  std::lock_guard<std::mutex> l(mu_);
  if (closed_) return Status::Error(ENOENT, "no such pool");
  // translate_raw: the one block, zi_end = zi_start.
  DataInjection d;
  d.pool_guid = guid_;
  d.type = "raw";
  d.objset = objset;
  d.object = object;
  d.level = level;
  d.start_blkid = d.end_blkid = blkid;
  d.start = d.end = blkid;
  d.error = error;
  d.freq = freq;
  return AddDataInjection(d);
}

void Pool::FlushArc() {
  if (!arc_) return;
  // arc_flush: a bound of 0 evicts every unit that can be (held ones stay) and the ghost
  // lists; the old bound comes back at once. The ARC is every pool's: so is the flush.
  const uint64_t max = arc_->Stats().c_max;
  arc_->SetMax(0);
  arc_->SetMax(max);
}

}  // namespace uzfs
