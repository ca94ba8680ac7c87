// The FUSE adapter's internals (see fuse_fs.h for what it mirrors and its rules), shared by
// its files: fuse_fs.cc (mount, session, INIT, unmount, invalidation, rollback in place),
// fuse_ops_node.cc (names and attributes: lookup, forget, getattr, setattr, readlink,
// mknod, mkdir, unlink, rmdir, symlink, rename, link), fuse_ops_file.cc (open, create, read,
// write, flush, release, fsync, statfs, xattrs), fuse_ops_dir.cc (opendir, readdir,
// readdirplus, releasedir) and fuse_ctldir.cc (.zfs and its snapshots).
//
// What guards what (lock order: gate → pool lock → mu; snap_mu is never held while calling
// into the pool):
//   gate   every request that touches the head filesystem holds it shared (Impl::Request)
//          for its whole handler; Suspend takes it exclusively (rollback in place), so a
//          request waits while the filesystem is swapped and none is half done across it.
//          Requests on .zfs/snapshot need no gate (snapshots never change; a destroyed one
//          answers ENOENT).
//   mu     nodes and open_files (Node::no_xattrs is set and cleared under the pool lock too,
//          so a Getxattr that reads it under mu alone sees every Setxattr before it).
//   snap_mu  snaps.
//   DirHandle::mu  one directory handle's snapshot of entries.
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <sys/stat.h>
#include <time.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "daemon/fuse_fs.h"
#include "daemon/fuse_passthrough.h"

namespace uzfs {

constexpr uint32_t kBlockSize = 128 * 1024;  // st_blksize, f_bsize: the default recordsize
constexpr uint32_t kMaxRequest = 1 << 20;    // max_write, max_read, read-ahead

inline ZTime Now() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return {static_cast<uint64_t>(ts.tv_sec), static_cast<uint64_t>(ts.tv_nsec)};
}

// An errno a program can be given.
inline int Errno(const Status& s) {
  int c = s.code();
  if (c == ECKSUM || c == ECORRUPT || c <= 0 || c >= 4096) return EIO;
  return c;
}

inline timespec Ts(const uint64_t t[2]) {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(t[0]);
  ts.tv_nsec = static_cast<long>(t[1]);
  return ts;
}

struct FuseMount::Impl {
  Pool* pool = nullptr;
  std::string dataset;
  MountOptions opts;  // as mounted; readonly and atime below are the live values
  // What a remount changes while requests run (FuseMount::Remount): EROFS for changes, and
  // atime updates on reads. Atomic: read by every worker without a lock.
  std::atomic<bool> readonly{false}, atime{true};
  uint64_t root = 0;
  fuse_session* se = nullptr;  // set before the loop starts; null once it is destroyed

  // ---- The request gate (see the top of this file) ----
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  uint64_t gate_active = 0;  // requests inside; guarded by gate_mu
  bool gate_closed = false;  // Suspend is waiting or done; guarded by gate_mu
  void Enter() {
    std::unique_lock<std::mutex> l(gate_mu);
    gate_cv.wait(l, [&] { return !gate_closed; });
    gate_active++;
  }
  void Leave() {
    std::lock_guard<std::mutex> l(gate_mu);
    if (--gate_active == 0 && gate_closed) gate_cv.notify_all();
  }
  // Closes the gate and waits for the requests inside to finish.
  void Suspend() {
    std::unique_lock<std::mutex> l(gate_mu);
    gate_closed = true;
    gate_cv.wait(l, [&] { return gate_active == 0; });
  }
  void Resume() {
    std::lock_guard<std::mutex> l(gate_mu);
    gate_closed = false;
    gate_cv.notify_all();
  }
  // A request's hold on the gate, for its whole handler.
  class Request {
   public:
    explicit Request(Impl* m) : m_(m) { m_->Enter(); }
    ~Request() { m_->Leave(); }
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;

   private:
    Impl* m_;
  };

  // What the kernel holds of an object: its lookup count (FUSE's nlookup) and open files.
  // unlinked: the object sits in the ZPL unlinked set until both drop to zero. gen: the
  // generation the kernel was given for it. stale: the object is gone or another one since a
  // rollback, so every request on this inode answers ESTALE until the kernel forgets it or a
  // lookup gives it the new object (a new generation: the kernel makes a new inode).
  // no_xattrs: the object had no xattr directory when a request last read its znode under
  // the pool lock, and nothing since could have given it one (Setxattr and Rollback clear
  // it): Getxattr answers ENODATA without the pool lock. The kernel asks for
  // security.capability before every write(2) (file_remove_privs), so without this each
  // write took the pool lock twice.
  struct Node {
    uint64_t lookups = 0, opens = 0, gen = 0;
    bool unlinked = false, stale = false, no_xattrs = false;
  };
  std::mutex mu;                             // after the pool lock (see fuse_fs.h)
  std::unordered_map<uint64_t, Node> nodes;  // guarded by mu
  uint64_t open_files = 0;                   // guarded by mu
  std::atomic<uint64_t> stale_nodes{0};      // nodes with stale set (changed under mu)

