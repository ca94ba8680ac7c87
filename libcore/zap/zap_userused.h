// The ZAP layer's half of user/group space accounting (libcore/dmu/dmu_userused.h): applies a
// txg's deltas to the userused/groupused ZAPs (zfs-fuse zap.c zap_increment_int: keys "%llx",
// an entry reaching 0 is removed), creating both objects first (zap_create_claim with
// DMU_OT_USERGROUP_USED), as dmu_objset_do_userquota_callbacks does. Stateless.
#pragma once

#include "libcore/dmu/dmu_write.h"

namespace uzfs {

// A UserUsedApply (ObjsetPolicy::userused).
Status ZapApplyUserUsed(ObjsetWriter& os, const UserUsedDeltas& d);

}  // namespace uzfs
