// Byte coding: fixed-width loads and stores in either byte order, and byte swapping.
// On-disk ZFS structures are in the writer's native order (marked by a flag or magic);
// these helpers never assume the host order matches.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <vector>

namespace uzfs {

// Buffers of a page or more start on a page boundary, so that direct I/O (vdevs opened
// O_DIRECT need memory aligned to the device's DMA alignment, often 512 bytes) reads into
// and writes from them in place rather than through a bounce buffer and a copy.
template <class T>
struct IoAlignedAllocator {
  using value_type = T;
  static constexpr size_t kAlign = 4096;
  IoAlignedAllocator() noexcept = default;
  template <class U>
  constexpr IoAlignedAllocator(const IoAlignedAllocator<U>&) noexcept {}
  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes >= kAlign) return static_cast<T*>(::operator new(bytes, std::align_val_t{kAlign}));
    return static_cast<T*>(::operator new(bytes));
  }
  // Unsized deletes: clang (the fuzz build) does not declare the sized ones by default.
  void deallocate(T* p, size_t n) noexcept {
    if (n * sizeof(T) >= kAlign) ::operator delete(p, std::align_val_t{kAlign});
    else ::operator delete(p);
  }
  template <class U>
  bool operator==(const IoAlignedAllocator<U>&) const noexcept { return true; }
};

using Bytes = std::vector<uint8_t, IoAlignedAllocator<uint8_t>>;
using ByteSpan = std::span<const uint8_t>;
using MutByteSpan = std::span<uint8_t>;

inline uint16_t Bswap16(uint16_t v) { return __builtin_bswap16(v); }
inline uint32_t Bswap32(uint32_t v) { return __builtin_bswap32(v); }
inline uint64_t Bswap64(uint64_t v) { return __builtin_bswap64(v); }

template <typename T>
inline T LoadRaw(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename T>
inline void StoreRaw(void* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

inline uint16_t LoadLE16(const void* p) {
  auto v = LoadRaw<uint16_t>(p);
  return std::endian::native == std::endian::little ? v : Bswap16(v);
}
inline uint32_t LoadLE32(const void* p) {
  auto v = LoadRaw<uint32_t>(p);
  return std::endian::native == std::endian::little ? v : Bswap32(v);
}
inline uint64_t LoadLE64(const void* p) {
  auto v = LoadRaw<uint64_t>(p);
  return std::endian::native == std::endian::little ? v : Bswap64(v);
}
inline uint32_t LoadBE32(const void* p) {
  auto v = LoadRaw<uint32_t>(p);
  return std::endian::native == std::endian::big ? v : Bswap32(v);
}
inline uint64_t LoadBE64(const void* p) {
  auto v = LoadRaw<uint64_t>(p);
  return std::endian::native == std::endian::big ? v : Bswap64(v);
}
inline uint16_t LoadBE16(const void* p) {
  auto v = LoadRaw<uint16_t>(p);
  return std::endian::native == std::endian::big ? v : Bswap16(v);
}
inline void StoreLE16(void* p, uint16_t v) {
  StoreRaw(p, std::endian::native == std::endian::little ? v : Bswap16(v));
}
inline void StoreLE32(void* p, uint32_t v) {
  StoreRaw(p, std::endian::native == std::endian::little ? v : Bswap32(v));
}
inline void StoreLE64(void* p, uint64_t v) {
  StoreRaw(p, std::endian::native == std::endian::little ? v : Bswap64(v));
}
inline void StoreBE32(void* p, uint32_t v) {
  StoreRaw(p, std::endian::native == std::endian::big ? v : Bswap32(v));
}
inline void StoreBE64(void* p, uint64_t v) {
  StoreRaw(p, std::endian::native == std::endian::big ? v : Bswap64(v));
}

// Load a uint64 stored in the given order (little = true for little-endian data).
inline uint64_t Load64(const void* p, bool little) { return little ? LoadLE64(p) : LoadBE64(p); }
inline uint32_t Load32(const void* p, bool little) { return little ? LoadLE32(p) : LoadBE32(p); }
inline uint16_t Load16(const void* p, bool little) { return little ? LoadLE16(p) : LoadBE16(p); }

// Bit field of a uint64, as OpenZFS's BF64_GET(x, low, len).
constexpr uint64_t BF64Get(uint64_t x, unsigned low, unsigned len) {
  return (x >> low) & ((len == 64) ? ~0ULL : ((1ULL << len) - 1));
}
constexpr uint64_t BF64Set(uint64_t x, unsigned low, unsigned len, uint64_t val) {
  uint64_t mask = ((len == 64) ? ~0ULL : ((1ULL << len) - 1)) << low;
  return (x & ~mask) | ((val << low) & mask);
}

constexpr uint64_t P2Align(uint64_t x, uint64_t align) { return x & -align; }
constexpr uint64_t P2RoundUp(uint64_t x, uint64_t align) { return -(-x & -align); }
constexpr int HighBit(uint64_t x) { return x == 0 ? 0 : 64 - std::countl_zero(x); }

}  // namespace uzfs
