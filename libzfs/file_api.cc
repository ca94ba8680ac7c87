// The file API (libzfs/include/uzfs/file.h): one connection to zfsd per open file, a watcher
// thread per connection that poisons the file's mappings when zfsd goes away, and a prefault
// thread per new mapping of at least kPrefaultMin bytes that maps what the ARC holds of it.
//
// Prefaulting: a registered userfaultfd turns the kernel's fault-around off, so each 4K page
// of a mapping costs its own minor fault (~0.5 us), and the ARC's pages are 4K folios, so
// even fault-around or MADV_POPULATE_READ spend ~0.35 us a page (measured on Linux 6.18).
// Done by the faulting thread alone, that is most of a warm read. The prefault thread maps
// the resident pages with MADV_POPULATE_READ on another CPU meanwhile, from the end of the
// mapping backwards (a reader going forwards meets it halfway instead of following it), 2 MiB
// (one page table) at a time. A read fault maps a page read-only and keeps its uffd-wp mark,
// so a first store still reaches zfsd as a WP fault; and a missing page is never filled by it:
// with UFFD_USER_MODE_ONLY a fault from the kernel (GUP) is not the uffd's to serve, so the
// populate fails with EFAULT and the chunk falls back to mincore(2) and populates the runs
// that are resident. Errors only end the prefault (it is advice). UZFS_PREFAULT=0 turns it off.
// uzfs_munmap stops and joins the thread before unmapping.
#include "libzfs/include/uzfs/file.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <libpmem.h>

#include "libzfs/file_impl.h"
#include "libzfs/proto.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

namespace uzfs_file_impl {

// A mapping's prefault thread (see the top). Destroying it stops and joins the thread.
struct Prefault {
  std::atomic<bool> stop{false};
  std::thread thread;
  ~Prefault() {
    stop = true;
    if (thread.joinable()) thread.join();
  }
};

}  // namespace uzfs_file_impl

using uzfs_file_impl::Prefault;

using uzfs::Bytes;
using uzfs::ByteSpan;
using uzfs::NvList;
using uzfs::NvValue;
using uzfs::Status;
namespace proto = uzfs::proto;

namespace {

std::atomic<uint64_t> g_gen{1};
// Under map_mu: maps or dead changed.
void NewGen(uzfs_file* f) { f->gen.store(g_gen.fetch_add(1, std::memory_order_relaxed), std::memory_order_release); }

// uzfs_get_persist_fn's functions: a real device-DAX's flush, an emulated one's msync.
void PmemPersist(const void* addr, size_t len) { pmem_persist(addr, len); }
void MsyncPages(const void* addr, size_t len) {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t at = reinterpret_cast<uintptr_t>(addr), lo = at & ~(page - 1);
  (void)::msync(reinterpret_cast<void*>(lo), at + len - lo, MS_SYNC);
}

// uzfs_persist's per-thread memo of the last DAX mapping it looked up.
struct PersistMemo {
  const uzfs_file* f = nullptr;
  uint64_t gen = 0;
  uintptr_t lo = 0, hi = 0;
  bool dax = false, emulated = false;
};
// initial-exec: no __tls_get_addr call per access from this shared library.
thread_local PersistMemo t_persist __attribute__((tls_model("initial-exec")));

long PageSize() {
  static long p = ::sysconf(_SC_PAGESIZE);
  return p;
}

constexpr size_t kPrefaultMin = 2u << 20;    // smaller mappings fault in as they are touched
constexpr size_t kPrefaultChunk = 2u << 20;  // one page table's worth

// The prefault thread's work: [base, base+len) mapped where resident, last chunk first. It
// runs 10 nice levels below the caller: it is worth only the CPU nobody else wants (on a busy
// machine the reader's own faults do the same work).
void PrefaultRange(char* base, size_t len, const std::atomic<bool>& stop) {
  errno = 0;
  int prio = ::getpriority(PRIO_PROCESS, 0);
  if (errno == 0) (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), std::min(prio + 10, 19));
  const uintptr_t lo = reinterpret_cast<uintptr_t>(base), page = static_cast<uintptr_t>(PageSize());
  std::vector<unsigned char> vec(kPrefaultChunk / page);
  for (uintptr_t end = lo + len; end > lo && !stop;) {
    uintptr_t start = std::max(lo, (end - 1) & ~(uintptr_t{kPrefaultChunk} - 1));
    void* p = reinterpret_cast<void*>(start);
    if (::madvise(p, end - start, MADV_POPULATE_READ) != 0) {
      // EINVAL: no MADV_POPULATE_READ (Linux < 5.14); EINTR: a fatal signal; ENOMEM: the
      // range is gone. EFAULT: a page is missing (or the mapping was poisoned): the
      // resident runs only.
      if (errno != EFAULT) return;
      size_t pages = (end - start) / page;
      if (::mincore(p, end - start, vec.data()) != 0) return;
      for (size_t i = 0; i < pages && !stop;) {
        if (!(vec[i] & 1)) {
          i++;
          continue;
        }
        size_t j = i;
        while (j < pages && (vec[j] & 1)) j++;
        // Evicted since mincore looked: EFAULT again, nothing to do.
        (void)::madvise(reinterpret_cast<void*>(start + i * page), (j - i) * page, MADV_POPULATE_READ);
        i = j;
      }
    }
    end = start;
  }
}

