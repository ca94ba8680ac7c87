#include "daemon/pool_ops.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <functional>
#include <climits>
#include <cstdlib>
#include <set>
#include <cstdio>
#include <map>
#include <optional>

#include "daemon/args.h"
#include "daemon/zvol_dev.h"
#include "libcore/base/zfs_prop.h"
#include "libcore/spa/spa_history.h"
#include "libcore/zio/zio_inject.h"

namespace uzfs {

namespace {

void CollectLeafPaths(const NvList& v, std::vector<std::string>* out) {
  if (const auto* sp = v.GetNvListArray("spares"))  // the root's hot spares
    for (const NvList& k : *sp) CollectLeafPaths(k, out);
  if (const auto* kids = v.GetNvListArray("children")) {
    for (const NvList& k : *kids) CollectLeafPaths(k, out);
    return;
  }
  if (const std::string* p = v.GetString("path")) out->push_back(*p);
}

NvList PropsOf(Pool& p) {
  NvList props;
  auto all = p.GetProps();
  if (all.ok())
    for (auto& [name, v] : *all) {
      NvList one;
      one.AddString("value", v.value);
      one.AddString("source", v.source);
      props.AddNvList(name, std::move(one));
    }
  return props;
}

}  // namespace

Status CheckPoolName(const std::string& name) {
  if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0])))
    return Status::Error(EINVAL, "name must begin with a letter");
  if (name.size() >= 256) return Status::Error(ENAMETOOLONG, "name is too long");
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' &&
        c != ':' && c != ' ')
      return Status::Error(EINVAL, std::string("invalid character '") + c + "' in pool name");
  for (const char* r : {"mirror", "raidz", "spare", "log", "cache"})
    if (name.rfind(r, 0) == 0) return Status::Error(EINVAL, "name is reserved");
  if (name.size() >= 2 && name[0] == 'c' && std::isdigit(static_cast<unsigned char>(name[1])))
    return Status::Error(EINVAL, "name is reserved");
  if (name.find(' ') != std::string::npos)
    return Status::Error(EINVAL, "invalid character ' ' in pool name");
  return Status::Ok();
}

Status PoolOps::Create(const NvList& args, NvList*) {
  PoolCreateSpec spec;
  spec.name = Str(args, "name");
  UZFS_TRY(CheckPoolName(spec.name));
  const NvList* nvroot = args.GetNvList("nvroot");
  if (!nvroot) return Status::Error(EINVAL, "missing vdev specification");
  spec.nvroot = *nvroot;
  spec.props = StringMap(args.GetNvList("props"));
  spec.fs_props = StringMap(args.GetNvList("fsprops"));
  spec.altroot = Str(args, "altroot");
  // Quotas and reservations live in the dsl_dir and its accounting too, not only in the
  // props ZAP: they are set on the new root dataset as zfs set does, and a failure destroys
  // the pool again (zfs_ioc_pool_create's zfs_set_prop_nvlist, then spa_destroy).
  std::map<std::string, std::string> space;
  for (const char* k : {"quota", "refquota", "reservation", "refreservation"})
    if (auto it = spec.fs_props.find(k); it != spec.fs_props.end()) {
      DatasetPropValue v;
      UZFS_TRY(EncodeDatasetProp(it->first, it->second, &v));
      space.insert(*it);
      spec.fs_props.erase(it);
    }
  for (const auto& n : t_->Names())
    if (n == spec.name) return Status::Error(EEXIST, "pool already exists");
  UZFS_TRY(CheckNotInUse(*nvroot));
  UZFS_TRY(t_->Create(spec, Str(args, "history")));
  if (!space.empty()) {
    Status s = t_->With(spec.name, [&](Pool& p) -> Status {
      for (auto& [k, v] : space) UZFS_TRY(p.SetDatasetProp(spec.name, k, v));
      return p.Sync();
    });
    if (!s.ok()) {
      (void)t_->Destroy(spec.name, true);
      return s;
    }
  }
  if (m_) UZFS_TRY(m_->MountPool(spec.name));
  return Status::Ok();
}

