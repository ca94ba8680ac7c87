// Device watch: a leaf's block device going away while the pool runs, and a device coming
// back at its path (OpenZFS spa.c spa_async_remove, zfs_fm.c zfs_post_remove; zed's
// zfs_mod.c zfs_deliver_remove / zfs_process_add with the pool's autoreplace property).
//
// zed learns of both from udev; zfsd's scan thread calls this on the events of its device
// monitor (daemon/device_monitor.h: uevents of block devices, closes of their nodes) and
// polls besides (file vdevs have no events; some hosts deliver none): each
// block-device leaf's File says whether its device is still the one opened (File::Present:
// the path gone or naming another device, no capacity left, or a loop device whose detach
// the kernel defers to its last close). A gone device makes the leaf REMOVED: its
// counters zeroed, its device let go (File::Release, which completes a pending loop
// detach), the resource.fs.zfs.removed and statechange events, a spare wanted. The I/O
// path reaches the same state when a probe finds the block device gone (ProbeLeaf).
//
// A dead disk leaf whose path names a present device again: a device whose labels name
// this leaf of this pool is onlined whatever autoreplace says (zfs_process_add's
// zpool_vdev_online first); any other device, with autoreplace=on, replaces the leaf in
// place (zpool replace POOL PATH: the new device labelled — a whole disk's leaf gets the
// whole disk back with a new GPT — and resilvered), when it holds nothing a zpool replace
// without -f would refuse. With autoreplace=off nothing happens: zpool status tells the
// administrator what to run.
//
// Locking: the walk runs under mu_; onlining and replacing take sync_mu_ and mu_ themselves
// (OnlineVdev, AttachVdev), after mu_ was let go.
#include <chrono>
#include <functional>

#include "libcore/pool/pool.h"
#include "libcore/pool/pool_events.h"
#include "libcore/vdev/disk.h"
#include "libcore/vdev/vdev_label.h"

