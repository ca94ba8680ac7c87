// Intent log replay into the ZPL (zfs-fuse zfs_replay.c, zfs_replay_vector): one decoded log
// record applied to a filesystem as the op it describes, by object number and name.
//
// What each type does (as zfs_replay.c):
// - TX_CREATE, TX_MKDIR, TX_SYMLINK (mknod is a TX_CREATE with an rdev): the object is made
//   at exactly lr_foid with the logged gen, mode, uid, gid, rdev, and creation time (which
//   zfs_mknode under z_replay also gives its atime, mtime and ctime). Nothing is done when
//   lr_foid already exists (its create reached the disk before the crash); a TX_CREATE whose
//   name is already taken succeeds without making anything (VOP_CREATE NONEXCL), a mkdir or
//   symlink fails with EEXIST.
// - TX_REMOVE, TX_RMDIR, TX_LINK, TX_RENAME: by name in the logged directories; a directory
//   (or link target) that does not exist is an error.
// - TX_WRITE: copied data from the record; for an indirect record (its data in a block of
//   the log's) the caller puts that block's bytes in LrWrite.data (ReadLogWriteData) and the
//   whole block is written, the size then set back to the record's end when the file grew
//   past it. The file never shrinks. A write to an object that no longer exists is dropped
//   (writes are logged out of order).
// - TX_WRITE2: the size grows to the record's end.
// - TX_TRUNCATE: zfs_freesp (ZplWriter::FreeSpace). TX_SETATTR: the fields of lr_mask
//   (mode, uid, gid, size, atime, mtime).
// - TX_ACL, TX_ACL_V0: the file keeps its mode and trivial ACL; Ok when it exists.
// - Anything else (TX_MKXATTR, the _ACL and _ATTR create forms, unknown types): ENOTSUP.
//
// Case-insensitive records (TX_CI) are replayed case-sensitively, as this ZPL looks names
// up. The ZplWriter's sink is put aside meanwhile: a replayed change logs nothing
// (zil_replaying).
#pragma once

#include <cstdint>

#include "libcore/base/status.h"
#include "libcore/zil/zil.h"
#include "libcore/zpl/zpl_write.h"

namespace uzfs {

// Applies lr to z; txg is the open txg the changes go in, now the time they are made at.
Status ReplayRecord(ZplWriter& z, const LogRecord& lr, uint64_t txg, ZTime now);

}  // namespace uzfs
