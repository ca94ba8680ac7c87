#include "daemon/dataset_ops.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>

#include "daemon/args.h"
#include "daemon/zvol_dev.h"
#include "libcore/pool/pool_props.h"

namespace uzfs {

namespace {

std::string PoolOf(const std::string& name) { return name.substr(0, name.find_first_of("/@")); }

// name is `top` itself, a descendant filesystem, or a snapshot of either.
bool IsUnder(const std::string& name, const std::string& top) {
  if (name == top) return true;
  if (name.size() <= top.size() || name.compare(0, top.size(), top) != 0) return false;
  return name[top.size()] == '/' || name[top.size()] == '@';
}

// Levels below top: one per '/' or '@' after it.
int DepthBelow(const std::string& name, const std::string& top) {
  int d = 0;
  for (size_t i = top.size(); i < name.size(); i++)
    if (name[i] == '/' || name[i] == '@') d++;
  return d;
}

}  // namespace

Status CheckDatasetName(const std::string& name, bool snap_ok) {
  if (name.empty()) return Status::Error(EINVAL, "empty component in name");
  if (name.size() >= 256) return Status::Error(ENAMETOOLONG, "name is too long");
  if (name[0] == '/') return Status::Error(EINVAL, "leading slash in name");
  if (name.back() == '/') return Status::Error(EINVAL, "trailing slash in name");
  size_t at = name.find('@');
  if (at != std::string::npos) {
    if (!snap_ok) return Status::Error(EINVAL, "snapshot delimiter '@' is not expected here");
    if (name.find('@', at + 1) != std::string::npos)
      return Status::Error(EINVAL, "multiple '@' delimiters in name");
    if (at + 1 == name.size() || at == 0 || name[at - 1] == '/')
      return Status::Error(EINVAL, "empty component or misplaced '@' or '#' delimiter in name");
  }
  bool last_slash = false;
  for (size_t i = 0; i < name.size(); i++) {
    char c = name[i];
    if (c == '/') {
      if (last_slash) return Status::Error(EINVAL, "empty component in name");
      if (at != std::string::npos && i > at)
        return Status::Error(EINVAL, "invalid character '/' in name");
      last_slash = true;
      continue;
    }
    last_slash = false;
    if (c == '@') continue;
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' &&
        c != ':' && c != ' ')
      return Status::Error(EINVAL, std::string("invalid character '") + c + "' in name");
  }
  return Status::Ok();
}

// Properties that live outside the props ZAP too (dsl_dir quota and reservation, the
// reservation accounting): set after creation, through SetDatasetProp, in the same txg.
std::pair<std::map<std::string, std::string>, std::map<std::string, std::string>> SplitSpecialProps(
    const std::map<std::string, std::string>& props) {
  std::map<std::string, std::string> plain, special;
  for (auto& [k, v] : props)
    (k == "quota" || k == "refquota" || k == "reservation" || k == "refreservation" ? special : plain)[k] = v;
  return {plain, special};
}

// zfs create/clone -o version: v23's index '1 | 2 | 3 | 4 | current' (zfs_prop.c), checked
// as zfs_valid_proplist does, and taken out of props (the ZPL version lives in the master
// node, not in the props ZAP). *version: the one asked for (current is 4), 0 when none.
static Status TakeZplVersion(std::map<std::string, std::string>* props, uint64_t* version) {
  *version = 0;
  auto it = props->find("version");
  if (it == props->end()) return Status::Ok();
  const std::string v = it->second;
  props->erase(it);
  if (v == "current") *version = 4;
  else if (v.size() == 1 && v[0] >= '1' && v[0] <= '4') *version = static_cast<uint64_t>(v[0] - '0');
  else return Status::Error(EINVAL, "'version' must be one of '1 | 2 | 3 | 4 | current'");
  return Status::Ok();
}

// uzfs writes ZPL version 4 only (ZplWriter): an older one asked for is refused.
static Status CheckZplVersion(uint64_t version) {
  if (version && version != 4) return Status::Error(ENOTSUP, "uzfs writes filesystem version 4 only");
  return Status::Ok();
}

// The missing ancestors of name, created when parents (-p), else ENOENT "parent does not
// exist"; each one made is appended to *made.
static Status CreateParents(Pool& p, const std::string& name, bool parents, std::vector<std::string>* made,
                            uint64_t creator) {
  for (size_t s = name.find('/'); s != std::string::npos; s = name.find('/', s + 1)) {
    std::string a = name.substr(0, s);
    if (p.DatasetProps(a).ok()) continue;
    if (!parents) return Status::Error(ENOENT, "parent does not exist");
    UZFS_TRY(p.CreateFilesystem(a, {}, creator));
    made->push_back(a);
  }
  return Status::Ok();
}

