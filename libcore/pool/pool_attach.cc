// zpool attach, detach and replace (zfs-fuse spa.c spa_vdev_attach, spa_vdev_detach,
// spa_vdev_resilver_done; vdev.c vdev_add_parent, vdev_remove_parent, vdev_dtl_required).
//
// attach: the new leaf joins a mirror, or a mirror is inserted above a top-level leaf (it
// takes the leaf's place, id and metaslabs; the leaf becomes its child 0). replace: a
// "replacing" vdev is inserted above the old leaf instead, the new leaf its child 1 (a
// "spare" vdev when the new leaf is one of the pool's hot spares; a raidz member's too). Either
// way the new leaf's DTL holds [TXG_INITIAL, open txg] and a resilver starts (the DTL
// machinery of pool_vdev_state.cc): every block born so far is read, verified and written
// to it. When a resilver ends complete, ResilverDone detaches the old side of each
// replacing vdev whose new side now holds every block.
//
// detach: the leaf leaves its parent; a parent left with one child is removed and the child
// takes its place (a top-level one keeps the parent's guid, so the pool's namespace does not
// change); the leaf's DTL object is freed and its labels say txg 0.
//
// How the tree changes while reads run without a lock: see Pool::SwapTopLocked (pool.h).
// Everything here runs under sync_mu_ and mu_ (alloc_mu_ too for the swap).
#include <functional>
#include <map>

#include "libcore/pool/pool.h"
#include "libcore/pool/spare_registry.h"
#include "libcore/spa/spa_config.h"
#include "libcore/vdev/vdev_label.h"

