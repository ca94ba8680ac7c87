// The file service: zfsd's side of libzfs's file API (libzfs/include/uzfs/file.h) and the
// userfaultfd fault service behind its mappings (docs/design.md section 7).
//
// A client session (one socket connection) opens files by mounted path or by dataset + path
// and gets handles; file_read / file_write / file_stat / file_truncate act on them through the
// pool (file data goes through the ARC). file_mmap is two-phase:
//   1. {handle, off, len, writable} → {map, size} and the object's ARC segment (a memfd) as
//      SCM_RIGHTS; the client maps it MAP_SHARED and registers the range with a userfaultfd it
//      created (MISSING, plus WP when writable);
//   2. {map, addr} with the uffd as SCM_RIGHTS → zfsd write-protects the whole range and serves
//      its faults from then on. Without a uffd (no userfaultfd on the client's side) every unit
//      of the range is faulted in and held (pinned): still one copy, no eviction.
// A DAX file (libcore/zpl/zpl_dax.h) is mapped otherwise (file_dax.cc): phase 1 answers
// {map, dax, extents, emulated} with the descriptors of the dax devices its extents are on,
// which the client maps itself at fixed addresses (MAP_SYNC on a real device-DAX); phase 2
// only records the address. Nothing is faulted, cached or protected: the mapping is the
// persistent memory, and the file is held (Pool::MapDaxFile) until the mapping goes. zfsd
// has the client replace parts of such a mapping over a revoke channel (file_revoke.cc):
// pages past a new end of the file gone, or the whole mapping paused around a snapshot.
// The fault threads (kFaultThreads, one mapping served by one thread at a time: its uffd is
// armed EPOLLONESHOT): a MISSING fault makes the unit resident (Pool::FaultFile: the DMU's
// bytes, zeros for holes, nothing allocated on disk), write-protects it in every writable
// mapping of the file and wakes every thread waiting on the unit; a WP fault — the first store
// into a clean unit — charges the unit to the open txg (Pool::DirtyFile: space reserved, unit
// held) and lifts the protection on that unit in that mapping. At txg sync the pool calls
// Protect for each mapped-dirty unit: the unit is write-protected again in every mapping
// before it is copied out, so stores during sync fault and join the next txg.
//
// Read-ahead (dmu_zfetch's idea, driven by MISSING faults, the only accesses zfsd sees): each
// mapping has one stream. A MISSING fault in the unit that ends the stream's range, or inside
// it, is sequential: the window doubles (kRaFirstUnits units first, at most kRaMaxBytes and an
// eighth of the ARC's target) and the units up to the window past the fault are queued, in
// jobs of at most kRaJobBytes, for the prefetch threads (kPrefetchThreads), which make them
// resident through Pool::FaultFile like a fault would (write-protected first in every
// writable mapping, so a page the client then maps without a fault is still protected). Any
// other MISSING fault starts the stream anew and drops the old stream's queued jobs; so do
// unmapping and a severed session. The client maps prefetched pages with minor faults (or
// its library's prefault thread, libzfs/file_api.cc) without a round trip to zfsd. A reader
// that catches up with the prefetch threads faults on a unit one of them is filling: the
// fault thread waits for that fill (inflight_) instead of queueing on the pool, and a unit
// found resident is only woken, not faulted again. Units already resident are skipped (a
// prefetch is no access: no hit, no promotion to MFU); a prefetched unit is an ordinary ARC
// miss and fill (evictable, counted in arcstat's misses). Fills are what bounds a cold read;
// Pool::FaultFile does the disk read and the ARC's insert without the pool lock, so the
// prefetch threads keep that many reads in flight (a 512 MiB cold read on a direct-I/O loop
// device: ~530 MB/s with one, ~1000 with four, ext4's readahead ~1050).
//
// Failures a mapping cannot report (a fault that cannot be served: I/O error, EDQUOT/ENOSPC on
// a first store, the pool gone) sever the session: zfsd shuts its connection down, and the
// client library, which watches the connection, replaces its mappings by ones that raise
// SIGBUS before it lets the waiting threads go — never zeros, never a hang. The same happens
// when zfsd dies.
//
// Permissions: the file ops are open to every user; the service checks the caller's uid/gid
// against the file's and its directory's mode bits (root passes), as the kernel would.
//
// Locks: map_mu_ guards the mapping tables. Never call into a pool while holding it (the
// pool's sync calls Protect, which takes it, under the pool lock). ra_mu_ guards the prefetch
// queue and every mapping's stream; it is taken alone (never with map_mu_ or a pool). The
// fence book's lock (DaxFenceBook) is taken before map_mu_ (RecordDax gathers under both),
// so the book is never called with map_mu_ held; it may be called under a pool lock.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "daemon/dax_fence_book.h"
#include "daemon/mount_table.h"
#include "daemon/ops.h"
#include "daemon/pool_table.h"
#include "libcore/arc/arc.h"

