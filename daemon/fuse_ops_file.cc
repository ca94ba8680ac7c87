// The FUSE adapter's file requests (zfs_operations.c zfsfuse_open, zfsfuse_read,
// zfsfuse_write, zfsfuse_release, zfsfuse_fsync, zfsfuse_statfs, the xattr calls). Each
// handler: hold the gate (Impl::Request) when it touches the head filesystem, decode, run one
// Pool::WithZpl callback that does the work and copies out what the reply needs, then reply
// outside the pool lock. Guards: see fuse_fs_impl.h.
//
// Page cache: opens keep the kernel's cached pages (keep_cache); whatever changes a file's
// bytes without a WRITE through this mount invalidates them (FuseMount::InvalidateData for
// the file API and mapped stores, FuseMount::Rollback for a rollback). Passthrough opens
// (fuse_passthrough.h) are direct_io and cache nothing; so are opens of DAX files (stores
// through a libzfs mapping of one are seen by nobody), except for the pages of a shared
// mmap(2) of one, which the mount asked the kernel to allow (FUSE_DIRECT_IO_ALLOW_MMAP,
// fuse_dev_io.h; dropped at each open and mmap, and when a libzfs mapping is made or a
// writable one goes: file_dax.cc); opens of .zfs/snapshot files drop what the kernel cached
// (a destroyed snapshot's file must not read).
#include "daemon/fuse_fs_impl.h"

#include <fcntl.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

namespace uzfs {

namespace {

void Largest(std::atomic<uint64_t>& v, uint64_t n) {
  uint64_t cur = v.load(std::memory_order_relaxed);
  while (n > cur && !v.compare_exchange_weak(cur, n, std::memory_order_relaxed)) {
  }
}

}  // namespace

namespace fuse_ops {

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Impl* m = Self(req);
  bool trunc = (fi->flags & O_TRUNC) != 0;
  if ((m->readonly.load(std::memory_order_relaxed) || Impl::Virtual(ino)) && ((fi->flags & O_ACCMODE) != O_RDONLY || trunc)) {
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
    // A snapshot's file never changes, but the snapshot may be destroyed: each open reads
    // it again (and fails with ENOENT then).
    fi->keep_cache = 0;
    fuse_reply_open(req, fi);
    return;
  }
  Impl::Request r(m);
  if (m->RejectStale(req, ino)) return;
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
    m->CountOpen(obj, zp.xattr);
    return Status::Ok();
  });
  if (!s.ok()) {
    fuse_reply_err(req, Errno(s));
    return;
  }
  fi->keep_cache = 1;
  fi->noflush = 1;  // Flush does nothing: close(2) need not wait for a FLUSH round trip
  if (ZplWriter::IsDaxFile(zp)) {
    // Stores through libzfs's mappings of a DAX file reach the device unseen: the kernel
    // must not keep pages of it for read(2) and write(2) (as with ext4's DAX, there is no
    // page cache to need); only a shared mmap(2) has pages, dropped when this open is made.
    fi->direct_io = 1;
    fi->keep_cache = 0;
  } else if (m->pt) {
    m->pt->Open(m->Obj(ino), fi, static_cast<uint32_t>(zp.mode), zp.size, false);
  }
  if (fuse_reply_open(req, fi) != 0) {
    if (m->pt) m->pt->Release(m->Obj(ino), fi);
    m->Release(m->Obj(ino), 0, 1);
  }
}

void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
            fuse_file_info* fi) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, parent) || Impl::RejectZfsName(req, parent, name, EEXIST) ||
      m->ReadOnly(req))
    return;
  Impl::Request r(m);
  if (m->RejectStale(req, parent)) return;
  fuse_entry_param e;
  bool dax = false;
  Status s = m->Do([&](ZplWriter& z, uint64_t txg) -> Status {
    const fuse_ctx* c = fuse_req_ctx(req);
    uint64_t dir = m->Obj(parent);
    uint32_t gid = c->gid;
    UZFS_ASSIGN(ZnodePhys d, z.GetAttr(dir));
    if (d.mode & S_ISGID) gid = static_cast<uint32_t>(d.gid);  // BSD group semantics
    UZFS_ASSIGN(uint64_t obj, z.Create(dir, name, S_IFREG | (mode & 07777), c->uid, gid, txg, Now()));
    UZFS_TRY(m->Entry(z, obj, &e));
    UZFS_ASSIGN(ZnodePhys zp, z.GetAttr(obj));
    dax = ZplWriter::IsDaxFile(zp);
    m->CountOpen(obj, zp.xattr);
    return Status::Ok();
  });
  if (!s.ok()) {
    fuse_reply_err(req, Errno(s));
    return;
  }
  fi->keep_cache = 1;
  fi->noflush = 1;
  if (dax) {  // as in Open
    fi->direct_io = 1;
    fi->keep_cache = 0;
  } else if (m->pt) {
    m->pt->Open(e.ino, fi, S_IFREG, 0, true);
  }
  if (fuse_reply_create(req, &e, fi) != 0) {
    if (m->pt) m->pt->Release(e.ino, fi);
    m->Release(e.ino, 1, 1);
  }
}