// zfs create and clone mount what they made; a failed mount is reported, the filesystem
// stays.
Status DatasetOps::MountMade(const std::vector<std::string>& made) {
  for (const std::string& fs : made) {
    Status s = caller_.uid == 0 ? m_->MountIfAuto(fs) : UserMount(fs);
    if (!s.ok()) return Status::Error(s.code(), "filesystem successfully created, but not mounted\n" + s.message());
  }
  return Status::Ok();
}

Status DatasetOps::WithPool(const std::string& name, const std::function<Status(Pool&)>& fn) {
  std::string pool = PoolOf(name);
  Status s = t_->With(pool, fn);
  if (s.code() == ENOENT && s.message() == "no such pool")
    return Status::Error(ENOENT, "no such pool '" + pool + "'");
  return s;
}

Status DatasetOps::Finish(Pool& p, const NvList& args) {
  std::string h = Str(args, "history");
  if (!h.empty()) UZFS_TRY(p.LogHistory(h));
  return p.Sync();
}

Status DatasetOps::Create(const NvList& args, NvList*) {
  std::string name = Str(args, "name");
  UZFS_TRY(CheckDatasetName(name, false));
  if (name.find('/') == std::string::npos) return Status::Error(EINVAL, "missing dataset name");
  auto props = StringMap(args.GetNvList("props"));
  // A volume (zfs create -V): volsize and volblocksize come with the properties, as
  // zfs_do_create puts them there; zvol_create_cb takes them out.
  uint64_t volsize = 0, volblocksize = 0;
  bool volume = false;
  UZFS_TRY(TakeVolumeProps(&props, &volume, &volsize, &volblocksize));
  uint64_t version = 0;
  UZFS_TRY(TakeZplVersion(&props, &version));
  if (volume && version) return Status::Error(EINVAL, "'version' does not apply to datasets of this type");
  for (auto& [k, v] : props) {
    DatasetPropValue pv;
    UZFS_TRY(EncodeDatasetProp(k, v, &pv));
    if (volume) UZFS_TRY(CheckVolumeProp(k));
  }
  UZFS_TRY(CheckZplVersion(version));
  bool parents = Flag(args, "parents");
  std::vector<std::string> made;
  UZFS_TRY(WithPool(name, [&](Pool& p) -> Status {
    if (p.DatasetProps(name).ok()) return Status::Error(EEXIST, "dataset already exists");
    UZFS_TRY(CreateParents(p, name, parents, &made, caller_.uid));
    auto [plain, special] = SplitSpecialProps(props);
    if (volume) UZFS_TRY(p.CreateVolume(name, volsize, volblocksize, plain, caller_.uid));
    else UZFS_TRY(p.CreateFilesystem(name, plain, caller_.uid));
    for (auto& [k, v] : special) UZFS_TRY(p.SetDatasetProp(name, k, v));
    made.push_back(name);
    return Finish(p, args);
  }));
  return MountMade(made);
}

