// The read pipeline for one block pointer (zfs-fuse zio.c: zio_read, the gang stages,
// zio_checksum_verify, zio_decompress; zio_checksum.c zio_checksum_error).
//
// For each DVA in order: read psize bytes from the top-level vdev at the DVA offset (raidz
// reads its asize worth of columns), letting the vdev self-heal (mirror sides, raidz parity and
// combinatorial reconstruction) against the bp checksum; for a gang DVA read the 512-byte gang
// header (embedded SHA-256, verifier {vdev, offset, physical birth, 0}), then each child bp
// recursively, concatenated; decompress to lsize. The first DVA that yields verified data wins;
// every failure on the way is recorded in the ReadReport.
//
// Thread safety: ReadBlock holds no state; concurrent calls are fine when the vdevs allow it.
#pragma once

#include <cstdint>
#include <functional>

#include "libcore/base/bytes.h"
#include "libcore/base/status.h"
#include "libcore/vdev/vdev.h"
#include "libcore/base/blkptr.h"
#include "libcore/zio/block_reader.h"

namespace uzfs {

inline constexpr uint64_t kSpaGangBlockSize = 512;

// Maps a top-level vdev id to its vdev; nullptr when there is none.
using TopVdevLookup = std::function<Vdev*(uint64_t id)>;

// Checks data (psize bytes, as stored) against bp's checksum: bp.checksum() computed with
// byteswap when the block's byte order differs from the host; embedded checksums (zilog,
// zilog2) use bp.cksum as verifier. "off" always passes. False for unknown algorithms.
bool VerifyBlockChecksum(const BlkPtr& bp, ByteSpan data);

// Reads, verifies and decompresses the block (see top of file). Holes give lsize zeros.
// ECKSUM when some copy was read but none verified, EIO/ENXIO when nothing could be read,
// ECORRUPT for impossible bps (no DVA, sizes out of range) and bad compressed data.
// scrub (zdb -c): read and verify every DVA, every mirror side and the raidz parity too, so
// damage in a copy a normal read would not touch is reported; the data returned is the same.
Result<Bytes> ReadBlock(const BlkPtr& bp, const TopVdevLookup& vdevs, ReadReport* report,
                        bool scrub = false);

// Raw read of `size` bytes at DVA offset `offset` of top-level vdev `vdev` (zdb -R):
// no checksum; mirrors return the first readable side, raidz the data columns (rebuilt from
// parity only when a column cannot be read).
Result<Bytes> ReadRaw(const TopVdevLookup& vdevs, uint64_t vdev, uint64_t offset, uint64_t size,
                      ReadReport* report);

}  // namespace uzfs
