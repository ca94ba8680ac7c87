#include "daemon/file_service.h"
#include "daemon/file_service_types.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include "daemon/args.h"
#include "libzfs/proto.h"

namespace uzfs {

namespace {

constexpr uint64_t kMaxIo = 8u << 20;  // bytes per file_read / file_write
// Threads serving faults, and threads reading ahead: fills run without the pool lock, so the
// prefetch threads are the reads in flight of a stream (2: ~850 MB/s cold, 3-4: ~1000 on the
// benchmark's loop device; more found no gain).
constexpr int kFaultThreads = 2;
constexpr int kPrefetchThreads = 4;
constexpr int kWantRead = 4, kWantWrite = 2, kWantExec = 1;

ZTime Now() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return {static_cast<uint64_t>(ts.tv_sec), static_cast<uint64_t>(ts.tv_nsec)};
}

uint64_t U64(const NvList& nv, const char* name) { return nv.GetUint64(name).value_or(0); }

std::string PoolOf(const std::string& fs) { return fs.substr(0, fs.find('/')); }

// The caller's supplementary groups (from /proc; empty when unreadable).
std::set<uint32_t> Groups(int32_t pid) {
  std::set<uint32_t> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Groups:", 0) != 0) continue;
    std::istringstream ss(line.substr(7));
    uint32_t g;
    while (ss >> g) out.insert(g);
  }
  return out;
}

// The kernel's generic_permission for mode bits: root may do anything but execute a file
// nobody may execute.
Status Access(const Caller& c, const ZnodePhys& z, int want) {
  uint32_t mode = static_cast<uint32_t>(z.mode);
  if (c.uid == 0) {
    if ((want & kWantExec) && !S_ISDIR(mode) && !(mode & 0111))
      return Status::Error(EACCES, "permission denied");
    return Status::Ok();
  }
  uint32_t bits;
  if (z.uid == c.uid) bits = (mode >> 6) & 7;
  else if (z.gid == c.gid || Groups(c.pid).count(static_cast<uint32_t>(z.gid))) bits = (mode >> 3) & 7;
  else bits = mode & 7;
  if ((bits & static_cast<uint32_t>(want)) != static_cast<uint32_t>(want))
    return Status::Error(EACCES, "permission denied");
  return Status::Ok();
}

std::vector<std::string> Components(const std::string& path) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : path + "/") {
    if (ch != '/') {
      cur += ch;
      continue;
    }
    if (!cur.empty() && cur != ".") out.push_back(cur);
    cur.clear();
  }
  return out;
}

}  // namespace

FileService::FileService(PoolTable* pools, MountTable* mounts, Arc* arc)
    : pools_(pools), mounts_(mounts), arc_(arc) {}

FileService::~FileService() { Stop(); }

Status FileService::Start() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return Status::Error(errno, "epoll_create1");
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return Status::Error(errno, "eventfd");
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0)
    return Status::Error(errno, "epoll_ctl");
  inval_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (inval_fd_ < 0) return Status::Error(errno, "eventfd");
  ev.data.u64 = UINT64_MAX;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, inval_fd_, &ev) != 0)
    return Status::Error(errno, "epoll_ctl");
  {
    std::lock_guard<std::mutex> l(ra_mu_);
    ra_stop_ = false;
  }
  for (int i = 0; i < kFaultThreads; i++) fault_threads_.emplace_back([this] { FaultLoop(); });
  for (int i = 0; i < kPrefetchThreads; i++) prefetch_threads_.emplace_back([this] { PrefetchLoop(); });
  return Status::Ok();
}

void FileService::Stop() {
  if (!fault_threads_.empty()) {
    // wake_fd_ is never read: it stays readable and ends every fault thread.
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
    for (std::thread& t : fault_threads_) t.join();
    fault_threads_.clear();
  }
  {
    std::lock_guard<std::mutex> l(ra_mu_);
    ra_stop_ = true;
    ra_queue_.clear();
  }
  ra_cv_.notify_all();
  ra_done_.notify_all();
  for (std::thread& t : prefetch_threads_) t.join();
  prefetch_threads_.clear();
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (inval_fd_ >= 0) ::close(inval_fd_);
  epoll_fd_ = wake_fd_ = inval_fd_ = -1;
}

