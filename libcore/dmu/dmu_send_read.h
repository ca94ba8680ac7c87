// How a send reads: DmuSendBackup (dmu_send.h) whose read-ahead also reads runs of blocks
// that lie back to back on disk with one raw read each (PrefetchReader's RangeRead), as
// OpenZFS's send reads through the vdev queue, which aggregates adjacent reads
// (vdev_queue_aggregate). A header of its own so that pool.h, which includes dmu_send.h,
// does not change with it.
//
// Thread safety: as DmuSendBackup; range is called from the read-ahead's workers at once.
#pragma once

#include <cstdint>

#include "libcore/dmu/dmu_prefetch.h"
#include "libcore/dmu/dmu_send.h"

namespace uzfs {

Status DmuSendBackup(BlockReader* reader, const RangeRead& range, ObjSet& os, const DrrRecord& begin,
                     uint64_t from_txg, StreamSink sink, uint64_t* bytes);

}  // namespace uzfs
