// zfs allow / zfs unallow (delegated administration, pool version 15). v23's were a Python
// script (pyzfs allow.py) zfs-fuse does not ship; these follow OpenZFS's zfs_main.c, which
// took over its arguments and output: zfs_do_allow_unallow_impl, parse_allow_args,
// construct_fsacl_list / store_allow_perm (the whokeys of libcore/dsl/dsl_deleg.h) and
// print_fs_perms for `zfs allow FS`.
#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "cmd/zfs/zfs.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

namespace {

struct AllowOpts {
  bool local = false, descend = false, user = false, group = false, everyone = false, create = false,
       set = false, recursive = false, print = false;
  std::string who, dataset;
  std::optional<std::string> perms;
};

// munge_args: the permissions (absent for unallow with one argument fewer) and the dataset.
bool Munge(const std::vector<std::string>& args, size_t expected, bool un, AllowOpts* o) {
  if (un && args.size() == expected - 1) {
    o->perms.reset();
  } else if (args.size() == expected) {
    o->perms = args[args.size() - 2];
  } else {
    return false;
  }
  o->dataset = args.back();
  return true;
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t c = s.find(',', start);
    if (c == std::string::npos) c = s.size();
    if (c > start) out.push_back(s.substr(start, c - start));
    start = c + 1;
  }
  return out;
}

// store_allow_perm: the whokeys of one who (type: u, g, e, c or s) into acl.
void StorePerms(char type, const AllowOpts& o, const std::string& who, NvList* acl) {
  char set_type = static_cast<char>(std::toupper(static_cast<unsigned char>(type)));
  std::string ld;
  if (type == 'c' || type == 's') {
    ld = "-";
  } else {
    if (o.local) ld += 'l';
    if (o.descend) ld += 'd';
  }
  if (!o.perms) {  // unallow without permissions: everything the who has
    for (char l : ld) {
      acl->AddBoolean(std::string{type, l, '$'} + who);
      acl->AddBoolean(std::string{set_type, l, '$'} + who);
    }
    return;
  }
  NvList base, sets;
  for (const std::string& p : SplitComma(*o.perms)) (p[0] == '@' ? sets : base).AddBoolean(p);
  for (char l : ld) {
    if (!base.empty()) acl->AddNvList(std::string{type, l, '$'} + who, base);
    if (!sets.empty()) acl->AddNvList(std::string{set_type, l, '$'} + who, sets);
  }
}

// construct_fsacl_list. Returns false with *err set for a user or group that does not exist.
bool BuildAcl(const AllowOpts& o, NvList* acl, std::string* err) {
  if (o.set) {
    StorePerms('s', o, o.who, acl);
    return true;
  }
  if (o.create) {
    StorePerms('c', o, "", acl);
    return true;
  }
  if (o.everyone) {
    StorePerms('e', o, "", acl);
    return true;
  }
  for (const std::string& w : SplitComma(o.who)) {
    char* end = nullptr;
    long rid = std::strtol(w.c_str(), &end, 0);
    bool numeric = end && *end == '\0';
    struct passwd* pw = nullptr;
    struct group* gr = nullptr;
    char type = 'u';
    uint64_t id = static_cast<uint64_t>(rid);
    if (o.user || (!o.group)) pw = numeric ? getpwuid(static_cast<uid_t>(rid)) : getpwnam(w.c_str());
    if (o.group || (!o.user && !pw)) gr = numeric ? getgrgid(static_cast<gid_t>(rid)) : getgrnam(w.c_str());
    if (o.user) {
      if (pw) id = pw->pw_uid;
      else if (!numeric) return *err = "invalid user " + w, false;
    } else if (o.group) {
      type = 'g';
      if (gr) id = gr->gr_gid;
      else if (!numeric) return *err = "invalid group " + w, false;
    } else if (pw) {
      id = pw->pw_uid;
    } else if (gr) {
      type = 'g';
      id = gr->gr_gid;
    } else {
      return *err = "invalid user/group " + w, false;
    }
    StorePerms(type, o, std::to_string(id), acl);
  }
  return true;
}

