// The compound stream's framing (zfs send -I, and -R / -p with a property list): libzfs's
// zfs_send writes a DRR_BEGIN record whose drr_versioninfo says DMU_COMPOUNDSTREAM, the
// packed nvlist (drr_payloadlen bytes; none for -I alone), a DRR_END carrying the fletcher4
// of those bytes, then the substreams (each a stream of its own, DRR_BEGIN to DRR_END), then
// a second DRR_END whose checksum is zero; zfs_receive_package checks the header's checksum
// ("incorrect header checksum") and reads substreams until that second END.
//
// Thread safety: plain functions over the caller's data.
#pragma once

#include <string>

#include "libcore/base/bytes.h"
#include "libcore/base/status.h"
#include "libcore/dmu/dmu_send.h"

namespace uzfs {

// The package's header without a property list: BEGIN (DMU_COMPOUNDSTREAM, no features,
// toname "pool/fs@snap") and its END, 2 * kDrrSize bytes, in this host's order.
Bytes CompoundHeader(const std::string& toname);
// The package's last record: DRR_END with a zero checksum.
Bytes PackageEnd();
// The receiver's check of the header's END record end against the header's bytes (BEGIN and
// payload): ECKSUM "incorrect header checksum", EINVAL when end is no DRR_END.
Status CheckPackageHeader(ByteSpan header, const DrrRecord& end);

}  // namespace uzfs
