// The DSL, write side, for whole filesystems (zfs-fuse dsl_dir.c and dsl_dataset.c at pool
// v23): a filesystem's destruction (dsl_dataset_destroy_sync + dsl_dir_destroy_sync for a
// head without snapshots), renames (dsl_dir_rename_sync, dsl_dataset_snapshot_rename_sync)
// and the pool's $ORIGIN snapshot every filesystem is a clone of.
//
// Each function is the sync half of an operation: it checks what only the DSL can know
// (name clashes, a rename into one's own descendant) and changes the MOS in memory in the
// txg being built. Names are resolved and validated by the caller (the pool), which also
// drops the dataset's unsynced changes first. Thread safety: none (the caller's lock).
#pragma once

#include <cstdint>
#include <string>

#include "libcore/dsl/dsl_dataset_write.h"
#include "libcore/zio/block_reader.h"

namespace uzfs {

// $ORIGIN@$ORIGIN of the pool whose root dsl_dir is root_dir: the snapshot object every
// filesystem descends from (pool version 11 and later), or 0 when the pool has none.
Result<uint64_t> PoolOriginSnapshot(ObjsetWriter& mos, ZapStore& zaps, uint64_t root_dir);

// dsl_dataset_destroy_sync + dsl_dir_destroy_sync for a filesystem `name_in_parent` (its dir
// dir_obj) that has no children, snapshots or clones (the caller checked): reservations given
// up, every block born after its origin freed through ops (read through reader), the parent's
// space, the origin's clone entry, the objects and the parent's entry removed. Returns the
// origin snapshot's object (0 for none), which the caller may now destroy if it was deferred.
Result<uint64_t> DestroyHeadSync(ObjsetWriter& mos, ZapStore& zaps, DslBlockOps& ops,
                                 BlockReader* reader, uint64_t dir_obj,
                                 const std::string& name_in_parent);

// dsl_dataset_snapshot_rename_sync: snapshot `from` of head head_obj becomes `to`. ENOENT
// when there is no `from`, EEXIST when `to` exists.
Status SnapshotRenameSync(ZapStore& zaps, ObjsetWriter& mos, uint64_t head_obj,
                          const std::string& from, const std::string& to);

// dsl_dir_rename_sync: dir dir_obj, named old_name in its parent, becomes new_name under
// new_parent, taking its space with it. EINVAL when new_parent is dir_obj or below it.
Status DirRenameSync(ObjsetWriter& mos, ZapStore& zaps, uint64_t dir_obj,
                     const std::string& old_name, uint64_t new_parent, const std::string& new_name);

}  // namespace uzfs
