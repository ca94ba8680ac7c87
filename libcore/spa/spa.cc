#include "libcore/spa/spa.h"
#include "libcore/spa/spa_feature.h"

#include <algorithm>
#include <map>
#include <set>

namespace uzfs {

namespace {

constexpr uint64_t kMaxTopLevels = 4096;  // sanity bound against corrupt vdev_children

struct Labeled {
  DeviceLabels labels;
  const NvList* cfg = nullptr;  // the device's newest valid label config
  uint64_t pool_guid = 0, guid = 0, top_guid = 0, txg = 0;
};

// libzfs_import.c: a label copy counts only with pool_guid, guid, top_guid, txg != 0 and a
// vdev tree.
bool Counts(const LabelRead& lr) {
  if (!lr.status.ok()) return false;
  const NvList& c = lr.config;
  return c.GetUint64("pool_guid") && c.GetUint64("guid") && c.GetUint64("top_guid") &&
         c.GetUint64("txg").value_or(0) != 0 && c.GetNvList("vdev_tree");
}

// The device's newest label copy that counts, into l.cfg and the ids beside it.
bool Usable(Labeled& l) {
  for (const LabelRead& lr : l.labels.labels) {
    if (!Counts(lr)) continue;
    auto pg = lr.config.GetUint64("pool_guid");
    auto g = lr.config.GetUint64("guid");
    auto tg = lr.config.GetUint64("top_guid");
    auto txg = lr.config.GetUint64("txg");
    if (l.cfg && *txg <= l.txg) continue;
    l.cfg = &lr.config;
    l.pool_guid = *pg;
    l.guid = *g;
    l.top_guid = *tg;
    l.txg = *txg;
  }
  return l.cfg != nullptr;
}

// vdev_alloc outside SPA_LOAD_OPEN: a leaf's persisted fault (faulted or degraded) is not
// read, so it comes up to be opened and probed like any other (SpaOpenOptions::from_cache).
void TryFaultedAgain(Vdev& v) {
  const LeafState s = v.health.state();
  if (v.is_leaf() && (s == LeafState::kFaulted || s == LeafState::kDegraded)) v.health.Set(LeafState::kOnline);
  for (auto& c : v.children) TryFaultedAgain(*c);
}

std::string PoolName(const NvList& cfg) {
  const std::string* n = cfg.GetString("name");
  return n ? *n : std::string();
}

Env* EnvOf(Env* e) { return e ? e : PosixEnv(); }

Result<DeviceLabels> ReadLabelsOf(Env* env, const std::string& path) {
  // zutil_import.c: "Preferentially open using O_DIRECT to bypass the block device cache",
  // which may be stale: a loop device's partition still caches the labels of the file it
  // was bound to before (Env falls back to buffered I/O where O_DIRECT is not taken).
  OpenOptions oo;
  oo.direct = true;
  UZFS_ASSIGN(auto f, env->Open(path, oo));
  auto dl = ReadDeviceLabels(*f);
  if (!dl.ok()) return dl.status().Context(path);
  return dl;
}

}  // namespace

Spa::Spa() = default;
Spa::~Spa() = default;

Vdev* Spa::top(uint64_t id) const {
  if (!root_ || id >= root_->children.size()) return nullptr;
  return root_->children[id].get();
}

Result<Bytes> Spa::Read(const BlkPtr& bp, ReadReport* report) {
  return ReadBlock(bp, lookup_, report);
}

Result<Bytes> Spa::ScrubRead(const BlkPtr& bp, ReadReport* report) {
  return ReadBlock(bp, lookup_, report, /*scrub=*/true);
}

Result<Bytes> Spa::ReadRaw(uint64_t vdev, uint64_t offset, uint64_t size, ReadReport* report) {
  return uzfs::ReadRaw(lookup_, vdev, offset, size, report);
}

Status Spa::UseUberblock(size_t index) {
  if (index >= ubs_.size()) return Status::Error(EINVAL, "no such uberblock");
  auto r = Read(ubs_[index].rootbp);
  if (!r.ok()) return r.status().Context("uberblock txg " + std::to_string(ubs_[index].txg));
  ub_index_ = index;
  return Status::Ok();
}

std::vector<PoolCandidate> Spa::ScanDevices(const std::vector<std::string>& paths, Env* env) {
  env = EnvOf(env);
  std::map<uint64_t, PoolCandidate> pools;
  for (const std::string& path : paths) {
    auto dl = ReadLabelsOf(env, path);
    if (!dl.ok()) continue;
    Labeled l{std::move(dl).value()};
    if (!Usable(l)) continue;
    PoolCandidate& c = pools[l.pool_guid];
    c.pool_guid = l.pool_guid;
    if (l.txg >= c.txg) {
      c.txg = l.txg;
      c.name = PoolName(*l.cfg);
      c.state = l.cfg->GetUint64("state").value_or(0);
      c.hostid = l.cfg->GetUint64("hostid").value_or(0);
      const std::string* h = l.cfg->GetString("hostname");
      c.hostname = h ? *h : std::string();
    }
    c.devices.push_back(path);
  }
  std::vector<PoolCandidate> out;
  for (auto& [g, c] : pools) out.push_back(std::move(c));
  return out;
}

Result<std::vector<PoolCandidate>> Spa::ScanDir(const std::string& dir, Env* env) {
  env = EnvOf(env);
  UZFS_ASSIGN(auto names, env->ListDir(dir));
  std::vector<std::string> paths;
  for (const std::string& n : names) paths.push_back(dir + "/" + n);
  return ScanDevices(paths, env);
}

NvList VdevStatusTree(const Vdev& v) {
  NvList nv;
  nv.AddString("type", v.type);
  nv.AddUint64("id", v.id);
  nv.AddUint64("guid", v.guid);
  if (v.is_leaf()) nv.AddString("path", v.open_path.empty() ? v.path : v.open_path);
  if (v.type == "raidz") nv.AddUint64("nparity", v.nparity);
  if (v.is_log) nv.AddUint64("is_log", 1);
  if (v.is_hole()) nv.AddUint64("is_hole", 1);
  // vdev_propagate_state: DEGRADED when a child is not ONLINE (a degraded child too: a
  // spare vdev beside a faulted disk degrades its mirror).
  std::vector<NvList> kids;
  bool all = true;
  for (const auto& c : v.children) {
    kids.push_back(VdevStatusTree(*c));
    const std::string* cs = kids.back().GetString("state");
    all &= c->available() && cs && *cs == "ONLINE";
  }
  // A leaf's fault (vdev_health.h): FAULTED or DEGRADED "too many errors"
  // (VDEV_AUX_ERR_EXCEEDED), UNAVAIL "cannot open" (VDEV_AUX_OPEN_FAILED) or REMOVED, as
  // print_status_config names them.
  const LeafState ls = v.is_leaf() ? v.health.state() : LeafState::kOnline;
  if (ls == LeafState::kFaulted || ls == LeafState::kDegraded) {
    nv.AddString("state", ls == LeafState::kFaulted ? "FAULTED" : "DEGRADED");
    nv.AddString("aux", "too many errors");
  } else if (ls == LeafState::kOffline) {
    nv.AddString("state", "OFFLINE");
  } else if (ls == LeafState::kRemoved) {
    nv.AddString("state", "REMOVED");  // VDEV_AUX_NONE: no aux word
  } else {
    nv.AddString("state", !v.available() ? "UNAVAIL" : (all ? "ONLINE" : "DEGRADED"));
  }
  // vdev_stat_t's error counters (vs_read_errors, vs_write_errors, vs_checksum_errors).
  nv.AddUint64("read_errors", v.health.read_errors());
  nv.AddUint64("write_errors", v.health.write_errors());
  nv.AddUint64("checksum_errors", v.health.checksum_errors());
  // vdev_stat_t's vs_ops and vs_bytes (zpool iostat).
  nv.AddUint64("read_ops", v.io.ops[0].load(std::memory_order_relaxed));
  nv.AddUint64("write_ops", v.io.ops[1].load(std::memory_order_relaxed));
  nv.AddUint64("read_bytes", v.io.bytes[0].load(std::memory_order_relaxed));
  nv.AddUint64("write_bytes", v.io.bytes[1].load(std::memory_order_relaxed));
  // print_status_config's "(resilvering)": a leaf a resilver under way writes to.
  if (v.is_leaf() && v.resilvering.load(std::memory_order_relaxed)) nv.AddUint64("resilvering", 1);
  if (!v.children.empty()) nv.AddNvListArray("children", std::move(kids));
  return nv;
}

Result<std::unique_ptr<Spa>> Spa::OpenDir(const std::string& dir, const std::string& pool,
                                          const SpaOpenOptions& o) {
  Env* env = EnvOf(o.env);
  UZFS_ASSIGN(auto names, env->ListDir(dir));
  std::vector<DeviceLabels> all;
  for (const std::string& n : names) {
    auto dl = ReadLabelsOf(env, dir + "/" + n);
    if (dl.ok()) all.push_back(std::move(dl).value());
  }
  if (all.empty()) return Status::Error(ENOENT, "no device with a ZFS label in " + dir);
  return Assemble(std::move(all), pool, o);
}

Result<std::unique_ptr<Spa>> Spa::OpenDevices(const std::vector<std::string>& paths,
                                              const std::string& pool, const SpaOpenOptions& o) {
  Env* env = EnvOf(o.env);
  std::vector<DeviceLabels> all;
  // A device named that holds no usable label (a blank disk now at a cached leaf's path)
  // is left out, as spa_open of a cached config opens what it can: its leaf is UNAVAIL.
  // Only when none is usable does the first one's error fail the open.
  Status first = Status::Ok();
  for (const std::string& p : paths) {
    auto dl = ReadLabelsOf(env, p);
    if (!dl.ok()) {
      if (first.ok()) first = dl.status();
      continue;
    }
    Labeled l{*dl};
    if (!Usable(l)) {
      if (first.ok()) first = Status::Error(EINVAL, p + ": no valid ZFS label");
      continue;
    }
    all.push_back(std::move(dl).value());
  }
  if (all.empty()) return first.ok() ? Status::Error(EINVAL, "no devices given") : first;
  return Assemble(std::move(all), pool, o);
}

Result<std::unique_ptr<Spa>> Spa::Assemble(std::vector<DeviceLabels> labels,
                                           const std::string& pool, const SpaOpenOptions& o) {
  Env* env = EnvOf(o.env);
  std::vector<Labeled> devs;
  for (auto& dl : labels) {
    Labeled l{std::move(dl)};
    if (Usable(l)) devs.push_back(std::move(l));
  }
  // Usable() points into labels.labels[], so devs must not move from here on.
  if (devs.empty()) return Status::Error(ENOENT, "no valid ZFS label found");
  for (auto& d : devs) { d.cfg = nullptr; d.txg = 0; Usable(d); }

  std::set<uint64_t> guids;
  for (const auto& d : devs) guids.insert(d.pool_guid);
  uint64_t chosen = 0;
  if (pool.empty()) {
    if (guids.size() > 1) return Status::Error(EINVAL, "several pools found; name one");
    chosen = *guids.begin();
  } else {
    bool numeric = !pool.empty() && std::all_of(pool.begin(), pool.end(), ::isdigit);
    for (const auto& d : devs) {
      if (PoolName(*d.cfg) == pool || (numeric && std::to_string(d.pool_guid) == pool)) {
        if (chosen && chosen != d.pool_guid)
          return Status::Error(EINVAL, "more than one pool named '" + pool + "'");
        chosen = d.pool_guid;
      }
    }
    if (!chosen) return Status::Error(ENOENT, "cannot find pool '" + pool + "'");
  }

  std::unique_ptr<Spa> spa(new Spa());
  spa->pool_guid_ = chosen;
  std::map<uint64_t, std::string> leaf_paths;  // leaf guid -> device path
  std::map<uint64_t, uint64_t> leaf_ashift;    // leaf guid -> its top-level vdev's ashift
  const Labeled* newest = nullptr;
  for (const auto& d : devs) {
    if (d.pool_guid != chosen) continue;
    leaf_paths.emplace(d.guid, d.labels.path);
    leaf_ashift.emplace(d.guid, d.cfg->GetNvList("vdev_tree")->GetUint64("ashift").value_or(9));
    if (!newest || d.txg > newest->txg) newest = &d;
  }
  spa->label_config_ = *newest->cfg;
  spa->name_ = PoolName(*newest->cfg);
  spa->version_ = newest->cfg->GetUint64("version").value_or(0);
  if (!SpaVersionSupported(spa->version_))
    return Status::Error(ENOTSUP, "pool version " + std::to_string(spa->version_) +
                                      " is not supported");

  LeafOpener opener = [&](uint64_t guid, const std::string&) -> std::unique_ptr<File> {
    auto it = leaf_paths.find(guid);
    if (it == leaf_paths.end()) return nullptr;
    OpenOptions oo;
    oo.write = o.writable;
    // Block devices and files alike are read with O_DIRECT (as at create) where the host's
    // file system does direct I/O at the pool's ashift: no second copy of the pool's blocks
    // in the kernel's page cache beside the ARC. Env falls back to the page cache elsewhere
    // (tmpfs, a coarser sector than the ashift).
    oo.direct = true;
    oo.direct_min_io = uint64_t{1} << std::min<uint64_t>(leaf_ashift[guid], 17);
    auto f = env->Open(it->second, oo);
    return f.ok() ? std::move(f).value() : nullptr;
  };
  // The vdev tree as the labels describe it at max_txg: each top-level vdev from the newest
  // label copy (of any of its devices) not past max_txg. With no bound, the newest labels
  // (libzfs_import's get_configs).
  auto build_tree = [&](uint64_t max_txg) -> Status {
    struct Best {
      const NvList* cfg = nullptr;
      uint64_t txg = 0;
      std::string path;
    };
    std::map<uint64_t, Best> best_top;  // top-level id -> the label with the newest tree
    Best top_newest;
    uint64_t children = 0;
    for (const auto& d : devs) {
      if (d.pool_guid != chosen) continue;
      for (const LabelRead& lr : d.labels.labels) {
        if (!Counts(lr)) continue;
        const uint64_t t = *lr.config.GetUint64("txg");
        const NvList* tree = lr.config.GetNvList("vdev_tree");
        if (*lr.config.GetUint64("pool_guid") != chosen || t > max_txg) continue;
        uint64_t id = tree->GetUint64("id").value_or(0);
        if (id >= kMaxTopLevels) return Status::Error(ECORRUPT, "top-level vdev id out of range");
        Best b{&lr.config, t, d.labels.path};
        auto it = best_top.find(id);
        if (it == best_top.end() || b.txg > it->second.txg) best_top[id] = b;
        if (!top_newest.cfg || b.txg > top_newest.txg) top_newest = b;
        children = std::max(children, lr.config.GetUint64("vdev_children").value_or(0));
        children = std::max(children, id + 1);
      }
    }
    if (!top_newest.cfg) return Status::Error(ENOENT, "no label as old as txg " + std::to_string(max_txg));
    // libzfs_import's get_configs: the newest label knows the valid top-level ids
    // (vdev_children) and the holes a log device's removal left (hole_array); a top-level
    // vdev an older label still describes past them, or at a hole, was removed since.
    std::set<uint64_t> holes;
    if (auto vc = top_newest.cfg->GetUint64("vdev_children")) {
      children = *vc;
      if (const auto* ha = top_newest.cfg->GetUint64Array("hole_array"))
        for (uint64_t h : *ha)
          if (h < children) holes.insert(h);
      for (auto it = best_top.begin(); it != best_top.end();) {
        bool stale = it->first >= children ||
                     (holes.count(it->first) && it->second.txg < top_newest.txg);
        if (stale) it = best_top.erase(it);
        else ++it;
      }
    }
    if (children > kMaxTopLevels) return Status::Error(ECORRUPT, "vdev_children out of range");
    std::vector<std::unique_ptr<Vdev>> tops;
    for (uint64_t id = 0; id < children; id++) {
      auto it = best_top.find(id);
      if (it == best_top.end()) {
        tops.push_back(holes.count(id) ? MakeHoleVdev(id) : MakeMissingVdev(id));
        continue;
      }
      auto v = BuildVdevTree(*it->second.cfg->GetNvList("vdev_tree"), opener);
      if (!v.ok()) return v.status().Context(it->second.path + ": vdev_tree");
      if (!o.from_cache) TryFaultedAgain(**v);
      (*v)->id = id;
      tops.push_back(std::move(v).value());
    }
    spa->root_ = MakeRootVdev(chosen, std::move(tops));
    Vdev* root = spa->root_.get();
    spa->lookup_ = [root](uint64_t id) -> Vdev* {
      return id < root->children.size() ? root->children[id].get() : nullptr;
    };
    return Status::Ok();
  };
  UZFS_TRY(build_tree(UINT64_MAX));
  uint64_t tree_txg = UINT64_MAX;  // the bound the tree in spa->root_ was built at

  for (auto& d : devs) {
    if (d.pool_guid != chosen) continue;
    for (const LabelRead& lr : d.labels.labels)
      spa->ubs_.insert(spa->ubs_.end(), lr.uberblocks.begin(), lr.uberblocks.end());
    spa->devices_.push_back(d.labels);
  }
  std::stable_sort(spa->ubs_.begin(), spa->ubs_.end(), UberblockBetter);
  if (spa->ubs_.empty()) return Status::Error(ECORRUPT, "no valid uberblock on any device");
  if (o.mos_config) spa->FillMissingFromMos(o, opener);

  uint64_t sum = spa->root_->GuidSum();
  Status first_err;
  std::set<std::pair<uint64_t, uint64_t>> tried;  // (txg, timestamp)
  for (size_t i = 0; i < spa->ubs_.size(); i++) {
    const Uberblock& ub = spa->ubs_[i];
    if (ub.txg == 0 || ub.txg > o.max_txg) continue;
    if (!SpaVersionSupported(ub.version)) {
      if (first_err.ok()) first_err = Status::Error(ENOTSUP, "uberblock version " + std::to_string(ub.version));
      continue;
    }
    if (ub.guid_sum != sum && tree_txg != ub.txg) {
      // vdev_config_sync writes the even labels before the uberblocks: a crash between
      // them leaves labels describing a tree (an attach, a spare, a detach) that no
      // uberblock has. The tree as of this uberblock is in the older copies, as the MOS
      // config spa_load's second pass (mosconfig) trusts.
      if (build_tree(ub.txg).ok()) {
        tree_txg = ub.txg;
        if (o.mos_config) spa->FillMissingFromMos(o, opener);
        sum = spa->root_->GuidSum();
      }
    }
    if (ub.guid_sum != sum) {
      if (first_err.ok())
        first_err = Status::Error(ENXIO, "uberblock guid_sum does not match the vdev tree "
                                         "(missing or extra devices)");
      continue;
    }
    if (!tried.insert({ub.txg, ub.timestamp}).second) continue;
    if (o.check_rootbp) {
      auto r = spa->Read(ub.rootbp);
      if (!r.ok()) {
        if (first_err.ok())
          first_err = r.status().Context("MOS of uberblock txg " + std::to_string(ub.txg));
        continue;
      }
    }
    spa->ub_index_ = i;
    // OpenZFS: the config is the newest label whose txg is not ahead of the uberblock.
    uint64_t best_txg = 0;
    for (const auto& d : spa->devices_)
      for (const LabelRead& lr : d.labels) {
        if (!lr.status.ok()) continue;
        auto pg = lr.config.GetUint64("pool_guid");
        auto t = lr.config.GetUint64("txg");
        if (!pg || *pg != chosen || !t || *t > ub.txg || *t <= best_txg) continue;
        best_txg = *t;
        spa->label_config_ = lr.config;
      }
    // spa_ld_select_uberblock: a feature pool's label names the features reading its MOS
    // needs; one we do not know refuses the pool (a missing list: corrupt).
    if (ub.version >= kSpaVersionFeatures || spa->version_ >= kSpaVersionFeatures) {
      UZFS_ASSIGN(auto unsup, UnsupportedLabelFeatures(spa->label_config_));
      if (!unsup.empty()) return UnsupportedFeaturesError(unsup);
    }
    return spa;
  }
  if (first_err.ok()) first_err = Status::Error(ENOENT, "no usable uberblock");
  return first_err.Context("pool '" + spa->name_ + "'");
}

void Spa::FillMissingFromMos(const SpaOpenOptions& o, const LeafOpener& opener) {
  // zfs-fuse spa_load's first pass (mosconfig = B_FALSE): the best uberblock whose MOS
  // reads, whatever its guid_sum (the tree is incomplete, so it cannot match); its MOS
  // config then names every top-level vdev. Only the ids no label described are replaced:
  // the labels of the devices present stay the authority for their own trees.
  bool any = false;
  for (const auto& t : root_->children) any |= t->type == "missing";
  if (!any) return;
  for (const Uberblock& ub : ubs_) {
    if (ub.txg == 0 || ub.txg > o.max_txg || !SpaVersionSupported(ub.version)) continue;
    auto cfg = o.mos_config(*this, ub.rootbp);
    if (!cfg.ok()) continue;
    const NvList* tree = cfg->GetNvList("vdev_tree");
    const auto* kids = tree ? tree->GetNvListArray("children") : nullptr;
    if (!kids) return;
    for (const NvList& k : *kids) {
      const uint64_t id = k.GetUint64("id").value_or(UINT64_MAX);
      const std::string* type = k.GetString("type");
      if (id >= root_->children.size() || root_->children[id]->type != "missing") continue;
      if (!type || *type == "missing" || *type == "hole") continue;
      auto v = BuildVdevTree(k, opener);
      if (!v.ok()) continue;
      if (!o.from_cache) TryFaultedAgain(**v);
      (*v)->id = id;
      root_->children[id] = std::move(v).value();
    }
    return;
  }
}

}  // namespace uzfs
