// The FUSE adapter (see fuse_fs.h): the mount and its session, INIT, unmount, and what
// changes under the mount (InvalidateData, Rollback). The request handlers are in
// fuse_ops_node.cc, fuse_ops_file.cc and fuse_ops_dir.cc, .zfs in fuse_ctldir.cc; the state
// they share and what guards it in fuse_fs_impl.h.
#include "daemon/fuse_fs_impl.h"

#include "daemon/fuse_dev_io.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <spdlog/spdlog.h>

namespace uzfs {

namespace {

constexpr const char* kFuseCtl = "/sys/fs/fuse/connections";

// The largest READ whose reply libfuse can splice (Read: the ARC's pages by reference).
// It splices through a per-thread pipe of the reply's size plus a page per buffer
// (fuse_send_data_iov), and a pipe beyond /proc/sys/fs/pipe-max-size (1 MiB by default)
// needs CAP_SYS_RESOURCE; without it libfuse copies every reply instead. So without it reads
// (and read-ahead) stop at 896 KiB, seven 128 KiB records, whose replies fit a 1 MiB pipe.
uint32_t MaxRead() {
  static const uint32_t v = [] {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return kMaxRequest;
    bool big = fcntl(p[0], F_SETPIPE_SZ, kMaxRequest + (64u << 10)) >= 0;
    close(p[0]);
    close(p[1]);
    return big ? kMaxRequest : kMaxRequest - (128u << 10);
  }();
  return v;
}

void OpInit(void* userdata, fuse_conn_info* conn) {
  auto* m = static_cast<Impl*>(userdata);
  if (m->pt) m->pt->OnInit();
  // Shared mappings of files opened with direct I/O (DAX files, fuse_ops_file.cc): the
  // kernel then maps them through its page cache, written back with WRITEs, while read(2)
  // and write(2) stay direct (Linux 6.6+; libfuse 3.14 cannot ask: fuse_dev_io.h).
  if (fuse_dev_io::OfferedFlags2() & fuse_dev_io::kDirectIoAllowMmap) {
    fuse_dev_io::WantFlags2(fuse_dev_io::kDirectIoAllowMmap);
    m->direct_io_mmap = true;
  } else {
    spdlog::debug("{}: the kernel does not offer FUSE_DIRECT_IO_ALLOW_MMAP (Linux 6.6+): "
                  "a shared mapping of a DAX file through the mount fails (ENODEV)", m->dataset);
  }
  // The kernel clears set-user-ID bits itself (by a setattr) on write, truncate and chown.
  conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
  // O_TRUNC reaches open (handled there) instead of a separate setattr.
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  // 1 MiB requests (libfuse 3.14's receive buffer: FUSE_MAX_MAX_PAGES 256 pages; it asks
  // the kernel for max_pages from max_write) and read-ahead (896 KiB reads: see MaxRead).
  // (max_read must equal the mount option's, or libfuse refuses; the kernel caps read-ahead
  // at the bdi's read_ahead_kb, raised after the mount.)
  conn->max_write = kMaxRequest;
  conn->max_read = MaxRead();
  conn->max_readahead = MaxRead();
  // readdirplus: `ls -l` and find get the attributes with the names (the kernel decides
  // per directory when it pays: READDIRPLUS_AUTO).
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  if (conn->capable & FUSE_CAP_READDIRPLUS_AUTO) conn->want |= FUSE_CAP_READDIRPLUS_AUTO;
  // Lookups and readdirs of one directory in parallel (the pool serializes what must be).
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  // Changes behind the kernel's back are invalidated explicitly (InvalidateData, Rollback);
  // a changed mtime seen in attributes drops the pages too.
  if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA) conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
  // Splicing requests in saves nothing: a write's bytes are copied into the DMU anyway
  // (measured: no gain; see fuse_fs.h). Replies to reads splice the ARC's pages out of its
  // memfd (fuse_ops_file.cc, Read): one copy instead of three (pread, writev, the kernel's).
  conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_MOVE);
  if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want |= FUSE_CAP_SPLICE_WRITE;
  if (m->opts.writeback_cache && !m->pt && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
    conn->want |= FUSE_CAP_WRITEBACK_CACHE;
  else
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  m->writeback = (conn->want & FUSE_CAP_WRITEBACK_CACHE) != 0;
  m->max_write = conn->max_write;
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops;
  std::memset(&ops, 0, sizeof ops);
  ops.init = OpInit;
  ops.lookup = fuse_ops::Lookup;
  ops.forget = fuse_ops::Forget;
  ops.forget_multi = fuse_ops::ForgetMulti;
  ops.getattr = fuse_ops::Getattr;
  ops.setattr = fuse_ops::Setattr;
  ops.readlink = fuse_ops::Readlink;
  ops.mknod = fuse_ops::Mknod;
  ops.mkdir = fuse_ops::Mkdir;
  ops.unlink = fuse_ops::Unlink;
  ops.rmdir = fuse_ops::Rmdir;
  ops.symlink = fuse_ops::Symlink;
  ops.rename = fuse_ops::Rename;
  ops.link = fuse_ops::Link;
  ops.open = fuse_ops::Open;
  ops.read = fuse_ops::Read;
  ops.write = fuse_ops::Write;
  ops.flush = fuse_ops::Flush;
  ops.release = fuse_ops::Release;
  ops.fsync = fuse_ops::Fsync;
  ops.opendir = fuse_ops::Opendir;
  ops.readdir = fuse_ops::Readdir;
  ops.readdirplus = fuse_ops::Readdirplus;
  ops.releasedir = fuse_ops::Releasedir;
  ops.fsyncdir = fuse_ops::Fsync;
  ops.statfs = fuse_ops::Statfs;
  ops.setxattr = fuse_ops::Setxattr;
  ops.getxattr = fuse_ops::Getxattr;
  ops.listxattr = fuse_ops::Listxattr;
  ops.removexattr = fuse_ops::Removexattr;
  ops.create = fuse_ops::Create;
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
  m->readonly = o.readonly;
  m->atime = o.atime;
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

  std::string mo = "allow_other,default_permissions,fsname=" + dataset + ",subtype=zfs" +
                   ",max_read=" + std::to_string(MaxRead());
  if (o.readonly) mo += ",ro";
  if (!o.atime) mo += ",noatime";
  if (!o.exec) mo += ",noexec";
  mo += o.setuid ? ",suid" : ",nosuid";
  mo += o.devices ? ",dev" : ",nodev";
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
  if (Status a = fuse_dev_io::Attach(fm->se_); !a.ok()) {
    spdlog::warn("{}: FUSE passthrough and shared mappings of DAX files off: {}", dataset,
                 a.ToString());
    m->pt.reset();
  } else if (m->pt) {
    m->pt->Attach(fm->se_);
  }
  m->se = fm->se_;
  fuse_session* se = fm->se_;
  unsigned threads = std::max(1u, o.max_threads);
  std::atomic<bool>* ended = &fm->loop_ended_;
  fm->loop_ = std::thread([se, threads, ended] {
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, threads);
    fuse_loop_cfg_set_idle_threads(cfg, threads);
    int r = fuse_session_loop_mt(se, cfg);
    fuse_loop_cfg_destroy(cfg);
    if (r != 0) spdlog::debug("fuse loop ended: {}", r);
    ended->store(true, std::memory_order_release);
  });
  // The connection's fusectl name is the superblock's device (for a forced unmount).
  struct stat mst;
  if (stat(fm->mountpoint_.c_str(), &mst) == 0) fm->conn_dev_ = mst.st_dev;
  // Read-ahead: the kernel takes the smaller of INIT's max_readahead and the bdi's
  // read_ahead_kb (128 by default), so the bdi's is raised to match.
  if (fm->conn_dev_ != 0) {
    std::string ra = "/sys/class/bdi/" + std::to_string(major(fm->conn_dev_)) + ":" +
                     std::to_string(minor(fm->conn_dev_)) + "/read_ahead_kb";
    std::ofstream out(ra);
    out << MaxRead() / 1024 << std::endl;
    if (!out) spdlog::debug("{}: cannot raise {}", dataset, ra);
  }
  spdlog::info("mounted {} on {}", dataset, fm->mountpoint_);
  return fm;
}

