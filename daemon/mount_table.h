// MountTable: zfsd's FUSE mounts of filesystems (what zfs_mount / zfs_unmount and
// zpool import's "mount every dataset" do in libzfs).
//
// A filesystem is mounted automatically (at pool create and import, at zfsd start for the
// cache file's pools, at zfs create) when canmount=on and its mountpoint property is a path;
// the mountpoint value already carries the pool's altroot. canmount=noauto filesystems are
// mounted only by `zfs mount NAME`; canmount=off and mountpoint=none|legacy never.
// readonly=on mounts read-only; atime=off stops atime updates; exec=off, setuid=off and
// devices=off mount with noexec, nosuid and nodev (and =on without them).
//
// Thread safety: every method is called under zfsd's ops lock (one operation at a time);
// the table has its own mutex for the read-only queries of other threads. Never call a
// method while holding a pool's lock (FuseMount::Unmount waits for FUSE workers).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/fuse_fs.h"
#include "daemon/pool_table.h"

namespace uzfs {

class ZvolDevices;

class MountTable {
 public:
  explicit MountTable(PoolTable* table) : t_(table) {}
  ~MountTable();

  // zfs mount -o: options for one mount, over the properties (OpenZFS's temporary values);
  // remount changes a mounted filesystem's options in place.
  struct TempOptions {
    std::optional<bool> readonly, atime, exec, setuid, devices;
    bool remount = false;
  };
  // "ro,noatime,...": the words of one table (kMountWords in mount_table.cc): ro rw atime
  // noatime exec noexec suid nosuid dev nodev remount (defaults and empty words are skipped);
  // EINVAL "unsupported mount option 'x'" for anything else, unless sloppy (mount.zfs -s).
  static Result<TempOptions> ParseTempOptions(const std::string& csv, bool sloppy = false);
  // zfs mount NAME: EBUSY "filesystem already mounted"; EINVAL "legacy mountpoint" /
  // "no mountpoint set" / "'canmount' property is set to 'off'". With temp.remount, the
  // mounted fs gets the options of temp and, for those temp does not name, of its
  // properties (zfs_add_options), in place (FuseMount::Remount): EINVAL "not currently
  // mounted", EBUSY when going read-only with files open for writing.
  Status Mount(const std::string& fs, const TempOptions& temp);
  Status Mount(const std::string& fs) { return Mount(fs, TempOptions()); }
  // mount.zfs DATASET DIR: fs mounted at dir, when its mountpoint is legacy (or any, with
  // zfsutil). EINVAL "not legacy" otherwise; EBUSY "filesystem already mounted". A remount
  // (any mountpoint, as mount_zfs allows) needs fs mounted at dir.
  Status MountAt(const std::string& fs, const TempOptions& temp, const std::string& dir,
                 bool zfsutil);
  // The options fs is mounted with now (zfs get's "temporary" values); nullopt when it is
  // not mounted.
  std::optional<MountOptions> OptionsOf(const std::string& fs);
  // Mounts every filesystem of a pool that mounts automatically (children after parents).
  // Every one is tried; the first error is returned.
  Status MountPool(const std::string& pool);
  // Mounts fs when it mounts automatically (canmount=on, a path mountpoint) and is not
  // mounted yet (zfs create, clone, rename -p); OK otherwise.
  Status MountIfAuto(const std::string& fs);
  // Every pool of the table (zfsd start).
  void MountAll();
  // zfs unmount NAME|MOUNTPOINT: EINVAL "not currently mounted"; EBUSY when busy and !force.
  Status Unmount(const std::string& fs_or_path, bool force);
  // Unmounts a filesystem and every mounted descendant (children first), or all of a pool
  // (fs = pool name). Stops at the first busy one.
  Status UnmountTree(const std::string& fs, bool force);
  void UnmountEverything();
  bool Mounted(const std::string& fs);
  std::string MountpointOf(const std::string& fs);
  // Where fs would be mounted: its mountpoint property (altroot applied; "none", "legacy"
  // as they are), "" when fs cannot be read.
  std::string MountpointFor(const std::string& fs);
  // Drops the FUSE kernel cache of obj's bytes [off, off+len) when fs is mounted (see
  // FuseMount::InvalidateData). Never with a pool lock held.
  void Invalidate(const std::string& fs, uint64_t obj, int64_t off, int64_t len);
  // After snapshots of pool were destroyed, renamed or moved (promote): every mount of the
  // pool drops its cached .zfs/snapshot names (FuseMount::InvalidateSnapshots). Never with
  // a pool lock held.
  void SnapshotsChanged(const std::string& pool);
  // zfs rollback of fs: when fs is mounted its mount stays and change (the pool's rollback)
  // runs under it (FuseMount::Rollback: requests wait, the kernel's caches are reconciled
  // before this returns); otherwise only change runs.
  Status Rollback(const std::string& fs, const std::function<Status()>& change);
  // Forgets the mounts someone unmounted with umount(8) (a legacy mount's usual end): their
  // FUSE loop has ended; each is stopped (FuseMount::Unmount, outside mu_) and dropped.
  // Mount, MountAt, Unmount and UnmountTree prune first; ops that report mounts call it.
  void Prune();
  // (filesystem, mountpoint) of every mount, sorted by filesystem.
  std::vector<std::pair<std::string, std::string>> List();
  // Volumes are exposed as devices where filesystems are mounted (MountPool, MountIfAuto);
  // set once at start, before serving (null: volumes are not exposed).
  void SetVolumes(ZvolDevices* z) { zv_ = z; }
  ZvolDevices* volumes() const { return zv_; }

 private:
  // The mount properties of fs: mountpoint value, canmount, readonly, atime, exec, setuid,
  // devices.
  struct MountProps {
    std::string mountpoint, canmount = "on";
    bool readonly = false, atime = true, exec = true, setuid = true, devices = true;
  };
  Result<MountProps> PropsOf(const std::string& fs, Pool** pool);
  static MountOptions Effective(const MountProps& mp, const TempOptions& t);
  // The remount of Mount and MountAt; dir empty: wherever fs is mounted.
  Status Remount(const std::string& fs, const TempOptions& t, const std::string& dir);
  Status MountWith(const std::string& fs, const MountProps& mp, Pool* pool, const TempOptions& t);

  PoolTable* t_;
  ZvolDevices* zv_ = nullptr;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<FuseMount>> mounts_;  // by filesystem name
};

}  // namespace uzfs