Status DatasetOps::Destroy(const NvList& args, NvList* result) {
  std::string name = Str(args, "name");
  UZFS_TRY(CheckDatasetName(name, true));
  bool recursive = Flag(args, "recursive") || Flag(args, "dependents");
  bool dryrun = Flag(args, "dryrun"), force = Flag(args, "force"), defer = Flag(args, "defer");
  // zfs destroy -d opens the dataset as a snapshot (zfs_do_destroy: ZFS_TYPE_SNAPSHOT).
  if (defer && name.find('@') == std::string::npos)
    return Status::Error(EINVAL, "operation not applicable to datasets of this type");
  if (name.find_first_of("/@") == std::string::npos && !recursive)
    return Status::Error(EINVAL, "operation does not apply to pools\nuse 'zfs destroy -r " + name +
                                     "' to destroy all datasets in the pool\nuse 'zpool destroy " +
                                     name + "' to destroy the pool itself");
  std::vector<std::string> doomed;
  UZFS_TRY(WithPool(name, [&](Pool& p) -> Status {
    UZFS_TRY(p.DatasetProps(name).status());
    UZFS_ASSIGN(auto all, p.Datasets());
    // What the name takes with it: with -r every descendant (for a snapshot, the snapshot of
    // that name of every descendant filesystem); with -R also every clone of a doomed
    // snapshot, with its own descendants.
    std::set<std::string> set;
    std::vector<std::string> work{name};
    std::string snapname = name.find('@') == std::string::npos ? "" : name.substr(name.find('@'));
    std::string top = name.substr(0, name.find('@'));
    if (recursive)
      for (const auto& d : all) {
        if (d.name == name || !IsUnder(d.name, top)) continue;
        if (snapname.empty() || (d.snapshot && d.name.size() > snapname.size() &&
                                 d.name.compare(d.name.size() - snapname.size(), snapname.size(), snapname) == 0))
          work.push_back(d.name);
      }
    std::vector<std::string> clones_needed;
    while (!work.empty()) {
      std::string n = work.back();
      work.pop_back();
      if (!set.insert(n).second) continue;
      if (n.find('@') == std::string::npos) {
        if (n != name || recursive)
          for (const auto& d : all)
            if (d.name != n && IsUnder(d.name, n)) work.push_back(d.name);
        continue;
      }
      UZFS_ASSIGN(auto snaps, p.Snapshots(n.substr(0, n.find('@'))));
      for (const auto& row : snaps)
        if (row.name == n)
          for (const std::string& c : row.clones) {
            if (Flag(args, "dependents")) work.push_back(c);
            else clones_needed.push_back(c);
          }
    }
    if (!recursive && name.find('@') == std::string::npos) {
      // destroy_check_dependent (zfs_main.c) over zfs_iter_dependents: snapshots are
      // children too, and each dataset comes after its own (a child filesystem's children
      // and snapshots, then it; the filesystem's own snapshots last, oldest first).
      std::vector<std::string> below;
      std::function<Status(const std::string&)> walk = [&](const std::string& fs) -> Status {
        for (const auto& d : all)
          if (!d.snapshot && d.name != fs && IsUnder(d.name, fs) &&
              d.name.find('/', fs.size() + 1) == std::string::npos) {
            UZFS_TRY(walk(d.name));
            below.push_back(d.name);
          }
        UZFS_ASSIGN(auto snaps, p.Snapshots(fs));
        for (const auto& row : snaps) below.push_back(row.name);
        return Status::Ok();
      };
      UZFS_TRY(walk(name));
      if (!below.empty()) {
        std::string list;
        for (auto& b : below) list += "\n" + b;
        return Status::Error(EEXIST, "filesystem has children\nuse '-r' to destroy the following datasets:" + list);
      }
    }
    // -d: a cloned snapshot is marked, not refused (zfs_do_destroy skips
    // destroy_check_dependent).
    if (!clones_needed.empty() && !defer) {
      std::string list;
      for (auto& c : clones_needed) list += "\n" + c;
      return Status::Error(EEXIST, std::string(name.find('@') == std::string::npos ? "filesystem has dependent clones" : "snapshot has dependent clones") +
                                       "\nuse '-R' to destroy the following datasets:" + list);
    }
    // Order: a clone before the snapshot it comes from, children before their parent,
    // a filesystem's snapshots (newest first) before it.
    std::set<std::string> done;
    std::function<Status(const std::string&)> visit = [&](const std::string& n) -> Status {
      if (!set.count(n) || done.count(n)) return Status::Ok();
      done.insert(n);
      if (n.find('@') != std::string::npos) {
        UZFS_ASSIGN(auto snaps, p.Snapshots(n.substr(0, n.find('@'))));
        for (const auto& row : snaps)
          if (row.name == n)
            for (const std::string& c : row.clones) UZFS_TRY(visit(c));
      } else {
        for (auto it = all.rbegin(); it != all.rend(); ++it)
          if (it->name != n && IsUnder(it->name, n) && it->name.find('/', n.size() + 1) == std::string::npos)
            UZFS_TRY(visit(it->name));
      }
      doomed.push_back(n);
      return Status::Ok();
    };
    UZFS_TRY(visit(name));
    for (const std::string& n : set) UZFS_TRY(visit(n));
    if (name.find_first_of("/@") == std::string::npos) doomed.erase(std::remove(doomed.begin(), doomed.end(), name), doomed.end());
    return Status::Ok();
  }));
  result->AddStringArray("destroyed", doomed);
  if (dryrun) return Status::Ok();
  // A mapped DAX file makes its filesystem busy, as a busy mount does: EBUSY, unless -f,
  // which unmounts by force and revokes the mappings for good (SIGBUS in the clients).
  std::vector<std::string> doomed_fs;
  for (const std::string& d : doomed)
    if (d.find('@') == std::string::npos) doomed_fs.push_back(d);
  if (!force)
    UZFS_TRY(WithPool(name, [&](Pool& p) -> Status {
      for (const std::string& d : doomed_fs) UZFS_TRY(p.CheckNoDaxMaps(d));
      return Status::Ok();
    }));
  for (const std::string& d : doomed_fs) {
    Status s = m_->UnmountTree(d, force);
    if (s.ok() && m_->volumes()) s = m_->volumes()->RemoveTree(d, force);  // zvol_remove_minor
    if (!s.ok()) return Status::Error(EBUSY, "dataset is busy");
  }
  if (force && !doomed_fs.empty())
    UZFS_TRY(WithPool(name, [&](Pool& p) {
      t_->RevokeDaxMaps(p, doomed_fs);
      return Status::Ok();
    }));
  std::string failed;
  Status s = WithPool(name, [&](Pool& p) -> Status {
    // Snapshots alone (-r of fs@snap: dsl_snapshots_destroy) go all or none.
    if (std::all_of(doomed.begin(), doomed.end(), [](const std::string& d) { return d.find('@') != std::string::npos; })) {
      UZFS_TRY(p.DestroySnapshots(doomed, defer, &failed));
      failed.clear();
      return Finish(p, args);
    }
    // With -R, -d is for the named snapshots only: the clones' own go at once
    // (zfs_do_destroy drops cb_defer_destroy around destroy_snap_clones).
    std::string top = name.substr(0, name.find('@'));
    std::string snapname = name.find('@') == std::string::npos ? "" : name.substr(name.find('@'));
    auto named = [&](const std::string& d) {
      return !snapname.empty() && IsUnder(d, top) && d.size() > snapname.size() &&
             d.compare(d.size() - snapname.size(), snapname.size(), snapname) == 0;
    };
    for (const std::string& d : doomed) {
      if (d.find('@') != std::string::npos) {
        UZFS_TRY(p.DestroySnapshots({d}, defer && named(d), &failed));
        failed.clear();
      } else {
        UZFS_TRY(p.DestroyFilesystem(d));
      }
    }
    return Finish(p, args);
  });
  m_->SnapshotsChanged(PoolOf(name));  // also after a failure part-way
  if (s.ok() || failed.empty()) return s;
  return Status::Error(s.code(), failed + "\t" + s.message());  // the snapshot at fault
}