Status PoolOps::Import(const NvList& args, NvList* result) {
  PoolImportSpec spec;
  spec.pool = Str(args, "pool");
  if (const NvValue* d = args.Find("devices"); d && d->type == NvType::kStringArray)
    spec.devices = d->s_arr;
  spec.new_name = Str(args, "newname");
  if (!spec.new_name.empty()) UZFS_TRY(CheckPoolName(spec.new_name));
  spec.force = Flag(args, "force");
  spec.missing_log = Flag(args, "missing_log");
  spec.destroyed = Flag(args, "destroyed");
  spec.props = StringMap(args.GetNvList("props"));
  spec.altroot = Str(args, "altroot");
  if (!spec.altroot.empty()) spec.props.erase("altroot");
  UZFS_TRY(t_->Import(spec, Str(args, "history")));
  std::string name = spec.new_name;
  if (name.empty()) {
    // spec.pool may be a guid: the table knows the name now.
    for (const std::string& n : t_->Names())
      if (n == spec.pool || t_->With(n, [&](Pool& p) {
            return std::to_string(p.guid()) == spec.pool ? Status::Ok() : Status::Error(ENOENT, "");
          }).ok())
        name = n;
  }
  result->AddString("name", name);
  if (m_ && !Flag(args, "nomount")) {
    UZFS_TRY(m_->MountPool(name));
  } else if (m_ && m_->volumes()) {
    // -N mounts no file system; the volumes are devices all the same (OpenZFS makes their
    // minors at import whatever -N says).
    Status z = m_->volumes()->AddPool(name);
    if (!z.ok()) spdlog::warn("volumes of '{}': {}", name, z.message());
  }
  return Status::Ok();
}

// A mapped DAX file makes the pool busy, as a busy mount does (zpool export and destroy
// refuse it before unmounting anything); with -f, once the file systems are unmounted by
// force, every mapping is revoked for good (SIGBUS in its client: zfsd cannot take the
// device's pages back otherwise), and the pool goes.
Status PoolOps::RevokeDax(const std::string& name) {
  return t_->With(name, [&](Pool& p) {
    t_->RevokeDaxMaps(p, {});
    return Status::Ok();
  });
}

Status PoolOps::Export(const NvList& args, NvList*) {
  std::string name = Str(args, "name");
  const bool force = Flag(args, "force");
  if (!force) UZFS_TRY(t_->With(name, [](Pool& p) { return p.CheckNoDaxMaps(); }));
  UZFS_TRY(t_->CheckNotHeld(name));
  if (m_) {
    Status s = m_->UnmountTree(name, force);
    if (s.ok() && m_->volumes()) s = m_->volumes()->RemoveTree(name, force);
    if (!s.ok()) return Status::Error(EBUSY, "pool is busy\n" + s.message());
  }
  if (force) UZFS_TRY(RevokeDax(name));
  return t_->Export(name, force);
}

Status PoolOps::Destroy(const NvList& args, NvList*) {
  std::string name = Str(args, "name");
  const bool force = Flag(args, "force");
  if (!force) UZFS_TRY(t_->With(name, [](Pool& p) { return p.CheckNoDaxMaps(); }));
  UZFS_TRY(t_->CheckNotHeld(name));
  if (m_) {
    Status s = m_->UnmountTree(name, force);
    if (s.ok() && m_->volumes()) s = m_->volumes()->RemoveTree(name, force);
    if (!s.ok()) return Status::Error(EBUSY, "pool is busy\n" + s.message());
  }
  if (force) UZFS_TRY(RevokeDax(name));
  return t_->Destroy(name, force);
}

Status PoolOps::List(const NvList&, NvList* result) {
  std::vector<NvList> pools;
  for (const std::string& name : t_->Names()) {
    Status s = t_->With(name, [&](Pool& p) {
      NvList one;
      one.AddString("name", name);
      one.AddNvList("props", PropsOf(p));
      one.AddNvList("config", p.StatusConfig());
      pools.push_back(std::move(one));
      return Status::Ok();
    });
    (void)s;  // exported meanwhile: not listed
  }
  result->AddNvListArray("pools", std::move(pools));
  return Status::Ok();
}

