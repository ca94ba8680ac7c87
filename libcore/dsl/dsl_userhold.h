// User holds on snapshots (pool version 18, SPA_VERSION_USERREFS; zfs-fuse dsl_dataset.c
// dsl_dataset_user_hold_check/_sync, dsl_dataset_user_release_check/_sync,
// dsl_dataset_get_holds; temporary holds: dsl_pool.c dsl_pool_user_hold/_release,
// dsl_pool_clean_tmp_userrefs). On disk: a snapshot's ds_userrefs_obj names a ZAP of type
// DMU_OT_USERREFS ("snapshot refcount tags") mapping each tag to the hold's creation time in
// seconds (one uint64). It is created with the first hold and stays, empty, when the last is
// released; it is freed with the snapshot. v23 keeps the hold count (ds_userrefs) in core
// only, derived from the ZAP's entry count at load: so does this code (no count on disk).
//
// Every function changes the MOS in memory (through the writer and the ZAP store) in the txg
// being built. Thread safety: none (the pool's lock guards the MOS).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "libcore/dsl/dsl_write.h"

namespace uzfs {

inline constexpr uint64_t kSpaVersionUserRefs = 18;  // SPA_VERSION_USERREFS
inline constexpr size_t kMaxTagLen = 255;            // MAXNAMELEN less its NUL
inline constexpr size_t kMaxTagPrefixLen = 17;       // MAX_TAG_PREFIX_LEN: "<dsobj hex>-"

struct SnapshotHold {
  std::string tag;
  uint64_t time = 0;  // seconds since the epoch
};

// dsl_dataset_user_hold_check: EINVAL when ds_obj is no snapshot, EEXIST when it has the
// tag already, E2BIG for a tag longer than kMaxTagLen (a temporary hold's, prefixed in the
// pool's list, must leave kMaxTagPrefixLen more room).
Status UserHoldCheck(ObjsetWriter& mos, ZapStore& zaps, uint64_t ds_obj, const std::string& tag,
                     bool temphold = false);
// dsl_dataset_user_hold_sync: the tag is added (the ZAP made first when the snapshot has
// none). The caller ran UserHoldCheck.
Status UserHoldSync(ObjsetWriter& mos, ZapStore& zaps, uint64_t ds_obj, const std::string& tag,
                    uint64_t now);
// dsl_dataset_release_might_destroy: ESRCH when the snapshot has no such tag; *destroys set
// when releasing it leaves a snapshot marked for deferred destroy with no holds and no clones
// (which the release then destroys).
Status UserReleaseCheck(ObjsetWriter& mos, ZapStore& zaps, uint64_t ds_obj, const std::string& tag,
                        bool* destroys);
// dsl_dataset_user_release_sync's ZAP part: the tag is removed; *left is the holds that stay.
Status UserReleaseSync(ObjsetWriter& mos, ZapStore& zaps, uint64_t ds_obj, const std::string& tag,
                       uint64_t* left);
// dsl_dataset_get_holds: the snapshot's holds, sorted by tag.
Result<std::vector<SnapshotHold>> UserHolds(ObjsetWriter& mos, ZapStore& zaps, uint64_t ds_obj);
// ds_userrefs: how many holds the snapshot has.
Result<uint64_t> UserRefs(ZapStore& zaps, const DslDatasetPhys& ds);

// Temporary holds (zfs hold -t; zfs send -R/-I/-p takes them on the snapshots it sends): a
// hold like any other, also listed in the pool directory's "tmp_userrefs" ZAP
// (DMU_POOL_TMP_USERREFS, type DMU_OT_USERREFS, made with the first) under
// "<dsobj in hex>-<tag>" with the hold's time, so that the next import releases it
// (dsl_pool_clean_tmp_userrefs) when its owner died before it could.
struct TmpHold {
  uint64_t ds_obj = 0;
  std::string tag;
};
// dsl_pool_user_hold: the entry added (the ZAP made when the pool has none).
Status TmpHoldAdd(ZapStore& zaps, uint64_t ds_obj, const std::string& tag, uint64_t now);
// dsl_pool_user_release: the entry removed; Ok when there is none (an ordinary hold).
Status TmpHoldRemove(ZapStore& zaps, uint64_t ds_obj, const std::string& tag);
// The pool's temporary holds, in the ZAP's order (none when it has no list).
Result<std::vector<TmpHold>> TmpHolds(ZapStore& zaps);

}  // namespace uzfs