bool PrefaultWanted() {
  const char* v = std::getenv("UZFS_PREFAULT");
  return !(v && std::strcmp(v, "0") == 0);
}

int Fail(int e) {
  errno = e;
  return -1;
}

// One request on f's connection. On success fills *result (and fds / payload when asked).
int Call(uzfs_file* f, proto::OpId op, const NvList& args, NvList* result,
         const std::vector<int>& send_fds = {}, ByteSpan send_payload = {},
         std::vector<int>* fds = nullptr, Bytes* payload = nullptr) {
  std::lock_guard<std::mutex> l(f->call_mu);
  if (f->sock < 0) return Fail(ENOTCONN);
  NvList req;
  req.AddString("op", proto::OpName(op));
  req.AddUint64("op_id", static_cast<uint64_t>(op));
  req.AddNvList("args", args);
  if (!proto::WriteMessage(f->sock, req, send_fds, send_payload).ok()) return Fail(ENOTCONN);
  std::vector<int> got_fds;
  auto reply = proto::ReadMessage(f->sock, -1, &got_fds, payload);
  if (!reply.ok()) {
    for (int fd : got_fds) ::close(fd);
    return Fail(ENOTCONN);
  }
  uint64_t err = reply->GetUint64("errno").value_or(EIO);
  if (err) {
    for (int fd : got_fds) ::close(fd);
    return Fail(static_cast<int>(err));
  }
  if (fds) *fds = std::move(got_fds);
  else
    for (int fd : got_fds) ::close(fd);
  if (result) {
    const NvList* r = reply->GetNvList("result");
    *result = r ? *r : NvList();
  }
  return 0;
}

