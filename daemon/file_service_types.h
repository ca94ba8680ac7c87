// The file service's per-session records (daemon/file_service.h), shared by its files:
// file_service.cc (files and ARC mappings), file_fault.cc (their faults and read-ahead) and
// file_dax.cc (mappings of DAX files). Guarded as file_service.h says (map_mu_, ra_mu_).
#pragma once

#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/file_service.h"

namespace uzfs {

// The ARC's page: the unit of every mapping, fault and protection.
inline constexpr uint64_t kPage = kArcPageSize;

// What PreSync compares to find stores into a pinned unit.
inline size_t UnitHash(const Bytes& b) {
  return std::hash<std::string_view>()(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

// Write-protects [addr, addr + len) of a userfaultfd's range (protect), or lifts it.
inline Status UffdWriteProtect(int uffd, uint64_t addr, uint64_t len, bool protect) {
  struct uffdio_writeprotect wp = {};
  wp.range.start = addr;
  wp.range.len = len;
  wp.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0;
  if (::ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) != 0)
    return Status::Error(errno, std::string("UFFDIO_WRITEPROTECT: ") + std::strerror(errno));
  return Status::Ok();
}

struct FileService::Client {
  uint64_t session = 0;
  int conn_fd = -1;
  struct File {
    std::string pool, fs;
    uint64_t obj = 0;
    bool read = false, write = false;
  };
  std::map<uint64_t, File> files;
  uint64_t next_handle = 1;
  // The DAX revoke channel (file_revoke.cc): zfsd's end of a socket pair whose other end
  // went to the client with its first DAX mapping (set once, under map_mu_). revoke_mu
  // serializes the requests on it (one in flight) and guards revoke_seq.
  int revoke_fd = -1;
  std::mutex revoke_mu;
  uint64_t revoke_seq = 0;
  // The client's process (SO_PEERCRED at its first file call), for the fences on the DAX
  // extents it may still map once zfsd no longer reaches it (FenceSession). Set once.
  std::shared_ptr<const Process> proc;
  ~Client() {
    if (revoke_fd >= 0) ::close(revoke_fd);
  }
};

struct FileService::Mapping {
  uint64_t id = 0, session = 0;
  int conn_fd = -1;
  // fs: the filesystem's name when mapped; a DAX mapping is found by dax_ds, which a
  // rename keeps (the name only names it in logs).
  std::string pool, fs;
  uint64_t obj = 0;
  ArcObjKey key;
  std::shared_ptr<ArcSegment> seg;
  uint64_t file_off = 0, len = 0, addr = 0;
  bool writable = false;
  bool active = false;
  std::atomic<bool> gone{false};    // removed: its read-ahead stops
  int uffd = -1;                    // closed with the last reference (fault thread, Protect)
  // The read-ahead stream (under FileService::ra_mu_): [ra_start, ra_end) is what the stream
  // covers (faulted or queued), ra_win its window, ra_stride the length of its units, ra_gen
  // bumped whenever it starts anew. ra_retry: the page last woken without a fill (see Serve).
  uint64_t ra_start = 0, ra_end = 0, ra_win = 0, ra_stride = 0, ra_gen = 0, ra_retry = 0;
  struct Pinned {
    uint64_t off = 0, len = 0;
    size_t hash = 0;  // of the unit's bytes when last looked at (writable mappings)
  };
  std::vector<Pinned> pinned;       // units held for a mapping without a uffd
  // A DAX file's mapping (file_dax.cc): the client maps the device itself; nothing here
  // serves faults. Its hold on the file (Pool::MapDaxFile) is released with it.
  bool dax = false;
  uint64_t dax_ds = 0;
  uint64_t pool_guid = 0;  // its pool's, for the fence book
  // Revoked for good (file_revoke.cc: its file gone by a rollback, the dataset destroyed or
  // the pool exported with -f) or being removed: its hold on the file is released, and a
  // revoked one's pages raise SIGBUS until the client unmaps it. Under
  // FileService::map_mu_.
  bool dax_revoked = false;
  // The extents (top-level vdev, DVA offset) the client may map now: those of the mapping
  // and of every resume sent since, less what it answered it unmapped. Under map_mu_.
  std::vector<std::pair<uint64_t, uint64_t>> dax_extents;
  ~Mapping() {
    if (uffd >= 0) ::close(uffd);
  }
  // The client address range of file bytes [off, off+n) clipped to the mapping; len 0 if none.
  std::pair<uint64_t, uint64_t> Addr(uint64_t off, uint64_t n) const {
    uint64_t lo = std::max(off, file_off), hi = std::min(off + n, file_off + len);
    if (lo >= hi) return {0, 0};
    return {addr + (lo - file_off), hi - lo};
  }
};

}  // namespace uzfs
