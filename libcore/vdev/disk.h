// Real devices: what a device holds, whether a pool may take it, whole disks and their GPT.
// docs/design.md section 8. The facts follow OpenZFS (cmd/zpool/os/linux/zpool_vdev_os.c
// check_disk/check_slice, cmd/zpool/zpool_vdev.c check_file_generic, lib/libzfs/libzfs_import.c
// zpool_in_use, lib/libzfs/os/linux/libzfs_pool_os.c zpool_label_disk, lib/libzutil): the code
// is ours, on libblkid (probing), libudev (enumeration, by-id names) and libfdisk (the GPT).
//
// Everything here is a plain function of the system's state at the time of the call: no state is
// kept, any thread may call. The functions that take a path accept block devices and regular
// files unless they say otherwise; none of them needs udevd (without it, by-id names are read from
// /dev/disk/by-id when that directory exists, and partition nodes come from devtmpfs).
//
// Names live in uzfs::disk.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "libcore/base/status.h"

namespace uzfs::disk {

// pool_state_t as written in a label's "state" (include/sys/fs/zfs.h).
inline constexpr uint64_t kPoolStateActive = 0;
inline constexpr uint64_t kPoolStateExported = 1;
inline constexpr uint64_t kPoolStateDestroyed = 2;
inline constexpr uint64_t kPoolStateSpare = 3;
inline constexpr uint64_t kPoolStateL2Cache = 4;

// SPA_MINDEVSIZE: the smallest device or file a pool accepts.
inline constexpr uint64_t kMinDevSize = 64ULL << 20;

// A ZFS label found on a device (read with ReadDeviceLabels, not libblkid, so the state is known).
struct PoolLabel {
  std::string name;        // pool name; empty for spare and l2cache labels, which carry none
  uint64_t pool_guid = 0;  // 0 for spare and l2cache labels
  uint64_t guid = 0;       // this vdev's own guid
  uint64_t state = 0;      // kPoolState*
  // vdev_label_init(VDEV_LABEL_REMOVE)'s mark: txg 0 and create_txg 0, the labels a separate
  // log device keeps once removed from its pool.
  bool removed = false;
};

// What a device or file holds, the most specific finding first: a ZFS label, else swap, else a
// file system, else a partition table, else nothing. fs_type/fs_label/pt_type are filled whenever
// libblkid reports them, whatever the kind.
struct DeviceUse {
  enum class Kind { kNothing, kPool, kSwap, kFilesystem, kPartitionTable };
  Kind kind = Kind::kNothing;
  std::string fs_type;   // blkid TYPE ("ext4", "swap", "zfs_member"...) or empty
  std::string fs_label;  // blkid LABEL or empty
  std::string pt_type;   // blkid PTTYPE ("dos", "gpt") or empty
  std::optional<PoolLabel> pool;
};

// Probes path with libblkid (superblocks, then partition tables) and our label reader.
// Errors: ENOENT/EACCES... when path cannot be opened (message names the path).
Result<DeviceUse> ProbeDevice(const std::string& path);

// One reason a device may not join a pool, worded as OpenZFS prints it (no trailing newline).
struct Refusal {
  std::string message;      // "/dev/loop0 contains a filesystem of type 'ext4'"
  bool overridable = true;  // -f overrides it
  // OpenZFS prints this one bare, without the "invalid vdev specification" header (check_disk's
  // "is in use and contains a ... filesystem." line).
  bool bare = false;
};

// pool_active(name, pool_guid): true when that pool is imported (OpenZFS pool_active). When the
// caller cannot know (an empty function), a label in the ACTIVE state counts as active.
using PoolActiveFn = std::function<bool(const std::string& name, uint64_t pool_guid)>;

// Every reason path may not join a new pool, force or not (check_device / check_file):
//  - a ZFS label: "P is part of active pool 'N'" (never overridable), "... exported pool",
//    "... potentially active pool" (ACTIVE label, pool not imported); destroyed, spare and
//    l2cache labels are free (as zpool_in_use says when no imported pool uses the spare), and
//    so is a device removed from a pool that is imported (zpool_in_use finds its guid in no
//    config; here: its labels say txg 0);
//  - block devices only: mounted (mountinfo by dev_t, also a partition of path): "P is currently
//    mounted on M" (never); held open O_EXCL elsewhere: "P is in use and contains a T
//    filesystem." (never, bare; T = blkid TYPE or "unknown"); a file system or swap signature:
//    "P contains a filesystem of type 'T'"; a whole disk with a GPT: each partition is checked
//    as above under its own node (check_disk), and nothing else, so the disk of a destroyed pool
//    is free; a whole disk with another table (dos...): its partitions too, then "P contains a
//    partition table of type 'dos'" (uzfs is stricter than OpenZFS here, which does not scan
//    such tables and checks the whole device only: a table is data).
// Regular files get only the label check, as in OpenZFS. Errors only when path cannot be probed.
Result<std::vector<Refusal>> DeviceRefusals(const std::string& path,
                                            const PoolActiveFn& pool_active = {});

// OK when path may join a pool under this force setting; otherwise EBUSY whose message is the
// refusals that apply, one per line (the caller prints OpenZFS's header above them:
// "invalid vdev specification\nuse '-f' to override the following errors:\n", or with -f
// "the following errors must be manually repaired:\n").
Status CheckDeviceFree(const std::string& path, bool force, const PoolActiveFn& pool_active = {});

// A whole disk as libudev sees it (DEVTYPE=disk, size > 0).
struct DiskInfo {
  std::string devnode;  // /dev/sdb
  uint64_t size = 0;    // bytes
  std::string model;    // ID_MODEL, else sysfs device/model; may be empty
  std::string serial;   // ID_SERIAL_SHORT / ID_SERIAL, else sysfs device/serial; may be empty
  std::vector<std::string> by_id;  // every /dev/disk/by-id link to it, sorted
  bool removable = false;
  bool has_partitions = false;
};
// Every whole disk with a non-zero size, sorted by devnode. Empty when libudev is unusable.
std::vector<DiskInfo> ListDisks();

// zpool_default_import_path: where a bare device name is looked up, in order.
const std::vector<std::string>& DefaultImportPath();

// Every block device node libudev knows with a non-zero size, disks and partitions alike
// (zpool import's default scan, as libzfs_import walks udev's block devices). Empty when
// libudev is unusable.
std::vector<std::string> ListBlockDevices();

// The /dev node named by a device word: an absolute path (symlinks followed), or a bare name
// looked up as OpenZFS's shorthand does, in /dev, /dev/disk/by-id, /dev/mapper, the other
// /dev/disk/by-* directories. EINVAL "'X' is not a block device", ENOENT "cannot open 'X': no
// such device in /dev".
Result<std::string> ResolveDevice(const std::string& name);

// The preferred /dev/disk/by-id link of a device node (model/serial names over wwn- and
// nvme-eui. ones; partition links skipped), or empty.
std::string ByIdName(const std::string& devnode);

// Size in bytes: BLKGETSIZE64 for a block device, st_size for a regular file.
Result<uint64_t> DeviceSize(const std::string& path);
bool IsBlockDevice(const std::string& path);  // symlinks followed
// A block device that is a disk (sysfs has no "partition" attribute for it), not a partition.
bool IsWholeDisk(const std::string& path);

// The node of partition n: /dev/sdb → /dev/sdb1, /dev/loop0 → /dev/loop0p1, /dev/nvme0n1 →
// /dev/nvme0n1p1, /dev/disk/by-id/X → /dev/disk/by-id/X-part1 (zfs_append_partition).
std::string PartitionPath(const std::string& devnode, int n);

// The GPT zpool_label_disk writes for a new pool, in 512-byte sectors (scaled for 4K sectors):
// partition 1 starts at 2048, its size is (last usable LBA + 1 - 16384 - 2048) rounded down to
// 2048; partition 9 (8 MiB reserved) follows it directly. LabelWholeDisk uses it; tests check it.
struct GptPlan {
  uint64_t sector_size = 512;
  uint64_t p1_start = 0, p1_size = 0;
  uint64_t p9_start = 0, p9_size = 0;
};
// EINVAL "partition would be less than the minimum device size (64M)" when p1 < kMinDevSize.
Result<GptPlan> PlanWholeDiskGpt(uint64_t last_usable_lba, uint64_t sector_size);

inline constexpr const char* kZfsPartType = "6A898CC3-1DD2-11B2-99A6-080020736631";       // EFI_USR
inline constexpr const char* kReservedPartType = "6A945A3B-1DD2-11B2-99A6-080020736631";  // EFI_RESERVED

// Writes that GPT over a whole disk (libfdisk; old signatures wiped), partition 1 named
// "zfs-<16 hex digits of a random id>", then makes the kernel see it (BLKRRPART, else BLKPG as
// partx -a) and waits up to 5 s until partition 1's node exists with the planned start and size,
// and zeroes its first 4 KiB (zero_label). Returns the node of partition 1 (the kernel's name:
// PartitionPath of the resolved devnode). The device must not be in use: it is opened O_EXCL,
// EBUSY otherwise. ENODEV "partition ... did not appear" when the kernel takes neither ioctl (a
// loop device without partition scanning, losetup -P, on kernels that refuse BLKPG there).
// Errors say "cannot label 'DEV': why".
Result<std::string> LabelWholeDisk(const std::string& devnode);

}  // namespace uzfs::disk