namespace uzfs {

class FileService {
 public:
  FileService(PoolTable* pools, MountTable* mounts, Arc* arc);
  ~FileService();
  // file_* ops (Perm::kRead: the service checks file permissions itself).
  void Register(Registry& reg);
  // Starts and stops the fault and prefetch threads.
  Status Start();
  void Stop();
  // Counters for arc_stats: faults_missing, faults_wp, fault_errors, faults_prefetched (units
  // read ahead), maps, mapped_pinned_units, clients, open_files.
  void AddStats(NvList* out);
  // Write-protects [off, off+len) of object k in every mapping of it (Pool's map protector).
  void Protect(const ArcObjKey& k, uint64_t off, uint64_t len);
  // Pool's pre-sync hook: in writable mappings without a userfaultfd (pinned), the units whose
  // bytes changed since the last look (by hash) are charged to the open txg (DirtyFile).
  void PreSync(Pool& pool);
  // DAX mappings (file_revoke.cc): zfsd asks each client that maps a DAX file, over the
  // client's revoke channel, to replace part of its mapping, and waits for its answer
  // (kRevokeTimeoutMs; a client that does not answer in time, or fails, is severed and the
  // operation goes on). RevokeDaxPast (the pool's DaxRevoker, under the pool lock): the pages
  // past size of every mapping of the file are gone (SIGBUS, as past the end of a file).
  void RevokeDaxPast(Pool& pool, uint64_t ds_obj, uint64_t obj, uint64_t size);
  // Pauses every mapping of a DAX file of the filesystems fs (their stores and loads wait),
  // runs body with the datasets marked paused (Pool::SetDaxPaused: a snapshot or rollback is
  // allowed), then resumes each mapping with its file's extents as they are then (placed
  // anew: Pool::MapDaxFile copies the extents a snapshot now shares, so a rolled-back
  // mapping shows the snapshot's bytes and its stores go to new extents), the span past the
  // file's last extent gone; a mapping whose object is no longer the same file (generation)
  // is revoked for good. Not under the pool lock.
  Status WithDaxPaused(Pool& pool, const std::vector<std::string>& fs,
                       const std::function<Status()>& body);
  // Revokes for good every DAX mapping of the filesystems fs (every one of the pool when fs
  // is empty): its pages raise SIGBUS, its hold on the file is released (Pool::UnmapDaxFile),
  // so the dataset can be destroyed or the pool exported (zfs destroy -f, zpool export -f,
  // zpool destroy -f). A client that does not answer is severed. Not under the pool lock.
  void RevokeDax(Pool& pool, const std::vector<std::string>& fs);
  // The book the extents each client may map are recorded in (file_fence.cc): before a
  // mapping or a resume is handed out, as the client gives some up, and when it is severed.
  // Before Start; without one (unit tests) nothing outlives zfsd.
  void SetFenceBook(DaxFenceBook* book) { book_ = book; }
  // A pool being imported (PoolTable's adopt hook): the extents the book says severed
  // processes may still map are fenced in it until they exit.
  void ApplyFences(Pool& pool);

