// The intent log's early txg sync (ours; OpenZFS's embedded log class has no such trigger).
// Log blocks come back only two txg syncs after the txg their records describe; under a
// sustained fsync load the log metaslab fills within seconds, and log blocks then go to
// space the vdev file never had written, which a host file system takes at about twice the
// cost of a rewrite. So a commit that finds its log metaslab running low (Pool's
// AllocLogBlock decides, pool_zil.cc) asks the pool's sync thread for a txg sync, once
// until the sync thread's Pool::Writeback takes the request and syncs.
//
// Pools are named by their address (a Pool forgets itself here when destroyed). The sync
// thread's wake-up is the hook zfsd gives Pool::SetSyncWanted, registered here too.
//
// Thread safety: every function may be called from any thread; one mutex guards the map.
// Hooks are called without it (they may take the caller's locks; call Wake with none held).
#pragma once

#include <cstdint>
#include <functional>

namespace uzfs::log_space {

// The sync thread's wake-up for the pool; an empty fn removes it.
void SetHook(const void* pool, std::function<void()> fn);
// The log metaslab runs low: true when no request is pending yet (the caller then calls
// Wake once it holds no pool lock), false when one is.
bool Ask(const void* pool);
// Calls the pool's hook, if any.
void Wake(const void* pool);
// Writeback: true (and the request is taken and counted) when a request is pending.
bool Take(const void* pool);
// Requests taken so far (for tests).
uint64_t Taken(const void* pool);
// The Pool is destroyed: its hook and requests are forgotten.
void DropPool(const void* pool);

}  // namespace uzfs::log_space
