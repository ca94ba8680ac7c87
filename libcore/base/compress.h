// Block compression as ZFS pool v23 has it: lzjb (written here, no library has it),
// gzip-1..9 (zlib, raw zlib stream as ZFS uses compress2/uncompress), zle (zero-length
// encoding). Facts: docs/ondisk-v23.md section 1; OpenZFS module/zfs/{lzjb,gzip,zle}.c.
#pragma once

#include <cstdint>

#include "libcore/base/bytes.h"
#include "libcore/base/status.h"

namespace uzfs {

// enum zio_compress at v23.
enum class CompressId : uint8_t {
  kInherit = 0,
  kOn = 1,  // = lzjb at v23
  kOff = 2,
  kLzjb = 3,
  kEmpty = 4,
  kGzip1 = 5,  // ... kGzip9 = 13
  kGzip9 = 13,
  kZle = 14,
  kFunctions = 15,
};

// "lzjb", "gzip-6", "zle", "off", "on", "empty", "inherit"; "unknown" out of range.
const char* CompressName(uint8_t id);

// Compresses src into dst (dst.size() is the limit). Returns the compressed length, or
// src.size() when the result would not fit (caller then stores the block uncompressed),
// as ZFS's ci_compress does.
size_t Compress(uint8_t id, ByteSpan src, MutByteSpan dst);

// Decompresses src (psize bytes) into exactly dst.size() (lsize) bytes. Corrupt input gives
// ECORRUPT, never a read or write out of bounds.
Status Decompress(uint8_t id, ByteSpan src, MutByteSpan dst);

// Individual algorithms (same contracts).
size_t LzjbCompress(ByteSpan src, MutByteSpan dst);
Status LzjbDecompress(ByteSpan src, MutByteSpan dst);
size_t GzipCompress(ByteSpan src, MutByteSpan dst, int level);
Status GzipDecompress(ByteSpan src, MutByteSpan dst);
size_t ZleCompress(ByteSpan src, MutByteSpan dst, int n = 64);
Status ZleDecompress(ByteSpan src, MutByteSpan dst, int n = 64);

}  // namespace uzfs
