// libzfs, layer 2: what the CLIs share above the one-call-per-operation layer — THE one place
// where an error becomes OpenZFS's words, number formatting (zfs_nicenum), vdev names and the
// vdev tree table of `zpool status` and `zpool import`.
#pragma once

#include <cstdint>
#include <string>

#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"

namespace uzfs::libzfs {

// THE place where an error becomes OpenZFS's words. "cannot <verb> '<name>': <reason>", or
// the connect error alone ("cannot connect to zfsd at PATH: <strerror>") when zfsd is
// unreachable.
std::string ErrorText(const std::string& verb, const std::string& name, const Status& s);
// ErrorText for an operation on a named pool, a missing pool worded as zpool_open does:
// "cannot open '<pool>': no such pool".
std::string PoolErrorText(const std::string& verb, const std::string& pool, const Status& s);
// The reason part alone: the daemon's detail message when it sent one ("no such pool",
// "permission denied"), else zpool_standard_error's words for the code ("pool is busy").
std::string Reason(const Status& s);

// A JSON string literal (quotes, backslashes and control characters escaped), for -j output.
std::string JsonString(const std::string& s);

// zfs_nicenum: 1023 → "1023", 1536 → "1.50K", 128 MiB → "128M" (at most 5 characters).
std::string NiceNum(uint64_t n);

// zpool_vdev_name: leaves by path ("/dev/" stripped for disks), interior vdevs as
// "mirror-0", "raidz2-1".
std::string VdevName(const NvList& vdev);

// The class section a top-level vdev is listed under by zpool status, list -v, create -n
// and add -n: "logs" (a separate intent log device), "dax" (a device-DAX device), or empty
// (the pool's data vdevs).
std::string VdevClass(const NvList& top);

// The config table of `zpool status` (with READ WRITE CKSUM columns, all 0: error counters
// are not kept yet) or `zpool import` (without them). pool_name/state head the table; tree is
// the vdev_tree {type: root, children: [...]} with per-vdev "state". An UNAVAIL leaf ends with
// "cannot open", an UNAVAIL interior vdev or pool with "insufficient replicas", a dax device
// that is a file standing in for one with "emulated DAX (a file, no MAP_SYNC)". Separate log
// devices (is_log) follow under a "logs" line, as zfs-fuse's print_logs puts them, then the
// dax class under "dax"; holes are not shown (the NAME column is still as wide as zfs-fuse's max_width makes it).
std::string VdevTable(const std::string& pool_name, const std::string& pool_state,
                      const NvList& tree, bool with_counters);

// zpool_find_vdev: the vdev of tree (a vdev_tree) that name designates: its guid in decimal,
// an interior vdev's name ("mirror-1"), or a leaf's path (absolute, or a name under /dev; a
// whole disk by the disk's name). *is_log (optional): it is a separate log device or a side
// of one. The pool's vdevs are searched first, then its hot spares ("spares"):
// *avail_spare (optional) says the match is a spare that is not in use (vdev_to_nvlist_iter's
// avail_spare). nullptr when nothing matches.
const NvList* FindVdev(const NvList& tree, const std::string& name, bool* is_log = nullptr,
                       bool* avail_spare = nullptr);

// EZFS_ISSPARE's text.
inline constexpr const char* kIsSpare = "device is reserved as a hot spare";

}  // namespace uzfs::libzfs