// get_numeric_property: a mount whose option (zfs mount -o, a remount) differs from the
// property shows the mount's value, with source "temporary".
static void TemporaryValue(const MountOptions& o, const std::string& prop, std::string* value,
                           std::string* source) {
  const bool* now = prop == "readonly" ? &o.readonly
                    : prop == "atime"  ? &o.atime
                    : prop == "exec"   ? &o.exec
                    : prop == "setuid" ? &o.setuid
                    : prop == "devices" ? &o.devices
                                        : nullptr;
  if (!now || (*value == "on") == *now) return;
  *value = *now ? "on" : "off";
  *source = "temporary";
}

Status DatasetOps::List(const NvList& args, NvList* result) {
  m_->Prune();  // the "mounted" property of what umount(8) unmounted
  std::vector<std::string> names;
  if (const NvValue* v = args.Find("names"); v && v->type == NvType::kStringArray) names = v->s_arr;
  bool recursive = Flag(args, "recursive");
  int64_t depth = -1;
  if (const NvValue* v = args.Find("depth")) depth = v->i;
  if (depth >= 0) recursive = true;
  std::vector<std::string> tops = names;
  if (tops.empty()) {
    tops = t_->Names();
    recursive = true;
  }
  std::vector<NvList> out;
  std::set<std::string> seen;
  for (const std::string& top : tops) {
    Status s = CheckDatasetName(top, true);
    if (!s.ok()) return s;
    UZFS_TRY(WithPool(top, [&](Pool& p) -> Status {
      UZFS_TRY(p.DatasetProps(top).status());
      UZFS_ASSIGN(auto all, p.Datasets());
      for (const auto& d : all) {
        if (!(d.name == top || (recursive && IsUnder(d.name, top)))) continue;
        if (depth >= 0 && DepthBelow(d.name, top) > depth) continue;
        if (!seen.insert(d.name).second) continue;
        UZFS_ASSIGN(auto props, p.DatasetProps(d.name));
        std::optional<MountOptions> mo = d.snapshot ? std::nullopt : m_->OptionsOf(d.name);
        NvList one, pl;
        one.AddString("name", d.name);
        one.AddString("type", d.snapshot ? "snapshot" : d.volume ? "volume" : "filesystem");
        for (auto& pr : props) {
          NvList v;
          std::string value = pr.value, source = pr.source;
          if (pr.name == "mounted") value = m_->Mounted(d.name) ? "yes" : "no";
          if (mo) TemporaryValue(*mo, pr.name, &value, &source);
          v.AddString("value", value);
          v.AddString("source", source);
          v.AddString("received", pr.received);
          pl.AddNvList(pr.name, std::move(v));
        }
        one.AddNvList("props", std::move(pl));
        out.push_back(std::move(one));
      }
      return Status::Ok();
    }));
  }
  result->AddNvListArray("datasets", std::move(out));
  return Status::Ok();
}

