// Hot spares (zfs-fuse spa.c spa_validate_aux_devs, spa_set_aux_vdevs, spa_load_spares,
// spa_sync_aux_dev, spa_add_spares, spa_vdev_remove's spare branch; vdev_label.c
// vdev_label_init with VDEV_LABEL_SPARE; OpenZFS zed's zfs_retire.c for activation).
//
// The pool's spare list lives in the MOS: the directory entry "spares" names a packed
// nvlist object {spares: [leaf config...]} (DMU_POOL_SPARES), rewritten whenever the list
// changes. A spare that serves no pool carries its own label {version, state:
// POOL_STATE_SPARE, guid} in all four label slots and no pool config, so no import takes it
// as a pool member. A spare in use sits in the tree as a leaf with is_spare set under a
// "spare" interior vdev (pool_attach.cc), with the guid the list names, and an ordinary
// pool label; "in use" is simply "its guid is in the tree" (spa_spare_exists).
// A spare may be shared: a device that is already another imported pool's spare (its spare
// label's guid listed by that pool in spare_registry.h) joins this pool's list under the same
// guid and keeps its label (vdev_label_init's spare_guid). Serving in one pool, it is INUSE
// "in use by pool 'NAME'" to the others, which do not activate it.
//
// Everything here runs under mu_ (the callers that change the tree hold sync_mu_ too).
#include <functional>

#include "libcore/dmu/dmu_nvlist_obj.h"
#include "libcore/pool/pool.h"
#include "libcore/pool/spare_registry.h"
#include "libcore/vdev/disk.h"
#include "libcore/vdev/vdev_label.h"

