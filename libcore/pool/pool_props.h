// Pool properties (zpool_prop.c at v23, plus OpenZFS's comment) and the encoding of dataset
// properties given at pool creation (-O), as zfs_prop.c stores them in a DSL props ZAP:
// index and number properties as one uint64, strings as NUL-terminated byte arrays.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "libcore/base/status.h"
#include "libcore/base/zfs_prop.h"
#include "libcore/zap/zap_write.h"

namespace uzfs {

struct PoolPropDef {
  const char* name;
  PropKind kind;
  bool readonly;       // computed (size, health...)
  bool create_only;    // settable only at create/import (altroot, readonly)
  const char* dflt;    // default as printed
  std::vector<std::pair<const char*, uint64_t>> values;  // index values
};

// The pool properties in `zpool get all` order.
const std::vector<PoolPropDef>& PoolProps();
const PoolPropDef* FindPoolProp(const std::string& name);

// Checks names and values of -o properties (EINVAL / EROFS with OpenZFS's wording,
// e.g. "property 'foo' is not a valid pool property").
Status ValidatePoolProps(const std::map<std::string, std::string>& props, bool at_create);
// Encodes a valid value for the props ZAP: index/bool → its number, number → parsed.
Status ParsePoolPropValue(const PoolPropDef& d, const std::string& value, uint64_t* num);


// Stores one dataset property in a DSL props ZAP (EncodeDatasetProp's checks first).
Status StoreDatasetProp(ZapStore& zaps, uint64_t props_zap, const std::string& name,
                        const std::string& value);

}  // namespace uzfs