// Replaces every mapping of f by one that raises SIGBUS (a zero-length memfd), then lets go of
// the userfaultfds so threads waiting in a fault retry — and get SIGBUS, never zeros.
void Poison(uzfs_file* f) {
  std::lock_guard<std::mutex> l(f->map_mu);
  if (f->dead) return;
  f->dead = true;
  NewGen(f);
  int empty = ::memfd_create("uzfs-gone", MFD_CLOEXEC);
  for (auto& [addr, m] : f->maps) {
    if (m.dax) {
      // A DAX mapping is the device itself; the extents may go to other files once zfsd no
      // longer holds them: the whole span goes (what was persisted is on the device).
      ::mmap(reinterpret_cast<void*>(m.span_base), m.span_len, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      // Paused: closing the userfaultfd wakes the threads waiting in it (they fault again).
      if (m.pause_uffd >= 0) ::close(m.pause_uffd);
      m.pause_uffd = -1;
      continue;
    }
    if (empty >= 0)
      ::mmap(reinterpret_cast<void*>(addr), m.len, m.prot, MAP_SHARED | MAP_FIXED, empty, 0);
    else
      ::mmap(reinterpret_cast<void*>(addr), m.len, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (m.uffd >= 0) ::close(m.uffd);
    m.uffd = -1;
  }
  if (empty >= 0) ::close(empty);
}

// The watcher: poisons f's mappings when the connection goes, and serves zfsd's requests on
// the revoke channel (file_revoke.cc) once there is one.
void Watch(uzfs_file* f) {
  for (;;) {
    int channel;
    {
      std::lock_guard<std::mutex> l(f->map_mu);
      channel = f->revoke_fd;
    }
    struct pollfd p[3] = {{f->sock, POLLRDHUP, 0}, {f->stop_fd, POLLIN, 0}, {channel, POLLIN, 0}};
    int r = ::poll(p, channel >= 0 ? 3 : 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (p[1].revents) {
      uint64_t v;
      (void)!::read(f->stop_fd, &v, sizeof v);
      if (f->stopping) return;
      continue;  // a new channel to watch
    }
    if (r < 0 || (p[0].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))) {
      Poison(f);
      return;
    }
    if (channel >= 0 && p[2].revents) uzfs_file_impl::ServeRevoke(f);
  }
}

void Free(uzfs_file* f) {
  if (f->watcher.joinable()) {
    f->stopping = true;
    uint64_t one = 1;
    (void)!::write(f->stop_fd, &one, sizeof one);
    f->watcher.join();
  }
  if (f->stop_fd >= 0) ::close(f->stop_fd);
  if (f->sock >= 0) ::close(f->sock);
  if (f->revoke_fd >= 0) ::close(f->revoke_fd);
  for (auto& e : f->early)
    for (int fd : e.fds) ::close(fd);
  delete f;
}

uzfs_file* Connect() {
  std::string path = proto::SocketPath();
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return nullptr;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    ::close(s);
    errno = ENAMETOOLONG;
    return nullptr;
  }
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(s);
    errno = e;
    return nullptr;
  }
  auto* f = new uzfs_file;
  f->sock = s;
  f->stop_fd = ::eventfd(0, EFD_CLOEXEC);
  f->watcher = std::thread(Watch, f);
  return f;
}

uzfs_file* OpenWith(NvList args, int flags, mode_t mode) {
  uzfs_file* f = Connect();
  if (!f) return nullptr;
  mode_t mask = ::umask(0);
  ::umask(mask);
  args.AddUint64("flags", static_cast<uint64_t>(flags));
  args.AddUint64("mode", static_cast<uint64_t>(mode & ~mask & 07777));
  NvList r;
  if (Call(f, proto::OpId::kFileOpen, args, &r) != 0) {
    int e = errno;
    Free(f);
    errno = e;
    return nullptr;
  }
  f->handle = r.GetUint64("handle").value_or(0);
  return f;
}

// Frees f when it is closed and has no mapping left.
void MaybeFree(uzfs_file* f) {
  bool done;
  {
    std::lock_guard<std::mutex> l(f->map_mu);
    done = f->closed && f->maps.empty();
  }
  if (done) Free(f);
}

NvList Handle(uzfs_file* f) {
  NvList a;
  a.AddUint64("handle", f->handle);
  return a;
}

