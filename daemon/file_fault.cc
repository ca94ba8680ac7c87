// The file service's faults (daemon/file_service.h): the userfaultfd threads that serve a
// mapping's missing pages from the ARC and track its first stores (write-protect faults),
// the write protection of mapped units before a txg syncs (PreSync), and the read-ahead of
// a stream of faults (dmu_zfetch's window, filled by the prefetch threads without the pool
// lock). The mapping calls (Mmap, Munmap) are in file_service.cc.
#include "daemon/file_service.h"
#include "daemon/file_service_types.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <spdlog/spdlog.h>

namespace uzfs {

namespace {

// Read-ahead window (see file_service.h): the first one in units of the faulting unit, the
// largest in bytes (zfetch_max_distance's old default; at most an eighth of the least
// arc_max, 64M, so a window never pushes its own units out), and the size of one job.
constexpr uint64_t kRaFirstUnits = 4;
constexpr uint64_t kRaMaxBytes = 8u << 20;
constexpr uint64_t kRaJobBytes = 1u << 20;

}  // namespace

void FileService::ProtectMapped(const ArcObjKey& k, uint64_t off, uint64_t len) {
  std::lock_guard<std::mutex> l(map_mu_);
  auto [lo, hi] = by_obj_.equal_range(k);
  for (auto it = lo; it != hi; ++it) {
    Mapping& m = *it->second;
    if (!m.writable || m.uffd < 0) continue;
    auto [addr, n] = m.Addr(off, len);
    if (!n) continue;
    Status s = UffdWriteProtect(m.uffd, addr, n, true);
    if (!s.ok() && s.code() != ESRCH) spdlog::warn("protect map {}: {}", m.id, s.ToString());
  }
}

void FileService::Protect(const ArcObjKey& k, uint64_t off, uint64_t len) {
  ProtectMapped(k, off, len);
  std::lock_guard<std::mutex> l(map_mu_);
  auto [lo, hi] = by_obj_.equal_range(k);
  // Stores since the unit's first one did not fault: the FUSE kernel cache may hold bytes
  // from before them. It is dropped by the fault thread (not here: the pool lock is held, and
  // an invalidation can wait for a FUSE read that waits for that lock).
  if (lo != hi) {
    inval_.push_back({lo->second->fs, k.object, off, len});
    uint64_t one = 1;
    (void)!::write(inval_fd_, &one, sizeof one);
  }
}

void FileService::PreSync(Pool& pool) {
  std::vector<std::shared_ptr<Mapping>> pinned;
  {
    std::lock_guard<std::mutex> l(map_mu_);
    for (auto& [id, m] : maps_)
      if (m->active && m->writable && m->uffd < 0 && m->pool == pool.name()) pinned.push_back(m);
  }
  for (auto& m : pinned) {
    for (Mapping::Pinned& u : m->pinned) {
      auto bytes = arc_->Peek(m->key, u.off, u.len);
      if (!bytes.ok()) continue;
      size_t h = UnitHash(*bytes);
      if (h == u.hash) continue;
      Status s = pool.DirtyFile(m->fs, m->obj, u.off);
      if (!s.ok()) {
        // Out of space or quota: the stores cannot be kept; the client learns it by SIGBUS.
        fault_errors_++;
        Sever(*m, s);
        break;
      }
      u.hash = h;
    }
  }
}

// ---- The fault thread.

void FileService::FaultLoop() {
  // One event at a time: a mapping's uffd is disarmed once reported (EPOLLONESHOT), and the
  // next one may as well go to another thread.
  struct epoll_event evs[1];
  for (;;) {
    int n = ::epoll_wait(epoll_fd_, evs, 1, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      spdlog::error("fault service: epoll_wait: {}", std::strerror(errno));
      return;
    }
    for (int i = 0; i < n; i++) {
      if (evs[i].data.u64 == 0) return;  // Stop()
      if (evs[i].data.u64 == UINT64_MAX) {
        uint64_t count;
        (void)!::read(inval_fd_, &count, sizeof count);
        std::vector<Inval> todo;
        {
          std::lock_guard<std::mutex> l(map_mu_);
          todo.swap(inval_);
        }
        for (const Inval& v : todo)
          mounts_->Invalidate(v.fs, v.obj, static_cast<int64_t>(v.off), static_cast<int64_t>(v.len));
        continue;
      }
      std::shared_ptr<Mapping> m;
      {
        std::lock_guard<std::mutex> l(map_mu_);
        auto it = maps_.find(evs[i].data.u64);
        if (it != maps_.end()) m = it->second;
      }
      if (m) Serve(m);
    }
  }
}

void FileService::Rearm(const Mapping& m) {
  struct epoll_event ev = {};
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.u64 = m.id;
  // ENOENT: the mapping was removed meanwhile (RemoveMapping took the uffd out of the set).
  std::lock_guard<std::mutex> l(map_mu_);
  if (maps_.count(m.id)) ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, m.uffd, &ev);
}