// The properties a mount is made with (mount_table.h): setting one remounts what it covers.
static bool MountProp(const std::string& k) {
  for (const char* p : {"mountpoint", "canmount", "readonly", "atime", "exec", "setuid", "devices"})
    if (k == p) return true;
  return false;
}

Status DatasetOps::Set(const NvList& args, NvList*) {
  std::string name = Str(args, "name");
  UZFS_TRY(CheckDatasetName(name, true));
  auto props = StringMap(args.GetNvList("props"));
  if (props.empty()) return Status::Error(EINVAL, "missing property=value argument");
  bool remount = false;
  // canmount=noauto changes nothing mounted now: no unmount and remount, so a busy
  // filesystem takes it (zfs_prop_set_list skips the changelist's prefix for it).
  for (auto& [k, v] : props)
    if (MountProp(k) && !(k == "canmount" && v == "noauto")) remount = true;
  std::vector<std::string> was;
  if (remount) {
    for (auto& [fs, mp] : m_->List())
      if (IsUnder(fs, name)) was.push_back(fs);
    UZFS_TRY(WithPool(name, [&](Pool& p) { return p.DatasetProps(name).status(); }));
    if (Status s = m_->UnmountTree(name, false); !s.ok()) return s;
  }
  Status set = WithPool(name, [&](Pool& p) -> Status {
    UZFS_TRY(VolsizeReservation(p, name, &props));
    // The reservation before a grown volsize is checked, after a shrunk one.
    for (auto& [k, v] : props) {
      if (k == "volsize") continue;
      if (IsUserQuotaProp(k)) UZFS_TRY(SetUserQuotaProp(p, name, k, v));
      else UZFS_TRY(p.SetDatasetProp(name, k, v));
    }
    if (props.count("volsize")) UZFS_TRY(p.SetDatasetProp(name, "volsize", props["volsize"]));
    return Finish(p, args);
  });
  if (set.ok() && props.count("volsize") && m_->volumes()) UZFS_TRY(m_->volumes()->Resize(name));
  if (remount) {
    // What was mounted is mounted again with its new properties; the dataset itself also
    // when it now mounts automatically.
    for (const std::string& fs : was) (void)m_->Mount(fs);
    if (set.ok() && !m_->Mounted(name) && name.find('@') == std::string::npos) {
      Status s = m_->MountPool(PoolOf(name));
      if (!s.ok()) return s;
    }
  }
  return set;
}

Status DatasetOps::Inherit(const NvList& args, NvList*) {
  std::string name = Str(args, "name"), prop = Str(args, "property");
  UZFS_TRY(CheckDatasetName(name, true));
  bool recursive = Flag(args, "recursive");
  bool remount = MountProp(prop);
  std::vector<std::string> was;
  if (remount) {
    for (auto& [fs, mp] : m_->List())
      if (IsUnder(fs, name)) was.push_back(fs);
    if (Status s = m_->UnmountTree(name, false); !s.ok()) return s;
  }
  Status st = WithPool(name, [&](Pool& p) -> Status {
    std::vector<std::string> targets{name};
    if (recursive) {
      UZFS_ASSIGN(auto all, p.Datasets());
      for (const auto& d : all)
        if (d.name != name && IsUnder(d.name, name) && !d.snapshot) targets.push_back(d.name);
    }
    for (const std::string& t : targets) UZFS_TRY(p.InheritDatasetProp(t, prop, Flag(args, "received")));
    return Finish(p, args);
  });
  if (remount) {
    for (const std::string& fs : was) (void)m_->Mount(fs);
    (void)m_->MountPool(PoolOf(name));
  }
  return st;
}

