#include "libcore/pool/pool_props.h"

#include <cctype>

namespace uzfs {

namespace {

const std::vector<std::pair<const char*, uint64_t>> kOnOff = {{"off", 0}, {"on", 1}};

struct DsPropDef {
  const char* name;
  PropKind kind;
  std::vector<std::pair<const char*, uint64_t>> values;
};

const std::vector<DsPropDef>& DatasetProps() {
  static const std::vector<DsPropDef> defs = {
      {"mountpoint", PropKind::kString, {}},
      {"sharenfs", PropKind::kString, {}},
      {"sharesmb", PropKind::kString, {}},
      {"compression", PropKind::kIndex,
       {{"on", 1}, {"off", 2}, {"lzjb", 3}, {"gzip", 10}, {"gzip-1", 5}, {"gzip-2", 6},
        {"gzip-3", 7}, {"gzip-4", 8}, {"gzip-5", 9}, {"gzip-6", 10}, {"gzip-7", 11},
        {"gzip-8", 12}, {"gzip-9", 13}, {"zle", 14}}},
      {"checksum", PropKind::kIndex,
       {{"on", 1}, {"off", 2}, {"fletcher2", 6}, {"fletcher4", 7}, {"sha256", 8}}},
      {"atime", PropKind::kIndex, kOnOff},
      {"devices", PropKind::kIndex, kOnOff},
      {"exec", PropKind::kIndex, kOnOff},
      {"setuid", PropKind::kIndex, kOnOff},
      {"readonly", PropKind::kIndex, kOnOff},
      {"zoned", PropKind::kIndex, kOnOff},
      {"xattr", PropKind::kIndex, kOnOff},
      {"nbmand", PropKind::kIndex, kOnOff},
      {"vscan", PropKind::kIndex, kOnOff},
      {"canmount", PropKind::kIndex, {{"off", 0}, {"on", 1}, {"noauto", 2}}},
      {"snapdir", PropKind::kIndex, {{"hidden", 0}, {"visible", 1}}},
      {"aclmode", PropKind::kIndex, {{"discard", 0}, {"groupmask", 2}, {"passthrough", 3}}},
      {"aclinherit", PropKind::kIndex,
       {{"discard", 0}, {"noallow", 1}, {"restricted", 4}, {"passthrough", 3},
        {"passthrough-x", 5}}},
      {"copies", PropKind::kIndex, {{"1", 1}, {"2", 2}, {"3", 3}}},
      {"primarycache", PropKind::kIndex, {{"none", 0}, {"metadata", 1}, {"all", 2}}},
      {"secondarycache", PropKind::kIndex, {{"none", 0}, {"metadata", 1}, {"all", 2}}},
      {"logbias", PropKind::kIndex, {{"latency", 0}, {"throughput", 1}}},
      {"dedup", PropKind::kIndex, {{"off", 0}, {"on", 1}, {"verify", 0x101}, {"sha256", 8}}},
      {"quota", PropKind::kNumber, {}},
      {"refquota", PropKind::kNumber, {}},
      {"reservation", PropKind::kNumber, {}},
      {"refreservation", PropKind::kNumber, {}},
      {"recordsize", PropKind::kNumber, {}},
  };
  return defs;
}

}  // namespace

const std::vector<PoolPropDef>& PoolProps() {
  static const std::vector<PoolPropDef> defs = {
      {"size", PropKind::kNumber, true, false, "-", {}},
      {"capacity", PropKind::kNumber, true, false, "-", {}},
      {"altroot", PropKind::kString, false, true, "-", {}},
      {"health", PropKind::kString, true, false, "-", {}},
      {"guid", PropKind::kNumber, true, false, "-", {}},
      {"version", PropKind::kNumber, false, false, "23", {}},
      {"bootfs", PropKind::kString, false, false, "-", {}},
      {"delegation", PropKind::kBool, false, false, "on", kOnOff},
      {"autoreplace", PropKind::kBool, false, false, "off", kOnOff},
      {"cachefile", PropKind::kString, false, false, "-", {}},
      {"failmode", PropKind::kIndex, false, false, "wait",
       {{"wait", 0}, {"continue", 1}, {"panic", 2}}},
      {"listsnapshots", PropKind::kBool, false, false, "off", kOnOff},
      {"autoexpand", PropKind::kBool, false, false, "off", kOnOff},
      {"dedupditto", PropKind::kNumber, false, false, "0", {}},
      {"dedupratio", PropKind::kString, true, false, "1.00x", {}},
      {"free", PropKind::kNumber, true, false, "-", {}},
      {"allocated", PropKind::kNumber, true, false, "-", {}},
      {"readonly", PropKind::kBool, false, true, "off", kOnOff},
      {"comment", PropKind::kString, false, false, "-", {}},
  };
  return defs;
}

const PoolPropDef* FindPoolProp(const std::string& name) {
  for (const PoolPropDef& d : PoolProps())
    if (name == d.name) return &d;
  return nullptr;
}

Status ParseSize(const std::string& s, uint64_t* out) {
  if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0])))
    return Status::Error(EINVAL, "bad numeric value '" + s + "'");
  size_t pos = 0;
  long double v = std::stold(s, &pos);
  std::string suf = s.substr(pos);
  for (auto& c : suf) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!suf.empty() && suf.back() == 'B' && suf.size() > 1) suf.pop_back();
  static const std::string units = "KMGTPE";
  long double mult = 1;
  if (suf.size() == 1 && units.find(suf[0]) != std::string::npos) {
    for (size_t i = 0; i <= units.find(suf[0]); i++) mult *= 1024;
  } else if (!suf.empty() && suf != "B") {
    return Status::Error(EINVAL, "invalid numeric suffix '" + s.substr(pos) + "'");
  }
  long double r = v * mult;
  if (r > 1.8e19L) return Status::Error(ERANGE, "numeric value is too large");
  *out = static_cast<uint64_t>(r);
  return Status::Ok();
}

