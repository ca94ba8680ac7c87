// Fletcher-4 over several interleaved lanes at once (the idea of OpenZFS's
// zfs_fletcher_superscalar4.c / zfs_fletcher_intel.c / zfs_fletcher_avx512.c; the algebra
// below is derived here).
//
// Fletcher-4 over 32-bit words w_1..w_n keeps a += w, b += a, c += b, d += c (mod 2^64), so
// a = Σ w_i and b, c, d weigh w_i by u, u(u+1)/2 and u(u+1)(u+2)/6 where u = n - i + 1.
// Split the words into L lanes (word i goes to lane j = (i-1) mod L) and run Fletcher-4 on
// each lane alone: lane j's sums A_j, B_j, C_j, D_j weigh its words by 1, t, t(t+1)/2 and
// t(t+1)(t+2)/6, where t counts from the lane's end, and u = L*t - j. Expanding the
// whole-stream weights in that basis gives, exactly and mod 2^64:
//   a = Σ A_j
//   b = Σ L B_j - j A_j
//   c = Σ L² C_j - (L(L-1)/2 + L j) B_j + j(j-1)/2 A_j
//   d = Σ L³ D_j - L²(L-1+j) C_j + L((L-1)(L-2) + 3j(L+j-2))/6 B_j - j(j-1)(j-2)/6 A_j
// The lanes are independent, so they run in SIMD registers (AVX2: 4 lanes, AVX-512: 8; as
// scalar chains they would need more registers than x86-64 has, and run slower than the
// plain loop). The words past the last whole group of L continue the combined sums one at a
// time; a CPU without AVX2 uses the plain loop.
#include <bit>
#include <cstring>

#include "libcore/base/checksum.h"
#include "libcore/base/fletcher4.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace uzfs {

namespace {

// The combination above: the sums of the lanes' words as one stream (from zero).
template <int L>
Fletcher4State Combine(const uint64_t (&A)[L], const uint64_t (&B)[L], const uint64_t (&C)[L],
                       const uint64_t (&D)[L]) {
  constexpr int64_t l = L;
  auto u = [](int64_t v) { return static_cast<uint64_t>(v); };  // negatives wrap mod 2^64
  Fletcher4State s;
  for (int64_t j = 0; j < L; j++) {
    s.a += A[j];
    s.b += u(l) * B[j] - u(j) * A[j];
    s.c += u(l * l) * C[j] - u(l * (l - 1) / 2 + l * j) * B[j] + u(j * (j - 1) / 2) * A[j];
    s.d += u(l * l * l) * D[j] - u(l * l * (l - 1 + j)) * C[j] +
           u(l * ((l - 1) * (l - 2) + 3 * j * (l + j - 2)) / 6) * B[j] -
           u(j * (j - 1) * (j - 2) / 6) * A[j];
  }
  return s;
}

// Continues s over n more words whose own sums (from zero) are x: appending n words to a
// prefix shifts the prefix's weights, b' = b + n a, c' = c + n b + n(n+1)/2 a,
// d' = d + n c + n(n+1)/2 b + n(n+1)(n+2)/6 a.
void Append(Fletcher4State* s, uint64_t n, const Fletcher4State& x) {
  const unsigned __int128 N = n;  // the binomials exactly, then mod 2^64
  const uint64_t t2 = static_cast<uint64_t>(N * (N + 1) / 2);
  const uint64_t t3 = static_cast<uint64_t>(N * (N + 1) * (N + 2) / 6);
  const uint64_t a0 = s->a, b0 = s->b, c0 = s->c;
  s->d += x.d + n * c0 + t2 * b0 + t3 * a0;
  s->c += x.c + n * b0 + t2 * a0;
  s->b += x.b + n * a0;
  s->a += x.a;
}

inline uint32_t Word(const uint8_t* p, bool swap) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return swap ? __builtin_bswap32(w) : w;
}