Status PoolOps::StatusOf(const NvList& args, NvList* result) {
  std::string want = Str(args, "name");
  std::vector<NvList> pools;
  for (const std::string& name : t_->Names()) {
    if (!want.empty() && name != want) continue;
    NvList one;
    std::vector<Pool::DataError> errs;
    bool found = false;
    (void)t_->With(name, [&](Pool& p) {
      found = true;
      one.AddString("name", name);
      one.AddNvList("config", p.StatusConfig());
      one.AddNvList("props", PropsOf(p));
      one.AddBooleanValue("suspended", p.suspended());
      const uint64_t nerr = p.error_count();
      one.AddUint64("error_count", nerr);
      if (nerr)
        if (auto log = p.ErrorLog(); log.ok()) errs = std::move(log).value();
      const Pool::ScanStatus sc = p.scan_status();
      if (sc.state != "none") {
        NvList scan;
        scan.AddString("function", sc.resilver ? "resilver" : "scrub");
        scan.AddString("state", sc.state);
        scan.AddUint64("start_time", sc.start_time);
        scan.AddUint64("end_time", sc.end_time);
        scan.AddUint64("to_examine", sc.to_examine);
        scan.AddUint64("examined", sc.examined);
        scan.AddUint64("pass_start", sc.pass_start);
        scan.AddUint64("pass_examined", sc.pass_examined);
        scan.AddUint64("processed", sc.repaired);
        scan.AddUint64("errors", sc.errors);
        one.AddNvList("scan", scan);
      }
      return Status::Ok();
    });
    if (!found) continue;
    // zpool_obj_to_path, outside the table's lock (the mount table's is taken): each damaged
    // object as zpool status -v names it: its path under the filesystem's mountpoint when
    // mounted, else "dataset:path", "dataset:<0xobject>" when the path cannot be found,
    // "<metadata>:<0xobject>" for the MOS's.
    if (!errs.empty()) {
      std::vector<std::string> names;
      auto hex = [](uint64_t v) {
        char b[32];
        snprintf(b, sizeof b, "<0x%llx>", static_cast<unsigned long long>(v));
        return std::string(b);
      };
      for (const Pool::DataError& e : errs) {
        const std::string ds = e.dataset.empty() ? hex(e.objset) : e.dataset;
        if (e.path.empty()) {
          names.push_back(ds + ":" + hex(e.object));
        } else if (m_->Mounted(e.dataset)) {
          const std::string mp = m_->MountpointOf(e.dataset);
          names.push_back(mp == "/" ? e.path : mp + (e.path == "/" ? "" : e.path));
        } else {
          names.push_back(ds + ":" + e.path);
        }
      }
      one.AddStringArray("errors", names);
    }
    pools.push_back(std::move(one));
  }
  if (!want.empty() && pools.empty()) return Status::Error(ENOENT, "no such pool");
  result->AddNvListArray("pools", std::move(pools));
  return Status::Ok();
}

Status PoolOps::Get(const NvList& args, NvList* result) {
  std::vector<std::string> names;
  if (const NvValue* v = args.Find("props"); v && v->type == NvType::kStringArray) names = v->s_arr;
  return t_->With(Str(args, "name"), [&](Pool& p) -> Status {
    std::vector<NvList> out;
    if (names.empty()) {
      UZFS_ASSIGN(auto all, p.GetProps());
      for (auto& [n, v] : all) {
        NvList one;
        one.AddString("property", n);
        one.AddString("value", v.value);
        one.AddString("source", v.source);
        out.push_back(std::move(one));
      }
    } else {
      for (const std::string& n : names) {
        UZFS_ASSIGN(PropValue v, p.GetProp(n));
        NvList one;
        one.AddString("property", n);
        one.AddString("value", v.value);
        one.AddString("source", v.source);
        out.push_back(std::move(one));
      }
    }
    result->AddNvListArray("props", std::move(out));
    return Status::Ok();
  });
}

