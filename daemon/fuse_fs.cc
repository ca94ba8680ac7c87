// The FUSE adapter (see fuse_fs.h). Each handler: decode the request, run one
// Pool::WithZpl callback that does the work and copies out what the reply needs, then
// reply outside the pool lock.
#define FUSE_USE_VERSION 314
#include "daemon/fuse_fs.h"
#include "daemon/fuse_passthrough.h"

#include <dirent.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>

namespace uzfs {

namespace {

constexpr uint32_t kBlockSize = 128 * 1024;  // st_blksize, f_bsize: the default recordsize
constexpr const char* kFuseCtl = "/sys/fs/fuse/connections";

ZTime Now() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return {static_cast<uint64_t>(ts.tv_sec), static_cast<uint64_t>(ts.tv_nsec)};
}

// An errno a program can be given.
int Errno(const Status& s) {
  int c = s.code();
  if (c == ECKSUM || c == ECORRUPT || c <= 0 || c >= 4096) return EIO;
  return c;
}

timespec Ts(const uint64_t t[2]) {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(t[0]);
  ts.tv_nsec = static_cast<long>(t[1]);
  return ts;
}

}  // namespace

struct FuseMount::Impl {
  Pool* pool = nullptr;
  std::string dataset;
  MountOptions opts;
  uint64_t root = 0;

  // What the kernel holds of an object: its lookup count (FUSE's nlookup) and open files.
  // unlinked: the object sits in the ZPL unlinked set until both drop to zero.
  struct Node {
    uint64_t lookups = 0, opens = 0;
    bool unlinked = false;
  };
  std::mutex mu;  // after the pool lock (see fuse_fs.h)
  std::unordered_map<uint64_t, Node> nodes;  // guarded by mu
  uint64_t open_files = 0;                   // guarded by mu

  // FUSE passthrough (fuse_passthrough.h): null unless org.uzfs:passthrough=on at mount.
  std::unique_ptr<FusePassthrough> pt;
  std::atomic<uint64_t> read_requests{0};  // READs served (for tests of passthrough)

  // A readdir snapshot, taken at offset 0 (so one pass over a directory is consistent).
  struct DirHandle {
    std::mutex mu;
    std::vector<DirEntry> entries;  // ".", "..", then the ZAP's entries
  };

  uint64_t Obj(fuse_ino_t ino) const { return ino == FUSE_ROOT_ID ? root : ino; }
  fuse_ino_t Ino(uint64_t obj) const { return obj == root ? FUSE_ROOT_ID : obj; }

  Status Do(const std::function<Status(ZplWriter&, uint64_t)>& fn) {
    return pool->WithZpl(dataset, fn);
  }

  void FillStat(ZplWriter& z, uint64_t obj, const ZnodePhys& zp, struct stat* st) {
    auto used = z.UsedBytes(obj);
    FillStatUsed(obj, zp, used.ok() ? *used : 0, st);
  }