// print_fs_perms: one section per dataset, its sets and create-time permissions, then the
// user, group and everyone grants by locality.
void PrintPerms(const NvList& all) {
  for (const auto& fs : all.pairs()) {
    if (fs.value.type != NvType::kNvList) continue;
    std::string head = "---- Permissions on " + fs.name + " ";
    std::cout << head << std::string(head.size() < 70 ? 70 - head.size() : 0, '-') << "\n";
    // who_perm_compare: by type (sets, create, user, group, everyone), then the raw name.
    auto weight = [](char t) {
      switch (t) {
        case 's': case 'S': return 0;
        case 'c': case 'C': return 1;
        case 'u': case 'U': return 2;
        case 'g': case 'G': return 3;
        default: return 4;
      }
    };
    struct Who {
      char type;
      std::map<std::string, std::pair<bool, bool>> perms;  // name → (local, descendant)
    };
    std::map<std::pair<int, std::string>, Who> sc, uge;
    for (const auto& w : fs.value.lists.at(0).pairs()) {
      if (w.name.size() < 3 || w.value.type != NvType::kNvList) continue;
      int wt = weight(w.name[0]);
      auto& tree = wt <= 1 ? sc : uge;
      Who& who = tree.try_emplace({wt, w.name.substr(3)}, Who{w.name[0], {}}).first->second;
      for (const auto& p : w.value.lists.at(0).pairs()) {
        auto& f = who.perms[p.name];
        if (w.name[1] == 'l') f.first = true;
        if (w.name[1] == 'd') f.second = true;
      }
    }
    int prev = -1;
    for (const auto& [key, who] : sc) {
      if (key.first != prev) std::cout << (key.first == 0 ? "Permission sets:\n" : "Create time permissions:\n");
      prev = key.first;
      std::cout << "\t" << (key.second.empty() ? "" : key.second + " ");
      bool first = true;
      for (const auto& [perm, f] : who.perms) std::cout << (first ? "" : ",") << perm, first = false;
      std::cout << "\n";
    }
    auto section = [&](bool local, bool descend, const char* title) {
      bool titled = false;
      for (const auto& [key, who] : uge) {
        std::string line;
        for (const auto& [perm, f] : who.perms)
          if (f.first == local && f.second == descend) line += (line.empty() ? " " : ",") + perm;
        if (line.empty()) continue;
        if (!titled) std::cout << title, titled = true;
        uint64_t id = std::strtoull(key.second.c_str(), nullptr, 10);
        std::string nice = "(unknown: " + key.second + ")";
        if (key.first == 2) {
          if (struct passwd* pw = getpwuid(static_cast<uid_t>(id))) nice = pw->pw_name;
          std::cout << "\tuser " << nice << line << "\n";
        } else if (key.first == 3) {
          if (struct group* gr = getgrgid(static_cast<gid_t>(id))) nice = gr->gr_name;
          std::cout << "\tgroup " << nice << line << "\n";
        } else {
          std::cout << "\teveryone" << line << "\n";
        }
      }
    };
    section(true, false, "Local permissions:\n");
    section(false, true, "Descendent permissions:\n");
    section(true, true, "Local+Descendent permissions:\n");
  }
}

