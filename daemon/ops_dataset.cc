// Registration of zfsd's dataset operations (the zfs command's; see dataset_ops.h).
#include "daemon/dataset_ops.h"
#include "daemon/ops_pool.h"
#include "libzfs/proto.h"

namespace uzfs {

void RegisterDatasetOps(Registry& reg, PoolTable* table, MountTable* mounts) {
  using proto::OpId;
  auto ops = std::make_shared<DatasetOps>(table, mounts);
  const NvType S = NvType::kString, B = NvType::kBooleanValue, N = NvType::kNvList,
               SA = NvType::kStringArray, I = NvType::kInt64;
  auto op = [&](OpId id, Perm perm, std::vector<ArgSpec> args,
                Status (DatasetOps::*fn)(const NvList&, NvList*)) {
    OpDef d;
    d.id = static_cast<uint64_t>(id);
    d.name = proto::OpName(id);
    d.perm = perm;
    d.args = std::move(args);
    d.handler = [ops, fn](const Caller&, const NvList& a, NvList* r) { return ((*ops).*fn)(a, r); };
    reg.Add(std::move(d));
  };
  op(OpId::kZfsCreate, Perm::kRoot, {{"name", S, true}, {"props", N}, {"parents", B}, {"history", S}},
     &DatasetOps::Create);
  op(OpId::kZfsDestroy, Perm::kRoot,
     {{"name", S, true}, {"recursive", B}, {"dependents", B}, {"dryrun", B}, {"force", B}, {"defer", B},
      {"history", S}},
     &DatasetOps::Destroy);
  op(OpId::kZfsList, Perm::kRead, {{"names", SA}, {"recursive", B}, {"depth", I}}, &DatasetOps::List);
  op(OpId::kZfsSet, Perm::kRoot, {{"name", S, true}, {"props", N, true}, {"history", S}}, &DatasetOps::Set);
  op(OpId::kZfsInherit, Perm::kRoot,
     {{"name", S, true}, {"property", S, true}, {"recursive", B}, {"history", S}}, &DatasetOps::Inherit);
  op(OpId::kZfsSnapshot, Perm::kRoot, {{"names", SA, true}, {"recursive", B}, {"props", N}, {"history", S}},
     &DatasetOps::Snapshot);
  op(OpId::kZfsRollback, Perm::kRoot, {{"name", S, true}, {"recursive", B}, {"history", S}},
     &DatasetOps::Rollback);
  op(OpId::kZfsClone, Perm::kRoot,
     {{"origin", S, true}, {"name", S, true}, {"props", N}, {"parents", B}, {"history", S}},
     &DatasetOps::Clone);
  op(OpId::kZfsPromote, Perm::kRoot, {{"name", S, true}, {"history", S}}, &DatasetOps::Promote);
  op(OpId::kZfsRename, Perm::kRoot,
     {{"name", S, true}, {"newname", S, true}, {"parents", B}, {"recursive", B}, {"force", B}, {"history", S}},
     &DatasetOps::Rename);
  // Listing the mounts is for everyone; mounting (a name given) for root.
  {
    OpDef d;
    d.id = static_cast<uint64_t>(OpId::kZfsMount);
    d.name = proto::OpName(OpId::kZfsMount);
    d.perm = Perm::kRead;
    d.args = {{"name", S}, {"options", S}, {"at", S}, {"zfsutil", B}, {"sloppy", B}, {"fake", B}};
    d.handler = [ops](const Caller& c, const NvList& a, NvList* r) {
      const std::string* n = a.GetString("name");
      if (n && !n->empty() && c.uid != 0) return Status::Error(EPERM, "permission denied");
      return ops->Mount(a, r);
    };
    reg.Add(std::move(d));
  }
  {
    OpDef d;
    d.id = static_cast<uint64_t>(OpId::kZfsSend);
    d.name = proto::OpName(OpId::kZfsSend);
    d.perm = Perm::kRoot;
    d.args = {{"name", S, true}, {"from", S}};
    d.handler = [ops](const Caller& c, const NvList& a, NvList*) { return ops->Send(c.session, a); };
    reg.Add(std::move(d));
  }
  {
    OpDef d;
    d.id = static_cast<uint64_t>(OpId::kZfsReceive);
    d.name = proto::OpName(OpId::kZfsReceive);
    d.perm = Perm::kRoot;
    d.args = {{"target", S, true}, {"force", B}, {"dryrun", B}, {"isprefix", B}, {"istail", B}};
    d.handler = [ops](const Caller& c, const NvList& a, NvList*) { return ops->Receive(c.session, a); };
    reg.Add(std::move(d));
  }
  op(OpId::kZfsUnmount, Perm::kRoot, {{"name", S, true}, {"force", B}}, &DatasetOps::Unmount);
  op(OpId::kZfsHold, Perm::kRoot, {{"name", S, true}, {"tag", S, true}, {"recursive", B}, {"history", S}},
     &DatasetOps::Hold);
  op(OpId::kZfsRelease, Perm::kRoot, {{"name", S, true}, {"tag", S, true}, {"recursive", B}, {"history", S}},
     &DatasetOps::Release);
  op(OpId::kZfsHolds, Perm::kRead, {{"name", S, true}}, &DatasetOps::Holds);
  op(OpId::kZfsUserspace, Perm::kRead, {{"name", S, true}}, &DatasetOps::Userspace);
}

}  // namespace uzfs
