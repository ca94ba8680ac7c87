// The vdev specification of `zpool create` / `zpool add` turned into an "nvroot", as OpenZFS's
// cmd/zpool/zpool_vdev.c make_root_vdev does (construct_spec, make_leaf_vdev, is_device_in_use,
// check_replication, make_disks), with its messages. Wording follows the OpenZFS releases of the
// pool-version-23 era where they differ from today's (a missing absolute path is "cannot open
// 'P': No such file or directory", and raidz beside a mirror is always a mismatch).
//
// The nvroot: {type: "root", children: [top...], spares: [leaf...]?, l2cache: [leaf...]?}
//   leaf  = {path, type: "disk"|"file", whole_disk: 0|1 (disks only)}
//   top   = a leaf plus {is_log: 0|1}, or {type: "mirror"|"raidz", is_log, nparity (raidz),
//           children: [leaf...]}, or a dax-class device {path, type: "dax", is_log: 0} (the
//           words after "dax": device-DAX character devices, or regular files that zfsd
//           takes as emulated DAX devices when started with --dax-emulation)
// Paths are kept as given or as the shorthand resolved them ("sdb" → "/dev/sdb", a by-id name →
// "/dev/disk/by-id/NAME"); whole_disk=1 marks a whole disk, which LabelDisks partitions.
// Not supported (pool version 23 has none of them): draid, special, dedup, ashift.
//
// Nothing here prints: a failure's Status message is the exact text zpool writes to stderr
// (lines separated by '\n', no trailing newline). Any thread may call; no state is kept.
#pragma once

#include <string>
#include <vector>

#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"
#include "libcore/vdev/disk.h"

namespace uzfs::vdev_spec {

struct Options {
  // -f: refusals that -f overrides are dropped (mounted devices and active pools never are).
  bool force = false;
  // check_replication: zpool create and add pass !force.
  bool check_replication = true;
  // zpool add: the pool's current vdev tree (its "children"); nullptr for zpool create, which
  // also requires one non-log top-level vdev.
  const NvList* pool_nvroot = nullptr;
  // Which pools are imported, for the in-use check (disk::DeviceRefusals).
  disk::PoolActiveFn pool_active;
};

// make_root_vdev without the labelling pass: parses args (the words after the pool name),
// resolves and stats every device, checks that none is in use, checks replication levels.
// Errors (EINVAL, or EBUSY for devices in use) carry zpool's stderr text, e.g.
//   "cannot open 'sdx': no such device in /dev\nmust be a full path or shorthand device name"
//   "invalid vdev specification: mirror requires at least 2 devices"
//   "invalid vdev specification\nuse '-f' to override the following errors:\n
//    /dev/loop0 contains a filesystem of type 'ext4'"
Result<NvList> MakeRootVdev(const std::vector<std::string>& args, const Options& o);

// The same device named twice (compared by device number, or by inode for files). EBUSY with
// libzfs's text, which the caller prefixes with "cannot create 'POOL': " / "cannot add to 'POOL': ":
// create: "one or more vdevs refer to the same device, or one of\nthe devices is part of an
// active md or lvm device"; add: "one or more vdevs refer to the same device".
Status CheckDuplicates(const NvList& nvroot, bool adding);

// A leaf smaller than SPA_MINDEVSIZE: EOVERFLOW "one or more devices is less than the minimum
// size (64M)" (the caller prefixes "cannot create 'POOL': "). Whole disks are measured whole.
Status CheckMinSize(const NvList& nvroot);

// make_disks, for a spec MakeRootVdev accepted and not a dry run: every whole disk gets OpenZFS's
// GPT (disk::LabelWholeDisk) and its "path" becomes partition 1 (PATH-part1 for /dev/disk/ paths
// once udev made that link, else the kernel's node, e.g. /dev/loop0p1); every other disk leaf gets
// its first 4 KiB zeroed. Stops at the first failure: "cannot label 'DEV': why".
Status LabelDisks(NvList* nvroot);

}  // namespace uzfs::vdev_spec
