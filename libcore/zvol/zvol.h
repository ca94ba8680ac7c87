// Volumes: the object model of a DMU_OST_ZVOL objset (zfs-fuse zvol.c; OpenZFS zvol.c sits
// beside the ZPL the same way, with no ZPL of its own). Object 1 (ZVOL_OBJ) is the volume's
// data, a DMU_OT_ZVOL object whose block size is the volblocksize; object 2 (ZVOL_ZAP_OBJ) is
// a DMU_OT_ZVOL_PROP microzap whose one entry "size" is the volsize in bytes.
//
// Functions only: callers hold whatever serializes the ObjsetWriter (the pool's lock).
#pragma once

#include <cstdint>

#include "libcore/base/status.h"
#include "libcore/base/zfs_prop.h"
#include "libcore/dmu/dmu.h"
#include "libcore/dmu/dmu_write.h"
#include "libcore/zap/zap_write.h"
#include "libcore/zil/zil.h"

namespace uzfs {

inline constexpr uint64_t kZvolObj = 1, kZvolZapObj = 2;
inline constexpr uint64_t kZvolDefaultBlockSize = kVolBlockSizeDefault;

// zvol_check_volblocksize: a power of two from 512 to 128K, else EDOM with libzfs's words.
Status ZvolCheckBlockSize(uint64_t volblocksize);
// zvol_check_volsize: not zero, a multiple of the block size, else EINVAL with libzfs's words
// (zfs_create's "volume size cannot be zero" / "volume size must be a multiple of volume
// block size").
Status ZvolCheckSize(uint64_t volsize, uint64_t volblocksize);
// zvol_create_cb: claims objects 1 and 2 of a new, empty volume objset and records the size.
Status ZvolCreate(ObjsetWriter& os, ZapStore& zaps, uint64_t volsize, uint64_t volblocksize);

struct ZvolStats {
  uint64_t volsize = 0, volblocksize = 0;
};
// zvol_get_stats, on a head's objset being written and on a read-only one (a snapshot).
Result<ZvolStats> ZvolGetStats(ObjsetWriter& os, ZapStore& zaps);
Result<ZvolStats> ZvolGetStats(ObjSet& os);
// zvol_update_volsize: the new size in the ZAP, then everything past it freed
// (dmu_free_long_range), so a shrunk volume that grows again reads zeros there.
Status ZvolSetSize(ObjsetWriter& os, ZapStore& zaps, uint64_t volsize);

// zvol_replay_write: a TX_WRITE record of the volume's log applied to ZVOL_OBJ. Any other
// record type is ENOTSUP (zvol_replay_err: a volume's log holds writes only).
Status ZvolReplay(ObjsetWriter& os, ZapStore& zaps, const LogRecord& rec);

}  // namespace uzfs