Status PoolOps::Set(const NvList& args, NvList*) {
  return t_->With(Str(args, "name"), [&](Pool& p) -> Status {
    UZFS_TRY(p.SetProp(Str(args, "property"), Str(args, "value")));
    std::string h = Str(args, "history");
    if (!h.empty()) UZFS_TRY(p.LogHistory(h));
    return p.Sync();
  }, /*changes_config=*/true);
}

Status PoolOps::History(const NvList& args, NvList* result) {
  return t_->With(Str(args, "name"), [&](Pool& p) -> Status {
    UZFS_ASSIGN(auto recs, p.History());
    std::vector<NvList> out;
    for (auto& r : recs) {
      NvList one;
      one.AddUint64("time", r.time);
      one.AddString("command", r.command);
      one.AddBooleanValue("internal", r.internal);
      // zpool history -l's "[user U on HOST:ZONE]", -i's "[internal EVENT txg:N]".
      if (auto who = r.record.GetUint64("history who")) one.AddUint64("who", *who);
      if (const std::string* h = r.record.GetString("history hostname")) one.AddString("host", *h);
      if (const std::string* z = r.record.GetString("history zone")) one.AddString("zone", *z);
      if (auto ev = r.record.GetUint64("history internal event"))
        if (const char* n = HistEventName(*ev)) one.AddString("event", n);
      if (auto txg = r.record.GetUint64("history txg")) one.AddUint64("txg", *txg);
      out.push_back(std::move(one));
    }
    result->AddNvListArray("records", std::move(out));
    return Status::Ok();
  });
}

// True when pool lists device (by its real path) among its hot spares (StatusConfig's
// vdev_tree "spares").
static bool IsSpareOf(PoolTable* t, const std::string& pool, const std::string& device) {
  char real[PATH_MAX];
  const std::string want = realpath(device.c_str(), real) ? real : device;
  bool hit = false;
  (void)t->With(pool, [&](Pool& p) {
    NvList cfg = p.StatusConfig();
    const NvList* tree = cfg.GetNvList("vdev_tree");
    if (const auto* sp = tree ? tree->GetNvListArray("spares") : nullptr)
      for (const NvList& s : *sp)
        if (const std::string* d = s.GetString("path"))
          hit |= (realpath(d->c_str(), real) ? std::string(real) : *d) == want;
    return Status::Ok();
  });
  return hit;
}

// EBUSY naming the pool that holds one of the spec's leaves (create and add). A spare the
// pool being added to has already: zpool_add's EBUSY text.
Status PoolOps::CheckNotInUse(const NvList& nvroot, const std::string& adding_to) {
  if (const auto* sp = nvroot.GetNvListArray("spares"); sp && !adding_to.empty())
    for (const NvList& s : *sp)
      if (const std::string* d = s.GetString("path"); d && t_->OwnerOf(*d) == adding_to)
        return Status::Error(EBUSY, "one or more vdevs refer to the same device");
  // Shared spares (vdev_inuse's VDEV_LABEL_SPARE case): a new spare that another imported
  // pool lists as its spare is no data device of it, and may be listed here too.
  std::set<std::string> spares;
  if (const auto* sp = nvroot.GetNvListArray("spares"))
    for (const NvList& s : *sp)
      if (const std::string* d = s.GetString("path")) spares.insert(*d);
  std::vector<std::string> leaves;
  CollectLeafPaths(nvroot, &leaves);
  for (const std::string& d : leaves) {
    std::string owner = t_->OwnerOf(d);
    if (owner.empty()) continue;
    if (spares.count(d) && !adding_to.empty() && IsSpareOf(t_, owner, d)) continue;
    return Status::Error(EBUSY, d + " is part of active pool '" + owner + "'");
  }
  return Status::Ok();
}

Status PoolOps::Sync(const NvList& args, NvList*) { return t_->Sync(Str(args, "name")); }

