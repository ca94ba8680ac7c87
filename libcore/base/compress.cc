// Block compression of pool v23. Facts: docs/ondisk-v23.md section 1; OpenZFS module/zfs/lzjb.c
// (LZJB: 8 flags per control byte, LSB first; a match is 2 bytes: 6 bits length-3, 10 bits
// offset; 1024-entry hash of 3 bytes), gzip.c (zlib compress2/uncompress), zle.c (runs of
// zeros and literals, n = 64). Decoders check every source and destination index: on-disk
// data is untrusted.
#include "libcore/base/compress.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace uzfs {
namespace {

constexpr int kMatchBits = 6;
constexpr size_t kMatchMin = 3;
constexpr size_t kMatchMax = (1 << kMatchBits) + (kMatchMin - 1);  // 66
constexpr size_t kOffsetMask = (1 << (16 - kMatchBits)) - 1;        // 1023
constexpr size_t kLempelSize = 1024;

Status Corrupt(const char* what) { return Status::Error(ECORRUPT, what); }

}  // namespace

const char* CompressName(uint8_t id) {
  static const char* const kNames[] = {"inherit", "on",     "off",    "lzjb",   "empty",
                                       "gzip-1",  "gzip-2", "gzip-3", "gzip-4", "gzip-5",
                                       "gzip-6",  "gzip-7", "gzip-8", "gzip-9", "zle"};
  return id < sizeof kNames / sizeof kNames[0] ? kNames[id] : "unknown";
}

size_t LzjbCompress(ByteSpan src, MutByteSpan dst) {
  const size_t n = src.size();
  const uint8_t* s = src.data();
  size_t si = 0, di = 0;
  size_t copymap = 0;
  int copymask = 1 << 7;
  uint16_t lempel[kLempelSize] = {0};
  while (si < n) {
    if ((copymask <<= 1) == (1 << 8)) {
      if (dst.size() < 1 + 2 * 8 || di >= dst.size() - 1 - 2 * 8) return n;
      copymask = 1;
      copymap = di;
      dst[di++] = 0;
    }
    if (n < kMatchMax || si > n - kMatchMax) {
      dst[di++] = s[si++];
      continue;
    }
    uint32_t hash = (static_cast<uint32_t>(s[si]) << 16) + (static_cast<uint32_t>(s[si + 1]) << 8) +
                    s[si + 2];
    hash += hash >> 9;
    hash += hash >> 5;
    uint16_t* hp = &lempel[hash & (kLempelSize - 1)];
    size_t offset = (si - *hp) & kOffsetMask;
    *hp = static_cast<uint16_t>(si);
    if (offset != 0 && offset <= si) {
      size_t cpy = si - offset;
      if (s[si] == s[cpy] && s[si + 1] == s[cpy + 1] && s[si + 2] == s[cpy + 2]) {
        dst[copymap] |= static_cast<uint8_t>(copymask);
        size_t mlen = kMatchMin;
        while (mlen < kMatchMax && s[si + mlen] == s[cpy + mlen]) mlen++;
        dst[di++] = static_cast<uint8_t>(((mlen - kMatchMin) << (8 - kMatchBits)) | (offset >> 8));
        dst[di++] = static_cast<uint8_t>(offset);
        si += mlen;
        continue;
      }
    }
    dst[di++] = s[si++];
  }
  return di;
}

Status LzjbDecompress(ByteSpan src, MutByteSpan dst) {
  size_t si = 0, di = 0;
  uint8_t copymap = 0;
  int copymask = 1 << 7;
  while (di < dst.size()) {
    if ((copymask <<= 1) == (1 << 8)) {
      copymask = 1;
      if (si >= src.size()) return Corrupt("lzjb: input ends early");
      copymap = src[si++];
    }
    if (copymap & copymask) {
      if (src.size() - si < 2) return Corrupt("lzjb: input ends inside a match");
      size_t mlen = (src[si] >> (8 - kMatchBits)) + kMatchMin;
      size_t offset = ((static_cast<size_t>(src[si]) << 8) | src[si + 1]) & kOffsetMask;
      si += 2;
      if (offset > di) return Corrupt("lzjb: match before the start");
      size_t cpy = di - offset;
      while (mlen-- > 0 && di < dst.size()) dst[di++] = dst[cpy++];
    } else {
      if (si >= src.size()) return Corrupt("lzjb: input ends early");
      dst[di++] = src[si++];
    }
  }
  return Status::Ok();
}

