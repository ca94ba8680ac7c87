#include "libcore/dmu/dmu_userused.h"

#include "libcore/base/bytes.h"

namespace uzfs {

void AccountDnode(const DnodePhys& dn, bool subtract, UserUsedDeltas* d) {
  // zfs_space_delta_cb: only znodes carry an owner; zp_uid / zp_gid at 128 / 136.
  if (!(dn.flags & kDnodeFlagUserUsedAccounted) || dn.bonustype != kOtZnode) return;
  if (dn.bonus.size() < 144) return;
  uint64_t uid = Load64(dn.bonus.data() + 128, dn.little);
  uint64_t gid = Load64(dn.bonus.data() + 136, dn.little);
  // DN_USED_BYTES: bytes with DNODE_FLAG_USED_BYTES, else 512-byte sectors.
  uint64_t used = (dn.flags & kDnodeFlagUsedBytes) ? dn.used : dn.used << kDnodeShift;
  int64_t delta = static_cast<int64_t>(kDnodeSize + used);
  if (subtract) delta = -delta;
  d->user[uid] += delta;
  d->group[gid] += delta;
}

}  // namespace uzfs