  static void FillStatUsed(uint64_t obj, const ZnodePhys& zp, uint64_t used, struct stat* st) {
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

  // Fills an entry for obj and counts the lookup the reply gives the kernel (call inside
  // WithZpl).
  Status Entry(ZplWriter& z, uint64_t obj, fuse_entry_param* e) {
    UZFS_ASSIGN(ZnodePhys zp, z.GetAttr(obj));
    std::memset(e, 0, sizeof *e);
    e->ino = Ino(obj);
    e->generation = zp.gen;
    e->attr_timeout = opts.attr_timeout;
    e->entry_timeout = opts.entry_timeout;
    FillStat(z, obj, zp, &e->attr);
    if (obj != root) {
      std::lock_guard<std::mutex> l(mu);
      nodes[obj].lookups++;
    }
    return Status::Ok();
  }

  // Drops references; frees the object when it was unlinked and nothing refers to it.
  void Release(uint64_t obj, uint64_t lookups, uint64_t opens) {
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
        nodes.erase(it);
      }
    }
    // Nothing can reach an unlinked object the kernel forgot, so nobody races this.
    if (!reap) return;
    Status s = Do([&](ZplWriter& z, uint64_t) { return z.Reap(obj); });
    if (!s.ok()) spdlog::error("{}: freeing unlinked object {}: {}", dataset, obj, s.ToString());
  }

  // Unlinks dir/name; an object still known to the kernel goes to the unlinked set.
  // Call inside WithZpl.
  Status Unlink(ZplWriter& z, uint64_t dir, std::string_view name, ZTime now) {
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

  bool ReadOnly(fuse_req_t req) {
    if (!opts.readonly) return false;
    fuse_reply_err(req, EROFS);
    return true;
  }

  // ---- .zfs and its snapshots (see fuse_fs.h) ----
  static constexpr uint64_t kCtl = 1ULL << 63;
  static constexpr fuse_ino_t kZfsIno = kCtl | 1, kSnapdirIno = kCtl | 2;
  static constexpr uint64_t kObjMask = (1ULL << 48) - 1;  // ZFS object numbers are below
  static constexpr uint64_t kMaxSnapIdx = (1ULL << 15) - 1;
  // st_ino of .zfs and .zfs/snapshot: ZFSCTL_INO_ROOT and ZFSCTL_INO_SNAPDIR.
  static constexpr uint64_t kZfsStIno = 0x0000FFFFFFFFFFFFULL, kSnapdirStIno = 0x0000FFFFFFFFFFFDULL;
  ZTime mounted_at;  // times of the control directories
  struct SnapRef {
    uint64_t ds_obj = 0, guid = 0;
    std::shared_ptr<Pool::SnapshotView> view;  // null once the snapshot is gone
  };
  std::mutex snap_mu;          // never held while calling into the pool
  std::vector<SnapRef> snaps;  // by snapshot index - 1; guarded by snap_mu

  static bool Virtual(fuse_ino_t ino) { return (ino & kCtl) != 0; }
  static size_t SnapIdx(fuse_ino_t ino) { return static_cast<size_t>((ino >> 48) & kMaxSnapIdx); }
  static bool InSnapshot(fuse_ino_t ino) { return Virtual(ino) && SnapIdx(ino) != 0; }
  static fuse_ino_t SnapIno(size_t idx, uint64_t obj) {
    return kCtl | (static_cast<uint64_t>(idx) << 48) | obj;
  }
  static bool IsZfsName(fuse_ino_t parent, const char* name) {
    return parent == FUSE_ROOT_ID && std::strcmp(name, ".zfs") == 0;
  }

  // Runs fn on the ZPL of the snapshot ino belongs to (with ino's object), under the pool
  // lock; ENOENT when the snapshot is gone.
  Status WithSnap(fuse_ino_t ino, const std::function<Status(Zpl&, uint64_t obj)>& fn) {
    size_t idx = SnapIdx(ino);
    std::shared_ptr<Pool::SnapshotView> v;
    {
      std::lock_guard<std::mutex> l(snap_mu);
      if (idx >= 1 && idx <= snaps.size()) v = snaps[idx - 1].view;
    }
    if (!v) return Status::Error(ENOENT, "snapshot was destroyed");
    uint64_t obj = ino & kObjMask;
    Status s = pool->WithSnapshotZpl(*v, [&](Zpl& z) { return fn(z, obj); });
    if (!s.ok() && s.code() == ENOENT && obj == 0) Forget(v->ds_obj);
    return s;
  }

  // The index of snapshot `name` of this filesystem (opening its view on first use).
  Result<size_t> SnapIndex(const std::string& name) {
    if (name.empty() || name == "." || name == ".." || name.find('@') != std::string::npos)
      return Status::Error(ENOENT, "no such snapshot");
    auto r = pool->OpenSnapshotZpl(dataset + "@" + name);
    if (!r.ok()) {
      if (r.status().code() == EINVAL || r.status().code() == ENAMETOOLONG)
        return Status::Error(ENOENT, "no such snapshot");
      return r.status();
    }
    std::shared_ptr<Pool::SnapshotView> v(std::move(*r));
    std::lock_guard<std::mutex> l(snap_mu);
    for (size_t i = 0; i < snaps.size(); i++) {
      if (snaps[i].ds_obj != v->ds_obj || snaps[i].guid != v->guid) continue;
      if (!snaps[i].view) snaps[i].view = v;
      return i + 1;
    }
    if (snaps.size() >= kMaxSnapIdx) return Status::Error(ENFILE, "too many snapshots seen");
    snaps.push_back({v->ds_obj, v->guid, v});
    return snaps.size();
  }

  // Drops the view of a snapshot that is gone.
  void Forget(uint64_t ds_obj) {
    std::lock_guard<std::mutex> l(snap_mu);
    for (SnapRef& r : snaps)
      if (r.ds_obj == ds_obj) r.view.reset();
  }

  void FillCtlStat(fuse_ino_t ino, struct stat* st) const {
    std::memset(st, 0, sizeof *st);
    st->st_ino = ino == kZfsIno ? kZfsStIno : kSnapdirStIno;
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
    st->st_blksize = kBlockSize;
    const uint64_t t[2] = {mounted_at.sec, mounted_at.nsec};
    st->st_atim = st->st_mtim = st->st_ctim = Ts(t);
  }

  void CtlEntry(fuse_ino_t ino, fuse_entry_param* e) const {
    std::memset(e, 0, sizeof *e);
    e->ino = ino;
    e->attr_timeout = opts.attr_timeout;
    e->entry_timeout = opts.entry_timeout;
    FillCtlStat(ino, &e->attr);
  }

  // st_ino is the FUSE inode number, not the object number: every snapshot shares the
  // mount's st_dev (no separate mounts as in ZFS), and find, du, tar and cp -a must not
  // take a snapshot's directory for the head's (a loop) or its files for the head's links.
  Status SnapStat(Zpl& z, size_t idx, uint64_t obj, struct stat* st, uint64_t* gen = nullptr) {
    UZFS_ASSIGN(ZnodePhys zp, z.Stat(obj));
    UZFS_ASSIGN(DnodePhys dn, z.objset().Dnode(obj));
    FillStatUsed(SnapIno(idx, obj), zp, dn.used, st);
    if (gen) *gen = zp.gen;
    return Status::Ok();
  }

  Status SnapEntry(Zpl& z, size_t idx, uint64_t obj, fuse_entry_param* e) {
    std::memset(e, 0, sizeof *e);
    e->ino = SnapIno(idx, obj);
    e->attr_timeout = opts.attr_timeout;
    e->entry_timeout = opts.entry_timeout;
    uint64_t gen = 0;
    UZFS_TRY(SnapStat(z, idx, obj, &e->attr, &gen));
    e->generation = gen;
    return Status::Ok();
  }

  // The object name names in snapshot directory dir.
  static Result<uint64_t> SnapLookup(Zpl& z, uint64_t dir, const char* name) {
    UZFS_ASSIGN(ZnodePhys d, z.Stat(dir));
    if (!S_ISDIR(d.mode)) return Status::Error(ENOTDIR, "not a directory");
    if (std::strcmp(name, ".") == 0) return dir;
    if (std::strcmp(name, "..") == 0) return d.parent;
    UZFS_ASSIGN(Zap zap, Zap::Open(z.objset(), dir));
    const ZapEntry* e = zap.Find(name);
    if (e == nullptr) return Status::Error(ENOENT, "no such file or directory");
    return e->first() & kObjMask;
  }

  // Replies EROFS for a change under .zfs.
  static bool RejectVirtual(fuse_req_t req, fuse_ino_t a, fuse_ino_t b = 0) {
    if (!Virtual(a) && !Virtual(b)) return false;
    fuse_reply_err(req, EROFS);
    return true;
  }
  // Replies err for a node to be made as root/.zfs.
  static bool RejectZfsName(fuse_req_t req, fuse_ino_t parent, const char* name, int err) {
    if (!IsZfsName(parent, name)) return false;
    fuse_reply_err(req, err);
    return true;
  }
};