size_t GzipCompress(ByteSpan src, MutByteSpan dst, int level) {
  uLongf dlen = dst.size();
  if (compress2(dst.data(), &dlen, src.data(), src.size(), level) != Z_OK) return src.size();
  return dlen;
}

Status GzipDecompress(ByteSpan src, MutByteSpan dst) {
  uLongf dlen = dst.size();
  int rc = uncompress(dst.data(), &dlen, src.data(), src.size());
  if (rc != Z_OK) return Status::Error(ECORRUPT, std::string("gzip: ") + zError(rc));
  return Status::Ok();
}

size_t ZleCompress(ByteSpan src, MutByteSpan dst, int n) {
  const size_t un = static_cast<size_t>(n);
  size_t si = 0, di = 0;
  const size_t send = src.size(), dend = dst.size();
  while (si < send && di + 1 < dend) {
    size_t first = si;
    size_t len = di++;
    if (src[si] == 0) {
      size_t last = std::min(si + (256 - un), send);
      while (si < last && src[si] == 0) si++;
      dst[len] = static_cast<uint8_t>(si - first - 1 + un);
    } else {
      size_t last = std::min(si + un, send);
      if (dend - di < un) break;
      while (si + 1 < last && (src[si] | src[si + 1])) dst[di++] = src[si++];
      if (si < send && src[si]) dst[di++] = src[si++];
      dst[len] = static_cast<uint8_t>(si - first - 1);
    }
  }
  return si == send ? di : send;
}

Status ZleDecompress(ByteSpan src, MutByteSpan dst, int n) {
  const size_t un = static_cast<size_t>(n);
  size_t si = 0, di = 0;
  while (si < src.size() && di < dst.size()) {
    size_t len = 1 + static_cast<size_t>(src[si++]);
    if (len <= un) {
      if (src.size() - si < len || dst.size() - di < len) return Corrupt("zle: run overflows");
      std::memcpy(&dst[di], &src[si], len);
      si += len;
      di += len;
    } else {
      len -= un;
      if (dst.size() - di < len) return Corrupt("zle: zero run overflows");
      std::memset(&dst[di], 0, len);
      di += len;
    }
  }
  return di == dst.size() ? Status::Ok() : Corrupt("zle: output short");
}

size_t Compress(uint8_t id, ByteSpan src, MutByteSpan dst) {
  if (id == static_cast<uint8_t>(CompressId::kLzjb) || id == static_cast<uint8_t>(CompressId::kOn))
    return LzjbCompress(src, dst);
  if (id >= static_cast<uint8_t>(CompressId::kGzip1) && id <= static_cast<uint8_t>(CompressId::kGzip9))
    return GzipCompress(src, dst, id - static_cast<uint8_t>(CompressId::kGzip1) + 1);
  if (id == static_cast<uint8_t>(CompressId::kZle)) return ZleCompress(src, dst);
  return src.size();
}

Status Decompress(uint8_t id, ByteSpan src, MutByteSpan dst) {
  switch (static_cast<CompressId>(id)) {
    case CompressId::kOff:
    case CompressId::kInherit:
      if (src.size() < dst.size()) return Corrupt("uncompressed block shorter than lsize");
      std::memcpy(dst.data(), src.data(), dst.size());
      return Status::Ok();
    case CompressId::kOn:
    case CompressId::kLzjb:
      return LzjbDecompress(src, dst);
    case CompressId::kEmpty:
      std::memset(dst.data(), 0, dst.size());
      return Status::Ok();
    case CompressId::kZle:
      return ZleDecompress(src, dst);
    default:
      if (id >= static_cast<uint8_t>(CompressId::kGzip1) &&
          id <= static_cast<uint8_t>(CompressId::kGzip9))
        return GzipDecompress(src, dst);
      return Status::Error(ENOTSUP, "unknown compression " + std::to_string(id));
  }
}

}  // namespace uzfs
