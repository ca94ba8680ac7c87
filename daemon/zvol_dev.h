// Volumes as block devices (docs/design.md section 10). This kernel has neither ublk nor nbd,
// but it has loop devices: zfsd serves each head volume as a regular file of a FUSE file
// system of its own (mounted at STATE_DIR/zvol, one file per volume whose reads and writes go
// straight to the volume's data object through the pool, fsync a txg sync), attaches a loop
// device to that file (LOOP_CTL_GET_FREE, LOOP_CONFIGURE with LO_FLAGS_DIRECT_IO where the
// kernel takes it, LO_FLAGS_AUTOCLEAR always) and links /dev/zvol/POOL/VOL to /dev/loopN as
// udev's zvol rule does, and /dev/zdN (OpenZFS's device name; N the loop device's index) to
// it too. Snapshots are not exposed (OpenZFS's default snapdev=hidden).
//
// zfsd keeps each loop device open: when zfsd dies, autoclear detaches the device as soon as
// nothing else holds it (a file system mounted on it holds it until unmounted); Start also
// detaches what a killed zfsd left bound to the old mount and removes its links.
//
// Thread safety: the dataset and pool ops (one at a time, under zfsd's ops mutex) call Add,
// Remove*, Resize; FUSE threads serve I/O. mu_ guards vols_ (name → entry) and next_ino_;
// io_mu_ is held shared by each FUSE request while it uses an entry's Pool, and exclusively
// by a removal after its device is detached, so no request outlives the entry's pool.
#pragma once

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif
#include <fuse_lowlevel.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/pool_table.h"
#include "libcore/base/status.h"

namespace uzfs {

class ZvolDevices {
 public:
  ZvolDevices(PoolTable* table, std::string state_dir, std::string dev_dir = "/dev/zvol");
  ~ZvolDevices();

  // Detaches loop devices and removes links a killed zfsd left, then mounts the FUSE file
  // system. Without it (no FUSE, no loop devices) volumes exist but are not exposed.
  Status Start();
  // Removes every device (forcibly) and unmounts.
  void Stop();
  bool started() const { return se_ != nullptr; }

  // Exposes head volume `name` (create, clone, import, rename); a no-op for other datasets
  // and when already exposed.
  Status Add(const std::string& name);
  // Every head volume of a pool (import, create).
  Status AddPool(const std::string& pool);
  // Takes away the device of every exposed volume at or under `name` (a pool's name: all
  // of its volumes). EBUSY "dataset is busy" when one is open elsewhere (a mounted file
  // system, an O_EXCL opener) and not force; then nothing is removed.
  Status RemoveTree(const std::string& name, bool force);
  // The volume's size changed (zfs set volsize): the file and the loop device follow
  // (LOOP_SET_CAPACITY).
  Status Resize(const std::string& name);
  // /dev/loopN of an exposed volume.
  std::optional<std::string> DeviceOf(const std::string& name);

  // ---- FUSE side (zvol_fuse.cc)
  struct Vol {
    std::string name;
    Pool* pool = nullptr;
    uint64_t size = 0;
    uint64_t ino = 0;
    int loop_fd = -1;   // /dev/loopN, held open (autoclear)
    int loop_index = -1;
    bool direct_io = false;
  };
  // Entry of inode ino (a copy), under io_mu_ held shared by the caller.
  std::optional<Vol> ByIno(uint64_t ino);
  std::vector<Vol> All();
  std::shared_mutex& io_mu() { return io_mu_; }

 private:
  static std::string FileName(const std::string& vol);  // "pool+a+vol" ('+' is in no name)
  Status Attach(Vol* v);
  void Detach(Vol* v);
  std::string LinkPath(const std::string& vol) const { return dev_dir_ + "/" + vol; }
  void Cleanup();

  PoolTable* t_;
  std::string state_dir_, dev_dir_, mnt_;
  std::mutex mu_;
  std::map<std::string, Vol> vols_;
  uint64_t next_ino_ = 2;
  std::shared_mutex io_mu_;
  fuse_session* se_ = nullptr;
  std::thread loop_;
};

// The FUSE session serving dev's files (zvol_fuse.cc).
fuse_session* ZvolFuseSession(ZvolDevices* dev);

}  // namespace uzfs