  // FUSE passthrough (fuse_passthrough.h): null unless org.uzfs:passthrough=on at mount.
  std::unique_ptr<FusePassthrough> pt;
  std::atomic<uint64_t> read_requests{0};    // READs served (for tests of passthrough)
  std::atomic<uint64_t> largest_read{0}, largest_write{0};  // request sizes seen (tests)
  std::atomic<bool> writeback{false};        // the kernel took FUSE_CAP_WRITEBACK_CACHE
  std::atomic<uint32_t> max_write{0};        // as INIT settled it
  std::atomic<bool> direct_io_mmap{false};   // asked for FUSE_DIRECT_IO_ALLOW_MMAP at INIT

  // A readdir snapshot, taken at offset 0 (so one pass over a directory is consistent).
  struct DirHandle {
    std::mutex mu;
    std::vector<DirEntry> entries;  // ".", "..", then the ZAP's entries
  };

  uint64_t Obj(fuse_ino_t ino) const { return ino == FUSE_ROOT_ID ? root : ino; }
  fuse_ino_t Ino(uint64_t obj) const { return obj == root ? FUSE_ROOT_ID : obj; }

  // Runs fn on the filesystem's ZPL (Pool::WithZpl); under sync=always the change is then
  // committed to the intent log before the request is answered.
  Status Do(const std::function<Status(ZplWriter&, uint64_t)>& fn, uint64_t reserve = 0) {
    UZFS_TRY(pool->WithZpl(dataset, fn, reserve));
    return pool->ZilCommit(dataset, /*changes_only=*/true);
  }

  // ESTALE when ino is a stale node (see Node); call inside a Request.
  Status Fresh(fuse_ino_t ino);
  // Replies ESTALE for a stale node; true when it did.
  bool RejectStale(fuse_req_t req, fuse_ino_t ino, fuse_ino_t ino2 = 0);

  void FillStat(ZplWriter& z, uint64_t obj, const ZnodePhys& zp, struct stat* st);
  static void FillStatUsed(uint64_t obj, const ZnodePhys& zp, uint64_t used, struct stat* st);
  // Fills an entry for obj and counts the lookup the reply gives the kernel (call inside
  // WithZpl). Attr only fills it; CountLookup only counts (readdirplus counts the entries
  // that fit in the reply).
  Status Entry(ZplWriter& z, uint64_t obj, fuse_entry_param* e);
  Status Attr(ZplWriter& z, uint64_t obj, fuse_entry_param* e, uint64_t* xattr_dir = nullptr);
  void CountLookup(uint64_t obj, uint64_t gen, bool no_xattrs = false);
  // Node::no_xattrs of obj, when the kernel knows it (call inside WithZpl, which orders it
  // with Setxattr's clearing; NoXattrs reads it without the pool lock).
  void NoteXattrs(uint64_t obj, uint64_t xattr_dir);
  bool NoXattrs(uint64_t obj);
  // Drops references; frees the object when it was unlinked and nothing refers to it.
  void Release(uint64_t obj, uint64_t lookups, uint64_t opens);
  // Unlinks dir/name; an object still known to the kernel goes to the unlinked set.
  // Call inside WithZpl.
  Status Unlink(ZplWriter& z, uint64_t dir, std::string_view name, ZTime now);
  // Counts an open of obj (call inside WithZpl, after the checks).
  void CountOpen(uint64_t obj, uint64_t xattr_dir = 1);

  bool ReadOnly(fuse_req_t req) {
    if (!readonly.load(std::memory_order_relaxed)) return false;
    fuse_reply_err(req, EROFS);
    return true;
  }

  // ---- .zfs and its snapshots (fuse_ctldir.cc; see fuse_fs.h) ----
  static constexpr uint64_t kCtl = 1ULL << 63;
  static constexpr fuse_ino_t kZfsIno = kCtl | 1, kSnapdirIno = kCtl | 2;
  static constexpr uint64_t kObjMask = (1ULL << 48) - 1;  // ZFS object numbers are below
  static constexpr uint64_t kMaxSnapIdx = (1ULL << 15) - 1;
  // st_ino of .zfs and .zfs/snapshot: ZFSCTL_INO_ROOT and ZFSCTL_INO_SNAPDIR.
  static constexpr uint64_t kZfsStIno = 0x0000FFFFFFFFFFFFULL, kSnapdirStIno = 0x0000FFFFFFFFFFFDULL;
  ZTime mounted_at;  // times of the control directories
  struct SnapRef {
    uint64_t ds_obj = 0, guid = 0;
    std::shared_ptr<Pool::SnapshotView> view;  // null once the snapshot is gone
    std::set<std::string> names;  // under .zfs/snapshot, since the last InvalidateSnapshots
  };
  std::mutex snap_mu;          // never held while calling into the pool
  std::vector<SnapRef> snaps;  // by snapshot index - 1; guarded by snap_mu