namespace uzfs {

namespace {

constexpr uint64_t kLogPoolVdevAttach = 7, kLogPoolVdevDetach = 9;  // history_internal_events_t

// A new interior vdev with v's config (the tree's readers keep using v meanwhile); its
// children are the caller's to add.
std::unique_ptr<Vdev> CopyInterior(const Vdev& v) {
  auto n = MakeMirrorVdev(v.type);
  n->id = v.id;
  n->guid = v.guid;
  n->ashift = v.ashift;
  n->asize = v.asize;
  n->metaslab_array = v.metaslab_array;
  n->metaslab_shift = v.metaslab_shift;
  n->create_txg = v.create_txg;
  n->is_log = v.is_log;
  n->nparity = v.nparity;
  n->self_heal = v.self_heal;
  n->repair_bytes.store(v.repair_bytes.load());
  for (int d = 0; d < 2; d++) {
    n->io.ops[d].store(v.io.ops[d].load());
    n->io.bytes[d].store(v.io.bytes[d].load());
  }
  return n;
}

// A leaf that takes a top-level vdev's place gets its top-level config (vdev_top_transfer).
void TakeTopFields(Vdev& to, const Vdev& from) {
  to.id = from.id;
  to.asize = from.asize;
  to.metaslab_array = from.metaslab_array;
  to.metaslab_shift = from.metaslab_shift;
  to.is_log = from.is_log;
  to.ashift = from.ashift;
}

std::string PathOf(const Vdev& v) { return v.open_path.empty() ? v.path : v.open_path; }

}  // namespace

void Pool::SwapTopLocked(uint64_t id, std::unique_ptr<Vdev> top) {
  std::lock_guard<std::mutex> al(alloc_mu_);
  // swap: the slot goes from the old pointer to the new one in one store (no null between).
  vroot_->children[id].swap(top);
  Vdev* old = top.release();
  // The old top-level vdev is retired unless it is still in the tree (a leaf that became a
  // mirror's or replacing vdev's child).
  bool kept = false;
  ForEachLeaf(*vroot_->children[id], [&](Vdev& l) { kept |= &l == old; });
  if (!kept) retired_.emplace_back(old);
}

std::unique_ptr<Vdev> Pool::RebuildLocked(Vdev* v, Vdev* old_child,
                                          std::unique_ptr<Vdev> new_child) {
  auto n = CopyInterior(*v);
  n->children.reserve(v->children.size() + 1);
  for (auto& c : v->children) {
    if (c.get() != old_child) {
      n->children.emplace_back(c.get());  // shared with v (retired: it releases them)
    } else if (new_child) {
      new_child->id = c->id;
      n->children.push_back(std::move(new_child));
    }
  }
  if (new_child) n->children.push_back(std::move(new_child));  // old_child null: appended
  // vdev_compact_children: ids follow the order.
  for (size_t k = 0; k < n->children.size(); k++) n->children[k]->id = k;
  return n;  // v stays in its slot: the caller swaps n in and retires v
}

Status Pool::AttachVdev(uint64_t guid, const NvList& nvroot, bool replacing) {
  UZFS_ASSIGN(LeafChange ch, BeginLeafChange(guid));
  Vdev* oldvd = ch.leaf;
  Vdev* tvd = TopOfLocked(oldvd);
  if (!tvd) return Status::Error(ENODEV, "no such device in pool");
  Vdev* pvd = oldvd == tvd ? vroot_ : FindParent(*tvd, oldvd);
  // spa_config_parse of nvroot: one leaf.
  const std::vector<NvList>* kids = nvroot.GetNvListArray("children");
  const std::string* ntype = kids && kids->size() == 1 ? (*kids)[0].GetString("type") : nullptr;
  if (!ntype || (*ntype != "file" && *ntype != "disk"))
    return Status::Error(EINVAL, "new device must be a single disk");
  // A hot spare of this pool (the new device's path is on the spare list): spa_vdev_attach's
  // newvd->vdev_isspare. One already serving is busy (vdev_inuse).
  const std::string* np = (*kids)[0].GetString("path");
  SpareDev* spare = np ? FindSpareLocked(0, *np) : nullptr;
  if (spare && LookupVdevLocked(spare->guid)) return Status::Error(EBUSY, *np + " is busy");
  if (spare && !replacing) return Status::Error(EBUSY, *np + " is busy");
  if (spare && tvd->is_log) return Status::Error(ENOTSUP, "cannot replace a log with a spare");
  // A shared spare serving another pool is busy (vdev_inuse's spare_pool != 0); claimed here
  // for this pool (spa_spare_activate), given up again unless the attach is done.
  if (spare && spare_registry::ServingIn(spare->guid, nullptr, nullptr)) return Status::Error(EBUSY, *np + " is busy");
  if (spare && !SpareReadyLocked(*spare)) return Status::Error(ENXIO, "cannot open '" + *np + "'");
  struct Claim {
    uint64_t guid = 0, pool = 0;
    bool done = false;
    ~Claim() { if (guid && !done) spare_registry::Serving(guid, pool, "", false); }
  } claim;
  if (spare) {
    if (!spare_registry::Claim(spare->guid, guid_, name_)) return Status::Error(EBUSY, *np + " is busy");
    claim.guid = spare->guid;
    claim.pool = guid_;
  }
  if (!replacing) {
    // For attach, the only allowable parent is a mirror or the root vdev.
    if (pvd != vroot_ && pvd->type != "mirror")
      return Status::Error(ENOTSUP, "can only attach to mirrors and top-level disks");
  } else {
    if (pvd->type == "replacing") return Status::Error(ENOTSUP, "cannot replace a replacing device");
    // Spare replaces spare, non-spare replaces non-spare below a spare vdev.
    if (pvd->type == "spare" && (spare != nullptr) != oldvd->is_spare)
      return Status::Error(ENOTSUP, "cannot replace a replacing device");
    // A raidz member too: its column's stale new side is never trusted alone (a block that
    // does not verify is reconstructed from parity), and the resilver writes each verified
    // column to the replacing vdev whole (vdev.cc, RaidzVdev::ResilverColumns).
  }
  // The new device may be no other leaf of the pool (an in-place replacement's is oldvd's).
  {
    bool busy = false;
    for (size_t i = 0; i < NumTops(); i++)
      if (!Top(i)->is_hole())
        ForEachLeaf(*Top(i), [&](Vdev& l) { busy |= np && &l != oldvd && PathOf(l) == *np; });
    if (busy || (np && !replacing && PathOf(*oldvd) == *np))
      return Status::Error(EBUSY, *np + " is busy");
  }
  // spa_vdev_attach: a spare above a leaf not yet spared makes a "spare" vdev.
  const std::string ptype =
      !replacing ? "mirror" : spare && pvd->type != "spare" ? "spare" : "replacing";
  // A new parent goes between oldvd and its parent only when that is the top-level vdev.
  if (pvd != vroot_ && pvd->type != ptype && pvd != tvd)
    return Status::Error(ENOTSUP, "vdev tree nested too deeply");
  // Make sure the new device is big enough (vdev_get_min_asize: the top-level's; a raidz
  // member's share of it). A spare is measured before its labels are touched.
  uint64_t min_asize = tvd->asize;
  if (tvd->type == "raidz" && !tvd->children.empty())
    min_asize = (tvd->asize + tvd->children.size() - 1) / tvd->children.size();
  if (spare) {
    UZFS_ASSIGN(uint64_t size, spare->file->Size());
    const uint64_t psize = P2Align(size, kVdevLabelSize);
    if (psize < kVdevLabelStartSize + kVdevLabelEndSize + min_asize)
      return Status::Error(EOVERFLOW, "device is too small");
  }
  const uint64_t txg = txg_.open();
  std::map<uint64_t, std::unique_ptr<File>> files;
  std::vector<NvList> configs;
  NvList leaf = (*kids)[0];
  leaf.AddUint64("is_log", 0);
  UZFS_TRY(OpenNewTops({leaf}, tvd->ashift, txg, "device is too small", &files, &configs));
  NvList& cfg = configs[0];
  if (spare) {
    // vdev_label_init(VDEV_LABEL_REPLACE) of a spare: the leaf takes the spare's guid (the
    // one its label and the spare list hold), and is_spare.
    const uint64_t g = cfg.GetUint64("guid").value_or(0);
    files[spare->guid] = std::move(files[g]);
    files.erase(g);
    cfg.AddUint64("guid", spare->guid);
    cfg.AddUint64("is_spare", 1);
    spare->label_ok = false;  // its labels are cleared: the pool's come with the sync
  }
  if (cfg.GetUint64("asize").value_or(0) < min_asize)
    return Status::Error(EOVERFLOW, "device is too small");
  LeafOpener opener = [&](uint64_t g, const std::string&) -> std::unique_ptr<File> {
    auto it = files.find(g);
    return it == files.end() ? nullptr : std::move(it->second);
  };
  UZFS_ASSIGN(std::unique_ptr<Vdev> newvd, BuildVdevTree(cfg, opener));
  Vdev* nv = newvd.get();
  nv->create_txg = oldvd->create_txg;
  nv->asize = nv->metaslab_array = nv->metaslab_shift = 0;
  ArmLeaves(*nv);
  // An in-place replacement: the old leaf's path gets "/old", so it is told from the new
  // one and can no longer be opened.
  if (PathOf(*oldvd) == nv->path) {
    oldvd->path = nv->path + "/old";
    oldvd->open_path = oldvd->path;
  }
  const std::string oldpath = PathOf(*oldvd), newpath = PathOf(*nv);
  // The new leaf's DTL: [TXG_INITIAL, open txg] (blocks the open txg wrote early went to
  // the old side only). It is stale until the resilver ends.
  nv->dtl.Add(kTxgInitial, txg);
  dtl_dirty_.insert(nv);
  nv->resilvering.store(true, std::memory_order_relaxed);

  if (pvd != vroot_ && pvd->type == ptype) {
    // A new side of the mirror (attach): the mirror is rebuilt with it.
    auto n = RebuildLocked(pvd, nullptr, std::move(newvd));
    if (pvd == tvd) {
      SwapTopLocked(tvd->id, std::move(n));
    } else {
      Vdev* gp = FindParent(*tvd, pvd);
      SwapTopLocked(tvd->id, RebuildLocked(gp, pvd, std::move(n)));
      retired_.emplace_back(pvd);
    }
  } else {
    // vdev_add_parent: a mirror (replacing) vdev above oldvd, in its place.
    auto m = MakeMirrorVdev(ptype);
    m->guid = NewGuid();
    m->ashift = oldvd->ashift;
    m->asize = oldvd->asize;
    m->create_txg = oldvd->create_txg;
    m->self_heal = !readonly_;
    const bool top = oldvd == tvd;
    if (top) TakeTopFields(*m, *oldvd);
    m->children.reserve(2);
    m->children.emplace_back(oldvd);  // owned by m from here (or shared with a retired parent)
    newvd->id = 1;
    m->children.push_back(std::move(newvd));
    if (top) {
      oldvd->id = 0;
      oldvd->metaslab_array = oldvd->metaslab_shift = 0;
      const uint64_t id = m->id;
      SwapTopLocked(id, std::move(m));
    } else {
      m->id = oldvd->id;
      oldvd->id = 0;
      Vdev* gp = FindParent(*tvd, oldvd);
      if (gp != tvd) return Status::Error(ENOTSUP, "vdev tree nested too deeply");
      // The rebuilt parent takes m in oldvd's slot; oldvd is owned by m and shared with
      // the retired parent.
      SwapTopLocked(tvd->id, RebuildLocked(gp, oldvd, std::move(m)));
    }
  }
  {
    std::lock_guard<std::mutex> il(inject_mu_);
    ApplyInjectionsLocked();
  }
  config_dirty_ = true;
  concurrent_io_ = -1;
  LogInternalLocked(kLogPoolVdevAttach, txg,
                    std::string(replacing ? "replace" : "attach") + " vdev=" + newpath +
                        (replacing ? " for" : " to") + " vdev=" + oldpath);
  PostEvent("vdev_attach", nv);  // spa_vdev_attach's ESC_ZFS_VDEV_ATTACH
  if (spare) PostEvent("vdev_spare", nv);  // spa_vdev_attach's ESC_ZFS_VDEV_SPARE
  claim.done = true;
  // spa_scrub(POOL_SCRUB_RESILVER): the resilver (a scrub under way gives way to it).
  StartResilverLocked();
  return SyncLocked(kPoolStateActive);
}

Status Pool::DetachVdev(uint64_t guid, uint64_t pguid, bool replace_done) {
  UZFS_ASSIGN(LeafChange ch, BeginLeafChange(guid));
  Vdev* vd = ch.leaf;
  Vdev* tvd = TopOfLocked(vd);
  if (!tvd) return Status::Error(ENODEV, "no such device in pool");
  Vdev* pvd = vd == tvd ? vroot_ : FindParent(*tvd, vd);
  if (pguid != 0 && pvd->guid != pguid) return Status::Error(EBUSY, "the device's parent changed");
  if (replace_done && (pvd->type != "replacing" || pvd->children[0].get() != vd))
    return Status::Error(ENOTSUP, "not the replaced side of a replacing vdev");
  // Only mirror, replacing, and spare vdevs support detach.
  if (pvd == vroot_ || (pvd->type != "mirror" && pvd->type != "replacing" && pvd->type != "spare"))
    return Status::Error(ENOTSUP, "only applicable to mirror and replacing vdevs");
  // vdev_dtl_required: the top-level vdev must still hold every block without it.
  {
    const LeafState before = vd->health.state();
    vd->health.Set(LeafState::kOffline);
    const bool ok = VdevComplete(*tvd);
    vd->health.Set(before);
    if (!ok) return Status::Error(EBUSY, "no valid replicas");
  }
  const uint64_t txg = txg_.open();
  const std::string vdpath = PathOf(*vd);
  // Detaching the new side of a replacing vdev: the old side's "/old" path is undone.
  if (pvd->type == "replacing" && pvd->children.size() == 2 && pvd->children[1].get() == vd) {
    Vdev& c0 = *pvd->children[0];
    if (PathOf(c0) == vd->path + "/old") c0.path = c0.open_path = vd->path;
  }
  // The labels the device keeps (vdev_label_init with VDEV_LABEL_REMOVE), from the config
  // before the change; written once the pool no longer names it.
  NvList removed_cfg;
  File* vf = vd->file() && !vd->health.dead() ? vd->file() : nullptr;
  if (vf) removed_cfg = RemovedLabelConfig(Identity(), Tops(), *tvd, *vd, kPoolStateActive);
  // A hot spare leaving its spare vdev gets the spare label back (VDEV_LABEL_REMOVE of a
  // vdev_isspare leaf) and is AVAIL again. Detaching the original disk from a spare vdev
  // makes the spare a real disk of the pool: it leaves the spare list ("unspare").
  const bool spare_back = vd->is_spare && FindSpareLocked(vd->guid, "") != nullptr;
  const bool unspare = pvd->type == "spare" && pvd->children[0].get() == vd &&
                       pvd->children.back()->is_spare;
  Vdev* const spared = unspare ? pvd->children.back().get() : nullptr;
  const uint64_t spared_guid = spared ? spared->guid : 0;  // before a top-level swap renames it

  Vdev* cvd = nullptr;  // the child that remains when pvd is left with one
  for (auto& c : pvd->children)
    if (c.get() != vd && pvd->children.size() == 2) cvd = c.get();
  if (!cvd) {
    auto n = RebuildLocked(pvd, vd, nullptr);
    if (pvd == tvd) {
      SwapTopLocked(tvd->id, std::move(n));
    } else {
      SwapTopLocked(tvd->id, RebuildLocked(FindParent(*tvd, pvd), pvd, std::move(n)));
      retired_.emplace_back(pvd);
    }
  } else if (pvd == tvd) {
    // vdev_remove_parent of a top-level vdev: cvd takes its place and its guid (else an
    // import would see two versions of one top-level vdev).
    TakeTopFields(*cvd, *pvd);
    cvd->guid = pvd->guid;
    std::unique_ptr<Vdev> t(cvd);
    {
      std::lock_guard<std::mutex> al(alloc_mu_);
      vroot_->children[cvd->id].swap(t);  // one store: the old top to cvd
    }
    retired_.emplace_back(t.release());  // pvd: releases its children at the end
  } else {
    cvd->id = pvd->id;
    Vdev* gp = FindParent(*tvd, pvd);
    // cvd is shared by the retired pvd and the rebuilt grandparent.
    auto n = RebuildLocked(gp, pvd, std::unique_ptr<Vdev>(cvd));
    SwapTopLocked(tvd->id, std::move(n));
    retired_.emplace_back(pvd);
  }
  // vdev_dtl_sync of a detached leaf: its DTL object is freed.
  dtl_dirty_.erase(vd);
  if (vd->dtl_object) {
    UZFS_TRY(mos_->FreeObject(vd->dtl_object));
    vd->dtl_object = 0;
  }
  vd->dtl.Clear();
  vd->resilvering.store(false, std::memory_order_relaxed);
  if (unspare) {
    // spa_vdev_detach's unspare: spa_vdev_remove of the spare from the list; the leaf is
    // no longer a spare (its config loses is_spare).
    spared->is_spare = false;
    for (size_t i = 0; i < spares_.size(); i++)
      if (spares_[i].guid == spared_guid) {
        spares_.erase(spares_.begin() + i);
        spares_dirty_ = true;
        spare_registry::Unlist(spared_guid, guid_);
        break;
      }
  }
  PostEvent("vdev_remove", vd);  // spa_vdev_detach's ESC_ZFS_VDEV_REMOVE
  retired_.emplace_back(vd);
  config_dirty_ = true;
  concurrent_io_ = -1;
  LogInternalLocked(kLogPoolVdevDetach, txg, "vdev=" + vdpath);
  UZFS_TRY(SyncLocked(kPoolStateActive));
  if (vf && spare_back) {
    if (SpareDev* s = FindSpareLocked(vd->guid, ""); s && s->file && WriteSpareLabel(*s->file, s->guid).ok())
      s->label_ok = true;
  } else if (vf) {
    auto size = vf->Size();
    if (size.ok()) {
      const uint64_t psize = P2Align(*size, kVdevLabelSize);
      if (ClearLabels(*vf, psize).ok() && WriteLabelConfig(*vf, psize, removed_cfg, kAllLabels).ok())
        (void)vf->Sync();
    }
  }
  // Free for the other pools sharing it once its spare label is back (spa_spare_remove).
  if (spare_back) spare_registry::Serving(vd->guid, guid_, name_, false);
  return Status::Ok();
}

void Pool::ResilverDone() {
  if (!resilver_done_.exchange(false)) return;
  // spa_vdev_resilver_done_hunt: a replacing vdev of two whose new side misses no txg and
  // whose old side no block needs.
  for (;;) {
    uint64_t guid = 0, pguid = 0;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (closed_ || readonly_) return;
      std::function<void(Vdev&)> hunt = [&](Vdev& v) {
        for (auto& c : v.children) hunt(*c);
        if (guid || v.type != "replacing" || v.children.size() != 2) return;
        Vdev& oldvd = *v.children[0];
        Vdev& newvd = *v.children[1];
        if (!newvd.dtl.empty() || !newvd.available()) return;
        guid = oldvd.guid;
        pguid = v.guid;
      };
      for (size_t i = 0; i < NumTops() && !guid; i++)
        if (!Top(i)->is_hole()) hunt(*Top(i));
    }
    if (!guid) return;
    if (!DetachVdev(guid, pguid, /*replace_done=*/true).ok()) return;
  }
}

}  // namespace uzfs
