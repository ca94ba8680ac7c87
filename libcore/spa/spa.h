// Spa: a pool opened read-only from its devices, as zdb opens pools (zfs-fuse spa.c spa_load,
// vdev_label.c vdev_uberblock_load, libzfs_import.c for the device scan).
//
// Opening: read the 4 labels of every candidate device (ReadDeviceLabels); keep those whose
// config has pool_guid, guid, top_guid and txg != 0 (as libzfs_import does); group by
// pool_guid and choose the pool by name or guid. The vdev tree is assembled from the labels:
// each leaf's label holds its top-level vdev's tree; for each top-level id the label with the
// highest txg wins; the root has the vdev_children top-levels the newest label names (ids in
// its hole_array become "hole" vdevs, a removed log device's place; other ids without any
// label become "missing" vdevs, unless SpaOpenOptions::mos_config gives the MOS config, whose
// tree then supplies them with unavailable leaves; an older label's top-level vdev past vdev_children or at a
// hole was removed since and is left out). Leaves are matched to opened devices by guid; an
// absent device is an unavailable leaf, tolerated as long as redundancy covers it.
//
// Uberblock: all verified slots of all labels of all leaves, best = highest txg, then
// timestamp, skipping versions we do not read (we read 1-23 and 5000) and ub_guid_sum !=
// Σ vdev guids (root guid = pool_guid).
// If the best one's rootbp (the MOS objset_phys) cannot be read, the next older txg is tried,
// and so on; uberblocks() lists them all. A pool of version 5000 (feature flags,
// spa_feature.h) whose label config lacks features_for_read is corrupt (ECORRUPT); one
// naming a feature we do not know is refused with OpenZFS's ENOTSUP message.
//
// Thread safety: after Open, const accessors and Read may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "libcore/base/env.h"
#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"
#include "libcore/vdev/vdev.h"
#include "libcore/vdev/vdev_label.h"
#include "libcore/zio/block_reader.h"
#include "libcore/zio/zio_read.h"

namespace uzfs {

struct SpaOpenOptions {
  Env* env = nullptr;              // nullptr = PosixEnv()
  uint64_t max_txg = UINT64_MAX;   // ignore uberblocks newer than this (rewind)
  bool check_rootbp = true;        // fall back past uberblocks whose MOS cannot be read
  bool writable = false;           // open the leaves read-write (import for writing)
  // spa_load_state SPA_LOAD_OPEN: the pool is opened from the cache file (zfsd's start), so
  // a leaf's persisted "faulted" flag holds and it comes up FAULTED. Any other open (an
  // import, zdb, a scan) tries it again: v23's vdev_alloc reads ZPOOL_CONFIG_FAULTED only
  // when opening. (OFFLINE is persisted for every open.)
  bool from_cache = false;
  // The pool config stored in the MOS of the uberblock whose rootbp is given (the spa
  // layer reads no ZAP: the caller, pool or zdb, supplies the reader). With it, top-level
  // vdevs no label describes (a separate log device whose every leaf is gone) are built
  // from the MOS config instead of "missing" placeholders, their leaves unavailable: the
  // second pass of zfs-fuse's spa_load (mosconfig = B_TRUE), OpenZFS's spa_config_valid.
  std::function<Result<NvList>(BlockReader&, const BlkPtr& rootbp)> mos_config;
};

// A pool found by scanning devices.
struct PoolCandidate {
  std::string name;
  uint64_t pool_guid = 0;
  uint64_t txg = 0;  // highest label txg seen
  uint64_t state = 0;  // POOL_STATE_* of that label (0 active, 1 exported, 2 destroyed)
  uint64_t hostid = 0;
  std::string hostname;
  std::vector<std::string> devices;
};

// The vdev tree of an opened pool as `zpool status`/`import` show it: {type, id, guid,
// path (leaves: the device opened, else the label's), nparity (raidz), state ("ONLINE",
// "DEGRADED", "UNAVAIL"), children}.
NvList VdevStatusTree(const Vdev& v);

class Spa : public BlockReader {
 public:
  ~Spa() override;

