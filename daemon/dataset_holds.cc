// zfsd's user hold operations (zfs hold, zfs release, zfs holds: zfs_ioc_hold,
// zfs_ioc_release, zfs_ioc_get_holds); the pool's side is Pool::UserHold and friends.
#include "daemon/args.h"
#include "daemon/dataset_ops.h"

namespace uzfs {

namespace {

// zfs_ioc_hold / zfs_ioc_release take "fs" and the snapshot's short name apart.
Status SplitHoldName(const std::string& name, std::string* fs, std::string* snap) {
  size_t at = name.find('@');
  if (at == std::string::npos) return Status::Error(EINVAL, "'" + name + "' is not a snapshot");
  *fs = name.substr(0, at);
  *snap = name.substr(at + 1);
  return CheckDatasetName(*fs, false);
}

// The error of a hold or release, naming the snapshot at fault (dataset_ops.h).
Status AtFault(const Status& s, const std::string& failed, const std::string& snap) {
  if (s.ok() || failed.empty()) return s;
  return Status::Error(s.code(), failed + "@" + snap + "\t" + s.message());
}

}  // namespace

Status DatasetOps::Hold(const NvList& args, NvList*) {
  std::string fs, snap, failed, tag = Str(args, "tag");
  UZFS_TRY(SplitHoldName(Str(args, "name"), &fs, &snap));
  bool recursive = Flag(args, "recursive"), temphold = Flag(args, "temphold");
  Status s = WithPool(fs, [&](Pool& p) -> Status {
    UZFS_TRY(p.UserHold(fs, snap, tag, recursive, &failed, temphold));
    failed.clear();
    return Finish(p, args);
  });
  return AtFault(s, failed, snap);
}

Status DatasetOps::Release(const NvList& args, NvList*) {
  std::string fs, snap, failed, tag = Str(args, "tag");
  UZFS_TRY(SplitHoldName(Str(args, "name"), &fs, &snap));
  bool recursive = Flag(args, "recursive");
  Status s = WithPool(fs, [&](Pool& p) -> Status {
    UZFS_TRY(p.UserRelease(fs, snap, tag, recursive, &failed));
    failed.clear();
    return Finish(p, args);
  });
  // A last release destroys a snapshot marked by destroy -d.
  m_->SnapshotsChanged(fs.substr(0, fs.find('/')));
  return AtFault(s, failed, snap);
}

Status DatasetOps::Holds(const NvList& args, NvList* result) {
  std::string name = Str(args, "name");
  UZFS_TRY(CheckDatasetName(name, true));
  NvList holds;
  UZFS_TRY(WithPool(name, [&](Pool& p) -> Status {
    UZFS_ASSIGN(auto list, p.UserHolds(name));
    for (const SnapshotHold& h : list) holds.AddUint64(h.tag, h.time);
    return Status::Ok();
  }));
  result->AddNvList("holds", holds);
  return Status::Ok();
}

}  // namespace uzfs
