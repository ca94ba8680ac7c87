// The file API's per-file state (libzfs/include/uzfs/file.h), shared by file_api.cc (calls,
// mappings, the watcher) and file_revoke.cc (zfsd's requests to replace part of a DAX
// mapping). Locks: call_mu serializes requests on the connection; map_mu guards maps, dead,
// revoke_fd and early, and every change to a mapping's pages made for zfsd.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "libcore/base/nvlist.h"

namespace uzfs_file_impl {
struct Prefault;
}  // namespace uzfs_file_impl

struct uzfs_file {
  int sock = -1;
  uint64_t handle = 0;
  bool closed = false;  // uzfs_close was called
  bool dead = false;    // the connection is gone: mappings poisoned
  std::mutex call_mu;   // one request at a time on the connection
  std::mutex map_mu;    // mappings and the flags above
  struct Map {
    uint64_t id = 0;
    size_t len = 0;
    int prot = 0;
    int uffd = -1;
    std::shared_ptr<uzfs_file_impl::Prefault> prefault;  // null when none was started
    // A DAX file's mapping: the devices' own pages in [span_base, span_base + span_len)
    // (whole extents around the caller's range), persisted by CPU cache flushes, or by
    // msync where a file only emulates the device.
    bool dax = false, dax_emulated = false;
    uintptr_t span_base = 0;
    size_t span_len = 0;
    uint64_t span_file_off = 0;  // the file offset at span_base
    uint64_t extent_size = 0;
    int pause_uffd = -1;  // while zfsd has the mapping paused (file_revoke.cc)
  };
  std::map<uintptr_t, Map> maps;
  // Changes with every change to maps or dead (a value no other uzfs_file ever had), so a
  // thread's cached lookup for uzfs_persist knows when it is stale without the lock.
  std::atomic<uint64_t> gen{0};
  int stop_fd = -1;  // eventfd: wakes the watcher (it ends once stopping is set)
  std::atomic<bool> stopping{false};
  std::thread watcher;
  // The DAX revoke channel (file_revoke.cc): from zfsd with the first DAX mapping.
  int revoke_fd = -1;
  // Requests about a mapping zfsd made but the library has not recorded yet (between the two
  // phases of uzfs_mmap): replayed when it is (ReplayEarly).
  struct Early {
    uzfs::NvList args;
    std::vector<int> fds;
  };
  std::vector<Early> early;
};

namespace uzfs_file_impl {
// Serves one request on f's revoke channel (the watcher, when it is readable).
void ServeRevoke(uzfs_file* f);
// Under map_mu: applies the early requests about mapping id (just recorded at addr).
void ReplayEarly(uzfs_file* f, uint64_t id);
}  // namespace uzfs_file_impl