const FusePassthrough* FuseMount::passthrough() const { return impl_ ? impl_->pt.get() : nullptr; }
uint64_t FuseMount::read_requests() const { return impl_ ? impl_->read_requests.load() : 0; }
uint64_t FuseMount::largest_read() const { return impl_ ? impl_->largest_read.load() : 0; }
uint64_t FuseMount::largest_write() const { return impl_ ? impl_->largest_write.load() : 0; }
bool FuseMount::writeback_cache() const { return impl_ && impl_->writeback.load(); }
bool FuseMount::direct_io_mmap() const { return impl_ && impl_->direct_io_mmap.load(); }

uint64_t FuseMount::open_files() {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->open_files;
}

void FuseMount::InvalidateData(uint64_t obj, int64_t off, int64_t len) {
  std::lock_guard<std::mutex> l(unmount_mu_);
  if (!se_) return;
  // -ENOENT: the kernel does not know the inode (nothing cached); nothing to do. With the
  // writeback cache the kernel writes dirty pages of the range back first (launder).
  fuse_lowlevel_notify_inval_inode(se_, impl_->Ino(obj), off, len);
}

void FuseMount::InvalidateSnapshots() {
  std::lock_guard<std::mutex> l(unmount_mu_);
  if (!se_) return;
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> g(impl_->snap_mu);
    for (Impl::SnapRef& r : impl_->snaps) {
      names.insert(names.end(), r.names.begin(), r.names.end());
      r.names.clear();
    }
  }
  // -ENOENT: the kernel has no such name cached any more; nothing to do.
  for (const std::string& n : names)
    fuse_lowlevel_notify_inval_entry(se_, Impl::kSnapdirIno, n.c_str(), n.size());
}

