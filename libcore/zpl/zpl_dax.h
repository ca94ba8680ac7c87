// The data of dax=on files (no OpenZFS counterpart: OpenZFS's DAX support never landed).
//
// A regular file created while its dataset has dax=on is a DAX file: its znode carries
// kFlagDaxFile and its data blocks are kDaxExtentSize (2 MiB) extents on the pool's dax class
// (device-DAX persistent memory), aligned as the device maps them. An extent is written in
// place, never copied on write: a write lands on the device and is durable (CPU caches
// flushed) when it returns; only the placement of an extent is copy-on-write metadata (its
// block pointer, in the file's indirect blocks, born in the txg that allocated it). So a crash
// never tears the namespace, and an acknowledged write is on the device; fsync of a DAX file
// syncs the txg when an extent was placed since the last one (the write is reported to the
// intent log as unlogged).
//
// Extent block pointers: level 0, plain file contents, lsize = psize = 2 MiB, checksum and
// compression off (the bytes change under clients' stores), one DVA on a dax vdev, birth =
// the allocating txg. Snapshots share extents like any block; the first write to an extent
// born at or before the dataset's last snapshot copies it to a new extent first (the old one
// stays the snapshot's, as a block killed after a snapshot goes to the deadlist).
//
// Nothing of a DAX file's data goes through the DMU's block cache or the ARC.
#pragma once

#include <cstdint>

#include "libcore/base/blkptr.h"
#include "libcore/base/bytes.h"
#include "libcore/base/status.h"
#include "libcore/dmu/dmu_write.h"

namespace uzfs {

inline constexpr uint64_t kDaxExtentSize = 2ULL << 20;
// zp_flags bit of a DAX file (uzfs's own; unused by OpenZFS's ZFS_* flags, which end at 1<<50).
inline constexpr uint64_t kFlagDaxFile = 1ULL << 56;

// The pool side of DAX files, for one dataset. Called under the pool's lock.
class DaxStore {
 public:
  virtual ~DaxStore() = default;
  // A new extent on the dax class, zeroed and durable, for a block born in txg. ENOSPC when
  // the class is full.
  virtual Result<BlkPtr> NewExtent(uint64_t txg) = 0;
  // Writes / reads bytes [off, off + size) of an extent; a write is durable on return.
  virtual Status Write(const BlkPtr& bp, uint64_t off, ByteSpan data) = 0;
  virtual Status Read(const BlkPtr& bp, uint64_t off, MutByteSpan out) = 0;
  // The dataset's accounting for block pointers changed in open context.
  virtual ObjsetSink& Sink() = 0;
  // Extents born at or before this txg are shared with a snapshot (ds_prev_snap_txg).
  virtual uint64_t SharedThrough() = 0;
  // True while a client maps the file's extents: they must not move or be freed.
  virtual bool Mapped(uint64_t obj) = 0;
  // Takes every mapping's pages of the file past size away (Pool::SetDaxRevoker) before a
  // truncate frees the extents there; EBUSY when nothing can (no revoker).
  virtual Status RevokePast(uint64_t obj, uint64_t size) = 0;
};

}  // namespace uzfs
