// What an import needs before a Pool exists: the MOS config reader Spa's second pass takes
// (SpaOpenOptions::mos_config), so zpool import's listing (spa_tryimport) and Pool::Import
// build a top-level vdev that no label describes (a missing separate log device) from the
// MOS config, as zfs-fuse's spa_load does with mosconfig = B_TRUE.
#pragma once

#include <vector>

#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"
#include "libcore/zio/block_reader.h"

namespace uzfs {

// The pool config stored in the MOS that rootbp names (the "config" object).
Result<NvList> PoolMosConfig(BlockReader& reader, const BlkPtr& rootbp);

// The pool's hot spares as the MOS "spares" object lists them (spa_load_spares'
// ZPOOL_CONFIG_SPARES: {type, path, guid, ...} each); none when the pool has none.
Result<std::vector<NvList>> PoolMosSpares(BlockReader& reader, const BlkPtr& rootbp);

}  // namespace uzfs
