// zfsd's user/group space operations: zfs userspace / groupspace and the
// {user,group}{used,quota}@ properties (zfs_ioc_userspace_many, zfs_ioc_userspace_one,
// zfs_ioc_set_prop's userquota branch). The ZPL's side is libcore/zpl/zpl_userspace.h.
// Names are resolved to ids by the client (userquota_propname_decode); here every id is
// numeric.
#include <cstdlib>

#include "daemon/args.h"
#include "daemon/dataset_ops.h"
#include "libcore/base/zfs_prop.h"
#include "libcore/zpl/zpl_userspace.h"

namespace uzfs {

namespace {

const char* const kPropNames[kNumUserProps] = {"userused", "userquota", "groupused", "groupquota"};

NvList Table(const std::map<uint64_t, uint64_t>& m) {
  NvList t;
  for (const auto& [id, v] : m) t.AddUint64(std::to_string(id), v);
  return t;
}

}  // namespace

bool IsUserQuotaProp(const std::string& k) {
  return k.rfind("userquota@", 0) == 0 || k.rfind("groupquota@", 0) == 0 ||
         k.rfind("userused@", 0) == 0 || k.rfind("groupused@", 0) == 0;
}

Status DatasetOps::SetUserQuotaProp(Pool& p, const std::string& name, const std::string& k,
                                    const std::string& v) {
  size_t at = k.find('@');
  std::string type = k.substr(0, at), who = k.substr(at + 1);
  if (type == "userused" || type == "groupused")
    return Status::Error(EINVAL, "'" + k + "' is readonly");
  char* end = nullptr;
  uint64_t id = std::strtoull(who.c_str(), &end, 10);
  if (who.empty() || *end != '\0')
    return Status::Error(EINVAL, "'" + k + "' has an invalid user/group name");
  uint64_t quota = 0;
  if (v != "none") UZFS_TRY(ParseSize(v, &quota));
  if (name.find('@') != std::string::npos)
    return Status::Error(EINVAL, "this property can not be modified for snapshots");
  UserProp prop = type == "userquota" ? UserProp::kUserQuota : UserProp::kGroupQuota;
  return p.WithZpl(name, [&](ZplWriter& z, uint64_t) {
    return SetUserQuota(z.objset(), z.zaps(), prop, id, quota);
  });
}

Status DatasetOps::Userspace(const NvList& args, NvList* result) {
  std::string name = Str(args, "name");
  UZFS_TRY(CheckDatasetName(name, true));
  UserSpace us;
  UZFS_TRY(WithPool(name, [&](Pool& p) -> Status {
    if (name.find('@') == std::string::npos) {
      return p.WithZpl(name, [&](ZplWriter& z, uint64_t) -> Status {
        UZFS_ASSIGN(us, ReadUserSpace(z.objset(), z.zaps()));
        return Status::Ok();
      });
    }
    UZFS_ASSIGN(auto view, p.OpenSnapshotZpl(name));
    return p.WithSnapshotZpl(*view, [&](Zpl& z) -> Status {
      // A snapshot's os_flags are not kept by the read side: its userused object stands
      // for OBJSET_FLAG_USERACCOUNTING_COMPLETE.
      UZFS_ASSIGN(us, ReadUserSpace(z.objset(), z.objset().userused() != nullptr));
      return Status::Ok();
    });
  }));
  // zfs_userspace_one / _many: ENOTSUP while the objset has no accounting yet.
  if (!us.present) return Status::Error(ENOTSUP, "pool and or dataset must be upgraded to set this property or value");
  for (int i = 0; i < kNumUserProps; i++) result->AddNvList(kPropNames[i], Table(us.props[i]));
  return Status::Ok();
}

}  // namespace uzfs
