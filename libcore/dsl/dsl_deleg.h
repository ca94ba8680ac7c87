// Delegated administration (pool version 15, SPA_VERSION_DELEGATED_PERMS; zfs-fuse
// dsl_deleg.c and zfs_deleg.c). On disk: a DSL dir's dd_deleg_zapobj names a ZAP of type
// DMU_OT_DSL_PERMS whose entries map a "whokey" to the object of another DMU_OT_DSL_PERMS
// ZAP, whose entry names are the permissions granted (each value one uint64 0). A whokey is
// TYPE INHERIT '$' WHO (zfs_deleg_whokey):
//   ul$UID ud$UID  user, on this dataset (l) / its descendants (d); Ul$ Ud$: permission sets
//   gl$GID gd$GID  group (Gl$ Gd$: sets); el$ ed$ everyone (El$ Ed$: sets)
//   c-$ C-$        create-time permissions (and sets) given to who creates a child
//   s-$@NAME S-$@NAME  the permission set @NAME (its permissions / the sets it includes)
// The dir's ZAP is made with its first delegation and stays when emptied; a who's ZAP goes
// with its last permission. Both go with the dir (dsl_deleg_destroy).
//
// Every function reads or changes the MOS in memory (through the writer and the ZAP store)
// in the txg being built. Thread safety: none (the pool's lock guards the MOS).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "libcore/base/nvlist.h"
#include "libcore/dsl/dsl_write.h"

namespace uzfs {

inline constexpr uint64_t kSpaVersionDelegatedPerms = 15;  // SPA_VERSION_DELEGATED_PERMS
inline constexpr size_t kMaxDelegName = 128;               // ZFS_MAX_DELEG_NAME

// A caller's credentials, as dsl_check_user_access reads a cred_t.
struct DelegCred {
  uint64_t uid = 0, gid = 0;
  std::vector<uint64_t> groups;  // supplementary
};

// whokey → its permissions.
using DelegEntries = std::map<std::string, std::set<std::string>>;

// zfs_deleg_canonicalize_perm: the permission's name (a subcommand's, or a delegatable
// property's canonical name), or "" when it is none.
std::string DelegCanonicalPerm(const std::string& perm);
// zfs_deleg_verify_nvlist: acl is {whokey: {perm: boolean}...} (a whokey without an nvlist
// allowed when unset: the who's every permission). False for a bad whokey, an empty
// permission list or a permission that is neither known nor "@set".
bool DelegVerify(const NvList& acl, bool unset);
// The permission names zfs allow knows (zfs_deleg_perm_tab), in table order.
const std::vector<std::string>& DelegPermNames();

// dsl_deleg_set_sync / dsl_deleg_unset_sync on dir dir_obj. history gets one line per
// change for spa_history_internal_log ({event, text}).
Status DelegSetSync(ObjsetWriter& mos, ZapStore& zaps, uint64_t dir_obj, const NvList& acl, bool unset,
                    std::vector<std::pair<uint64_t, std::string>>* history);
// The delegations recorded on dir dir_obj (none when it has no ZAP).
Result<DelegEntries> DelegLoad(ObjsetWriter& mos, ZapStore& zaps, uint64_t dir_obj);
// dsl_deleg_access's walk: dir_obj is the dataset's dir, snapshot when the dataset is a
// snapshot (then only descendant grants apply). OK when perm is granted to cr on the dir or
// inherited from an ancestor (permission sets expanded), EPERM otherwise.
Status DelegAccess(ObjsetWriter& mos, ZapStore& zaps, uint64_t dir_obj, bool snapshot,
                   const std::string& perm, const DelegCred& cr);
// dsl_deleg_set_create_perms: the create-time permissions (and sets) of each ancestor of
// dir_obj given to uid locally on dir_obj (ul$UID, Ul$UID).
Status DelegSetCreatePerms(ObjsetWriter& mos, ZapStore& zaps, uint64_t dir_obj, uint64_t uid);
// dsl_deleg_destroy: the dir's delegation ZAPs freed (the caller frees the dir).
Status DelegDestroy(ObjsetWriter& mos, ZapStore& zaps, uint64_t zapobj);

}  // namespace uzfs
