// zfs userspace / zfs groupspace (v23's pyzfs userspace.py, which zfs-fuse does not ship: its
// zfs_do_userspace falls back to a raw dump) and the name part of the
// {user,group}{used,quota}@ properties (libzfs_dataset.c userquota_propname_decode).
// Columns TYPE NAME USED QUOTA; types "POSIX User" / "POSIX Group" (uzfs has no SMB ids).
#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <map>

#include "cmd/zfs/zfs.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

namespace {

constexpr uint64_t kMaxUid = 2147483646;  // MAXUID

const char* const kPrefixes[4] = {"userused@", "userquota@", "groupused@", "groupquota@"};

std::string IdName(bool group, uint64_t id, bool numeric) {
  if (!numeric) {
    if (group) {
      if (struct group* g = getgrgid(static_cast<gid_t>(id))) return g->gr_name;
    } else if (struct passwd* p = getpwuid(static_cast<uid_t>(id))) {
      return p->pw_name;
    }
  }
  return std::to_string(id);
}

struct Row {
  std::string type, name;
  uint64_t used = 0, quota = 0;
  bool has_quota = false;
  uint64_t id = 0;
};

int RunUserspace(const Cmd& self, int argc, char** argv, bool groups) {
  CLI::App app;
  std::vector<std::string> args, fields_opt, sort_opt, rsort_opt, types_opt;
  bool scripted = false, numeric = false, parsable = false, translate = false;
  app.add_flag("-H", scripted);
  app.add_flag("-n", numeric);
  app.add_flag("-p", parsable);
  app.add_flag("-i", translate);  // SIDs to POSIX ids: there are no SIDs here
  app.add_option("-o", fields_opt)->allow_extra_args(false);
  app.add_option("-s", sort_opt)->allow_extra_args(false);
  app.add_option("-S", rsort_opt)->allow_extra_args(false);
  app.add_option("-t", types_opt)->allow_extra_args(false);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  // -s and -S keep their order across each other (zfs.util.append_field): taken from argv
  // in order, each checked against what the parser collected.
  std::vector<std::pair<bool, std::string>> sorts;
  {
    size_t si = 0, ri = 0;
    for (int i = 1; i < argc; i++) {
      std::string a = argv[i];
      if (a == "--") break;
      if (a.size() < 2 || a[0] != '-' || a[1] == '-') continue;
      for (size_t c = 1; c < a.size(); c++) {
        char o = a[c];
        if (o == 'o' || o == 't') break;  // their argument is the rest or the next word
        if (o != 's' && o != 'S') continue;
        if (o == 's' && si < sort_opt.size()) sorts.push_back({false, sort_opt[si++]});
        if (o == 'S' && ri < rsort_opt.size()) sorts.push_back({true, rsort_opt[ri++]});
        if (c + 1 == a.size()) i++;  // the argument is the next word
        break;
      }
    }
    for (; si < sort_opt.size(); si++) sorts.push_back({false, sort_opt[si]});
    for (; ri < rsort_opt.size(); ri++) sorts.push_back({true, rsort_opt[ri]});
  }
  if (args.size() != 1) return UsageError(self, "wrong number of arguments");
  const std::vector<std::string> all_fields = {"type", "name", "used", "quota"};
  std::vector<std::string> fields = all_fields;
  if (!fields_opt.empty()) {
    fields.clear();
    for (const std::string& o : fields_opt)
      for (const std::string& f : SplitComma(o)) {
        if (std::find(all_fields.begin(), all_fields.end(), f) == all_fields.end())
          return UsageError(self, "invalid field " + f);
        fields.push_back(f);
      }
  }
  for (const auto& [rev, f] : sorts)
    if (std::find(all_fields.begin(), all_fields.end(), f) == all_fields.end())
      return UsageError(self, "invalid field " + f);
  if (sorts.empty()) sorts = {{false, "type"}, {false, "name"}};
  bool want_user = !groups, want_group = groups;
  if (!types_opt.empty()) {
    want_user = want_group = false;
    for (const std::string& o : types_opt)
      for (const std::string& t : SplitComma(o)) {
        if (t == "all") want_user = want_group = true;
        else if (t == "posixuser") want_user = true;
        else if (t == "posixgroup") want_group = true;
        else if (t != "smbuser" && t != "smbgroup") return UsageError(self, "invalid type " + t);
      }
  }
  const std::string& name = args[0];
  auto tables = lzc::ZfsUserspace(name);
  if (!tables.ok()) {
    // The script opened the dataset first (zfs.dataset.Dataset): "cannot open" when absent.
    const Status& s = tables.status();
    if (s.code() == ENOENT) return Fail("cannot open '" + name + "': dataset does not exist");
    return Fail(libzfs::ErrorText("get used/quota for", name, s));
  }
  // (type, id) → row; a quota without any use still gets a row (used 0).
  std::map<std::pair<int, uint64_t>, Row> rows;
  for (int p = 0; p < 4; p++) {
    bool group = p >= 2, quota = p == 1 || p == 3;
    if (group ? !want_group : !want_user) continue;
    for (const auto& [id, v] : tables->props[p]) {
      Row& r = rows[{group ? 1 : 0, id}];
      r.type = group ? "POSIX Group" : "POSIX User";
      r.name = IdName(group, id, numeric);
      r.id = id;
      if (quota) {
        r.quota = v;
        r.has_quota = true;
      } else {
        r.used = v;
      }
    }
  }
  std::vector<Row> list;
  for (auto& [k, r] : rows) list.push_back(r);
  auto cmp = [&](const Row& a, const Row& b) {
    for (const auto& [rev, f] : sorts) {
      int c = 0;
      if (f == "type") c = a.type.compare(b.type);
      else if (f == "name") c = numeric ? (a.id < b.id ? -1 : a.id > b.id) : a.name.compare(b.name);
      else if (f == "used") c = a.used < b.used ? -1 : a.used > b.used;
      else c = a.quota < b.quota ? -1 : a.quota > b.quota;
      if (c) return rev ? c > 0 : c < 0;
    }
    return false;
  };
  std::stable_sort(list.begin(), list.end(), cmp);
  std::vector<std::vector<std::string>> table;
  if (!scripted) {
    std::vector<std::string> h;
    for (std::string f : fields) {
      std::transform(f.begin(), f.end(), f.begin(), ::toupper);
      h.push_back(f);
    }
    table.push_back(h);
  }
  auto num = [&](uint64_t v) { return parsable ? std::to_string(v) : libzfs::NiceNum(v); };
  for (const Row& r : list) {
    std::vector<std::string> line;
    for (const std::string& f : fields) {
      if (f == "type") line.push_back(r.type);
      else if (f == "name") line.push_back(r.name);
      else if (f == "used") line.push_back(num(r.used));
      else line.push_back(r.has_quota ? num(r.quota) : "none");
    }
    table.push_back(line);
  }
  PrintTable(table, scripted, [&](size_t i) { return fields[i] == "used" || fields[i] == "quota"; });
  return kExitOk;
}

int RunUser(const Cmd& self, int argc, char** argv) { return RunUserspace(self, argc, argv, false); }
int RunGroup(const Cmd& self, int argc, char** argv) { return RunUserspace(self, argc, argv, true); }

const char* const kOptions =
    "    -H              no header, fields separated by tabs\n"
    "    -i              translate SIDs to POSIX ids (no effect: there are no SIDs)\n"
    "    -n              numeric ids instead of user or group names\n"
    "    -p              exact numbers\n"
    "    -o field[,...]  type, name, used, quota\n"
    "    -s field        sort by field, ascending (repeatable)\n"
    "    -S field        sort by field, descending (repeatable)\n"
    "    -t type[,...]   posixuser, smbuser, posixgroup, smbgroup or all\n"
    "    --help          print this message\n";

}  // namespace

