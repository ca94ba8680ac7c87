// Whole-file writes through an Env.
#pragma once

#include <string>

#include "libcore/base/bytes.h"
#include "libcore/base/env.h"
#include "libcore/base/status.h"

namespace uzfs {

// Writes data to path atomically, as spa_config_write does the cache file: a temporary file
// (path + ".tmp", a leftover of an earlier crash removed first, since Env::Open does not
// truncate) written, synced and renamed over path. A process killed meanwhile leaves the old
// file, never half of one. On error the temporary file is removed and path is unchanged.
Status WriteFileAtomically(Env* env, const std::string& path, ByteSpan data);

}  // namespace uzfs
