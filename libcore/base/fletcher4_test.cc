// Every Fletcher-4 implementation against the one-word-at-a-time definition: lengths around
// the lanes' group sizes, both byte orders, continuing from a non-zero state, and sums that
// wrap 2^64.
#include "libcore/base/fletcher4.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>

namespace uzfs {
namespace {

Fletcher4State Reference(Fletcher4State s, ByteSpan d, bool swap) {
  for (size_t i = 0; i + 4 <= d.size(); i += 4) {
    uint32_t w;
    std::memcpy(&w, d.data() + i, 4);
    if (swap) w = __builtin_bswap32(w);
    s.a += w, s.b += s.a, s.c += s.b, s.d += s.c;
  }
  return s;
}

bool Same(const Fletcher4State& x, const Fletcher4State& y) {
  return x.a == y.a && x.b == y.b && x.c == y.c && x.d == y.d;
}

constexpr Fletcher4Impl kImpls[] = {Fletcher4Impl::kBest, Fletcher4Impl::kScalar,
                                    Fletcher4Impl::kAvx2,
                                    Fletcher4Impl::kAvx512};

TEST(Fletcher4, EveryImplementationMatchesTheDefinition) {
  std::mt19937_64 rng(23);
  Bytes d(8192 + 13);
  for (auto& x : d) x = static_cast<uint8_t>(rng());
  int ran = 0;
  for (Fletcher4Impl impl : kImpls) {
    if (!Fletcher4Available(impl)) continue;
    ran++;
    for (size_t len : {0, 3, 4, 60, 252, 256, 260, 284, 512, 1020, 1024, 4096, 4100, 8192, 8205}) {
      for (bool swap : {false, true}) {
        ByteSpan span(d.data(), len);
        Fletcher4State s;
        Fletcher4Update(&s, span, swap, impl);
        EXPECT_TRUE(Same(s, Reference({}, span, swap)))
            << "impl " << static_cast<int>(impl) << " len " << len << " swap " << swap;
        // Continuing a running sum, as a send stream does record after record.
        Fletcher4State start{rng(), rng(), rng(), rng()};
        Fletcher4State t = start;
        Fletcher4Update(&t, span, swap, impl);
        EXPECT_TRUE(Same(t, Reference(start, span, swap)))
            << "continued: impl " << static_cast<int>(impl) << " len " << len;
      }
    }
  }
  EXPECT_GE(ran, 2);  // best and scalar run everywhere
}

TEST(Fletcher4, SumsThatWrapAgree) {
  // All-ones words drive d past 2^64 within a 128 KiB record.
  Bytes d(128 << 10, 0xff);
  const Fletcher4State want = Reference({}, d, false);
  // d = w * C(n+3, 4) exactly: past 2^64, and the definition keeps it mod 2^64.
  const unsigned __int128 n = d.size() / 4;
  const unsigned __int128 exact = 0xffffffffULL * (n * (n + 1) * (n + 2) * (n + 3) / 24);
  EXPECT_NE(static_cast<uint64_t>(exact >> 64), 0u);
  EXPECT_EQ(want.d, static_cast<uint64_t>(exact));
  for (Fletcher4Impl impl : kImpls) {
    if (!Fletcher4Available(impl)) continue;
    Fletcher4State s;
    Fletcher4Update(&s, d, false, impl);
    EXPECT_TRUE(Same(s, want)) << "impl " << static_cast<int>(impl);
  }
}

TEST(Fletcher4, SplitAnywhereGivesTheWholeSum) {
  std::mt19937_64 rng(5);
  Bytes d(4096);
  for (auto& x : d) x = static_cast<uint8_t>(rng());
  Fletcher4State whole;
  Fletcher4Update(&whole, d, false);
  for (size_t cut = 0; cut <= d.size(); cut += 4 * 37) {
    Fletcher4State s;
    Fletcher4Update(&s, ByteSpan(d.data(), cut), false);
    Fletcher4Update(&s, ByteSpan(d.data() + cut, d.size() - cut), false);
    EXPECT_TRUE(Same(s, whole)) << "cut " << cut;
  }
}

}  // namespace
}  // namespace uzfs