Status PoolOps::Add(const NvList& args, NvList*) {
  const NvList* nvroot = args.GetNvList("nvroot");
  if (!nvroot) return Status::Error(EINVAL, "missing vdev specification");
  const std::string name = Str(args, "name");
  UZFS_TRY(CheckNotInUse(*nvroot, name));
  return t_->With(name, [&](Pool& p) -> Status {
    UZFS_TRY(p.AddVdevs(*nvroot));
    std::string h = Str(args, "history");
    if (!h.empty()) UZFS_TRY(p.LogHistory(h));
    return p.Sync();
  }, /*changes_config=*/true);
}

Status PoolOps::Clear(const NvList& args, NvList*) {
  const uint64_t guid = args.GetUint64("guid").value_or(0);
  return t_->With(Str(args, "name"), [&](Pool& p) -> Status {
    UZFS_TRY(p.ClearErrors(guid));
    // Logged as zfs-fuse logs it (zfs_ioc_clear's zvec_his_log); a suspended pool writes
    // nothing.
    std::string h = Str(args, "history");
    if (h.empty() || p.suspended()) return Status::Ok();
    UZFS_TRY(p.LogHistory(h));
    return p.Sync();
  });
}

// zfs_ioc_vdev_set_state: offline or online one leaf; an online may start a resilver, which
// the scan thread takes up at once.
Status PoolOps::VdevState(const NvList& args, NvList* result) {
  const uint64_t guid = args.GetUint64("guid").value_or(0);
  const std::string action = Str(args, "action");
  if (action != "offline" && action != "online")
    return Status::Error(EINVAL, "unknown action '" + action + "'");
  // zfs_ioc_vdev_set_state's ZPOOL_CONFIG_VDEV_STATS newstate: the leaf's state as the
  // pool's online left it (vdev_online's *newstate), named as zpool status names it.
  std::optional<LeafState> now;
  Status s = t_->With(Str(args, "name"), [&](Pool& p) -> Status {
    if (action == "offline") {
      UZFS_TRY(p.OfflineVdev(guid, Flag(args, "temporary")));
    } else {
      UZFS_ASSIGN(now, p.OnlineVdev(guid, Flag(args, "expand")));
    }
    std::string h = Str(args, "history");
    if (h.empty()) return Status::Ok();
    UZFS_TRY(p.LogHistory(h));
    return p.Sync();
  }, /*changes_config=*/true);
  if (!s.ok()) return s;
  // zpool_do_online warns unless the new state is healthy: "zpool clear" for FAULTED,
  // "zpool replace" for any other (UNAVAIL, DEGRADED).
  const bool unhealthy = now && *now != LeafState::kOnline;
  result->AddUint64("faulted", unhealthy ? 1 : 0);
  if (unhealthy) {
    const char* name = *now == LeafState::kFaulted    ? "FAULTED"
                       : *now == LeafState::kDegraded ? "DEGRADED"
                       : *now == LeafState::kRemoved  ? "REMOVED"
                       : *now == LeafState::kOffline  ? "OFFLINE"
                                                      : "UNAVAIL";
    result->AddString("state", name);
  }
  t_->KickScan();
  return Status::Ok();
}

// zfs_ioc_vdev_attach: the resilver it starts is synced with the answer; the scan thread
// takes it up at once.
Status PoolOps::Attach(const NvList& args, NvList*) {
  const NvList* nvroot = args.GetNvList("nvroot");
  if (!nvroot) return Status::Error(EINVAL, "missing vdev specification");
  // A device of an imported pool is busy; an in-place replacement's is this pool's own
  // (the core refuses any other of its leaves).
  std::vector<std::string> leaves;
  CollectLeafPaths(*nvroot, &leaves);
  for (const std::string& d : leaves) {
    const std::string owner = t_->OwnerOf(d);
    if (!owner.empty() && !(Flag(args, "replacing") && owner == Str(args, "name")))
      return Status::Error(EBUSY, d + " is busy");
  }
  const uint64_t guid = args.GetUint64("guid").value_or(0);
  Status s = t_->With(Str(args, "name"), [&](Pool& p) -> Status {
    UZFS_TRY(p.AttachVdev(guid, *nvroot, Flag(args, "replacing")));
    std::string h = Str(args, "history");
    if (h.empty()) return Status::Ok();
    UZFS_TRY(p.LogHistory(h));
    return p.Sync();
  }, /*changes_config=*/true);
  if (s.ok()) t_->KickScan();
  return s;
}