  struct Client;
  using Process = DaxProcess;
  struct Mapping;

 private:
  Status Open(const Caller& c, const NvList& args, NvList* out);
  Status Read(const Caller& c, const NvList& args, NvList* out);
  Status Write(const Caller& c, const NvList& args, NvList* out);
  Status Stat(const Caller& c, const NvList& args, NvList* out);
  Status Truncate(const Caller& c, const NvList& args, NvList* out);
  Status Close(const Caller& c, const NvList& args, NvList* out);
  Status Mmap(const Caller& c, const NvList& args, NvList* out);
  Status Msync(const Caller& c, const NvList& args, NvList* out);
  Status Munmap(const Caller& c, const NvList& args, NvList* out);
  // file_dax.cc: phase 1 of file_mmap for a DAX file (see there).
  Status MmapDax(const Caller& c, const std::shared_ptr<Client>& cl, const std::string& pool,
                 const std::string& fs, uint64_t obj, uint64_t off, uint64_t len, bool writable,
                 NvList* out);

  // The caller's session's client, made on first use (EINVAL without a connection).
  Result<std::shared_ptr<Client>> ClientOf(const Caller& c);
  // The session's mapping named by args' "map" (EINVAL when it has none of that id).
  Result<std::shared_ptr<Mapping>> MappingOf(const Client& cl, const NvList& args);
  void Drop(uint64_t session);
  void RemoveMapping(const std::shared_ptr<Mapping>& m);
  void FaultLoop();
  void Serve(const std::shared_ptr<Mapping>& m);
  // Re-arms m's uffd in the epoll set (EPOLLONESHOT) once Serve has drained it.
  void Rearm(const Mapping& m);
  void Sever(const Mapping& m, const Status& why);
  // file_revoke.cc: one request on cl's revoke channel about mapping m (args: kind and its
  // fields), fds passed along; waits for the client's answer.
  Status AskClient(Client& cl, const Mapping& m, NvList args, const std::vector<int>& fds = {});
  // The active DAX mappings of pool whose dataset is ds_obj (obj 0: any file) or, with
  // datasets, whose head dataset object is one of them (ds_obj 0 and none: all of the pool),
  // with their clients; not the revoked ones. Mappings are known by their head dataset's
  // object, never by name: a rename keeps it.
  std::vector<std::pair<std::shared_ptr<Mapping>, std::shared_ptr<Client>>> DaxMappings(
      const std::string& pool, uint64_t ds_obj, uint64_t obj, const std::set<uint64_t>* datasets = nullptr);
  std::vector<std::pair<std::shared_ptr<Mapping>, std::shared_ptr<Client>>> DaxMappingsOf(
      Pool& pool, const std::vector<std::string>& fs);
  // A client zfsd no longer reaches (severed, or its session gone without unmapping) may
  // still map DAX extents: its process keeps a device mapping valid until it exits. Fences
  // the extents of session's DAX mappings of pool (all of them, or with only_live those not
  // revoked) until that process is gone (Pool::FenceDaxExtents). Not under map_mu_.
  void FenceSession(Pool& pool, uint64_t session, bool only_live);
  // The process at the other end of connection conn_fd (file_fence.cc).
  static std::shared_ptr<const Process> PeerProcess(int conn_fd);
  // Records in the book what session may map of pool guid now (the union of its DAX
  // mappings' extents there). Not under map_mu_ (the book takes it).
  Status RecordDax(uint64_t session, uint64_t guid);
  // Sever (file_service.cc) for a DAX mapping of pool: the session's extents fenced first.
  void SeverDax(Pool& pool, const Mapping& m, const Status& why);
  // Moves every file a severed writer of pool's filesystems fs (all of them when fs is
  // empty) may still store into off those extents (Pool::MoveDaxExtents, file_fence.cc), so
  // no snapshot, clone or receive made after shares them. Only while no live mapping of fs
  // is mapped as it was: its extents change (WithDaxPaused, after the pause; RevokeDax).
  // Not under the pool lock or map_mu_.
  Status MoveSeveredDax(Pool& pool, const std::vector<std::string>& fs);
  // Asks cl to replace all of m by nothing (SIGBUS), severs it if it fails, and releases m's
  // hold on its file (m stays listed until the client unmaps it).
  void RevokeForGood(Pool& pool, const std::shared_ptr<Mapping>& m, Client& cl);
  // A DAX mapping's hold on its file (Pool::MapDaxFile) is released once, by whichever of
  // RevokeForGood and RemoveMapping (ReleaseDaxHold, through the pool table) comes first:
  // TakeDaxHold says whether the caller is the one (it marks m revoked, under map_mu_).
  bool TakeDaxHold(Mapping& m);
  void ReleaseDaxHold(Mapping& m);
  // The revoke channel for cl: its client end to send (-1 when cl has one already).
  Result<int> RevokeChannel(Client& cl);
  // Write-protects file bytes [off, off+len) of object k in every writable mapping with a
  // uffd (what Protect does, without the FUSE invalidation).
  void ProtectMapped(const ArcObjKey& k, uint64_t off, uint64_t len);

