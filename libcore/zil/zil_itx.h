// What the ZPL hands the intent log (zfs-fuse zil.c zil_itx_create / zil_itx_assign, the
// itx_t of zil.h; zfs_log.c builds them): one log record per logged change, kept in memory
// until a commit writes it to a log block or the txg it belongs to syncs.
#pragma once

#include <cstdint>

#include "libcore/base/bytes.h"

namespace uzfs {

// One in-memory log record (itx_t).
struct Itx {
  uint64_t txg = 0;   // the txg whose changes the record describes (lrc_txg)
  uint64_t foid = 0;  // the object it changes (zil_commit's foid); 0 for names only
  // The encoded record, lr_t first, lrc_seq 0 (numbered when written), in host byte order.
  Bytes lr;
  // TX_WRITE whose data is read from the file when the record is written (WR_NEED_COPY):
  // lr holds the 192-byte lr_write_t only; the commit appends the bytes of [off, off + len)
  // of foid as they are then, padded to 8, and grows lrc_reclen by that much.
  bool need_copy = false;
  uint64_t off = 0, len = 0;
  // A need_copy write lying within one block of the file (zfs_write's chunk): the commit may
  // log it WR_INDIRECT instead (zfs_log_write's choice, made there, where logbias and the
  // log devices are known): the block is written in place at once (dmu_sync) and the record
  // carries its pointer only. Such a record may be longer than one log record holds copied;
  // falling back, the commit cuts it in kZilWriteSplit pieces.
  bool one_block = false;
};

// Where the ZPL sends its records (the dataset's ZilWriter). Called under the caller's lock
// for the change, in the order the changes are made.
class ItxSink {
 public:
  virtual ~ItxSink() = default;
  // zil_itx_assign.
  virtual void Assign(Itx itx) = 0;
  // A change of txg that no record describes (an extended attribute, for instance): a
  // commit must then sync that txg instead of relying on the log.
  virtual void Unlogged(uint64_t txg) = 0;
};

}  // namespace uzfs
