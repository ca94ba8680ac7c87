// The library's side of zfsd's revoke channel (daemon/file_revoke.cc): zfsd asks to replace
// part of a DAX mapping, the watcher thread does it at the same addresses and answers.
//   gone:   the pages past a file offset, rounded up to the mapping's pages (a system page
//           on an emulated device; the extent on a real device-DAX, whose mappings split only
//           at the device's alignment: dev_dax_may_split), become a MAP_SHARED mapping of an
//           empty memfd: an access raises SIGBUS, as past the end of any file.
//   pause:  the span becomes anonymous memory registered with a userfaultfd of our own in
//           MISSING mode that nobody serves (registered before it is moved over the span,
//           see Pause): every load or store there (also a system call's, unless the kernel
//           allows only user-mode faults) waits in handle_userfault.
//   resume: the extents zfsd sends are mapped over it (MAP_FIXED), the rest of the span is
//           gone, then UFFDIO_WAKE on the span wakes the waiting threads: the kernel wakes
//           waiters by address on the uffd's queues (userfaultfd_wake checks the range only,
//           not that it is still registered), and a woken fault is retried against the new
//           mapping. The uffd is closed after, which would wake them too.
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <thread>
#include <utility>
#include <vector>

#include "libzfs/file_impl.h"
#include "libzfs/proto.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

namespace uzfs_file_impl {

using uzfs::NvList;
using uzfs::NvValue;
namespace proto = uzfs::proto;

namespace {

uint64_t PageSize() { return static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)); }

// [addr, addr+len) becomes a mapping of an empty memfd (SIGBUS on access).
int MapGone(uintptr_t addr, size_t len, int prot) {
  if (len == 0) return 0;
  int fd = ::memfd_create("uzfs-gone", MFD_CLOEXEC);
  if (fd < 0) return errno;
  void* at = ::mmap(reinterpret_cast<void*>(addr), len, prot, MAP_SHARED | MAP_FIXED, fd, 0);
  int e = at == MAP_FAILED ? errno : 0;
  ::close(fd);
  return e;
}

int Gone(uzfs_file::Map& m, uint64_t offset) {
  const uint64_t g = m.dax_emulated ? PageSize() : m.extent_size;
  uint64_t cut = (offset + g - 1) / g * g;
  cut = std::max<uint64_t>(cut, m.span_file_off);
  if (cut >= m.span_file_off + m.span_len) return 0;
  const uintptr_t at = m.span_base + (cut - m.span_file_off);
  return MapGone(at, m.span_base + m.span_len - at, m.prot);
}

