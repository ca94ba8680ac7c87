// Objects of type DMU_OT_PACKED_NVLIST: an XDR-packed nvlist whose size is the 8-byte bonus
// (DMU_OT_PACKED_NVLIST_SIZE), as the MOS keeps the pool config and the spares list
// (OpenZFS spa.c spa_sync_nvlist / load_nvlist).
//
// Thread safety: as the ObjsetWriter given (its caller's lock).
#pragma once

#include <cstdint>

#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"

namespace uzfs {

class ObjsetWriter;

// spa_sync_nvlist: obj's contents become nv, packed, and its bonus the packed size.
Status WriteNvlistObject(ObjsetWriter& os, uint64_t obj, const NvList& nv);
// load_nvlist: the nvlist obj holds.
Result<NvList> ReadNvlistObject(ObjsetWriter& os, uint64_t obj);

}  // namespace uzfs