namespace {

// The names of a directory (by name: object), "." and ".." left out.
using Listing = std::map<std::string, uint64_t>;

// Mount points below mountpoint (absolute paths), from /proc/self/mountinfo.
std::set<std::string> MountsBelow(const std::string& mountpoint) {
  std::set<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, mp;
    if (!(f >> id >> parent >> dev >> root >> mp)) continue;
    // Octal escapes (\040 for a space) as the kernel writes them.
    std::string path;
    for (size_t i = 0; i < mp.size(); i++) {
      if (mp[i] == '\\' && i + 3 < mp.size()) {
        path.push_back(static_cast<char>(std::stoi(mp.substr(i + 1, 3), nullptr, 8)));
        i += 3;
      } else {
        path.push_back(mp[i]);
      }
    }
    if (path.size() > mountpoint.size() + 1 && path.compare(0, mountpoint.size(), mountpoint) == 0 &&
        path[mountpoint.size()] == '/')
      out.insert(path);
  }
  return out;
}

}  // namespace

// The swap, as zfs_suspend_fs / zfs_resume_fs: requests wait at the gate while `change`
// replaces the filesystem's contents; the kernel's view is then reconciled with what the
// kernel knows (nodes): an object gone or another one (new generation) is stale (ESTALE),
// the attributes and pages of every known inode are dropped, and the names that changed in
// every known directory are invalidated. Names of mount points below the mount are left
// alone (invalidating one detaches what is mounted there); the caller unmounts first what
// would lose its mount point (see MountTable::Rollback).
Status FuseMount::Rollback(const std::function<Status()>& change) {
  std::lock_guard<std::mutex> ul(unmount_mu_);
  if (!se_) return change();
  Impl* m = impl_.get();
  auto known = [&] {
    std::vector<uint64_t> objs{m->root};
    std::lock_guard<std::mutex> l(m->mu);
    for (const auto& [obj, n] : m->nodes)
      if (!n.stale) objs.push_back(obj);
    return objs;
  };
  // Dirty pages (writeback cache, shared mappings) belong to the old contents: written back
  // (and so discarded by the change) before the swap.
  if (m->writeback)
    for (uint64_t obj : known()) fuse_lowlevel_notify_inval_inode(se_, m->Ino(obj), 0, 0);

  m->Suspend();
  std::vector<uint64_t> objs = known();
  std::map<uint64_t, Listing> before, after;  // directories the kernel knows
  auto list = [&](std::map<uint64_t, Listing>* out) {
    return m->Do([&](ZplWriter& z, uint64_t) -> Status {
      for (uint64_t obj : objs) {
        auto zp = z.GetAttr(obj);
        if (!zp.ok() || !S_ISDIR(zp->mode)) continue;
        auto entries = z.ReadDir(obj);
        if (!entries.ok()) continue;
        Listing& l = (*out)[obj];
        for (const DirEntry& d : *entries) l[d.name] = d.object;
      }
      return Status::Ok();
    });
  };
  Status ls = list(&before);
  if (!ls.ok()) spdlog::warn("{}: listing before the rollback: {}", dataset_, ls.ToString());
  Status s = change();
  // What survived: same object and generation. Stale nodes answer ESTALE from now on.
  std::set<uint64_t> stale;
  Status rs = m->Do([&](ZplWriter& z, uint64_t) -> Status {
    std::lock_guard<std::mutex> l(m->mu);
    for (auto& [obj, n] : m->nodes) {
      n.no_xattrs = false;  // the snapshot's contents may have xattrs (read again)
      if (n.stale) continue;
      auto zp = z.GetAttr(obj);
      if (!zp.ok() || zp->gen != n.gen) {
        n.stale = true;
        n.unlinked = false;
        m->stale_nodes++;
        stale.insert(obj);
      } else {
        n.unlinked = zp->links == 0;  // in the unlinked set of the snapshot's contents
      }
    }
    return Status::Ok();
  });
  if (!rs.ok()) spdlog::error("{}: reconciling after the rollback: {}", dataset_, rs.ToString());
  objs.erase(std::remove_if(objs.begin(), objs.end(), [&](uint64_t o) { return stale.count(o) > 0; }),
             objs.end());
  ls = list(&after);
  if (!ls.ok()) spdlog::warn("{}: listing after the rollback: {}", dataset_, ls.ToString());
  m->Resume();

  // The kernel's caches, outside the gate: a request that waited there may hold a page or
  // a directory lock these notifications need.
  std::set<std::string> mounts = MountsBelow(mountpoint_);
  std::map<uint64_t, std::pair<uint64_t, std::string>> name_of;  // dir: (parent, name)
  for (const auto& [dir, l] : before)
    for (const auto& [name, obj] : l)
      if (before.count(obj)) name_of[obj] = {dir, name};
  auto path_of = [&](uint64_t dir) {
    std::string p;
    for (int depth = 0; dir != m->root && depth < 4096; depth++) {
      auto it = name_of.find(dir);
      if (it == name_of.end()) return std::string();
      p = "/" + it->second.second + p;
      dir = it->second.first;
    }
    return mountpoint_ + p;
  };
  uint64_t inodes = 0, names = 0;
  for (uint64_t obj : stale) fuse_lowlevel_notify_inval_inode(se_, m->Ino(obj), 0, 0);
  for (uint64_t obj : objs) {
    fuse_lowlevel_notify_inval_inode(se_, m->Ino(obj), 0, 0);
    inodes++;
  }
  std::set<uint64_t> dirs;
  for (const auto& [d, l] : before) dirs.insert(d);
  for (const auto& [d, l] : after) dirs.insert(d);
  for (uint64_t dir : dirs) {
    const Listing empty;
    const Listing& b = before.count(dir) ? before[dir] : empty;
    const Listing& a = after.count(dir) ? after[dir] : empty;
    std::set<std::string> changed;
    for (const auto& [name, obj] : b) {
      auto it = a.find(name);
      if (it == a.end() || it->second != obj || stale.count(obj)) changed.insert(name);
    }
    for (const auto& [name, obj] : a)
      if (!b.count(name)) changed.insert(name);
    std::string dpath = mounts.empty() ? std::string() : path_of(dir);
    for (const std::string& name : changed) {
      if (!dpath.empty() && mounts.count(dpath + "/" + name)) continue;
      fuse_lowlevel_notify_inval_entry(se_, m->Ino(dir), name.c_str(), name.size());
      names++;
    }
  }
  spdlog::info("{}: rolled back in place ({} inodes invalidated, {} stale, {} names)", dataset_,
               inodes, stale.size(), names);
  return s;
}

