// Top-level vdevs joining and leaving an imported pool: zpool add (zfs-fuse spa.c
// spa_vdev_add, vdev.c vdev_metaslab_init / vdev_sync's metaslab array) and the removal of a
// separate intent log device (spa_vdev_remove, spa_vdev_remove_evacuate with
// zil_vdev_offline, vdev_remove, spa_vdev_remove_from_namespace, SPA_VERSION_HOLES).
//
// Both change the tree under sync_mu_, mu_ and alloc_mu_: readers of Top() that hold none
// of them (log writes, a read's disk I/O after its lookups) meet either a slot that was
// reserved at create or import and published by ntops_ only once filled, or, for a removed
// device, a slot no block names any more.
#include <algorithm>
#include <functional>

#include "libcore/pool/pool.h"
#include "libcore/pool/pool_events.h"
#include "libcore/spa/spa_feature.h"
#include "libcore/spa/spa_config.h"
#include "libcore/vdev/vdev_label.h"
#include "libcore/zil/zil.h"

namespace uzfs {

Status Pool::AddVdevs(const NvList& nvroot) {
  const std::vector<NvList>* tops = nvroot.GetNvListArray("children");
  const std::vector<NvList>* spares = nvroot.GetNvListArray("spares");
  if ((!tops || tops->empty()) && (!spares || spares->empty()))
    return Status::Error(EINVAL, "invalid vdev specification: no devices");
  std::lock_guard<std::mutex> one(sync_mu_);
  std::lock_guard<std::mutex> l(mu_);
  if (closed_) return Status::Error(ENOENT, "no such pool");
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  if (!failed_.ok()) return failed_;
  // spa_vdev_add: spares only (the tree does not change), or after the new vdevs.
  if (!tops || tops->empty()) {
    UZFS_TRY(AddSparesLocked(*spares));
    PostEvent("vdev_add");  // spa_vdev_add's ESC_ZFS_VDEV_ADD
    return SyncLocked(kPoolStateActive);
  }
  const uint64_t txg = txg_.open();
  std::map<uint64_t, std::unique_ptr<File>> files;  // leaf guid → device
  std::vector<NvList> configs;
  // vdev_open's ashift: zfs-fuse defaults to 4K sectors for every device, as Create does.
  UZFS_TRY(OpenNewTops(*tops, 12, txg, "device is less than the minimum size (64M)", &files,
                       &configs));
  // spa_vdev_add: each new top-level vdev takes the first hole's id, else the next one.
  std::vector<uint64_t> ids;
  size_t next = NumTops();
  for (size_t i = 0; i < NumTops() && ids.size() < configs.size(); i++)
    if (Top(i)->is_hole()) ids.push_back(i);
  while (ids.size() < configs.size()) ids.push_back(next++);
  if (next > kMaxTops) return Status::Error(E2BIG, "too many top-level vdevs");
  std::vector<std::unique_ptr<Vdev>> vtops;
  std::vector<std::unique_ptr<MetaslabGroup>> vgroups;
  for (size_t k = 0; k < configs.size(); k++) {
    NvList& cfg = configs[k];
    cfg.AddUint64("id", ids[k]);
    LeafOpener opener = [&](uint64_t g, const std::string&) -> std::unique_ptr<File> {
      auto it = files.find(g);
      if (it == files.end()) return nullptr;
      return std::move(it->second);
    };
    UZFS_ASSIGN(auto v, BuildVdevTree(cfg, opener));
    ArmLeaves(*v);
    // vdev_sync: the metaslab array of a vdev that has metaslabs but no array yet, in the
    // txg that first writes its config.
    UZFS_ASSIGN(v->metaslab_array, mos_->Allocate(kOtObjectArray, 512, 0, 0));
    auto g = std::make_unique<MetaslabGroup>(v->id, v->asize, v->metaslab_shift, v->ashift);
    g->set_class(ClassOf(*v));
    vtops.push_back(std::move(v));
    vgroups.push_back(std::move(g));
  }
  {
    std::lock_guard<std::mutex> al(alloc_mu_);
    for (size_t k = 0; k < vtops.size(); k++) {
      const uint64_t id = ids[k];
      if (id < vroot_->children.size()) {
        vroot_->children[id] = std::move(vtops[k]);
        groups_[id] = std::move(vgroups[k]);
      } else {
        vroot_->children.push_back(std::move(vtops[k]));
        groups_.push_back(std::move(vgroups[k]));
      }
    }
    ntops_.store(vroot_->children.size(), std::memory_order_release);
  }
  concurrent_io_ = -1;  // the new leaves may not take concurrent writes
  // A dax vdev makes the pool version 5000 with com.uzfs:dax active, in this same txg: no
  // system that does not know the class may import the pool once it holds one.
  for (size_t k = 0; k < ids.size(); k++)
    if (Top(ids[k])->is_dax()) UZFS_TRY(ActivateFeatureLocked(kFeatureDax));
  config_dirty_ = true;
  PostEvent("vdev_add");  // spa_vdev_add's ESC_ZFS_VDEV_ADD
  if (spares) UZFS_TRY(AddSparesLocked(*spares));
  return SyncLocked(kPoolStateActive);
}

Status Pool::RemoveVdev(uint64_t guid) {
  std::lock_guard<std::mutex> one(sync_mu_);
  std::lock_guard<std::mutex> l(mu_);
  if (closed_) return Status::Error(ENOENT, "no such pool");
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  if (!failed_.ok()) return failed_;
  // spa_vdev_remove: a hot spare first (spa_nvlist_lookup_by_guid of the spare list).
  if (FindSpareLocked(guid, "")) return RemoveSpareLocked(guid);
  // spa_lookup_by_guid: the top-level vdev, or a vdev below one (which cannot go alone).
  uint64_t id = UINT64_MAX;
  bool below = false;
  std::function<bool(const Vdev&)> has = [&](const Vdev& v) {
    if (v.guid == guid) return true;
    for (const auto& c : v.children)
      if (has(*c)) return true;
    return false;
  };
  for (size_t i = 0; i < NumTops() && id == UINT64_MAX; i++) {
    const Vdev* t = Top(i);
    if (t->is_hole() || !has(*t)) continue;
    id = i;
    below = t->guid != guid;
  }
  if (id == UINT64_MAX) return Status::Error(ENODEV, "no such device in pool");
  // Only separate log devices and empty dax devices leave (bp rewrite would be needed for
  // the others: the extents of DAX files cannot move, their clients map them).
  const bool dax = !below && Top(id)->is_dax();
  if (below || !(Top(id)->is_log || dax))
    return Status::Error(ENOTSUP, "operation not supported on this type of pool");
  const Status dax_busy = Status::Error(EBUSY, "dax device holds extents of DAX files");
  if (dax) {
    std::lock_guard<std::mutex> al(alloc_mu_);
    if (groups_[id]->allocated() != 0) return dax_busy;
  }

  // zil_vdev_offline on every dataset: a log that still waits for its replay cannot be
  // given up (zil_suspend refuses: its records are in no synced txg).
  std::vector<uint64_t> heads;
  std::function<Status(uint64_t)> walk = [&](uint64_t dir) -> Status {
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, dir));
    if (dd.head_dataset_obj) heads.push_back(dd.head_dataset_obj);
    UZFS_ASSIGN(auto kids, mos_zaps_->List(dd.child_dir_zapobj));
    for (const ZapEntry& e : kids) {
      if (!e.name.empty() && e.name[0] == '$') continue;
      UZFS_TRY(walk(e.first()));
    }
    return Status::Ok();
  };
  UZFS_ASSIGN(uint64_t root_dir, mos_zaps_->LookupInt(1, "root_dataset"));
  if (!dax) UZFS_TRY(walk(root_dir));  // a dax device holds no log
  for (uint64_t h : heads) {
    ZilHeader zh;
    if (auto it = datasets_.find(h); it != datasets_.end()) {
      zh = ZilHeader::Decode(it->second.os->zil_header().data(), true);
    } else {
      UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, h));
      if (ds.bp.is_hole()) continue;
      UZFS_ASSIGN(zh, ReadZilHeader(*this, ds.bp));
    }
    if (zh.flags & kZilReplayNeeded) {
      UZFS_ASSIGN(std::string name, DatasetName(h));
      return Status::Error(EEXIST, "the intent log of '" + name + "' has not been replayed");
    }
  }

  // metaslab_group_passivate: no new log block goes there (commits fall back to the other
  // log devices, else the pool's data vdevs). Then every log is destroyed in the open txg,
  // which holds every change their records described (zil_suspend: commit, destroy), and
  // that txg is synced: a commit still writing blocks it allocated there holds the txg open
  // until they are written, and a commit that starts after finds its log gone and the
  // changes already on disk.
  MetaslabGroup& g = *groups_[id];
  {
    std::lock_guard<std::mutex> al(alloc_mu_);
    g.set_active(false);
  }
  auto reactivate = [&](Status s) {
    std::lock_guard<std::mutex> al(alloc_mu_);
    g.set_active(true);
    return s;
  };
  for (uint64_t h : heads)
    if (Status s = ZilDestroyLocked(h); !s.ok()) return reactivate(s);
  if (Status s = SyncLocked(kPoolStateActive); !s.ok()) return reactivate(s);
  {
    std::lock_guard<std::mutex> al(alloc_mu_);
    if (g.allocated() != 0) {  // a DAX file's extent taken before the passivation
      g.set_active(true);
      return dax ? dax_busy : Status::Error(EBUSY, "device is busy");
    }
  }

  // vdev_remove: the space maps and the metaslab array go from the MOS; then
  // spa_vdev_remove_from_namespace: the vdev's place becomes a hole, or goes when it is the
  // last. The labels it keeps are made (vdev_label_init with VDEV_LABEL_REMOVE) from the
  // config before the change, as zfs-fuse writes them.
  Vdev* top = Top(id);
  std::vector<std::pair<File*, NvList>> relabel;
  {
    const std::vector<const Vdev*> before = Tops();
    std::function<void(Vdev&)> leaves = [&](Vdev& v) {
      if (v.is_leaf()) {
        if (v.file() && !v.health.dead())  // a dead device (a FAULTED log) gets nothing
          relabel.push_back({v.file(), RemovedLabelConfig(Identity(), before, *top, v,
                                                          kPoolStateActive)});
        return;
      }
      for (auto& c : v.children) leaves(*c);
    };
    leaves(*top);
  }
  for (const Metaslab& m : g.metaslabs())
    if (m.sm_object) UZFS_TRY(mos_->FreeObject(m.sm_object));
  if (top->metaslab_array) UZFS_TRY(mos_->FreeObject(top->metaslab_array));
  std::unique_ptr<Vdev> gone;
  {
    std::lock_guard<std::mutex> al(alloc_mu_);
    if (id + 1 == vroot_->children.size()) {
      ntops_.store(id, std::memory_order_release);
      gone = std::move(vroot_->children.back());
      vroot_->children.pop_back();
      groups_.pop_back();
    } else {
      gone = std::move(vroot_->children[id]);
      vroot_->children[id] = MakeHoleVdev(id);
      groups_[id] = std::make_unique<MetaslabGroup>(id, 0, 17, 9);
    }
  }
  concurrent_io_ = -1;
  config_dirty_ = true;
  UZFS_TRY(SyncLocked(kPoolStateActive));
  // The pool no longer names the device: its labels say txg 0, so no import takes it.
  for (auto& [f, cfg] : relabel) {
    auto size = f->Size();
    if (!size.ok()) continue;
    const uint64_t psize = P2Align(*size, kVdevLabelSize);
    if (ClearLabels(*f, psize).ok() && WriteLabelConfig(*f, psize, cfg, kAllLabels).ok())
      (void)f->Sync();
  }
  return Status::Ok();
}

}  // namespace uzfs