void FileService::AddStats(NvList* out) {
  std::lock_guard<std::mutex> l(map_mu_);
  uint64_t active = 0, pinned = 0, files = 0;
  for (auto& [id, m] : maps_) {
    if (m->active) active++;
    pinned += m->pinned.size();
  }
  for (auto& [id, c] : clients_) files += c->files.size();
  out->AddUint64("faults_missing", faults_missing_);
  out->AddUint64("faults_wp", faults_wp_);
  out->AddUint64("fault_errors", fault_errors_);
  out->AddUint64("faults_prefetched", prefetched_);
  out->AddUint64("maps", active);
  out->AddUint64("mapped_pinned_units", pinned);
  out->AddUint64("clients", clients_.size());
  out->AddUint64("open_files", files);
}

void FileService::Register(Registry& reg) {
  using H = Status (FileService::*)(const Caller&, const NvList&, NvList*);
  auto op = [&](proto::OpId id, std::vector<ArgSpec> args, H h) {
    reg.Add({static_cast<uint64_t>(id), proto::OpName(id), Perm::kRead, std::move(args),
             [this, h](const Caller& c, const NvList& a, NvList* out) { return (this->*h)(c, a, out); }});
  };
  const NvType S = NvType::kString, U = NvType::kUint64, B = NvType::kBooleanValue;
  op(proto::OpId::kFileOpen, {{"path", S}, {"dataset", S}, {"flags", U, true}, {"mode", U}},
     &FileService::Open);
  op(proto::OpId::kFileRead, {{"handle", U, true}, {"offset", U, true}, {"length", U, true}},
     &FileService::Read);
  op(proto::OpId::kFileWrite, {{"handle", U, true}, {"offset", U, true}}, &FileService::Write);
  op(proto::OpId::kFileStat, {{"handle", U, true}}, &FileService::Stat);
  op(proto::OpId::kFileTruncate, {{"handle", U, true}, {"size", U, true}},
     &FileService::Truncate);
  op(proto::OpId::kFileClose, {{"handle", U, true}}, &FileService::Close);
  op(proto::OpId::kFileMmap,
     {{"handle", U}, {"offset", U}, {"length", U}, {"writable", B}, {"map", U}, {"addr", U}},
     &FileService::Mmap);
  op(proto::OpId::kFileMsync, {{"handle", U, true}, {"map", U}, {"offset", U}, {"length", U}},
     &FileService::Msync);
  op(proto::OpId::kFileMunmap, {{"map", U, true}}, &FileService::Munmap);
}

Result<std::shared_ptr<FileService::Client>> FileService::ClientOf(const Caller& c) {
  if (!c.session) return Status::Error(EINVAL, "the file API needs a connection");
  std::lock_guard<std::mutex> l(map_mu_);
  auto it = clients_.find(c.session->id);
  if (it != clients_.end()) return it->second;
  auto cl = std::make_shared<Client>();
  cl->session = c.session->id;
  cl->conn_fd = c.session->fd;
  cl->proc = PeerProcess(cl->conn_fd);
  clients_[cl->session] = cl;
  c.session->long_lived = true;
  uint64_t id = cl->session;
  c.session->on_close.push_back([this, id] { Drop(id); });
  return cl;
}

void FileService::Drop(uint64_t session) {
  // DAX mappings the client never unmapped: its process may hold them still (file_fence.cc).
  std::set<std::string> dax_pools;
  {
    std::lock_guard<std::mutex> l(map_mu_);
    for (auto& [id, m] : maps_)
      if (m->session == session && m->dax && !m->dax_revoked) dax_pools.insert(m->pool);
  }
  for (const std::string& name : dax_pools)
    (void)pools_->With(name, [&](Pool& p) {
      FenceSession(p, session, /*only_live=*/true);
      return Status::Ok();
    });
  std::vector<std::shared_ptr<Mapping>> gone;
  {
    std::lock_guard<std::mutex> l(map_mu_);
    clients_.erase(session);
    for (auto& [id, m] : maps_)
      if (m->session == session) gone.push_back(m);
  }
  for (auto& m : gone) RemoveMapping(m);
}

