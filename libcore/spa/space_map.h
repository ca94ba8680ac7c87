// Space map entries (zfs-fuse space_map.h / space_map.c, docs/ondisk-v23.md section 8).
//
// A space map object (type 8, 4K blocks) is an array of uint64 entries in the byte order of
// its blocks. Bit 63 set = debug entry (action bits 60-62, sync pass bits 50-59, txg bits
// 0-49); otherwise offset bits 16-62 and run-1 bits 0-14, both in 2^shift units (shift = the
// top-level vdev's ashift), offset relative to the map's start (= metaslab id << ms_shift),
// type bit 15 (0 ALLOC, 1 FREE). Only the first smo_objsize bytes are entries.
#pragma once

#include <cstdint>
#include <vector>

#include "libcore/base/bytes.h"
#include "libcore/base/status.h"

namespace uzfs {

struct SpaceMapEntry {
  bool debug = false;
  // Non-debug entries: absolute byte offset in the vdev's allocatable space, length in bytes.
  bool alloc = false;  // SM_ALLOC (0) vs SM_FREE (1)
  uint64_t offset = 0;
  uint64_t run = 0;
  // Debug entries (zdb -m prints them as "[txg] ALLOC/FREE: txg T, pass P").
  uint64_t action = 0;  // 0 ALLOC, 1 FREE
  uint64_t syncpass = 0;
  uint64_t txg = 0;
  uint64_t raw = 0;  // the encoded word
};

struct SpaceMapSummary {
  uint64_t alloc_bytes = 0;  // Σ ALLOC runs − Σ FREE runs (must equal smo_alloc)
};

// Decodes the first objsize bytes of raw (the object's data, read through the DMU) as entries
// of a map starting at map_start with unit 2^shift. little = byte order of the blocks.
// EINVAL when objsize > raw.size(), objsize is not a multiple of 8, or shift > 63.
Result<std::vector<SpaceMapEntry>> DecodeSpaceMap(ByteSpan raw, uint64_t objsize,
                                                  uint64_t map_start, unsigned shift, bool little,
                                                  SpaceMapSummary* summary = nullptr);

}  // namespace uzfs
