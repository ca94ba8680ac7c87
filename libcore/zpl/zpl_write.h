// The ZPL, write side (zfs-fuse zfs_znode.c zfs_mknode / zfs_create_fs, zfs_dir.c
// zfs_link_create / zfs_link_destroy, zfs_vnops.c zfs_write / zfs_setattr / zfs_symlink /
// zfs_rename): znodes as ZPL version 4 lays them out, over an ObjsetWriter and its ZapStore.
//
// Layout facts: a znode is the 264-byte bonus (type ZNODE) of its object; directories are
// ZAPs whose values are (IFTODT(mode) << 60) | object; a directory's size is 2 + entries and
// its link count 2 + subdirectories; a symlink of at most 56 bytes lives in the bonus after
// the znode (bonuslen 264 + length), a longer one in data block 0; a regular file's single
// block grows with the file (rounded to 512 bytes) up to the recordsize, then the file gets
// recordsize blocks; each znode carries the trivial ACL of its mode (6 ACEs, inline) and the
// flags zfs-fuse gives new files (ARCHIVE, AV_MODIFIED, ACL_TRIVIAL, AUTO_INHERIT, and
// NO_EXECS_DENIED when everyone may execute). An unlinked object that is still open goes to
// the unlinked set (DELETE_QUEUE) under its hex number.
//
// Errors are POSIX: ENOENT, EEXIST, ENOTDIR, EISDIR, ENOTEMPTY, ENAMETOOLONG (> 255 bytes),
// EINVAL (renaming a directory into itself), EMLINK.
//
// The intent log (zfs_vnops.c's zfs_log_* calls): with a sink set, every successful change
// hands it its record (zfs_log.c's layouts, zil_write.h): Create TX_CREATE / TX_MKDIR,
// Symlink TX_SYMLINK, Link TX_LINK, Unlink TX_REMOVE, Rmdir TX_RMDIR, Rename TX_RENAME (the
// replaced target's removal is part of it), Write TX_WRITE (WR_NEED_COPY, in 64K pieces past
// ZIL_MAX_LOG_DATA), Setattr TX_SETATTR, FreeSpace TX_TRUNCATE. Writes, setattrs and frees
// of an unlinked file (still open, links 0) are not logged (zp->z_unlinked). Xattr changes
// have no record here: they report their txg as unlogged. Accessed, Reap and DrainUnlinked
// log nothing, as in ZFS.
// Thread safety: none (the pool serializes).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcore/dmu/dmu_write.h"
#include "libcore/zap/zap_write.h"
#include "libcore/zil/zil_itx.h"
#include "libcore/zpl/zpl.h"
#include "libcore/zpl/zpl_dax.h"

namespace uzfs {

struct ZTime {
  uint64_t sec = 0, nsec = 0;
};

struct SetAttr {
  std::optional<uint32_t> mode;  // permission bits only (07777)
  std::optional<uint32_t> uid, gid;
  std::optional<uint64_t> size;
  std::optional<ZTime> atime, mtime;
};

class ZplWriter {
 public:
  // zfs_create_fs: master node (VERSION 4, DELETE_QUEUE, ROOT, SHARES) in an empty objset.
  static Status CreateFs(ObjsetWriter& os, ZapStore& zaps, uint64_t txg, ZTime now);
  // Reads the master node. os and zaps must outlive the writer.
  static Result<std::unique_ptr<ZplWriter>> Open(ObjsetWriter* os, ZapStore* zaps);
  // The objset and its ZAPs (user/group space: libcore/zpl/zpl_userspace.h).
  ObjsetWriter& objset() { return *os_; }
  ZapStore& zaps() { return *zaps_; }

