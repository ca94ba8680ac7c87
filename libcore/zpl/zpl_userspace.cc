#include "libcore/zpl/zpl_userspace.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "libcore/dmu/dmu_write.h"
#include "libcore/zap/zap.h"

namespace uzfs {

namespace {

constexpr uint64_t kMasterNodeObj = 1;  // MASTER_NODE_OBJ
// The master node names the quota ZAPs by zfs_userquota_prop_prefixes (zfs_set_userquota's
// zap_add, zfsvfs_create's zap_lookup).
const char* QuotaEntry(UserProp p) { return p == UserProp::kUserQuota ? "userquota@" : "groupquota@"; }

std::string Key(uint64_t id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(id));
  return buf;
}

// A key back to its id (an entry of another form, e.g. a FUID with a domain, is kept as is:
// its full 64-bit value).
bool ParseKey(const std::string& k, uint64_t* id) {
  if (k.empty()) return false;
  char* end = nullptr;
  *id = std::strtoull(k.c_str(), &end, 16);
  return end && *end == '\0';
}

void Fill(const std::vector<ZapEntry>& entries, std::map<uint64_t, uint64_t>* out) {
  for (const ZapEntry& e : entries) {
    uint64_t id;
    if (e.int_size == 8 && e.value.size() == 1 && ParseKey(e.name, &id)) (*out)[id] = e.first();
  }
}

// The quota ZAP's object from the master node (0: none yet).
Result<uint64_t> QuotaObj(ZapStore& zaps, UserProp p) {
  auto r = zaps.LookupInt(kMasterNodeObj, QuotaEntry(p));
  if (!r.ok() && r.status().code() == ENOENT) return uint64_t{0};
  return r;
}

}  // namespace

Result<UserSpace> ReadUserSpace(ObjsetWriter& os, ZapStore& zaps) {
  UserSpace us;
  us.present = os.os_flags() & kObjsetFlagUserAccountingComplete;
  // The special ZAPs through a store of their own: the sync changes them behind the ZPL's.
  ZapStore special(&os);
  for (auto [obj, p] : {std::pair{kUserUsedObject, UserProp::kUserUsed},
                        std::pair{kGroupUsedObject, UserProp::kGroupUsed}}) {
    auto dn = os.Dnode(obj);
    if (!dn.ok()) {
      if (dn.status().code() == ENOENT) continue;
      return dn.status();
    }
    UZFS_ASSIGN(auto entries, special.List(obj));
    Fill(entries, &us.props[static_cast<int>(p)]);
  }
  for (UserProp p : {UserProp::kUserQuota, UserProp::kGroupQuota}) {
    UZFS_ASSIGN(uint64_t qobj, QuotaObj(zaps, p));
    if (!qobj) continue;
    UZFS_ASSIGN(auto entries, zaps.List(qobj));
    Fill(entries, &us.props[static_cast<int>(p)]);
  }
  return us;
}

Result<UserSpace> ReadUserSpace(ObjSet& os, bool present) {
  UserSpace us;
  us.present = present;
  if (os.userused()) {
    UZFS_ASSIGN(Zap z, Zap::Open(os, *os.userused(), kUserUsedObject));
    Fill(z.entries(), &us.props[static_cast<int>(UserProp::kUserUsed)]);
  }
  if (os.groupused()) {
    UZFS_ASSIGN(Zap z, Zap::Open(os, *os.groupused(), kGroupUsedObject));
    Fill(z.entries(), &us.props[static_cast<int>(UserProp::kGroupUsed)]);
  }
  UZFS_ASSIGN(Zap master, Zap::Open(os, kMasterNodeObj));
  for (UserProp p : {UserProp::kUserQuota, UserProp::kGroupQuota}) {
    for (const ZapEntry& e : master.entries()) {
      if (e.name != QuotaEntry(p) || e.value.size() != 1) continue;
      UZFS_ASSIGN(Zap q, Zap::Open(os, e.first()));
      Fill(q.entries(), &us.props[static_cast<int>(p)]);
    }
  }
  return us;
}

Status SetUserQuota(ObjsetWriter& os, ZapStore& zaps, UserProp prop, uint64_t id, uint64_t quota) {
  (void)os;
  if (prop != UserProp::kUserQuota && prop != UserProp::kGroupQuota)
    return Status::Error(EINVAL, "not a quota property");
  UZFS_ASSIGN(uint64_t qobj, QuotaObj(zaps, prop));
  if (!qobj) {
    if (quota == 0) return Status::Ok();  // nothing to remove
    UZFS_ASSIGN(qobj, zaps.Create(kOtUserGroupQuota));
    UZFS_TRY(zaps.AddInt(kMasterNodeObj, QuotaEntry(prop), qobj));
  }
  if (quota == 0) {
    Status s = zaps.Remove(qobj, Key(id));
    return s.ok() || s.code() == ENOENT ? Status::Ok() : s;
  }
  return zaps.UpdateInt(qobj, Key(id), quota);
}

Result<bool> OverQuota(ObjsetWriter& os, ZapStore& zaps, bool group, uint64_t id) {
  UZFS_ASSIGN(uint64_t qobj, QuotaObj(zaps, group ? UserProp::kGroupQuota : UserProp::kUserQuota));
  if (!qobj) return false;
  auto quota = zaps.LookupInt(qobj, Key(id));
  if (!quota.ok()) return false;
  uint64_t usedobj = group ? kGroupUsedObject : kUserUsedObject;
  if (!os.Dnode(usedobj).ok()) return false;
  ZapStore special(&os);
  auto used = special.LookupInt(usedobj, Key(id));
  if (!used.ok()) return false;
  return *used >= *quota;
}

Status CheckQuota(ObjsetWriter& os, ZapStore& zaps, uint64_t uid, uint64_t gid) {
  UZFS_ASSIGN(bool user_over, OverQuota(os, zaps, false, uid));
  UZFS_ASSIGN(bool group_over, OverQuota(os, zaps, true, gid));
  if (user_over || group_over) return Status::Error(EDQUOT, "Disc quota exceeded");
  return Status::Ok();
}

}  // namespace uzfs
