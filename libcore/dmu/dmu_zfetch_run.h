// Read-ahead's runs: the ARC fills of a read-ahead window (dmu_zfetch.h) whose blocks lie back
// to back on one disk are read with one large read, as vdev_queue.c's vdev_queue_aggregate
// joins adjacent queued reads into one zio of up to zfs_vdev_aggregation_limit. A disk
// serves one 1 MiB read in far less time than eight 128 KiB ones (measured on a virtio disk,
// direct reads: 1.6 ms for 128 KiB, 4.5 ms for 1 MiB), so a sequential reader's bandwidth is
// bounded by the request size as much as by the requests in flight.
//
// Each block of a run is verified against its checksum as any read is; one that does not
// verify, or a run whose read fails, is read alone through the plan's own reader (which
// tries the other copies and reports and counts the errors).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "libcore/dmu/dmu_prefetch.h"
#include "libcore/dmu/dmu_write.h"

namespace uzfs {

// The largest run (OpenZFS's zfs_vdev_aggregation_limit, 1 MiB since 0.8; the FUSE reads
// it serves are 896 KiB to 1 MiB).
inline constexpr uint64_t kZfetchRunMax = 1u << 20;

// One fill per run of plans (PlanPrefetch's: one unit each, in file order) whose single
// blocks are stored as they are in memory and follow each other on disk, at most agg_max
// bytes; the others are one fill each. A fill runs each of its plans' Complete.
std::vector<std::function<void()>> ZfetchRunFills(std::vector<std::unique_ptr<ObjsetWriter::ReadPlan>> plans,
                                                  const RangeRead& range, uint64_t agg_max = kZfetchRunMax);

// Blocks read in runs of two or more since the process started (tests, statistics).
uint64_t ZfetchRunBlocks();

}  // namespace uzfs
