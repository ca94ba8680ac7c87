// zfsd's ARC operations (arcstat(1) is their client):
//
//   arc_stats  (read) no arguments → every ArcStats field (libcore/arc/arc.h) as a uint64 of
//              the same name (size, c, c_min, c_max, p, mru_size, ..., evicted_bytes), plus
//              what `extra` adds (the file service: faults_missing, faults_wp, fault_errors,
//              maps, clients). Clients must tolerate any field of `extra` being absent.
//   arc_set    (root) arc_max* (uint64, bytes) → {}; Arc::SetMax, which evicts down to the new
//              bound at once. EINVAL "arc_max must be at least 64M" below kArcMinMax.
//
// Thread safety: the handlers only call Arc's methods (which may be called from any thread)
// and `extra`, which must be callable from a request thread.
#pragma once

#include <cstdint>
#include <functional>

#include "daemon/ops.h"
#include "libcore/arc/arc.h"
#include "libcore/base/nvlist.h"

namespace uzfs {

// The smallest arc_max arc_set (and zfsd --arc-max) accept: 64 MiB.
inline constexpr uint64_t kArcMinMax = 64ull << 20;

// arc must outlive the registry's use; extra may be empty.
void RegisterArcOps(Registry& reg, Arc* arc, std::function<void(NvList*)> extra);

// ArcStats as arc_stats returns them (one uint64 per field, under the field's name).
void AddArcStats(const ArcStats& st, NvList* out);

}  // namespace uzfs
