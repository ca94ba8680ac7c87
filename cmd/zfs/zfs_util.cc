// What the zfs subcommands share: fetching datasets with their properties, sorting and
// formatting values as OpenZFS's zfs prints them.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <iostream>

#include "cmd/zfs/zfs.h"
#include "libcore/base/zfs_prop.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

std::string Dataset::Get(const std::string& prop) const {
  if (prop == "name") return name;
  auto it = props.find(prop);
  return it == props.end() ? "-" : it->second.value;
}

Result<std::vector<Dataset>> FetchDatasets(const std::vector<std::string>& names, bool recursive,
                                           int64_t depth) {
  UZFS_ASSIGN(NvList r, lzc::ZfsList(names, recursive, depth));
  std::vector<Dataset> out;
  if (const auto* arr = r.GetNvListArray("datasets"))
    for (const NvList& one : *arr) {
      Dataset d;
      if (const std::string* n = one.GetString("name")) d.name = *n;
      if (const std::string* t = one.GetString("type")) d.type = *t;
      if (const NvList* props = one.GetNvList("props"))
        for (const auto& p : props->pairs()) {
          if (p.value.lists.empty()) continue;
          const NvList& v = p.value.lists[0];
          PropVal pv;
          if (const std::string* s = v.GetString("value")) pv.value = *s;
          if (const std::string* s = v.GetString("source")) pv.source = *s;
          if (const std::string* s = v.GetString("received")) pv.received = *s;
          d.props[p.name] = pv;
        }
      out.push_back(std::move(d));
    }
  return out;
}

void SortByName(std::vector<Dataset>* ds) {
  auto txg = [](const Dataset& d) {
    auto it = d.props.find("createtxg");
    return it == d.props.end() ? 0ULL : std::stoull("0" + it->second.value);
  };
  std::stable_sort(ds->begin(), ds->end(), [&](const Dataset& a, const Dataset& b) {
    std::string fa = a.name.substr(0, a.name.find('@')), fb = b.name.substr(0, b.name.find('@'));
    if (fa != fb) {
      // Component-wise: "a/b" sorts before "a-c" (a child stays under its parent).
      std::string x = fa, y = fb;
      std::replace(x.begin(), x.end(), '/', '\x01');
      std::replace(y.begin(), y.end(), '/', '\x01');
      return x < y;
    }
    bool sa = a.name.find('@') != std::string::npos, sb = b.name.find('@') != std::string::npos;
    if (sa != sb) return !sa;
    return txg(a) < txg(b);
  });
}

bool IsNumericProp(const std::string& prop) {
  const DatasetPropDef* d = FindDatasetProp(prop);
  return d && d->kind == PropKind::kNumber;
}

std::string Canonical(const std::string& name) { return CanonicalPropName(name); }

bool ValidPropName(const std::string& prop) {
  return prop == "name" || FindDatasetProp(prop) || IsUserProp(prop);
}

std::string Header(const std::string& prop) {
  if (prop == "name") return "NAME";
  if (const DatasetPropDef* d = FindDatasetProp(prop)) return d->header;
  return prop;  // user properties head their column as they are named
}

const std::vector<std::string>& NativeProps() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const DatasetPropDef& d : DatasetPropDefs()) v.push_back(d.name);
    return v;
  }();
  return names;
}

std::string Format(const std::string& prop, const std::string& value, bool parsable) {
  if (parsable || value == "-" || value.empty()) return value.empty() ? "-" : value;
  if (prop == "creation") {
    time_t t = static_cast<time_t>(std::stoll(value));
    struct tm tm;
    localtime_r(&t, &tm);
    char buf[64];
    strftime(buf, sizeof buf, "%a %b %e %H:%M %Y", &tm);
    return buf;
  }
  if (prop == "compressratio") return value + "x";
  if (prop == "quota" || prop == "reservation" || prop == "refquota" || prop == "refreservation")
    if (value == "0") return "none";
  static const char* const kSizes[] = {"used", "available", "referenced", "quota", "reservation",
                                       "recordsize", "refquota", "refreservation", "usedbysnapshots",
                                       "usedbydataset", "usedbychildren", "usedbyrefreservation", "volsize",
                                       "volblocksize"};
  for (const char* s : kSizes)
    if (prop == s) return libzfs::NiceNum(std::stoull(value));
  return value;
}

