// The events a pool posts (pool.h, "Events"; pool_events.cc), for the pool's own files.
#pragma once

#include "libcore/pool/pool.h"

namespace uzfs {

// zfs_post_state_change: leaf's state went from before to after (an error, zpool offline,
// online, clear); nothing when they are equal or log is null. Called with the pool's mu_
// held or not: it takes only the log's lock.
void PostStateChange(EventLog* log, const Pool& pool, const Vdev& leaf, LeafState before,
                     LeafState after);
// zfs_post_remove: the resource.fs.zfs.removed event of a leaf whose device went away.
void PostRemoved(EventLog* log, const Pool& pool, const Vdev& leaf);

}  // namespace uzfs
