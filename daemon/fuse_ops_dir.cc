// The FUSE adapter's directory requests (zfs_operations.c zfsfuse_opendir, zfsfuse_readdir,
// zfsfuse_release): a handle keeps a snapshot of the directory's entries taken at offset 0,
// so one pass over a directory is consistent. READDIRPLUS answers each entry with its
// attributes and counts the lookup the kernel takes for it (one per entry that fits in the
// reply, "." and ".." excepted, as fs/fuse/readdir.c links them), so `ls -l` and find need
// no LOOKUP per name. .zfs and its snapshots' directories answer plain entries (no
// attributes: the kernel looks them up). Guards: see fuse_fs_impl.h; DirHandle::mu for a
// handle's snapshot.
#include "daemon/fuse_fs_impl.h"

#include <dirent.h>

#include <optional>

namespace uzfs {

namespace {

// A directory's entries: ".", "..", then its names (.zfs's, the snapshots', a snapshot
// directory's, or the filesystem's, with .zfs first in the root when it is visible). Call
// inside a Request for a directory of the head filesystem.
Status ReadDirEntries(Impl* m, fuse_ino_t ino, std::vector<DirEntry>* entries) {
  if (Impl::Virtual(ino)) return m->CtlReadDir(ino, entries);
  UZFS_TRY(m->Fresh(ino));
  bool zfs_visible = ino == FUSE_ROOT_ID && m->SnapdirVisible();
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

// Takes the handle's snapshot at offset 0 (or when it has none). REQUIRES h->mu.
Status Refill(Impl* m, fuse_ino_t ino, off_t off, Impl::DirHandle* h) {
  if (off != 0 && !h->entries.empty()) return Status::Ok();
  std::vector<DirEntry> entries;
  UZFS_TRY(ReadDirEntries(m, ino, &entries));
  h->entries = std::move(entries);
  return Status::Ok();
}

// A plain entry as readdirplus gives it (no inode for the kernel to link).
void PlainEntry(const DirEntry& d, fuse_entry_param* e) {
  std::memset(e, 0, sizeof *e);
  e->attr.st_ino = d.object;
  e->attr.st_mode = static_cast<mode_t>(d.type << 12);
}

void ReaddirAny(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
                bool plus) {
  Impl* m = Self(req);
  auto* h = reinterpret_cast<Impl::DirHandle*>(fi->fh);
  std::vector<char> buf(size);
  size_t used = 0;
  Status s = Status::Ok();
  {
    std::optional<Impl::Request> r;
    if (!Impl::Virtual(ino)) r.emplace(m);
    // Nothing of h may be touched once the reply is out: the kernel may then send the
    // RELEASEDIR that frees it to another worker (unlocking h->mu after the reply wrote
    // into freed memory: glibc's "unaligned tcache chunk" aborts).
    std::lock_guard<std::mutex> l(h->mu);
    s = Refill(m, ino, off, h);
    size_t i = static_cast<size_t>(off);
    if (s.ok() && plus && !Impl::Virtual(ino)) {
      // Attributes of as many entries as fit, under one pool lock.
      s = m->Do([&](ZplWriter& z, uint64_t) -> Status {
        for (; i < h->entries.size(); i++) {
          const DirEntry& d = h->entries[i];
          fuse_entry_param e;
          bool dots = d.name == "." || d.name == "..";
          // An entry gone since the snapshot, and .zfs, go without attributes.
          if (dots || d.object == Impl::kZfsStIno || !m->Attr(z, d.object, &e).ok())
            PlainEntry(d, &e);
          if (dots) e.ino = 0;
          size_t n = fuse_add_direntry_plus(req, buf.data() + used, size - used,
                                            d.name.c_str(), &e, static_cast<off_t>(i + 1));
          if (n > size - used) break;
          used += n;
          if (e.ino != 0) m->CountLookup(d.object, e.generation);
        }
        return Status::Ok();
      });
    } else {
      for (; s.ok() && i < h->entries.size(); i++) {
        const DirEntry& d = h->entries[i];
        size_t n;
        if (plus) {
          fuse_entry_param e;
          PlainEntry(d, &e);
          n = fuse_add_direntry_plus(req, buf.data() + used, size - used, d.name.c_str(), &e,
                                     static_cast<off_t>(i + 1));
        } else {
          struct stat st;
          std::memset(&st, 0, sizeof st);
          st.st_ino = d.object;
          st.st_mode = static_cast<mode_t>(d.type << 12);
          n = fuse_add_direntry(req, buf.data() + used, size - used, d.name.c_str(), &st,
                                static_cast<off_t>(i + 1));
        }
        if (n > size - used) break;
        used += n;
      }
    }
  }
  if (!s.ok()) {
    fuse_reply_err(req, Errno(s));
    return;
  }
  fuse_reply_buf(req, buf.data(), used);
}

}  // namespace

namespace fuse_ops {

void Opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
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
    Impl::Request r(m);
    s = m->Fresh(ino);
    if (s.ok())
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

void Readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  ReaddirAny(req, ino, size, off, fi, false);
}

void Readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  ReaddirAny(req, ino, size, off, fi, true);
}

void Releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<Impl::DirHandle*>(fi->fh);
  fuse_reply_err(req, 0);
}

}  // namespace fuse_ops

}  // namespace uzfs
