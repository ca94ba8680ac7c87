// Registration of zfsd's dataset operations (the zfs command's; see dataset_ops.h).
#include "daemon/args.h"
#include "daemon/dataset_ops.h"
#include "daemon/ops_pool.h"
#include "libzfs/proto.h"

namespace uzfs {

void RegisterDatasetOps(Registry& reg, PoolTable* table, MountTable* mounts) {
  using proto::OpId;
  auto ops = std::make_shared<DatasetOps>(table, mounts);
  const NvType S = NvType::kString, B = NvType::kBooleanValue, N = NvType::kNvList,
               SA = NvType::kStringArray, I = NvType::kInt64;
  // Every operation that changes a dataset is Perm::kDeleg: root, or a caller the
  // delegations admit (DatasetOps::Secpolicy, zfs_secpolicy_*). Reads are kRead.
  auto add = [&](OpId id, Perm perm, std::vector<ArgSpec> args,
                 std::function<Status(const Caller&, const NvList&, NvList*)> fn) {
    OpDef d;
    d.id = static_cast<uint64_t>(id);
    d.name = proto::OpName(id);
    d.perm = perm;
    d.args = std::move(args);
    d.handler = [ops, fn, perm, id](const Caller& c, const NvList& a, NvList* r) -> Status {
      ops->set_caller(c);
      if (perm == Perm::kDeleg && c.uid != 0) UZFS_TRY(ops->Secpolicy(static_cast<uint64_t>(id), a));
      return fn(c, a, r);
    };
    reg.Add(std::move(d));
  };
  auto op = [&](OpId id, Perm perm, std::vector<ArgSpec> args,
                Status (DatasetOps::*fn)(const NvList&, NvList*)) {
    add(id, perm, std::move(args), [ops, fn](const Caller&, const NvList& a, NvList* r) { return ((*ops).*fn)(a, r); });
  };
  const Perm D = Perm::kDeleg;
  op(OpId::kZfsCreate, D, {{"name", S, true}, {"props", N}, {"parents", B}, {"history", S}},
     &DatasetOps::Create);
  op(OpId::kZfsDestroy, D,
     {{"name", S, true}, {"recursive", B}, {"dependents", B}, {"dryrun", B}, {"force", B}, {"defer", B},
      {"history", S}},
     &DatasetOps::Destroy);
  op(OpId::kZfsList, Perm::kRead, {{"names", SA}, {"recursive", B}, {"depth", I}}, &DatasetOps::List);
  op(OpId::kZfsSet, D, {{"name", S, true}, {"props", N, true}, {"history", S}}, &DatasetOps::Set);
  op(OpId::kZfsInherit, D,
     {{"name", S, true}, {"property", S, true}, {"recursive", B}, {"received", B}, {"history", S}},
     &DatasetOps::Inherit);
  op(OpId::kZfsSnapshot, D, {{"names", SA, true}, {"recursive", B}, {"props", N}, {"history", S}},
     &DatasetOps::Snapshot);
  op(OpId::kZfsRollback, D, {{"name", S, true}, {"recursive", B}, {"history", S}}, &DatasetOps::Rollback);
  op(OpId::kZfsClone, D,
     {{"origin", S, true}, {"name", S, true}, {"props", N}, {"parents", B}, {"history", S}},
     &DatasetOps::Clone);
  op(OpId::kZfsPromote, D, {{"name", S, true}, {"history", S}}, &DatasetOps::Promote);
  op(OpId::kZfsRename, D,
     {{"name", S, true}, {"newname", S, true}, {"parents", B}, {"recursive", B}, {"force", B}, {"history", S}},
     &DatasetOps::Rename);
  // Listing the mounts is for everyone; mounting (a name given) by delegation, with setuid
  // and device files off for a user (secpolicy_fs_mount_clearopts).
  add(OpId::kZfsMount, D, {{"name", S}, {"options", S}, {"at", S}, {"zfsutil", B}, {"sloppy", B}, {"fake", B}},
      [ops](const Caller& c, const NvList& a, NvList* r) {
        if (c.uid == 0 || Str(a, "name").empty()) return ops->Mount(a, r);
        NvList user = a;
        std::string o = Str(a, "options");
        user.Remove("options");
        user.AddString("options", o.empty() ? "nosuid,nodev" : o + ",nosuid,nodev");
        return ops->Mount(user, r);
      });
  add(OpId::kZfsSend, D, {{"name", S, true}, {"from", S}, {"fromorigin", B}},
      [ops](const Caller& c, const NvList& a, NvList*) { return ops->Send(c.session, a); });
  add(OpId::kZfsReceive, D,
      {{"target", S, true}, {"force", B}, {"dryrun", B}, {"isprefix", B}, {"istail", B}},
      [ops](const Caller& c, const NvList& a, NvList*) { return ops->Receive(c.session, a); });
  op(OpId::kZfsUnmount, D, {{"name", S, true}, {"force", B}}, &DatasetOps::Unmount);
  op(OpId::kZfsHold, D, {{"name", S, true}, {"tag", S, true}, {"recursive", B}, {"temphold", B}, {"history", S}},
     &DatasetOps::Hold);
  op(OpId::kZfsRelease, D, {{"name", S, true}, {"tag", S, true}, {"recursive", B}, {"history", S}},
     &DatasetOps::Release);
  op(OpId::kZfsHolds, Perm::kRead, {{"name", S, true}}, &DatasetOps::Holds);
  add(OpId::kZfsUserspace, Perm::kRead, {{"name", S, true}}, [ops](const Caller&, const NvList& a, NvList* r) {
    UZFS_TRY(ops->Userspace(a, r));
    return ops->UserspaceFilter(Str(a, "name"), r);
  });
  // zfs allow / unallow check the caller themselves (dsl_deleg_can_allow / _can_unallow).
  op(OpId::kZfsSetAcl, Perm::kRead, {{"name", S, true}, {"unset", B}, {"acl", N, true}}, &DatasetOps::SetAcl);
  op(OpId::kZfsGetAcl, Perm::kRead, {{"name", S, true}}, &DatasetOps::GetAcl);
}

}  // namespace uzfs
