// zfs get (zfs_do_get): properties with their sources; -r/-d recursion, -H for scripts,
// -p exact numbers, -o fields, -s sources, -t types.
#include <algorithm>
#include <iostream>
#include <optional>
#include <set>

#include "cmd/zfs/zfs.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

static std::string SourceClass(const std::string& src) {  // "received" stays itself
  if (src == "-") return "none";
  if (src.rfind("inherited from ", 0) == 0) return "inherited";
  return src;  // default, local, temporary
}

static int RunGet(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args, fields_opt, sources_opt, types_opt;
  bool scripted = false, parsable = false, recursive = false;
  int64_t depth = -1;
  app.add_flag("-H", scripted);
  app.add_flag("-p", parsable);
  app.add_flag("-r", recursive);
  app.add_option("-d", depth);
  app.add_option("-o", fields_opt)->allow_extra_args(false);
  app.add_option("-s", sources_opt)->allow_extra_args(false);
  app.add_option("-t", types_opt)->allow_extra_args(false);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing property argument");
  std::vector<std::string> fields = {"name", "property", "value", "source"};
  if (!fields_opt.empty()) {
    fields.clear();
    for (const std::string& o : fields_opt)
      for (const std::string& f : SplitComma(o)) {
        if (f == "all") {
          fields = {"name", "property", "value", "received", "source"};
          continue;
        }
        if (f != "name" && f != "property" && f != "value" && f != "received" && f != "source")
          return UsageError(self, "invalid field '" + f + "'");
        fields.push_back(f);
      }
  }
  std::set<std::string> sources;
  for (const std::string& o : sources_opt)
    for (const std::string& s : SplitComma(o)) {
      if (s != "local" && s != "default" && s != "inherited" && s != "temporary" &&
          s != "received" && s != "none")
        return UsageError(self, "invalid source '" + s + "'");
      sources.insert(s);
    }
  bool want_fs = true, want_snap = true, want_vol = true;
  int rc = 0;
  if (!ParseTypes(self, types_opt, &want_fs, &want_snap, &want_vol, &rc)) return rc;
  bool all = false;
  std::vector<std::string> props;
  for (const std::string& p : SplitComma(args[0])) {
    if (p == "all") {
      all = true;
      continue;
    }
    std::string name = Canonical(p);
    if (!ValidPropName(name) && !IsUserSpaceProp(name)) {
      std::cerr << "bad property list: invalid property '" << p << "'\n";
      return UsageError(self, "");
    }
    props.push_back(name);
  }
  std::vector<std::string> names(args.begin() + 1, args.end());
  if (!PathsToNames(&names)) return kExitError;
  auto ds = FetchDatasets(names, recursive || names.empty(), depth);
  if (!ds.ok()) return FetchFailed(names, ds.status());
  SortByName(&*ds);
  std::vector<std::vector<std::string>> table;
  if (!scripted) {
    std::vector<std::string> h;
    for (const std::string& f : fields) {
      std::string u = f;
      std::transform(u.begin(), u.end(), u.begin(), ::toupper);
      h.push_back(u);
    }
    table.push_back(h);
  }
  for (const Dataset& d : *ds) {
    if (!WantType(d, want_fs, want_snap, want_vol)) continue;
    std::vector<std::string> want = props;
    if (all) {
      want.clear();
      for (const std::string& n : NativeProps())
        if (d.props.count(n)) want.push_back(n);
      for (const auto& [n, v] : d.props)
        if (n.find(':') != std::string::npos) want.push_back(n);
    }
    std::optional<Result<lzc::UserSpaceTables>> space;  // fetched once per dataset
    for (const std::string& p : want) {
      if (IsUserSpaceProp(p)) {
        // zfs_prop_get_userquota: "none" for an unset quota; "-" when it cannot be read.
        int type;
        uint64_t id = 0;
        std::string value = "-", source = "-";
        if (DecodeUserProp(p, &type, &id) == 0) {
          if (!space) space = lzc::ZfsUserspace(d.name);
          if (space->ok()) {
            auto& m = (*space)->props[type];
            uint64_t v = m.count(id) ? m.at(id) : 0;
            value = parsable ? std::to_string(v)
                    : (v == 0 && (type == 1 || type == 3)) ? "none" : libzfs::NiceNum(v);
            source = "local";
          }
        }
        if (!sources.empty() && !sources.count(SourceClass(source))) continue;
        std::vector<std::string> line;
        for (const std::string& f : fields) {
          if (f == "name") line.push_back(d.name);
          else if (f == "property") line.push_back(p);
          else if (f == "value") line.push_back(value);
          else if (f == "received") line.push_back("-");
          else line.push_back(source);
        }
        table.push_back(line);
        continue;
      }
      auto it = d.props.find(p);
      if (p == "name") {
        it = d.props.end();
      }
      // A property that does not apply (or an unset user property): "-" and source "-".
      std::string value = p == "name" ? d.name : it == d.props.end() ? "-" : Format(p, it->second.value, parsable);
      std::string source = it == d.props.end() ? "-" : it->second.source;
      if (!sources.empty() && !sources.count(SourceClass(source))) continue;
      std::vector<std::string> line;
      for (const std::string& f : fields) {
        if (f == "name") line.push_back(d.name);
        else if (f == "property") line.push_back(p);
        else if (f == "value") line.push_back(value);
        else if (f == "received")  // zfs_prop_get_recvd
          line.push_back(it == d.props.end() || it->second.received == "-" ? "-" : Format(p, it->second.received, parsable));
        else line.push_back(source);
      }
      table.push_back(line);
    }
  }
  PrintTable(table, scripted, [](size_t) { return false; });
  return kExitOk;
}

const Cmd kGet = {"get",
                  {"get [-rHp] [-d max] [-o field[,field]...] [-s source[,source]...] "
                   "[-t type[,type]...] all|property[,property]... [filesystem|snapshot]..."},
                  "    -r                   descendants too\n"
                  "    -d max               descendants at most max levels down\n"
                  "    -H                   no header, fields separated by tabs\n"
                  "    -p                   exact numbers\n"
                  "    -o field[,field]     name, property, value, received, source (or all)\n"
                  "    -s source[,source]   local, default, inherited, temporary, received, none\n"
                  "    -t type[,type]       filesystem, snapshot or all\n"
                  "    --help               print this message\n",
                  RunGet};

}  // namespace uzfs::zfs