int DecodeUserProp(const std::string& prop, int* type, uint64_t* id) {
  *type = -1;
  for (int t = 0; t < 4; t++)
    if (prop.rfind(kPrefixes[t], 0) == 0) *type = t;
  if (*type < 0) return EINVAL;
  bool group = *type >= 2;
  std::string who = prop.substr(prop.find('@') + 1);
  // "user@domain" (a SID name) and "S-1-..." (a numeric SID): SMB identities, which
  // zfs-fuse's libzfs cannot map either.
  if (who.find('@') != std::string::npos) return ENOENT;
  if (who.rfind("S-1-", 0) == 0) return ENOENT;
  if (who.empty()) return EINVAL;
  if (!std::isdigit(static_cast<unsigned char>(who[0]))) {
    if (group) {
      struct group* g = getgrnam(who.c_str());
      if (!g) return ENOENT;
      *id = g->gr_gid;
    } else {
      struct passwd* p = getpwnam(who.c_str());
      if (!p) return ENOENT;
      *id = p->pw_uid;
    }
    return 0;
  }
  char* end = nullptr;
  unsigned long long v = std::strtoull(who.c_str(), &end, 10);
  if (*end != '\0') return EINVAL;
  if (v > kMaxUid) return ENOENT;  // an ephemeral id: no idmap here
  *id = v;
  return 0;
}

bool IsUserSpaceProp(const std::string& prop) {
  for (const char* p : kPrefixes)
    if (prop.rfind(p, 0) == 0) return true;
  return false;
}

const Cmd kUserspace = {"userspace",
                        {"userspace [-Hinp] [-o field[,...]] [-s field]... [-S field]... "
                         "[-t type[,...]] filesystem|snapshot"},
                        kOptions, RunUser};
const Cmd kGroupspace = {"groupspace",
                         {"groupspace [-Hinp] [-o field[,...]] [-s field]... [-S field]... "
                          "[-t type[,...]] filesystem|snapshot"},
                         kOptions, RunGroup};

}  // namespace uzfs::zfs
