#include "libcore/base/zfs_prop.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <algorithm>

namespace uzfs {

namespace {
const std::vector<std::pair<const char*, uint64_t>> kOnOff = {{"off", 0}, {"on", 1}};
}  // namespace

namespace {
// str2shift (libzfs_util.c): "" is 0, B K M G T P E Z are 0, 10... 70; "G", "GB" and "GiB"
// alike, in any case ("BB" and "BiB" are not). -1 otherwise.
int Str2Shift(const std::string& s) {
  if (s.empty()) return 0;
  static const std::string ends = "BKMGTPEZ";
  size_t i = ends.find(static_cast<char>(std::toupper(static_cast<unsigned char>(s[0]))));
  if (i == std::string::npos) return -1;
  auto up = [&](size_t k) { return static_cast<char>(std::toupper(static_cast<unsigned char>(s[k]))); };
  if (s.size() == 1 || (up(0) != 'B' && ((s.size() == 2 && up(1) == 'B') ||
                                         (s.size() == 3 && up(1) == 'I' && up(2) == 'B'))))
    return static_cast<int>(10 * i);
  return -1;
}
}  // namespace

// zfs_nicestrtonum: decimal digits (strtoull, base 10: "0x1b" has the suffix "x1b"), a
// fraction computed in floating point, then the suffix.
Status ParseSize(const std::string& s, uint64_t* out) {
  if (s.empty() || ((s[0] < '0' || s[0] > '9') && s[0] != '.'))
    return Status::Error(EINVAL, "bad numeric value '" + s + "'");
  const Status too_large = Status::Error(ERANGE, "numeric value is too large");
  errno = 0;
  char* end = nullptr;
  uint64_t n = std::strtoull(s.c_str(), &end, 10);
  if (errno == ERANGE) return too_large;
  if (*end == '.') {
    double f = std::strtod(s.c_str(), &end);
    int shift = Str2Shift(end);
    if (shift < 0) return Status::Error(EINVAL, std::string("invalid numeric suffix '") + end + "'");
    f = std::ldexp(f, shift);
    if (f >= static_cast<double>(UINT64_MAX)) return too_large;
    *out = static_cast<uint64_t>(f);
    return Status::Ok();
  }
  int shift = Str2Shift(end);
  if (shift < 0) return Status::Error(EINVAL, std::string("invalid numeric suffix '") + end + "'");
  if (shift >= 64 || ((n << shift) >> shift) != n) return too_large;
  *out = n << shift;
  return Status::Ok();
}

const std::vector<DatasetPropDef>& DatasetPropDefs() {
  using K = PropKind;
  constexpr uint8_t F = kDsFilesystem, S = kDsSnapshot, FS = kDsFilesystem | kDsSnapshot, V = kDsVolume,
                    FV = F | V, FSV = FS | V;
  static const std::vector<std::pair<const char*, uint64_t>> kCache = {
      {"none", 0}, {"metadata", 1}, {"all", 2}};
  // zfs_prop.c (v23) in zfs_prop_t order, which is `zfs get all` order; createtxg and guid
  // are shown as OpenZFS shows them (v23 hid them).
  static const std::vector<DatasetPropDef> defs = {
      {"type", K::kString, true, false, "", FSV, "TYPE", {}},
      {"creation", K::kNumber, true, false, "", FSV, "CREATION", {}},
      {"used", K::kNumber, true, false, "", FSV, "USED", {}},
      {"available", K::kNumber, true, false, "", FV, "AVAIL", {}},
      {"referenced", K::kNumber, true, false, "", FSV, "REFER", {}},
      {"compressratio", K::kNumber, true, false, "", FSV, "RATIO", {}},
      {"mounted", K::kString, true, false, "", F, "MOUNTED", {}},
      {"origin", K::kString, true, false, "", FV, "ORIGIN", {}},
      {"quota", K::kNumber, false, false, "0", F, "QUOTA", {}},
      {"reservation", K::kNumber, false, false, "0", FV, "RESERV", {}},
      // Volumes: the size lives in the volume's own ZAP, the block size is its data object's
      // (zvol_get_stats); volblocksize is set once, at creation (PROP_ONETIME).
      {"volsize", K::kNumber, false, false, "", V, "VOLSIZE", {}},
      {"volblocksize", K::kNumber, true, false, "8192", V, "VOLBLOCK", {}},
      {"recordsize", K::kNumber, false, true, "131072", F, "RECSIZE", {}},
      {"mountpoint", K::kString, false, true, "", F, "MOUNTPOINT", {}},
      {"sharenfs", K::kString, false, true, "off", F, "SHARENFS", {}},
      {"checksum", K::kIndex, false, true, "on", FV, "CHECKSUM",
       {{"on", 1}, {"off", 2}, {"fletcher2", 6}, {"fletcher4", 7}, {"sha256", 8}}},
      {"compression", K::kIndex, false, true, "off", FV, "COMPRESS",
       {{"on", 1}, {"off", 2}, {"lzjb", 3}, {"gzip", 10}, {"gzip-1", 5}, {"gzip-2", 6},
        {"gzip-3", 7}, {"gzip-4", 8}, {"gzip-5", 9}, {"gzip-6", 10}, {"gzip-7", 11},
        {"gzip-8", 12}, {"gzip-9", 13}, {"zle", 14}}},
      {"atime", K::kIndex, false, true, "on", F, "ATIME", kOnOff},
      {"devices", K::kIndex, false, true, "on", FS, "DEVICES", kOnOff},
      {"exec", K::kIndex, false, true, "on", FS, "EXEC", kOnOff},
      {"setuid", K::kIndex, false, true, "on", FS, "SETUID", kOnOff},
      {"readonly", K::kIndex, false, true, "off", FV, "RDONLY", kOnOff},
      {"zoned", K::kIndex, false, true, "off", F, "ZONED", kOnOff},
      {"snapdir", K::kIndex, false, true, "hidden", F, "SNAPDIR", {{"hidden", 0}, {"visible", 1}}},
      {"aclmode", K::kIndex, false, true, "groupmask", F, "ACLMODE",
       {{"discard", 0}, {"groupmask", 2}, {"passthrough", 3}}},
      {"aclinherit", K::kIndex, false, true, "restricted", F, "ACLINHERIT",
       {{"discard", 0}, {"noallow", 1}, {"restricted", 4}, {"passthrough", 3},
        {"passthrough-x", 5}}},
      {"createtxg", K::kNumber, true, false, "", FSV, "CREATETXG", {}},
      {"canmount", K::kIndex, false, false, "on", F, "CANMOUNT",
       {{"off", 0}, {"on", 1}, {"noauto", 2}}},
      {"xattr", K::kIndex, false, true, "on", FS, "XATTR", kOnOff},
      {"copies", K::kIndex, false, true, "1", FV, "COPIES", {{"1", 1}, {"2", 2}, {"3", 3}}},
      {"version", K::kNumber, true, false, "", FS, "VERSION", {}},
      {"utf8only", K::kString, true, false, "", FS, "UTF8ONLY", {}},
      {"normalization", K::kString, true, false, "", FS, "NORMALIZATION", {}},
      {"casesensitivity", K::kString, true, false, "", FS, "CASE", {}},
      {"vscan", K::kIndex, false, true, "off", F, "VSCAN", kOnOff},
      {"nbmand", K::kIndex, false, true, "off", FS, "NBMAND", kOnOff},
      {"sharesmb", K::kString, false, true, "off", F, "SHARESMB", {}},
      {"refquota", K::kNumber, false, false, "0", F, "REFQUOTA", {}},
      {"refreservation", K::kNumber, false, false, "0", FV, "REFRESERV", {}},
      {"guid", K::kNumber, true, false, "", FSV, "GUID", {}},
      {"primarycache", K::kIndex, false, true, "all", FSV, "PRIMARYCACHE", kCache},
      {"secondarycache", K::kIndex, false, true, "all", FSV, "SECONDARYCACHE", kCache},
      {"usedbysnapshots", K::kNumber, true, false, "", FV, "USEDSNAP", {}},
      {"usedbydataset", K::kNumber, true, false, "", FV, "USEDDS", {}},
      {"usedbychildren", K::kNumber, true, false, "", FV, "USEDCHILD", {}},
      {"usedbyrefreservation", K::kNumber, true, false, "", FV, "USEDREFRESERV", {}},
      {"defer_destroy", K::kString, true, false, "", S, "DEFER_DESTROY", {}},
      {"userrefs", K::kNumber, true, false, "", S, "USERREFS", {}},
      {"logbias", K::kIndex, false, true, "latency", FV, "LOGBIAS",
       {{"latency", 0}, {"throughput", 1}}},
      {"dedup", K::kIndex, false, true, "off", FV, "DEDUP",
       {{"off", 0}, {"on", 1}, {"verify", 0x101}, {"sha256", 8}, {"sha256,verify", 0x108}}},
      // OpenZFS's sync (ZFS_PROP_SYNC, after dedup in zfs_prop_t); zfs-fuse 0.7.0 predates it
      // and leaves the entry alone.
      {"sync", K::kIndex, false, true, "standard", FV, "SYNC",
       {{"standard", 0}, {"always", 1}, {"disabled", 2}}},
      // uzfs's own: regular files created while it is on keep their data on the pool's dax
      // class (libcore/zpl/zpl_dax.h). Only pools with a dax class (version 5000) take on.
      {"dax", K::kIndex, false, true, "off", F, "DAX", kOnOff},
  };
  return defs;
}

const DatasetPropDef* FindDatasetProp(const std::string& name) {
  for (const DatasetPropDef& d : DatasetPropDefs())
    if (name == d.name) return &d;
  return nullptr;
}

std::string CanonicalPropName(const std::string& name) {
  if (FindDatasetProp(name)) return name;
  for (const DatasetPropDef& d : DatasetPropDefs()) {
    std::string h = d.header;
    for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (h == name) return d.name;
  }
  return name;
}

bool IsUserProp(const std::string& name) { return name.find(':') != std::string::npos; }

Status CheckUserPropName(const std::string& name) {
  if (name.size() > 256) return Status::Error(EINVAL, "property name '" + name + "' is too long");
  for (char c : name)
    if (!std::islower(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)) &&
        c != ':' && c != '-' && c != '_' && c != '.' && c != '+')
      return Status::Error(EINVAL, "invalid property '" + name + "'");
  return Status::Ok();
}

