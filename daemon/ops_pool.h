// zfsd's daemon-level (ping, version, pool_scan) and pool operations: see pool_ops.h for
// their arguments and results.
#pragma once

#include "daemon/ops.h"
#include "daemon/pool_ops.h"
#include "daemon/pool_table.h"

namespace uzfs {

void RegisterPoolOps(Registry& reg, PoolTable* table, MountTable* mounts);
// The zfs command's operations (dataset_ops.h).
void RegisterDatasetOps(Registry& reg, PoolTable* table, MountTable* mounts);

}  // namespace uzfs