bool ParseTypes(const Cmd& self, const std::vector<std::string>& opts, bool* fs, bool* snap, bool* vol,
                int* rc) {
  if (opts.empty()) return true;
  *fs = *snap = *vol = false;
  for (const std::string& o : opts)
    for (const std::string& t : SplitComma(o)) {
      if (t == "filesystem") {
        *fs = true;
      } else if (t == "snapshot" || t == "snap") {
        *snap = true;
      } else if (t == "volume") {
        *vol = true;
      } else if (t == "all") {
        *fs = *snap = *vol = true;
      } else if (t != "bookmark") {
        *rc = UsageError(self, "invalid type '" + t + "'");
        return false;
      }
    }
  return true;
}

bool WantType(const Dataset& d, bool fs, bool snap, bool vol) {
  return d.type == "snapshot" ? snap : d.type == "volume" ? vol : fs;
}

void PrintTable(const std::vector<std::vector<std::string>>& rows, bool scripted,
                const std::function<bool(size_t)>& right) {
  if (scripted) {
    for (auto& line : rows) {
      for (size_t i = 0; i < line.size(); i++) std::cout << (i ? "\t" : "") << line[i];
      std::cout << "\n";
    }
    return;
  }
  std::vector<size_t> w;
  for (auto& line : rows)
    for (size_t i = 0; i < line.size(); i++) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], line[i].size());
    }
  for (auto& line : rows) {
    std::string out;
    for (size_t i = 0; i < line.size(); i++) {
      std::string pad(w[i] - line[i].size(), ' ');
      bool last = i + 1 == line.size();
      if (right(i)) out += pad + line[i];
      else out += last ? line[i] : line[i] + pad;
      if (!last) out += "  ";
    }
    std::cout << out << "\n";
  }
}

int FetchFailed(const std::vector<std::string>& names, const Status& s) {
  std::string who = names.empty() ? "" : names[0];
  if (s.code() == ENOENT && !lzc::IsConnectError(s))
    return Fail("cannot open '" + who + "': dataset does not exist");
  return Fail(libzfs::ErrorText("open", who, s));
}

bool PathsToNames(std::vector<std::string>* names) {
  std::vector<lzc::Mount> mounts;
  bool listed = false;
  for (std::string& a : *names) {
    if (a.empty() || (a[0] != '/' && a.rfind("./", 0) != 0)) continue;
    struct stat st;
    if (::stat(a.c_str(), &st) != 0) {
      Fail("cannot open '" + a + "': " + std::strerror(errno));
      return false;
    }
    if (!listed) {
      auto m = lzc::ZfsMounts();
      if (!m.ok()) {
        Fail(libzfs::ErrorText("open", a, m.status()));
        return false;
      }
      mounts = std::move(m).value();
      listed = true;
    }
    // The filesystem mounted where the path lives.
    std::string fs = lzc::MountedFilesystemOf(st.st_dev, mounts);
    if (fs.empty()) {
      Fail("'" + a + "': not a ZFS filesystem");
      return false;
    }
    a = fs;
  }
  return true;
}

bool SplitProp(const std::string& s, std::string* k, std::string* v) {
  auto eq = s.find('=');
  if (eq == std::string::npos) return false;
  *k = s.substr(0, eq);
  *v = s.substr(eq + 1);
  return true;
}

bool PropsFromOptions(const Cmd& self, const std::vector<std::string>& opts, NvList* out, int* rc) {
  for (const std::string& o : opts) {
    std::string k, v;
    if (!SplitProp(o, &k, &v)) {
      *rc = UsageError(self, "missing '=' for property=value argument");
      return false;
    }
    k = Canonical(k);  // zfs_valid_proplist: "compress" is compression
    if (out->Has(k)) {
      *rc = UsageError(self, "property '" + k + "' specified multiple times");
      return false;
    }
    out->AddString(k, v);
  }
  return true;
}

}  // namespace uzfs::zfs
