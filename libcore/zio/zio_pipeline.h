// The write pipeline for a batch of blocks (zfs-fuse zio.c: the ZIO_STAGE_WRITE_BP_INIT,
// CHECKSUM_GENERATE, DVA_ALLOCATE and VDEV_IO_START stages, with the zio taskqs' parallelism
// and vdev_queue.c's concurrency): the blocks a txg writes are
//   1. compressed and checksummed in parallel (PrepareBlock, on the TaskQueue);
//   2. given their DVAs one after another in the batch's order by the caller's allocate
//      function (the spa's metaslab allocator; allocation order keeps a stream contiguous);
//   3. written, every DVA of every block, adjacent ones aggregated into one write (up to
//      1 MiB), with several writes in flight at once when the devices take concurrent
//      writes (File::ConcurrentWrites), one at a time otherwise.
// A batch of one block writes what the one-block path (PrepareBlock, FillBlkPtr, WriteDvas)
// writes, where it writes it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "libcore/base/bytes.h"
#include "libcore/base/status.h"
#include "libcore/base/taskq.h"
#include "libcore/base/blkptr.h"
#include "libcore/zio/zio_read.h"
#include "libcore/zio/zio_write.h"

namespace uzfs {

struct BlockWrite {
  ByteSpan data;                 // the logical block (must outlive the call)
  WriteProps props;
  const BlkPtr* old = nullptr;   // a block of this txg that may be rewritten in place
  // Results: the prepared image, and the bp (hole bp when the block compressed to nothing).
  PreparedBlock prepared;
  BlkPtr bp;
  bool allocated = false;        // allocate() gave it new DVAs (the caller frees them on error)
};

struct WritePipeline {
  // Gives w.bp its DVAs (or keeps w.old's): called in batch order, never concurrently.
  std::function<Status(BlockWrite& w)> allocate;
  TopVdevLookup top;
  bool concurrent_io = false;  // every leaf takes concurrent writes
  TaskQueue* taskq = nullptr;  // nullptr: TaskQueue::Shared()
  // Free heap memory kept for reuse after a batch (WriteBlocks trims the heap past it).
  uint64_t keep_free = 0;
};

// One write of stage 3: a run of adjacent DVAs on one top-level vdev written as one vectored
// write (vdev_queue.c's aggregation, up to 1 MiB: fewer, larger device writes, which direct
// I/O needs to keep up), a lone DVA of whole sectors written from the block's own buffer, or
// one block written alone with WriteDvas (raidz, whose parity is per block).
struct WriteRun {
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  // a run of DVAs at offset of vdev: a lone block's data, or the blocks back to back (parts:
  // their own buffers, or copies in buf where a block needed zeros to whole sectors or its
  // memory was not on a page)
  Vdev* vdev = nullptr;
  uint64_t offset = 0;
  std::vector<ByteSpan> parts;
  ByteSpan data;
  std::unique_ptr<uint8_t, Free> buf;
  // a block alone (bp set): every DVA through WriteDvas
  const BlkPtr* bp = nullptr;
  const PreparedBlock* prepared = nullptr;
  const TopVdevLookup* top = nullptr;  // AggregateWrites' argument, which must outlive the run
  Status Write(std::vector<VdevIoError>* errs) const;
};
// The runs for a prepared and allocated batch (for tests, and stage 3).
std::vector<WriteRun> AggregateWrites(const std::vector<BlockWrite>& batch, const TopVdevLookup& top);

// Runs the batch through the stages above. On an allocation error nothing is written and the
// error is returned (blocks allocated so far have allocated = true); on a write error the
// first one is returned after every write has finished; errs collects device faults.
Status WriteBlocks(std::vector<BlockWrite>& batch, uint64_t txg, const WritePipeline& pl,
                   std::vector<VdevIoError>* errs);

}  // namespace uzfs
