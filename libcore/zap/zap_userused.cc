#include "libcore/zap/zap_userused.h"

#include <cstdio>

#include "libcore/zap/zap_write.h"

namespace uzfs {

Status ZapApplyUserUsed(ObjsetWriter& os, const UserUsedDeltas& d) {
  ZapStore zaps(&os);
  for (uint64_t obj : {kUserUsedObject, kGroupUsedObject}) {
    auto dn = os.Dnode(obj);
    if (dn.ok()) continue;
    if (dn.status().code() != ENOENT) return dn.status();
    UZFS_TRY(zaps.CreateAt(obj, kOtUserGroupUsed));
  }
  auto apply = [&](uint64_t obj, const std::map<uint64_t, int64_t>& m) -> Status {
    for (const auto& [id, delta] : m) {
      if (delta == 0) continue;
      char name[20];
      std::snprintf(name, sizeof name, "%llx", static_cast<unsigned long long>(id));
      uint64_t value = 0;
      auto cur = zaps.LookupInt(obj, name);
      if (cur.ok()) value = *cur;
      else if (cur.status().code() != ENOENT) return cur.status();
      value += static_cast<uint64_t>(delta);
      if (value == 0) UZFS_TRY(zaps.Remove(obj, name));
      else UZFS_TRY(zaps.UpdateInt(obj, name, value));
    }
    return Status::Ok();
  };
  UZFS_TRY(apply(kUserUsedObject, d.user));
  UZFS_TRY(apply(kGroupUsedObject, d.group));
  return zaps.Flush();
}

}  // namespace uzfs
