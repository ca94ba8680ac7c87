// zpool list (zpool_do_list): one line per pool, OpenZFS 2.x's default columns, -H -p -o, -j.
#include <algorithm>
#include <functional>
#include <iostream>

#include "cmd/zpool/zpool.h"
#include "cmd/zpool/zpool_props.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

namespace {

const std::vector<std::string> kDefault = {"name",          "size",     "allocated", "free",
                                           "checkpoint",    "expandsize", "fragmentation",
                                           "capacity",      "dedupratio", "health", "altroot"};

std::string JsonStr(const std::string& s) { return libzfs::JsonString(s); }

int RunList(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  bool H = false, p = false, v = false, j = false;
  std::string cols;
  std::vector<std::string> args;
  app.add_flag("-H", H);
  app.add_flag("-p", p);
  app.add_flag("-v", v);
  app.add_flag("-j", j);
  app.add_option("-o", cols);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  std::vector<std::string> columns = cols.empty() ? kDefault : SplitComma(cols);
  static const std::vector<std::string> known = {
      "name", "size", "allocated", "free", "checkpoint", "expandsize", "fragmentation", "capacity",
      "dedupratio", "health", "altroot", "guid", "version", "bootfs", "delegation", "autoreplace",
      "cachefile", "failmode", "listsnapshots", "autoexpand", "dedupditto", "readonly", "comment"};
  for (auto& c : columns) {
    // A column's header names it too, in any case ("alloc", "CAP"), as zprop_name_to_prop.
    std::string lower = c;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    for (const auto& k : known) {
      std::string header = ListHeader(k);
      for (auto& ch : header) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (lower == k || lower == header) lower = k;
    }
    if (std::find(known.begin(), known.end(), lower) == known.end())
      return UsageError(self, "invalid property '" + c + "'");
    c = lower;
  }
  auto l = lzc::PoolList();
  if (!l.ok()) return Fail(lzc::IsConnectError(l.status()) ? l.status().message() : libzfs::Reason(l.status()));
  std::vector<std::pair<std::string, std::map<std::string, PropCell>>> rows;
  std::map<std::string, std::vector<std::map<std::string, PropCell>>> vdev_rows;  // -v
  int rc = kExitOk;
  if (const auto* pools = l->GetNvListArray("pools"))
    for (const NvList& pool : *pools) {
      std::string name = *pool.GetString("name");
      if (!args.empty() && std::find(args.begin(), args.end(), name) == args.end()) continue;
      auto props = FormatProps(*pool.GetNvList("props"), p);
      props["name"] = {name, "-"};
      for (const char* na : {"checkpoint", "expandsize", "fragmentation"}) props[na] = {"-", "-"};
      rows.emplace_back(name, std::move(props));
      const NvList* cfg = pool.GetNvList("config");
      const NvList* tree = cfg ? cfg->GetNvList("vdev_tree") : nullptr;
      const auto* tops = tree ? tree->GetNvListArray("children") : nullptr;
      if (v && tops) {
        std::function<void(const NvList&, int)> add = [&](const NvList& t, int depth) {
          std::map<std::string, PropCell> r;
          for (const auto& c : columns) r[c] = {"-", "-"};
          r["name"] = {std::string(static_cast<size_t>(depth), ' ') + libzfs::VdevName(t), "-"};
          const std::string* st = t.GetString("state");
          r["health"] = {st ? *st : "-", "-"};
          if (auto sp = t.GetUint64("space")) {
            uint64_t al = t.GetUint64("alloc").value_or(0);
            auto fmt = [&](uint64_t x) { return p ? std::to_string(x) : libzfs::NiceNum(x); };
            r["size"] = {fmt(*sp), "-"};
            r["allocated"] = {fmt(al), "-"};
            r["free"] = {fmt(*sp - std::min(*sp, al)), "-"};
            r["capacity"] = {std::to_string(*sp ? al * 100 / *sp : 0) + (p ? "" : "%"), "-"};
          }
          vdev_rows[name].push_back(std::move(r));
          if (const auto* kids = t.GetNvListArray("children"))
            for (const NvList& k : *kids) add(k, depth + 2);
        };
        // print_list_stats: the data vdevs, then each class ("logs", "dax": a row of
        // dashes) and its devices; holes are not listed.
        auto flag = [](const NvList& t, const char* k) { return t.GetUint64(k).value_or(0) != 0; };
        for (const NvList& t : *tops)
          if (!flag(t, "is_hole") && libzfs::VdevClass(t).empty()) add(t, 2);
        for (const std::string cls : {"logs", "dax"}) {
          bool header = false;
          for (const NvList& t : *tops) {
            if (flag(t, "is_hole") || libzfs::VdevClass(t) != cls) continue;
            if (!header) {
              std::map<std::string, PropCell> r;
              for (const auto& c : columns) r[c] = {"-", "-"};
              r["name"] = {cls, "-"};
              vdev_rows[name].push_back(std::move(r));
              header = true;
            }
            add(t, 2);
          }
        }
        // OpenZFS's print_list_stats: the hot spares under "spare", each with its state.
        if (const auto* spares = tree->GetNvListArray("spares"); spares && !spares->empty()) {
          std::map<std::string, PropCell> r;
          for (const auto& c : columns) r[c] = {"-", "-"};
          r["name"] = {"spare", "-"};
          vdev_rows[name].push_back(std::move(r));
          for (const NvList& s : *spares) add(s, 2);
        }
      }
    }
  for (const auto& want : args) {
    bool found = std::any_of(rows.begin(), rows.end(), [&](auto& r) { return r.first == want; });
    if (!found) rc = Fail("cannot open '" + want + "': no such pool");
  }
  if (j) {
    std::cout << "{\"output_version\": {\"command\": \"zpool list\", \"vers_major\": 0, \"vers_minor\": 1}, \"pools\": {";
    for (size_t i = 0; i < rows.size(); i++) {
      auto& [name, props] = rows[i];
      std::cout << (i ? ", " : "") << JsonStr(name) << ": {\"name\": " << JsonStr(name)
                << ", \"type\": \"POOL\", \"state\": " << JsonStr(props["health"].value)
                << ", \"pool_guid\": " << JsonStr(props["guid"].value)
                << ", \"spa_version\": "
                << JsonStr(props["version"].value == "-" ? "5000" : props["version"].value)
                << ", \"zpl_version\": \"4\", \"properties\": {";
      bool first = true;
      for (const auto& c : columns) {
        if (c == "name") continue;
        std::cout << (first ? "" : ", ") << JsonStr(c) << ": {\"value\": " << JsonStr(props[c].value)
                  << ", \"source\": {\"type\": \"NONE\", \"data\": \"-\"}}";
        first = false;
      }
      std::cout << "}}";
    }
    std::cout << "}}\n";
    return rc;
  }
  if (rows.empty()) {
    // zpool_do_list: scripted output (-H) prints nothing when there is no pool. The header
    // comes with the first pool listed: none when every pool named is missing.
    if (!H && args.empty()) std::cout << "no pools available\n";
    return rc;
  }
  std::vector<size_t> width(columns.size());
  for (size_t c = 0; c < columns.size(); c++) {
    width[c] = ListHeader(columns[c]).size();
    for (auto& r : rows) width[c] = std::max(width[c], r.second[columns[c]].value.size());
    for (auto& [n, vr] : vdev_rows)
      for (auto& r : vr) width[c] = std::max(width[c], r[columns[c]].value.size());
  }
  auto emit = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t c = 0; c < cells.size(); c++) {
      if (H) {
        line += (c ? "\t" : "") + cells[c];
        continue;
      }
      std::string cell = cells[c];
      std::string pad(width[c] - std::min(width[c], cell.size()), ' ');
      bool last = c + 1 == cells.size();
      line += (c ? "  " : "") + (RightAligned(columns[c]) ? pad + cell : cell + (last ? "" : pad));
    }
    std::cout << line << "\n";
  };
  if (!H) {
    std::vector<std::string> hdr;
    for (const auto& c : columns) hdr.push_back(ListHeader(c));
    emit(hdr);
  }
  for (auto& r : rows) {
    std::vector<std::string> cells;
    for (const auto& c : columns) cells.push_back(r.second[c].value);
    emit(cells);
    for (auto& vr : vdev_rows[r.first]) {
      cells.clear();
      for (const auto& c : columns) cells.push_back(vr[c].value);
      emit(cells);
    }
  }
  return rc;
}

}  // namespace

const Cmd kList = {"list",
                   {"list [-Hjpv] [-o property[,property]...] [pool]..."},
                   "    -H                       no header, fields separated by tabs\n"
                   "    -j                       JSON output (OpenZFS 2.3's layout)\n"
                   "    -p                       exact numbers\n"
                   "    -v                       a line per vdev under each pool\n"
                   "    -o property[,property]   the columns to show\n"
                   "    --help                   print this message\n",
                   RunList};

}  // namespace uzfs::zpool