Status DatasetOps::Snapshot(const NvList& args, NvList*) {
  std::vector<std::string> names;
  if (const NvValue* v = args.Find("names"); v && v->type == NvType::kStringArray) names = v->s_arr;
  if (names.empty()) return Status::Error(EINVAL, "missing snapshot argument");
  for (const std::string& n : names) {
    Status s = CheckDatasetName(n, true);
    if (s.ok() && n.find('@') == std::string::npos)
      s = Status::Error(EINVAL, "missing '@' delimiter in snapshot name");
    if (!s.ok()) return Status::Error(s.code(), names.size() > 1 ? n + ": " + s.message() : s.message());
    if (PoolOf(n) != PoolOf(names[0]))
      return Status::Error(EXDEV, "snapshots must be in the same pool");
  }
  auto props = StringMap(args.GetNvList("props"));
  for (auto& [k, v] : props)
    if (!IsUserProp(k)) return Status::Error(EINVAL, "property '" + k + "' can not be set on snapshots");
  return WithPool(names[0], [&](Pool& p) -> Status {
    std::vector<std::string> all = names;
    if (Flag(args, "recursive")) {
      UZFS_ASSIGN(auto ds, p.Datasets());
      for (const std::string& n : names) {
        std::string fs = n.substr(0, n.find('@')), snap = n.substr(n.find('@'));
        UZFS_TRY(p.DatasetProps(fs).status());
        for (const auto& d : ds)
          if (!d.snapshot && d.name != fs && IsUnder(d.name, fs)) all.push_back(d.name + snap);
      }
    }
    // Several named: the one that exists is named, as zfs_snapshot_nvl names it.
    if (names.size() > 1)
      for (const std::string& n : all)
        if (p.DatasetProps(n).ok()) return Status::Error(EEXIST, n + ": dataset already exists");
    // Mapped DAX files of these filesystems: their mappings pause around the snapshot.
    std::vector<std::string> fs;
    for (const std::string& n : all) fs.push_back(n.substr(0, n.find('@')));
    UZFS_TRY(t_->WithDaxPaused(p, fs, [&] { return p.Snapshot(all); }));
    for (const std::string& n : all)
      for (auto& [k, v] : props) UZFS_TRY(p.SetDatasetProp(n, k, v));
    return Finish(p, args);
  });
}

Status DatasetOps::Rollback(const NvList& args, NvList*) {
  std::string name = Str(args, "name");
  UZFS_TRY(CheckDatasetName(name, true));
  if (name.find('@') == std::string::npos)
    return Status::Error(EINVAL, "operation not applicable to datasets of this type");
  std::string fs = name.substr(0, name.find('@'));
  std::vector<std::string> later;
  UZFS_TRY(WithPool(name, [&](Pool& p) -> Status {
    UZFS_TRY(p.DatasetProps(name).status());
    UZFS_ASSIGN(auto snaps, p.Snapshots(fs));
    bool after = false;
    for (const auto& s : snaps) {
      if (after) later.push_back(s.name);
      if (s.name == name) after = true;
    }
    return Status::Ok();
  }));
  if (!later.empty() && !Flag(args, "recursive")) {
    std::string list;
    for (auto& l : later) list += "\n" + l;
    return Status::Error(EEXIST, "more recent snapshots exist\nuse '-r' to force deletion of the following snapshots:" + list);
  }
  // The filesystem stays mounted and is swapped under its mount (MountTable::Rollback). A
  // child mounted on a directory of it that the snapshot lacks (or has as another object)
  // would lose its mount point: such children are unmounted first and mounted again after
  // (the mount makes the directory, as zfs mount does).
  std::vector<std::string> remount;
  if (m_->Mounted(fs)) {
    std::vector<std::string> lost;
    UZFS_TRY(WithPool(name, [&](Pool& p) { return LostMountpoints(p, fs, name, &lost); }));
    for (const std::string& c : lost) {
      for (auto& [n, mp] : m_->List())
        if (n == c || (n.size() > c.size() && n.compare(0, c.size(), c) == 0 && n[c.size()] == '/'))
          remount.push_back(n);
      if (!m_->UnmountTree(c, false).ok()) {
        for (const std::string& n : remount) (void)m_->Mount(n);
        return Status::Error(EBUSY, "dataset is busy");
      }
    }
  }
  // Mapped DAX files of fs pause around it and resume showing the snapshot's bytes (their
  // stores go to new extents), or SIGBUS where the snapshot has no such file or bytes
  // (FileService::WithDaxPaused).
  Status st = m_->Rollback(fs, [&] {
    return WithPool(name, [&](Pool& p) -> Status {
      return t_->WithDaxPaused(p, {fs}, [&]() -> Status {
        for (auto it = later.rbegin(); it != later.rend(); ++it) UZFS_TRY(p.DestroySnapshot(*it));
        UZFS_TRY(p.Rollback(fs));
        return Finish(p, args);
      });
    });
  });
  if (!later.empty()) m_->SnapshotsChanged(PoolOf(name));
  std::sort(remount.begin(), remount.end());  // parents before children
  for (const std::string& n : remount) {
    Status m = m_->Mount(n);
    if (st.ok() && !m.ok()) st = m;
  }
  return st;
}