namespace uzfs {

Vdev* Pool::LookupVdevLocked(uint64_t guid) const {
  std::function<Vdev*(Vdev&)> find = [&](Vdev& v) -> Vdev* {
    if (v.guid == guid) return &v;
    for (auto& c : v.children)
      if (Vdev* hit = find(*c)) return hit;
    return nullptr;
  };
  for (size_t i = 0; i < NumTops(); i++)
    if (!Top(i)->is_hole())
      if (Vdev* hit = find(*Top(i))) return hit;
  return nullptr;
}

Status Pool::ClearErrors(uint64_t guid) {
  std::lock_guard<std::mutex> one(sync_mu_);
  std::lock_guard<std::mutex> l(mu_);
  if (closed_) return Status::Error(ENOENT, "no such pool");
  // Any vdev of the tree (0: the root, the whole pool).
  Vdev* target = guid == 0 ? vroot_ : LookupVdevLocked(guid);
  if (!target) return Status::Error(ENODEV, "no such device in pool");
  bool reopened = false, undegraded = false;
  std::function<void(Vdev&)> clear = [&](Vdev& v) {
    if (!v.is_leaf()) {
      for (auto& c : v.children) clear(*c);
      return;
    }
    const LeafState before = v.health.state();
    const bool was_dead = v.health.dead();
    v.health.Clear();
    if (before == LeafState::kDegraded) {
      // vdev_clear drops vdev_degraded (the device works: no reopen needed) and dirties the
      // config, so the labels stop saying "degraded".
      undegraded = true;
      PostStateChange(events_.load(), *this, v, before, v.health.state());
      PostEvent("vdev_clear", &v);
      return;
    }
    if (!was_dead || v.health.state() == LeafState::kOffline) return;
    if (!ReopenLeafLocked(v)) {
      v.health.Set(LeafState::kCantOpen);
      return;
    }
    reopened = true;
    PostStateChange(events_.load(), *this, v, before, v.health.state());
    PostEvent("vdev_clear", &v);  // vdev_clear's ESC_ZFS_VDEV_CLEAR, for a device reopened
  };
  clear(*target);
  if ((!reopened && !undegraded) || readonly_ || !failed_.ok()) return Status::Ok();
  // The labels (config and uberblocks) the device missed while it was dead; the blocks,
  // by a resilver of its DTL (vdev_clear's SPA_ASYNC_RESILVER).
  config_dirty_ = true;
  uint64_t lo, hi;
  if (ResilverNeededLocked(&lo, &hi)) StartResilverLocked();
  concurrent_io_ = -1;
  return SyncLocked(kPoolStateActive);
}

}  // namespace uzfs
