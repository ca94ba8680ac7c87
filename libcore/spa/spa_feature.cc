#include "libcore/spa/spa_feature.h"

namespace uzfs {

const std::vector<SpaFeatureInfo>& SpaFeatureTable() {
  static const std::vector<SpaFeatureInfo> table = {
      // Read-incompatible and needed to read the MOS: a system that does not know it must not
      // even try (its dax class's vdevs hold file data no other system can find), so it is in
      // every label.
      {kFeatureDax, "dax", "Files of dax=on datasets live on device-DAX (persistent memory) vdevs.",
       /*readonly_compat=*/false, /*mos=*/true},
  };
  return table;
}

const SpaFeatureInfo* FindSpaFeature(std::string_view guid_or_name) {
  for (const SpaFeatureInfo& f : SpaFeatureTable())
    if (guid_or_name == f.guid || guid_or_name == f.name) return &f;
  return nullptr;
}

const std::vector<FeatureInfo>& KnownFeatures() {
  static const std::vector<FeatureInfo> known = [] {
    std::vector<FeatureInfo> v;
    for (const SpaFeatureInfo& f : SpaFeatureTable()) v.push_back({f.guid, f.description});
    return v;
  }();
  return known;
}

const FeatureInfo* FindFeature(const std::string& guid) {
  for (const FeatureInfo& f : KnownFeatures())
    if (guid == f.guid) return &f;
  return nullptr;
}

NvList FeaturesForReadNvlist(const std::set<std::string>& active) {
  NvList nv;
  for (const std::string& g : active) nv.AddBoolean(g);
  return nv;
}

Status CheckSupported(const std::vector<std::string>& names) {
  std::vector<UnsupportedFeature> unsup;
  for (const std::string& n : names)
    if (!FindFeature(n)) unsup.push_back({n, ""});
  return unsup.empty() ? Status::Ok() : UnsupportedFeaturesError(unsup);
}

NvList LabelFeatures(const std::map<std::string, uint64_t>& refcounts) {
  NvList nv;
  for (const SpaFeatureInfo& f : SpaFeatureTable()) {
    auto it = refcounts.find(f.guid);
    if (f.mos && it != refcounts.end() && it->second > 0) nv.AddBoolean(f.guid);
  }
  return nv;
}

Status UnsupportedFeaturesError(const std::vector<UnsupportedFeature>& unsup) {
  std::string msg = "This pool uses the following feature(s) not supported by this system:";
  for (const UnsupportedFeature& u : unsup) {
    msg += "\n\t" + u.guid;
    if (!u.description.empty()) msg += " (" + u.description + ")";
  }
  return Status::Error(ENOTSUP, msg);
}

Result<std::vector<UnsupportedFeature>> UnsupportedLabelFeatures(const NvList& config) {
  std::vector<UnsupportedFeature> out;
  if (config.GetUint64("version").value_or(0) < kSpaVersionFeatures) return out;
  const NvList* feats = config.GetNvList(kFeaturesForRead);
  if (!feats)
    return Status::Error(ECORRUPT, std::string("invalid label: '") + kFeaturesForRead + "' missing");
  for (const NvList::Pair& p : feats->pairs())
    if (!FindSpaFeature(p.name) || FindSpaFeature(p.name)->guid != p.name)
      out.push_back({p.name, ""});
  return out;
}

std::vector<UnsupportedFeature> UnsupportedMosFeatures(
    const std::map<std::string, uint64_t>& for_read,
    const std::map<std::string, std::string>& descriptions) {
  std::vector<UnsupportedFeature> out;
  for (const auto& [guid, refcount] : for_read) {
    const SpaFeatureInfo* f = FindSpaFeature(guid);
    if (refcount == 0 || (f && f->guid == guid)) continue;
    auto d = descriptions.find(guid);
    out.push_back({guid, d == descriptions.end() ? "" : d->second});
  }
  return out;
}

}  // namespace uzfs