// The mounted children of fs whose mount point is a directory of fs's mount that snapshot
// snap does not have as the same object (obj and generation): rolling back in place would
// take their mount point away.
Status DatasetOps::LostMountpoints(Pool& p, const std::string& fs, const std::string& snap,
                                   std::vector<std::string>* lost) {
  std::string top = m_->MountpointOf(fs);
  auto mounts = m_->List();
  auto under = [](const std::string& path, const std::string& dir) {
    return path.size() > dir.size() + 1 && path.compare(0, dir.size(), dir) == 0 &&
           path[dir.size()] == '/';
  };
  auto view = p.OpenSnapshotZpl(snap);
  if (!view.ok()) return view.status();
  for (const auto& [n, mp] : mounts) {
    if (n == fs || !under(mp, top)) continue;
    // On fs's own mount, not on another one below it.
    bool nested = false;
    for (const auto& [n2, mp2] : mounts)
      if (n2 != fs && n2 != n && under(mp2, top) && under(mp, mp2)) nested = true;
    if (nested) continue;
    std::string rel = mp.substr(top.size() + 1);
    uint64_t head_obj = 0, head_gen = 0, snap_obj = 0, snap_gen = 1;
    Status hs = p.WithZpl(fs, [&](ZplWriter& z, uint64_t) -> Status {
      uint64_t dir = z.root();
      for (size_t at = 0; at <= rel.size();) {
        size_t end = rel.find('/', at);
        if (end == std::string::npos) end = rel.size();
        UZFS_ASSIGN(dir, z.Lookup(dir, rel.substr(at, end - at)));
        at = end + 1;
      }
      UZFS_ASSIGN(ZnodePhys zp, z.GetAttr(dir));
      head_obj = dir;
      head_gen = zp.gen;
      return Status::Ok();
    });
    Status ss = p.WithSnapshotZpl(**view, [&](Zpl& z) -> Status {
      UZFS_ASSIGN(snap_obj, z.Lookup(rel));
      UZFS_ASSIGN(ZnodePhys zp, z.Stat(snap_obj));
      snap_gen = zp.gen;
      return Status::Ok();
    });
    if (!hs.ok() || !ss.ok() || head_obj != snap_obj || head_gen != snap_gen) lost->push_back(n);
  }
  return Status::Ok();
}

Status DatasetOps::Clone(const NvList& args, NvList*) {
  std::string origin = Str(args, "origin"), name = Str(args, "name");
  UZFS_TRY(CheckDatasetName(origin, true));
  UZFS_TRY(CheckDatasetName(name, false));
  if (origin.find('@') == std::string::npos)
    return Status::Error(EINVAL, "operation not applicable to datasets of this type");
  if (PoolOf(origin) != PoolOf(name))
    return Status::Error(EXDEV, "source and target pools differ");
  if (name.find('/') == std::string::npos) return Status::Error(EEXIST, "dataset already exists");
  auto props = StringMap(args.GetNvList("props"));
  uint64_t version = 0;
  UZFS_TRY(TakeZplVersion(&props, &version));
  for (auto& [k, v] : props) {
    DatasetPropValue pv;
    UZFS_TRY(EncodeDatasetProp(k, v, &pv));
  }
  std::vector<std::string> made;
  UZFS_TRY(WithPool(name, [&](Pool& p) -> Status {
    UZFS_ASSIGN(auto oprops, p.DatasetProps(origin));
    // A clone has its origin's version: zfs_valid_proplist refuses a lower one.
    for (const auto& pr : oprops)
      if (pr.name == "version" && version && version < std::stoull("0" + pr.value))
        return Status::Error(EINVAL, "Can not downgrade; already at version " + pr.value);
    UZFS_TRY(CheckZplVersion(version));
    if (p.DatasetProps(name).ok()) return Status::Error(EEXIST, "dataset already exists");
    UZFS_TRY(CreateParents(p, name, Flag(args, "parents"), &made, caller_.uid));
    auto [plain, special] = SplitSpecialProps(props);
    UZFS_TRY(p.Clone(origin, name, plain, caller_.uid));
    for (auto& [k, v] : special) UZFS_TRY(p.SetDatasetProp(name, k, v));
    made.push_back(name);
    return Finish(p, args);
  }));
  return MountMade(made);
}

Status DatasetOps::Promote(const NvList& args, NvList*) {
  std::string name = Str(args, "name");
  UZFS_TRY(CheckDatasetName(name, false));
  UZFS_TRY(WithPool(name, [&](Pool& p) -> Status {
    UZFS_TRY(p.DatasetProps(name).status());
    UZFS_TRY(p.Promote(name));
    return Finish(p, args);
  }));
  m_->SnapshotsChanged(PoolOf(name));  // the origin's older snapshots now belong to name
  return Status::Ok();
}

