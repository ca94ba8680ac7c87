// ZAP objects, read side: micro and fat ZAP (docs/ondisk-v23.md section 7; zfs-fuse zap_impl.h,
// zap_leaf.h, zap_micro.c, zap_leaf.c, zap.c).
//
// Microzap: one block; 64-byte header (block type 2^63+3, salt), then 64-byte entries
// {value u64, cd u32, pad u16, name[50]}. Fat ZAP: block 0 = header (type 2^63+1, magic
// 0x2F52AB2AB, pointer table {blk, numblks, shift, nextblk, blks_copied}, freeblk, num_leafs,
// num_entries, salt), pointer table embedded in the second half of block 0 when numblks = 0;
// leaves (type 2^63) with 2^(bs-5) uint16 hash buckets, then 24-byte chunks: entries (252),
// arrays (251, 21 bytes + next), free (253). Array contents are big-endian.
//
// Cursor order (what zap_cursor and so zdb and `zfs list` see) is by (hash, cd); Entries()
// returns that order.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "libcore/base/bytes.h"
#include "libcore/base/status.h"
#include "libcore/dmu/dmu.h"

namespace uzfs {

inline constexpr uint64_t kZbtLeaf = (1ULL << 63) + 0;
inline constexpr uint64_t kZbtHeader = (1ULL << 63) + 1;
inline constexpr uint64_t kZbtMicro = (1ULL << 63) + 3;
inline constexpr uint64_t kZapMagic = 0x2F52AB2ABULL;
inline constexpr uint32_t kZapLeafMagic = 0x2AB1EAF;
inline constexpr int kZapHashBits = 28;  // v23: no ZAP_FLAG_HASH64

// zap_hash: salted CRC-64 (ECMA-182 reflected polynomial) of the name bytes (no NUL), keeping
// the top 28 bits.
uint64_t ZapHash(uint64_t salt, std::string_view name);

struct ZapEntry {
  std::string name;
  int int_size = 8;             // bytes per integer: 1, 2, 4 or 8
  std::vector<uint64_t> value;  // value_numints integers
  uint64_t hash = 0;
  uint32_t cd = 0;
  uint64_t first() const { return value.empty() ? 0 : value[0]; }
};

class Zap {
 public:
  // Loads object obj of os (any ZAP type). ECORRUPT when it is not a valid ZAP.
  static Result<Zap> Open(ObjSet& os, uint64_t obj);
  // The same for a dnode already in hand (the objset_phys's user/group-used objects have no
  // slot in the meta-dnode). obj only names the object in error messages.
  static Result<Zap> Open(ObjSet& os, const DnodePhys& dn, uint64_t obj);
  // The same over any source of the object's level-0 blocks (the write side's objsets).
  using BlockFn = std::function<Result<Bytes>(uint64_t blkid)>;
  static Result<Zap> Parse(const DnodePhys& dn, uint64_t obj, const BlockFn& read_block);
  bool micro() const { return micro_; }
  uint64_t salt() const { return salt_; }
  // Every entry in cursor order.
  const std::vector<ZapEntry>& entries() const { return entries_; }
  const ZapEntry* Find(std::string_view name) const;
  // The single-integer value of name; ENOENT when absent, EOVERFLOW when not one integer.
  Result<uint64_t> Lookup(std::string_view name) const;
  // Fat ZAP statistics for zdb: leaves, pointer table.
  // zap_stats_t histograms of a fat ZAP (zap_leaf_stats), ZAP_HISTOGRAM_SIZE buckets each:
  // leaves with 2^n pointers, leaves with n*5 entries, leaves n/10 full, entries using n
  // chunks, hash buckets with n entries.
  static constexpr int kHistogramSize = 10;
  uint64_t leafs_with_2n_pointers[kHistogramSize] = {};
  uint64_t blocks_with_n5_entries[kHistogramSize] = {};
  uint64_t blocks_n_tenths_full[kHistogramSize] = {};
  uint64_t entries_using_n_chunks[kHistogramSize] = {};
  uint64_t buckets_with_n_entries[kHistogramSize] = {};
  uint64_t hdr_num_entries = 0, freeblk = 0;
  uint64_t num_leafs = 0, ptrtbl_blk = 0, ptrtbl_numblks = 0, ptrtbl_shift = 0,
           ptrtbl_nextblk = 0, ptrtbl_blks_copied = 0, block_type = 0, magic = 0;

 private:
  bool micro_ = false;
  uint64_t salt_ = 0;
  std::vector<ZapEntry> entries_;
};

}  // namespace uzfs
