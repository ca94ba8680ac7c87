// zfs send's pool side (see pool.h): dmu_sendbackup's checks and BEGIN record, with the
// snapshots kept busy while their blocks are read (dsl_dataset_hold in zfs_ioc_send).
#include <cerrno>

#include "libcore/dmu/dmu_send_read.h"
#include "libcore/dsl/dsl_write.h"
#include "libcore/pool/pool.h"
#include "libcore/pool/pool_run_read.h"
#include "libcore/vdev/vdev_label.h"

namespace uzfs {

namespace {
constexpr uint64_t kDsFlagCiDataset = 1ULL << 16;  // DS_FLAG_CI_DATASET
}

Result<Pool::SendSource> Pool::BeginSend(const std::string& snap, const std::string& from,
                                         bool fromorigin) {
  std::lock_guard<std::mutex> l(mu_);
  auto at = snap.find('@');
  if (at == std::string::npos) return Status::Error(EINVAL, "not a snapshot");
  if (fromorigin && !from.empty()) return Status::Error(EINVAL, "invalid argument");
  std::string fs = snap.substr(0, at);
  UZFS_ASSIGN(uint64_t dir, ResolveUserDir(fs));
  UZFS_ASSIGN(DsRef ref, ResolveDataset(snap));
  if (!ref.snapshot) return Status::Error(EINVAL, "not a snapshot");
  UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, ref.ds));
  SendSource src;
  src.name = snap;
  src.ds_obj = ref.ds;
  src.bp = ds.bp;
  DrrRecord& b = src.begin;
  b.type = kDrrBegin;
  b.magic = kDmuBackupMagic;
  b.versioninfo = kDmuSubstream;  // DMU_SET_STREAM_HDRTYPE(.., DMU_SUBSTREAM), no features
  b.creation_time = ds.creation_time;
  b.toguid = ds.guid;
  if (ds.flags & kDsFlagCiDataset) b.flags |= kDrrFlagCiData;
  b.toname = snap;
  {
    UZFS_ASSIGN(auto os, ObjSet::Open(this, ds.bp));
    b.ostype = static_cast<uint32_t>(os->type());
  }
  if (!from.empty()) {
    // fromsnap must be an earlier snapshot of the same filesystem.
    std::string short_name = from.substr(from.find('@') + 1);
    std::string from_fs = from[0] == '@' ? fs : from.substr(0, from.find('@'));
    if (from_fs != fs) return Status::Error(EXDEV, "not an earlier snapshot from the same fs");
    auto fref = ResolveDataset(fs + "@" + short_name);
    if (!fref.ok())
      return Status::Error(ENOENT, "incremental source (@" + short_name + ") does not exist");
    UZFS_ASSIGN(DslDatasetPhys fds, LoadDataset(*mos_, fref->ds));
    if (fds.creation_txg >= ds.creation_txg)
      return Status::Error(EXDEV, "not an earlier snapshot from the same fs");
    src.from_obj = fref->ds;
    src.from_txg = fds.creation_txg;
    b.fromguid = fds.guid;
  }
  if (fromorigin) {
    // dmu_sendbackup: a clone's stream is the incremental from its origin (dsl_dir_is_clone:
    // an origin that is not $ORIGIN@$ORIGIN); anything else goes whole.
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, dir));
    Result<std::string> origin = std::string();
    if (dd.origin_obj) origin = DatasetName(dd.origin_obj);
    UZFS_TRY(origin.status());
    if (!origin->empty() && origin->find("/$") == std::string::npos) {
      UZFS_ASSIGN(DslDatasetPhys ods, LoadDataset(*mos_, dd.origin_obj));
      src.from_obj = dd.origin_obj;
      src.from_txg = ods.creation_txg;
      b.fromguid = ods.guid;
      b.flags |= kDrrFlagClone;
    }
  }
  sending_[src.ds_obj]++;
  if (src.from_obj) sending_[src.from_obj]++;
  return src;
}

void Pool::EndSend(const SendSource& src) {
  std::lock_guard<std::mutex> l(mu_);
  for (uint64_t obj : {src.ds_obj, src.from_obj}) {
    auto it = sending_.find(obj);
    if (obj && it != sending_.end() && --it->second == 0) sending_.erase(it);
  }
}

Status Pool::SendStream(const SendSource& src, const StreamSink& sink, uint64_t* bytes) {
  UZFS_ASSIGN(auto os, ObjSet::Open(this, src.bp));
  // Runs of adjacent blocks are read at once (pool_run_read.h).
  RangeRead range = VdevRunRead([this](uint64_t vdev) { return Top(vdev); });
  return DmuSendBackup(this, range, *os, src.begin, src.from_txg, sink, bytes);
}

}  // namespace uzfs
