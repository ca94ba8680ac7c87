// Read-only views of snapshots for the .zfs/snapshot directory (see pool.h; zfs_ctldir.c
// mounts each snapshot's objset on demand). A snapshot's objset is immutable: its blocks are
// read from disk through the Pool (a BlockReader), never through the writable datasets_.
#include <cerrno>

#include "libcore/dsl/dsl_write.h"
#include "libcore/pool/pool.h"

namespace uzfs {

Result<std::unique_ptr<Pool::SnapshotView>> Pool::OpenSnapshotZpl(const std::string& snap) {
  std::lock_guard<std::mutex> l(mu_);
  auto at = snap.find('@');
  if (at == std::string::npos) return Status::Error(EINVAL, snap + ": not a snapshot");
  UZFS_TRY(ResolveUserDir(snap.substr(0, at)).status());
  UZFS_ASSIGN(DsRef ref, ResolveDataset(snap));
  if (!ref.snapshot) return Status::Error(EINVAL, snap + ": not a snapshot");
  UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, ref.ds));
  auto v = std::make_unique<SnapshotView>();
  v->name = snap;
  v->ds_obj = ref.ds;
  v->guid = ds.guid;
  v->creation_txg = ds.creation_txg;
  UZFS_ASSIGN(v->os, ObjSet::Open(this, ds.bp));
  UZFS_ASSIGN(v->zpl, Zpl::Open(*v->os));
  return v;
}

Status Pool::WithSnapshotZpl(SnapshotView& view, const std::function<Status(Zpl&)>& fn) {
  std::lock_guard<std::mutex> l(mu_);
  auto ds = LoadDataset(*mos_, view.ds_obj);
  if (!ds.ok() || ds->guid != view.guid || ds->creation_txg != view.creation_txg ||
      !view.zpl)
    return Status::Error(ENOENT, view.name + ": snapshot was destroyed");
  return fn(*view.zpl);
}

}  // namespace uzfs
