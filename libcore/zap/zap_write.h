// ZAP objects, write side (zfs-fuse zap_micro.c, zap.c, zap_leaf.c).
//
// ZapStore keeps the ZAPs of one ObjsetWriter that were touched in this txg parsed in memory
// (name → entry) and re-encodes each dirty one at Flush (before the objset syncs): a
// microzap while every value is one uint64 and every name is < 50 bytes and the entries fit in
// 128K; otherwise a fat ZAP (16K blocks: header with the embedded pointer table, leaves split
// by hash prefix until each fits). A fat ZAP never goes back to micro, as in ZFS. Hashes keep
// the object's salt; collision differentiators (cd) are kept for existing entries and the
// lowest free one is given to new names with the same hash. Every block of a dirty ZAP is
// rewritten at its sync (a whole-object re-encode: simple and always consistent, costly for
// very large directories — incremental leaf updates are future work). The embedded pointer
// table (1024 entries) bounds a fat ZAP to 1024 leaves (~150,000 short names); beyond that
// Flush fails with ENOSPC.
//
// Thread safety: none (the pool serializes).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "libcore/dmu/dmu_write.h"
#include "libcore/zap/zap.h"

namespace uzfs {

inline constexpr int kFatZapBlockShift = 14;  // fzap_default_block_shift

class ZapStore {
 public:
  explicit ZapStore(ObjsetWriter* os) : os_(os) {}

  // zap_create: a new empty microzap object of `type` (block 512 unless blocksize given).
  Result<uint64_t> Create(uint8_t type, uint8_t bonustype = 0, uint16_t bonuslen = 0,
                          uint32_t blocksize = 512);
  // zap_create_claim: the same at a given object number.
  Status CreateAt(uint64_t obj, uint8_t type, uint8_t bonustype = 0, uint16_t bonuslen = 0);
  // Forces the fat form (zap_create with ZAP_FLAG? — used for objects ZFS makes fat).
  Status MakeFat(uint64_t obj);

  Result<std::optional<ZapEntry>> Lookup(uint64_t obj, std::string_view name);
  // The single-uint64 value of name: ENOENT when absent.
  Result<uint64_t> LookupInt(uint64_t obj, std::string_view name);
  // zap_add: EEXIST when present. zap_update: add or replace.
  Status Add(uint64_t obj, std::string_view name, int int_size, std::vector<uint64_t> value);
  Status Update(uint64_t obj, std::string_view name, int int_size, std::vector<uint64_t> value);
  Status AddInt(uint64_t obj, std::string_view name, uint64_t v) { return Add(obj, name, 8, {v}); }
  Status UpdateInt(uint64_t obj, std::string_view name, uint64_t v) {
    return Update(obj, name, 8, {v});
  }
  // A string value as ZFS stores properties: int_size 1, the bytes plus NUL.
  Status UpdateString(uint64_t obj, std::string_view name, std::string_view v);
  // zap_remove: ENOENT when absent.
  Status Remove(uint64_t obj, std::string_view name);
  // Every entry in cursor order (hash, cd).
  Result<std::vector<ZapEntry>> List(uint64_t obj);
  Result<uint64_t> Count(uint64_t obj);
  // Forgets a destroyed object.
  void Drop(uint64_t obj) { zaps_.erase(obj); }

  // True when some ZAP changed since the last Flush (its objset then has something to sync
  // even while ObjsetWriter::dirty() is still false).
  bool dirty() const {
    for (const auto& [obj, st] : zaps_)
      if (st.dirty) return true;
    return false;
  }
  // Writes every dirty ZAP into the objset (call before ObjsetWriter::Sync).
  Status Flush();
  // Drops the parsed copies (after a sync, to bound memory).
  void Trim();

 private:
  struct State {
    bool fat = false;
    uint64_t salt = 0;
    uint8_t type = 0;
    std::map<std::string, ZapEntry, std::less<>> entries;
    std::multimap<uint64_t, uint32_t> cds;  // hash → cd of each entry (lowest free cd lookup)
    bool dirty = false;
  };
  Result<State*> Get(uint64_t obj);
  Status Encode(uint64_t obj, State& st);
  ObjsetWriter* os_;
  std::map<uint64_t, State> zaps_;
};

// Encoders (exposed for tests). A microzap block of blocksize bytes; fat ZAP blocks (16K
// each: header then leaves). ENOSPC when the entries do not fit the form.
Result<Bytes> EncodeMicroZap(uint64_t salt, const std::vector<const ZapEntry*>& entries,
                             uint32_t blocksize);
Result<std::vector<Bytes>> EncodeFatZap(uint64_t salt, const std::vector<const ZapEntry*>& entries);

}  // namespace uzfs
