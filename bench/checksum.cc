// uzfs_checksum: the speed of each Fletcher-4 implementation and of SHA-256 over 128 KiB
// records (a pool's default block checksum and its alternative), in GB/s. A benchmark, not
// a test: it prints figures and exits 0.
//
//   uzfs_checksum [SECONDS_PER_FIGURE]   (default 0.5)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>

#include "libcore/base/checksum.h"
#include "libcore/base/fletcher4.h"

using namespace uzfs;

namespace {

double Rate(const Bytes& rec, double seconds, const std::function<uint64_t(ByteSpan)>& fn) {
  using Clock = std::chrono::steady_clock;
  uint64_t sink = 0, bytes = 0;
  const auto t0 = Clock::now();
  double el = 0;
  while (el < seconds) {
    for (int i = 0; i < 64; i++) sink += fn(rec);
    bytes += 64 * rec.size();
    el = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  if (sink == 42) std::puts("");  // keeps the sums computed
  return bytes / el / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  const double secs = argc > 1 ? std::atof(argv[1]) : 0.5;
  Bytes rec(128 << 10);
  std::mt19937_64 rng(1);
  for (auto& b : rec) b = static_cast<uint8_t>(rng());
  const struct {
    const char* name;
    Fletcher4Impl impl;
  } impls[] = {{"scalar", Fletcher4Impl::kScalar},
               {"avx2", Fletcher4Impl::kAvx2},
               {"avx512", Fletcher4Impl::kAvx512},
               {"best", Fletcher4Impl::kBest}};
  for (const auto& im : impls) {
    if (!Fletcher4Available(im.impl)) {
      std::printf("fletcher4 %-13s not on this CPU\n", im.name);
      continue;
    }
    const double r = Rate(rec, secs, [&](ByteSpan d) {
      Fletcher4State s;
      Fletcher4Update(&s, d, false, im.impl);
      return s.d;
    });
    std::printf("fletcher4 %-13s %6.2f GB/s\n", im.name, r);
  }
  std::printf("sha256                  %6.2f GB/s\n",
              Rate(rec, secs, [](ByteSpan d) { return Sha256(d).word[0]; }));
  return 0;
}
