// The pool operations of zfsd, independent of the wire: each takes the request's argument
// nvlist and fills a result nvlist; errors carry OpenZFS's wording in the Status message
// (the part after "cannot <verb> '<pool>': "). Registered as socket operations in ops_pool.cc.
//
// Arguments (all optional unless marked *):
//   pool_create   name*, nvroot* (nvlist), props (nvlist of strings), fsprops (nvlist of
//                 strings), altroot, history (the command line for `zpool history`)
//   pool_import   pool* (name or guid), devices* (string array), newname, force (bool),
//                 props, altroot, nomount (bool, -N), history
//   pool_export   name*, force;  pool_destroy name*, force, history
//   pool_list     → pools: array of {name, size, allocated, free, capacity, health, guid,
//                   altroot, version, ...every property}
//   pool_status   name → pools: array of {name, config (vdev tree with states), props}
//   pool_get      name*, props (string array, empty = all) → props: array of
//                 {property, value, source}
//   pool_set      name*, property*, value*, history
//   pool_history  name* → records: array of {time, command, internal}
//   pool_sync     name (empty = every pool)
//   pool_add      name*, nvroot* (nvlist, as pool_create's), history
//   pool_remove   name*, guid* (uint64: a separate log device's top-level vdev), history
//   pool_clear    name*, guid (uint64: a vdev; 0 or absent = the whole pool), history
//   pool_vdev_state name*, guid* (a leaf), action* ("offline", "online"), temporary (bool:
//                 offline -t), expand (bool: online -e), history → faulted (uint64 1: an
//                 online whose device stays unusable)
//   pool_attach name*, guid* (the leaf joined), nvroot* (nvlist: one leaf), replacing
//                 (bool: zpool replace), history
//   pool_detach name*, guid* (a leaf of a mirror or replacing vdev), history
//   pool_inject   action* ("add", "clear", "list", "fault"); add: name*, guid*, error (EIO or
//                 ENXIO), iotype (1 read, 2 write, 3 all), freq (1-100) → id; clear: id*
//                 (ENOENT when no pool has it); list → handlers: array of {id, pool, guid,
//                 error, iotype, freq}; fault: name*, guid* (zinject -A fault); add_data:
//                 name* (a filesystem), object*, start, end, error, freq, flush_arc, level,
//                 type ("dnode": the object's dnode block) → id; add_mos: name*, type* (mos,
//                 mosdir, metaslab, config, bplist, spacemap, errlog), error, freq → id
#pragma once

#include <string>

#include "daemon/mount_table.h"
#include "daemon/pool_table.h"
#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"

namespace uzfs {

// pool_namecheck (zfs_namecheck.c) in OpenZFS's words: "name must begin with a letter",
// "invalid character 'x' in pool name", "name is reserved", "name is too long".
Status CheckPoolName(const std::string& name);

class PoolOps {
 public:
  // mounts: the filesystems are mounted at create and import and unmounted at export and
  // destroy (none when null).
  PoolOps(PoolTable* table, MountTable* mounts) : t_(table), m_(mounts) {}
  Status Create(const NvList& args, NvList* result);
  Status Import(const NvList& args, NvList* result);
  Status Export(const NvList& args, NvList* result);
  Status Destroy(const NvList& args, NvList* result);
  // zpool export -f and destroy -f: revokes every DAX mapping of the pool for good.
  Status RevokeDax(const std::string& name);
  Status List(const NvList& args, NvList* result);
  Status StatusOf(const NvList& args, NvList* result);
  Status Get(const NvList& args, NvList* result);
  Status Set(const NvList& args, NvList* result);
  Status History(const NvList& args, NvList* result);
  Status Sync(const NvList& args, NvList* result);
  Status Add(const NvList& args, NvList* result);
  Status Remove(const NvList& args, NvList* result);
  Status Clear(const NvList& args, NvList* result);
  Status Scrub(const NvList& args, NvList* result);
  Status VdevState(const NvList& args, NvList* result);
  Status Attach(const NvList& args, NvList* result);
  Status Detach(const NvList& args, NvList* result);
  Status Inject(const NvList& args, NvList* result);

 private:
  Status CheckNotInUse(const NvList& nvroot, const std::string& adding_to = "");
  PoolTable* t_;
  MountTable* m_;
};

}  // namespace uzfs
