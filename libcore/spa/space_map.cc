#include "libcore/spa/space_map.h"

namespace uzfs {

Result<std::vector<SpaceMapEntry>> DecodeSpaceMap(ByteSpan raw, uint64_t objsize,
                                                  uint64_t map_start, unsigned shift, bool little,
                                                  SpaceMapSummary* summary) {
  if (objsize > raw.size()) return Status::Error(EINVAL, "space map shorter than smo_objsize");
  if (objsize % 8 != 0) return Status::Error(EINVAL, "smo_objsize not a multiple of 8");
  if (shift > 63) return Status::Error(EINVAL, "space map shift");
  std::vector<SpaceMapEntry> out;
  out.reserve(objsize / 8);
  uint64_t alloc = 0;
  for (uint64_t i = 0; i < objsize; i += 8) {
    uint64_t w = Load64(raw.data() + i, little);
    SpaceMapEntry e;
    e.raw = w;
    if (BF64Get(w, 63, 1)) {
      e.debug = true;
      e.action = BF64Get(w, 60, 3);
      e.syncpass = BF64Get(w, 50, 10);
      e.txg = BF64Get(w, 0, 50);
    } else {
      e.alloc = BF64Get(w, 15, 1) == 0;
      e.offset = map_start + (BF64Get(w, 16, 47) << shift);
      e.run = (BF64Get(w, 0, 15) + 1) << shift;
      if (e.alloc) alloc += e.run;
      else alloc -= e.run;
    }
    out.push_back(e);
  }
  if (summary) summary->alloc_bytes = alloc;
  return out;
}

}  // namespace uzfs