namespace {

using Impl = FuseMount::Impl;

Impl* Self(fuse_req_t req) { return static_cast<Impl*>(fuse_req_userdata(req)); }

void ReplyStatus(fuse_req_t req, const Status& s) { fuse_reply_err(req, s.ok() ? 0 : Errno(s)); }

void ReplyEntry(fuse_req_t req, const Status& s, const fuse_entry_param& e) {
  if (!s.ok()) {
    fuse_reply_err(req, Errno(s));
    return;
  }
  fuse_reply_entry(req, &e);
}

void OpInit(void* userdata, fuse_conn_info* conn) {
  if (auto* m = static_cast<Impl*>(userdata); m->pt) m->pt->OnInit();
  // The kernel clears set-user-ID bits itself (by a setattr) on write, truncate and chown.
  conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
  // O_TRUNC reaches open (handled there) instead of a separate setattr.
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
}

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Impl* m = Self(req);
  if (std::strlen(name) > 255) {  // zfs-fuse: MAXNAMELEN
    fuse_reply_err(req, ENAMETOOLONG);
    return;
  }
  fuse_entry_param e;
  Status s = Status::Ok();
  if (Impl::IsZfsName(parent, name)) {
    m->CtlEntry(Impl::kZfsIno, &e);
  } else if (parent == Impl::kZfsIno) {
    if (std::strcmp(name, "snapshot") == 0) m->CtlEntry(Impl::kSnapdirIno, &e);
    else if (std::strcmp(name, ".") == 0) m->CtlEntry(Impl::kZfsIno, &e);
    else s = Status::Error(ENOENT, "no such file or directory");
  } else if (parent == Impl::kSnapdirIno) {
    auto idx = m->SnapIndex(name);
    if (!idx.ok()) s = idx.status();
    else
      s = m->WithSnap(Impl::SnapIno(*idx, 0), [&](Zpl& z, uint64_t) {
        return m->SnapEntry(z, *idx, z.root(), &e);
      });
  } else if (Impl::InSnapshot(parent)) {
    s = m->WithSnap(parent, [&](Zpl& z, uint64_t dir) -> Status {
      UZFS_ASSIGN(uint64_t obj, Impl::SnapLookup(z, dir, name));
      return m->SnapEntry(z, Impl::SnapIdx(parent), obj, &e);
    });
  } else if (Impl::Virtual(parent)) {
    s = Status::Error(ENOENT, "no such file or directory");
  } else {
    s = m->Do([&](ZplWriter& z, uint64_t) -> Status {
      UZFS_ASSIGN(uint64_t obj, z.Lookup(m->Obj(parent), name));
      return m->Entry(z, obj, &e);
    });
  }
  ReplyEntry(req, s, e);
}

void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Impl* m = Self(req);
  if (ino != FUSE_ROOT_ID && !Impl::Virtual(ino)) m->Release(m->Obj(ino), nlookup, 0);
  fuse_reply_none(req);
}

void OpForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  Impl* m = Self(req);
  for (size_t i = 0; i < count; i++)
    if (forgets[i].ino != FUSE_ROOT_ID && !Impl::Virtual(forgets[i].ino)) m->Release(m->Obj(forgets[i].ino), forgets[i].nlookup, 0);
  fuse_reply_none(req);
}

void OpGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
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

void OpSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, ino) || m->ReadOnly(req)) return;
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

void OpReadlink(fuse_req_t req, fuse_ino_t ino) {
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

void OpMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, parent) || Impl::RejectZfsName(req, parent, name, EEXIST) ||
      m->ReadOnly(req))
    return;
  if (!S_ISREG(mode) && !S_ISFIFO(mode) && !S_ISSOCK(mode) && !S_ISCHR(mode) && !S_ISBLK(mode)) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  fuse_entry_param e;
  Status s = m->Do([&](ZplWriter& z, uint64_t txg) -> Status {
    uint64_t obj;
    uint64_t dev = (S_ISCHR(mode) || S_ISBLK(mode)) ? rdev : 0;  // zfs_expldev on LP64: as is
    UZFS_TRY(MakeNode(req, z, txg, m->Obj(parent), name, mode, dev, &obj));
    return m->Entry(z, obj, &e);
  });
  ReplyEntry(req, s, e);
}

void OpMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, parent) || Impl::RejectZfsName(req, parent, name, EEXIST) ||
      m->ReadOnly(req))
    return;
  fuse_entry_param e;
  Status s = m->Do([&](ZplWriter& z, uint64_t txg) -> Status {
    uint64_t obj;
    UZFS_TRY(MakeNode(req, z, txg, m->Obj(parent), name, S_IFDIR | (mode & 07777), 0, &obj));
    return m->Entry(z, obj, &e);
  });
  ReplyEntry(req, s, e);
}

void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, parent) || Impl::RejectZfsName(req, parent, name, EBUSY) ||
      m->ReadOnly(req))
    return;
  ReplyStatus(req, m->Do([&](ZplWriter& z, uint64_t) -> Status {
    return m->Unlink(z, m->Obj(parent), name, Now());
  }));
}

void OpRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, parent) || Impl::RejectZfsName(req, parent, name, EBUSY) ||
      m->ReadOnly(req))
    return;
  ReplyStatus(req, m->Do([&](ZplWriter& z, uint64_t) -> Status {
    return z.Rmdir(m->Obj(parent), name, Now());
  }));
}

void OpSymlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, parent) || Impl::RejectZfsName(req, parent, name, EEXIST) ||
      m->ReadOnly(req))
    return;
  const fuse_ctx* c = fuse_req_ctx(req);
  fuse_entry_param e;
  Status s = m->Do([&](ZplWriter& z, uint64_t txg) -> Status {
    UZFS_ASSIGN(uint64_t obj, z.Symlink(m->Obj(parent), name, link, c->uid, c->gid, txg, Now()));
    return m->Entry(z, obj, &e);
  });
  ReplyEntry(req, s, e);
}

void OpRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
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

void OpLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, newparent)) return;
  if (Impl::Virtual(ino)) {  // another filesystem (a snapshot's)
    fuse_reply_err(req, EXDEV);
    return;
  }
  if (Impl::RejectZfsName(req, newparent, newname, EEXIST) || m->ReadOnly(req)) return;
  fuse_entry_param e;
  Status s = m->Do([&](ZplWriter& z, uint64_t) -> Status {
    uint64_t obj = m->Obj(ino);
    UZFS_TRY(z.Link(m->Obj(newparent), newname, obj, Now()));
    return m->Entry(z, obj, &e);
  });
  ReplyEntry(req, s, e);
}

// Counts an open of obj (call inside WithZpl, after the checks).
void CountOpen(Impl* m, uint64_t obj) {
  std::lock_guard<std::mutex> l(m->mu);
  m->nodes[obj].opens++;
  m->open_files++;
}

void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Impl* m = Self(req);
  bool trunc = (fi->flags & O_TRUNC) != 0;
  if ((m->opts.readonly || Impl::Virtual(ino)) && ((fi->flags & O_ACCMODE) != O_RDONLY || trunc)) {
    fuse_reply_err(req, EROFS);
    return;
  }
  if (Impl::Virtual(ino)) {
    Status s = Status::Error(EISDIR, "is a directory");
    if (Impl::InSnapshot(ino))
      s = m->WithSnap(ino, [&](Zpl& z, uint64_t obj) -> Status {
        UZFS_ASSIGN(ZnodePhys zp, z.Stat(obj));
        if (S_ISDIR(zp.mode)) return Status::Error(EISDIR, "is a directory");
        return Status::Ok();
      });
    if (!s.ok()) {
      fuse_reply_err(req, Errno(s));
      return;
    }
    fi->keep_cache = 0;
    fuse_reply_open(req, fi);
    return;
  }
  ZnodePhys zp;
  Status s = m->Do([&](ZplWriter& z, uint64_t) -> Status {
    uint64_t obj = m->Obj(ino);
    UZFS_ASSIGN(zp, z.GetAttr(obj));
    if (S_ISDIR(zp.mode)) return Status::Error(EISDIR, "is a directory");
    if (trunc && S_ISREG(zp.mode) && zp.size > 0) {
      SetAttr a;
      a.size = 0;
      UZFS_TRY(z.Setattr(obj, a, Now()));
      zp.size = 0;
    }
    CountOpen(m, obj);
    return Status::Ok();
  });
  if (!s.ok()) {
    fuse_reply_err(req, Errno(s));
    return;
  }
  fi->keep_cache = 0;
  if (m->pt) m->pt->Open(m->Obj(ino), fi, static_cast<uint32_t>(zp.mode), zp.size, false);
  if (fuse_reply_open(req, fi) != 0) {
    if (m->pt) m->pt->Release(m->Obj(ino), fi);
    m->Release(m->Obj(ino), 0, 1);
  }
}

void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, parent) || Impl::RejectZfsName(req, parent, name, EEXIST) ||
      m->ReadOnly(req))
    return;
  fuse_entry_param e;
  Status s = m->Do([&](ZplWriter& z, uint64_t txg) -> Status {
    uint64_t obj;
    UZFS_TRY(MakeNode(req, z, txg, m->Obj(parent), name, S_IFREG | (mode & 07777), 0, &obj));
    UZFS_TRY(m->Entry(z, obj, &e));
    CountOpen(m, obj);
    return Status::Ok();
  });
  if (!s.ok()) {
    fuse_reply_err(req, Errno(s));
    return;
  }
  fi->keep_cache = 0;
  if (m->pt) m->pt->Open(e.ino, fi, S_IFREG, 0, true);
  if (fuse_reply_create(req, &e, fi) != 0) {
    if (m->pt) m->pt->Release(e.ino, fi);
    m->Release(e.ino, 1, 1);
  }
}

void OpRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  Impl* m = Self(req);
  m->read_requests++;
  Bytes data;
  Status s = Status::Ok();
  if (Impl::Virtual(ino)) {
    s = m->WithSnap(ino, [&](Zpl& z, uint64_t obj) -> Status {
      UZFS_ASSIGN(data, z.ReadFile(obj, static_cast<uint64_t>(off), size));
      return Status::Ok();
    });
  } else {
    s = m->Do([&](ZplWriter& z, uint64_t) -> Status {
      uint64_t obj = m->Obj(ino);
      UZFS_ASSIGN(data, z.Read(obj, static_cast<uint64_t>(off), size));
      if (m->opts.atime && !m->opts.readonly) UZFS_TRY(z.Accessed(obj, Now()));
      return Status::Ok();
    });
  }
  if (!s.ok()) {
    fuse_reply_err(req, Errno(s));
    return;
  }
  fuse_reply_buf(req, reinterpret_cast<const char*>(data.data()), data.size());
}

void OpWrite(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
             fuse_file_info*) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, ino) || m->ReadOnly(req)) return;
  // The bytes are reserved against quotas and the pool's free space first (EDQUOT, ENOSPC).
  Status s = m->pool->WithZpl(m->dataset, [&](ZplWriter& z, uint64_t) -> Status {
    return z.Write(m->Obj(ino), static_cast<uint64_t>(off),
                   ByteSpan(reinterpret_cast<const uint8_t*>(buf), size), Now());
  }, size);
  if (!s.ok()) {
    fuse_reply_err(req, Errno(s));
    return;
  }
  if (m->pt) m->pt->Changed(m->Obj(ino));
  fuse_reply_write(req, size);
}

void OpFlush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void OpRelease(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Impl* m = Self(req);
  if (m->pt && !Impl::Virtual(ino)) m->pt->Release(m->Obj(ino), fi);
  if (!Impl::Virtual(ino)) m->Release(m->Obj(ino), 0, 1);
  fuse_reply_err(req, 0);
}

// Without a ZIL, making one file durable means syncing the open txg.
void OpFsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) {
  Impl* m = Self(req);
  ReplyStatus(req, m->opts.readonly ? Status::Ok() : m->pool->Sync());
}

void OpOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Impl* m = Self(req);
  Status s = Status::Ok();
  if (Impl::InSnapshot(ino)) {
    s = m->WithSnap(ino, [&](Zpl& z, uint64_t obj) -> Status {
      UZFS_ASSIGN(ZnodePhys zp, z.Stat(obj));
      if (!S_ISDIR(zp.mode)) return Status::Error(ENOTDIR, "not a directory");
      return Status::Ok();
    });
  } else if (Impl::Virtual(ino)) {
    if (ino != Impl::kZfsIno && ino != Impl::kSnapdirIno) s = Status::Error(ENOENT, "gone");
  } else {
    s = m->Do([&](ZplWriter& z, uint64_t) -> Status {
      UZFS_ASSIGN(ZnodePhys zp, z.GetAttr(m->Obj(ino)));
      if (!S_ISDIR(zp.mode)) return Status::Error(ENOTDIR, "not a directory");
      return Status::Ok();
    });
  }
  if (!s.ok()) {
    fuse_reply_err(req, Errno(s));
    return;
  }
  auto* h = new Impl::DirHandle;
  fi->fh = reinterpret_cast<uint64_t>(h);
  if (fuse_reply_open(req, fi) != 0) delete h;
}

// Whether the root lists .zfs: the snapdir property (zfs set takes effect at once), or the
// mount option.
bool SnapdirVisible(Impl* m) {
  if (m->opts.snapdir_visible) return true;
  auto props = m->pool->DatasetProps(m->dataset);
  if (!props.ok()) return false;
  for (const auto& p : *props)
    if (p.name == "snapdir") return p.value == "visible";
  return false;
}

