// FuseMount: one ZPL filesystem of a Pool served through the kernel's FUSE, with libfuse3's
// low-level API (fuse_lowlevel.h, libfuse 3.14) — what zfs-fuse's zfs_operations.c does for
// its mounts.
//
// Files: fuse_fs.cc (mount, session, INIT, unmount, invalidation, rollback in place),
// fuse_ops_node.cc (names and attributes), fuse_ops_file.cc (open, read, write, release,
// fsync, statfs, xattrs), fuse_ops_dir.cc (readdir, readdirplus), fuse_ctldir.cc (.zfs);
// fuse_fs_impl.h holds the state they share and says what guards it.
//
// Requests: libfuse's multi-threaded loop (fuse_session_loop_mt) runs on a thread the mount
// owns; every request becomes one Pool::WithZpl(dataset, fn) call, so the pool's lock
// serializes them and each change joins the pool's open txg (synced by the caller's sync
// thread, or at once by fsync/fsyncdir, which call Pool::Sync). Replies are sent after
// WithZpl returns, never under the pool lock. A request on the head filesystem holds the
// mount's gate (shared) for its whole handler; Rollback closes it.
//
// Kernel caches and requests (negotiated at INIT): requests of up to 1 MiB (max_write,
// max_read; libfuse asks for max_pages from max_write) and 1 MiB of read-ahead (INIT's
// max_readahead and the bdi's read_ahead_kb, which caps it), reads and read-ahead 896 KiB
// where a pipe of 2 MiB is refused (fuse_fs.cc, MaxRead); READDIRPLUS (AUTO) and
// PARALLEL_DIROPS. Read replies splice the ARC's pages from its memfd (SPLICE_WRITE: the
// Read handler's fuse_reply_data; a pread into a buffer and a writev of it saved). Requests
// are not spliced in: a write's bytes are copied into the DMU anyway, and with
// SPLICE_READ/WRITE/MOVE while replies were still copied out of the ARC into a buffer
// (measured against without in alternating runs on an idle machine,
// 1 GiB files) sequential writes went 572-689 MB/s against 651-679, cold reads 1155-1173
// against 1052-1157, 4-thread 4K random writes 26.9-28.2K IOPS against 26.5-27.1K and 5,000
// creates 0.68-0.70 s against 0.64-0.68: nothing beyond the noise. Opens keep the page
// cache (keep_cache), so a file read twice is read from zfsd once, and need no FLUSH at
// close (noflush: Flush does nothing). Whatever changes a file's bytes other than a WRITE
// through this mount drops the kernel's pages: InvalidateData (the file API's writes and
// mapped stores) and Rollback. Attributes and names are cached for MountOptions' timeouts
// and dropped the same ways.
//
// The writeback cache is off (MountOptions::writeback_cache only for experiments). It
// cannot be kept coherent with the ARC here: a write(2) that returned would sit dirty in the
// kernel until writeback, so a libzfs client's read or mapping of the file (served from the
// ARC by the file service) would not see it, a snapshot taken meanwhile would miss it, and a
// later invalidation (InvalidateData after a mapped store, which launders dirty pages first)
// would write the older bytes over the client's newer ones. Making it coherent needs every
// file-API access to flush the kernel's dirty pages of the file first (daemon/file_service).
// What it would buy (the same runs as splice above): 4-thread 4K random writes 35.4-37.8K
// IOPS against 26.5-27.1K and cold reads 1225-1260 MB/s against 1052-1157, but sequential
// writes 633-651 MB/s against 651-679 and 5,000 creates 0.93-1.21 s against 0.64-0.68
// (every close writes back and waits).
//
// Inodes: a FUSE inode number is the ZFS object number, except FUSE_ROOT_ID (1), which
// stands for the ZPL root object (ZplWriter::root(); object 1 is the master node, never a
// file). st_ino is always the object number (so `ls -i` agrees with zdb); the FUSE generation
// is the znode's zp_gen, so a reused object number is a new inode to the kernel.
//
// Unlinked files: a file whose last link goes while the kernel still knows it (lookup count
// > 0, from lookup/create/mknod/link/symlink/mkdir/readdirplus replies minus forgets) or
// while it is open goes to the ZPL unlinked set (ZplWriter::Unlink keep_open); it is freed
// (Reap) when both counts reach 0, or at unmount. Objects left in the unlinked set by an
// earlier crash are freed at mount (ZplWriter::DrainUnlinked).
//
// Rollback in place (zfs_suspend_fs / zfs_resume_fs): requests wait while the pool rolls
// the filesystem back; an inode the kernel knows whose object is gone or is another file now
// (another generation) is stale: every request on it answers ESTALE until the kernel forgets
// it (a lookup of a name reaching the new object gives the kernel a new inode); attributes
// and pages of every other known inode are dropped, and the names that changed in every
// known directory are invalidated (not those of mount points below the mount).
//
// Semantics: permission checks are the kernel's (mount option default_permissions; the
// mount has allow_other). New nodes take the caller's uid and gid (the directory's gid and,
// for directories, S_ISGID when the directory is set-group-ID). Extended attributes are
// ZPL v4's xattr directories (ZplWriter::GetXattr...), readable by zfs-fuse. Atime is
// updated on every read when MountOptions::atime (as the ZFS property atime=on). Errors are
// the ZPL's errno values; ECKSUM and ECORRUPT reach programs as EIO.
//
// Lock order: gate → Pool lock → FuseMount::Impl::mu. A request never holds mu while calling
// into the pool (it may take mu inside a WithZpl callback).
//
// .zfs (zfs_ctldir.c): every mount has a control directory .zfs in its root, found by lookup
// and listed by the root's readdir only when the snapdir property is visible (or
// MountOptions::snapdir_visible). .zfs/snapshot lists the filesystem's snapshots; each
// .zfs/snapshot/NAME is that snapshot's files, read from its on-disk objset
// (Pool::OpenSnapshotZpl) and read-only: every change there fails with EROFS. Their FUSE
// inode numbers have bit 63 set: .zfs and .zfs/snapshot are fixed ones, a snapshot's
// object is (bit 63 | snapshot index << 48 | object), the index given by this mount to the
// snapshot's ds object the first time it is looked up. That number is also their st_ino
// (ZFS shows the object number, but there each snapshot is a mount of its own with its own
// st_dev; here all share the mount's, so find/du/tar/cp -a would take snapshot files for
// the head's): the object number is st_ino & (2^48 - 1). A snapshot destroyed meanwhile
// gives ENOENT (Pool::WithSnapshotZpl checks it on every request).
//
// One FuseMount per filesystem at a time (the unlinked-file bookkeeping is per mount).
//
// Thread safety: Mount, Unmount, Remount, InvalidateData and Rollback may be called from any
// thread, but NEVER with the pool lock held (i.e. not from inside a Pool::WithZpl callback or
// anything else holding the Pool's mutex): they wait for the FUSE workers, which may be
// waiting for that lock. unmount_mu_ serializes Unmount, Remount, InvalidateData and
// Rollback (and guards se_ and opts_). The Pool must outlive the FuseMount: unmount every mount of a pool before
// exporting or destroying it, and a filesystem before destroying it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "libcore/base/status.h"
#include "libcore/pool/pool.h"

