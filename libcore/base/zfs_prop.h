// Property tables shared by the engine and the command-line tools (OpenZFS's zcommon
// zfs_prop.c): the dataset properties of pool version 23, their values and defaults, and
// parsing of sizes and values.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "libcore/base/status.h"

namespace uzfs {

enum class PropKind { kNumber, kString, kIndex, kBool };

// A size as zfs_nicestrtonum reads it: decimal, optionally with a fraction and a B/K/M/G/T/P/E
// suffix (base 1024; "G", "GB", "GiB"). EINVAL "bad numeric value 'x'" or "invalid numeric
// suffix 'x'", ERANGE "numeric value is too large".
Status ParseSize(const std::string& s, uint64_t* out);

// Dataset properties (zfs_prop.c at pool version 23). Values of index and number properties
// are one uint64 in the dataset's DSL props ZAP, strings a NUL-terminated byte array; user
// properties ("module:name") are strings.
inline constexpr uint8_t kDsFilesystem = 1, kDsSnapshot = 2, kDsVolume = 4;
struct DatasetPropDef {
  const char* name;
  PropKind kind;      // kNumber, kString or kIndex
  bool readonly;      // computed: used, available, creation...
  bool inherit;       // children take the value of the nearest ancestor that sets it
  const char* dflt;   // the default as stored (number or index name); "" for computed ones
  uint8_t types;      // kDsFilesystem | kDsSnapshot | kDsVolume
  const char* header; // column header of `zfs list -o`
  std::vector<std::pair<const char*, uint64_t>> values;  // index values
};
// In `zfs get all` order.
const std::vector<DatasetPropDef>& DatasetPropDefs();
const DatasetPropDef* FindDatasetProp(const std::string& name);
// The property a name stands for, as zprop_name_to_prop (zprop_common.c propname_match)
// takes it in userland: its name, or its column header in lower case ("rdonly", "compress",
// "recsize", "reserv", "refreserv"...). The name unchanged when it names none.
std::string CanonicalPropName(const std::string& name);
bool IsUserProp(const std::string& name);
// The name of index value v of d (the number itself when unknown).
std::string IndexName(const DatasetPropDef& d, uint64_t v);

struct DatasetPropValue {
  bool is_string = false;
  uint64_t num = 0;
  std::string str;
};
// Checks a value for a settable property and encodes it as the props ZAP holds it ("none"
// → 0 for quotas and reservations). EINVAL with zfs's words: "invalid property 'foo'",
// "'compression' must be one of 'on | off | ...'", "bad numeric value 'x'", "'used' is
// readonly".
Status EncodeDatasetProp(const std::string& name, const std::string& value, DatasetPropValue* out);

// A volume's default block size (ZVOL_DEFAULT_BLOCKSIZE).
inline constexpr uint64_t kVolBlockSizeDefault = 8192;
// zvol_volsize_to_reservation (libzfs_dataset.c): the refreservation `zfs create -V` gives
// without -s — the data times copies plus room for every indirect block (a 16K block each,
// copies+1 of them, from the meta-dnode's 7 levels down).
uint64_t ZvolSizeToReservation(uint64_t volsize, uint64_t volblocksize, int copies);


}  // namespace uzfs
