#include "libcore/zpl/zpl_replay.h"

#include <sys/stat.h>

#include <algorithm>
#include <string>

namespace uzfs {

namespace {

// zfs_zget: the object's error when it is not there.
Status Zget(ZplWriter& z, uint64_t obj) { return z.GetAttr(obj).status(); }

// zfs_replay_create.
Status ReplayCreate(ZplWriter& z, uint32_t type, const LrCreate& c) {
  UZFS_TRY(Zget(z, c.doid));
  // dmu_object_info(lr_foid) != ENOENT: the object made it to disk; nothing to do.
  auto have = z.GetAttr(c.foid);
  if (have.ok()) return Status::Ok();
  if (have.status().code() != ENOENT) return have.status();
  // zfs_init_vattr: the type from the mode, the permission bits (MODEMASK) kept. zfs_mknode
  // under z_replay takes the object number, the gen and the time (all four of the new
  // znode's) from the record.
  uint32_t mode = static_cast<uint32_t>(c.mode & (S_IFMT | 07777));
  const ZTime crtime{c.crtime[0], c.crtime[1]};
  const auto uid = static_cast<uint32_t>(c.uid), gid = static_cast<uint32_t>(c.gid);
  switch (type) {
    case kTxCreate: {
      z.CreateNextAt(c.foid);
      auto r = z.Create(c.doid, c.name, mode, uid, gid, c.gen, crtime, c.rdev);
      // VOP_CREATE with NONEXCL: a name already there is opened instead.
      if (!r.ok() && r.status().code() == EEXIST && z.Lookup(c.doid, c.name).ok())
        return Status::Ok();
      return r.status();
    }
    case kTxMkdir:
      if ((mode & S_IFMT) == 0) mode |= S_IFDIR;
      if (!S_ISDIR(mode)) return Status::Error(ECORRUPT, "TX_MKDIR of a non-directory mode");
      z.CreateNextAt(c.foid);
      return z.Create(c.doid, c.name, mode, uid, gid, c.gen, crtime).status();
    case kTxSymlink:
      z.CreateNextAt(c.foid);
      return z.Symlink(c.doid, c.name, c.link, uid, gid, c.gen, crtime).status();
    case kTxMkxattr: {
      // zfs-fuse makes a file's xattr directory on a lookup of its attributes and logs it;
      // the attribute files inside are ordinary creates and writes in it.
      z.CreateNextAt(c.foid);
      auto r = z.MakeXattrDir(c.doid, c.gen, crtime);
      if (!r.ok() && r.status().code() == EEXIST) return Status::Ok();
      return r.status();
    }
    default:  // the _ACL and _ATTR forms
      return Status::Error(ENOTSUP, std::string("cannot replay ") + TxTypeName(type));
  }
}

// zfs_replay_write.
Status ReplayWrite(ZplWriter& z, const LrWrite& w, ZTime now) {
  auto zp = z.GetAttr(w.foid);
  // Writes are logged out of order: the file may have been removed since. Drop the write.
  if (!zp.ok()) return zp.status().code() == ENOENT ? Status::Ok() : zp.status();
  uint64_t off = w.offset, len = w.length;
  const uint64_t eod = w.offset + w.length, orig_eof = zp->size;
  if (w.indirect) {
    // A dmu_sync() block: the whole block is written.
    const uint64_t bs = w.blkptr.lsize();
    if (len < bs) {
      off -= off % bs;
      len = bs;
    }
  }
  if (w.data.size() < len)
    return Status::Error(ECORRUPT, "TX_WRITE record without its " + std::to_string(len) + " bytes of data");
  UZFS_TRY(z.Write(w.foid, off, ByteSpan(w.data).subspan(0, len), now));
  // A whole block may run past the end the write gave the file: the end goes back to the
  // record's (if (orig_eof < zp_size) zp_size = eod), never below where the file ended.
  UZFS_ASSIGN(ZnodePhys after, z.GetAttr(w.foid));
  const uint64_t end = std::max(orig_eof, eod);
  if (after.size > orig_eof && after.size != end) UZFS_TRY(z.SetEof(w.foid, end));
  return Status::Ok();
}

// zfs_replay_write2: the block is already on disk; the size follows the record.
Status ReplayWrite2(ZplWriter& z, const LrWrite& w) {
  UZFS_ASSIGN(ZnodePhys zp, z.GetAttr(w.foid));
  const uint64_t end = w.offset + w.length;
  if (end > zp.size) UZFS_TRY(z.SetEof(w.foid, end));
  return Status::Ok();
}

// zfs_replay_setattr: zfs_init_vattr with lr_mask, then VOP_SETATTR.
Status ReplaySetattr(ZplWriter& z, const LrSetattr& s, ZTime now) {
  UZFS_TRY(Zget(z, s.foid));
  SetAttr a;
  if (s.mask & kAtMode) a.mode = static_cast<uint32_t>(s.mode & 07777);
  if (s.mask & kAtUid) a.uid = static_cast<uint32_t>(s.uid);
  if (s.mask & kAtGid) a.gid = static_cast<uint32_t>(s.gid);
  if (s.mask & kAtSize) a.size = s.size;
  if (s.mask & kAtAtime) a.atime = ZTime{s.atime[0], s.atime[1]};
  if (s.mask & kAtMtime) a.mtime = ZTime{s.mtime[0], s.mtime[1]};
  return z.Setattr(s.foid, a, now);
}

// zil_replaying: the changes replayed make no records of their own.
class NoLog {
 public:
  explicit NoLog(ZplWriter& z) : z_(z), saved_(z.log()) { z.set_log(nullptr); }
  ~NoLog() { z_.set_log(saved_); }