// uzfs_mmap of a DAX file (daemon/file_dax.cc): r holds the extent map (file offset, device
// index, device offset triples), fds the devices. Whole extents around [offset, offset+len)
// are mapped, each at its place in one range reserved aligned to an extent (so the kernel
// can map the device with huge pages); past the last extent (the end of the file) the
// range stays inaccessible. MAP_SYNC on a real device-DAX: a store whose cache line is
// flushed is persistent, whatever happens to the page tables.
void* MapDax(uzfs_file* f, const NvList& r, std::vector<int>& fds, size_t len, int prot, off_t offset) {
  const uint64_t id = r.GetUint64("map").value_or(0);
  const uint64_t es = r.GetUint64("extent_size").value_or(0);
  const NvValue* ext = r.Find("extents");
  const NvValue* emu = r.Find("emulated");
  if (r.Has("revoke_channel") && !fds.empty()) {
    // zfsd's revoke channel (file_revoke.cc), the last descriptor: the watcher serves it.
    int channel = fds.back();
    fds.pop_back();
    std::lock_guard<std::mutex> l(f->map_mu);
    if (f->revoke_fd < 0) {
      f->revoke_fd = channel;
      uint64_t one = 1;
      (void)!::write(f->stop_fd, &one, sizeof one);
    } else {
      ::close(channel);
    }
  }
  auto fail = [&](int err, void* base, size_t span) {
    for (int fd : fds) ::close(fd);
    if (base) ::munmap(base, span);
    NvList u;
    u.AddUint64("map", id);
    Call(f, proto::OpId::kFileMunmap, u, nullptr);
    errno = err;
    return MAP_FAILED;
  };
  if (es == 0 || es % static_cast<uint64_t>(PageSize()) || !ext || ext->u_arr.size() % 3 ||
      !emu || emu->u_arr.size() != fds.size())
    return fail(EPROTO, nullptr, 0);
  const uint64_t first = static_cast<uint64_t>(offset) / es * es;
  const size_t span = (static_cast<uint64_t>(offset) + len + es - 1) / es * es - first;
  void* raw = ::mmap(nullptr, span + es, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return fail(errno, nullptr, 0);
  const uintptr_t lo = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t base = (lo + es - 1) / es * es;
  if (base > lo) ::munmap(raw, base - lo);
  if (lo + es > base) ::munmap(reinterpret_cast<void*>(base + span), lo + es - base);
  bool emulated = false;
  for (size_t i = 0; i < ext->u_arr.size(); i += 3) {
    const uint64_t file_off = ext->u_arr[i], dev = ext->u_arr[i + 1], dev_off = ext->u_arr[i + 2];
    if (dev >= fds.size() || file_off < first || file_off + es > first + span)
      return fail(EPROTO, reinterpret_cast<void*>(base), span);
    const bool emu_dev = emu->u_arr[dev] != 0;
    emulated |= emu_dev;
    int flags = MAP_FIXED | (emu_dev ? MAP_SHARED : MAP_SHARED_VALIDATE | MAP_SYNC);
    void* at = ::mmap(reinterpret_cast<void*>(base + (file_off - first)), es, prot, flags,
                      fds[dev], static_cast<off_t>(dev_off));
    if (at == MAP_FAILED) return fail(errno, reinterpret_cast<void*>(base), span);
  }
  for (int fd : fds) ::close(fd);
  fds.clear();
  // Not inherited by a fork's child: when zfsd can no longer reach this process it fences
  // the extents until this process exits (daemon/file_fence.cc), which a child holding
  // them would outlive.
  if (::madvise(reinterpret_cast<void*>(base), span, MADV_DONTFORK) != 0)
    return fail(errno, reinterpret_cast<void*>(base), span);
  void* addr = reinterpret_cast<void*>(base + (static_cast<uint64_t>(offset) - first));
  const size_t page = static_cast<size_t>(PageSize());
  uzfs_file::Map m;
  m.id = id;
  m.len = (len + page - 1) / page * page;
  m.prot = prot;
  m.dax = true;
  m.dax_emulated = emulated;
  m.span_base = base;
  m.span_len = span;
  m.span_file_off = first;
  m.extent_size = es;
  {
    std::lock_guard<std::mutex> l(f->map_mu);
    if (f->dead) {
      ::munmap(reinterpret_cast<void*>(base), span);
      errno = ENOTCONN;
      return MAP_FAILED;
    }
    f->maps[reinterpret_cast<uintptr_t>(addr)] = m;
    NewGen(f);
    // What zfsd asked about this mapping before it was recorded (a truncate, a snapshot).
    uzfs_file_impl::ReplayEarly(f, id);
  }
  NvList b;
  b.AddUint64("map", id);
  b.AddUint64("addr", reinterpret_cast<uintptr_t>(addr));
  if (Call(f, proto::OpId::kFileMmap, b, nullptr) != 0) {
    int err = errno;
    {
      std::lock_guard<std::mutex> l(f->map_mu);
      f->maps.erase(reinterpret_cast<uintptr_t>(addr));
      NewGen(f);
    }
    ::munmap(reinterpret_cast<void*>(base), span);
    errno = err;
    return MAP_FAILED;
  }
  return addr;
}

}  // namespace