// zfs mount -o remount (zfs_mount with MS_REMOUNT): mount(2) MS_REMOUNT, which reconfigures
// the superblock (ro/rw: fuse_reconfigure takes those; a change to ro fails EBUSY while a file
// is open for writing) and sets the mount's flags (noexec, nosuid, nodev, noatime) at once.
// The daemon's own state follows: changes are refused (EROFS) from before the kernel goes
// read-only until after it goes read-write.
Status FuseMount::Remount(const MountOptions& o) {
  std::lock_guard<std::mutex> l(unmount_mu_);
  if (!se_ || loop_ended()) return Status::Error(EINVAL, "not currently mounted");
  unsigned long flags = MS_REMOUNT;
  if (o.readonly) flags |= MS_RDONLY;
  // A remount naming no atime mode keeps the old one: relatime is what a mount starts with.
  flags |= o.atime ? MS_RELATIME : MS_NOATIME;
  if (!o.exec) flags |= MS_NOEXEC;
  if (!o.setuid) flags |= MS_NOSUID;
  if (!o.devices) flags |= MS_NODEV;
  if (o.readonly) impl_->readonly = true;
  if (mount(dataset_.c_str(), mountpoint_.c_str(), nullptr, flags, nullptr) != 0) {
    int err = errno;
    impl_->readonly = opts_.readonly;
    spdlog::info("remount of {} on {}: {}", dataset_, mountpoint_, std::strerror(err));
    // zfs_mount_at's words for mount(2)'s errors.
    if (err == EBUSY) return Status::Error(EBUSY, "mountpoint or dataset is busy");
    if (err == EPERM) return Status::Error(EPERM, "Insufficient privileges");
    return Status::Error(err, std::strerror(err));
  }
  impl_->readonly = o.readonly;
  impl_->atime = o.atime;
  opts_.readonly = o.readonly;
  opts_.atime = o.atime;
  opts_.exec = o.exec;
  opts_.setuid = o.setuid;
  opts_.devices = o.devices;
  spdlog::info("remounted {} on {}", dataset_, mountpoint_);
  return Status::Ok();
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
  impl_->se = nullptr;
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