void FileService::RemoveMapping(const std::shared_ptr<Mapping>& m) {
  {
    std::lock_guard<std::mutex> l(map_mu_);
    if (!maps_.erase(m->id)) return;
    auto [lo, hi] = by_obj_.equal_range(m->key);
    for (auto it = lo; it != hi;) it = it->second == m ? by_obj_.erase(it) : std::next(it);
    if (m->uffd >= 0 && epoll_fd_ >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, m->uffd, nullptr);
  }
  m->gone = true;
  // Stores after a unit's first one do not fault, so a FUSE read in between may have cached
  // bytes from before them, and with the mapping gone the sync's Protect no longer drops
  // them: drop the file's cached pages now (on the fault thread, as Protect does). A DAX
  // file's stores were never seen at all: the pages of the mount's mmap(2) of it go too.
  if (m->writable) {
    std::lock_guard<std::mutex> l(map_mu_);
    inval_.push_back({m->fs, m->obj, 0, 0});
    uint64_t one = 1;
    if (inval_fd_ >= 0) (void)!::write(inval_fd_, &one, sizeof one);
  }
  if (m->dax) {
    m->active = false;
    ReleaseDaxHold(*m);
    // Unmapped (or its session gone, fenced first): no longer the session's to map.
    (void)RecordDax(m->session, m->pool_guid);
    return;
  }
  ResetStream(*m);
  if (m->active) arc_->AddMapped(-static_cast<int64_t>(m->len));
  for (const Mapping::Pinned& u : m->pinned) arc_->Release(m->key, u.off);
  m->pinned.clear();
  m->active = false;
}

Result<std::shared_ptr<FileService::Mapping>> FileService::MappingOf(const Client& cl,
                                                                   const NvList& args) {
  std::lock_guard<std::mutex> l(map_mu_);
  auto it = maps_.find(U64(args, "map"));
  if (it == maps_.end() || it->second->session != cl.session)
    return Status::Error(EINVAL, "no such mapping");
  return it->second;
}

// ---- Files.

Status FileService::Open(const Caller& c, const NvList& a, NvList* out) {
  UZFS_ASSIGN(std::shared_ptr<Client> cl, ClientOf(c));
  int flags = static_cast<int>(U64(a, "flags"));
  uint32_t mode = static_cast<uint32_t>(U64(a, "mode")) & 07777;
  int acc = flags & O_ACCMODE;
  bool want_read = acc != O_WRONLY, want_write = acc != O_RDONLY;
  std::string fs, rel = Str(a, "path");
  if (a.Has("dataset")) {
    fs = Str(a, "dataset");
  } else {
    if (rel.empty() || rel[0] != '/') return Status::Error(EINVAL, "path must be absolute");
    size_t best = 0;
    for (const auto& [name, mp] : mounts_->List()) {
      bool under = rel == mp || (mp == "/" ? true : rel.rfind(mp + "/", 0) == 0);
      if (under && mp.size() >= best) {
        best = mp.size();
        fs = name;
      }
    }
    if (fs.empty()) return Status::Error(ENOENT, "'" + rel + "' is not in a mounted filesystem");
    rel = rel.substr(std::min(best, rel.size()));
  }
  std::vector<std::string> comps = Components(rel);
  if (comps.empty()) return Status::Error(EISDIR, "is a directory");
  Client::File f;
  f.pool = PoolOf(fs);
  f.fs = fs;
  f.read = want_read;
  f.write = want_write;
  bool created = false;
  Status s = pools_->With(f.pool, [&](Pool& p) -> Status {
    if (want_write || (flags & (O_CREAT | O_TRUNC))) {
      UZFS_ASSIGN(auto props, p.DatasetProps(fs));
      for (const auto& pr : props)
        if (pr.name == "readonly" && pr.value == "on")
          return Status::Error(EROFS, "read-only filesystem");
    }
    return p.WithZpl(fs, [&](ZplWriter& z, uint64_t txg) -> Status {
      uint64_t dir = z.root();
      for (size_t i = 0; i + 1 < comps.size(); i++) {
        UZFS_ASSIGN(ZnodePhys dz, z.GetAttr(dir));
        UZFS_TRY(Access(c, dz, kWantExec));
        if (comps[i] == "..") {
          if (dir != z.root()) dir = dz.parent;
          continue;
        }
        UZFS_ASSIGN(dir, z.Lookup(dir, comps[i]));
        UZFS_ASSIGN(ZnodePhys nz, z.GetAttr(dir));
        if (S_ISLNK(nz.mode)) return Status::Error(ELOOP, "symbolic links are not followed");
        if (!S_ISDIR(nz.mode)) return Status::Error(ENOTDIR, "not a directory");
      }
      UZFS_ASSIGN(ZnodePhys dz, z.GetAttr(dir));
      UZFS_TRY(Access(c, dz, kWantExec));
      const std::string& name = comps.back();
      auto found = z.Lookup(dir, name);
      if (!found.ok() && found.status().code() == ENOENT && (flags & O_CREAT)) {
        UZFS_TRY(Access(c, dz, kWantWrite | kWantExec));
        UZFS_ASSIGN(f.obj, z.Create(dir, name, S_IFREG | mode, c.uid, c.gid, txg, Now()));
        created = true;
        return Status::Ok();
      }
      if (!found.ok()) return found.status();
      if ((flags & O_CREAT) && (flags & O_EXCL)) return Status::Error(EEXIST, "file exists");
      f.obj = *found;
      UZFS_ASSIGN(ZnodePhys fz, z.GetAttr(f.obj));
      if (S_ISDIR(fz.mode)) return Status::Error(EISDIR, "is a directory");
      if (S_ISLNK(fz.mode)) return Status::Error(ELOOP, "symbolic links are not followed");
      if (!S_ISREG(fz.mode)) return Status::Error(EINVAL, "not a regular file");
      UZFS_TRY(Access(c, fz, (want_read ? kWantRead : 0) | (want_write ? kWantWrite : 0)));
      if ((flags & O_TRUNC) && want_write && fz.size) {
        SetAttr sa;
        sa.size = 0;
        UZFS_TRY(z.Setattr(f.obj, sa, Now()));
      }
      return Status::Ok();
    });
  });
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> l(map_mu_);
  uint64_t h = cl->next_handle++;
  cl->files[h] = f;
  out->AddUint64("handle", h);
  out->AddUint64("object", f.obj);
  out->AddString("dataset", fs);
  out->AddBooleanValue("created", created);
  return Status::Ok();
}