void FileService::Serve(const std::shared_ptr<Mapping>& m) {
  for (;;) {
    struct uffd_msg msg;
    ssize_t r = ::read(m->uffd, &msg, sizeof msg);
    if (r != sizeof msg) {
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && errno != EAGAIN) {
        // The client's side is gone (its mm exited): nothing more will come.
        std::lock_guard<std::mutex> l(map_mu_);
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, m->uffd, nullptr);
        return;
      }
      Rearm(*m);
      return;
    }
    if (msg.event != UFFD_EVENT_PAGEFAULT) continue;
    uint64_t addr = msg.arg.pagefault.address & ~(kPage - 1);
    if (addr < m->addr || addr >= m->addr + m->len) continue;
    uint64_t at = m->file_off + (addr - m->addr);
    Status s = Status::Ok();
    if (msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) {
      faults_wp_++;
      std::pair<uint64_t, uint64_t> dirty{0, 0};
      // The first store into a clean unit: charge it to the open txg, then let this mapping
      // store into the whole unit (under the pool lock, so a sync cannot slip in between).
      s = pools_->With(m->pool, [&](Pool& p) {
        return p.DirtyFile(m->fs, m->obj, at, [&](uint64_t off, uint64_t len) {
          auto [a, n] = m->Addr(off, len);
          Status u = UffdWriteProtect(m->uffd, a, n, false);
          if (!u.ok() && u.code() != ESRCH) spdlog::warn("unprotect map {}: {}", m->id, u.ToString());
          dirty = {off, len};
        });
      });
      // Readers through the FUSE mount must not keep serving the bytes from before.
      if (s.ok() && dirty.second)
        mounts_->Invalidate(m->fs, m->obj, static_cast<int64_t>(dirty.first),
                            static_cast<int64_t>(dirty.second));
    } else {
      faults_missing_++;
      Pool::MapUnit u;
      // A fault in the stream's range: its unit may be in the prefetch threads' hands (wait for
      // it rather than for the pool) or resident already (the page came in after the fault was
      // raised): then there is nothing to fill, and nothing to count as a second access. The
      // unit is the stream's stride wide; should that guess be wrong, the same page faults
      // again at once and is filled the ordinary way (ra_retry).
      bool resident = false;
      uint64_t stride = 0;
      {
        std::unique_lock<std::mutex> l(ra_mu_);
        if (m->ra_stride && at >= m->ra_start && at < m->ra_end && addr != m->ra_retry)
          stride = m->ra_stride;
        m->ra_retry = 0;
        if (stride) {
          uint64_t uoff = at / stride * stride;
          ra_done_.wait(l, [&] { return ra_stop_ || !inflight_.count({m->key, uoff}); });
          l.unlock();
          if (arc_->Cached(m->key, uoff)) {
            u = {uoff, stride, false};
            resident = true;
            l.lock();
            m->ra_retry = addr;
          }
        }
      }
      if (!resident)
        s = pools_->With(m->pool, [&](Pool& p) -> Status {
          UZFS_ASSIGN(u, p.FaultFile(m->fs, m->obj, at));
          return Status::Ok();
        });
      // The object's data went to another segment (a rollback or destroy gave the dataset
      // new objects): this mapping can never be filled again. SIGBUS, not a fault loop.
      if (s.ok() && arc_->FindSegment(m->key) != m->seg)
        s = Status::Error(ESTALE, "the mapped file was replaced (rollback or destroy)");
      if (s.ok()) {
        // A unit filled comes back write-protected in every writable mapping, whatever zapped
        // it (eviction keeps the protection, a re-cut of the units or a truncation may not):
        // the first store must still be seen, also through a page the client then maps
        // without a fault. Then every thread waiting in the unit goes on.
        ProtectMapped(m->key, u.off, u.len);
        auto [a, n] = m->Addr(u.off, u.len);
        struct uffdio_range range = {n ? a : addr, n ? n : kPage};
        if (::ioctl(m->uffd, UFFDIO_WAKE, &range) != 0 && errno != ESRCH)
          spdlog::warn("wake map {}: {}", m->id, std::strerror(errno));
        ReadAhead(m, u.off, u.len);
      }
    }
    if (!s.ok()) {
      fault_errors_++;
      Sever(*m, s);
      return;
    }
  }
}