namespace {

// A read's reply from its parts: descriptors (spliced when the session splices, else read
// by libfuse) and memory.
void ReplyParts(fuse_req_t req, const std::vector<ObjsetWriter::ReadPlan::Part>& parts) {
  if (parts.size() == 1 && parts[0].mem) {
    fuse_reply_buf(req, reinterpret_cast<const char*>(parts[0].mem), parts[0].n);
    return;
  }
  if (parts.empty()) {
    fuse_reply_buf(req, nullptr, 0);
    return;
  }
  // fuse_bufvec ends in a one-element array: room for the rest after it.
  std::vector<uint8_t> room(sizeof(fuse_bufvec) + (parts.size() - 1) * sizeof(fuse_buf));
  auto* bv = new (room.data()) fuse_bufvec{};
  bv->count = parts.size();
  fuse_buf* bufs = bv->buf;  // the array continues into room's tail
  for (size_t i = 0; i < parts.size(); i++) {
    fuse_buf b{};
    b.size = parts[i].n;
    if (parts[i].mem) {
      b.mem = const_cast<uint8_t*>(parts[i].mem);
    } else {
      b.flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
      b.fd = parts[i].fd;
      b.pos = static_cast<off_t>(parts[i].off);
    }
    std::memcpy(static_cast<void*>(bufs + i), &b, sizeof b);
  }
  fuse_reply_data(req, bv, static_cast<fuse_buf_copy_flags>(0));
}

}  // namespace

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  Impl* m = Self(req);
  m->read_requests++;
  Largest(m->largest_read, size);
  Bytes data;
  Status s = Status::Ok();
  if (Impl::Virtual(ino)) {
    s = m->WithSnap(ino, [&](Zpl& z, uint64_t obj) -> Status {
      UZFS_ASSIGN(data, z.ReadFile(obj, static_cast<uint64_t>(off), size));
      return Status::Ok();
    });
  } else {
    Impl::Request r(m);
    s = m->Fresh(ino);
    if (s.ok()) {
      // The lookups under the pool lock, the disk reads after it (Pool::ReadFile). The
      // units the ARC holds are not copied out: the reply splices them from its memfd
      // (libfuse's fuse_reply_data with FUSE_CAP_SPLICE_WRITE: the pipe takes references to
      // the pages and the kernel copies them once, into the reader's page cache), held
      // until the reply is written.
      uint64_t obj = m->Obj(ino);
      std::function<Status(ZplWriter&, uint64_t)> atime;
      if (m->atime.load(std::memory_order_relaxed) && !m->readonly.load(std::memory_order_relaxed))
        atime = [&](ZplWriter& z, uint64_t) { return z.Accessed(obj, Now()); };
      uint64_t length = 0;
      auto got = m->pool->ReadFileHeld(m->dataset, obj, static_cast<uint64_t>(off), size, atime, &length);
      if (got.ok()) return ReplyParts(req, (*got)->Parts(length));
      s = got.status();
    }
  }
  if (!s.ok()) {
    fuse_reply_err(req, Errno(s));
    return;
  }
  fuse_reply_buf(req, reinterpret_cast<const char*>(data.data()), data.size());
}