int Pause(uzfs_file::Map& m) {
  if (m.pause_uffd >= 0) return 0;
  // Faults of the kernel's accesses too when allowed (root, vm.unprivileged_userfaultfd).
  int uffd = static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
  if (uffd < 0) uffd = static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY));
  if (uffd < 0) return errno;
  auto fail = [&](void* tmp) {
    int e = errno;
    if (tmp && tmp != MAP_FAILED) ::munmap(tmp, m.span_len);
    ::close(uffd);
    return e;
  };
  // The anonymous range is registered before it replaces the mapping: mapped over it first,
  // a store between the mmap and the registration would land in anonymous memory and be
  // lost. So it is made elsewhere, registered, and moved over the span by mremap (one step
  // under the mmap lock), which keeps the registration only with UFFD_FEATURE_EVENT_REMAP;
  // the move then waits until the event is read (userfaultfd_event_wait_completion), which a
  // helper thread does.
  struct uffdio_api api = {};
  api.api = UFFD_API;
  api.features = UFFD_FEATURE_EVENT_REMAP;
  if (::ioctl(uffd, UFFDIO_API, &api) != 0) return fail(nullptr);
  void* tmp = ::mmap(nullptr, m.span_len, m.prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (tmp == MAP_FAILED) return fail(nullptr);
  struct uffdio_register reg = {};
  reg.range.start = reinterpret_cast<uintptr_t>(tmp);
  reg.range.len = m.span_len;
  reg.mode = UFFDIO_REGISTER_MODE_MISSING;
  if (::ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) return fail(tmp);
  std::atomic<bool> moved{false};
  std::thread reader([&] {
    // Reads events until the move's; a fault's event read here still waits for the wake.
    while (!moved) {
      struct pollfd p = {uffd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      struct uffd_msg msg;
      if (::read(uffd, &msg, sizeof msg) == sizeof msg && msg.event == UFFD_EVENT_REMAP) return;
    }
  });
  void* at = ::mremap(tmp, m.span_len, m.span_len, MREMAP_MAYMOVE | MREMAP_FIXED,
                      reinterpret_cast<void*>(m.span_base));
  int e = at == MAP_FAILED ? errno : 0;
  moved = true;
  reader.join();
  if (e) {
    errno = e;
    return fail(tmp);  // the mapping is as it was
  }
  m.pause_uffd = uffd;
  return 0;
}

int Resume(uzfs_file::Map& m, const NvList& a, const std::vector<int>& fds) {
  const NvValue* ext = a.Find("extents");
  const NvValue* emu = a.Find("emulated");
  int err = 0;
  if (!ext || ext->u_arr.size() % 3 || !emu || emu->u_arr.size() != fds.size()) err = EPROTO;
  const uint64_t es = m.extent_size, lo = m.span_file_off, hi = m.span_file_off + m.span_len;
  std::vector<std::pair<uint64_t, uint64_t>> mapped;  // file ranges now mapped
  bool emulated = false;
  for (size_t i = 0; !err && i < ext->u_arr.size(); i += 3) {
    const uint64_t file_off = ext->u_arr[i], dev = ext->u_arr[i + 1], dev_off = ext->u_arr[i + 2];
    if (dev >= fds.size() || file_off < lo || file_off + es > hi) {
      err = EPROTO;
      break;
    }
    const bool emu_dev = emu->u_arr[dev] != 0;
    emulated |= emu_dev;
    int flags = MAP_FIXED | (emu_dev ? MAP_SHARED : MAP_SHARED_VALIDATE | MAP_SYNC);
    if (::mmap(reinterpret_cast<void*>(m.span_base + (file_off - lo)), es, m.prot, flags, fds[dev],
               static_cast<off_t>(dev_off)) == MAP_FAILED) {
      err = errno;
      break;
    }
    mapped.push_back({file_off, file_off + es});
  }
  if (err) {
    // Nothing half-mapped is left accessible: zfsd severs the session on the error.
    ::mmap(reinterpret_cast<void*>(m.span_base), m.span_len, PROT_NONE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  } else {
    // The rest of the span (past the end of the file) is gone, after the extents are in place.
    std::sort(mapped.begin(), mapped.end());
    uint64_t at = lo;
    for (auto [b, e] : mapped) {
      if (b > at) err = err ? err : MapGone(m.span_base + (at - lo), b - at, m.prot);
      at = std::max(at, e);
    }
    if (at < hi) err = err ? err : MapGone(m.span_base + (at - lo), hi - at, m.prot);
    m.dax_emulated = emulated || m.dax_emulated;
  }
  if (m.pause_uffd >= 0) {
    struct uffdio_range wake = {m.span_base, m.span_len};
    (void)::ioctl(m.pause_uffd, UFFDIO_WAKE, &wake);
    ::close(m.pause_uffd);
    m.pause_uffd = -1;
  }
  return err;
}

// Under map_mu: one request about mapping m. What it mapped anew is kept out of a fork's
// child as the mapping was (MapDax): only this process may hold the extents zfsd fences.
int Apply(uzfs_file::Map& m, const NvList& a, const std::vector<int>& fds) {
  const std::string* kind = a.GetString("kind");
  if (!kind) return EPROTO;
  int err = EPROTO;
  if (*kind == "gone") err = Gone(m, a.GetUint64("offset").value_or(0));
  else if (*kind == "pause") err = Pause(m);
  else if (*kind == "resume") err = Resume(m, a, fds);
  (void)::madvise(reinterpret_cast<void*>(m.span_base), m.span_len, MADV_DONTFORK);
  return err;
}

uzfs_file::Map* Find(uzfs_file* f, uint64_t id) {
  for (auto& [addr, m] : f->maps)
    if (m.dax && m.id == id) return &m;
  return nullptr;
}

}  // namespace

void ServeRevoke(uzfs_file* f) {
  std::vector<int> fds;
  auto req = proto::ReadMessage(f->revoke_fd, 1000, &fds);
  if (!req.ok()) {
    // zfsd closed it (or sent garbage): no more requests; the connection's end poisons.
    std::lock_guard<std::mutex> l(f->map_mu);
    ::close(f->revoke_fd);
    f->revoke_fd = -1;
    return;
  }
  const NvList* a = req->GetNvList("args");
  NvList args = a ? *a : NvList();
  const uint64_t id = args.GetUint64("map").value_or(0);
  int err = 0;
  {
    std::lock_guard<std::mutex> l(f->map_mu);
    if (req->GetUint64("op_id").value_or(0) != static_cast<uint64_t>(proto::OpId::kFileRevoke)) {
      err = EPROTO;
    } else if (f->dead) {
      err = 0;  // every mapping is poisoned already
    } else if (uzfs_file::Map* m = Find(f, id)) {
      err = Apply(*m, args, fds);
    } else {
      // Not recorded yet (uzfs_mmap between its phases) or unmapped: kept for ReplayEarly.
      f->early.push_back({args, fds});
      fds.clear();
    }
  }
  for (int fd : fds) ::close(fd);
  NvList r;
  r.AddUint64("map", id);
  r.AddUint64("seq", args.GetUint64("seq").value_or(0));
  r.AddUint64("errno", static_cast<uint64_t>(err));
  NvList msg;
  msg.AddString("op", proto::OpName(proto::OpId::kFileRevoked));
  msg.AddUint64("op_id", static_cast<uint64_t>(proto::OpId::kFileRevoked));
  msg.AddNvList("args", r);
  (void)proto::WriteMessage(f->revoke_fd, msg);
}

void ReplayEarly(uzfs_file* f, uint64_t id) {
  uzfs_file::Map* m = Find(f, id);
  for (auto it = f->early.begin(); it != f->early.end();) {
    if (it->args.GetUint64("map").value_or(0) != id) {
      ++it;
      continue;
    }
    if (m) (void)Apply(*m, it->args, it->fds);
    for (int fd : it->fds) ::close(fd);
    it = f->early.erase(it);
  }
}

}  // namespace uzfs_file_impl
