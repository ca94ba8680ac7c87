// The book of DAX fences (docs/design.md section 9, *Fences*): which process may store into
// which DAX extents of which pool. The kernel keeps a process's device-DAX mapping valid
// whatever zfsd does, so this record must outlive an export of the pool and zfsd itself,
// or a new import would hand those extents to a new file while the process still stores
// into them. It is kept in a runtime file beside zfsd's socket (/run/uzfs/zfsd.sock.dax-fences
// by default): processes do not outlive a reboot, nor does /run.
//
// Two kinds of entries, by pool guid:
//   live:    a session's process and the extents its mappings may reach now (set before a
//            mapping or a resume is handed out, so a zfsd killed at any moment leaves them
//            recorded; shrunk when the client answers that it gave extents up);
//   severed: a process zfsd no longer reaches (a revocation unanswered, its session gone
//            without unmapping, or a session of an earlier zfsd) and every extent it may
//            still map; fenced until it exits.
// Processes are named by pid and start time (field 22 of /proc/PID/stat), so a reused pid is
// not mistaken for the recorded process; a pidfd then watches it. At zfsd's start every
// recorded process still alive becomes severed (its session died with the last zfsd), the
// dead ones are dropped; at a pool's import (PoolTable's adopt hook) the severed entries of
// its guid become the pool's fences (Pool::FenceDaxExtents).
//
// Locks: mu_ guards live_, severed_ and the file (one writer at a time). Update calls its
// callback under mu_: callers may take their own locks in it (FileService::map_mu_), never
// call the book while holding one of those.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "libcore/base/env.h"
#include "libcore/base/status.h"

namespace uzfs {

// A process, watched by a pidfd (no pid reuse) or, where the kernel has none, its pid and
// start time.
struct DaxProcess {
  pid_t pid = 0;
  uint64_t start = 0;  // clock ticks after boot when it started (/proc/PID/stat field 22)
  int pidfd = -1;
  DaxProcess() = default;
  DaxProcess(const DaxProcess&) = delete;
  DaxProcess& operator=(const DaxProcess&) = delete;
  ~DaxProcess();
  bool Alive() const;
  // Process pid as it is now (start read from /proc), or, with start nonzero, only if it is
  // still the process that started then: null when it is gone or another process.
  static std::shared_ptr<const DaxProcess> Open(pid_t pid, uint64_t start = 0);
  // Field 22 of /proc/PID/stat; 0 when pid is gone.
  static uint64_t StartTime(pid_t pid);
};

class DaxFenceBook {
 public:
  using Extents = std::set<std::pair<uint64_t, uint64_t>>;  // (top-level vdev, DVA offset)
  using Proc = std::shared_ptr<const DaxProcess>;
  DaxFenceBook(Env* env, std::string path) : env_(env), path_(std::move(path)) {}
  // At zfsd's start: reads the file; every process it names that still lives is severed, the
  // rest dropped; writes the file again. A missing file is an empty book.
  Status Load();
  // now() (called under mu_) says what session's process may map of pool guid at this
  // instant: the book records it (none: the live entry goes) and writes the file before
  // returning. An error means the record may not be on file: the caller hands nothing out.
  Status Update(uint64_t session, uint64_t guid, const std::function<std::pair<Proc, Extents>()>& now);
  // Process proc, no longer reached, may map extents of pool guid until it exits.
  Status Sever(const Proc& proc, uint64_t guid, const Extents& extents);
  // The severed processes of pool guid that still live, with their extents.
  std::vector<std::pair<Proc, Extents>> Severed(uint64_t guid);
  const std::string& path() const { return path_; }

 private:
  struct Entry {
    Proc proc;
    uint64_t guid = 0;
    Extents extents;
  };
  void SeverLocked(const Proc& proc, uint64_t guid, const Extents& extents);
  // Drops the dead, then writes every entry to a temporary file and renames it over path_.
  Status SaveLocked();
  Env* env_;
  std::string path_;
  std::mutex mu_;
  std::map<std::pair<uint64_t, uint64_t>, Entry> live_;  // by (session, pool guid); mu_
  std::vector<Entry> severed_;                          // one per (pool guid, process); mu_
};

}  // namespace uzfs
