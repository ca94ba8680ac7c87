// The DSL, read side: the MOS object directory, dsl_dir and dsl_dataset objects, dataset and
// snapshot names, properties (docs/ondisk-v23.md sections 8-9; zfs-fuse dsl_dir.h,
// dsl_dataset.h, dsl_pool.c, dmu_objset.c dmu_objset_find_spa).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "libcore/base/nvlist.h"
#include "libcore/dmu/dmu.h"
#include "libcore/zap/zap.h"

namespace uzfs {

// dsl_dir_phys_t, 256 bytes, bonus of a DSL_DIR object.
struct DslDirPhys {
  uint64_t creation_time = 0, head_dataset_obj = 0, parent_obj = 0, origin_obj = 0,
           child_dir_zapobj = 0, used_bytes = 0, compressed_bytes = 0, uncompressed_bytes = 0,
           quota = 0, reserved = 0, props_zapobj = 0, deleg_zapobj = 0, flags = 0;
  uint64_t used_breakdown[5] = {0, 0, 0, 0, 0};
  static Result<DslDirPhys> Decode(const DnodePhys& dn);
};

// dsl_dataset_phys_t, 320 bytes, bonus of a DSL_DATASET object.
struct DslDatasetPhys {
  uint64_t dir_obj = 0, prev_snap_obj = 0, prev_snap_txg = 0, next_snap_obj = 0,
           snapnames_zapobj = 0, num_children = 0, creation_time = 0, creation_txg = 0,
           deadlist_obj = 0, used_bytes = 0, compressed_bytes = 0, uncompressed_bytes = 0,
           unique_bytes = 0, fsid_guid = 0, guid = 0, flags = 0;
  BlkPtr bp;
  uint64_t next_clones_obj = 0, props_obj = 0, userrefs_obj = 0;
  static Result<DslDatasetPhys> Decode(const DnodePhys& dn);
};

struct DatasetInfo {
  std::string name;       // "pool", "pool/fs", "pool/fs@snap"
  uint64_t ds_obj = 0;    // the dsl_dataset object in the MOS (the objset "ID")
  uint64_t dir_obj = 0;
  bool snapshot = false;
  DslDatasetPhys ds;
};

class DslPool {
 public:
  // Opens the MOS (from the uberblock's rootbp) and its object directory.
  static Result<std::unique_ptr<DslPool>> Open(BlockReader* reader, const BlkPtr& mos_bp,
                                               const std::string& pool_name);

  ObjSet& mos() { return *mos_; }
  const std::string& pool_name() const { return pool_; }
  // Object directory entries ("root_dataset", "config", "sync_bplist", "history", ...).
  const Zap& object_directory() const { return objdir_; }
  Result<uint64_t> DirectoryEntry(const std::string& name) const { return objdir_.Lookup(name); }

  Result<DslDirPhys> Dir(uint64_t obj);
  Result<DslDatasetPhys> Dataset(uint64_t obj);

  // Every dataset and snapshot, in dmu_objset_find order (children in ZAP cursor order,
  // each child's subtree first, then the snapshots, then the dataset itself); names that
  // begin with '$' ($MOS, $ORIGIN) are not listed.
  Result<std::vector<DatasetInfo>> ListAll();
  // One dataset or snapshot by name; ENOENT when it does not exist.
  Result<DatasetInfo> Resolve(const std::string& name);
  // The objset of a dataset or snapshot.
  Result<std::unique_ptr<ObjSet>> OpenObjset(const DatasetInfo& d);
  // The $MOS dir's used bytes (what zdb prints for the MOS).
  Result<uint64_t> MosUsedBytes();
  // The pool config stored in the MOS ("config" object, packed XDR nvlist).
  Result<NvList> MosConfig();
  // The packed nvlist object the MOS directory names `entry` ("config", "spares"); ENOENT
  // when the directory has no such entry.
  Result<NvList> MosPackedNvlist(const std::string& entry);

 private:
  DslPool() = default;
  Status Walk(uint64_t dir_obj, const std::string& name, int depth, std::vector<DatasetInfo>* out);
  BlockReader* reader_ = nullptr;
  std::string pool_;
  std::unique_ptr<ObjSet> mos_;
  Zap objdir_;
};

}  // namespace uzfs