struct fuse_session;

namespace uzfs {

class FusePassthrough;

struct MountOptions {
  bool readonly = false;  // mount read-only (-o ro); every change fails with EROFS
  bool atime = true;      // update atime on reads (the atime property)
  // The exec, setuid and devices properties: without them the mount is noexec, nosuid,
  // nodev (libfuse mounts nosuid,nodev unless told suid,dev).
  bool exec = true, setuid = true, devices = true;
  // How long the kernel may cache attributes and names (seconds). What changes the
  // filesystem behind the mount invalidates them (InvalidateData, Rollback).
  double attr_timeout = 1.0, entry_timeout = 1.0;
  // FUSE worker threads. Reads plan under the pool lock and read the disk after it, so
  // they overlap. Measured on an idle machine (2 CPUs): 5,000 creates of 1 KiB files took
  // 0.65-0.71 s with 2 workers, 0.71-0.75 with 4 and 8, 1.36 with 1; 4-thread 4K random
  // writes halve with 1 (12.5-15K IOPS against 23-25K). A loop of our own that keeps one
  // worker reading /dev/fuse and hands off only large READs and WRITEs was slower (0.92).
  // 16, not 4, since the intent log: a worker waits in an fsync while another commit
  // writes, so the workers bound how many fsyncs one commit can share (8 threads of 4K
  // write+fsync: 7,100 IOPS with 4 workers, 9,000 with 16; 5,000 creates: 0.67-0.80 s with
  // 16, 0.90-0.95 with 4, on a busy machine).
  unsigned max_threads = 16;
  // FUSE_CAP_WRITEBACK_CACHE: the kernel keeps written pages dirty and sends them later.
  // Off: not coherent with the file API and snapshots (see the top of this file); never
  // with passthrough.
  bool writeback_cache = false;
  bool debug = false;        // libfuse's request trace on stderr (-d)
  // List .zfs in the root directory even when the snapdir property is hidden (it is listed
  // when snapdir=visible, read from the pool at every readdir of the root).
  bool snapdir_visible = false;
};

class FuseMount {
 public:
  // Mounts filesystem `dataset` ("pool/a/b") of pool at `mountpoint` and starts serving.
  // The mountpoint is created (with its parents) when absent and must be an empty
  // directory; mountpoint() is its absolute, normalized form. Errors: ENOENT (no such
  // filesystem), ENOTDIR (mountpoint is not a directory), EBUSY "directory is not empty",
  // the errno of mkdir or of mount(2) (e.g. EPERM without CAP_SYS_ADMIN, ENODEV without
  // /dev/fuse), EROFS when the pool is read-only (WithZpl refuses it).
  static Result<std::unique_ptr<FuseMount>> Mount(Pool* pool, const std::string& dataset,
                                                  const std::string& mountpoint,
                                                  const MountOptions& o);
  // Unmounts and stops serving: the FUSE thread is joined, files unlinked while open are
  // freed. EBUSY "filesystem is busy" when !force and the kernel finds the mount busy (open
  // files, a process's working directory) — the mount then stays served. force: detaches
  // the mount (MNT_DETACH) and aborts the FUSE connection (through fusectl, mounted on
  // /sys/fs/fuse/connections when it is not), so processes with open files get ENOTCONN.
  // Idempotent (OK once unmounted; also after someone ran umount(8) on it). Never call it
  // with the pool lock held (see above).
  Status Unmount(bool force);
  // Changes the mount's readonly, atime, exec, setuid and devices options in place (mount(2)
  // MS_REMOUNT; the other fields of o are ignored). EBUSY when going read-only while a file
  // is open for writing; EINVAL "not currently mounted". Not with the pool lock held.
  Status Remount(const MountOptions& o);
  // Unmounts (forcibly) if still mounted.
  ~FuseMount();