 private:
  ZplWriter& z_;
  ItxSink* saved_;
};

}  // namespace

Status ReplayRecord(ZplWriter& z, const LogRecord& lr, uint64_t txg, ZTime now) {
  NoLog quiet(z);
  z.set_txg(txg);
  const uint32_t type = lr.type();
  auto unsupported = [&] {
    return Status::Error(ENOTSUP, std::string("cannot replay ") + TxTypeName(type));
  };
  switch (type) {
    case kTxCreate: case kTxMkdir: case kTxSymlink: case kTxMkxattr: {
      const auto* c = std::get_if<LrCreate>(&lr.body);
      if (!c) return unsupported();
      return ReplayCreate(z, type, *c);
    }
    case kTxRemove: case kTxRmdir: {  // zfs_replay_remove
      const auto* r = std::get_if<LrRemove>(&lr.body);
      if (!r) return unsupported();
      UZFS_TRY(Zget(z, r->doid));
      return type == kTxRemove ? z.Unlink(r->doid, r->name, now) : z.Rmdir(r->doid, r->name, now);
    }
    case kTxLink: {  // zfs_replay_link
      const auto* l = std::get_if<LrLink>(&lr.body);
      if (!l) return unsupported();
      UZFS_TRY(Zget(z, l->doid));
      UZFS_TRY(Zget(z, l->link_obj));
      return z.Link(l->doid, l->name, l->link_obj, now);
    }
    case kTxRename: {  // zfs_replay_rename
      const auto* r = std::get_if<LrRename>(&lr.body);
      if (!r) return unsupported();
      UZFS_TRY(Zget(z, r->sdoid));
      UZFS_TRY(Zget(z, r->tdoid));
      return z.Rename(r->sdoid, r->src, r->tdoid, r->tgt, now);
    }
    case kTxWrite: case kTxWrite2: {
      const auto* w = std::get_if<LrWrite>(&lr.body);
      if (!w) return unsupported();
      return type == kTxWrite ? ReplayWrite(z, *w, now) : ReplayWrite2(z, *w);
    }
    case kTxTruncate: {  // zfs_replay_truncate: VOP_SPACE F_FREESP
      const auto* t = std::get_if<LrTruncate>(&lr.body);
      if (!t) return unsupported();
      UZFS_TRY(Zget(z, t->foid));
      return z.FreeSpace(t->foid, t->offset, t->length, now);
    }
    case kTxSetattr: {
      const auto* s = std::get_if<LrSetattr>(&lr.body);
      if (!s) return unsupported();
      return ReplaySetattr(z, *s, now);
    }
    case kTxAcl: case kTxAclV0: {  // zfs_replay_acl(_v0): ACLs here stay the mode's
      const auto* a = std::get_if<LrAcl>(&lr.body);
      if (!a) return unsupported();
      return Zget(z, a->foid);
    }
    default:
      return unsupported();
  }
}

}  // namespace uzfs
