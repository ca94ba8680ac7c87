// Env: every byte of device and file I/O goes through this interface (leveldb's Env).
//
// Three implementations:
//   PosixEnv()      — real files and block devices (pread/pwrite; O_DIRECT where asked and
//                     where the file system takes it, see OpenOptions::direct).
//   NewMemEnv()     — files in memory, for unit tests.
//   FaultEnv        — wraps another Env and injects faults: fail the Nth I/O, flip bits on
//                     read, and "power cut": drop every write not yet followed by Sync().
//
// DaxFile (dax.h) is the one File that maps instead of calling pread/pwrite: a device-DAX has
// no read(2)/write(2), and its point is loads and stores through the mapping
// (docs/dax-device.md). PosixEnv::Open opens a character device as a DaxFile (labels, import
// scans, zdb); callers that want the mapping itself (base(), fd()) call OpenDax directly, and
// unit tests use emulated devices (regular files) in a temp dir.
//
// Contract: ReadAt reads exactly len bytes or fails (EIO, or ENXIO past the end of the
// device); short reads are errors, never silent. A File is used by one thread at a time
// unless the implementation says otherwise (PosixEnv files are safe for concurrent ReadAt).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "libcore/base/bytes.h"
#include "libcore/base/status.h"

namespace uzfs {

class File {
 public:
  virtual ~File() = default;
  // Reads exactly buf.size() bytes at off.
  virtual Status ReadAt(uint64_t off, MutByteSpan buf) = 0;
  // Writes all of data at off.
  virtual Status WriteAt(uint64_t off, ByteSpan data) = 0;
  // Writes parts back to back from off: what one WriteAt of their concatenation writes,
  // without making it (pwritev). By default one WriteAt per part.
  virtual Status WriteAtV(uint64_t off, std::span<const ByteSpan> parts) {
    for (ByteSpan p : parts) {
      UZFS_TRY(WriteAt(off, p));
      off += p.size();
    }
    return Status::Ok();
  }
  // Makes every completed write durable (fdatasync / cache flush).
  virtual Status Sync() = 0;
  // Writes all of data at off and makes that write durable before returning: the intent
  // log's writes, which must not wait for every other dirty page of the file as Sync()
  // does. By default WriteAt then Sync().
  virtual Status WriteAtDurable(uint64_t off, ByteSpan data) {
    UZFS_TRY(WriteAt(off, data));
    return Sync();
  }
  // Size in bytes: file length, or the block device's capacity.
  virtual Result<uint64_t> Size() = 0;
  // The name it was opened with.
  virtual const std::string& Name() const = 0;
  // True when WriteAt (and ReadAt) may be called from several threads at once (the write
  // pipeline then keeps several writes in flight).
  virtual bool ConcurrentWrites() const { return false; }
  // True when its I/O bypasses the host's page cache (opened with O_DIRECT, and kept so).
  virtual bool direct() const { return false; }
  // Whether the device it opened is still there (vdev_disk's media check, zed's udev
  // "remove"): Ok, or ENXIO once a block device is gone — its path names nothing or another
  // device, it lost its capacity, or (a loop device) a detach is pending, which the kernel
  // defers to the last close. Files and in-memory files are always there.
  virtual Status Present() { return Status::Ok(); }
  // Lets the device go: its descriptors are pointed at /dev/null (dup2), so their numbers
  // stay taken while other threads may still hold them, and the device's last holder is
  // gone (a pending loop detach completes). I/O through it fails from then on.
  virtual void Release() {}
};

struct OpenOptions {
  bool write = false;    // open read-write; read-only otherwise
  bool create = false;   // create a missing file (implies write)
  // O_DIRECT: bypass the host's page cache (a pool's block devices and file vdevs: the ARC is
  // the one cache). Where the file system does not do direct I/O the file is opened without
  // it (open's EINVAL; statx reporting no direct I/O alignment; tmpfs, whose pages are the
  // file itself), and File::direct() says which it got. I/O at offsets, lengths or memory the
  // device cannot take directly goes through an aligned bounce buffer.
  bool direct = false;
  bool exclusive = false;  // O_EXCL on a block device: fail if mounted or in use
  // With direct: the finest I/O the caller issues (a pool's 1 << ashift); 0 for any. When
  // direct I/O needs a coarser alignment (a 4K-sector device under an ashift-9 pool), the
  // file is opened without O_DIRECT: each write would be a read-modify-write of a sector, and
  // two such writes into one sector at once would lose one.
  uint64_t direct_min_io = 0;
};

class Env {
 public:
  virtual ~Env() = default;
  virtual Result<std::unique_ptr<File>> Open(const std::string& path, const OpenOptions& o) = 0;
  // Names (not paths) of the entries of a directory, sorted.
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  virtual bool Exists(const std::string& path) = 0;
  // Gives the file `from` the name `to`, replacing a file of that name in one step
  // (rename(2)): how a file is rewritten so that a crash leaves the old one or the new one,
  // never half of one.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Removes the name path (unlink(2)); ENOENT when there is none.
  virtual Status Remove(const std::string& path) = 0;
};

// The process-wide POSIX Env. Never deleted.
Env* PosixEnv();

// A fresh in-memory Env (paths are plain keys; ListDir works on "/"-separated prefixes).
std::unique_ptr<Env> NewMemEnv();

// Fault injection over another Env (not owned). Thread-compatible.
class FaultEnv : public Env {
 public:
  explicit FaultEnv(Env* base);
  ~FaultEnv() override;

  Result<std::unique_ptr<File>> Open(const std::string& path, const OpenOptions& o) override;
  Result<std::vector<std::string>> ListDir(const std::string& dir) override;
  bool Exists(const std::string& path) override;
  // Forwarded to the base Env; the unsynced writes of `from` go with its name (a power cut
  // then drops them under the new one), those of a removed name are forgotten.
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override;

  // The nth I/O (reads and writes counted together from now, 1-based) and every later one
  // fails with EIO while `sticky`, only that one otherwise. 0 disables.
  void FailNthIo(uint64_t n, bool sticky = false);
  // Every read of [off, off+len) in `path` returns data with bit `bit` of each byte flipped.
  void FlipBitsOnRead(const std::string& path, uint64_t off, uint64_t len, int bit = 0);
  // Power cut: from now on, drop every write that no Sync() has covered yet, and keep
  // dropping. Files opened through this Env revert to their last synced contents.
  void DropUnsyncedWrites();
  uint64_t io_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  friend class FaultFile;
};

}  // namespace uzfs