namespace uzfs {

namespace {

constexpr uint64_t kSpaVersionSpares = 3;  // SPA_VERSION_SPARES

std::string PathOf(const Vdev& v) { return v.open_path.empty() ? v.path : v.open_path; }

// The label vdev_label_init(VDEV_LABEL_SPARE) writes: no pool, no txg, no vdev tree.
NvList SpareLabel(uint64_t version, uint64_t guid) {
  NvList nv;
  nv.AddUint64("version", version);
  nv.AddUint64("state", disk::kPoolStateSpare);
  nv.AddUint64("guid", guid);
  return nv;
}

// A spare's entry (vdev_config_generate(.., isspare=B_FALSE, isl2cache=B_TRUE): no id, no
// top-level fields), for the MOS spares list and for zpool status.
NvList SpareConfig(const std::string& type, uint64_t guid, const std::string& path, bool whole_disk) {
  NvList nv;
  nv.AddString("type", type);
  nv.AddUint64("guid", guid);
  nv.AddString("path", path);
  if (type == "disk") nv.AddUint64("whole_disk", whole_disk ? 1 : 0);
  return nv;
}

// True when f's labels are the spare label of this guid (vdev_validate_aux: a label that
// reads, of a version we know, naming this guid).
bool HasSpareLabel(File& f, uint64_t guid) {
  auto dl = ReadDeviceLabels(f);
  if (!dl.ok()) return false;
  const NvList* c = dl->config();
  return c && c->GetUint64("guid").value_or(0) == guid &&
         c->GetUint64("state").value_or(~0ULL) == disk::kPoolStateSpare;
}

}  // namespace

Status Pool::WriteSpareLabel(File& f, uint64_t guid) {
  UZFS_ASSIGN(uint64_t size, f.Size());
  const uint64_t psize = P2Align(size, kVdevLabelSize);
  UZFS_TRY(ClearLabels(f, psize));
  UZFS_TRY(WriteLabelConfig(f, psize, SpareLabel(version_, guid), kAllLabels));
  return f.Sync();
}

Pool::SpareDev* Pool::FindSpareLocked(uint64_t guid, const std::string& path) {
  for (SpareDev& s : spares_)
    if ((guid && s.guid == guid) || (!path.empty() && s.path == path)) return &s;
  return nullptr;
}

Status Pool::AddSparesLocked(const std::vector<NvList>& spares) {
  if (spares.empty()) return Status::Ok();
  // spa_validate_aux_devs: the pool's version must know spares.
  if (version_ < kSpaVersionSpares) return Status::Error(ENOTSUP, "pool must be upgraded to add hot spares");
  std::set<std::string> seen;
  std::vector<SpareDev> added;
  for (const NvList& nv : spares) {
    const std::string* type = nv.GetString("type");
    const std::string* path = nv.GetString("path");
    // Each a leaf (spa_validate_aux_devs: EINVAL for an interior vdev).
    if (!type || (*type != "file" && *type != "disk") || !path)
      return Status::Error(EINVAL, "invalid vdev specification: a hot spare must be a single disk");
    if (path->empty() || (*path)[0] != '/') return Status::Error(EINVAL, "vdev path must be absolute");
    if (!seen.insert(*path).second) return Status::Error(EINVAL, *path + " is specified more than once");
    // vdev_inuse: a leaf of this pool, or already one of its spares.
    bool busy = FindSpareLocked(0, *path) != nullptr;
    for (size_t i = 0; i < NumTops(); i++)
      if (!Top(i)->is_hole()) ForEachLeaf(*Top(i), [&](Vdev& l) { busy |= PathOf(l) == *path; });
    if (busy) return Status::Error(EBUSY, *path + " is part of active pool '" + name_ + "'");
    OpenOptions oo;
    oo.write = true;
    oo.direct = true;
    oo.direct_min_io = 4096;
    auto f = env_->Open(*path, oo);
    if (!f.ok()) return Status::Error(f.status().code(), "cannot open '" + *path + "': " + f.status().message());
    UZFS_ASSIGN(uint64_t size, (*f)->Size());
    // vdev_open: SPA_MINDEVSIZE, as for any device (zpool add's EOVERFLOW message).
    if (size < kSpaMinDevSize) return Status::Error(EOVERFLOW, "device is less than the minimum size (64M)");
    SpareDev s;
    s.guid = NewGuid();
    s.path = *path;
    s.type = *type;
    s.whole_disk = false;  // a spare disk is labelled as it is, not partitioned
    s.file = std::move(f).value();
    // vdev_inuse / vdev_label_init: another imported pool's spare is shared, its guid kept.
    if (auto dl = ReadDeviceLabels(*s.file); dl.ok() && dl->config()) {
      const NvList* c = dl->config();
      const uint64_t g = c->GetUint64("guid").value_or(0);
      if (c->GetUint64("state").value_or(~0ULL) == disk::kPoolStateSpare && g &&
          spare_registry::ListedElsewhere(g, guid_)) {
        if (FindSpareLocked(g, "")) return Status::Error(EBUSY, *path + " is part of active pool '" + name_ + "'");
        s.guid = g;
        s.label_ok = true;  // shared: labelled already
      }
    }
    added.push_back(std::move(s));
  }
  // vdev_label_init(VDEV_LABEL_SPARE) of each, before the list names them: a crash between
  // leaves labelled devices no pool lists, which are free (zpool_in_use).
  for (SpareDev& s : added)
    if (!s.label_ok) UZFS_TRY(WriteSpareLabel(*s.file, s.guid));
  for (SpareDev& s : added) {
    s.label_ok = true;
    spare_registry::Listed(s.guid, guid_, name_);
    spares_.push_back(std::move(s));
  }
  spares_dirty_ = true;
  return Status::Ok();
}

Status Pool::SyncSparesLocked() {
  if (!spares_dirty_) return Status::Ok();
  // spa_sync_aux_dev: the object is made the first time a list is written.
  if (spares_object_ == 0) {
    UZFS_ASSIGN(spares_object_, mos_->Allocate(kOtPackedNvlist, 16384, kOtPackedNvlistSize, 8));
    UZFS_TRY(mos_zaps_->AddInt(1, "spares", spares_object_));
  }
  std::vector<NvList> list;
  for (const SpareDev& s : spares_) {
    NvList nv = SpareConfig(s.type, s.guid, s.path, s.whole_disk);
    nv.AddUint64("is_spare", 1);
    list.push_back(std::move(nv));
  }
  NvList root;
  root.AddNvListArray("spares", std::move(list));
  UZFS_TRY(WriteNvlistObject(*mos_, spares_object_, root));
  spares_dirty_ = false;
  return Status::Ok();
}

Status Pool::LoadSparesLocked() {
  auto obj = mos_zaps_->LookupInt(1, "spares");
  if (!obj.ok()) return obj.status().code() == ENOENT ? Status::Ok() : obj.status();
  spares_object_ = *obj;
  UZFS_ASSIGN(NvList nv, ReadNvlistObject(*mos_, spares_object_));
  const std::vector<NvList>* list = nv.GetNvListArray("spares");
  if (!list) return Status::Ok();
  for (const NvList& c : *list) {
    SpareDev s;
    s.guid = c.GetUint64("guid").value_or(0);
    if (const std::string* p = c.GetString("path")) s.path = *p;
    if (const std::string* t = c.GetString("type")) s.type = *t;
    s.whole_disk = c.GetUint64("whole_disk").value_or(0) != 0;
    // spa_load_spares: each opened and validated (vdev_validate_aux); one that cannot be
    // is listed UNAVAIL. One serving in the tree has the pool's label instead.
    OpenOptions oo;
    oo.write = !readonly_;
    oo.direct = true;
    oo.direct_min_io = 4096;
    auto f = s.path.empty() ? Result<std::unique_ptr<File>>(Status::Error(ENOENT, "no path"))
                            : env_->Open(s.path, oo);
    if (f.ok()) {
      s.file = std::move(f).value();
      s.label_ok = HasSpareLabel(*s.file, s.guid);
      // A spare whose labels were cleared for a replace that no synced txg holds (a crash
      // between the two) and that serves nowhere gets its spare label back.
      if (!s.label_ok && !readonly_ && !LookupVdevLocked(s.guid) &&
          !spare_registry::ServingIn(s.guid, nullptr, nullptr)) {
        auto dl = ReadDeviceLabels(*s.file);
        if (dl.ok() && !dl->config() && WriteSpareLabel(*s.file, s.guid).ok()) s.label_ok = true;
      }
    }
    if (!readonly_) {
      spare_registry::Listed(s.guid, guid_, name_);
      if (LookupVdevLocked(s.guid)) spare_registry::Serving(s.guid, guid_, name_, true);
    }
    spares_.push_back(std::move(s));
  }
  return Status::Ok();
}

bool Pool::SpareReadyLocked(SpareDev& s) {
  if (!s.file || LookupVdevLocked(s.guid)) return false;
  if (spare_registry::ServingIn(s.guid, nullptr, nullptr)) return false;  // another pool's now
  // A shared spare another pool served has its spare label back once that pool let it go.
  if (!s.label_ok) s.label_ok = HasSpareLabel(*s.file, s.guid);
  return s.label_ok;
}

std::vector<NvList> Pool::SpareStatusLocked() {
  std::vector<NvList> out;
  for (SpareDev& s : spares_) {
    NvList nv = SpareConfig(s.type, s.guid, s.path, s.whole_disk);
    // spa_add_spares: a spare a pool uses is VDEV_AUX_SPARED ("INUSE", "currently in use"
    // or, serving another pool, print_status_config's "in use by pool 'NAME'").
    std::string other;
    if (LookupVdevLocked(s.guid)) {
      nv.AddString("state", "INUSE");
      nv.AddString("aux", "currently in use");
    } else if (spare_registry::ServingIn(s.guid, &other, nullptr)) {
      nv.AddString("state", "INUSE");
      nv.AddString("aux", "in use by pool '" + other + "'");
    } else if (!SpareReadyLocked(s)) {
      nv.AddString("state", "UNAVAIL");
      nv.AddString("aux", "cannot open");
    } else {
      nv.AddString("state", "AVAIL");
    }
    out.push_back(std::move(nv));
  }
  return out;
}

Status Pool::RemoveSpareLocked(uint64_t guid) {
  // spa_vdev_remove: only a spare this pool does not use leaves the list; its labels stay
  // the spare's (a listed-nowhere spare label is free: zpool_in_use).
  if (LookupVdevLocked(guid)) return Status::Error(EBUSY, "device is busy");
  for (size_t i = 0; i < spares_.size(); i++)
    if (spares_[i].guid == guid) {
      PostEvent("vdev_remove", nullptr, [&] {
        NvList e;
        e.AddUint64("vdev_guid", guid);
        e.AddString("vdev_path", spares_[i].path);
        return e;
      }());
      spares_.erase(spares_.begin() + i);
      spares_dirty_ = true;
      spare_registry::Unlist(guid, guid_);
      return SyncLocked(kPoolStateActive);
    }
  return Status::Error(ENODEV, "no such device in pool");
}

bool Pool::ActivateSpares() {
  if (!spare_wanted_.exchange(false)) return false;
  bool did = false;
  for (;;) {
    uint64_t guid = 0;
    NvList leaf;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (closed_ || readonly_ || !failed_.ok()) return did;
      // zfs_retire.c replace_with_spare: the first spare that can serve.
      const SpareDev* sp = nullptr;
      for (SpareDev& s : spares_)
        if (SpareReadyLocked(s)) {
          sp = &s;
          break;
        }
      if (!sp) return did;
      // A dead leaf (not offline: zed leaves what an administrator took out alone), or one
      // degraded by its errors (zfs_retire_recv_cb calls replace_with_spare after
      // zpool_vdev_degrade as after zpool_vdev_fault), of a data vdev, that is no spare
      // itself and not already being replaced or spared.
      std::function<void(Vdev&, Vdev*)> hunt = [&](Vdev& v, Vdev* parent) {
        if (guid) return;
        if (!v.is_leaf()) {
          for (auto& c : v.children) hunt(*c, &v);
          return;
        }
        const LeafState st = v.health.state();
        if (st != LeafState::kFaulted && st != LeafState::kCantOpen && st != LeafState::kRemoved &&
            st != LeafState::kDegraded)
          return;
        if (v.is_spare || (parent && (parent->type == "spare" || parent->type == "replacing"))) return;
        guid = v.guid;
      };
      for (size_t i = 0; i < NumTops() && !guid; i++)
        if (!Top(i)->is_hole() && !Top(i)->is_log) hunt(*Top(i), nullptr);
      if (!guid) return did;
      leaf.AddString("type", sp->type);
      leaf.AddString("path", sp->path);
      if (sp->type == "disk") leaf.AddUint64("whole_disk", 0);  // the partition itself
    }
    NvList nvroot;
    nvroot.AddString("type", "root");
    nvroot.AddNvListArray("children", {leaf});
    // zpool_vdev_attach(.., replacing): the spare vdev, its resilver, the vdev_spare event.
    if (!AttachVdev(guid, nvroot, /*replacing=*/true).ok()) return did;
    did = true;
  }
}

std::vector<std::string> Pool::SparePathsLocked() const {
  std::vector<std::string> out;
  for (const SpareDev& s : spares_) out.push_back(s.path);
  return out;
}

}  // namespace uzfs