std::string IndexName(const DatasetPropDef& d, uint64_t v) {
  for (auto& [n, x] : d.values)
    if (x == v) return n;
  return std::to_string(v);
}

Status EncodeDatasetProp(const std::string& name, const std::string& value, DatasetPropValue* out) {
  if (IsUserProp(name)) {
    UZFS_TRY(CheckUserPropName(name));
    if (value.size() > 1024) return Status::Error(EINVAL, "property value is too long");
    out->is_string = true;
    out->str = value;
    return Status::Ok();
  }
  const DatasetPropDef* d = FindDatasetProp(name);
  if (!d) return Status::Error(EINVAL, "invalid property '" + name + "'");
  if (d->readonly) return Status::Error(EINVAL, "'" + name + "' is readonly");
  if (d->kind == PropKind::kString) {
    if (name == "mountpoint" && value != "none" && value != "legacy" &&
        (value.empty() || value[0] != '/'))
      return Status::Error(EINVAL, "'mountpoint' must be an absolute path, 'none', or 'legacy'");
    if (value.size() > 1023) return Status::Error(EINVAL, "property value is too long");
    out->is_string = true;
    out->str = value;
    return Status::Ok();
  }
  out->is_string = false;
  if (d->kind == PropKind::kIndex) {
    for (auto& [n, v] : d->values)
      if (value == n) {
        out->num = v;
        return Status::Ok();
      }
    std::string list;
    for (auto& [n, v] : d->values) list += (list.empty() ? "" : " | ") + std::string(n);
    return Status::Error(EINVAL, "'" + name + "' must be one of '" + list + "'");
  }
  uint64_t n = 0;
  bool none = value == "none" && name != "recordsize";
  if (!none) UZFS_TRY(ParseSize(value, &n));
  // zprop_parse_value: a quota of 0 is refused, "none" is the way to have none.
  if (n == 0 && !none && (name == "quota" || name == "refquota"))
    return Status::Error(EINVAL, "use 'none' to disable quota/refquota");
  if (name == "recordsize" && (n < 512 || n > 131072 || (n & (n - 1))))
    return Status::Error(EINVAL, "'recordsize' must be power of 2 from 512B to 128KB");
  out->num = n;
  return Status::Ok();
}

uint64_t ZvolSizeToReservation(uint64_t volsize, uint64_t bs, int copies) {
  constexpr uint64_t kDnodesPerLevel = 1ULL << (14 - 7);  // DN_MAX_INDBLKSHIFT - SPA_BLKPTRSHIFT
  uint64_t nblocks = volsize / bs;
  uint64_t numdb = 7;  // the meta-dnode's L0-L6
  while (nblocks > 1) {
    nblocks += kDnodesPerLevel - 1;
    nblocks /= kDnodesPerLevel;
    numdb += nblocks;
  }
  numdb *= static_cast<uint64_t>(std::min(3, copies + 1));
  return volsize * static_cast<uint64_t>(copies) + (numdb << 14);
}

}  // namespace uzfs