  // Opens the pool whose devices are `paths` (every path must hold a label of the same pool,
  // else EINVAL). pool = name or decimal guid, or empty to accept the only pool present.
  static Result<std::unique_ptr<Spa>> OpenDevices(const std::vector<std::string>& paths,
                                                  const std::string& pool = {},
                                                  const SpaOpenOptions& o = {});
  // zdb -e -p DIR POOL: scans every entry of dir (regular files and block devices) for labels.
  // ENOENT when no pool of that name/guid is there; EINVAL when pool is empty and several are.
  static Result<std::unique_ptr<Spa>> OpenDir(const std::string& dir, const std::string& pool,
                                              const SpaOpenOptions& o = {});
  // Pools present among the devices of dir (no pool is opened).
  static Result<std::vector<PoolCandidate>> ScanDir(const std::string& dir, Env* env = nullptr);
  // The same over a list of devices (unreadable or label-less ones are skipped).
  static std::vector<PoolCandidate> ScanDevices(const std::vector<std::string>& paths,
                                                Env* env = nullptr);

  // BlockReader.
  Result<Bytes> Read(const BlkPtr& bp, ReadReport* report = nullptr) override;
  // zdb -c / -cc: like Read, but reads and verifies every copy (all DVAs, every mirror side,
  // raidz parity) and reports each bad one; returns the good data when any copy is good.
  Result<Bytes> ScrubRead(const BlkPtr& bp, ReadReport* report);
  // zdb -R: raw bytes at a DVA address, no checksum.
  Result<Bytes> ReadRaw(uint64_t vdev, uint64_t offset, uint64_t size,
                        ReadReport* report = nullptr);

  const std::string& name() const { return name_; }
  uint64_t pool_guid() const { return pool_guid_; }
  uint64_t version() const { return version_; }  // from the label config
  // The uberblock in use.
  const Uberblock& uberblock() const { return ubs_[ub_index_]; }
  // Every valid uberblock seen (all leaves, all labels), best first.
  const std::vector<Uberblock>& uberblocks() const { return ubs_; }
  // Switches to another uberblock (one of uberblocks()); EINVAL if its rootbp cannot be read.
  Status UseUberblock(size_t index);
  // Label config of the newest label among the pool's leaves whose txg is not ahead of the
  // uberblock in use (OpenZFS's rule): what zdb prints as the config of an exported pool.
  // vdev_tree there is the top-level of that leaf only; root() has the whole tree.
  const NvList& label_config() const { return label_config_; }
  // The labels of every device of the pool (zdb -l), in the order found.
  const std::vector<DeviceLabels>& device_labels() const { return devices_; }
  // The root vdev (type "root", guid = pool_guid) and the top-level vdevs by id.
  const Vdev& root() const { return *root_; }
  // The same tree for a pool imported read-write, whose Pool adds and removes top-level
  // vdevs (zpool add, zpool remove) under its own locks.
  Vdev* mutable_root() { return root_.get(); }
  Vdev* top(uint64_t id) const;
  uint64_t vdev_children() const { return root_->children.size(); }
  // Σ of the vdev guids (must equal uberblock().guid_sum).
  uint64_t guid_sum() const { return root_->GuidSum(); }

 private:
  Spa();
  static Result<std::unique_ptr<Spa>> Assemble(std::vector<DeviceLabels> labels,
                                               const std::string& pool,
                                               const SpaOpenOptions& o);
  // Top-level vdevs left "missing" by the labels, built from the MOS config (see
  // SpaOpenOptions::mos_config).
  void FillMissingFromMos(const SpaOpenOptions& o, const LeafOpener& opener);
  std::string name_;
  uint64_t pool_guid_ = 0;
  uint64_t version_ = 0;
  NvList label_config_;
  std::vector<DeviceLabels> devices_;
  std::unique_ptr<Vdev> root_;
  std::vector<Uberblock> ubs_;
  size_t ub_index_ = 0;
  TopVdevLookup lookup_;
};

}  // namespace uzfs
