// The FUSE adapter's name and attribute requests (zfs_operations.c zfsfuse_lookup,
// zfsfuse_getattr, zfsfuse_setattr, zfsfuse_mknod, zfsfuse_unlink, zfsfuse_rename, ...), and
// the node bookkeeping they share (Impl::Entry, Release, Unlink: lookup and open counts, the
// unlinked set). Each handler: hold the gate (Impl::Request) when it touches the head
// filesystem, decode, run one Pool::WithZpl callback that does the work and copies out what
// the reply needs, then reply outside the pool lock. Guards: see fuse_fs_impl.h.
#include "daemon/fuse_fs_impl.h"

#include <fcntl.h>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace uzfs {

Status Impl::Fresh(fuse_ino_t ino) {
  if (ino == FUSE_ROOT_ID || Virtual(ino) || stale_nodes.load() == 0) return Status::Ok();
  std::lock_guard<std::mutex> l(mu);
  auto it = nodes.find(ino);
  if (it != nodes.end() && it->second.stale)
    return Status::Error(ESTALE, "the file was rolled back away");
  return Status::Ok();
}

bool Impl::RejectStale(fuse_req_t req, fuse_ino_t ino, fuse_ino_t ino2) {
  Status s = Fresh(ino);
  if (s.ok() && ino2 != 0) s = Fresh(ino2);
  if (s.ok()) return false;
  fuse_reply_err(req, Errno(s));
  return true;
}

void Impl::FillStat(ZplWriter& z, uint64_t obj, const ZnodePhys& zp, struct stat* st) {
  auto used = z.UsedBytes(obj);
  FillStatUsed(obj, zp, used.ok() ? *used : 0, st);
}

void Impl::FillStatUsed(uint64_t obj, const ZnodePhys& zp, uint64_t used, struct stat* st) {
  std::memset(st, 0, sizeof *st);
  st->st_ino = obj;
  st->st_mode = static_cast<mode_t>(zp.mode);
  st->st_nlink = static_cast<nlink_t>(zp.links);
  st->st_uid = static_cast<uid_t>(zp.uid);
  st->st_gid = static_cast<gid_t>(zp.gid);
  if (S_ISCHR(zp.mode) || S_ISBLK(zp.mode)) st->st_rdev = static_cast<dev_t>(zp.rdev);
  st->st_size = static_cast<off_t>(zp.size);
  st->st_blksize = kBlockSize;
  // dmu_object_size_from_db: (dn_used + 256) / 512 + 1 (the dnode itself).
  st->st_blocks = static_cast<blkcnt_t>((used + 256) / 512 + 1);
  st->st_atim = Ts(zp.atime);
  st->st_mtim = Ts(zp.mtime);
  st->st_ctim = Ts(zp.ctime);
}

Status Impl::Attr(ZplWriter& z, uint64_t obj, fuse_entry_param* e, uint64_t* xattr_dir) {
  UZFS_ASSIGN(ZnodePhys zp, z.GetAttr(obj));
  if (xattr_dir) *xattr_dir = zp.xattr;
  std::memset(e, 0, sizeof *e);
  e->ino = Ino(obj);
  e->generation = zp.gen;
  e->attr_timeout = opts.attr_timeout;
  e->entry_timeout = opts.entry_timeout;
  FillStat(z, obj, zp, &e->attr);
  return Status::Ok();
}

void Impl::CountLookup(uint64_t obj, uint64_t gen, bool no_xattrs) {
  if (obj == root) return;
  std::lock_guard<std::mutex> l(mu);
  Node& n = nodes[obj];
  n.lookups++;
  n.no_xattrs = no_xattrs;
  // A stale node's number given out with a new generation: the kernel makes a new inode
  // for it (and fails the old one's I/O itself), so requests on this number are the new
  // object's from now on.
  if (n.stale && n.gen != gen) {
    n.stale = false;
    stale_nodes--;
  }
  n.gen = gen;
}

Status Impl::Entry(ZplWriter& z, uint64_t obj, fuse_entry_param* e) {
  uint64_t xattr_dir = 0;
  UZFS_TRY(Attr(z, obj, e, &xattr_dir));
  CountLookup(obj, e->generation, xattr_dir == 0);
  return Status::Ok();
}

void Impl::NoteXattrs(uint64_t obj, uint64_t xattr_dir) {
  std::lock_guard<std::mutex> l(mu);
  auto it = nodes.find(obj);
  if (it != nodes.end()) it->second.no_xattrs = xattr_dir == 0;
}

bool Impl::NoXattrs(uint64_t obj) {
  std::lock_guard<std::mutex> l(mu);
  auto it = nodes.find(obj);
  return it != nodes.end() && it->second.no_xattrs && !it->second.stale;
}

