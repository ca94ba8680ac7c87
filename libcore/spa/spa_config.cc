#include "libcore/spa/spa_config.h"
#include "libcore/spa/spa_feature.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <functional>

namespace uzfs {

uint64_t HostId() { return static_cast<uint64_t>(gethostid()) & 0xffffffffULL; }

std::string HostName() {
  struct utsname u;
  if (uname(&u) != 0) return "localhost";
  return u.nodename;
}

NvList VdevConfig(const Vdev& v, bool top) {
  NvList nv;
  if (v.is_hole()) {
    // A hole as vdev_config_generate writes one made by spa_vdev_remove: no path, the
    // top-level fields all zero, is_hole last.
    nv.AddString("type", v.type);
    nv.AddUint64("id", v.id);
    nv.AddUint64("guid", 0);
    nv.AddUint64("whole_disk", 0);
    nv.AddUint64("metaslab_array", 0);
    nv.AddUint64("metaslab_shift", 0);
    nv.AddUint64("ashift", 0);
    nv.AddUint64("asize", 0);
    nv.AddUint64("is_log", 0);
    nv.AddUint64("is_hole", 1);
    return nv;
  }
  nv.AddString("type", v.type);
  nv.AddUint64("id", v.id);
  nv.AddUint64("guid", v.guid);
  if (v.is_leaf()) {
    nv.AddString("path", v.open_path.empty() ? v.path : v.open_path);
    if (v.type == "disk") nv.AddUint64("whole_disk", v.whole_disk ? 1 : 0);
    if (v.is_spare) nv.AddUint64("is_spare", 1);  // vdev_config_generate's order
  }
  if (v.type == "raidz") nv.AddUint64("nparity", v.nparity);
  if (top) {
    nv.AddUint64("metaslab_array", v.metaslab_array);
    nv.AddUint64("metaslab_shift", v.metaslab_shift);
    nv.AddUint64("ashift", v.ashift);
    nv.AddUint64("asize", v.asize);
    nv.AddUint64("is_log", v.is_log ? 1 : 0);
  }
  // vdev_config_generate: a leaf's DTL space map, then the create txg.
  if (v.is_leaf() && v.dtl_object) nv.AddUint64("DTL", v.dtl_object);
  if (top || v.is_leaf()) nv.AddUint64("create_txg", v.create_txg);
  // ZPOOL_CONFIG_OFFLINE: an offline leaf stays offline across imports, unless zpool offline
  // -t made it so (vdev_tmpoffline).
  if (v.is_leaf() && v.health.state() == LeafState::kOffline && !v.offline_temporary)
    nv.AddUint64("offline", 1);
  // ZPOOL_CONFIG_FAULTED: vdev_fault's state is persistent (vdev_faulted), so a leaf faulted
  // before a crash or an export is still FAULTED after the import, until zpool clear.
  if (v.is_leaf() && v.health.state() == LeafState::kFaulted) nv.AddUint64("faulted", 1);
  // ZPOOL_CONFIG_DEGRADED likewise (vdev_degraded): vdev_fault's back-off on an only copy.
  if (v.is_leaf() && v.health.state() == LeafState::kDegraded) nv.AddUint64("degraded", 1);
  if (!v.is_leaf()) {
    std::vector<NvList> kids;
    for (const auto& c : v.children) kids.push_back(VdevConfig(*c, false));
    nv.AddNvListArray("children", std::move(kids));
  }
  return nv;
}

namespace {
// spa_config_generate: after the vdev tree, a feature pool's config names the features
// reading its MOS needs (the label's copy is what a system refuses the pool by).
void AddFeatures(const PoolIdentity& id, NvList* nv) {
  if (id.version >= kSpaVersionFeatures)
    nv->AddNvList(kFeaturesForRead, FeaturesForReadNvlist(id.features_for_read));
}
}  // namespace

NvList ConfigHeader(const PoolIdentity& id, uint64_t txg, uint64_t state) {
  NvList nv;
  nv.AddUint64("version", id.version);
  nv.AddString("name", id.name);
  nv.AddUint64("state", state);
  nv.AddUint64("txg", txg);
  nv.AddUint64("pool_guid", id.guid);
  nv.AddUint64("hostid", HostId());
  nv.AddString("hostname", HostName());
  if (!id.comment.empty()) nv.AddString("comment", id.comment);
  return nv;
}

void AddTopConfig(NvList* nv, const std::vector<const Vdev*>& tops) {
  std::vector<uint64_t> holes;
  for (const Vdev* t : tops)
    if (t->is_hole()) holes.push_back(t->id);
  if (!holes.empty()) nv->AddUint64Array("hole_array", std::move(holes));
  nv->AddUint64("vdev_children", tops.size());
}

NvList PoolConfig(const PoolIdentity& id, const std::vector<const Vdev*>& tops, uint64_t txg,
                  uint64_t state) {
  NvList nv = ConfigHeader(id, txg, state);
  AddTopConfig(&nv, tops);
  NvList root;
  root.AddString("type", "root");
  root.AddUint64("id", 0);
  root.AddUint64("guid", id.guid);
  root.AddUint64("create_txg", id.create_txg);
  std::vector<NvList> kids;
  for (const Vdev* t : tops) kids.push_back(VdevConfig(*t, true));
  root.AddNvListArray("children", std::move(kids));
  nv.AddNvList("vdev_tree", std::move(root));
  AddFeatures(id, &nv);
  return nv;
}

NvList LabelConfig(const PoolIdentity& id, const std::vector<const Vdev*>& tops, const Vdev& top,
                   const Vdev& leaf, uint64_t txg, uint64_t state) {
  NvList nv = ConfigHeader(id, txg, state);
  nv.AddUint64("top_guid", top.guid);
  nv.AddUint64("guid", leaf.guid);
  if (leaf.is_log) nv.AddUint64("is_log", 1);  // a log device that is its own top-level vdev
  AddTopConfig(&nv, tops);
  nv.AddNvList("vdev_tree", VdevConfig(top, true));
  AddFeatures(id, &nv);
  return nv;
}

NvList RemovedLabelConfig(const PoolIdentity& id, const std::vector<const Vdev*>& tops,
                          const Vdev& top, const Vdev& leaf, uint64_t state) {
  NvList nv = LabelConfig(id, tops, top, leaf, 0, state);
  // vdev_label_init(VDEV_LABEL_REMOVE) after vdev_remove: no metaslabs, every create_txg 0.
  std::function<void(NvList*)> strip = [&](NvList* v) {
    v->Remove("create_txg");
    if (const auto* kids = v->GetNvListArray("children")) {
      std::vector<NvList> copy = *kids;
      for (NvList& k : copy) strip(&k);
      v->AddNvListArray("children", std::move(copy));
    }
  };
  NvList tree = *nv.GetNvList("vdev_tree");
  tree.AddUint64("metaslab_array", 0);
  tree.AddUint64("metaslab_shift", 0);
  strip(&tree);
  nv.AddNvList("vdev_tree", std::move(tree));
  nv.AddUint64("create_txg", 0);
  return nv;
}

Status VdevConfigSync(const std::vector<LabelWrite>& leaves, const Uberblock& ub, bool config) {
  if (leaves.empty()) return Status::Error(ENXIO, "no device left to write labels to");
  const Status none = Status::Error(ENXIO, "no device left to write labels to");
  // region: the label regions the writes touch (a label fault's, vdev_inject.h); 0 for flushes.
  auto each = [&](unsigned region, const std::function<Status(const LabelWrite&)>& fn) -> Status {
    int good = 0;
    Status last = Status::Ok();
    for (const LabelWrite& l : leaves) {
      if (l.leaf && l.leaf->health.dead()) continue;
      // A label write meets the leaf's injected fault as its other writes do (vdev_inject.h).
      int injected = l.leaf ? l.leaf->inject.Hit(true) : 0;
      if (!injected && l.leaf && region) injected = l.leaf->inject.LabelHit(region);
      Status s = injected ? Status::Error(injected, "label write: injected") : fn(l);
      if (s.ok()) good++;
      else {
        last = s;
        if (l.leaf) l.leaf->NoteError(VdevErrKind::kWrite);
      }
    }
    return good ? Status::Ok() : (last.ok() ? none : last);
  };
  auto flush_all = [&] { return each(0, [](const LabelWrite& l) { return l.file->Sync(); }); };
  auto write_cfg = [&](unsigned which) {
    return each(kLabelNvlist, [which](const LabelWrite& l) -> Status {
      UZFS_ASSIGN(uint64_t size, l.file->Size());
      return WriteLabelConfig(*l.file, P2Align(size, kVdevLabelSize), l.config, which);
    });
  };
  UZFS_TRY(flush_all());
  if (config) {
    UZFS_TRY(write_cfg(kEvenLabels));
    UZFS_TRY(flush_all());
  }
  UZFS_TRY(each(kLabelUber, [&](const LabelWrite& l) -> Status {
    UZFS_ASSIGN(uint64_t size, l.file->Size());
    return WriteUberblock(*l.file, P2Align(size, kVdevLabelSize), ub, l.ashift, kAllLabels);
  }));
  UZFS_TRY(flush_all());
  if (config) {
    UZFS_TRY(write_cfg(kOddLabels));
    UZFS_TRY(flush_all());
  }
  return Status::Ok();
}

}  // namespace uzfs
