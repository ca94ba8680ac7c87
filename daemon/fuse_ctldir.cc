// .zfs, the control directory of a FUSE mount (zfs_ctldir.c; see fuse_fs.h for the inode
// numbers): .zfs itself, .zfs/snapshot, and each snapshot's files read from its on-disk objset
// through a Pool::SnapshotView, read-only. Guards: snap_mu for the snapshot views (never held
// while calling into the pool); snapshots never change, so nothing here passes the gate.
#include "daemon/fuse_fs_impl.h"

#include <dirent.h>

#include <set>

namespace uzfs {

Status Impl::WithSnap(fuse_ino_t ino, const std::function<Status(Zpl&, uint64_t obj)>& fn) {
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

Result<size_t> Impl::SnapIndex(const std::string& name) {
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
    snaps[i].names.insert(name);
    return i + 1;
  }
  if (snaps.size() >= kMaxSnapIdx) return Status::Error(ENFILE, "too many snapshots seen");
  snaps.push_back({v->ds_obj, v->guid, v, {name}});
  return snaps.size();
}

void Impl::Forget(uint64_t ds_obj) {
  std::lock_guard<std::mutex> l(snap_mu);
  for (SnapRef& r : snaps)
    if (r.ds_obj == ds_obj) r.view.reset();
}

void Impl::FillCtlStat(fuse_ino_t ino, struct stat* st) const {
  std::memset(st, 0, sizeof *st);
  st->st_ino = ino == kZfsIno ? kZfsStIno : kSnapdirStIno;
  st->st_mode = S_IFDIR | 0555;
  st->st_nlink = 2;
  st->st_blksize = kBlockSize;
  const uint64_t t[2] = {mounted_at.sec, mounted_at.nsec};
  st->st_atim = st->st_mtim = st->st_ctim = Ts(t);
}

void Impl::CtlEntry(fuse_ino_t ino, fuse_entry_param* e) const {
  std::memset(e, 0, sizeof *e);
  e->ino = ino;
  e->attr_timeout = opts.attr_timeout;
  e->entry_timeout = opts.entry_timeout;
  FillCtlStat(ino, &e->attr);
}

Status Impl::SnapStat(Zpl& z, size_t idx, uint64_t obj, struct stat* st, uint64_t* gen) {
  UZFS_ASSIGN(ZnodePhys zp, z.Stat(obj));
  UZFS_ASSIGN(DnodePhys dn, z.objset().Dnode(obj));
  FillStatUsed(SnapIno(idx, obj), zp, dn.used, st);
  if (gen) *gen = zp.gen;
  return Status::Ok();
}

Status Impl::SnapEntry(Zpl& z, size_t idx, uint64_t obj, fuse_entry_param* e) {
  std::memset(e, 0, sizeof *e);
  e->ino = SnapIno(idx, obj);
  e->attr_timeout = opts.attr_timeout;
  e->entry_timeout = opts.entry_timeout;
  uint64_t gen = 0;
  UZFS_TRY(SnapStat(z, idx, obj, &e->attr, &gen));
  e->generation = gen;
  return Status::Ok();
}

Result<uint64_t> Impl::SnapLookup(Zpl& z, uint64_t dir, const char* name) {
  UZFS_ASSIGN(ZnodePhys d, z.Stat(dir));
  if (!S_ISDIR(d.mode)) return Status::Error(ENOTDIR, "not a directory");
  if (std::strcmp(name, ".") == 0) return dir;
  if (std::strcmp(name, "..") == 0) return d.parent;
  UZFS_ASSIGN(Zap zap, Zap::Open(z.objset(), dir));
  const ZapEntry* e = zap.Find(name);
  if (e == nullptr) return Status::Error(ENOENT, "no such file or directory");
  return e->first() & kObjMask;
}

Status Impl::CtlLookup(fuse_ino_t parent, const char* name, fuse_entry_param* e) {
  if (parent == kZfsIno) {
    if (std::strcmp(name, "snapshot") == 0) CtlEntry(kSnapdirIno, e);
    else if (std::strcmp(name, ".") == 0) CtlEntry(kZfsIno, e);
    else return Status::Error(ENOENT, "no such file or directory");
    return Status::Ok();
  }
  if (parent == kSnapdirIno) {
    UZFS_ASSIGN(size_t idx, SnapIndex(name));
    return WithSnap(SnapIno(idx, 0), [&](Zpl& z, uint64_t) {
      return SnapEntry(z, idx, z.root(), e);
    });
  }
  if (InSnapshot(parent)) {
    return WithSnap(parent, [&](Zpl& z, uint64_t dir) -> Status {
      UZFS_ASSIGN(uint64_t obj, SnapLookup(z, dir, name));
      return SnapEntry(z, SnapIdx(parent), obj, e);
    });
  }
  return Status::Error(ENOENT, "no such file or directory");
}

Status Impl::CtlReadDir(fuse_ino_t ino, std::vector<DirEntry>* entries) {
  if (ino == kZfsIno) {
    entries->push_back({".", kZfsStIno, DT_DIR});
    entries->push_back({"..", root, DT_DIR});
    entries->push_back({"snapshot", kSnapdirStIno, DT_DIR});
    return Status::Ok();
  }
  if (ino == kSnapdirIno) {
    UZFS_ASSIGN(auto list, pool->Snapshots(dataset));
    entries->push_back({".", kSnapdirStIno, DT_DIR});
    entries->push_back({"..", kZfsStIno, DT_DIR});
    std::set<uint64_t> listed;
    for (const auto& r : list) {
      listed.insert(r.ds_obj);
      // zfs_ctldir.c: a snapshot directory's inode is ZFSCTL_INO_SNAPDIRS - objset id.
      entries->push_back({r.name.substr(r.name.find('@') + 1),
                          0x0000FFFFFFFFFFFCULL - r.ds_obj, DT_DIR});
    }
    // Views of snapshots destroyed since are dropped.
    std::vector<uint64_t> gone;
    {
      std::lock_guard<std::mutex> l(snap_mu);
      for (const auto& r : snaps)
        if (r.view && !listed.count(r.ds_obj)) gone.push_back(r.ds_obj);
    }
    for (uint64_t ds : gone) Forget(ds);
    return Status::Ok();
  }
  if (InSnapshot(ino)) {
    size_t idx = SnapIdx(ino);
    return WithSnap(ino, [&](Zpl& z, uint64_t obj) -> Status {
      UZFS_ASSIGN(ZnodePhys zp, z.Stat(obj));
      entries->push_back({".", SnapIno(idx, obj), DT_DIR});
      entries->push_back({"..", SnapIno(idx, zp.parent), DT_DIR});
      UZFS_ASSIGN(auto list, z.ReadDir(obj));
      for (DirEntry& d : list) {
        d.object = SnapIno(idx, d.object);  // as stat shows it
        entries->push_back(std::move(d));
      }
      return Status::Ok();
    });
  }
  return Status::Error(ENOENT, "gone");
}

bool Impl::SnapdirVisible() {
  if (opts.snapdir_visible) return true;
  auto props = pool->DatasetProps(dataset);
  if (!props.ok()) return false;
  for (const auto& p : *props)
    if (p.name == "snapdir") return p.value == "visible";
  return false;
}

}  // namespace uzfs
