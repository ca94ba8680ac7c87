// Device fault injection (zio_inject.c's device handlers: zio_inject_fault,
// zio_clear_fault, zio_inject_list_next; vdev_fault for zinject -A fault). The handlers are
// the pool's and go with it (an export or destroy drops them); each change sets every
// leaf's LeafInject from the handlers naming it or a vdev above it (vdev_inject.h).
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <functional>

#include "libcore/pool/pool.h"
#include "libcore/pool/pool_events.h"

namespace uzfs {

namespace {

std::atomic<uint64_t> next_inject_id{1};

// The vdev named by guid among the tops (holes skipped), or null.
Vdev* FindVdev(Vdev& v, uint64_t guid) {
  if (v.guid == guid) return &v;
  for (auto& c : v.children)
    if (Vdev* hit = FindVdev(*c, guid)) return hit;
  return nullptr;
}

void ForLeaves(Vdev& v, const std::function<void(Vdev&)>& fn) {
  if (v.is_leaf()) return fn(v);
  for (auto& c : v.children) ForLeaves(*c, fn);
}

}  // namespace

Result<uint64_t> Pool::InjectFault(uint64_t guid, int error, int iotype, uint32_t freq) {
  if (error != EIO && error != ENXIO) return Status::Error(EINVAL, "device error type must be 'io' or 'nxio'");
  if (iotype < kInjectRead || iotype > kInjectAll) return Status::Error(EINVAL, "invalid I/O type");
  if (freq < 1 || freq > 100) return Status::Error(EINVAL, "frequency range must be in the range (0, 100]");
  std::lock_guard<std::mutex> l(mu_);
  if (closed_) return Status::Error(ENOENT, "no such pool");
  Vdev* target = LookupVdevLocked(guid);
  if (!target) return Status::Error(ENODEV, "no such device in pool");
  std::lock_guard<std::mutex> il(inject_mu_);
  InjectHandler h;
  h.id = next_inject_id.fetch_add(1);
  h.guid = guid;
  h.error = error;
  h.iotype = iotype;
  h.freq = freq;
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
      for (const auto& [x, v] : named) {
        if (!FindVdev(*v, leaf.guid)) continue;
        if (x->iotype & kInjectRead) r = r == ENXIO ? r : x->error;
        if (x->iotype & kInjectWrite) w = w == ENXIO ? w : x->error;
        f = std::max(f, x->freq);
      }
      leaf.inject.Set(r, w, f ? f : 100);
    });
  }
}

std::vector<Pool::InjectHandler> Pool::Injections() const {
  std::lock_guard<std::mutex> il(inject_mu_);
  return injections_;
}

Status Pool::FaultDevice(uint64_t guid) {
  std::lock_guard<std::mutex> l(mu_);
  if (closed_) return Status::Error(ENOENT, "no such pool");
  Vdev* target = LookupVdevLocked(guid);
  if (!target) return Status::Error(ENODEV, "no such device in pool");
  ForLeaves(*target, [this](Vdev& leaf) {
    const LeafState before = leaf.health.state();
    leaf.health.Set(LeafState::kFaulted);
    PostStateChange(events_.load(), *this, leaf, before, LeafState::kFaulted);  // vdev_fault
  });
  return Status::Ok();
}

}  // namespace uzfs
