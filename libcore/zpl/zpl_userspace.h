// User and group space of a ZPL objset, the ZPL's part (zfs-fuse zfs_vfsops.c
// zfs_userspace_many / zfs_userspace_one, zfs_set_userquota, zfs_usergroup_overquota).
//
// Used bytes live in the objset's special ZAPs -1 / -2 (kept at sync: dmu_userused.h); quotas
// in two ordinary ZAPs (DMU_OT_USERGROUP_QUOTA) the master node names "userquota@" and
// "groupquota@" (zfs_userquota_prop_prefixes), created by the first quota set. Every key is the id in hex ("%llx", a FUID of
// domain index 0: uzfs has no SMB domains). Used figures are as of the last synced txg, as in
// ZFS (the special ZAPs only change at sync). Stateless functions; the caller holds the pool
// lock.
#pragma once

#include <cstdint>
#include <map>

#include "libcore/base/status.h"
#include "libcore/dmu/dmu.h"
#include "libcore/zap/zap_write.h"

namespace uzfs {

// zfs_userquota_prop_t, in its order.
enum class UserProp { kUserUsed = 0, kUserQuota = 1, kGroupUsed = 2, kGroupQuota = 3 };
inline constexpr int kNumUserProps = 4;

struct UserSpace {
  bool present = false;  // OBJSET_FLAG_USERACCOUNTING_COMPLETE
  std::map<uint64_t, uint64_t> props[kNumUserProps];  // id → bytes
};

// zfs_userspace_many for all four properties: a head filesystem (its writer and ZAPs) ...
Result<UserSpace> ReadUserSpace(ObjsetWriter& os, ZapStore& zaps);
// ... or a snapshot (read-only objset; os_flags read from its objset_phys).
Result<UserSpace> ReadUserSpace(ObjSet& os, bool present);

// zfs_set_userquota: quota 0 removes the entry. prop is kUserQuota or kGroupQuota.
Status SetUserQuota(ObjsetWriter& os, ZapStore& zaps, UserProp prop, uint64_t id, uint64_t quota);

// zfs_usergroup_overquota: true when id has a quota and its used (as last synced) reached it.
Result<bool> OverQuota(ObjsetWriter& os, ZapStore& zaps, bool group, uint64_t id);
// EDQUOT when uid or gid is over its quota (zfs_write's and zfs_acl_ids_overquota's check).
Status CheckQuota(ObjsetWriter& os, ZapStore& zaps, uint64_t uid, uint64_t gid);

}  // namespace uzfs