extern "C" {

uzfs_file* uzfs_open(const char* path, int flags, mode_t mode) {
  if (!path || path[0] != '/') {
    errno = EINVAL;
    return nullptr;
  }
  // The kernel's view of the path (symlinks resolved): the file's, or its directory's for a
  // file still to be created.
  char real[PATH_MAX];
  std::string resolved;
  if (::realpath(path, real)) {
    resolved = real;
  } else {
    if (errno != ENOENT || !(flags & O_CREAT)) return nullptr;
    std::string p(path);
    size_t slash = p.find_last_of('/');
    std::string dir = slash == 0 ? "/" : p.substr(0, slash);
    if (!::realpath(dir.c_str(), real)) return nullptr;
    resolved = std::string(real) + (std::string(real) == "/" ? "" : "/") + p.substr(slash + 1);
  }
  NvList a;
  a.AddString("path", resolved);
  return OpenWith(a, flags, mode);
}

uzfs_file* uzfs_open_dataset(const char* dataset, const char* path, int flags, mode_t mode) {
  if (!dataset || !path) {
    errno = EINVAL;
    return nullptr;
  }
  NvList a;
  a.AddString("dataset", dataset);
  a.AddString("path", path);
  return OpenWith(a, flags, mode);
}

ssize_t uzfs_pread(uzfs_file* f, void* buf, size_t count, off_t offset) {
  if (offset < 0) return Fail(EINVAL);
  size_t done = 0;
  while (done < count) {
    NvList a = Handle(f);
    a.AddUint64("offset", static_cast<uint64_t>(offset) + done);
    a.AddUint64("length", std::min<size_t>(count - done, 8u << 20));
    Bytes data;
    if (Call(f, proto::OpId::kFileRead, a, nullptr, {}, {}, nullptr, &data) != 0) return -1;
    std::memcpy(static_cast<char*>(buf) + done, data.data(), data.size());
    done += data.size();
    if (data.empty()) break;  // end of file
  }
  return static_cast<ssize_t>(done);
}

ssize_t uzfs_pwrite(uzfs_file* f, const void* buf, size_t count, off_t offset) {
  if (offset < 0) return Fail(EINVAL);
  size_t done = 0;
  while (done < count) {
    size_t n = std::min<size_t>(count - done, 8u << 20);
    NvList a = Handle(f);
    a.AddUint64("offset", static_cast<uint64_t>(offset) + done);
    ByteSpan data(static_cast<const uint8_t*>(buf) + done, n);
    if (Call(f, proto::OpId::kFileWrite, a, nullptr, {}, data) != 0)
      return done ? static_cast<ssize_t>(done) : -1;
    done += n;
  }
  return static_cast<ssize_t>(done);
}

int uzfs_fstat(uzfs_file* f, struct stat* st) {
  NvList r;
  if (Call(f, proto::OpId::kFileStat, Handle(f), &r) != 0) return -1;
  std::memset(st, 0, sizeof *st);
  st->st_ino = r.GetUint64("object").value_or(0);
  st->st_mode = static_cast<mode_t>(r.GetUint64("mode").value_or(0));
  st->st_nlink = r.GetUint64("links").value_or(0);
  st->st_uid = static_cast<uid_t>(r.GetUint64("uid").value_or(0));
  st->st_gid = static_cast<gid_t>(r.GetUint64("gid").value_or(0));
  st->st_size = static_cast<off_t>(r.GetUint64("size").value_or(0));
  st->st_blksize = 131072;
  st->st_blocks = static_cast<blkcnt_t>((r.GetUint64("used").value_or(0) + 511) / 512);
  auto ts = [&](const char* name, struct timespec* t) {
    const std::vector<uint64_t>* v = r.GetUint64Array(name);
    if (v && v->size() == 2) {
      t->tv_sec = static_cast<time_t>((*v)[0]);
      t->tv_nsec = static_cast<long>((*v)[1]);
    }
  };
  ts("atime", &st->st_atim);
  ts("mtime", &st->st_mtim);
  ts("ctime", &st->st_ctim);
  return 0;
}

int uzfs_ftruncate(uzfs_file* f, off_t length) {
  if (length < 0) return Fail(EINVAL);
  NvList a = Handle(f);
  a.AddUint64("size", static_cast<uint64_t>(length));
  return Call(f, proto::OpId::kFileTruncate, a, nullptr);
}

void* uzfs_mmap(uzfs_file* f, size_t length, int prot, off_t offset) {
  if (length == 0 || offset < 0 || offset % PageSize() || (prot & ~(PROT_READ | PROT_WRITE)) ||
      !(prot & PROT_READ)) {
    errno = EINVAL;
    return MAP_FAILED;
  }
  bool writable = prot & PROT_WRITE;
  size_t len = (length + static_cast<size_t>(PageSize()) - 1) / PageSize() * PageSize();
  // Phase 1: the segment.
  NvList a = Handle(f);
  a.AddUint64("offset", static_cast<uint64_t>(offset));
  a.AddUint64("length", len);
  a.AddBooleanValue("writable", writable);
  NvList r;
  std::vector<int> fds;
  if (Call(f, proto::OpId::kFileMmap, a, &r, {}, {}, &fds) != 0) return MAP_FAILED;
  if (r.Has("dax")) return MapDax(f, r, fds, len, prot, offset);
  if (fds.size() != 1) {
    for (int fd : fds) ::close(fd);
    errno = EPROTO;
    return MAP_FAILED;
  }
  uint64_t id = r.GetUint64("map").value_or(0);
  // A read-only mapping is MAP_PRIVATE of a read-only descriptor: the kernel lets a
  // userfaultfd watch only mappings that may be written (VM_MAYWRITE), and a private mapping
  // may be (copy-on-write, in this process only) while it still maps the ARC's own pages.
  void* addr = ::mmap(nullptr, len, prot, writable ? MAP_SHARED : MAP_PRIVATE, fds[0], offset);
  int e = errno;
  ::close(fds[0]);
  auto undo = [&](int err) {
    if (addr != MAP_FAILED) ::munmap(addr, len);
    NvList u;
    u.AddUint64("map", id);
    Call(f, proto::OpId::kFileMunmap, u, nullptr);
    errno = err;
    return MAP_FAILED;
  };
  if (addr == MAP_FAILED) return undo(e);
  // The fault service: a userfaultfd of our own, registered here, served by zfsd.
  int uffd = -1;
  const char* no = std::getenv("UZFS_NO_UFFD");
  if (!(no && *no && std::strcmp(no, "0") != 0)) {
    uffd = static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY));
    if (uffd >= 0) {
      struct uffdio_api api = {};
      api.api = UFFD_API;
      api.features = UFFD_FEATURE_MISSING_SHMEM | (writable ? UFFD_FEATURE_WP_HUGETLBFS_SHMEM : 0);
      struct uffdio_register reg = {};
      reg.range.start = reinterpret_cast<uintptr_t>(addr);
      reg.range.len = len;
      reg.mode = UFFDIO_REGISTER_MODE_MISSING | (writable ? UFFDIO_REGISTER_MODE_WP : 0);
      if (::ioctl(uffd, UFFDIO_API, &api) != 0 || ::ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) {
        ::close(uffd);
        uffd = -1;
      }
    }
  }
  NvList b;
  b.AddUint64("map", id);
  b.AddUint64("addr", reinterpret_cast<uintptr_t>(addr));
  std::vector<int> send;
  if (uffd >= 0) send.push_back(uffd);
  {
    // Registered before zfsd serves it, so the watcher can poison it at any point from here.
    std::lock_guard<std::mutex> l(f->map_mu);
    if (f->dead) {
      if (uffd >= 0) ::close(uffd);
      return undo(ENOTCONN);
    }
    f->maps[reinterpret_cast<uintptr_t>(addr)] = {id, len, prot, uffd};
  }
  if (Call(f, proto::OpId::kFileMmap, b, nullptr, send) != 0) {
    int err = errno;
    std::lock_guard<std::mutex> l(f->map_mu);
    f->maps.erase(reinterpret_cast<uintptr_t>(addr));
    NewGen(f);
    if (uffd >= 0) ::close(uffd);
    ::munmap(addr, len);
    errno = err;
    return MAP_FAILED;
  }
  if (len >= kPrefaultMin && PrefaultWanted()) {
    auto pf = std::make_shared<Prefault>();
    try {
      pf->thread = std::thread([p = pf.get(), base = static_cast<char*>(addr), len] {
        PrefaultRange(base, len, p->stop);
      });
    } catch (const std::system_error&) {
      pf.reset();  // no thread to spare: the pages fault in as they are touched
    }
    if (pf) {
      std::lock_guard<std::mutex> l(f->map_mu);
      auto it = f->maps.find(reinterpret_cast<uintptr_t>(addr));
      if (it != f->maps.end()) it->second.prefault = std::move(pf);
    }
  }
  return addr;
}

