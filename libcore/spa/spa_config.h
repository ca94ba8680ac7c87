// A pool's configuration nvlists and their way to disk: spa_config_generate and
// vdev_config_generate (what the MOS config object, the labels and `zpool status` hold), and
// vdev_config_sync (the labels and uberblocks of a txg, in the order that makes a crash
// leave the previous txg or this one).
//
// Thread safety: the generators read the vdev tree they are given (the caller holds
// whatever guards it); VdevConfigSync reads only its arguments, so a txg's labels are
// written without the pool's lock while the next txg changes the tree's owner.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "libcore/base/env.h"
#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"
#include "libcore/vdev/vdev.h"
#include "libcore/vdev/vdev_label.h"

namespace uzfs {

// What every config says of the pool itself.
struct PoolIdentity {
  uint64_t version = 0;
  std::string name;
  uint64_t guid = 0;
  std::string comment;  // OpenZFS's comment ("" for none)
  uint64_t create_txg = 0;
  // Active features a reader of the MOS needs (spa_feature.h LabelFeatures' names); written
  // as the config's "features_for_read" (after vdev_tree) when version >= 5000.
  std::set<std::string> features_for_read;
};

// This host, as configs record it (hostid and hostname; spa_config_generate).
uint64_t HostId();
std::string HostName();

// vdev_config_generate: the nvlist of v and its children (top-level fields on `top`).
NvList VdevConfig(const Vdev& v, bool top);
// The fields every config starts with (version ... hostname, comment), in zfs-fuse's order.
NvList ConfigHeader(const PoolIdentity& id, uint64_t txg, uint64_t state);
// vdev_top_config_generate: hole_array (the ids of the holes, when there are any) and
// vdev_children, as every config has them after the header.
void AddTopConfig(NvList* nv, const std::vector<const Vdev*>& tops);
// spa_config_generate: the whole pool (the MOS config object, `zpool status`). tops by id,
// holes included.
NvList PoolConfig(const PoolIdentity& id, const std::vector<const Vdev*>& tops, uint64_t txg,
                  uint64_t state);
// A leaf's label: top_guid, guid, is_log (a log device that is its own top-level vdev), the
// top-level namespace (AddTopConfig) and its top-level vdev's tree (vdev_label_init's
// config).
NvList LabelConfig(const PoolIdentity& id, const std::vector<const Vdev*>& tops, const Vdev& top,
                   const Vdev& leaf, uint64_t txg, uint64_t state);
// What a removed log device's labels keep (vdev_label_init with VDEV_LABEL_REMOVE): txg 0,
// which no import takes (libzfs_import wants txg != 0), no metaslabs, create_txg 0.
NvList RemovedLabelConfig(const PoolIdentity& id, const std::vector<const Vdev*>& tops,
                          const Vdev& top, const Vdev& leaf, uint64_t state);

// One leaf's part of a txg's labels.
struct LabelWrite {
  File* file = nullptr;
  uint64_t ashift = 9;  // its top-level vdev's
  NvList config;        // LabelConfig, when the config changed
  Vdev* leaf = nullptr;  // the leaf whose device file is: its errors are counted there, and
                         // a leaf that dies (vdev_health.h) is skipped from then on
};

// vdev_config_sync: flush every leaf; the even labels (when config), flush; the uberblock
// into every label of every leaf, flush; the odd labels (when config), flush. Each step needs
// one leaf to succeed (a mirror or raidz goes on without the others); ENXIO with no leaf.
// A leaf's failure is its write error (Vdev::NoteError); a dead leaf is skipped
// (vdev_config_sync writes no label to a vdev that is not writeable).
Status VdevConfigSync(const std::vector<LabelWrite>& leaves, const Uberblock& ub, bool config);

}  // namespace uzfs
