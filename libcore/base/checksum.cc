// Checksums. Facts: docs/ondisk-v23.md section 1; zfs-fuse zio_checksum.c (table, embedded
// checksum verification in zio_checksum_error), OpenZFS zfs_fletcher.c.
#include "libcore/base/checksum.h"

#include "libcore/base/fletcher4.h"

#include <openssl/sha.h>

#include <cinttypes>
#include <cstdio>

namespace uzfs {

std::string ZioCksum::ToHex() const {
  char buf[80];
  std::snprintf(buf, sizeof buf, "%" PRIx64 ":%" PRIx64 ":%" PRIx64 ":%" PRIx64, word[0], word[1],
                word[2], word[3]);
  return buf;
}

namespace {

ZioCksum Fletcher2(ByteSpan d, bool swap) {
  uint64_t a0 = 0, a1 = 0, b0 = 0, b1 = 0;
  for (size_t i = 0; i + 16 <= d.size(); i += 16) {
    uint64_t w0 = LoadRaw<uint64_t>(d.data() + i), w1 = LoadRaw<uint64_t>(d.data() + i + 8);
    if (swap) {
      w0 = Bswap64(w0);
      w1 = Bswap64(w1);
    }
    a0 += w0;
    a1 += w1;
    b0 += a0;
    b1 += a1;
  }
  ZioCksum c;
  c.word[0] = a0;
  c.word[1] = a1;
  c.word[2] = b0;
  c.word[3] = b1;
  return c;
}

ZioCksum Fletcher4(ByteSpan d, bool swap) {
  Fletcher4State s;
  Fletcher4Update(&s, d, swap);
  ZioCksum r;
  r.word[0] = s.a;
  r.word[1] = s.b;
  r.word[2] = s.c;
  r.word[3] = s.d;
  return r;
}

}  // namespace

ZioCksum Fletcher2Native(ByteSpan d) { return Fletcher2(d, std::endian::native == std::endian::big); }
ZioCksum Fletcher2Byteswap(ByteSpan d) { return Fletcher2(d, std::endian::native == std::endian::little); }
ZioCksum Fletcher4Native(ByteSpan d) { return Fletcher4(d, std::endian::native == std::endian::big); }
ZioCksum Fletcher4Byteswap(ByteSpan d) { return Fletcher4(d, std::endian::native == std::endian::little); }

ZioCksum Sha256(ByteSpan d) {
  uint8_t h[SHA256_DIGEST_LENGTH];
  SHA256(d.data(), d.size(), h);
  ZioCksum c;
  for (int i = 0; i < 4; i++) c.word[i] = LoadBE64(h + 8 * i);
  return c;
}

const char* ChecksumName(uint8_t id) {
  static const char* const kNames[] = {"inherit",   "on",        "off",    "label",
                                       "gang_header", "zilog",   "fletcher2", "fletcher4",
                                       "sha256",    "zilog2"};
  return id < sizeof kNames / sizeof kNames[0] ? kNames[id] : "unknown";
}

bool ComputeChecksum(uint8_t id, ByteSpan data, bool byteswap, ZioCksum* out) {
  switch (static_cast<ChecksumId>(id)) {
    case ChecksumId::kLabel:
    case ChecksumId::kGangHeader:
    case ChecksumId::kSha256:
      *out = Sha256(data);  // byte order does not matter to SHA-256 over bytes
      return true;
    case ChecksumId::kZilog:
    case ChecksumId::kFletcher2:
      *out = byteswap ? Fletcher2Byteswap(data) : Fletcher2Native(data);
      return true;
    case ChecksumId::kFletcher4:
    case ChecksumId::kZilog2:
      *out = byteswap ? Fletcher4Byteswap(data) : Fletcher4Native(data);
      return true;
    default:
      return false;
  }
}

// zio_checksum_error for embedded checksums: the block's own zec_magic tells its byte order.
// The expected checksum is read from zec_cksum (byteswapped for a foreign block); the
// verifier is stored in the block's order, the checksum is computed with the matching
// variant, and for a foreign block the computed words are byteswapped before comparing
// (SHA-256 words are then compared swapped, as zfs-fuse does).
bool VerifyEmbeddedChecksum(uint8_t id, ByteSpan block, const ZioCksum& verifier) {
  constexpr size_t kEck = 40;
  if (block.size() < kEck) return false;
  Bytes copy(block.begin(), block.end());
  uint8_t* eck = copy.data() + copy.size() - kEck;
  uint64_t magic = LoadLE64(eck);
  bool foreign;
  if (magic == kZecMagic) {
    foreign = false;
  } else if (magic == Bswap64(kZecMagic)) {
    foreign = true;
  } else {
    return false;
  }
  ZioCksum expected;
  for (int i = 0; i < 4; i++) {
    uint64_t w = LoadLE64(eck + 8 + 8 * i);
    expected.word[i] = foreign ? Bswap64(w) : w;
    StoreLE64(eck + 8 + 8 * i, foreign ? Bswap64(verifier.word[i]) : verifier.word[i]);
  }
  ZioCksum actual;
  if (!ComputeChecksum(id, copy, foreign, &actual)) return false;
  return actual == expected;
}

void SetEmbeddedChecksum(uint8_t id, MutByteSpan block, const ZioCksum& verifier) {
  constexpr size_t kEck = 40;
  if (block.size() < kEck) return;
  uint8_t* eck = block.data() + block.size() - kEck;
  StoreLE64(eck, kZecMagic);
  for (int i = 0; i < 4; i++) StoreLE64(eck + 8 + 8 * i, verifier.word[i]);
  ZioCksum c;
  if (!ComputeChecksum(id, block, false, &c)) return;
  for (int i = 0; i < 4; i++) StoreLE64(eck + 8 + 8 * i, c.word[i]);
}

}  // namespace uzfs
