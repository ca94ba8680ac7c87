// zpool get (zpool_do_get): NAME PROPERTY VALUE SOURCE per pool and property.
#include <algorithm>
#include <iostream>

#include "cmd/zpool/zpool.h"
#include "cmd/zpool/zpool_props.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

namespace {

int RunGet(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  bool H = false, p = false;
  std::string fields_opt;
  std::vector<std::string> args;
  app.add_flag("-H", H);
  app.add_flag("-p", p);
  app.add_option("-o", fields_opt);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing property argument");
  std::vector<std::string> fields = {"name", "property", "value", "source"};
  if (!fields_opt.empty()) {
    fields = SplitComma(fields_opt);
    for (const auto& f : fields)
      if (f != "name" && f != "property" && f != "value" && f != "source")
        return UsageError(self, "invalid field '" + f + "'");
  }
  std::vector<std::string> props;
  if (args[0] != "all") props = SplitComma(args[0]);
  std::vector<std::string> pools(args.begin() + 1, args.end());
  if (pools.empty()) {
    auto l = lzc::PoolList();
    if (!l.ok()) return Fail(lzc::IsConnectError(l.status()) ? l.status().message() : libzfs::Reason(l.status()));
    if (const auto* ps = l->GetNvListArray("pools"))
      for (const NvList& x : *ps) pools.push_back(*x.GetString("name"));
  }
  std::vector<std::vector<std::string>> rows;
  int rc = kExitOk;
  for (const std::string& pool : pools) {
    auto r = lzc::PoolGet(pool, props);
    if (!r.ok()) {
      const Status& s = r.status();
      if (lzc::IsConnectError(s)) return Fail(s.message());
      if (s.code() == ENOENT) {
        rc = Fail("cannot open '" + pool + "': no such pool");
        continue;
      }
      // An unknown property name: OpenZFS reports the property list as bad usage.
      if (s.code() == EINVAL) return UsageError(self, "bad property list: " + s.message());
      rc = Fail(libzfs::ErrorText("get property for", pool, s));
      continue;
    }
    NvList byname;
    std::vector<std::string> order;
    if (const auto* list = r->GetNvListArray("props"))
      for (const NvList& one : *list) {
        NvList cell;
        cell.AddString("value", *one.GetString("value"));
        cell.AddString("source", *one.GetString("source"));
        byname.AddNvList(*one.GetString("property"), cell);
        order.push_back(*one.GetString("property"));
      }
    auto cells = FormatProps(byname, p);
    for (const auto& name : order) {
      std::vector<std::string> row;
      for (const auto& f : fields) {
        if (f == "name") row.push_back(pool);
        if (f == "property") row.push_back(name);
        if (f == "value") row.push_back(cells[name].value);
        if (f == "source") row.push_back(cells[name].source);
      }
      rows.push_back(std::move(row));
    }
  }
  if (rows.empty()) return rc;
  std::vector<size_t> width(fields.size());
  for (size_t c = 0; c < fields.size(); c++) {
    std::string h = fields[c];
    for (auto& ch : h) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    width[c] = h.size();
    for (auto& r : rows) width[c] = std::max(width[c], r[c].size());
  }
  auto emit = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t c = 0; c < cells.size(); c++) {
      if (H) {
        line += (c ? "\t" : "") + cells[c];
      } else {
        line += (c ? "  " : "") + cells[c];
        if (c + 1 < cells.size()) line += std::string(width[c] - cells[c].size(), ' ');
      }
    }
    std::cout << line << "\n";
  };
  if (!H) {
    std::vector<std::string> hdr;
    for (auto f : fields) {
      for (auto& ch : f) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      hdr.push_back(f);
    }
    emit(hdr);
  }
  for (auto& r : rows) emit(r);
  return rc;
}

}  // namespace

const Cmd kGet = {"get",
                  {"get [-Hp] [-o field[,field]...] all|property[,property]... [pool]..."},
                  "    -H                  no header, fields separated by tabs\n"
                  "    -p                  exact numbers\n"
                  "    -o field[,field]    fields to show: name, property, value, source\n"
                  "    --help              print this message\n",
                  RunGet};

}  // namespace uzfs::zpool