// The open file of a handle (EBADF when there is none), copied out under map_mu_.
#define UZFS_FILE(var, cl, args)                                              \
  FileService::Client::File var;                                             \
  do {                                                                       \
    std::lock_guard<std::mutex> l_(map_mu_);                                 \
    auto it_ = (cl)->files.find(U64(args, "handle"));                        \
    if (it_ == (cl)->files.end()) return Status::Error(EBADF, "bad handle"); \
    var = it_->second;                                                       \
  } while (0)

Status FileService::Read(const Caller& c, const NvList& a, NvList* out) {
  UZFS_ASSIGN(std::shared_ptr<Client> cl, ClientOf(c));
  UZFS_FILE(f, cl, a);
  if (!f.read) return Status::Error(EBADF, "not open for reading");
  uint64_t off = U64(a, "offset"), len = std::min(U64(a, "length"), kMaxIo);
  Bytes data;
  UZFS_TRY(pools_->With(f.pool, [&](Pool& p) -> Status {
    UZFS_ASSIGN(data, p.ReadFile(f.fs, f.obj, off, len));  // disk reads after the pool lock
    return Status::Ok();
  }));
  out->AddUint64("length", data.size());
  c.session->payload_out = std::move(data);
  return Status::Ok();
}

Status FileService::Write(const Caller& c, const NvList& a, NvList* out) {
  UZFS_ASSIGN(std::shared_ptr<Client> cl, ClientOf(c));
  UZFS_FILE(f, cl, a);
  if (!f.write) return Status::Error(EBADF, "not open for writing");
  const Bytes& data = c.session->payload_in;
  uint64_t off = U64(a, "offset");
  if (!data.empty()) {
    UZFS_TRY(pools_->With(f.pool, [&](Pool& p) {
      return p.WithZpl(f.fs, [&](ZplWriter& z, uint64_t) -> Status {
        return z.Write(f.obj, off, data, Now());
      }, data.size());
    }));
    mounts_->Invalidate(f.fs, f.obj, static_cast<int64_t>(off), static_cast<int64_t>(data.size()));
  }
  out->AddUint64("length", data.size());
  return Status::Ok();
}

Status FileService::Stat(const Caller& c, const NvList& a, NvList* out) {
  UZFS_ASSIGN(std::shared_ptr<Client> cl, ClientOf(c));
  UZFS_FILE(f, cl, a);
  ZnodePhys z;
  uint64_t used = 0;
  UZFS_TRY(pools_->With(f.pool, [&](Pool& p) {
    return p.WithZpl(f.fs, [&](ZplWriter& w, uint64_t) -> Status {
      UZFS_ASSIGN(z, w.GetAttr(f.obj));
      UZFS_ASSIGN(used, w.UsedBytes(f.obj));
      return Status::Ok();
    });
  }));
  out->AddUint64("object", f.obj);
  out->AddUint64("mode", z.mode);
  out->AddUint64("size", z.size);
  out->AddUint64("links", z.links);
  out->AddUint64("uid", z.uid);
  out->AddUint64("gid", z.gid);
  out->AddUint64("used", used);
  out->AddUint64Array("atime", {z.atime[0], z.atime[1]});
  out->AddUint64Array("mtime", {z.mtime[0], z.mtime[1]});
  out->AddUint64Array("ctime", {z.ctime[0], z.ctime[1]});
  return Status::Ok();
}