  // Read-ahead (see the top).
  struct Prefetch {
    std::shared_ptr<Mapping> m;
    uint64_t gen = 0;        // the stream's generation when queued
    uint64_t from = 0, to = 0;  // file offsets, from at a unit's start
    uint64_t stride = 0;     // the unit length of the fault that queued it
  };
  // After a MISSING fault filled unit u of m: advances m's stream, queues what it reaches.
  void ReadAhead(const std::shared_ptr<Mapping>& m, uint64_t off, uint64_t len);
  // Drops m's stream and its queued jobs (a new generation).
  void ResetStream(Mapping& m);
  void PrefetchLoop();
  void RunPrefetch(const Prefetch& job);

  PoolTable* pools_;
  MountTable* mounts_;
  DaxFenceBook* book_ = nullptr;
  Arc* arc_;
  std::mutex map_mu_;
  std::map<uint64_t, std::shared_ptr<Client>> clients_;      // by session id
  std::map<uint64_t, std::shared_ptr<Mapping>> maps_;        // by map id
  std::multimap<ArcObjKey, std::shared_ptr<Mapping>> by_obj_;  // active mappings
  uint64_t next_map_ = 1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;   // eventfd: stop the fault thread
  int inval_fd_ = -1;  // eventfd: invalidations are waiting in inval_
  struct Inval {
    std::string fs;
    uint64_t obj, off, len;
  };
  std::vector<Inval> inval_;  // units Protect saw (under map_mu_): the FUSE cache drops them
  // Files severed writers may still store into, by FenceSession (under map_mu_): what
  // MoveSeveredDax moves while the process lives.
  struct DaxMove {
    uint64_t guid, ds_obj, obj;
    std::set<std::pair<uint64_t, uint64_t>> extents;  // (vdev, offset) as Mapping::dax_extents
    std::shared_ptr<const Process> proc;              // null: unknown, taken as alive
  };
  std::vector<DaxMove> dax_moves_;
  std::vector<std::thread> fault_threads_;
  std::mutex ra_mu_;
  std::condition_variable ra_cv_;
  std::deque<Prefetch> ra_queue_;  // under ra_mu_
  bool ra_stop_ = false;           // under ra_mu_
  // Units a prefetch thread is filling (under ra_mu_); ra_done_ is signalled as each is done.
  std::set<std::pair<ArcObjKey, uint64_t>> inflight_;
  std::condition_variable ra_done_;
  std::vector<std::thread> prefetch_threads_;
  std::atomic<uint64_t> faults_missing_{0}, faults_wp_{0}, fault_errors_{0}, prefetched_{0};
};

}  // namespace uzfs
