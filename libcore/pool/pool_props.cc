#include "libcore/pool/pool_props.h"

#include <cctype>

namespace uzfs {

namespace {

const std::vector<std::pair<const char*, uint64_t>> kOnOff = {{"off", 0}, {"on", 1}};

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
  DatasetPropValue v;
  UZFS_TRY(EncodeDatasetProp(name, value, &v));
  if (v.is_string) return zaps.UpdateString(props_zap, name, v.str);
  return zaps.UpdateInt(props_zap, name, v.num);
}

}  // namespace uzfs