  const std::string& mountpoint() const { return mountpoint_; }
  const std::string& dataset() const { return dataset_; }
  // The options as mounted or last remounted (only the caller of Mount/Remount/Unmount may
  // read them: they change under unmount_mu_).
  const MountOptions& options() const { return opts_; }
  bool mounted() const { return se_ != nullptr; }
  // The FUSE loop has ended without Unmount: someone unmounted it (umount(8)) or the
  // connection was aborted. Unmount then only cleans up.
  bool loop_ended() const { return loop_ended_.load(std::memory_order_acquire); }
  // Files open through this mount (opens minus releases; a release reaches zfsd
  // asynchronously after close(2), so this lags behind the processes).
  uint64_t open_files();
  // Drops the kernel's cached pages of object obj in [off, off+len) (len 0: to the end), after
  // its bytes changed behind the mount (the file API's writes and mapped stores).
  void InvalidateData(uint64_t obj, int64_t off, int64_t len);
  // Drops the kernel's names under .zfs/snapshot, after the filesystem's set of snapshots
  // changed other than by adding one (destroy, rename, promote, rollback -r): the kernel
  // would otherwise show a snapshot gone or moved for the entry timeout.
  void InvalidateSnapshots();
  // FUSE passthrough of this mount (fuse_passthrough.h): null when org.uzfs:passthrough was
  // not on at mount (or the session could not be wrapped). Valid while mounted.
  const FusePassthrough* passthrough() const;
  // READ requests this mount served (passthrough mappings never make any).
  uint64_t read_requests() const;
  // The largest READ and WRITE requests seen (bytes), and whether the kernel took the
  // writeback cache (for tests).
  uint64_t largest_read() const;
  uint64_t largest_write() const;
  bool writeback_cache() const;
  // Whether INIT asked for FUSE_DIRECT_IO_ALLOW_MMAP: shared mappings of DAX files work.
  bool direct_io_mmap() const;
  // zfs rollback in place: runs change (the pool's rollback) while this mount's requests
  // wait, then reconciles the kernel's caches with the new contents (see the top of this
  // file) and returns change's status once a reader sees the new contents. Only change
  // runs when not mounted.
  Status Rollback(const std::function<Status()>& change);

  // Request handlers' state; public only for the C callbacks in fuse_fs.cc.
  struct Impl;

 private:
  FuseMount() = default;
  Status Stop(bool force);

  Pool* pool_ = nullptr;
  std::string dataset_, mountpoint_;
  MountOptions opts_;
  std::unique_ptr<Impl> impl_;
  fuse_session* se_ = nullptr;
  dev_t conn_dev_ = 0;  // st_dev of the mounted filesystem (its fusectl connection)
  std::thread loop_;
  std::atomic<bool> loop_ended_{false};  // set by loop_ as it returns
  std::mutex unmount_mu_;  // serializes Unmount calls
};

}  // namespace uzfs