// A directory's entries: ".", "..", then its names (.zfs's, the snapshots', a snapshot
// directory's, or the filesystem's, with .zfs first in the root when it is visible).
Status ReadDirEntries(Impl* m, fuse_ino_t ino, std::vector<DirEntry>* entries) {
  if (ino == Impl::kZfsIno) {
    entries->push_back({".", Impl::kZfsStIno, DT_DIR});
    entries->push_back({"..", m->root, DT_DIR});
    entries->push_back({"snapshot", Impl::kSnapdirStIno, DT_DIR});
    return Status::Ok();
  }
  if (ino == Impl::kSnapdirIno) {
    UZFS_ASSIGN(auto snaps, m->pool->Snapshots(m->dataset));
    entries->push_back({".", Impl::kSnapdirStIno, DT_DIR});
    entries->push_back({"..", Impl::kZfsStIno, DT_DIR});
    std::set<uint64_t> listed;
    for (const auto& r : snaps) {
      listed.insert(r.ds_obj);
      // zfs_ctldir.c: a snapshot directory's inode is ZFSCTL_INO_SNAPDIRS - objset id.
      entries->push_back({r.name.substr(r.name.find('@') + 1),
                          0x0000FFFFFFFFFFFCULL - r.ds_obj, DT_DIR});
    }
    // Views of snapshots destroyed since are dropped.
    std::vector<uint64_t> gone;
    {
      std::lock_guard<std::mutex> l(m->snap_mu);
      for (const auto& r : m->snaps)
        if (r.view && !listed.count(r.ds_obj)) gone.push_back(r.ds_obj);
    }
    for (uint64_t ds : gone) m->Forget(ds);
    return Status::Ok();
  }
  if (Impl::InSnapshot(ino)) {
    size_t idx = Impl::SnapIdx(ino);
    return m->WithSnap(ino, [&](Zpl& z, uint64_t obj) -> Status {
      UZFS_ASSIGN(ZnodePhys zp, z.Stat(obj));
      entries->push_back({".", Impl::SnapIno(idx, obj), DT_DIR});
      entries->push_back({"..", Impl::SnapIno(idx, zp.parent), DT_DIR});
      UZFS_ASSIGN(auto list, z.ReadDir(obj));
      for (DirEntry& d : list) {
        d.object = Impl::SnapIno(idx, d.object);  // as stat shows it
        entries->push_back(std::move(d));
      }
      return Status::Ok();
    });
  }
  if (Impl::Virtual(ino)) return Status::Error(ENOENT, "gone");
  bool zfs_visible = ino == FUSE_ROOT_ID && SnapdirVisible(m);
  return m->Do([&](ZplWriter& z, uint64_t) -> Status {
    uint64_t obj = m->Obj(ino);
    UZFS_ASSIGN(ZnodePhys zp, z.GetAttr(obj));
    entries->push_back({".", obj, DT_DIR});
    entries->push_back({"..", zp.parent, DT_DIR});
    if (zfs_visible) entries->push_back({".zfs", Impl::kZfsStIno, DT_DIR});
    UZFS_ASSIGN(auto list, z.ReadDir(obj));
    for (DirEntry& d : list)
      if (!zfs_visible || obj != m->root || d.name != ".zfs") entries->push_back(std::move(d));
    return Status::Ok();
  });
}

void OpReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Impl* m = Self(req);
  auto* h = reinterpret_cast<Impl::DirHandle*>(fi->fh);
  std::vector<char> buf(size);
  size_t used = 0;
  Status s = Status::Ok();
  {
    // Nothing of h may be touched once the reply is out: the kernel may then send the
    // RELEASEDIR that frees it to another worker (unlocking h->mu after the reply wrote
    // into freed memory: glibc's "unaligned tcache chunk" aborts).
    std::lock_guard<std::mutex> l(h->mu);
    if (off == 0 || h->entries.empty()) {
      std::vector<DirEntry> entries;
      s = ReadDirEntries(m, ino, &entries);
      if (s.ok()) h->entries = std::move(entries);
    }
    for (size_t i = static_cast<size_t>(off); s.ok() && i < h->entries.size(); i++) {
      const DirEntry& d = h->entries[i];
      struct stat st;
      std::memset(&st, 0, sizeof st);
      st.st_ino = d.object;
      st.st_mode = static_cast<mode_t>(d.type << 12);
      size_t n = fuse_add_direntry(req, buf.data() + used, size - used, d.name.c_str(), &st,
                                   static_cast<off_t>(i + 1));
      if (n > size - used) break;
      used += n;
    }
  }
  if (!s.ok()) {
    fuse_reply_err(req, Errno(s));
    return;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void OpReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<Impl::DirHandle*>(fi->fh);
  fuse_reply_err(req, 0);
}

void OpStatfs(fuse_req_t req, fuse_ino_t) {
  Impl* m = Self(req);
  // zfs_statvfs: 512-byte fragments, recordsize blocks; space as the pool sees it, less
  // the 1/32 ZFS keeps back (spa_get_dspace's slop).
  uint64_t size = m->pool->size(), alloc = m->pool->allocated();
  uint64_t usable = size - size / 32;
  uint64_t avail = usable > alloc ? usable - alloc : 0;
  uint64_t objects = 0;
  auto rows = m->pool->Filesystems();
  if (rows.ok())
    for (const auto& r : *rows)
      if (r.name == m->dataset) objects = r.objects;
  struct statvfs sv;
  std::memset(&sv, 0, sizeof sv);
  sv.f_bsize = kBlockSize;
  sv.f_frsize = 512;
  sv.f_blocks = usable / 512;
  sv.f_bfree = sv.f_bavail = avail / 512;
  sv.f_ffree = sv.f_favail = std::min<uint64_t>(avail / 512, 1ULL << 48);
  sv.f_files = sv.f_ffree + objects;
  sv.f_namemax = 255;
  fuse_reply_statfs(req, &sv);
}

void OpSetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value,
                size_t size, int flags) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, ino) || m->ReadOnly(req)) return;
  ReplyStatus(req, m->Do([&](ZplWriter& z, uint64_t txg) -> Status {
    return z.SetXattr(m->Obj(ino), name, ByteSpan(reinterpret_cast<const uint8_t*>(value), size),
                      flags, txg, Now());
  }));
}

void OpGetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Impl* m = Self(req);
  if (Impl::Virtual(ino)) {  // the read side has no xattr directories (yet)
    fuse_reply_err(req, ENODATA);
    return;
  }
  Bytes value;
  Status s = m->Do([&](ZplWriter& z, uint64_t) -> Status {
    UZFS_ASSIGN(value, z.GetXattr(m->Obj(ino), name));
    return Status::Ok();
  });
  if (!s.ok()) fuse_reply_err(req, Errno(s));
  else if (size == 0) fuse_reply_xattr(req, value.size());
  else if (size < value.size()) fuse_reply_err(req, ERANGE);
  else fuse_reply_buf(req, reinterpret_cast<const char*>(value.data()), value.size());
}

void OpListxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Impl* m = Self(req);
  if (Impl::Virtual(ino)) {
    if (size == 0) fuse_reply_xattr(req, 0);
    else fuse_reply_buf(req, nullptr, 0);
    return;
  }
  std::string names;
  Status s = m->Do([&](ZplWriter& z, uint64_t) -> Status {
    UZFS_ASSIGN(auto list, z.ListXattr(m->Obj(ino)));
    for (const std::string& n : list) names.append(n).push_back('\0');
    return Status::Ok();
  });
  if (!s.ok()) fuse_reply_err(req, Errno(s));
  else if (size == 0) fuse_reply_xattr(req, names.size());
  else if (size < names.size()) fuse_reply_err(req, ERANGE);
  else fuse_reply_buf(req, names.data(), names.size());
}

void OpRemovexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, ino) || m->ReadOnly(req)) return;
  ReplyStatus(req, m->Do([&](ZplWriter& z, uint64_t) -> Status {
    return z.RemoveXattr(m->Obj(ino), name, Now());
  }));
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops;
  std::memset(&ops, 0, sizeof ops);
  ops.init = OpInit;
  ops.lookup = OpLookup;
  ops.forget = OpForget;
  ops.forget_multi = OpForgetMulti;
  ops.getattr = OpGetattr;
  ops.setattr = OpSetattr;
  ops.readlink = OpReadlink;
  ops.mknod = OpMknod;
  ops.mkdir = OpMkdir;
  ops.unlink = OpUnlink;
  ops.rmdir = OpRmdir;
  ops.symlink = OpSymlink;
  ops.rename = OpRename;
  ops.link = OpLink;
  ops.open = OpOpen;
  ops.read = OpRead;
  ops.write = OpWrite;
  ops.flush = OpFlush;
  ops.release = OpRelease;
  ops.fsync = OpFsync;
  ops.opendir = OpOpendir;
  ops.readdir = OpReaddir;
  ops.releasedir = OpReleasedir;
  ops.fsyncdir = OpFsync;
  ops.statfs = OpStatfs;
  ops.setxattr = OpSetxattr;
  ops.getxattr = OpGetxattr;
  ops.listxattr = OpListxattr;
  ops.removexattr = OpRemovexattr;
  ops.create = OpCreate;
  return ops;
}

const fuse_lowlevel_ops kOps = MakeOps();

// Aborts a FUSE connection through fusectl (mounted on demand), so requests in flight and
// future ones fail and the session's reads return ENODEV.
// A connection without a directory there is gone already (the last mount of it went).
Status AbortConnection(dev_t dev) {
  constexpr long kFuseCtlMagic = 0x65735543;  // FUSE_CTL_SUPER_MAGIC
  std::string ctl = kFuseCtl;
  struct statfs sf;
  if ((statfs(kFuseCtl, &sf) != 0 || sf.f_type != kFuseCtlMagic) &&
      mount("fusectl", kFuseCtl, "fusectl", 0, nullptr) != 0)
    return Status::Error(errno, "mounting fusectl on " + ctl);
  std::string abort = ctl + "/" + std::to_string(minor(dev)) + "/abort";
  int fd = open(abort.c_str(), O_WRONLY);
  if (fd < 0 && errno == ENOENT) return Status::Ok();
  if (fd < 0) return Status::Error(errno, abort);
  ssize_t n = write(fd, "1", 1);
  int err = errno;
  close(fd);
  if (n != 1) return Status::Error(err, abort);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<FuseMount>> FuseMount::Mount(Pool* pool, const std::string& dataset,
                                                    const std::string& mountpoint,
                                                    const MountOptions& o) {
  std::unique_ptr<FuseMount> fm(new FuseMount);
  fm->pool_ = pool;
  fm->dataset_ = dataset;
  // Absolute and without a trailing slash, as /proc/mounts shows it (zfsd may chdir).
  std::error_code aec;
  std::string abs = std::filesystem::absolute(mountpoint, aec).lexically_normal().string();
  if (abs.size() > 1 && abs.back() == '/') abs.pop_back();
  fm->mountpoint_ = aec ? mountpoint : abs;
  fm->opts_ = o;
  fm->impl_ = std::make_unique<Impl>();
  Impl* m = fm->impl_.get();
  m->pool = pool;
  m->dataset = dataset;
  m->opts = o;
  m->mounted_at = Now();
  if (FusePassthrough::Wanted(pool, dataset))
    m->pt = std::make_unique<FusePassthrough>(pool, dataset);

  // The filesystem, its root, and what a crash left in its unlinked set.
  Status s = pool->WithZpl(dataset, [&](ZplWriter& z, uint64_t) -> Status {
    m->root = z.root();
    if (o.readonly) return Status::Ok();
    UZFS_ASSIGN(uint64_t n, z.DrainUnlinked());
    if (n) spdlog::info("{}: freed {} unlinked objects", dataset, n);
    return Status::Ok();
  });
  if (!s.ok()) return s.Context(dataset);

  // The mountpoint: created when absent, else an empty directory.
  std::error_code ec;
  auto st = std::filesystem::status(fm->mountpoint_, ec);
  if (!std::filesystem::exists(st)) {
    std::filesystem::create_directories(fm->mountpoint_, ec);
    if (ec) return Status::Error(ec.value(), "cannot create mountpoint " + fm->mountpoint_);
  } else if (!std::filesystem::is_directory(st)) {
    return Status::Error(ENOTDIR, fm->mountpoint_ + ": not a directory");
  } else if (!std::filesystem::is_empty(fm->mountpoint_, ec) || ec) {
    if (ec) return Status::Error(ec.value(), fm->mountpoint_);
    return Status::Error(EBUSY, fm->mountpoint_ + ": directory is not empty");
  }

  std::string mo = "allow_other,default_permissions,fsname=" + dataset + ",subtype=zfs";
  if (o.readonly) mo += ",ro";
  if (!o.atime) mo += ",noatime";
  std::vector<std::string> argv_s = {"zfsd", "-o", mo};
  if (o.debug) argv_s.push_back("-d");
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fm->se_ = fuse_session_new(&args, &kOps, sizeof kOps, m);
  fuse_opt_free_args(&args);
  if (!fm->se_) return Status::Error(EINVAL, "fuse_session_new failed (mount options " + mo + ")");
  errno = 0;
  if (fuse_session_mount(fm->se_, fm->mountpoint_.c_str()) != 0) {
    int err = errno ? errno : EIO;
    fuse_session_destroy(fm->se_);
    fm->se_ = nullptr;
    return Status::Error(err, "cannot mount " + dataset + " on " + fm->mountpoint_);
  }
  if (m->pt) {
    Status a = m->pt->Attach(fm->se_);
    if (!a.ok()) {
      spdlog::warn("{}: FUSE passthrough off: {}", dataset, a.ToString());
      m->pt.reset();
    }
  }
  fuse_session* se = fm->se_;
  unsigned threads = std::max(1u, o.max_threads);
  fm->loop_ = std::thread([se, threads] {
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, threads);
    fuse_loop_cfg_set_idle_threads(cfg, threads);
    int r = fuse_session_loop_mt(se, cfg);
    fuse_loop_cfg_destroy(cfg);
    if (r != 0) spdlog::debug("fuse loop ended: {}", r);
  });
  // The connection's fusectl name is the superblock's device (for a forced unmount).
  struct stat mst;
  if (stat(fm->mountpoint_.c_str(), &mst) == 0) fm->conn_dev_ = mst.st_dev;
  spdlog::info("mounted {} on {}", dataset, fm->mountpoint_);
  return fm;
}

