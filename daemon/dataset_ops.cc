#include "daemon/dataset_ops.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "libcore/pool/pool_props.h"

namespace uzfs {

namespace {

std::string Str(const NvList& nv, const char* name) {
  const std::string* s = nv.GetString(name);
  return s ? *s : std::string();
}

bool Flag(const NvList& nv, const char* name) {
  const NvValue* v = nv.Find(name);
  return v && (v->type == NvType::kBoolean || v->u != 0);
}

std::map<std::string, std::string> StringMap(const NvList* nv) {
  std::map<std::string, std::string> m;
  if (!nv) return m;
  for (const auto& p : nv->pairs())
    if (p.value.type == NvType::kString) m[p.name] = p.value.s;
  return m;
}

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
  for (auto& [k, v] : props) {
    DatasetPropValue pv;
    UZFS_TRY(EncodeDatasetProp(k, v, &pv));
  }
  bool parents = Flag(args, "parents");
  std::vector<std::string> made;
  UZFS_TRY(WithPool(name, [&](Pool& p) -> Status {
    auto exists = [&](const std::string& n) { return p.DatasetProps(n).ok(); };
    if (exists(name)) return Status::Error(EEXIST, "dataset already exists");
    std::vector<std::string> chain;
    for (size_t s = name.find('/'); s != std::string::npos; s = name.find('/', s + 1))
      chain.push_back(name.substr(0, s));
    for (const std::string& a : chain) {
      if (exists(a)) continue;
      if (!parents) return Status::Error(ENOENT, "parent does not exist");
      UZFS_TRY(p.CreateFilesystem(a, {}));
      made.push_back(a);
    }
    UZFS_TRY(p.CreateFilesystem(name, props));
    made.push_back(name);
    return Finish(p, args);
  }));
  // zfs create mounts what it made; a failed mount is reported, the filesystem stays.
  for (const std::string& fs : made) {
    Status s = m_->MountPool(PoolOf(fs));
    if (!s.ok()) return Status::Error(s.code(), "filesystem successfully created, but not mounted\n" + s.message());
  }
  return Status::Ok();
}

Status DatasetOps::Destroy(const NvList& args, NvList* result) {
  std::string name = Str(args, "name");
  UZFS_TRY(CheckDatasetName(name, true));
  bool recursive = Flag(args, "recursive") || Flag(args, "dependents");
  bool dryrun = Flag(args, "dryrun"), force = Flag(args, "force");
  if (name.find_first_of("/@") == std::string::npos && !recursive)
    return Status::Error(EINVAL, "operation does not apply to pools\nuse 'zfs destroy -r " + name +
                                     "' to destroy all datasets in the pool\nuse 'zpool destroy " +
                                     name + "' to destroy the pool itself");
  std::vector<std::string> doomed;
  UZFS_TRY(WithPool(name, [&](Pool& p) -> Status {
    UZFS_TRY(p.DatasetProps(name).status());
    UZFS_ASSIGN(auto all, p.Datasets());
    std::vector<std::string> below;
    for (const auto& d : all)
      if (d.name != name && IsUnder(d.name, name)) below.push_back(d.name);
    if (!below.empty() && !recursive) {
      std::string list;
      for (auto& b : below) list += "\n" + b;
      bool kids = std::any_of(below.begin(), below.end(), [&](const std::string& b) {
        return b.find('@', name.size()) != name.size();
      });
      return Status::Error(EEXIST, std::string(kids ? "filesystem has children" : "filesystem has dependent snapshots") +
                                       "\nuse '-r' to destroy the following datasets:" + list);
    }
    // Deepest first; a filesystem's snapshots before the filesystem.
    doomed = below;
    std::sort(doomed.begin(), doomed.end(), [](const std::string& a, const std::string& b) {
      size_t da = std::count(a.begin(), a.end(), '/'), db = std::count(b.begin(), b.end(), '/');
      if (da != db) return da > db;
      bool sa = a.find('@') != std::string::npos, sb = b.find('@') != std::string::npos;
      if (a.substr(0, a.find('@')) != b.substr(0, b.find('@'))) return a < b;
      return sa > sb;
    });
    if (name.find_first_of("/@") != std::string::npos) doomed.push_back(name);
    return Status::Ok();
  }));
  result->AddStringArray("destroyed", doomed);
  if (dryrun) return Status::Ok();
  for (const std::string& d : doomed)
    if (d.find('@') == std::string::npos) {
      Status s = m_->UnmountTree(d, force);
      if (!s.ok()) return Status::Error(EBUSY, "dataset is busy");
    }
  return WithPool(name, [&](Pool& p) -> Status {
    for (const std::string& d : doomed) {
      if (d.find('@') != std::string::npos)
        return Status::Error(ENOTSUP, "destroying snapshots is not supported yet");
      UZFS_TRY(p.DestroyFilesystem(d));
    }
    return Finish(p, args);
  });
}

Status DatasetOps::List(const NvList& args, NvList* result) {
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
        NvList one, pl;
        one.AddString("name", d.name);
        one.AddString("type", d.snapshot ? "snapshot" : "filesystem");
        for (auto& pr : props) {
          NvList v;
          std::string value = pr.value;
          if (pr.name == "mounted") value = m_->Mounted(d.name) ? "yes" : "no";
          v.AddString("value", value);
          v.AddString("source", pr.source);
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

Status DatasetOps::Set(const NvList& args, NvList*) {
  std::string name = Str(args, "name");
  UZFS_TRY(CheckDatasetName(name, true));
  auto props = StringMap(args.GetNvList("props"));
  if (props.empty()) return Status::Error(EINVAL, "missing property=value argument");
  bool remount = false;
  for (auto& [k, v] : props)
    if (k == "mountpoint" || k == "canmount" || k == "readonly" || k == "atime") remount = true;
  std::vector<std::string> was;
  if (remount) {
    for (auto& [fs, mp] : m_->List())
      if (IsUnder(fs, name)) was.push_back(fs);
    UZFS_TRY(WithPool(name, [&](Pool& p) { return p.DatasetProps(name).status(); }));
    if (Status s = m_->UnmountTree(name, false); !s.ok()) return s;
  }
  Status set = WithPool(name, [&](Pool& p) -> Status {
    for (auto& [k, v] : props) UZFS_TRY(p.SetDatasetProp(name, k, v));
    return Finish(p, args);
  });
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
  bool remount = prop == "mountpoint" || prop == "canmount" || prop == "readonly" || prop == "atime";
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
    for (const std::string& t : targets) UZFS_TRY(p.InheritDatasetProp(t, prop));
    return Finish(p, args);
  });
  if (remount) {
    for (const std::string& fs : was) (void)m_->Mount(fs);
    (void)m_->MountPool(PoolOf(name));
  }
  return st;
}

Status DatasetOps::Snapshot(const NvList&, NvList*) {
  return Status::Error(ENOTSUP, "snapshots are not supported yet");
}
Status DatasetOps::Rollback(const NvList&, NvList*) {
  return Status::Error(ENOTSUP, "rollback is not supported yet");
}
Status DatasetOps::Clone(const NvList&, NvList*) {
  return Status::Error(ENOTSUP, "clones are not supported yet");
}
Status DatasetOps::Promote(const NvList&, NvList*) {
  return Status::Error(ENOTSUP, "promote is not supported yet");
}
Status DatasetOps::Rename(const NvList&, NvList*) {
  return Status::Error(ENOTSUP, "rename is not supported yet");
}

Status DatasetOps::Mount(const NvList& args, NvList* result) {
  std::string name = Str(args, "name");
  if (!name.empty()) {
    UZFS_TRY(CheckDatasetName(name, true));
    UZFS_TRY(WithPool(name, [&](Pool& p) { return p.DatasetProps(name).status(); }));
    UZFS_TRY(m_->Mount(name, Flag(args, "readonly")));
  }
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