int uzfs_msync(uzfs_file* f, void* addr, size_t length, int flags) {
  if (!(flags & MS_SYNC)) return 0;
  NvList a = Handle(f);
  if (addr) {  // the mapping holding addr, and the range's place in it
    std::lock_guard<std::mutex> l(f->map_mu);
    const auto at = reinterpret_cast<uintptr_t>(addr);
    auto it = f->maps.upper_bound(at);
    if (it == f->maps.begin() || at >= std::prev(it)->first + std::prev(it)->second.len) return Fail(ENOMEM);
    --it;
    a.AddUint64("map", it->second.id);
    a.AddUint64("offset", at - it->first);
    a.AddUint64("length", length);
  }
  return Call(f, proto::OpId::kFileMsync, a, nullptr);
}

int uzfs_persist(uzfs_file* f, void* addr, size_t length) {
  bool dax = false, emulated = false;
  const auto at = reinterpret_cast<uintptr_t>(addr);
  PersistMemo& memo = t_persist;
  if (memo.f == f && memo.gen == f->gen.load(std::memory_order_acquire) && at >= memo.lo &&
      at + length <= memo.hi) {
    // The hot path of a store loop: the same mapping as last time, unchanged since.
    dax = memo.dax;
    emulated = memo.emulated;
  } else {
    std::lock_guard<std::mutex> l(f->map_mu);
    auto it = f->maps.upper_bound(at);
    if (it == f->maps.begin() || at + length > std::prev(it)->first + std::prev(it)->second.len)
      return Fail(ENOMEM);
    --it;
    if (f->dead) return Fail(ENOTCONN);
    dax = it->second.dax;
    emulated = it->second.dax_emulated;
    memo = {f, f->gen.load(std::memory_order_relaxed), it->first, it->first + it->second.len, dax, emulated};
  }
  // A mapping of the ARC: its stores are made durable by zfsd.
  if (!dax) return uzfs_msync(f, addr, length, MS_SYNC);
  if (emulated) {
    const uintptr_t page = static_cast<uintptr_t>(PageSize()), lo = at & ~(page - 1);
    return ::msync(reinterpret_cast<void*>(lo), at + length - lo, MS_SYNC);
  }
  pmem_persist(addr, length);  // MAP_SYNC: flushed CPU caches are persistence
  return 0;
}