  uint64_t root() const { return root_; }
  void set_recordsize(uint32_t r) { recordsize_ = r; }
  // DAX files (zpl_dax.h): where their extents live (null: the pool has no dax class; a DAX
  // file's data then fails with ENXIO), and whether new regular files are DAX files (the
  // dataset's dax property, taken only with a store).
  void set_dax(DaxStore* store, bool new_files) {
    dax_ = store;
    dax_new_ = new_files && store;
  }
  static bool IsDaxFile(const ZnodePhys& z) { return S_ISREG(z.mode) && (z.flags & kFlagDaxFile); }
  // The extents of blocks [first, first + count) of a DAX file, each placed so that it can
  // be written in place (a hole gets a new zeroed extent, an extent a snapshot shares is
  // copied), for a mapping of the device itself. EINVAL for a file that is not a DAX file.
  Result<std::vector<BlkPtr>> DaxPlace(uint64_t obj, uint64_t first, uint64_t count);
  // Where log records go (null: nowhere, the default).
  void set_log(ItxSink* log) { log_ = log; }
  ItxSink* log() const { return log_; }
  // The txg the next changes belong to, for the ops that take none (Write, Setattr, Link,
  // Unlink, Rmdir, Rename, FreeSpace, RemoveXattr): the pool sets it before each use.
  void set_txg(uint64_t txg) { txg_ = txg; }
  uint64_t txg() const { return txg_; }
  // Replay (zfs_mknode under z_replay: dmu_object_claim / zap_create_claim): the next Create
  // or Symlink makes object `obj` (EEXIST when it is in use) instead of the first free one.
  void CreateNextAt(uint64_t obj) { want_obj_ = obj; }
  // While the intent log is replayed no user/group quota is checked (zfs_usergroup_overquota
  // under z_replay): what was written before the crash is written again.
  void set_replaying(bool r) { replaying_ = r; }

  Result<ZnodePhys> GetAttr(uint64_t obj);
  Result<uint64_t> Lookup(uint64_t dir, std::string_view name);
  Result<std::vector<DirEntry>> ReadDir(uint64_t dir);
  // Regular files (S_IFREG), directories (S_IFDIR) and other node types by mode's type bits.
  Result<uint64_t> Create(uint64_t dir, std::string_view name, uint32_t mode, uint32_t uid,
                          uint32_t gid, uint64_t txg, ZTime now, uint64_t rdev = 0);
  Result<uint64_t> Symlink(uint64_t dir, std::string_view name, std::string_view target,
                           uint32_t uid, uint32_t gid, uint64_t txg, ZTime now);
  Result<std::string> ReadLink(uint64_t obj);
  Status Link(uint64_t dir, std::string_view name, uint64_t obj, ZTime now);
  // Removes a non-directory entry; the object is freed when its last link goes, or parked in
  // the unlinked set when keep_open.
  Status Unlink(uint64_t dir, std::string_view name, ZTime now, bool keep_open = false);
  Status Rmdir(uint64_t dir, std::string_view name, ZTime now);
  Status Rename(uint64_t sdir, std::string_view sname, uint64_t ddir, std::string_view dname,
                ZTime now);
  Result<Bytes> Read(uint64_t obj, uint64_t off, uint64_t len);
  // Read's first half for reads whose disk part runs after the caller's lock
  // (ObjsetWriter::PlanRead): *len is clipped to the file's size; after plan->Complete(),
  // plan->out resized to *len (zeros past the last block) is what Read returns.
  Status PlanRead(uint64_t obj, uint64_t off, uint64_t* len, ObjsetWriter::ReadPlan* plan);
  Status Write(uint64_t obj, uint64_t off, ByteSpan data, ZTime now);
  Status Setattr(uint64_t obj, const SetAttr& a, ZTime now);
  // zfs_freesp (F_FREESP): len 0 sets the size to off (truncating or extending); otherwise
  // [off, off + len) reads as zeros afterwards (blocks past it freed when it reaches EOF)
  // and the file grows to off + len when that is past its end. mtime and ctime become now.
  Status FreeSpace(uint64_t obj, uint64_t off, uint64_t len, ZTime now);
  // Replay of writes (zfs_replay_write's shorter eof after a whole-block write,
  // zfs_replay_write2): the size alone becomes `size`, as zp_size is set there; no block is
  // freed or grown (bytes past the new end stay for a later TX_WRITE2 to bring back), no time
  // changes, nothing is logged.
  Status SetEof(uint64_t obj, uint64_t size);
  // Frees an object from the unlinked set (the last close of an unlinked file).
  Status Reap(uint64_t obj);
  // zfs_unlinked_drain: frees every object left in the unlinked set (files that were still
  // open when the filesystem was last unmounted or the pool went down); call at mount,
  // before anything can be open. Returns how many were freed.
  Result<uint64_t> DrainUnlinked();
  // A read's atime update (zfs_tstamp_update_setup ACCESSED): atime only, ctime kept.
  Status Accessed(uint64_t obj, ZTime now);
  // dn_used of the object (what its blocks take on disk as of the last sync), for st_blocks.
  Result<uint64_t> UsedBytes(uint64_t obj);

