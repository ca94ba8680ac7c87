// The raw reads of runs of adjacent blocks (dmu_prefetch.h's RangeRead), shared by zfs send's
// traversal and the mount's read-ahead (dmu_zfetch_run.h).
#pragma once

#include <cstdint>
#include <functional>

#include "libcore/dmu/dmu_prefetch.h"

namespace uzfs {

class Vdev;

// A RangeRead of the top-level vdevs `top` finds (by id; null: none). Runs are read only from
// a top-level vdev that is one disk or file (the bytes of a run lie in a row there): not a
// mirror's, whose side a resilver has not reached would be read without knowing it; nor
// raidz's, which lays out columns per block.
RangeRead VdevRunRead(std::function<Vdev*(uint64_t)> top);

}  // namespace uzfs
