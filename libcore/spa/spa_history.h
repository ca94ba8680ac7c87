// The pool history object (zfs-fuse spa_history.c): its bonus is spa_history_phys_t
// {pool_create_len, phys_max_off, bof, eof, records_lost}; logical offsets below
// pool_create_len map 1:1 (the creation records, kept forever), the rest wraps in
// [pool_create_len, phys_max_off). Each record is a little-endian uint64 length and a packed
// nvlist. Shared by zdb -h and the pool's `zpool history`.
#pragma once

#include <cstdint>
#include <vector>

#include "libcore/base/bytes.h"
#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"

namespace uzfs {

struct SpaHistoryHeader {
  uint64_t create_len = 0, max_off = 0, bof = 0, eof = 0, records_lost = 0;
  // Decodes the 40-byte bonus (little or big endian); ECORRUPT for impossible offsets.
  static Result<SpaHistoryHeader> Decode(ByteSpan bonus, bool little = true);
};

// The records of the history object whose data (max_off bytes, shorter is zero-filled) and
// header are given, oldest first; undecodable records are skipped, a bad length ends the walk.
std::vector<NvList> SpaHistoryRecords(const SpaHistoryHeader& h, Bytes raw);

// The name of an internal event ("history internal event", history_internal_events_t) as
// zpool history -i and zdb -h print it (libzfs's hist_event_table: "pool scrub done");
// nullptr for a number past v23's LOG_END.
const char* HistEventName(uint64_t event);

}  // namespace uzfs
