// Pool version 5000 and feature flags: the features uzfs knows, what a v5000 pool's label
// carries of them, and the checks that refuse a pool using features we do not know
// (OpenZFS zfeature_common.c for the table, zfeature.c and spa.c spa_ld_select_uberblock /
// spa_ld_check_features for the rules; docs/ondisk-v23.md section 11).
//
// A pool of version <= 23 has no features: nothing here applies to it and nothing of it is
// written. A pool of version 5000 (SPA_VERSION_FEATURES) has, in the MOS object directory,
// three ZAPs keyed by feature guid ("com.uzfs:dax"): features_for_read (uint64 refcounts of
// the read-incompatible features), features_for_write (those of the read-only compatible
// ones) and feature_descriptions (the description strings). A feature with an entry is
// enabled; with a refcount above 0, active. Every config (labels, MOS config object) carries
// features_for_read: an nvlist of booleans (name only) naming the active features a reader
// needs to read the MOS at all (ZFEATURE_FLAG_MOS), so a system that does not know one refuses
// the pool from its label. Here the ZAP contents are plain maps: the ZAP objects themselves
// are read and written by Pool (libcore/pool/pool_features.cc; the zap layer sits above this
// one).
//
// Thread safety: constant tables and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"

namespace uzfs {

// SPA_VERSION_FEATURES: the pool version of feature-flag pools (every legacy version below it
// is implied; uzfs's v5000 pools keep v23's MOS layout, which only a reader knowing
// com.uzfs:dax may rely on: docs/ondisk-v23.md section 11).
inline constexpr uint64_t kSpaVersionFeatures = 5000;
// The newest legacy version uzfs reads and writes.
inline constexpr uint64_t kSpaVersionLegacy = 23;
// SPA_VERSION_IS_SUPPORTED for us: 1..23, and 5000.
constexpr bool SpaVersionSupported(uint64_t v) {
  return (v >= 1 && v <= kSpaVersionLegacy) || v == kSpaVersionFeatures;
}

// DMU_OTN_ZAP_METADATA: the object type of the three feature ZAPs (a "new type": 0x80, with
// the metadata bit 0x40 and DMU_BSWAP_ZAP, 4).
inline constexpr uint8_t kOtnZapMetadata = 0xc4;

// The MOS object directory's names (DMU_POOL_FEATURES_FOR_READ ...) and the config's.
inline constexpr char kFeaturesForRead[] = "features_for_read";
inline constexpr char kFeaturesForWrite[] = "features_for_write";
inline constexpr char kFeatureDescriptions[] = "feature_descriptions";

// The features uzfs knows (zfeature_info_t).
struct SpaFeatureInfo {
  const char* guid;         // "com.uzfs:dax": the ZAP and label key
  const char* name;         // "dax": the short name (feature@dax)
  const char* description;  // what feature_descriptions holds
  bool readonly_compat;     // ZFEATURE_FLAG_READONLY_COMPAT: in features_for_write
  bool mos;                 // ZFEATURE_FLAG_MOS: named in the label's features_for_read
};

inline constexpr char kFeatureDax[] = "com.uzfs:dax";

const std::vector<SpaFeatureInfo>& SpaFeatureTable();
// By guid ("com.uzfs:dax") or short name ("dax"); nullptr when unknown.
const SpaFeatureInfo* FindSpaFeature(std::string_view guid_or_name);

// ---- The same under a first draft's names (kept for code written against them;
// FeaturesForReadNvlist is what spa_config.cc writes the configs' list with).
inline constexpr const char* kZapFeaturesForRead = kFeaturesForRead;
inline constexpr const char* kZapFeaturesForWrite = kFeaturesForWrite;
inline constexpr const char* kZapFeatureDescriptions = kFeatureDescriptions;
struct FeatureInfo {
  const char* guid;
  const char* description;
};
// The features we know, as {guid, description}.
const std::vector<FeatureInfo>& KnownFeatures();
const FeatureInfo* FindFeature(const std::string& guid);
// The config's features_for_read nvlist for these active features (booleans).
NvList FeaturesForReadNvlist(const std::set<std::string>& active);
// ENOTSUP (UnsupportedFeaturesError) when a name of names is unknown.
Status CheckSupported(const std::vector<std::string>& names);
// ----

// (a) A config's features_for_read: a boolean for every active (refcount > 0) feature of
// refcounts (guid -> refcount) that the MOS needs (mos flag), in table order.
NvList LabelFeatures(const std::map<std::string, uint64_t>& refcounts);

// One feature a pool uses that we do not know, and its description when the pool has one.
struct UnsupportedFeature {
  std::string guid;
  std::string description;
};
// ENOTSUP with OpenZFS's words (zpool_import_props, zpool_print_unsup_feat):
//   This pool uses the following feature(s) not supported by this system:
//   \tcom.example:x (its description)
// one line per feature (a feature without description: its name only).
Status UnsupportedFeaturesError(const std::vector<UnsupportedFeature>& unsup);

// (d) The label's part (spa_ld_select_uberblock), for a config of version >= 5000: ECORRUPT
// "invalid label: 'features_for_read' missing" without the nvlist; the unknown names in it
// otherwise (empty when all are known). Versions below 5000: nothing is checked.
Result<std::vector<UnsupportedFeature>> UnsupportedLabelFeatures(const NvList& config);
// The MOS's part (spa_features_check): the features of for_read (guid -> refcount) with a
// refcount above 0 that we do not know, with their descriptions (guid -> description).
std::vector<UnsupportedFeature> UnsupportedMosFeatures(
    const std::map<std::string, uint64_t>& for_read,
    const std::map<std::string, std::string>& descriptions);

}  // namespace uzfs
