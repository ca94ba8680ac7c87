// The compound stream's framing (zfs send -I, and -R / -p with a property list): libzfs's
// zfs_send writes a DRR_BEGIN record whose drr_versioninfo says DMU_COMPOUNDSTREAM, the
// packed nvlist (drr_payloadlen bytes; none for -I alone), a DRR_END carrying the fletcher4
// of those bytes, then the substreams (each a stream of its own, DRR_BEGIN to DRR_END), then
// a second DRR_END whose checksum is zero; zfs_receive_package checks the header's checksum
// ("incorrect header checksum") and reads substreams until that second END.
//
// Thread safety: plain functions over the caller's data.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "libcore/base/bytes.h"
#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"
#include "libcore/dmu/dmu_send.h"

namespace uzfs {

// The package's header without a property list: BEGIN (DMU_COMPOUNDSTREAM, toname
// "pool/fs@snap", the feature flags given: send -D's kFeatureDedup | kFeatureDedupProps) and
// its END, 2 * kDrrSize bytes, in this host's order.
Bytes CompoundHeader(const std::string& toname, uint64_t features = 0);
// The header of a replication (-R) or property (-p) stream: BEGIN with drr_payloadlen =
// payload.size() (the packed nvlist), the payload, and the END whose checksum covers both.
Bytes CompoundHeader(const std::string& toname, ByteSpan payload, uint64_t features = 0);
// The package's last record: DRR_END with a zero checksum.
Bytes PackageEnd();
// The receiver's check of the header's END record end against the header's bytes (BEGIN and
// payload): ECKSUM "incorrect header checksum", EINVAL when end is no DRR_END.
Status CheckPackageHeader(ByteSpan header, const DrrRecord& end);

// One filesystem of the header's "fss" list (libzfs_sendrecv.c send_iterate_fs): its full
// name, the guid of its parent's fromsnap (of tosnap when there is no fromsnap), its local
// properties (send_iterate_prop: strings as strings, the rest as uint64), its snapshots
// (short name -> guid, in creation order) with theirs, and its origin's guid when a clone.
struct ReplFs {
  uint64_t guid = 0;
  std::string name;
  uint64_t parentfromsnap = 0;
  uint64_t origin = 0;  // 0: not a clone
  NvList props;
  std::vector<std::pair<std::string, uint64_t>> snaps;
  std::map<std::string, NvList> snapprops;
};
// zfs_send's header nvlist: "fromsnap" (when incremental), "tosnap", "not_recursive" (-p
// without -R), "fss" {"0x<guid>" -> {name, parentfromsnap, origin, props, snaps,
// snapprops}} in the order given (send_iterate_fs's pre-order).
NvList ReplHeader(const std::string& fromsnap, const std::string& tosnap, bool recursive,
                  const std::vector<ReplFs>& fss);
// The other way (zfs_receive_package, fsavl_create): EINVAL "invalid backup stream" when
// "tosnap" or "fss" is missing or an entry lacks its name.
struct ReplHeaderInfo {
  std::string fromsnap, tosnap;
  bool recursive = true;
  std::vector<ReplFs> fss;
  // fsavl_find: the filesystem that has a snapshot with this guid (null when none) and that
  // snapshot's short name.
  const ReplFs* FindSnap(uint64_t snapguid, std::string* snapname) const;
};
Result<ReplHeaderInfo> ParseReplHeader(const NvList& nv);

}  // namespace uzfs