Status FileService::Truncate(const Caller& c, const NvList& a, NvList*) {
  UZFS_ASSIGN(std::shared_ptr<Client> cl, ClientOf(c));
  UZFS_FILE(f, cl, a);
  if (!f.write) return Status::Error(EBADF, "not open for writing");
  SetAttr sa;
  sa.size = U64(a, "size");
  UZFS_TRY(pools_->With(f.pool, [&](Pool& p) {
    return p.WithZpl(f.fs, [&](ZplWriter& z, uint64_t) { return z.Setattr(f.obj, sa, Now()); });
  }));
  mounts_->Invalidate(f.fs, f.obj, 0, 0);
  return Status::Ok();
}

Status FileService::Close(const Caller& c, const NvList& a, NvList*) {
  UZFS_ASSIGN(std::shared_ptr<Client> cl, ClientOf(c));
  std::lock_guard<std::mutex> l(map_mu_);
  if (!cl->files.erase(U64(a, "handle"))) return Status::Error(EBADF, "bad handle");
  return Status::Ok();
}

Status FileService::Msync(const Caller& c, const NvList& a, NvList*) {
  UZFS_ASSIGN(std::shared_ptr<Client> cl, ClientOf(c));
  UZFS_FILE(f, cl, a);
  // [offset, offset+length) of mapping "map" (the whole file without one): its stores go
  // through the intent log (zfs_putpage + zil_commit), not a whole txg.
  uint64_t off = 0, len = UINT64_MAX;
  if (a.Has("map")) {
    UZFS_ASSIGN(std::shared_ptr<Mapping> m, MappingOf(*cl, a));
    if (m->obj != f.obj || m->fs != f.fs) return Status::Error(EINVAL, "mapping of another file");
    uint64_t at = a.GetUint64("offset").value_or(0), n = a.GetUint64("length").value_or(m->len);
    if (at >= m->len) return Status::Error(ENOMEM, "range not mapped");
    off = m->file_off + at;
    len = std::min(n, m->len - at);
  }
  return pools_->With(f.pool, [&](Pool& p) { return p.CommitMappedFile(f.fs, f.obj, off, len); });
}

// ---- Mappings.

