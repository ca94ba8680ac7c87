// Data fault injection (zio_inject.c's data handlers, zinject -t data|dnode|mos|...): reads
// of chosen blocks of one object fail as if every copy were bad, so the logical read path (the
// error log, zpool status -v, EIO to the reader) can be tested without corrupting a device.
// OpenZFS matches a handler against each logical read's bookmark (objset, object, level,
// blkid) in zio_handle_fault_injection; here the DMU asks DataInjectionError before it reads
// a block from disk (blocks dirty in memory or cached in the ARC are not reads), and so does
// a scrub before each block it reads. A MOS handler (zio_match_handler's objset 0, object 0
// case: zinject -t mos, mosdir, config, ...) matches every block of the MOS of the DMU type
// it names (any type for "mos"); zfsd keeps the MOS it loaded in memory, so in practice a
// scrub is what reads those blocks.
//
// The registry is process-wide, as OpenZFS's inject_handlers list, and so is the handler
// numbering: device handlers (Pool::InjectFault) take their ids from NextInjectionId too, so
// zinject -c ID names one handler of either kind. A handler names its pool by guid; one whose
// pool went away matches nothing and is removed by zinject -c.
//
// Thread safety: every function may be called from any thread (one mutex); the check on the
// read path takes it only while some handler exists.
#pragma once

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "libcore/base/status.h"

namespace uzfs {

struct DataInjection {
  uint64_t id = 0;
  uint64_t pool_guid = 0;
  uint64_t objset = 0;  // the head dataset's object (zi_objset)
  uint64_t object = 0;  // zi_object
  int level = 0;        // zi_level (0: data blocks; more: the indirect blocks above them)
  uint64_t start_blkid = 0, end_blkid = UINT64_MAX;  // blocks matched, inclusive
  uint64_t start = 0, end = UINT64_MAX;  // the byte range as given (-r), for the listing
  int error = EIO;                       // EIO or ECKSUM
  uint32_t freq = 100;                   // percent of matching reads that fail
  std::string type = "data";             // zinject's -t name, for the listing
  bool mos = false;                      // a MOS handler: objset 0, matched by dmu_type
  uint8_t dmu_type = 0;                  // zi_type: the DMU type a MOS handler wants (0: any)
};

// The next handler number (zio_inject.c's inject_next_id), shared by every kind of handler.
uint64_t NextInjectionId();
// Registers d (d.id is set and returned).
uint64_t AddDataInjection(DataInjection d);
// Removes the handler numbered id; false when there is none.
bool ClearDataInjection(uint64_t id);
std::vector<DataInjection> DataInjections();
// The error a read of that block (of DMU type dmu_type) must fail with (EIO or ECKSUM), or 0.
int DataInjectionError(uint64_t pool_guid, uint64_t objset, uint64_t object, int64_t level, uint64_t blkid,
                       uint8_t dmu_type = 0);
// The same as a Status for the DMU's reads (Ok when no handler matches).
Status InjectedRead(uint64_t pool_guid, uint64_t objset, uint64_t object, int64_t level, uint64_t blkid,
                    uint8_t dmu_type = 0);

}  // namespace uzfs
