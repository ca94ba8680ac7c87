// The write pipeline for one logical block (zfs-fuse zio.c: zio_write_bp_init (compress,
// all-zero blocks become holes), zio_checksum_generate, zio_dva_allocate, zio_vdev_io_start's
// padding to the sector size).
//
// PrepareBlock turns lsize bytes into what goes on disk: compressed when the algorithm saves
// at least 1/8 (zio_compress_data), the physical size rounded up to 512 bytes with a zeroed
// tail; compression of an all-zero block gives a hole (ZFS never stores zeros it can omit);
// the checksum is computed over the psize bytes in host (little-endian) order.
// WriteDvas writes the prepared bytes to every DVA of a bp, padded to each top-level vdev's
// sector size.
//
// BlockWriter is what the object layers (dmu and up) see of the pool's write side, as
// BlockReader is for reads; the spa implements it (allocation, the txg's frees).
#pragma once

#include <cstdint>

#include "libcore/base/bytes.h"
#include "libcore/base/status.h"
#include "libcore/base/blkptr.h"
#include "libcore/zio/zio_read.h"

namespace uzfs {

struct WriteProps {
  uint8_t type = 0;        // dmu_object_type_t of the block (BP_SET_TYPE)
  int level = 0;           // indirection level
  uint8_t checksum = 7;    // resolved algorithm (never inherit/on): fletcher4 by default
  uint8_t compress = 2;    // resolved algorithm (never inherit/on): off by default
  int copies = 1;          // number of DVAs wanted (1..3)
};

struct PreparedBlock {
  ByteSpan phys;           // psize bytes as stored: in own, or the caller's data itself
  Bytes own;               // the compressed image (empty when phys is the data as given)
  uint64_t lsize = 0;
  uint64_t psize = 0;      // 0 for a hole
  uint8_t compress = 2;    // what was actually used (off when compression did not pay)
  ZioCksum cksum;
  bool hole() const { return psize == 0; }

  PreparedBlock() = default;
  // A move keeps own's buffer, so phys stays valid; a copy points phys at its own copy.
  PreparedBlock(PreparedBlock&&) noexcept = default;
  PreparedBlock& operator=(PreparedBlock&&) noexcept = default;
  PreparedBlock(const PreparedBlock& o) { *this = o; }
  PreparedBlock& operator=(const PreparedBlock& o) {
    if (this == &o) return *this;
    own = o.own;
    phys = !o.own.empty() && o.phys.data() == o.own.data() ? ByteSpan(own.data(), o.phys.size()) : o.phys;
    lsize = o.lsize, psize = o.psize, compress = o.compress, cksum = o.cksum;
    return *this;
  }
};

// Compresses and checksums one block. data.size() must be a multiple of 512, ≤ 128 KiB.
// A block stored as it is (not compressed) is not copied: phys is data, which must then
// outlive the result (and a moved-from result's own buffer moves with it, so phys stays
// valid across moves).
PreparedBlock PrepareBlock(ByteSpan data, const WriteProps& p);

// Fills a bp's fields from a prepared block (everything but the DVAs and fill).
void FillBlkPtr(BlkPtr* bp, const PreparedBlock& b, const WriteProps& p, uint64_t txg);

// Writes b.phys to each DVA of bp. Fails when any DVA's top-level vdev fails the write
// (mirror/raidz tolerate what their redundancy covers). errs collects the per-device faults.
Status WriteDvas(const BlkPtr& bp, const PreparedBlock& b, const TopVdevLookup& vdevs,
                 std::vector<VdevIoError>* errs);

class BlockWriter {
 public:
  virtual ~BlockWriter() = default;
  // Writes one block born in txg and returns its bp (a hole bp with birth 0 for an all-zero
  // compressible block). When old is a block born in this same txg (an earlier sync pass)
  // whose allocation can hold the new image, it is rewritten in place (same DVAs), which is
  // how the MOS's self-referencing space maps converge.
  virtual Result<BlkPtr> Write(ByteSpan data, const WriteProps& p, uint64_t txg,
                               const BlkPtr* old) = 0;
  // Releases a block no longer referenced by anything (not a snapshot's): its space is
  // freed in txg (recorded in the space maps, reusable after the deferral).
  virtual void Free(const BlkPtr& bp, uint64_t txg) = 0;
};

}  // namespace uzfs