Status FileService::Mmap(const Caller& c, const NvList& a, NvList* out) {
  UZFS_ASSIGN(std::shared_ptr<Client> cl, ClientOf(c));
  if (!a.Has("map")) {
    // Phase 1: the segment.
    UZFS_FILE(f, cl, a);
    uint64_t off = U64(a, "offset"), len = U64(a, "length");
    bool writable = Flag(a, "writable");
    if (off % kPage || len == 0) return Status::Error(EINVAL, "offset must be page-aligned, length non-zero");
    if (writable && !f.write) return Status::Error(EACCES, "not open for writing");
    if (!f.read) return Status::Error(EACCES, "not open for reading");
    bool dax = false;
    UZFS_TRY(pools_->With(f.pool, [&](Pool& p) -> Status {
      UZFS_ASSIGN(dax, p.IsDaxFile(f.fs, f.obj));
      return Status::Ok();
    }));
    if (dax) return MmapDax(c, cl, f.pool, f.fs, f.obj, off, len, writable, out);
    std::shared_ptr<ArcSegment> seg;
    UZFS_TRY(pools_->With(f.pool, [&](Pool& p) -> Status {
      UZFS_ASSIGN(seg, p.MapFile(f.fs, f.obj));
      return Status::Ok();
    }));
    // A read-only mapping gets a read-only descriptor of the same memfd.
    std::string self = "/proc/self/fd/" + std::to_string(seg->fd());
    int fd = ::open(self.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) return Status::Error(errno, "reopen segment");
    auto m = std::make_shared<Mapping>();
    m->session = cl->session;
    m->conn_fd = cl->conn_fd;
    m->pool = f.pool;
    m->fs = f.fs;
    m->obj = f.obj;
    m->key = seg->key();
    m->seg = seg;
    m->file_off = off;
    m->len = (len + kPage - 1) / kPage * kPage;
    m->writable = writable;
    {
      std::lock_guard<std::mutex> l(map_mu_);
      m->id = next_map_++;
      maps_[m->id] = m;
    }
    c.session->fds_out.push_back(fd);
    out->AddUint64("map", m->id);
    out->AddUint64("size", seg->size());
    return Status::Ok();
  }
  // Phase 2: the client mapped it at addr and registered it with the uffd it sends.
  UZFS_ASSIGN(std::shared_ptr<Mapping> m, MappingOf(*cl, a));
  if (m->active) return Status::Error(EBUSY, "mapping already active");
  m->addr = U64(a, "addr");
  if (m->addr == 0 || m->addr % kPage) return Status::Error(EINVAL, "bad address");
  if (m->dax) {  // the client mapped the devices: nothing to serve
    m->active = true;
    return Status::Ok();
  }
  int uffd = -1;
  for (int& fd : c.session->fds_in)
    if (fd >= 0) {
      uffd = fd;
      fd = -1;
      break;
    }
  if (uffd >= 0) {
    char link[64] = {};
    std::string self = "/proc/self/fd/" + std::to_string(uffd);
    ssize_t n = ::readlink(self.c_str(), link, sizeof link - 1);
    if (n <= 0 || std::string(link, static_cast<size_t>(n)) != "anon_inode:[userfaultfd]") {
      ::close(uffd);
      return Status::Error(EINVAL, "the descriptor sent is not a userfaultfd");
    }
    ::fcntl(uffd, F_SETFL, ::fcntl(uffd, F_GETFL) | O_NONBLOCK);
    m->uffd = uffd;
    if (m->writable) {
      Status s = UffdWriteProtect(uffd, m->addr, m->len, true);
      if (!s.ok()) return Status::Error(s.code(), "the range is not registered for write-protect faults: " + s.message());
    }
  } else {
    // No userfaultfd on the client's side: pin every unit of the range (PreSync hashes the
    // units of a writable one to find stores).
    uint64_t end = std::min(m->file_off + m->len, m->seg->size());
    for (uint64_t at = m->file_off; at < end;) {
      Pool::MapUnit u;
      Status pinned = pools_->With(m->pool, [&](Pool& p) -> Status {
        UZFS_ASSIGN(u, p.FaultFile(m->fs, m->obj, at));
        return arc_->Hold(m->key, u.off);
      });
      // A unit evicted at once: the ARC cannot hold the whole range (arc_max).
      if (!pinned.ok() && pinned.code() == ENOENT)
        return Status::Error(ENOMEM, "the ARC cannot pin the whole mapping (arc_max too small)");
      UZFS_TRY(pinned);
      Mapping::Pinned pin{u.off, u.len, 0};
      if (m->writable) {
        auto bytes = arc_->Peek(m->key, u.off, u.len);
        if (bytes.ok()) pin.hash = UnitHash(*bytes);
      }
      m->pinned.push_back(pin);
      at = u.off + u.len;
    }
  }
  {
    std::lock_guard<std::mutex> l(map_mu_);
    if (!maps_.count(m->id)) return Status::Error(EINVAL, "no such mapping");
    if (m->uffd >= 0) {
      struct epoll_event ev = {};
      ev.events = EPOLLIN | EPOLLONESHOT;  // one fault thread at a time (Serve re-arms it)
      ev.data.u64 = m->id;
      if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, m->uffd, &ev) != 0)
        return Status::Error(errno, "epoll_ctl");
    }
    by_obj_.emplace(m->key, m);
    m->active = true;
  }
  arc_->AddMapped(static_cast<int64_t>(m->len));
  out->AddBooleanValue("pinned", m->uffd < 0);
  return Status::Ok();
}

Status FileService::Munmap(const Caller& c, const NvList& a, NvList*) {
  UZFS_ASSIGN(std::shared_ptr<Client> cl, ClientOf(c));
  UZFS_ASSIGN(std::shared_ptr<Mapping> m, MappingOf(*cl, a));
  RemoveMapping(m);
  return Status::Ok();
}

void FileService::Sever(const Mapping& m, const Status& why) {
  spdlog::warn("map {} of {} object {}: {}; severing the client's session", m.id, m.fs, m.obj,
               why.ToString());
  // The connection is closed only after its session is dropped (server.cc), so while the
  // client is known its descriptor is still that connection.
  std::lock_guard<std::mutex> l(map_mu_);
  if (clients_.count(m.session)) ::shutdown(m.conn_fd, SHUT_RDWR);
}

}  // namespace uzfs