  static bool Virtual(fuse_ino_t ino) { return (ino & kCtl) != 0; }
  static size_t SnapIdx(fuse_ino_t ino) { return static_cast<size_t>((ino >> 48) & kMaxSnapIdx); }
  static bool InSnapshot(fuse_ino_t ino) { return Virtual(ino) && SnapIdx(ino) != 0; }
  static fuse_ino_t SnapIno(size_t idx, uint64_t obj) {
    return kCtl | (static_cast<uint64_t>(idx) << 48) | obj;
  }
  static bool IsZfsName(fuse_ino_t parent, const char* name) {
    return parent == FUSE_ROOT_ID && std::strcmp(name, ".zfs") == 0;
  }
  // Runs fn on the ZPL of the snapshot ino belongs to (with ino's object), under the pool
  // lock; ENOENT when the snapshot is gone.
  Status WithSnap(fuse_ino_t ino, const std::function<Status(Zpl&, uint64_t obj)>& fn);
  // The index of snapshot `name` of this filesystem (opening its view on first use).
  Result<size_t> SnapIndex(const std::string& name);
  // Drops the view of a snapshot that is gone.
  void Forget(uint64_t ds_obj);
  void FillCtlStat(fuse_ino_t ino, struct stat* st) const;
  void CtlEntry(fuse_ino_t ino, fuse_entry_param* e) const;
  // st_ino is the FUSE inode number, not the object number: every snapshot shares the
  // mount's st_dev (no separate mounts as in ZFS), and find, du, tar and cp -a must not
  // take a snapshot's directory for the head's (a loop) or its files for the head's links.
  Status SnapStat(Zpl& z, size_t idx, uint64_t obj, struct stat* st, uint64_t* gen = nullptr);
  Status SnapEntry(Zpl& z, size_t idx, uint64_t obj, fuse_entry_param* e);
  // The object name names in snapshot directory dir.
  static Result<uint64_t> SnapLookup(Zpl& z, uint64_t dir, const char* name);
  // Lookup under .zfs (parent is virtual): fills e.
  Status CtlLookup(fuse_ino_t parent, const char* name, fuse_entry_param* e);
  // The entries of a directory under .zfs (ino is virtual).
  Status CtlReadDir(fuse_ino_t ino, std::vector<DirEntry>* entries);
  // Whether the root lists .zfs: the snapdir property (zfs set takes effect at once), or
  // the mount option.
  bool SnapdirVisible();

  // Replies EROFS for a change under .zfs.
  static bool RejectVirtual(fuse_req_t req, fuse_ino_t a, fuse_ino_t b = 0) {
    if (!Virtual(a) && !Virtual(b)) return false;
    fuse_reply_err(req, EROFS);
    return true;
  }
  // Replies err for a node to be made as root/.zfs.
  static bool RejectZfsName(fuse_req_t req, fuse_ino_t parent, const char* name, int err) {
    if (!IsZfsName(parent, name)) return false;
    fuse_reply_err(req, err);
    return true;
  }
};

using Impl = FuseMount::Impl;

inline Impl* Self(fuse_req_t req) { return static_cast<Impl*>(fuse_req_userdata(req)); }

inline void ReplyStatus(fuse_req_t req, const Status& s) {
  fuse_reply_err(req, s.ok() ? 0 : Errno(s));
}

inline void ReplyEntry(fuse_req_t req, const Status& s, const fuse_entry_param& e) {
  if (!s.ok()) {
    fuse_reply_err(req, Errno(s));
    return;
  }
  fuse_reply_entry(req, &e);
}

// The request handlers, by family (fuse_fs.cc puts them in the op table).
namespace fuse_ops {
// fuse_ops_node.cc
void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name);
void Forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void ForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets);
void Getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void Setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi);
void Readlink(fuse_req_t req, fuse_ino_t ino);
void Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev);
void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode);
void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name);
void Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name);
void Symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name);
void Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
            const char* newname, unsigned int flags);
void Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname);
// fuse_ops_file.cc
void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi);
void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
           fuse_file_info* fi);

void Flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void Release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void Fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi);
void Statfs(fuse_req_t req, fuse_ino_t ino);
void Setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
              int flags);
void Getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size);
void Listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void Removexattr(fuse_req_t req, fuse_ino_t ino, const char* name);
// fuse_ops_dir.cc
void Opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void Readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
void Readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
void Releasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
}  // namespace fuse_ops

}  // namespace uzfs