  // ---- Extended attributes (zfs-fuse zfs_dir.c zfs_make_xattrdir / zfs_get_xattrdir,
  // zfs_operations.c zfsfuse_{get,set,list,remove}xattr). ZPL v4 keeps a file's xattrs in a
  // hidden directory: the znode's zp_xattr names a directory object (flag ZFS_XATTR, mode
  // 01777, links 2, parent = the file, owner and group = the file's) that no directory
  // entry reaches; its entries are regular files (mode 0660, flag ZFS_XATTR) named by the
  // attribute's full Linux name ("user.foo") whose data is the value. The directory is made
  // on the first set, kept when it empties (as zfs-fuse does), and freed with its file.
  // Names follow directory entry rules (1..255 bytes, no '/': EINVAL / ENAMETOOLONG).
  static constexpr int kXattrCreate = 1;   // XATTR_CREATE: EEXIST when present
  static constexpr int kXattrReplace = 2;  // XATTR_REPLACE: ENODATA when absent
  // The value; ENODATA when the attribute is absent.
  Result<Bytes> GetXattr(uint64_t obj, std::string_view name);
  // Sets (creates or replaces) an attribute; updates the file's ctime.
  Status SetXattr(uint64_t obj, std::string_view name, ByteSpan value, int flags, uint64_t txg,
                  ZTime now);
  // Attribute names in directory (hash) order; empty when the file has none.
  Result<std::vector<std::string>> ListXattr(uint64_t obj);
  // zfs_make_xattrdir: the file's xattr directory (at CreateNextAt's object when set), with
  // generation txg and times now. EEXIST when the file has one. Logs nothing (a replayed
  // TX_MKXATTR; SetXattr makes it itself).
  Result<uint64_t> MakeXattrDir(uint64_t obj, uint64_t txg, ZTime now);
  // ENODATA when absent; updates the file's ctime.
  Status RemoveXattr(uint64_t obj, std::string_view name, ZTime now);

 private:
  ZplWriter(ObjsetWriter* os, ZapStore* zaps) : os_(os), zaps_(zaps) {}
  Status Put(uint64_t obj, const ZnodePhys& z);
  Status GrowBlock(uint64_t obj, uint64_t end);
  Status CheckName(std::string_view name);
  Status AddEntry(uint64_t dir, std::string_view name, uint64_t obj, uint64_t mode, ZTime now);
  Status DropEntry(uint64_t dir, std::string_view name, bool was_dir, ZTime now);
  Status FreeZnode(uint64_t obj);
  Status DoSetXattr(uint64_t obj, std::string_view name, ByteSpan value, int flags,
                    uint64_t txg, ZTime now);
  void Log(uint64_t txg, uint64_t foid, Bytes lr);
  // zpl_dax.cc: the data path of DAX files.
  Status DaxCheck() const;
  bool DaxMapped(const ZnodePhys& z, uint64_t obj) const {
    return IsDaxFile(z) && dax_ && dax_->Mapped(obj);
  }
  // The extent of blkid, placed (new and zeroed, or copied from one a snapshot shares) so
  // that it can be written in place.
  Result<BlkPtr> DaxWritableExtent(uint64_t obj, uint64_t blkid);
  Status DaxWrite(uint64_t obj, uint64_t off, ByteSpan data);
  Status DaxRead(uint64_t obj, uint64_t off, MutByteSpan out);
  // [off, off + len) reads as zeros: holes stay holes, placed extents are zeroed.
  Status DaxZero(uint64_t obj, uint64_t off, uint64_t len);
  // zfs_trunc: the extents past `size` are freed, the rest of the last one zeroed.
  Status DaxTruncate(uint64_t obj, uint64_t old_size, uint64_t size);
  ObjsetWriter* os_;
  bool replaying_ = false;
  ZapStore* zaps_;
  uint64_t root_ = 0, unlinked_ = 0;
  uint32_t recordsize_ = 128 * 1024;
  ItxSink* log_ = nullptr;
  uint64_t txg_ = 0;
  uint64_t want_obj_ = 0;  // CreateNextAt
  DaxStore* dax_ = nullptr;
  bool dax_new_ = false;
};

// Encodes a znode (and its trivial ACL when acl_from_mode) into a 264-byte bonus.
Bytes EncodeZnode(const ZnodePhys& z, bool acl_from_mode = true);

}  // namespace uzfs