// ---- Read-ahead.

void FileService::ResetStream(Mapping& m) {
  std::lock_guard<std::mutex> l(ra_mu_);
  m.ra_gen++;
  m.ra_start = m.ra_end = m.ra_win = m.ra_stride = 0;
  for (auto it = ra_queue_.begin(); it != ra_queue_.end();)
    it = it->m.get() == &m ? ra_queue_.erase(it) : std::next(it);
}

void FileService::ReadAhead(const std::shared_ptr<Mapping>& m, uint64_t off, uint64_t len) {
  if (m->gone || len == 0) return;
  uint64_t end = std::min(m->file_off + m->len, m->seg->size());
  {
    std::lock_guard<std::mutex> l(ra_mu_);
    bool seq = m->ra_end != 0 && off >= m->ra_start && off <= m->ra_end;
    if (!seq) {
      // A new stream: this fault is its first access; the next one in order starts reading
      // ahead. Jobs of the old stream are dropped.
      m->ra_gen++;
      m->ra_start = off;
      m->ra_end = off + len;
      m->ra_win = 0;
      m->ra_stride = len;
      for (auto it = ra_queue_.begin(); it != ra_queue_.end();)
        it = it->m == m ? ra_queue_.erase(it) : std::next(it);
      return;
    }
    m->ra_stride = len;
    m->ra_win = m->ra_win ? std::min(m->ra_win * 2, std::max(kRaMaxBytes, len)) : kRaFirstUnits * len;
    uint64_t from = std::max(m->ra_end, off + len), to = std::min(off + len + m->ra_win, end);
    if (to <= from) return;
    m->ra_end = to;
    uint64_t job = std::max(len, kRaJobBytes / len * len);
    for (uint64_t a = from; a < to; a += job)
      ra_queue_.push_back({m, m->ra_gen, a, std::min(a + job, to), len});
  }
  ra_cv_.notify_all();
}

void FileService::PrefetchLoop() {
  for (;;) {
    Prefetch job;
    {
      std::unique_lock<std::mutex> l(ra_mu_);
      ra_cv_.wait(l, [&] { return ra_stop_ || !ra_queue_.empty(); });
      if (ra_stop_) return;
      job = std::move(ra_queue_.front());
      ra_queue_.pop_front();
    }
    RunPrefetch(job);
  }
}

void FileService::RunPrefetch(const Prefetch& job) {
  const Mapping& m = *job.m;
  // A rollback or destroy gave the file another segment: this mapping is done for.
  if (arc_->FindSegment(m.key) != m.seg) return;
  for (uint64_t at = job.from; at < job.to;) {
    if (m.gone) return;
    // Resident already: no fill, and no access either (Fault would count a hit).
    if (arc_->Cached(m.key, at)) {
      at += job.stride;
      continue;
    }
    {
      std::lock_guard<std::mutex> l(ra_mu_);
      if (ra_stop_ || m.ra_gen != job.gen) return;
      inflight_.insert({m.key, at});
    }
    // Protected before it is filled: the client may map it without a fault at once.
    if (m.writable) ProtectMapped(m.key, at, job.stride);
    Pool::MapUnit u;
    Status s = pools_->With(m.pool, [&](Pool& p) -> Status {
      UZFS_ASSIGN(u, p.FaultFile(m.fs, m.obj, at));
      return Status::Ok();
    });
    {
      std::lock_guard<std::mutex> l(ra_mu_);
      inflight_.erase({m.key, at});
    }
    ra_done_.notify_all();
    // Past the end of the file, the pool gone, an I/O error: the reader's own fault (if it
    // comes) reports it.
    if (!s.ok()) return;
    if (u.filled) prefetched_++;
    if (m.writable && (u.off != at || u.len != job.stride)) ProtectMapped(m.key, u.off, u.len);
    at = std::max(u.off + u.len, at + kPage);
  }
}

}  // namespace uzfs