Status PoolOps::Detach(const NvList& args, NvList*) {
  const uint64_t guid = args.GetUint64("guid").value_or(0);
  return t_->With(Str(args, "name"), [&](Pool& p) -> Status {
    UZFS_TRY(p.DetachVdev(guid));
    std::string h = Str(args, "history");
    if (h.empty()) return Status::Ok();
    UZFS_TRY(p.LogHistory(h));
    return p.Sync();
  }, /*changes_config=*/true);
}

// zfs_ioc_pool_scrub (spa_scrub): the scrub's setup (or its end) is synced before the
// answer, so the scan thread takes it up at once.
Status PoolOps::Scrub(const NvList& args, NvList*) {
  const bool stop = Flag(args, "stop");
  Status s = t_->With(Str(args, "name"), [&](Pool& p) -> Status {
    UZFS_TRY(stop ? p.CancelScrub() : p.StartScrub());
    std::string h = Str(args, "history");
    if (!h.empty()) UZFS_TRY(p.LogHistory(h));
    return p.Sync();
  });
  if (s.ok()) t_->KickScan();
  return s;
}

Status PoolOps::Inject(const NvList& args, NvList* result) {
  const std::string action = Str(args, "action");
  const uint64_t guid = args.GetUint64("guid").value_or(0);
  if (action == "add") {
    return t_->With(Str(args, "name"), [&](Pool& p) -> Status {
      UZFS_ASSIGN(uint64_t id, p.InjectFault(guid, static_cast<int>(args.GetUint64("error").value_or(ENXIO)),
                                             static_cast<int>(args.GetUint64("iotype").value_or(Pool::kInjectAll)),
                                             static_cast<uint32_t>(args.GetUint64("freq").value_or(100)),
                                             static_cast<unsigned>(args.GetUint64("labels").value_or(0))));
      result->AddUint64("id", id);
      return Status::Ok();
    });
  }
  if (action == "fault") {
    Status s = t_->With(Str(args, "name"), [&](Pool& p) { return p.FaultDevice(guid); });
    if (s.ok()) t_->KickScan();  // the scan thread gives the leaf a spare (ActivateSpares)
    return s;
  }
  if (action == "add_data") {
    // zinject -t data FILE: name is the file's filesystem, object its inode number.
    const std::string fs = Str(args, "name");
    return t_->With(fs.substr(0, fs.find('/')), [&](Pool& p) -> Status {
      if (args.GetUint64("flush_arc").value_or(0)) p.FlushArc();
      UZFS_ASSIGN(uint64_t id, p.InjectData(fs, args.GetUint64("object").value_or(0),
                                            args.GetUint64("start").value_or(0),
                                            args.GetUint64("end").value_or(UINT64_MAX),
                                            static_cast<int>(args.GetUint64("error").value_or(EIO)),
                                            static_cast<uint32_t>(args.GetUint64("freq").value_or(100)),
                                            static_cast<int>(args.GetUint64("level").value_or(0)),
                                            Str(args, "type") == "dnode"));
      result->AddUint64("id", id);
      return Status::Ok();
    });
  }
  if (action == "add_mos") {
    // zinject -t mos|mosdir|metaslab|config|bplist|spacemap|errlog POOL.
    return t_->With(Str(args, "name"), [&](Pool& p) -> Status {
      if (args.GetUint64("flush_arc").value_or(0)) p.FlushArc();
      UZFS_ASSIGN(uint64_t id, p.InjectMos(Str(args, "type"),
                                           static_cast<int>(args.GetUint64("error").value_or(EIO)),
                                           static_cast<uint32_t>(args.GetUint64("freq").value_or(100))));
      result->AddUint64("id", id);
      return Status::Ok();
    });
  }
  if (action == "add_raw") {
    // zinject -b objset:object:level:blkid POOL.
    return t_->With(Str(args, "name"), [&](Pool& p) -> Status {
      if (args.GetUint64("flush_arc").value_or(0)) p.FlushArc();
      UZFS_ASSIGN(uint64_t id, p.InjectRaw(args.GetUint64("objset").value_or(0), args.GetUint64("object").value_or(0),
                                           static_cast<int>(args.GetUint64("level").value_or(0)),
                                           args.GetUint64("blkid").value_or(0),
                                           static_cast<int>(args.GetUint64("error").value_or(EIO)),
                                           static_cast<uint32_t>(args.GetUint64("freq").value_or(100))));
      result->AddUint64("id", id);
      return Status::Ok();
    });
  }
  if (action == "flush_arc") {
    // zinject -a alone: the ARC is every pool's, so any pool flushes it (none: nothing cached).
    for (const std::string& name : t_->Names())
      return t_->With(name, [](Pool& p) {
        p.FlushArc();
        return Status::Ok();
      });
    return Status::Ok();
  }
  if (action == "clear") {
    const uint64_t id = args.GetUint64("id").value_or(0);
    bool found = ClearDataInjection(id);
    for (const std::string& name : t_->Names())
      (void)t_->With(name, [&](Pool& p) {
        found |= p.ClearInjection(id);
        return Status::Ok();
      });
    return found ? Status::Ok() : Status::Error(ENOENT, "no such handler");
  }
  if (action == "list") {
    std::vector<NvList> out;
    std::map<uint64_t, std::string> pool_names;  // guid -> name, for the data handlers
    for (const std::string& name : t_->Names())
      (void)t_->With(name, [&](Pool& p) {
        pool_names[p.guid()] = name;
        for (const Pool::InjectHandler& h : p.Injections()) {
          NvList one;
          one.AddUint64("id", h.id);
          one.AddString("pool", name);
          one.AddUint64("guid", h.guid);
          one.AddUint64("error", static_cast<uint64_t>(h.error));
          one.AddUint64("iotype", static_cast<uint64_t>(h.iotype));
          one.AddUint64("freq", h.freq);
          if (h.labels) one.AddUint64("labels", h.labels);
          out.push_back(std::move(one));
        }
        return Status::Ok();
      });
    for (const DataInjection& d : DataInjections()) {
      NvList one;
      one.AddUint64("id", d.id);
      one.AddString("type", "data");
      one.AddString("objtype", d.type);
      auto n = pool_names.find(d.pool_guid);
      one.AddString("pool", n == pool_names.end() ? "-" : n->second);  // its pool went away
      one.AddUint64("objset", d.objset);
      one.AddUint64("object", d.object);
      one.AddUint64("level", static_cast<uint64_t>(d.level));
      one.AddUint64("start", d.start);
      one.AddUint64("end", d.end);
      one.AddUint64("error", static_cast<uint64_t>(d.error));
      one.AddUint64("freq", d.freq);
      out.push_back(std::move(one));
    }
    std::sort(out.begin(), out.end(), [](const NvList& a, const NvList& b) {
      return a.GetUint64("id").value_or(0) < b.GetUint64("id").value_or(0);
    });
    result->AddNvListArray("handlers", std::move(out));
    return Status::Ok();
  }
  return Status::Error(EINVAL, "unknown injection action '" + action + "'");
}

Status PoolOps::Remove(const NvList& args, NvList*) {
  const uint64_t guid = args.GetUint64("guid").value_or(0);
  return t_->With(Str(args, "name"), [&](Pool& p) -> Status {
    UZFS_TRY(p.RemoveVdev(guid));
    std::string h = Str(args, "history");
    if (!h.empty()) UZFS_TRY(p.LogHistory(h));
    return p.Sync();
  }, /*changes_config=*/true);
}

}  // namespace uzfs
