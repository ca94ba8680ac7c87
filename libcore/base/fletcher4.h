// Fletcher-4, the checksum of nearly every block a pool writes, computed over several lanes at
// once (SIMD where the CPU has it; see fletcher4.cc for the algebra). Every implementation
// gives the same sums as the plain one-word-at-a-time loop.
//
// Thread safety: stateless apart from the one-time choice of implementation.
#pragma once

#include <cstdint>

#include "libcore/base/bytes.h"

namespace uzfs {

// The running sums {a, b, c, d} (zio_cksum_t's four words); all zero to start.
struct Fletcher4State {
  uint64_t a = 0, b = 0, c = 0, d = 0;
};

enum class Fletcher4Impl { kBest, kScalar, kAvx2, kAvx512 };

// Whether impl runs on this CPU (kBest and kScalar always do).
bool Fletcher4Available(Fletcher4Impl impl);

// Continues *s over data's whole 32-bit words (a trailing partial word is ignored, as ZFS
// does); swap reads each word in the other byte order. impl other than kBest is for tests
// and benchmarks: one this CPU lacks falls back to the scalar loop.
void Fletcher4Update(Fletcher4State* s, ByteSpan data, bool swap,
                     Fletcher4Impl impl = Fletcher4Impl::kBest);

}  // namespace uzfs