const FusePassthrough* FuseMount::passthrough() const { return impl_ ? impl_->pt.get() : nullptr; }
uint64_t FuseMount::read_requests() const { return impl_ ? impl_->read_requests.load() : 0; }

uint64_t FuseMount::open_files() {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->open_files;
}

void FuseMount::InvalidateData(uint64_t obj, int64_t off, int64_t len) {
  std::lock_guard<std::mutex> l(unmount_mu_);
  if (!se_) return;
  // -ENOENT: the kernel does not know the inode (nothing cached); nothing to do.
  fuse_lowlevel_notify_inval_inode(se_, impl_->Ino(obj), off, len);
}

Status FuseMount::Unmount(bool force) {
  std::lock_guard<std::mutex> l(unmount_mu_);
  return Stop(force);
}

Status FuseMount::Stop(bool force) {
  if (!se_) return Status::Ok();
  // The kernel decides what is busy (open files, working directories): our own open count
  // lags, since a close's release reaches us asynchronously.
  if (umount2(mountpoint_.c_str(), force ? MNT_DETACH : 0) != 0) {
    int err = errno;
    if (err == EBUSY && !force) return Status::Error(EBUSY, mountpoint_ + ": filesystem is busy");
    // EINVAL: no longer mounted (unmounted from outside); the loop has ended or will.
    if (err != EINVAL) spdlog::warn("umount {}: {}", mountpoint_, std::strerror(err));
  }
  // A lazy unmount keeps the connection while files are open: abort it so the loop ends.
  if (force && conn_dev_ != 0) {
    Status a = AbortConnection(conn_dev_);
    if (!a.ok()) spdlog::warn("aborting the FUSE connection of {}: {}", mountpoint_, a.ToString());
  }
  fuse_session_exit(se_);
  if (loop_.joinable()) loop_.join();
  fuse_session_unmount(se_);  // closes /dev/fuse (the mount is already gone)
  fuse_session_destroy(se_);
  se_ = nullptr;
  impl_->pt.reset();  // unpins what passthrough opens left (the kernel reads no more)
  // The kernel forgot everything: free what was unlinked while open.
  std::vector<uint64_t> reap;
  {
    std::lock_guard<std::mutex> g(impl_->mu);
    for (auto& [obj, n] : impl_->nodes)
      if (n.unlinked) reap.push_back(obj);
    impl_->nodes.clear();
    impl_->open_files = 0;
  }
  Status s = Status::Ok();
  if (!reap.empty() && !opts_.readonly) {
    s = pool_->WithZpl(dataset_, [&](ZplWriter& z, uint64_t) -> Status {
      for (uint64_t obj : reap) UZFS_TRY(z.Reap(obj));
      return Status::Ok();
    });
  }
  spdlog::info("unmounted {} from {}", dataset_, mountpoint_);
  return s;
}

FuseMount::~FuseMount() {
  Status s = Unmount(true);
  if (!s.ok()) spdlog::error("unmounting {}: {}", mountpoint_, s.ToString());
}

}  // namespace uzfs