void Impl::Release(uint64_t obj, uint64_t lookups, uint64_t opens) {
  bool reap = false;
  {
    std::lock_guard<std::mutex> l(mu);
    auto it = nodes.find(obj);
    if (it == nodes.end()) return;
    Node& n = it->second;
    n.lookups -= std::min(n.lookups, lookups);
    uint64_t o = std::min(n.opens, opens);
    n.opens -= o;
    open_files -= o;
    if (n.lookups == 0 && n.opens == 0) {
      reap = n.unlinked;
      if (n.stale) stale_nodes--;
      nodes.erase(it);
    }
  }
  // Nothing can reach an unlinked object the kernel forgot, so nobody races this.
  if (!reap) return;
  Status s = Do([&](ZplWriter& z, uint64_t) { return z.Reap(obj); });
  if (!s.ok()) spdlog::error("{}: freeing unlinked object {}: {}", dataset, obj, s.ToString());
}

Status Impl::Unlink(ZplWriter& z, uint64_t dir, std::string_view name, ZTime now) {
  UZFS_ASSIGN(uint64_t obj, z.Lookup(dir, name));
  UZFS_ASSIGN(ZnodePhys zp, z.GetAttr(obj));
  if (S_ISDIR(zp.mode)) return Status::Error(EISDIR, "is a directory");
  std::lock_guard<std::mutex> l(mu);
  auto it = nodes.find(obj);
  bool keep = zp.links <= 1 && it != nodes.end() &&
              (it->second.lookups > 0 || it->second.opens > 0);
  UZFS_TRY(z.Unlink(dir, name, now, keep));
  if (keep) it->second.unlinked = true;
  return Status::Ok();
}

void Impl::CountOpen(uint64_t obj, uint64_t xattr_dir) {
  std::lock_guard<std::mutex> l(mu);
  Node& n = nodes[obj];
  n.opens++;
  n.no_xattrs = xattr_dir == 0;
  open_files++;
}

namespace fuse_ops {

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Impl* m = Self(req);
  if (std::strlen(name) > 255) {  // zfs-fuse: MAXNAMELEN
    fuse_reply_err(req, ENAMETOOLONG);
    return;
  }
  fuse_entry_param e;
  Status s = Status::Ok();
  if (Impl::IsZfsName(parent, name)) {
    m->CtlEntry(Impl::kZfsIno, &e);
  } else if (Impl::Virtual(parent)) {
    s = m->CtlLookup(parent, name, &e);
  } else {
    Impl::Request r(m);
    s = m->Fresh(parent);
    if (s.ok())
      s = m->Do([&](ZplWriter& z, uint64_t) -> Status {
        UZFS_ASSIGN(uint64_t obj, z.Lookup(m->Obj(parent), name));
        return m->Entry(z, obj, &e);
      });
  }
  ReplyEntry(req, s, e);
}

void Forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Impl* m = Self(req);
  if (ino != FUSE_ROOT_ID && !Impl::Virtual(ino)) {
    Impl::Request r(m);
    m->Release(m->Obj(ino), nlookup, 0);
  }
  fuse_reply_none(req);
}

void ForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  Impl* m = Self(req);
  {
    Impl::Request r(m);
    for (size_t i = 0; i < count; i++)
      if (forgets[i].ino != FUSE_ROOT_ID && !Impl::Virtual(forgets[i].ino))
        m->Release(m->Obj(forgets[i].ino), forgets[i].nlookup, 0);
  }
  fuse_reply_none(req);
}

void Getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Impl* m = Self(req);
  struct stat st;
  Status s = Status::Ok();
  if (ino == Impl::kZfsIno || ino == Impl::kSnapdirIno) {
    m->FillCtlStat(ino, &st);
  } else if (Impl::Virtual(ino)) {
    s = m->WithSnap(ino, [&](Zpl& z, uint64_t obj) {
      return m->SnapStat(z, Impl::SnapIdx(ino), obj, &st);
    });
  } else {
    Impl::Request r(m);
    s = m->Fresh(ino);
    if (s.ok())
      s = m->Do([&](ZplWriter& z, uint64_t) -> Status {
        uint64_t obj = m->Obj(ino);
        UZFS_ASSIGN(ZnodePhys zp, z.GetAttr(obj));
        m->FillStat(z, obj, zp, &st);
        return Status::Ok();
      });
  }
  if (!s.ok()) {
    fuse_reply_err(req, Errno(s));
    return;
  }
  fuse_reply_attr(req, &st, m->opts.attr_timeout);
}

void Setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, ino) || m->ReadOnly(req)) return;
  Impl::Request r(m);
  if (m->RejectStale(req, ino)) return;
  ZTime now = Now();
  SetAttr a;
  if (to_set & FUSE_SET_ATTR_MODE) a.mode = attr->st_mode & 07777;
  if (to_set & FUSE_SET_ATTR_UID) a.uid = attr->st_uid;
  if (to_set & FUSE_SET_ATTR_GID) a.gid = attr->st_gid;
  if (to_set & FUSE_SET_ATTR_SIZE) a.size = static_cast<uint64_t>(attr->st_size);
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) a.atime = now;
  else if (to_set & FUSE_SET_ATTR_ATIME)
    a.atime = ZTime{static_cast<uint64_t>(attr->st_atim.tv_sec), static_cast<uint64_t>(attr->st_atim.tv_nsec)};
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) a.mtime = now;
  else if (to_set & FUSE_SET_ATTR_MTIME)
    a.mtime = ZTime{static_cast<uint64_t>(attr->st_mtim.tv_sec), static_cast<uint64_t>(attr->st_mtim.tv_nsec)};
  struct stat st;
  Status s = m->Do([&](ZplWriter& z, uint64_t) -> Status {
    uint64_t obj = m->Obj(ino);
    if (a.size) {
      UZFS_ASSIGN(ZnodePhys zp, z.GetAttr(obj));
      if (S_ISDIR(zp.mode)) return Status::Error(EISDIR, "is a directory");
      if (!S_ISREG(zp.mode)) return Status::Error(EINVAL, "not a regular file");
    }
    UZFS_TRY(z.Setattr(obj, a, now));
    UZFS_ASSIGN(ZnodePhys zp, z.GetAttr(obj));
    m->FillStat(z, obj, zp, &st);
    return Status::Ok();
  });
  if (!s.ok()) {
    fuse_reply_err(req, Errno(s));
    return;
  }
  if (m->pt && a.size) m->pt->Changed(m->Obj(ino));
  fuse_reply_attr(req, &st, m->opts.attr_timeout);
}

void Readlink(fuse_req_t req, fuse_ino_t ino) {
  Impl* m = Self(req);
  std::string target;
  Status s = Status::Ok();
  if (Impl::InSnapshot(ino)) {
    s = m->WithSnap(ino, [&](Zpl& z, uint64_t obj) -> Status {
      UZFS_ASSIGN(target, z.ReadLink(obj));
      return Status::Ok();
    });
  } else if (Impl::Virtual(ino)) {
    s = Status::Error(EINVAL, "not a symbolic link");
  } else {
    Impl::Request r(m);
    s = m->Fresh(ino);
    if (s.ok())
      s = m->Do([&](ZplWriter& z, uint64_t) -> Status {
        UZFS_ASSIGN(target, z.ReadLink(m->Obj(ino)));
        return Status::Ok();
      });
  }
  if (!s.ok()) {
    fuse_reply_err(req, Errno(s));
    return;
  }
  fuse_reply_readlink(req, target.c_str());
}

}  // namespace fuse_ops

namespace {

// Creates a node of `mode` (type bits included) as the caller; BSD group semantics when
// the directory is set-group-ID.
Status MakeNode(fuse_req_t req, ZplWriter& z, uint64_t txg, uint64_t dir,
                const char* name, uint32_t mode, uint64_t rdev, uint64_t* obj) {
  const fuse_ctx* c = fuse_req_ctx(req);
  uint32_t gid = c->gid;
  UZFS_ASSIGN(ZnodePhys d, z.GetAttr(dir));
  if (d.mode & S_ISGID) {
    gid = static_cast<uint32_t>(d.gid);
    if (S_ISDIR(mode)) mode |= S_ISGID;
  }
  UZFS_ASSIGN(*obj, z.Create(dir, name, mode, c->uid, gid, txg, Now(), rdev));
  return Status::Ok();
}

}  // namespace

namespace fuse_ops {

void Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, parent) || Impl::RejectZfsName(req, parent, name, EEXIST) ||
      m->ReadOnly(req))
    return;
  if (!S_ISREG(mode) && !S_ISFIFO(mode) && !S_ISSOCK(mode) && !S_ISCHR(mode) && !S_ISBLK(mode)) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  Impl::Request r(m);
  if (m->RejectStale(req, parent)) return;
  fuse_entry_param e;
  Status s = m->Do([&](ZplWriter& z, uint64_t txg) -> Status {
    uint64_t obj;
    uint64_t dev = (S_ISCHR(mode) || S_ISBLK(mode)) ? rdev : 0;  // zfs_expldev on LP64: as is
    UZFS_TRY(MakeNode(req, z, txg, m->Obj(parent), name, mode, dev, &obj));
    return m->Entry(z, obj, &e);
  });
  ReplyEntry(req, s, e);
}