namespace uzfs {

namespace {

// A device that came back is looked at again no sooner than this when nothing was done,
// unless a uevent says a device came or changed since (the checks here open devices
// read-only: they make no uevent, so no loop).
constexpr auto kWatchRetry = std::chrono::seconds(3);

// The whole disk a whole_disk leaf's partition 1 belongs to (disk::PartitionPath's
// inverse); empty when the path is not such a partition's.
std::string WholeDiskOf(const std::string& part) {
  for (size_t cut : {size_t{2}, size_t{1}}) {  // "p1" before "1"
    if (part.size() <= cut) continue;
    const std::string d = part.substr(0, part.size() - cut);
    if (disk::PartitionPath(d, 1) == part) return d;
  }
  return "";
}

// A present device at path: opened read-only, with a capacity (a loop device with nothing
// bound has none).
std::unique_ptr<File> OpenPresent(Env* env, const std::string& path) {
  if (path.empty() || !env->Exists(path)) return nullptr;
  // O_DIRECT, as the import's label reads (spa.cc): the page cache of a device that came
  // back at the path may still hold the labels of the one that went.
  OpenOptions oo;
  oo.direct = true;
  auto f = env->Open(path, oo);
  if (!f.ok()) return nullptr;
  auto size = (*f)->Size();
  if (!size.ok() || *size == 0) return nullptr;
  return std::move(f).value();
}

}  // namespace

bool Pool::CheckDevices(bool uevent) {
  std::vector<uint64_t> online, replace;
  std::vector<std::string> replace_path;
  std::vector<bool> replace_whole;
  bool changed = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_ || readonly_ || !failed_.ok()) return false;
    EventLog* log = events_.load(std::memory_order_acquire);
    bool autoreplace = false;
    if (auto ar = GetPropLocked("autoreplace"); ar.ok())
      autoreplace = ar->value == "on" || ar->value == "1";
    const auto now = std::chrono::steady_clock::now();
    const std::chrono::steady_clock::duration retry =
        uevent ? std::chrono::steady_clock::duration::zero() : kWatchRetry;
    std::function<void(Vdev&, Vdev*)> walk = [&](Vdev& v, Vdev* parent) {
      if (!v.is_leaf()) {
        for (auto& c : v.children) walk(*c, &v);
        return;
      }
      if (v.type != "disk") return;  // zed watches block devices only
      File* f = v.file();
      const LeafState st = v.health.state();
      if (st == LeafState::kOffline) return;
      if (st == LeafState::kOnline || st == LeafState::kDegraded) {  // alive: is it still there?
        watch_tried_.erase(v.guid);
        if (!f || f->Present().ok()) return;
        // spa_async_remove: REMOVED, counters zeroed, the device let go.
        const LeafState before = v.health.Remove();
        if (before != LeafState::kOnline && before != LeafState::kDegraded) return;
        v.ReleaseDevice();
        PostRemoved(log, *this, v);
        PostStateChange(log, *this, v, before, LeafState::kRemoved);
        spare_wanted_.store(true, std::memory_order_relaxed);
        changed = true;
        return;
      }
      // Dead: a device at its path again? Not for the old side of an in-place replace.
      if (parent && parent->type == "replacing") return;
      if (f && f->Present().ok()) return;  // the same device, faulted by its errors
      if (auto it = watch_tried_.find(v.guid); it != watch_tried_.end() && now - it->second < retry)
        return;
      // A whole disk's leaf is its partition 1; what comes back may be the bare disk.
      const std::string whole = v.whole_disk ? WholeDiskOf(v.path) : std::string();
      std::unique_ptr<File> nf = OpenPresent(env_, v.path);
      std::unique_ptr<File> nd = nf || whole.empty() ? nullptr : OpenPresent(env_, whole);
      if (!nf && !nd) return;
      watch_tried_[v.guid] = now;
      // ours: labels naming this leaf of this pool. orphan: labels of this pool naming a
      // leaf the tree does not hold — a replace by this watch whose txg never synced (a
      // crash between vdev_label_init and the sync), free to take again.
      bool ours = false, orphan = false;
      if (nf)
        if (auto dl = ReadDeviceLabels(*nf, 0, v.inject.labels()); dl.ok())
          for (const LabelRead& lr : dl->labels) {
            if (!lr.status.ok() || lr.config.GetUint64("pool_guid").value_or(0) != guid_) continue;
            const uint64_t g = lr.config.GetUint64("guid").value_or(0);
            ours |= g == v.guid;
            orphan |= g != v.guid && !LookupVdevLocked(g);
          }
      if (ours) {
        online.push_back(v.guid);
      } else if (autoreplace && (env_ != PosixEnv() || orphan ||
                                 disk::CheckDeviceFree(whole.empty() ? v.path : whole, false).ok())) {
        // zfs_process_add replaces with a new device only: nothing of a pool or a file
        // system on it (as zpool replace without -f would refuse).
        replace.push_back(v.guid);
        replace_path.push_back(whole.empty() ? v.path : whole);
        replace_whole.push_back(!whole.empty());
      }
    };
    for (size_t i = 0; i < NumTops(); i++)
      if (!Top(i)->is_hole()) walk(*Top(i), nullptr);
  }
  for (uint64_t g : online) {
    // zpool_vdev_online(ZFS_ONLINE_CHECKREMOVE): reopened, resilvered from its DTL.
    auto st = OnlineVdev(g, false);
    if (st.ok() && *st != LeafState::kFaulted && *st != LeafState::kCantOpen) changed = true;
  }
  for (size_t i = 0; i < replace.size(); i++) {
    // zfs_process_add with autoreplace: zpool_vdev_attach(.., replacing) of the same path;
    // a whole disk is given whole (whole_disk=1): the attach labels it (zpool_label_disk),
    // the pool taking its partition 1.
    const std::string& path = replace_path[i];
    NvList leaf;
    leaf.AddString("type", "disk");
    leaf.AddString("path", path);
    leaf.AddUint64("whole_disk", replace_whole[i] ? 1 : 0);
    NvList nvroot;
    nvroot.AddString("type", "root");
    nvroot.AddNvListArray("children", {leaf});
    if (AttachVdev(replace[i], nvroot, /*replacing=*/true).ok()) changed = true;
  }
  return changed;
}

}  // namespace uzfs
