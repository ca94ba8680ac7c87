// Block checksums: fletcher2, fletcher4 (each native and byteswapped) and SHA-256, producing
// the 4-word zio_cksum_t stored in a blkptr. Facts: docs/ondisk-v23.md section 1,
// OpenZFS module/zcommon/zfs_fletcher.c, zfs-fuse libzpool/sha256.c.
#pragma once

#include <cstdint>
#include <string>

#include "libcore/base/bytes.h"

namespace uzfs {

struct ZioCksum {
  uint64_t word[4] = {0, 0, 0, 0};
  friend bool operator==(const ZioCksum&, const ZioCksum&) = default;
  std::string ToHex() const;  // "w0:w1:w2:w3" in hex, as zdb prints cksum=
};

// Length must be a multiple of 16 (fletcher2) / 4 (fletcher4); trailing bytes are ignored,
// as in ZFS. "byteswap" variants compute over data written in the other byte order.
ZioCksum Fletcher2Native(ByteSpan data);
ZioCksum Fletcher2Byteswap(ByteSpan data);
ZioCksum Fletcher4Native(ByteSpan data);
ZioCksum Fletcher4Byteswap(ByteSpan data);
// zc_word[i] = big-endian uint64 of digest bytes 8i..8i+7 (OpenSSL's SHA-256).
ZioCksum Sha256(ByteSpan data);

// Checksum algorithm ids (enum zio_checksum, pool v23).
enum class ChecksumId : uint8_t {
  kInherit = 0,
  kOn = 1,
  kOff = 2,
  kLabel = 3,       // SHA-256, embedded (zio_eck_t at the end), verifier = offset
  kGangHeader = 4,  // SHA-256, embedded, verifier = {vdev, offset, phys birth, 0}
  kZilog = 5,       // fletcher2, embedded
  kFletcher2 = 6,
  kFletcher4 = 7,
  kSha256 = 8,
  kZilog2 = 9,      // fletcher4, embedded
  kFunctions = 10,
};

// Name as zdb/zfs print it ("fletcher4", "sha256", "label"...); "unknown" when out of range.
const char* ChecksumName(uint8_t id);

// Computes checksum `id` over data; byteswap selects the foreign-order variant.
// Returns false for ids that have no function (inherit, on, off).
bool ComputeChecksum(uint8_t id, ByteSpan data, bool byteswap, ZioCksum* out);

// Embedded checksums (label, gang header, zil): the block ends in a 40-byte zio_eck_t
// {uint64 zec_magic = 0x0210da7ab10c7a11, ZioCksum zec_cksum}. Verify: save zec_cksum,
// store `verifier` there, compute SHA-256 (label, gang) or fletcher over the whole block,
// compare. Handles either byte order (magic tells). Does not modify data.
inline constexpr uint64_t kZecMagic = 0x0210da7ab10c7a11ULL;
bool VerifyEmbeddedChecksum(uint8_t id, ByteSpan block, const ZioCksum& verifier);
// Fills zec_magic and zec_cksum of a block in native order (for writers and tests).
void SetEmbeddedChecksum(uint8_t id, MutByteSpan block, const ZioCksum& verifier);

}  // namespace uzfs
