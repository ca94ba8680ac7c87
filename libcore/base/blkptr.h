// blkptr_t and dva_t: the 128-byte block pointer (docs/ondisk-v23.md section 5; OpenZFS
// include/sys/spa.h). Stored in the byte order of the block that contains it; decoded here
// into host values once, so upper layers never touch raw words.
#pragma once

#include <cstdint>
#include <string>

#include "libcore/base/bytes.h"
#include "libcore/base/checksum.h"

namespace uzfs {

inline constexpr uint64_t kSpaMinBlockShift = 9;
inline constexpr uint64_t kSpaMinBlockSize = 512;
inline constexpr uint64_t kSpaMaxBlockSize = 128 * 1024;  // v23
// The largest block a reader accepts (OpenZFS's SPA_MAXBLOCKSIZE with large_blocks): uzfs
// writes blocks larger than kSpaMaxBlockSize only as the 2 MiB extents of dax=on files, in
// pools of version 5000.
inline constexpr uint64_t kSpaMaxLargeBlockSize = 16ULL << 20;
inline constexpr size_t kBlkPtrSize = 128;
inline constexpr int kSpaDvas = 3;

struct Dva {
  uint64_t word[2] = {0, 0};
  uint64_t vdev() const { return BF64Get(word[0], 32, 32); }
  uint64_t grid() const { return BF64Get(word[0], 24, 8); }
  uint64_t asize() const { return BF64Get(word[0], 0, 24) << kSpaMinBlockShift; }
  uint64_t offset() const { return BF64Get(word[1], 0, 63) << kSpaMinBlockShift; }
  bool gang() const { return BF64Get(word[1], 63, 1) != 0; }
  bool empty() const { return word[0] == 0 && word[1] == 0; }
  void Set(uint64_t vdev, uint64_t offset, uint64_t asize, bool gang = false);
  friend bool operator==(const Dva&, const Dva&) = default;
};

struct BlkPtr {
  Dva dva[kSpaDvas];
  uint64_t prop = 0;
  uint64_t pad[2] = {0, 0};
  uint64_t phys_birth = 0;
  uint64_t birth = 0;
  uint64_t fill = 0;
  ZioCksum cksum;

  uint64_t lsize() const { return (BF64Get(prop, 0, 16) + 1) << kSpaMinBlockShift; }
  uint64_t psize() const { return (BF64Get(prop, 16, 16) + 1) << kSpaMinBlockShift; }
  uint8_t compress() const { return static_cast<uint8_t>(BF64Get(prop, 32, 8)); }
  uint8_t checksum() const { return static_cast<uint8_t>(BF64Get(prop, 40, 8)); }
  uint8_t type() const { return static_cast<uint8_t>(BF64Get(prop, 48, 8)); }
  int level() const { return static_cast<int>(BF64Get(prop, 56, 5)); }
  bool dedup() const { return BF64Get(prop, 62, 1) != 0; }
  // True when the block's contents are little-endian (BP_GET_BYTEORDER == 1).
  bool little_endian() const { return BF64Get(prop, 63, 1) != 0; }
  // Physical birth: phys_birth, or birth when phys_birth is 0.
  uint64_t physical_birth() const { return phys_birth ? phys_birth : birth; }

  void set_lsize(uint64_t v) { prop = BF64Set(prop, 0, 16, (v >> kSpaMinBlockShift) - 1); }
  void set_psize(uint64_t v) { prop = BF64Set(prop, 16, 16, (v >> kSpaMinBlockShift) - 1); }
  void set_compress(uint8_t v) { prop = BF64Set(prop, 32, 8, v); }
  void set_checksum(uint8_t v) { prop = BF64Set(prop, 40, 8, v); }
  void set_type(uint8_t v) { prop = BF64Set(prop, 48, 8, v); }
  void set_level(int v) { prop = BF64Set(prop, 56, 5, static_cast<uint64_t>(v)); }
  void set_little_endian(bool v) { prop = BF64Set(prop, 63, 1, v ? 1 : 0); }

  bool is_hole() const { return birth == 0; }
  int ndvas() const;          // BP_GET_NDVAS: count of DVAs with a non-zero asize
  uint64_t total_asize() const;  // sum of DVA asizes (BP_GET_ASIZE)

  // Decode from 128 bytes stored in the given byte order / encode in little-endian order.
  // Inline (header only) so the vdev layer, below zio, can decode uberblocks.
  static BlkPtr Decode(const uint8_t* p, bool little) {
    BlkPtr bp;
    auto w = [&](int i) { return Load64(p + 8 * i, little); };
    for (int d = 0; d < kSpaDvas; d++) {
      bp.dva[d].word[0] = w(2 * d);
      bp.dva[d].word[1] = w(2 * d + 1);
    }
    bp.prop = w(6);
    bp.pad[0] = w(7);
    bp.pad[1] = w(8);
    bp.phys_birth = w(9);
    bp.birth = w(10);
    bp.fill = w(11);
    for (int i = 0; i < 4; i++) bp.cksum.word[i] = w(12 + i);
    return bp;
  }
  void Encode(uint8_t* p) const {
    uint64_t words[16] = {dva[0].word[0], dva[0].word[1], dva[1].word[0], dva[1].word[1],
                          dva[2].word[0], dva[2].word[1], prop,           pad[0],
                          pad[1],         phys_birth,     birth,          fill,
                          cksum.word[0],  cksum.word[1],  cksum.word[2],  cksum.word[3]};
    for (int i = 0; i < 16; i++) StoreLE64(p + 8 * i, words[i]);
  }

  // zdb's one-line form: "DVA[0]=<0:1a000:200> [L0 ZFS plain file] fletcher4 lzjb LE
  // contiguous unique single size=4000L/200P birth=12L/12P fill=1 cksum=...", or "<hole>".
  // Matches zfs-fuse's sprintf_blkptr (spa.h SPRINTF_BLKPTR) byte for byte.
  std::string ToString() const;
  friend bool operator==(const BlkPtr&, const BlkPtr&) = default;
};

// dmu_ot[type].ot_name of pool v23 ("DMU objset", "ZFS plain file"...); "unknown" past the
// table, where zfs-fuse would read out of bounds.
const char* ObjectTypeName(uint8_t type);
// zio_compress_table names as sprintf_blkptr prints them: off is "uncompressed" there.
const char* BpCompressName(uint8_t id);

}  // namespace uzfs
