// Real devices (OpenZFS: cmd/zpool/zpool_vdev.c check_disk / check_partition, libzfs
// zpool_label_disk, lib/libefi; DESIGN.md section 6):
//
//   ProbeDevice   what a device or file holds, by libblkid: a file system (type, label), a
//                 partition table, a ZFS label (pool name and state read with our own label
//                 code), swap, or nothing; and whether it is mounted (/proc/self/mountinfo).
//   ListDisks     whole disks by libudev, with their /dev/disk/by-id names.
//   ByIdName      the preferred /dev/disk/by-id link of a device node (libudev), or empty.
//   IsWholeDisk   a block device that is a disk, not a partition.
//   LabelWholeDisk  a GPT as OpenZFS makes it for a whole disk (libfdisk): partition 1 from
//                 sector 2048 to 8 MiB before the end, type 6A898CC3-1DD2-11B2-99A6-
//                 080020736631, name "zfs-<16 hex digits>"; partition 9, the 8 MiB reserved
//                 partition (type 6A945A3B-1DD2-11B2-99A6-080020736631); the kernel is told
//                 to re-read the table and the partition node awaited (≤ 10 s).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "libcore/base/status.h"

namespace uzfs {

struct DeviceUse {
  std::string fs_type;     // blkid TYPE ("ext4", "swap", "zfs_member"...) or empty
  std::string fs_label;    // blkid LABEL
  std::string pt_type;     // blkid PTTYPE ("gpt", "dos") or empty
  std::string mounted_on;  // mount point when mounted
  // A ZFS label (when fs_type is zfs_member or our label reader finds one).
  std::string pool;
  uint64_t pool_state = 0;  // 0 active, 1 exported, 2 destroyed
  bool has_pool = false;
};

Result<DeviceUse> ProbeDevice(const std::string& path);

struct DiskInfo {
  std::string devnode;   // /dev/sdb
  std::string by_id;     // /dev/disk/by-id/... (empty when none)
  uint64_t size = 0;     // bytes
  std::string model, serial;
};
Result<std::vector<DiskInfo>> ListDisks();
// Every block device node udev knows (disks and partitions): zpool import's default scan.
Result<std::vector<std::string>> ListBlockDevices();
std::string ByIdName(const std::string& devnode);

bool IsWholeDisk(const std::string& path);

// Labels devnode for ZFS and returns the path of partition 1.
Result<std::string> LabelWholeDisk(const std::string& devnode);
// The node of partition n of a disk (/dev/sdb → /dev/sdb1, /dev/loop0 → /dev/loop0p1).
std::string PartitionPath(const std::string& devnode, int n);

}  // namespace uzfs
