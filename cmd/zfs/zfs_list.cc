// zfs list (zfs_do_list): datasets as a table (-H for scripts, -p exact numbers, -o columns,
// -s/-S sort keys, -t types, -r/-d recursion) or JSON (-j, OpenZFS 2.3's layout).
#include <algorithm>
#include <iostream>

#include "cmd/zfs/zfs.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

namespace {

std::string SourceType(const std::string& src) {
  if (src == "-") return "NONE";
  if (src == "default") return "DEFAULT";
  if (src == "local") return "LOCAL";
  if (src == "temporary") return "TEMPORARY";
  if (src.rfind("inherited from ", 0) == 0) return "INHERITED";
  return "NONE";
}

void PrintJson(const std::vector<Dataset>& ds, const std::vector<std::string>& cols, bool parsable) {
  using libzfs::JsonString;
  std::cout << "{\"output_version\": {\"command\": \"zfs list\", \"vers_major\": 0, \"vers_minor\": 1}, "
               "\"datasets\": {";
  bool first = true;
  for (const Dataset& d : ds) {
    if (!first) std::cout << ", ";
    first = false;
    std::string type = d.type == "snapshot" ? "SNAPSHOT" : d.type == "volume" ? "VOLUME" : "FILESYSTEM";
    std::cout << JsonString(d.name) << ": {\"name\": " << JsonString(d.name)
              << ", \"type\": " << JsonString(type)
              << ", \"pool\": " << JsonString(d.name.substr(0, d.name.find_first_of("/@")))
              << ", \"createtxg\": " << JsonString(d.Get("createtxg"));
    if (d.type == "snapshot") {
      std::cout << ", \"dataset\": " << JsonString(d.name.substr(0, d.name.find('@')))
                << ", \"snapshot_name\": " << JsonString(d.name.substr(d.name.find('@') + 1));
    }
    std::cout << ", \"properties\": {";
    bool pf = true;
    for (const std::string& c : cols) {
      if (c == "name") continue;
      if (!pf) std::cout << ", ";
      pf = false;
      auto it = d.props.find(c);
      std::string src = it == d.props.end() ? "-" : it->second.source;
      std::string data = src.rfind("inherited from ", 0) == 0 ? src.substr(15) : "-";
      std::cout << JsonString(c) << ": {\"value\": " << JsonString(Format(c, d.Get(c), parsable))
                << ", \"source\": {\"type\": " << JsonString(SourceType(src))
                << ", \"data\": " << JsonString(data) << "}}";
    }
    std::cout << "}}";
  }
  std::cout << "}}\n";
}

}  // namespace

static int RunList(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args, cols_opt, sort_up, sort_down, types_opt;
  bool scripted = false, parsable = false, recursive = false, json = false;
  int64_t depth = -1;
  app.add_flag("-H", scripted);
  app.add_flag("-p", parsable);
  app.add_flag("-r", recursive);
  app.add_flag("-j", json);
  app.add_option("-d", depth);
  app.add_option("-o", cols_opt)->allow_extra_args(false);
  app.add_option("-s", sort_up)->allow_extra_args(false);
  app.add_option("-S", sort_down)->allow_extra_args(false);
  app.add_option("-t", types_opt)->allow_extra_args(false);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  std::vector<std::string> cols = {"name", "used", "available", "referenced", "mountpoint"};
  if (!cols_opt.empty()) {
    cols.clear();
    for (const std::string& o : cols_opt)
      for (const std::string& c : SplitComma(o)) {
        std::string name = Canonical(c);
        if (name == "all") {
          for (const std::string& n : NativeProps()) cols.push_back(n);
          continue;
        }
        if (!ValidPropName(name)) return UsageError(self, "invalid property '" + c + "'");
        cols.push_back(name);
      }
  }
  bool want_fs = true, want_snap = false, want_vol = true;
  int rc = 0;
  if (!ParseTypes(self, types_opt, &want_fs, &want_snap, &want_vol, &rc)) return rc;
  if (!PathsToNames(&args)) return kExitError;
  // Snapshots named on the command line are listed whatever -t says (as OpenZFS does).
  for (const std::string& a : args)
    if (a.find('@') != std::string::npos && types_opt.empty()) want_snap = true;
  auto ds = FetchDatasets(args, recursive, depth);
  if (!ds.ok()) return FetchFailed(args, ds.status());
  std::vector<Dataset> rows;
  for (Dataset& d : *ds)
    if (WantType(d, want_fs, want_snap, want_vol)) rows.push_back(std::move(d));
  SortByName(&rows);
  auto key_less = [&](const std::string& k, const Dataset& a, const Dataset& b) {
    std::string x = a.Get(k), y = b.Get(k);
    if (IsNumericProp(k) || k == "compressratio") {
      double dx = x == "-" ? -1 : std::stod(x), dy = y == "-" ? -1 : std::stod(y);
      return dx < dy;
    }
    return x < y;
  };
  std::vector<std::pair<std::string, bool>> keys;  // (property, descending)
  for (const std::string& s : sort_up)
    for (const std::string& k : SplitComma(s)) keys.emplace_back(Canonical(k), false);
  for (const std::string& s : sort_down)
    for (const std::string& k : SplitComma(s)) keys.emplace_back(Canonical(k), true);
  for (auto& [k, desc] : keys)
    if (!ValidPropName(k)) return UsageError(self, "invalid property '" + k + "'");
  if (!keys.empty())
    std::stable_sort(rows.begin(), rows.end(), [&](const Dataset& a, const Dataset& b) {
      for (auto& [k, desc] : keys) {
        if (key_less(k, a, b)) return !desc;
        if (key_less(k, b, a)) return desc;
      }
      return false;
    });
  if (json) {
    PrintJson(rows, cols, parsable);
    return kExitOk;
  }
  if (rows.empty() && !scripted && args.empty()) {
    std::cout << "no datasets available\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> table;
  if (!scripted) {
    std::vector<std::string> h;
    for (const std::string& c : cols) h.push_back(Header(c));
    table.push_back(h);
  }
  for (const Dataset& d : rows) {
    std::vector<std::string> line;
    for (const std::string& c : cols) line.push_back(c == "name" ? d.name : Format(c, d.Get(c), parsable));
    table.push_back(line);
  }
  PrintTable(table, scripted, [&](size_t i) {
    return cols[i] != "name" && (IsNumericProp(cols[i]) || cols[i] == "compressratio");
  });
  return kExitOk;
}

const Cmd kList = {"list",
                   {"list [-Hjpr] [-d max] [-o property[,property]...] [-s property]... "
                    "[-S property]... [-t type[,type]...] [filesystem|snapshot]..."},
                   "    -H                       no header, fields separated by tabs\n"
                   "    -j                       JSON output (OpenZFS 2.3's layout)\n"
                   "    -p                       exact numbers\n"
                   "    -r                       descendants too\n"
                   "    -d max                   descendants at most max levels down\n"
                   "    -o property[,property]   the columns to show\n"
                   "    -s property              sort by property, ascending\n"
                   "    -S property              sort by property, descending\n"
                   "    -t type[,type]           filesystem, snapshot or all\n"
                   "    --help                   print this message\n",
                   RunList};

}  // namespace uzfs::zfs