void Scalar(Fletcher4State* s, const uint8_t* p, size_t words, bool swap) {
  uint64_t a = s->a, b = s->b, c = s->c, d = s->d;
  for (size_t i = 0; i < words; i++) {
    a += Word(p + 4 * i, swap);
    b += a;
    c += b;
    d += c;
  }
  *s = {a, b, c, d};
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) size_t Avx2(Fletcher4State* s, const uint8_t* p, size_t words,
                                             bool swap) {
  const size_t groups = words / 4;
  if (groups == 0) return 0;
  const __m128i bswap = _mm_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  for (size_t g = 0; g < groups; g++) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * g));
    if (swap) v = _mm_shuffle_epi8(v, bswap);
    const __m256i w = _mm256_cvtepu32_epi64(v);
    a = _mm256_add_epi64(a, w);
    b = _mm256_add_epi64(b, a);
    c = _mm256_add_epi64(c, b);
    d = _mm256_add_epi64(d, c);
  }
  uint64_t A[4], B[4], C[4], D[4];
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(A), a);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(B), b);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(C), c);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(D), d);
  Append(s, groups * 4, Combine<4>(A, B, C, D));
  return groups * 4;
}

__attribute__((target("avx512f,avx2"))) size_t Avx512(Fletcher4State* s, const uint8_t* p,
                                                        size_t words, bool swap) {
  const size_t groups = words / 8;
  if (groups == 0) return 0;
  const __m256i bswap = _mm256_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3, 2,
                                         1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
  __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
  for (size_t g = 0; g < groups; g++) {
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * g));
    if (swap) v = _mm256_shuffle_epi8(v, bswap);
    // The masked form: the plain one passes GCC 12 an "undefined" source it warns about.
    const __m512i w = _mm512_maskz_cvtepu32_epi64(0xff, v);
    a = _mm512_add_epi64(a, w);
    b = _mm512_add_epi64(b, a);
    c = _mm512_add_epi64(c, b);
    d = _mm512_add_epi64(d, c);
  }
  uint64_t A[8], B[8], C[8], D[8];
  _mm512_storeu_si512(A, a);
  _mm512_storeu_si512(B, b);
  _mm512_storeu_si512(C, c);
  _mm512_storeu_si512(D, d);
  Append(s, groups * 8, Combine<8>(A, B, C, D));
  return groups * 8;
}
#endif

using LanesFn = size_t (*)(Fletcher4State*, const uint8_t*, size_t, bool);

LanesFn Pick(Fletcher4Impl impl) {
  switch (impl) {
    case Fletcher4Impl::kScalar:
      return nullptr;
#if defined(__x86_64__)
    case Fletcher4Impl::kAvx2:
      return __builtin_cpu_supports("avx2") ? Avx2 : nullptr;
    case Fletcher4Impl::kAvx512:
      return __builtin_cpu_supports("avx512f") ? Avx512 : nullptr;
#endif
    default:
      return nullptr;
  }
}

// The fastest this CPU has, chosen once.
LanesFn Best() {
  static const LanesFn fn = [] {
    for (Fletcher4Impl i : {Fletcher4Impl::kAvx512, Fletcher4Impl::kAvx2})
      if (LanesFn f = Pick(i)) return f;
    return LanesFn{nullptr};
  }();
  return fn;
}

}  // namespace

bool Fletcher4Available(Fletcher4Impl impl) {
  return impl == Fletcher4Impl::kBest || impl == Fletcher4Impl::kScalar || Pick(impl) != nullptr;
}

void Fletcher4Update(Fletcher4State* s, ByteSpan data, bool swap, Fletcher4Impl impl) {
  const uint8_t* p = data.data();
  size_t words = data.size() / 4;
  LanesFn fn = impl == Fletcher4Impl::kBest ? Best() : Pick(impl);
  // Short inputs (a ZAP header, a dnode's bonus) are not worth the lanes' set-up.
  if (fn && words >= 64) {
    size_t done = fn(s, p, words, swap);
    p += 4 * done;
    words -= done;
  }
  Scalar(s, p, words, swap);
}

}  // namespace uzfs