int AllowUnallow(const Cmd& self, int argc, char** argv, bool un) {
  CLI::App app;
  std::vector<std::string> args;
  AllowOpts o;
  app.add_flag("-l", o.local);
  app.add_flag("-d", o.descend);
  app.add_flag("-u", o.user);
  app.add_flag("-g", o.group);
  app.add_flag("-e", o.everyone);
  app.add_flag("-c", o.create);
  app.add_flag("-s", o.set);
  if (un) app.add_flag("-r", o.recursive);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  // parse_allow_args.
  int uge = o.user + o.group + o.everyone;
  int csuge = o.create + o.set + uge;
  int ldcsuge = csuge + o.local + o.descend;
  if (uge > 1) return UsageError(self, "-u, -g, and -e are mutually exclusive");
  const char* wrong = "wrong number of parameters";
  if (o.set) {
    if (csuge > 1) return UsageError(self, "invalid options combined with -s");
    if (!Munge(args, 3, un, &o)) return UsageError(self, wrong);
    if (args[0][0] != '@') return UsageError(self, "invalid set name: missing '@' prefix");
    o.who = args[0];
  } else if (o.create) {
    if (ldcsuge > 1) return UsageError(self, "invalid options combined with -c");
    if (!Munge(args, 2, un, &o)) return UsageError(self, wrong);
  } else if (o.everyone) {
    if (csuge > 1) return UsageError(self, "invalid options combined with -e");
    if (!Munge(args, 2, un, &o)) return UsageError(self, wrong);
  } else if (uge == 0 && !args.empty() && args[0] == "everyone") {
    o.everyone = true;
    args.erase(args.begin());
    if (!Munge(args, 2, un, &o)) return UsageError(self, wrong);
  } else if (args.size() == 1 && !un) {
    o.print = true;
    o.dataset = args[0];
  } else {
    if (!Munge(args, 3, un, &o)) return UsageError(self, wrong);
    o.who = args[0];
  }
  if (!o.local && !o.descend) o.local = o.descend = true;

  // zfs_open(ZFS_TYPE_FILESYSTEM | ZFS_TYPE_VOLUME).
  auto ds = FetchDatasets({o.dataset}, o.recursive, -1);
  if (!ds.ok()) return FetchFailed({o.dataset}, ds.status());
  if (o.dataset.find('@') != std::string::npos)
    return Fail("cannot open '" + o.dataset + "': operation not applicable to datasets of this type");
  if (o.print) {
    auto acl = lzc::ZfsGetAcl(o.dataset);
    if (!acl.ok()) return Fail(libzfs::ErrorText("get permissions on", o.dataset, acl.status()));
    PrintPerms(*acl);
    return kExitOk;
  }
  NvList acl;
  std::string err;
  if (!BuildAcl(o, &acl, &err)) return UsageError(self, err);
  // unallow -r: the dataset, then every descendant filesystem and volume.
  std::vector<std::string> targets{o.dataset};
  if (o.recursive) {
    SortByName(&*ds);
    for (const Dataset& d : *ds)
      if (d.name != o.dataset && d.type != "snapshot") targets.push_back(d.name);
  }
  for (const std::string& t : targets) {
    Status s = lzc::ZfsSetAcl(t, un, acl);
    if (!s.ok()) return Fail(libzfs::ErrorText("set permissions on", t, s));
  }
  return kExitOk;
}

int RunAllow(const Cmd& self, int argc, char** argv) { return AllowUnallow(self, argc, argv, false); }
int RunUnallow(const Cmd& self, int argc, char** argv) { return AllowUnallow(self, argc, argv, true); }

}  // namespace

const Cmd kAllow = {"allow",
                    {"allow filesystem|volume",
                     "allow [-ldug] everyone|user|group[,...] perm|@setname[,...] filesystem|volume",
                     "allow [-ld] -e perm|@setname[,...] filesystem|volume",
                     "allow -c perm|@setname[,...] filesystem|volume",
                     "allow -s @setname perm|@setname[,...] filesystem|volume"},
                    "    -l      on the dataset itself (local)\n"
                    "    -d      on its descendants (neither -l nor -d: both)\n"
                    "    -u      the names are users\n"
                    "    -g      the names are groups\n"
                    "    -e      to everyone\n"
                    "    -c      create-time permissions: given to who creates a descendant\n"
                    "    -s      define or add to the permission set @setname\n"
                    "    --help  print this message\n",
                    RunAllow};

const Cmd kUnallow = {"unallow",
                      {"unallow [-rldug] everyone|user|group[,...] [perm|@setname[,...]] filesystem|volume",
                       "unallow [-rld] -e [perm|@setname[,...]] filesystem|volume",
                       "unallow [-r] -c [perm|@setname[,...]] filesystem|volume",
                       "unallow [-r] -s @setname [perm|@setname[,...]] filesystem|volume"},
                      "    -r      from every descendant filesystem and volume too\n"
                      "    -l      the local grants\n"
                      "    -d      the descendant grants (neither -l nor -d: both)\n"
                      "    -u      the names are users\n"
                      "    -g      the names are groups\n"
                      "    -e      everyone's\n"
                      "    -c      create-time permissions\n"
                      "    -s      from the permission set @setname\n"
                      "    --help  print this message\n",
                      RunUnallow};

}  // namespace uzfs::zfs