uzfs_persist_fn uzfs_get_persist_fn(uzfs_file* f, void* addr) {
  const auto at = reinterpret_cast<uintptr_t>(addr);
  std::lock_guard<std::mutex> l(f->map_mu);
  auto it = f->maps.upper_bound(at);
  if (it == f->maps.begin() || at >= std::prev(it)->first + std::prev(it)->second.len ||
      !std::prev(it)->second.dax) {
    errno = EINVAL;
    return nullptr;
  }
  return std::prev(it)->second.dax_emulated ? &MsyncPages : &PmemPersist;
}

int uzfs_munmap(uzfs_file* f, void* addr, size_t length) {
  (void)length;
  uzfs_file::Map m;
  {
    std::lock_guard<std::mutex> l(f->map_mu);
    auto it = f->maps.find(reinterpret_cast<uintptr_t>(addr));
    if (it == f->maps.end()) return Fail(EINVAL);
    m = std::move(it->second);
    f->maps.erase(it);
    NewGen(f);
  }
  // Out of the table, so the watcher no longer touches it: the prefault thread is stopped
  // and joined first (it must not populate a range that is unmapped, maybe reused).
  m.prefault.reset();
  if (m.dax) {
    ::munmap(reinterpret_cast<void*>(m.span_base), m.span_len);
    if (m.pause_uffd >= 0) ::close(m.pause_uffd);  // wakes any thread waiting in it
  } else
    ::munmap(addr, m.len);
  if (m.uffd >= 0) ::close(m.uffd);
  NvList a;
  a.AddUint64("map", m.id);
  int r = Call(f, proto::OpId::kFileMunmap, a, nullptr);
  if (r != 0 && errno == ENOTCONN) r = 0;  // zfsd is gone: nothing left to tell it
  MaybeFree(f);
  return r;
}

int uzfs_close(uzfs_file* f) {
  int r = Call(f, proto::OpId::kFileClose, Handle(f), nullptr);
  if (r != 0 && errno == ENOTCONN) r = 0;
  {
    std::lock_guard<std::mutex> l(f->map_mu);
    f->closed = true;
  }
  int e = errno;
  MaybeFree(f);
  errno = e;
  return r;
}

}  // extern "C"
