// The DSL, write side: encoders for the dsl_dir / dsl_dataset bonus buffers and the creation
// of the pool's DSL skeleton (zfs-fuse dsl_pool.c dsl_pool_create, dsl_dir.c
// dsl_dir_create_sync, dsl_dataset.c dsl_dataset_create_sync_dd / snapshot_sync,
// bplist.c bplist_create).
#pragma once

#include <cstdint>
#include <string>

#include "libcore/base/bytes.h"
#include "libcore/dmu/dmu_write.h"
#include "libcore/dsl/dsl.h"
#include "libcore/zap/zap_write.h"

namespace uzfs {

inline constexpr uint64_t kDdFlagUsedBreakdown = 1;   // DD_FLAG_USED_BREAKDOWN
inline constexpr uint64_t kDsFlagUniqueAccurate = 4;  // DS_FLAG_UNIQUE_ACCURATE
inline constexpr uint64_t kDsFlagDeferDestroy = 8;    // DS_FLAG_DEFER_DESTROY (zfs destroy -d)
inline constexpr uint16_t kDslDirPhysSize = 256;
inline constexpr uint16_t kDslDatasetPhysSize = 320;
inline constexpr uint16_t kBplistHdrSize = 32;        // bplist_phys_t with bpl_comp/uncomp
inline constexpr uint32_t kBplistBlockSize = 128 * 1024;
enum DdUsed { kDdUsedHead = 0, kDdUsedSnap, kDdUsedChild, kDdUsedChildRsrv, kDdUsedRefrsrv };

Bytes EncodeDslDirPhys(const DslDirPhys& d);
Bytes EncodeDslDatasetPhys(const DslDatasetPhys& d);

// Reads / writes the bonus of a DSL dir or dataset object through a writer.
Result<DslDirPhys> LoadDir(ObjsetWriter& mos, uint64_t obj);
Status StoreDir(ObjsetWriter& mos, uint64_t obj, const DslDirPhys& d);
Result<DslDatasetPhys> LoadDataset(ObjsetWriter& mos, uint64_t obj);
Status StoreDataset(ObjsetWriter& mos, uint64_t obj, const DslDatasetPhys& d);

// bplist_create: an empty block-pointer list (deadlists, sync_bplist).
Result<uint64_t> CreateBplist(ObjsetWriter& mos, uint32_t blocksize = kBplistBlockSize);

// dsl_dir_create_sync: a DSL dir named `name` under parent (0 for the root dir), with its
// props and child-map ZAPs, entered in the parent's child map.
Result<uint64_t> CreateDir(ObjsetWriter& mos, ZapStore& zaps, uint64_t parent,
                           const std::string& name, uint64_t now);
// dsl_dataset_create_sync_dd: the head dataset of dir (snapnames ZAP, deadlist), a clone of
// origin_snap when non-zero (v11+: every new dataset is a clone of $ORIGIN@$ORIGIN).
// creation_txg as ZFS records it (1 for datasets made in the pool's first txg).
Result<uint64_t> CreateDataset(ObjsetWriter& mos, ZapStore& zaps, uint64_t dir_obj,
                               uint64_t origin_snap, uint64_t creation_txg, uint64_t now);

// dsl_dir_diduse_space: used/comp/uncomp added to dir (used into bucket `type` of its
// breakdown) and to every ancestor as DD_USED_CHILD; above a dir with a reservation
// (dd_reserved) only the part beyond it is new to the parent, the rest moves from the
// parent's CHILD_RSRV to CHILD.
Status DirDidUseSpace(ObjsetWriter& mos, uint64_t dir, DdUsed type, int64_t used, int64_t comp,
                      int64_t uncomp);
// dsl_dir_transfer_space: delta moves from bucket `from` to bucket `to` of dir's breakdown
// (the totals and the ancestors do not change).
Status DirTransferSpace(ObjsetWriter& mos, uint64_t dir, int64_t delta, DdUsed from, DdUsed to);

// A random 64-bit guid (never 0) and a 56-bit fsid guid (unique_create).
uint64_t NewGuid();
uint64_t NewFsidGuid();

}  // namespace uzfs
