// NvList: ZFS's name-value lists, with the XDR encoding that vdev labels, the MOS "config"
// object, pool history and (later) the daemon socket use.
//
// Format facts: docs/ondisk-v23.md section 2 (zfs-fuse libnvpair/nvpair.c nvs_xdr_*).
// The encoder writes, and the decoder checks, decoded_size exactly as libnvpair computes it,
// because zfs-fuse and OpenZFS reject a pair whose decoded_size is off.
//
// Pairs keep insertion order (as libnvpair does); names are unique (NV_UNIQUE_NAME): adding
// an existing name replaces its value in place.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "libcore/base/bytes.h"
#include "libcore/base/status.h"

namespace uzfs {

// data_type_t values from sys/nvpair.h.
enum class NvType : int32_t {
  kBoolean = 1,  // name only, no value
  kByte = 2,
  kInt16 = 3,
  kUint16 = 4,
  kInt32 = 5,
  kUint32 = 6,
  kInt64 = 7,
  kUint64 = 8,
  kString = 9,
  kByteArray = 10,
  kInt16Array = 11,
  kUint16Array = 12,
  kInt32Array = 13,
  kUint32Array = 14,
  kInt64Array = 15,
  kUint64Array = 16,
  kStringArray = 17,
  kHrtime = 18,
  kNvList = 19,
  kNvListArray = 20,
  kBooleanValue = 21,
  kInt8 = 22,
  kUint8 = 23,
  kBooleanArray = 24,
  kInt8Array = 25,
  kUint8Array = 26,
  kDouble = 27,
};

class NvList;

// One value. Integer scalars of every width are held as int64/uint64 with their NvType
// remembered, so a round trip reproduces the original bytes.
struct NvValue {
  NvType type = NvType::kBoolean;
  uint64_t u = 0;                       // unsigned scalars, boolean_value, byte, hrtime
  int64_t i = 0;                        // signed scalars
  double d = 0;                         // kDouble
  std::string s;                        // kString
  std::vector<uint64_t> u_arr;          // unsigned arrays, byte arrays, boolean arrays
  std::vector<int64_t> i_arr;           // signed arrays
  std::vector<std::string> s_arr;       // kStringArray
  std::vector<NvList> lists;            // kNvList (exactly one) and kNvListArray
};

class NvList {
 public:
  struct Pair {
    std::string name;
    NvValue value;
  };

  NvList() = default;

  // --- building ---
  void AddBoolean(std::string_view name);  // name-only flag (DATA_TYPE_BOOLEAN)
  void AddBooleanValue(std::string_view name, bool v);
  void AddUint64(std::string_view name, uint64_t v);
  void AddInt64(std::string_view name, int64_t v);
  void AddUint32(std::string_view name, uint32_t v);
  void AddString(std::string_view name, std::string_view v);
  void AddNvList(std::string_view name, NvList v);
  void AddNvListArray(std::string_view name, std::vector<NvList> v);
  void AddUint64Array(std::string_view name, std::vector<uint64_t> v);
  void AddStringArray(std::string_view name, std::vector<std::string> v);
  void AddValue(std::string_view name, NvValue v);  // any type
  bool Remove(std::string_view name);

  // --- reading --- (nullopt / nullptr when the name is missing or has another type)
  bool Has(std::string_view name) const;
  const NvValue* Find(std::string_view name) const;
  std::optional<uint64_t> GetUint64(std::string_view name) const;  // any unsigned scalar type
  std::optional<int64_t> GetInt64(std::string_view name) const;    // any signed scalar type
  const std::string* GetString(std::string_view name) const;
  const NvList* GetNvList(std::string_view name) const;
  const std::vector<NvList>* GetNvListArray(std::string_view name) const;
  const std::vector<uint64_t>* GetUint64Array(std::string_view name) const;
  const std::vector<Pair>& pairs() const { return pairs_; }
  bool empty() const { return pairs_.empty(); }

  // --- XDR ---
  // Top-level packed form: 4-byte header {encoding=1 (XDR), endian=1, 0, 0}, then the list.
  Bytes EncodeXdr() const;
  // Decodes a top-level packed list (XDR encoding; the native encoding is rejected with
  // ENOTSUP). Never reads past data; malformed input gives ECORRUPT/EINVAL, never a crash.
  static Result<NvList> DecodeXdr(ByteSpan data);

  // zdb's dump format ("    name: value" lines, nested lists indented four more spaces,
  // strings single-quoted, arrays as "children[0]:" blocks), as zfs-fuse's dump_nvlist.
  std::string Dump(int indent = 0) const;

  friend bool operator==(const NvList& a, const NvList& b);

 private:
  Pair* FindMut(std::string_view name);
  std::vector<Pair> pairs_;
};

bool operator==(const NvValue& a, const NvValue& b);

}  // namespace uzfs