void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, parent) || Impl::RejectZfsName(req, parent, name, EEXIST) ||
      m->ReadOnly(req))
    return;
  Impl::Request r(m);
  if (m->RejectStale(req, parent)) return;
  fuse_entry_param e;
  Status s = m->Do([&](ZplWriter& z, uint64_t txg) -> Status {
    uint64_t obj;
    UZFS_TRY(MakeNode(req, z, txg, m->Obj(parent), name, S_IFDIR | (mode & 07777), 0, &obj));
    return m->Entry(z, obj, &e);
  });
  ReplyEntry(req, s, e);
}

void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, parent) || Impl::RejectZfsName(req, parent, name, EBUSY) ||
      m->ReadOnly(req))
    return;
  Impl::Request r(m);
  if (m->RejectStale(req, parent)) return;
  ReplyStatus(req, m->Do([&](ZplWriter& z, uint64_t) -> Status {
    return m->Unlink(z, m->Obj(parent), name, Now());
  }));
}

void Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, parent) || Impl::RejectZfsName(req, parent, name, EBUSY) ||
      m->ReadOnly(req))
    return;
  Impl::Request r(m);
  if (m->RejectStale(req, parent)) return;
  ReplyStatus(req, m->Do([&](ZplWriter& z, uint64_t) -> Status {
    return z.Rmdir(m->Obj(parent), name, Now());
  }));
}

void Symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, parent) || Impl::RejectZfsName(req, parent, name, EEXIST) ||
      m->ReadOnly(req))
    return;
  Impl::Request r(m);
  if (m->RejectStale(req, parent)) return;
  const fuse_ctx* c = fuse_req_ctx(req);
  fuse_entry_param e;
  Status s = m->Do([&](ZplWriter& z, uint64_t txg) -> Status {
    UZFS_ASSIGN(uint64_t obj, z.Symlink(m->Obj(parent), name, link, c->uid, c->gid, txg, Now()));
    return m->Entry(z, obj, &e);
  });
  ReplyEntry(req, s, e);
}

void Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
            const char* newname, unsigned int flags) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, parent, newparent) ||
      Impl::RejectZfsName(req, parent, name, EBUSY) ||
      Impl::RejectZfsName(req, newparent, newname, EBUSY) || m->ReadOnly(req))
    return;
  if (flags & ~RENAME_NOREPLACE) {  // RENAME_EXCHANGE, RENAME_WHITEOUT
    fuse_reply_err(req, EINVAL);
    return;
  }
  Impl::Request r(m);
  if (m->RejectStale(req, parent, newparent)) return;
  ReplyStatus(req, m->Do([&](ZplWriter& z, uint64_t) -> Status {
    ZTime now = Now();
    uint64_t sdir = m->Obj(parent), ddir = m->Obj(newparent);
    if (std::strlen(newname) > 255) return Status::Error(ENAMETOOLONG, "name too long");
    UZFS_ASSIGN(uint64_t obj, z.Lookup(sdir, name));
    UZFS_ASSIGN(ZnodePhys zp, z.GetAttr(obj));
    auto target = z.Lookup(ddir, newname);
    if (target.ok()) {
      if (flags & RENAME_NOREPLACE) return Status::Error(EEXIST, "file exists");
      // A replaced file may still be open: unlink it ourselves so it can go to the
      // unlinked set (ZplWriter::Rename would free it at once).
      if (*target != obj && !S_ISDIR(zp.mode)) {
        UZFS_ASSIGN(ZnodePhys tz, z.GetAttr(*target));
        if (S_ISDIR(tz.mode)) return Status::Error(EISDIR, "is a directory");
        UZFS_TRY(m->Unlink(z, ddir, newname, now));
      }
    } else if (target.status().code() != ENOENT) {
      return target.status();
    }
    return z.Rename(sdir, name, ddir, newname, now);
  }));
}

void Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, newparent)) return;
  if (Impl::Virtual(ino)) {  // another filesystem (a snapshot's)
    fuse_reply_err(req, EXDEV);
    return;
  }
  if (Impl::RejectZfsName(req, newparent, newname, EEXIST) || m->ReadOnly(req)) return;
  Impl::Request r(m);
  if (m->RejectStale(req, ino, newparent)) return;
  fuse_entry_param e;
  Status s = m->Do([&](ZplWriter& z, uint64_t) -> Status {
    uint64_t obj = m->Obj(ino);
    UZFS_TRY(z.Link(m->Obj(newparent), newname, obj, Now()));
    return m->Entry(z, obj, &e);
  });
  ReplyEntry(req, s, e);
}

}  // namespace fuse_ops

}  // namespace uzfs