Status DatasetOps::Rename(const NvList& args, NvList*) {
  std::string from = Str(args, "name"), to = Str(args, "newname");
  bool snap = from.find('@') != std::string::npos;
  UZFS_TRY(CheckDatasetName(from, true));
  UZFS_TRY(CheckDatasetName(to, snap));
  if (snap != (to.find('@') != std::string::npos))
    return Status::Error(EINVAL, snap ? "snapshots can only be renamed to snapshots"
                                      : "filesystems can only be renamed to filesystems");
  if (PoolOf(from) != PoolOf(to)) return Status::Error(EXDEV, "datasets must be within same pool");
  if (snap) {
    std::string fs = from.substr(0, from.find('@'));
    if (to.substr(0, to.find('@')) != fs)
      return Status::Error(EINVAL, "snapshots must be part of same dataset");
    std::string a = from.substr(from.find('@')), b = to.substr(to.find('@'));
    Status st = WithPool(from, [&](Pool& p) -> Status {
      UZFS_TRY(p.DatasetProps(from).status());
      std::vector<std::pair<std::string, std::string>> moves{{from, to}};
      if (Flag(args, "recursive")) {
        UZFS_ASSIGN(auto ds, p.Datasets());
        for (const auto& d : ds)
          if (d.snapshot && d.name != from && IsUnder(d.name, fs) && d.name.size() > a.size() &&
              d.name.compare(d.name.size() - a.size(), a.size(), a) == 0)
            moves.emplace_back(d.name, d.name.substr(0, d.name.size() - a.size()) + b);
      }
      for (auto& [x, y] : moves)
        if (p.DatasetProps(y).ok()) return Status::Error(EEXIST, "dataset already exists");
      for (auto& [x, y] : moves) UZFS_TRY(p.Rename(x, y));
      return Finish(p, args);
    });
    m_->SnapshotsChanged(PoolOf(from));
    return st;
  }
  if (from.find('/') == std::string::npos)
    return Status::Error(EINVAL, "renaming the root dataset of a pool is not supported");
  if (IsUnder(to, from)) return Status::Error(EINVAL, "a filesystem cannot be renamed into itself");
  std::vector<std::string> was;
  for (auto& [fs, mp] : m_->List())
    if (IsUnder(fs, from)) was.push_back(fs);
  UZFS_TRY(WithPool(from, [&](Pool& p) -> Status {
    UZFS_TRY(p.DatasetProps(from).status());
    if (p.DatasetProps(to).ok()) return Status::Error(EEXIST, "dataset already exists");
    return Status::Ok();
  }));
  if (!was.empty() && !m_->UnmountTree(from, Flag(args, "force")).ok())
    return Status::Error(EBUSY, "dataset is busy");
  // A volume's device goes with its old name and comes back under the new one
  // (zvol_rename_minors), as the devices of volumes below a renamed filesystem.
  if (m_->volumes() && !m_->volumes()->RemoveTree(from, Flag(args, "force")).ok())
    return Status::Error(EBUSY, "dataset is busy");
  std::vector<std::string> made;
  Status st = WithPool(from, [&](Pool& p) -> Status {
    UZFS_TRY(CreateParents(p, to, Flag(args, "parents"), &made, caller_.uid));
    UZFS_TRY(p.Rename(from, to));
    return Finish(p, args);
  });
  for (const std::string& fs : made) (void)m_->MountIfAuto(fs);
  if (m_->volumes()) (void)m_->volumes()->AddPool(PoolOf(from));
  // What was mounted is mounted again, under its new name when the rename succeeded.
  for (const std::string& fs : was) {
    std::string now = st.ok() ? to + fs.substr(from.size()) : fs;
    (void)m_->Mount(now);
  }
  return st;
}

Status DatasetOps::Mount(const NvList& args, NvList* result) {
  std::string name = Str(args, "name");
  if (!name.empty()) {
    UZFS_TRY(CheckDatasetName(name, true));
    UZFS_TRY(WithPool(name, [&](Pool& p) { return p.DatasetProps(name).status(); }));
    UZFS_ASSIGN(MountTable::TempOptions t,
                MountTable::ParseTempOptions(Str(args, "options"), Flag(args, "sloppy")));
    const std::string at = Str(args, "at");
    if (Flag(args, "fake")) return Status::Ok();  // mount.zfs -f: checked, nothing mounted
    if (at.empty()) UZFS_TRY(m_->Mount(name, t));
    else UZFS_TRY(m_->MountAt(name, t, at, Flag(args, "zfsutil")));
  }
  m_->Prune();
  std::vector<NvList> out;
  for (auto& [fs, mp] : m_->List()) {
    NvList one;
    one.AddString("name", fs);
    one.AddString("mountpoint", mp);
    out.push_back(std::move(one));
  }
  result->AddNvListArray("mounts", std::move(out));
  return Status::Ok();
}

Status DatasetOps::Unmount(const NvList& args, NvList*) {
  return m_->Unmount(Str(args, "name"), Flag(args, "force"));
}

}  // namespace uzfs
