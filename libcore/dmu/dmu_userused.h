// User and group space accounting (pool version 15, SPA_VERSION_USERSPACE), the DMU's part
// (zfs-fuse dmu_objset.c do_userquota_callback, dmu_objset_do_userquota_callbacks,
// dmu_objset_userspace_upgrade; dnode_sync.c's DNODE_FLAG_USERUSED_ACCOUNTED and dn_oldphys).
//
// At each sync of a ZPL objset the writer gathers, for every dirty object, the dnode as it was
// on disk before the txg and as it is written now; an image with DNODE_FLAG_USERUSED_ACCOUNTED
// whose bonus is a znode counts DNODE_SIZE + its used bytes under the znode's uid and gid (the
// old image subtracted, the new one added: zfs_space_delta_cb). The sums go to the two special
// ZAP objects DMU_USERUSED_OBJECT (-1) and DMU_GROUPUSED_OBJECT (-2), keyed "%llx", whose
// dnodes live in objset_phys at 1024/1536; the ZAP update itself belongs to the ZAP layer (the
// policy's UserUsedApply, libcore/zap/zap_userused.h), called by the writer before it writes
// those two objects, all in the same txg. An objset without OBJSET_FLAG_USERACCOUNTING_COMPLETE
// is upgraded the first time it is written: every object is dirtied once, so each is counted.
//
// Plain data and functions; no state of their own.
#pragma once

#include <cstdint>
#include <map>

#include "libcore/base/status.h"
#include "libcore/dmu/dmu.h"

namespace uzfs {

inline constexpr uint8_t kDnodeFlagUsedBytes = 1;            // DNODE_FLAG_USED_BYTES
inline constexpr uint8_t kDnodeFlagUserUsedAccounted = 2;    // DNODE_FLAG_USERUSED_ACCOUNTED
inline constexpr uint64_t kObjsetFlagUserAccountingComplete = 1;  // OBJSET_FLAG_USERACCOUNTING_COMPLETE
inline constexpr size_t kObjsetFlagsOffset = 712;            // os_flags in objset_phys_t
inline constexpr size_t kUserUsedDnodeOffset = 1024;         // os_userused_dnode
inline constexpr size_t kGroupUsedDnodeOffset = 1536;        // os_groupused_dnode
inline constexpr uint64_t kSpaVersionUserspace = 15;         // SPA_VERSION_USERSPACE

inline bool IsSpecialObject(uint64_t obj) {
  return obj == kUserUsedObject || obj == kGroupUsedObject;
}

// Net changes of one txg: uid → bytes, gid → bytes.
struct UserUsedDeltas {
  std::map<uint64_t, int64_t> user, group;
  bool any_synced = false;  // some object was synced (the ZAPs are created then)
};

// do_userquota_callback: adds (or subtracts) what dn counts, when it is accounted and its
// bonus is a znode (zfs_space_delta_cb: zp_uid at 128, zp_gid at 136 of znode_phys_t).
void AccountDnode(const DnodePhys& dn, bool subtract, UserUsedDeltas* d);

class ObjsetWriter;
// Applies the deltas to the two ZAPs of os (creating them first when absent), leaving their
// blocks written into os (dirty objects -1 and -2). Set in ObjsetPolicy for objsets that
// keep the accounting (a ZPL objset of a pool at version 15 or later).
using UserUsedApply = Status (*)(ObjsetWriter& os, const UserUsedDeltas& d);

}  // namespace uzfs
