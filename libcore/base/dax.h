// The DAX device: a Linux device-DAX character device (/dev/daxX.Y, persistent memory with no
// block layer and no read(2)/write(2), only mmap), or a regular file emulating one, as a File.
// docs/dax-device.md describes it; it is the device under the dax class (docs/design.md
// section 9).
//
// Probing (ProbeDax) reads sysfs as the kernel lays it out (drivers/dax/bus.c, device.c):
// /sys/dev/char/MAJ:MIN is the device's directory; its "subsystem" link resolves to
// /sys/bus/dax (the dax bus; Debian 12's 6.1 kernel) or /sys/class/dax (the "dax" class of
// kernels before the bus, kept by CONFIG_DEV_DAX_PMEM_COMPAT). Its attributes: "size" (bytes)
// and "align" (the mapping granularity: a mapping's offset and length must be multiples of
// it); "align" is per device only since Linux 5.10, before which the region's
// (device/dax_region/align) applies, and 2 MiB (the namespace default) when neither exists.
//
// Mapping (DaxFile): the whole device is mapped once at open with libpmem2. A real device
// wants store granularity CACHE_LINE: a store is persistent once its cache line is flushed
// and fenced (libpmem2 maps device-DAX synchronously, as MAP_SYNC would, so no fsync is
// needed for metadata). An emulated file gets PAGE granularity: its pages are page cache,
// durable only after msync. Reads copy out of the mapping; writes copy in with libpmem2's
// memcpy, flushing without a fence; Sync is the fence (and msync when emulated).
//
// Emulation: machines without persistent memory (CI, unit tests) may use a regular file, only
// when the caller asks (DaxOpenOptions::allow_emulated); its size is rounded down to the
// alignment. Nothing is MAP_SYNC about it; clients map it MAP_SHARED and msync.
//
// Exclusivity: a writable open holds flock(LOCK_EX | LOCK_NB) on its descriptor (EBUSY "P is
// in use"), so a second pool or a second uzfs process cannot take the device; read-only opens
// take no lock (zdb reads the devices of imported pools, as OpenZFS's does). Programs that map
// the device without locking are found by DaxMappedElsewhere (/proc/PID/maps).
//
// Thread safety: DaxFile's ReadAt/WriteAt/Sync/Persist may run concurrently (ConcurrentWrites);
// overlapping writes race as stores to memory do. The free functions keep no state.
//
// Names live in uzfs::dax (another layer has its own DaxInfo-like structs).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "libcore/base/env.h"
#include "libcore/base/status.h"

struct pmem2_map;

namespace uzfs::dax {

// The alignment of a namespace made with ndctl's default (-a 2M), and of an emulated device
// unless the caller says otherwise.
inline constexpr uint64_t kDefaultAlign = 2ULL << 20;

struct DaxInfo {
  std::string devnode;    // the path with symlinks resolved ("/dev/dax1.0", or the file)
  uint64_t size = 0;      // bytes that can be mapped (emulated: file size rounded down to align)
  uint64_t align = 0;     // mapping granularity
  bool emulated = false;  // a regular file standing in for a device
  // The node's own st_dev and st_ino: what /proc/PID/maps shows for a mapping of it (the
  // inode of the file opened, on devtmpfs for a device; not the device number it names).
  dev_t node_dev = 0;
  ino_t node_ino = 0;
};

struct DaxOpenOptions {
  bool write = false;            // map PROT_READ | PROT_WRITE and hold the flock
  bool allow_emulated = false;   // take a regular file as an emulated device
  uint64_t emulated_align = kDefaultAlign;  // an emulated device's alignment (a power of 2)
  std::string sysfs_root = "/sys";          // a test's fake tree
};

// A device-DAX character device: its size and alignment. Errors in OpenZFS's manner:
// ENOENT "cannot open 'P': no such device or file"; EINVAL "'P' is not a device-DAX character
// device" for anything else (a block device, a regular file, a character device of another
// subsystem, a device-DAX of size 0).
Result<DaxInfo> ProbeDax(const std::string& path, const std::string& sysfs_root = "/sys");
// The same, and with o.allow_emulated a regular file of at least one o.emulated_align
// (EINVAL "'P' is too small to emulate a device-DAX (...)" when smaller).
Result<DaxInfo> ProbeDax(const std::string& path, const DaxOpenOptions& o);

class DaxFile : public File {
 public:
  ~DaxFile() override;
  DaxFile(const DaxFile&) = delete;
  DaxFile& operator=(const DaxFile&) = delete;

  // ENXIO for a range past the end (Env's contract); EBADF for a write to a read-only open.
  Status ReadAt(uint64_t off, MutByteSpan buf) override;
  Status WriteAt(uint64_t off, ByteSpan data) override;  // flushed, not fenced
  Status Sync() override;                                // fence; emulated: msync
  Status WriteAtDurable(uint64_t off, ByteSpan data) override;
  Result<uint64_t> Size() override { return info_.size; }
  const std::string& Name() const override { return name_; }
  bool ConcurrentWrites() const override { return true; }

  // The mapping of the whole device (size() bytes), for direct loads and stores.
  uint8_t* base() const { return base_; }
  uint64_t size() const { return info_.size; }
  uint64_t align() const { return info_.align; }
  bool emulated() const { return info_.emulated; }
  bool writable() const { return write_; }
  const DaxInfo& info() const { return info_; }
  // The open descriptor (owned: closed with the file), for handing to clients (SCM_RIGHTS),
  // who map it themselves.
  int fd() const { return fd_; }
  // Makes stores made directly through base() to [off, off + len) persistent: flush and fence
  // (msync of its pages when emulated). Out-of-range parts are ignored.
  void Persist(uint64_t off, uint64_t len);

 private:
  friend Result<std::unique_ptr<DaxFile>> OpenDax(const std::string&, const DaxOpenOptions&);
  DaxFile(std::string name, DaxInfo info, int fd, bool write)
      : name_(std::move(name)), info_(std::move(info)), fd_(fd), write_(write) {}

  std::string name_;
  DaxInfo info_;
  int fd_;
  bool write_;
  pmem2_map* map_ = nullptr;
  uint8_t* base_ = nullptr;
};

// Probes (ProbeDax with o), opens, locks (writers) and maps path. EBUSY "P is in use" when
// another writer holds it; errors of libpmem2's mapping carry its message.
Result<std::unique_ptr<DaxFile>> OpenDax(const std::string& path, const DaxOpenOptions& o);

// True when a process other than this one maps the device (or emulating file) info names,
// by the device and inode columns of /proc/PID/maps; *pid (when given) says which. Processes
// whose maps cannot be read (another user's, without privilege) are not seen, nor mappings
// made through another node of the same device (mknod elsewhere: another inode).
bool DaxMappedElsewhere(const DaxInfo& info, int* pid = nullptr);

}  // namespace uzfs::dax
