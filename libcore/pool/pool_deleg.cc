// Delegated administration (pool version 15): zfs allow / zfs unallow and the permission
// checks zfsd makes for callers other than root (zfs-fuse dsl_deleg.c dsl_deleg_set,
// dsl_deleg_get, dsl_deleg_access). The DSL work is libcore/dsl/dsl_deleg.
#include "libcore/dsl/dsl_deleg.h"
#include "libcore/pool/pool.h"

namespace uzfs {

Status Pool::SetDelegations(const std::string& fs, const NvList& acl, bool unset) {
  std::lock_guard<std::mutex> l(mu_);
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  if (!failed_.ok()) return failed_;
  if (fs.find('@') != std::string::npos) return Status::Error(EINVAL, "operation not applicable to datasets of this type");
  auto dir = ResolveUserDir(fs);
  if (!dir.ok()) return Status::Error(ENOENT, "dataset does not exist");
  if (version_ < kSpaVersionDelegatedPerms) return Status::Error(ENOTSUP, "pool must be upgraded");
  // zfs_ioc_set_fsacl: zfs_deleg_verify_nvlist, EINVAL (libzfs: EZFS_BADPERM).
  if (!DelegVerify(acl, unset)) return Status::Error(EINVAL, "invalid permission");
  uint64_t txg = txg_.open();
  std::vector<std::pair<uint64_t, std::string>> history;
  // A failure past the checks leaves the MOS half changed: the pool stops writing.
  if (Status s = DelegSetSync(*mos_, *mos_zaps_, *dir, acl, unset, &history); !s.ok()) return failed_ = s;
  for (const auto& [event, text] : history) LogInternalLocked(event, txg, text);
  return Status::Ok();
}

Result<std::vector<std::pair<std::string, DelegEntries>>> Pool::Delegations(const std::string& fs) {
  std::lock_guard<std::mutex> l(mu_);
  if (fs.find('@') != std::string::npos) return Status::Error(EINVAL, "operation not applicable to datasets of this type");
  auto dir = ResolveUserDir(fs);
  if (!dir.ok()) return Status::Error(ENOENT, "dataset does not exist");
  // dsl_deleg_get: the dir and each ancestor that delegates anything, nearest first.
  std::vector<std::pair<std::string, DelegEntries>> out;
  for (uint64_t d = *dir; d;) {
    UZFS_ASSIGN(DelegEntries e, DelegLoad(*mos_, *mos_zaps_, d));
    if (!e.empty()) {
      UZFS_ASSIGN(std::string name, DirName(d));
      out.emplace_back(name, std::move(e));
    }
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, d));
    d = dd.parent_obj;
  }
  return out;
}

Status Pool::DelegationAccess(const std::string& dataset, const std::string& perm, const DelegCred& cr,
                              bool below) {
  std::lock_guard<std::mutex> l(mu_);
  auto ref = ResolveDataset(dataset);
  if (!ref.ok()) return Status::Error(ENOENT, "dataset does not exist");
  // dsl_deleg_access: the pool's delegation property off refuses everything (ECANCELED).
  UZFS_ASSIGN(PropValue on, GetPropLocked("delegation"));
  if (on.value == "off" || on.value == "0")
    return Status::Error(ECANCELED, "delegated administration is disabled on pool");
  if (version_ < kSpaVersionDelegatedPerms) return Status::Error(EPERM, "permission denied");
  return DelegAccess(*mos_, *mos_zaps_, ref->dir, ref->snapshot || below, perm, cr);
}

}  // namespace uzfs