void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
           fuse_file_info* fi) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, ino) || m->ReadOnly(req)) return;
  Largest(m->largest_write, size);
  Impl::Request r(m);
  if (m->RejectStale(req, ino)) return;
  // The bytes are reserved against quotas and the pool's free space first (EDQUOT, ENOSPC).
  Status s = m->Do([&](ZplWriter& z, uint64_t) -> Status {
    uint64_t obj = m->Obj(ino), n = size;
    if (fi && fi->writepage) {
      // Write-back of a shared mmap(2)'s page (FUSE_WRITE_CACHE). A DAX file is direct_io, so
      // only such pages are cached and they never extend it: a page past the end was cut by a
      // shrink the kernel did not see (uzfs_ftruncate) while its i_size was stale.
      // Its stores are dropped, as truncate_pagecache drops them on a local file system; the
      // kernel hears the whole length written (an error would only be retried or reported).
      UZFS_ASSIGN(ZnodePhys zp, z.GetAttr(obj));
      if (ZplWriter::IsDaxFile(zp))
        n = static_cast<uint64_t>(off) >= zp.size ? 0 : std::min<uint64_t>(n, zp.size - off);
      if (n == 0) return Status::Ok();
    }
    return z.Write(obj, static_cast<uint64_t>(off),
                   ByteSpan(reinterpret_cast<const uint8_t*>(buf), n), Now());
  }, size);
  // O_SYNC / O_DSYNC (without the writeback cache, where the kernel sends FSYNC itself):
  // zfs_write's zil_commit.
  if (s.ok() && fi && (fi->flags & (O_SYNC | O_DSYNC))) s = m->pool->ZilCommit(m->dataset);
  if (!s.ok()) {
    fuse_reply_err(req, Errno(s));
    return;
  }
  if (m->pt) m->pt->Changed(m->Obj(ino));
  fuse_reply_write(req, size);
}

void Flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void Release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Impl* m = Self(req);
  if (!Impl::Virtual(ino)) {
    Impl::Request r(m);
    if (m->pt) m->pt->Release(m->Obj(ino), fi);
    m->Release(m->Obj(ino), 0, 1);
  }
  fuse_reply_err(req, 0);
}

// zfs_fsync: zil_commit. The log holds every change of the filesystem made so far (the
// kernel sends a file's dirty pages as WRITEs before FSYNC), so one commit covers them.
void Fsync(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info*) {
  Impl* m = Self(req);
  if (m->readonly.load(std::memory_order_relaxed) || Impl::Virtual(ino)) {
    fuse_reply_err(req, 0);
    return;
  }
  Impl::Request r(m);
  ReplyStatus(req, m->pool->ZilCommit(m->dataset));
}

void Statfs(fuse_req_t req, fuse_ino_t) {
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

void Setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value,
              size_t size, int flags) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, ino) || m->ReadOnly(req)) return;
  Impl::Request r(m);
  if (m->RejectStale(req, ino)) return;
  ReplyStatus(req, m->Do([&](ZplWriter& z, uint64_t txg) -> Status {
    m->NoteXattrs(m->Obj(ino), 1);  // about to have an xattr directory (Node::no_xattrs)
    return z.SetXattr(m->Obj(ino), name, ByteSpan(reinterpret_cast<const uint8_t*>(value), size),
                      flags, txg, Now());
  }));
}

void Getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Impl* m = Self(req);
  if (Impl::Virtual(ino)) {  // the read side has no xattr directories (yet)
    fuse_reply_err(req, ENODATA);
    return;
  }
  Impl::Request r(m);
  if (m->RejectStale(req, ino)) return;
  // The kernel asks for security.capability before every write(2): a file known to have
  // no xattr directory is answered without the pool lock (Node::no_xattrs).
  if (m->NoXattrs(m->Obj(ino))) {
    fuse_reply_err(req, ENODATA);
    return;
  }
  Bytes value;
  Status s = m->Do([&](ZplWriter& z, uint64_t) -> Status {
    uint64_t obj = m->Obj(ino);
    UZFS_ASSIGN(ZnodePhys zp, z.GetAttr(obj));
    m->NoteXattrs(obj, zp.xattr);
    UZFS_ASSIGN(value, z.GetXattr(obj, name));
    return Status::Ok();
  });
  if (!s.ok()) fuse_reply_err(req, Errno(s));
  else if (size == 0) fuse_reply_xattr(req, value.size());
  else if (size < value.size()) fuse_reply_err(req, ERANGE);
  else fuse_reply_buf(req, reinterpret_cast<const char*>(value.data()), value.size());
}

void Listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Impl* m = Self(req);
  if (Impl::Virtual(ino)) {
    if (size == 0) fuse_reply_xattr(req, 0);
    else fuse_reply_buf(req, nullptr, 0);
    return;
  }
  Impl::Request r(m);
  if (m->RejectStale(req, ino)) return;
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

void Removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  Impl* m = Self(req);
  if (Impl::RejectVirtual(req, ino) || m->ReadOnly(req)) return;
  Impl::Request r(m);
  if (m->RejectStale(req, ino)) return;
  ReplyStatus(req, m->Do([&](ZplWriter& z, uint64_t) -> Status {
    return z.RemoveXattr(m->Obj(ino), name, Now());
  }));
}

}  // namespace fuse_ops

}  // namespace uzfs