Status ParsePoolPropValue(const PoolPropDef& d, const std::string& value, uint64_t* num) {
  if (d.kind == PropKind::kIndex || d.kind == PropKind::kBool) {
    for (auto& [n, v] : d.values)
      if (value == n) {
        *num = v;
        return Status::Ok();
      }
    if (d.kind == PropKind::kBool)
      return Status::Error(EINVAL, "property '" + std::string(d.name) + "' must be 'on' or 'off'");
    std::string list;
    for (auto& [n, v] : d.values) list += (list.empty() ? "" : " | ") + std::string(n);
    return Status::Error(EINVAL, "property '" + std::string(d.name) + "' must be one of '" + list + "'");
  }
  if (d.kind == PropKind::kNumber) {
    for (char c : value)
      if (!std::isdigit(static_cast<unsigned char>(c)))
        return Status::Error(EINVAL, "'" + std::string(d.name) + "' must be a number");
    if (value.empty()) return Status::Error(EINVAL, "'" + std::string(d.name) + "' must be a number");
    *num = std::stoull(value);
  }
  return Status::Ok();
}

Status ValidatePoolProps(const std::map<std::string, std::string>& props, bool at_create) {
  for (auto& [k, v] : props) {
    if (k == "ashift" && at_create) continue;
    const PoolPropDef* d = FindPoolProp(k);
    if (!d) return Status::Error(EINVAL, "property '" + k + "' is not a valid pool property");
    if (d->readonly) return Status::Error(EROFS, "property '" + k + "' is readonly");
    if (d->create_only && !at_create)
      return Status::Error(EINVAL, "property '" + k + "' can only be set during pool creation or import");
    uint64_t n = 0;
    UZFS_TRY(ParsePoolPropValue(*d, v, &n));
    if (k == "version" && (n < 1 || n > 23))
      return Status::Error(EINVAL, "property 'version' number " + v + " is invalid.");
    if (k == "cachefile" && !v.empty() && v != "none" && v[0] != '/')
      return Status::Error(EINVAL, "property 'cachefile' must be empty, 'none', or an absolute path");
    if (k == "altroot" && (v.empty() || v[0] != '/'))
      return Status::Error(EINVAL, "bad alternate root '" + v + "'");
    if (k == "comment") {
      if (v.size() > 32) return Status::Error(EINVAL, "comment is too long");
      for (char c : v)
        if (!std::isprint(static_cast<unsigned char>(c)))
          return Status::Error(EINVAL, "comment may only have printable characters");
    }
  }
  return Status::Ok();
}

Status StoreDatasetProp(ZapStore& zaps, uint64_t props_zap, const std::string& name,
                        const std::string& value) {
  if (name.find(':') != std::string::npos) return zaps.UpdateString(props_zap, name, value);
  for (const DsPropDef& d : DatasetProps()) {
    if (name != d.name) continue;
    if (d.kind == PropKind::kString) {
      if (name == "mountpoint" && value != "none" && value != "legacy" &&
          (value.empty() || value[0] != '/'))
        return Status::Error(EINVAL, "'mountpoint' must be an absolute path, 'none', or 'legacy'");
      return zaps.UpdateString(props_zap, name, value);
    }
    if (d.kind == PropKind::kIndex) {
      for (auto& [n, v] : d.values)
        if (value == n) return zaps.UpdateInt(props_zap, name, v);
      std::string list;
      for (auto& [n, v] : d.values) list += (list.empty() ? "" : " | ") + std::string(n);
      return Status::Error(EINVAL, "'" + name + "' must be one of '" + list + "'");
    }
    uint64_t n = 0;
    if (value == "none" && name != "recordsize") {
      n = 0;
    } else {
      UZFS_TRY(ParseSize(value, &n));
    }
    if (name == "recordsize" && (n < 512 || n > 131072 || (n & (n - 1))))
      return Status::Error(EINVAL, "'recordsize' must be power of 2 from 512B to 128KB");
    return zaps.UpdateInt(props_zap, name, n);
  }
  return Status::Error(EINVAL, "invalid property '" + name + "'");
}

}  // namespace uzfs
