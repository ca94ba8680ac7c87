// PoolDumper: the pool-wide sections of zdb's output, in zdb's order (zfs-fuse zdb.c
// dump_zpool): -C MOS config, -u uberblock, -m metaslabs, -d datasets, -b/-c block
// traversal, -h history. Each section is one method, in its own file.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "cmd/zdb/range_set.h"
#include "cmd/zdb/zdb.h"
#include "libcore/dsl/dsl.h"
#include "libcore/spa/spa.h"
#include "libcore/zpl/zpl.h"

namespace uzfs::zdb {

class PoolDumper {
 public:
  PoolDumper(const Options& o, Spa& spa) : o_(o), spa_(spa) {}
  // target: "pool" or a dataset name; returns the exit status.
  int Run(const std::string& target);

 private:
  int DumpConfig();                                  // zdb_pool.cc
  int DumpMetaslabs();                               // zdb_metaslab.cc
  int DumpDatasets(const std::string& only);         // zdb_dataset.cc
  int DumpObjset(ObjSet& os, const std::string& name, const std::string& type, uint64_t id,
                 uint64_t cr_txg, uint64_t refd_bytes, uint64_t deadlist);
  void DumpObject(ObjSet& os, uint64_t object, const DnodePhys& dn, bool* header);
  // dump_intent_log: the ZIL header, with -ii its records, -iv... more (zdb_il.cc).
  void DumpIntentLog(ObjSet& os);
  // zdb's object_viewer table: the bonus and the contents of an object, by type (-dddd).
  void ViewObject(ObjSet& os, uint64_t object, const DnodePhys& dn);  // zdb_object.cc
  // dump_bplist: a deadlist or the deferred-free list (-ddd: header, -ddddd: entries).
  void DumpBplist(uint64_t object, const char* name);
  // dump_dtl: each vdev and whether its data is needed (-ddd).
  void DumpDtl(const Vdev& vd, int indent);
  int DumpBlockStats();                              // zdb_blocks.cc
  int DumpHistory();                                 // zdb_history.cc
  // Loads every metaslab's space map of every top-level vdev (allocated = ALLOC - FREE):
  // what every class allocates (the leak check's), and the normal class's allocated and
  // total space (what "SPA allocated" shows; separate log devices are left out).
  Status LoadSpaceMaps(std::map<uint64_t, RangeSet>* alloc, uint64_t* total_alloc,
                       uint64_t* norm_alloc, uint64_t* norm_space);

  // Zpl::ObjToPath for the znode viewer, one objset's Zpl kept at a time so its cache of the
  // directories read serves every object: without it a 10,000-entry directory makes -dddd
  // quadratic.
  std::string ObjToPath(ObjSet& os, uint64_t object);
  BlkPtr path_os_;  // the objset whose paths are cached, by its root block pointer
  std::unique_ptr<Zpl> path_zpl_;

  const Options& o_;
  Spa& spa_;
  std::unique_ptr<DslPool> dp_;
};

}  // namespace uzfs::zdb
