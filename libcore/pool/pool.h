// Pool: a pool imported read-write (zfs-fuse spa.c spa_create / spa_import / spa_export /
// spa_sync, txg.c, vdev_label.c vdev_config_sync, dsl_pool.c dsl_pool_sync, spa_history.c).
//
// Transaction groups: every change is made in memory under the pool's lock and belongs to
// the open txg. Sync() closes it (open → quiescing: wait for the changes under way, which
// hold the lock, to finish → syncing) and writes it copy-on-write: the dirty datasets'
// objsets, then the MOS in passes — each pass writes the dirty MOS blocks, then the space map
// entries those allocations and frees produced (metaslab_sync), until a pass changes nothing
// (blocks born in the txg are rewritten in place from pass 2, nothing is compressed from pass
// 4). Then: flush every vdev, write the even labels (when the config changed), flush, the
// uberblock into every label of every leaf, flush, the odd labels, flush
// (vdev_config_sync's order), so a crash at any moment leaves the previous txg or this one.
// Freed space becomes allocatable two txgs later (TXG_DEFER_SIZE).
//
// A txg is synced every 5 seconds by the caller (zfsd's sync thread), at once on demand
// (Sync()), or when the caller's sync-wanted hook says dirty data passed a fifth of the dirty
// bound; a Pool itself owns no thread.
//
// Sync() in two phases (the txg engine, txg.c / dsl_pool.c's roles as this pool plays them):
//   1. early writeback, without the pool lock: the file blocks dirty in the open txg are
//      copied under the lock (ObjsetWriter::CaptureEarly), then compressed, checksummed,
//      allocated and written in parallel (zio_pipeline.h) while writers keep changing the
//      same txg; under the lock again each copy still current takes its place in the tree
//      (ApplyEarly), a stale one gives its space back. Up to kEarlyRounds rounds, while a
//      round still finds enough to write.
//   2. the txg closes under the pool lock (CloseTxgLocked, spa_sync's part up to the
//      uberblock): what changed since phase 1, the indirect blocks, dnodes and the MOS
//      passes. From here changes go into the next txg (TxgState::Closed).
//   3. the txg's labels and uberblocks (vdev_config_sync) are written without the pool lock
//      (from Sync and Writeback; the other callers of SyncLocked keep it): writers already
//      change txg N+1 in memory while txg N's flushes run, as txg.c's open and syncing
//      states overlap. Then, under the lock again, FinishTxgLocked makes N synced and
//      frees what txg N-2 freed (metaslab_sync_done).
// Writers thus wait only for phase 2, whose size is what arrived during the last round.
// Everything a txg holds is what was there when phase 2 took the lock: the early copies are
// either current then or not used. Phase 3 reads nothing the open txg changes: the label
// configs and the leaves are captured in phase 2 (TxgTail). Frees made meanwhile (a destroy
// in txg N+1) wait in the metaslabs' pending trees for txg N+1's sync, as any do.
//
// The write throttle (dmu_tx_delay / dmu_tx_wait): WithZpl and DirtyFile count the bytes
// they reserve as dirty; past 60% of dirty_max a writer is delayed by
// 500us * (dirty - 60%) / (max - dirty) (at most 100 ms), and at dirty_max it waits for a sync
// to finish. Before it waits it asks for a sync (the sync-wanted hook).
//
// The ARC (PoolCreateSpec/PoolImportSpec::arc, optional): the filesystems' objsets cache file
// data in it (ObjsetWriter::set_cache; units keyed by pool guid, head dataset object, file
// object), and Read(bp) caches every other block (metadata) in it by DVA and checksum.
// Rollback and filesystem destroy drop the dataset's units, export/destroy (and the Pool's
// destruction) the pool's. The MOS's data is metadata: it has no file units.
//
// Thread safety and locks, in the order they are taken:
//   sync_mu_   one Sync at a time (held across both phases);
//   mu_        the pool's state: MOS, datasets, properties, everything but what follows;
//              every public method takes it; so is txg_ (TxgState). A txg's close waits
//              (TxgState::WaitQuiet) while an early writeback is between its capture and
//              its apply, so no txg closes under it, and while another txg's labels are
//              written (phase 3), so txgs end in order;
//   alloc_mu_  the metaslab groups and rotor (allocation and frees: phase 1 allocates
//              without mu_);
//   dax_fence_mu_  the DAX fences (FenceDaxExtents), a leaf: taken under alloc_mu_ or mu_;
//   DirtyThrottle's own mutex  the throttle's wait for a sync (dirty_).
#pragma once

#include <chrono>
#include <cstdint>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "libcore/arc/arc.h"
#include "libcore/base/env.h"
#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"
#include "libcore/dmu/dmu_send.h"
#include "libcore/dsl/dsl_deleg.h"
#include "libcore/dmu/dmu_write.h"
#include "libcore/dmu/dmu_zfetch.h"
#include "libcore/base/fm.h"
#include "libcore/dsl/dsl_scan.h"
#include "libcore/dsl/dsl_userhold.h"
#include "libcore/dsl/dsl_write.h"
#include "libcore/spa/metaslab.h"
#include "libcore/spa/metaslab_alloc.h"
#include "libcore/spa/spa.h"
#include "libcore/spa/spa_config.h"
#include "libcore/txg/txg.h"
#include "libcore/zap/zap_write.h"
#include "libcore/zil/zil_log.h"
#include "libcore/zpl/zpl_write.h"
#include "libcore/zvol/zvol.h"

namespace uzfs {

inline constexpr uint64_t kPoolStateActive = 0, kPoolStateExported = 1, kPoolStateDestroyed = 2;
inline constexpr uint64_t kSpaMinDevSize = 64ULL << 20;  // SPA_MINDEVSIZE
// The extent size and alignment of dax=on file data on a dax device: device-DAX's usual
// alignment (the PMD size); devices aligned more coarsely are refused.
inline constexpr uint64_t kDaxAlignShift = 21, kDaxAlign = 1ULL << kDaxAlignShift;
inline constexpr uint64_t kTxgInitial = 4;

struct PoolCreateSpec {
  std::string name;
  // OpenZFS's nvroot: {type: root, children: [{type: file|disk|mirror|raidz, path, nparity,
  // whole_disk, is_log, children: [...]}]}.
  NvList nvroot;
  std::map<std::string, std::string> props;     // -o (pool properties; ashift too)
  std::map<std::string, std::string> fs_props;  // -O (root dataset properties)
  std::string altroot;                          // -R (not persistent)
  Env* env = nullptr;
  Arc* arc = nullptr;  // file data and metadata cache (zfsd's, shared by its pools; not owned)
  // Regular files may stand in for device-DAX devices in the dax class (zfsd
  // --dax-emulation: tests and machines without persistent memory). Such a device has no
  // MAP_SYNC; zpool status marks it "emulated".
  bool dax_emulation = false;
  // Features (spa_feature.h: "com.uzfs:dax" or its short name "dax") active from the first
  // txg: the pool is made version 5000 with them (EINVAL for a feature we do not know).
  // A dax vdev in nvroot activates com.uzfs:dax whether named here or not.
  std::vector<std::string> features;
};

struct PoolImportSpec {
  std::vector<std::string> devices;  // every device to consider (a scan's result)
  std::string pool;                  // name or decimal guid
  std::string new_name;              // import under another name (empty: keep)
  bool force = false;                // import a pool that looks active elsewhere
  std::map<std::string, std::string> props;  // -o
  std::string altroot;
  Env* env = nullptr;
  Arc* arc = nullptr;  // as PoolCreateSpec::arc
  bool dax_emulation = false;  // as PoolCreateSpec::dax_emulation
  // zpool import -m (OpenZFS's ZFS_IMPORT_MISSING_LOG): a separate log device is missing
  // and an intent log has blocks on it; the logs that cannot be claimed are discarded.
  bool missing_log = false;
  // zpool import -D: the pool was destroyed (POOL_STATE_DESTROYED in its labels); without it
  // such a pool is "no such pool available".
  bool destroyed = false;
  // The pool is opened from zfsd's cache file (SpaOpenOptions::from_cache): leaves faulted
  // before stay FAULTED. An explicit import (false) brings them back to be tried again.
  bool from_cache = false;
};

struct PropValue {
  std::string value;   // as `zpool get` prints it with -p
  std::string source;  // "default", "local", "-"
};

class Pool : public BlockReader {
 public:
  ~Pool() override;
  static Result<std::unique_ptr<Pool>> Create(const PoolCreateSpec& spec);
  static Result<std::unique_ptr<Pool>> Import(const PoolImportSpec& spec);

  // Syncs the open txg (a no-op when nothing changed). The first error stops the pool from
  // writing further (it stays readable; export then fails): like failmode=wait without
  // the wait, so nothing half-written is ever followed by more.
  Status Sync();
  // spa_export: marks every label exported, syncs, closes the devices. The Pool is unusable
  // afterwards.
  Status Export();
  // spa_destroy: labels marked destroyed (state 2), so import no longer offers the pool.
  Status Destroy();

  // zpool add (spa_vdev_add; pool_vdevs.cc): the top-level vdevs of nvroot (as
  // PoolCreateSpec::nvroot's, is_log marking separate intent log devices) join the pool,
  // each at the first hole's id or after the last: their leaves opened and sized (EOVERFLOW
  // "device is less than the minimum size (64M)"), labels cleared, a metaslab array made in
  // the MOS, the config in every label; synced before returning. EINVAL for an nvroot
  // without devices.
  Status AddVdevs(const NvList& nvroot);
  // zpool remove of a separate log device (spa_vdev_remove, SPA_VERSION_HOLES): guid names
  // its top-level vdev. The device takes no new log blocks; every dataset's intent log is
  // destroyed in a txg that also holds every change the logs described (zil_vdev_offline:
  // nothing needs them any more), which frees the blocks on the device; then its metaslab
  // objects are freed and its place becomes a hole (or goes, when it is the last top-level
  // vdev), synced, and its labels say txg 0 (an import no longer takes it). ENODEV "no such
  // device in pool"; ENOTSUP for a device that is no log device of its own (a data vdev, a
  // log mirror's side); EEXIST when a dataset's log still waits to be replayed (zil_suspend's
  // EBUSY, as zfs-fuse reports it); EBUSY when space stays allocated on it.
  Status RemoveVdev(uint64_t guid);
  // zpool clear (spa_vdev_state_enter, vdev_clear, vdev_reopen): the error counters of
  // the vdev named by guid and every leaf below it (0: the whole pool) are zeroed; each of
  // those leaves that was dead (FAULTED, UNAVAIL: vdev_health.h) is opened again by its
  // path, and takes I/O again when the device's labels name it (UNAVAIL "cannot open"
  // otherwise); then a sync writes the labels it missed (a device that fails again is
  // counted and faulted again). ENODEV "no such device in pool". A suspended pool stays
  // suspended (its counters are zeroed).
  Status ClearErrors(uint64_t guid);
  // zpool offline (vdev_offline, pool_vdev_state.cc): the leaf named by guid takes no more
  // I/O and its DTL records each txg synced meanwhile; "offline"=1 goes into its config
  // unless temporary (-t). ENODEV "no such device in pool"; ENOTSUP for an interior vdev;
  // EBUSY "no valid replicas" when its top-level vdev could no longer serve every block.
  Status OfflineVdev(uint64_t guid, bool temporary);
  // zpool online (vdev_online): the leaf is reopened by its path (its labels must name it:
  // else it stays UNAVAIL) and takes I/O again; a resilver of the txgs its DTL holds
  // starts. Returns the leaf's state after it (vdev_online's *newstate, which
  // zpool_do_online warns about unless healthy): kOnline, kCantOpen (the reopen failed),
  // or kFaulted / kDegraded, which its errors set and only zpool clear drops (vdev_open
  // bails on vdev_faulted, keeps vdev_degraded). ENODEV, ENOTSUP as above. expand (zpool
  // online -e, ZFS_ONLINE_EXPAND) or the autoexpand property: the leaf's top-level vdev
  // grows to what its devices now offer (ExpandTopLocked; not for a dead leaf); ENOTSUP
  // for a hot spare or a dax vdev.
  Result<LeafState> OnlineVdev(uint64_t guid, bool expand);
  // zpool attach / replace (spa_vdev_attach; pool_attach.cc): the leaf nvroot describes
  // (nvroot's one child: {type: file|disk, path}; EINVAL "new device must be a single disk"
  // otherwise) joins the leaf named by guid: as a new side of its mirror, or (replacing)
  // in a "replacing" vdev inserted above it, or with a mirror inserted above a top-level
  // leaf. A new leaf that is one of the pool's AVAIL hot spares (replacing) goes into a
  // "spare" vdev instead, keeping the spare's guid and marked is_spare (pool_spares.cc); a
  // raidz member's replacing vdev is a raidz column. The new leaf is labelled, its DTL
  // holds every txg from the pool's first to the open one, and a resilver starts; synced
  // before returning. ENODEV, ENOTSUP (an interior vdev named; attach below raidz or
  // replacing; replace of a replacing vdev's side; a spare for a log or for a spare vdev's
  // non-spare side), EBUSY (a spare in use, or attached rather than replacing), EOVERFLOW
  // (smaller than the vdev it joins, a raidz member's share of it).
  Status AttachVdev(uint64_t guid, const NvList& nvroot, bool replacing);
  // zpool detach (spa_vdev_detach): the leaf leaves its mirror or replacing vdev (a parent
  // left with one child gives it its place; a top-level one keeps its guid), its DTL object
  // is freed and its labels say txg 0. pguid (not 0): EBUSY unless that is still its parent;
  // replace_done: only the first child of a replacing vdev goes (ENOTSUP otherwise). Of a
  // spare vdev: the spare detached gets its spare label back (AVAIL again); the original
  // detached makes the spare a pool disk, gone from the spare list.
  // ENOTSUP "only applicable to mirror and replacing vdevs"; EBUSY when the others would
  // not hold every block (vdev_dtl_required).
  Status DetachVdev(uint64_t guid, uint64_t pguid = 0, bool replace_done = false);
  // spa_vdev_resilver_done: the old side of every replacing vdev whose new side holds every
  // block is detached. Called by ScanStep once a resilver ended (and after an import).
  void ResilverDone();

  // ---- Hot spares (pool_spares.cc) ----
  // zfsd's retire agent (OpenZFS zed zfs_retire.c, replace_with_spare): each leaf that died
  // (FAULTED "too many errors", UNAVAIL "cannot open", REMOVED) or was degraded by its
  // errors (DEGRADED: zfs_retire_recv_cb spares after zpool_vdev_degrade too) and is no
  // spare's and in no spare or replacing vdev yet is replaced with the first AVAIL spare, as
  // zpool replace would (a "spare" vdev, a resilver), with a vdev_spare event. Called by
  // zfsd's scan thread after a leaf died or was degraded (spare_wanted()); false when
  // nothing was done.
  bool ActivateSpares();
  // A leaf died or was degraded since the last ActivateSpares (set by the I/O path, zinject
  // and an import with spares; read without a lock).
  bool spare_wanted() const { return spare_wanted_.load(std::memory_order_relaxed); }

  // ---- Device watch (pool_removal.cc; OpenZFS zed's zfs_mod.c) ----
  // Each block-device leaf is asked whether its device is still there (File::Present); one
  // that is gone goes REMOVED as spa_async_remove makes it. A dead disk leaf (REMOVED,
  // FAULTED, UNAVAIL) whose path names a device again is brought back as zfs_process_add
  // does: a device whose labels name the leaf is onlined; another, with autoreplace=on, is
  // replaced in place (labelled and resilvered). Called by zfsd's scan thread on a device
  // event and at its poll; uevent: a block device came, changed or went, so a dead leaf
  // looked at less than 3 s ago is looked at again. True when the tree or a leaf's state
  // changed.
  bool CheckDevices(bool uevent = false);

  // ---- Fault injection (pool_inject.cc; zio_inject.c's device handlers, zinject(8)) ----
  struct InjectHandler {
    uint64_t id = 0;     // unique in the process (zio_inject's inject_next_id)
    uint64_t guid = 0;   // the vdev: its leaves take the fault
    int error = 0;       // EIO or ENXIO
    int iotype = 0;      // kInjectRead, kInjectWrite or kInjectAll
    uint32_t freq = 100; // percent of the I/O that fails
    unsigned labels = 0; // a label fault (zinject -L): these kLabel* regions fail, EIO
  };
  static constexpr int kInjectRead = 1, kInjectWrite = 2, kInjectAll = 3;
  // zio_inject_fault: a handler failing the I/O of every leaf below the vdev named by guid
  // (vdev_inject.h says how); its id. ENODEV "no such device in pool".
  // labels (kLabel* bits, not 0): a label fault instead, every I/O of those regions of the
  // leaves' labels failing with EIO (error, iotype and freq unused).
  Result<uint64_t> InjectFault(uint64_t guid, int error, int iotype, uint32_t freq, unsigned labels = 0);
  // zio_clear_fault: false when no handler of this pool has the id.
  bool ClearInjection(uint64_t id);
  std::vector<InjectHandler> Injections() const;
  // zinject -A fault (vdev_fault): every leaf below the vdev named by guid FAULTED at once,
  // as after too many errors; zpool clear returns it to service. ENODEV as above.
  Status FaultDevice(uint64_t guid);
  // zinject -t data (zio_inject_fault with a data record): reads of the blocks at `level`
  // of object obj of filesystem fs above bytes [start, end] fail with error (EIO or ECKSUM),
  // freq percent of the time; the handler lives in libcore/zio/zio_inject.h. dnode
  // (zinject -t dnode, translate.c): the block at `level` of the filesystem's meta-dnode
  // that holds obj's dnode instead (start and end unused). ENOENT when the filesystem or
  // the object does not exist.
  Result<uint64_t> InjectData(const std::string& fs, uint64_t obj, uint64_t start, uint64_t end, int error,
                              uint32_t freq, int level = 0, bool dnode = false);
  // zinject -t mos, mosdir, metaslab, config, bplist, spacemap, errlog (translate.c's MOS
  // types): reads of the MOS's blocks of that DMU type (any, for mos) fail. EINVAL for
  // another type.
  Result<uint64_t> InjectMos(const std::string& type, int error, uint32_t freq);
  // zinject -b objset:object:level:blkid (translate_raw): reads of that one block fail
  // (objset 0: the MOS's object). EINVAL for a level outside 0..6.
  Result<uint64_t> InjectRaw(uint64_t objset, uint64_t object, int level, uint64_t blkid, int error,
                             uint32_t freq);
  // zinject -a (arc_flush): every unit of the ARC that can be evicted is, so the next reads
  // go to disk (and meet data handlers); the ARC's size bound is kept.
  void FlushArc();

  // ---- Pool version and feature flags (pool_features.cc; spa_feature.h) ----
  // 1..23 for a legacy pool, kSpaVersionFeatures (5000) once a feature was enabled.
  uint64_t version();
  // Makes feature `name` (guid or short name) active in the open txg, written by the next
  // sync: a legacy pool first becomes version 5000 (its three feature ZAPs created; labels,
  // MOS config and uberblock say 5000 from that txg on), the feature is enabled (its
  // description written) and its refcount made 1 unless already above 0; a feature needed
  // to read the MOS is named in every label's features_for_read. EINVAL "feature 'x'
  // unsupported" for a feature we do not know, EROFS on a read-only pool. Idempotent.
  Status ActivateFeature(const std::string& name);
  // spa_feature_incr / spa_feature_decr: one more or one fewer user (enabling the feature
  // first; EINVAL when decrementing an inactive one). At 0 the feature stays enabled and
  // leaves the labels' features_for_read.
  Status IncrFeature(const std::string& name);
  Status DecrFeature(const std::string& name);
  // Refcount above 0 (guid or short name).
  bool FeatureActive(const std::string& name);
  // Every enabled feature: guid -> refcount (empty for a legacy pool).
  std::map<std::string, uint64_t> Features();
  // zhack feature enable/ref: any feature, known or not, with its description, its ZAP
  // (for_write: features_for_write) and whether the labels name it (mos), given refcount.
  // For tests of how pools with features we do not know are refused.
  Status ZhackFeature(const std::string& guid, const std::string& description, bool for_write,
                      bool mos, uint64_t refcount);

  // Pool properties (zpool get/set). Unknown names: EINVAL; read-only ones: EROFS on set;
  // bad values: EINVAL with OpenZFS's message in the status.
  Result<std::vector<std::pair<std::string, PropValue>>> GetProps();
  Result<PropValue> GetProp(const std::string& name);
  Status SetProp(const std::string& name, const std::string& value);

  // Filesystems (dmu_objset_create / dsl_dataset_destroy). name = "pool/a/b"; the parent
  // must exist (ENOENT "parent does not exist"), the name must not (EEXIST "dataset already
  // exists"); each new filesystem is a clone of $ORIGIN@$ORIGIN holding an empty ZPL v4 root,
  // created in the open txg (synced by the caller). props are dataset properties as -O takes.
  // creator: the uid the ancestors' create-time permissions go to (dsl_deleg_set_create_perms;
  // 0 for root).
  Status CreateFilesystem(const std::string& name, const std::map<std::string, std::string>& props,
                          uint64_t creator = 0);
  // Destroys a filesystem without children or snapshots (EBUSY otherwise), freeing its blocks.
  Status DestroyFilesystem(const std::string& name);
  // ---- Volumes (pool_zvol.cc; zfs-fuse zvol.c over libcore/zvol). CreateVolume: a
  // DMU_OST_ZVOL dataset of volsize bytes in blocks of volblocksize (zvol_create_cb), props
  // as CreateFilesystem takes them (refreservation is the caller's: zfs_do_create). Errors as
  // CreateFilesystem's, EDOM for a bad block size, EINVAL for a bad size (libzfs's words).
  Status CreateVolume(const std::string& name, uint64_t volsize, uint64_t volblocksize,
                      const std::map<std::string, std::string>& props, uint64_t creator = 0);
  // The dataset (head or snapshot) is a volume: its objset is DMU_OST_ZVOL.
  Result<bool> IsVolume(const std::string& name);
  // zvol_get_stats of a volume or a volume's snapshot (EINVAL "not a volume" otherwise).
  Result<ZvolStats> VolumeStats(const std::string& name);
  // The head volumes, children after their parent (what zfsd exposes as devices).
  Result<std::vector<std::string>> Volumes();
  // zvol_read / zvol_write of [off, off + len), clipped to the volsize (EINVAL past it).
  // Reads do their disk part without the pool lock (ObjsetWriter::PlanRead); writes are
  // charged to the open txg like file writes (ENOSPC, EDQUOT, the write throttle).
  Result<Bytes> ReadVolume(const std::string& name, uint64_t off, uint64_t len);
  Status WriteVolume(const std::string& name, uint64_t off, ByteSpan data);
  // Runs fn on the ZPL of a filesystem under the pool lock, in the open txg (its number is
  // passed for znode generations). The filesystem's objset is opened for writing on first use
  // with the data policy of its properties (compression, checksum, copies; inherited).
  // reserve: the bytes fn is about to write (dsl_dir_tempreserve_space's estimate): refused
  // with EDQUOT when a quota or refquota leaves no room for them next to what the open txg
  // already holds for the dataset, ENOSPC when the pool has none (its slop kept back).
  Status WithZpl(const std::string& fs, const std::function<Status(ZplWriter&, uint64_t txg)>& fn,
                 uint64_t reserve = 0);
  // zil_commit (pool_zil.cc): makes every change made so far to filesystem fs durable —
  // its records written to the dataset's intent log and flushed, or, when the log cannot
  // take them (its chain not yet in a synced header, a change no record describes, more
  // than 16 MiB to log, no log space), the open txg synced. Concurrent calls share one
  // log write (a caller whose changes the running commit covers just waits for it).
  // The sync property (standard, always, disabled) decides: disabled commits nothing;
  // changes_only (after a change, for sync=always) commits only under always.
  Status ZilCommit(const std::string& fs, bool changes_only = false);
  // What the intent logs did since the pool was opened.
  struct ZilStats {
    uint64_t commits = 0;        // commits that wrote log blocks
    uint64_t commit_syncs = 0;   // commits that synced the txg instead
    uint64_t commit_joined = 0;  // commits covered by another caller's
    uint64_t log_blocks = 0, log_bytes = 0;
    uint64_t replayed = 0;       // records replayed (at the first open of a filesystem)
    uint64_t indirect_blocks = 0;  // blocks written for WR_INDIRECT records (dmu_sync)
  };
  ZilStats zil_stats() const;
  // Why the last replay stopped before the end of its log (Ok when none did); cleared.
  Status TakeReplayError();
  // ---- DAX files mapped by clients (pool_dax.cc; libzfs's uzfs_mmap of a DAX file maps the
  // device's own pages). MapDaxFile places the extents of blocks covering [off, off + len)
  // (clipped to the file's size rounded up to an extent; holes get new zeroed extents,
  // extents a snapshot shares are copied), syncs the txg so their placement is durable, and
  // holds the file mapped until UnmapDaxFile: while any file of a dataset is held, its
  // snapshot, rollback and destroy fail with EBUSY unless zfsd paused its mappings
  // (SetDaxPaused: snapshot, rollback) or revoked them (destroy -f), and so do the pool's
  // export and destroy; a truncate that frees a mapped file's extents first revokes the
  // pages past the end (SetDaxRevoker). EINVAL for a file that is not a DAX file.
  struct DaxExtent {
    uint64_t file_off = 0;  // the extent's first byte in the file
    uint32_t device = 0;    // index into DaxMap::devices
    uint64_t dev_off = 0;   // its first byte on the device (labels included)
    uint64_t vdev = 0, dva_off = 0;  // its DVA (FenceDaxExtents)
  };
  struct DaxMap {
    std::vector<std::string> devices;  // the dax vdevs' device paths
    std::vector<bool> emulated;        // per device: a file standing in (no MAP_SYNC)
    std::vector<DaxExtent> extents;    // in file order, kDaxExtentSize each
    uint64_t ds_obj = 0;               // for UnmapDaxFile
  };
  Result<bool> IsDaxFile(const std::string& fs, uint64_t obj);
  // A mapping is known by its head dataset's object (DaxMap::ds_obj), which a rename of the
  // dataset or of a parent, a rollback and a received incremental (a clone swap) all keep;
  // ENOENT once that object is no filesystem's head any more (destroyed).
  // The generation of DAX file obj of dataset ds_obj (its znode's gen): a rollback or a
  // receive may leave another file, or none, under a mapped object's number (ENOENT;
  // EINVAL when not a DAX file).
  Result<uint64_t> DaxFileGen(uint64_t ds_obj, uint64_t obj);
  Result<DaxMap> MapDaxFile(const std::string& fs, uint64_t obj, uint64_t off, uint64_t len);
  Result<DaxMap> MapDaxFile(uint64_t ds_obj, uint64_t obj, uint64_t off, uint64_t len);
  // The head dataset object of filesystem fs (ENOENT when there is none).
  Result<uint64_t> HeadDatasetObj(const std::string& fs);
  void UnmapDaxFile(uint64_t ds_obj, uint64_t obj);
  // EBUSY "pool is busy: a DAX file is mapped" while any is (Export and Destroy say it too;
  // zfsd asks first, before it unmounts anything). With fs: "dataset is busy: a DAX file of
  // it is mapped" while a file of that filesystem is (destroy, rollback).
  Status CheckNoDaxMaps(const std::string& fs = "");
  // While paused, a snapshot or rollback of the dataset (its DAX files' mappings paused by
  // zfsd: no store can land) is allowed though its files are mapped; zfsd resumes each
  // mapping with the extents placed anew, or revokes it (file_revoke.cc).
  void SetDaxPaused(uint64_t ds_obj, bool paused);
  // A fence on DAX extents (top-level vdev id, DVA offset) that a client may still map after
  // zfsd stopped reaching it (severed, or gone without unmapping: its process keeps a device
  // mapping valid until it exits, whatever becomes of its socket). While held() says so, no
  // extent of the fence is handed to a new file (DaxStore::NewExtent skips it); a fence whose
  // held() is false is dropped. In memory only: frees are recorded as usual, so what is on
  // disk is exactly as without fences, and a new zfsd knows none.
  void FenceDaxExtents(std::vector<std::pair<uint64_t, uint64_t>> extents, std::function<bool()> held);
  // The extents fences hold now (released fences dropped first).
  size_t DaxFencedExtents();
  // Moves every extent of DAX file obj of head dataset ds_obj that is in `extents` (top-level
  // vdev, DVA offset) to a new extent holding its bytes as they are now, and frees the old
  // one (FileService: a client severed while it may still store into those extents; fenced
  // first, so they go to no new file). Whatever is made after this (a snapshot) shares only
  // the copies. Synced before it returns.
  Status MoveDaxExtents(uint64_t ds_obj, uint64_t obj, const std::set<std::pair<uint64_t, uint64_t>>& extents);
  // Reads a file of fs as ZplWriter::Read does, with the disk reads and ARC fills after the
  // pool lock is dropped (ObjsetWriter::PlanRead): a read never waits for another's disk
  // reads, nor for a sync's writes, only for the lookups. also (optional) runs under the lock
  // with the read (the atime update). A block freed and reused meanwhile (its checksum fails)
  // makes the read start again, then wholly under the lock. A read continuing a sequential
  // stream starts the ARC fills of the window ahead of it (zfetch_).
  // Units ReadFile's read-ahead has filled or is filling (tests, statistics).
  uint64_t prefetch_issued() const { return zfetch_.issued(); }
  Result<Bytes> ReadFile(const std::string& fs, uint64_t obj, uint64_t off, uint64_t len,
                         const std::function<Status(ZplWriter&, uint64_t txg)>& also = nullptr);
  // ReadFile for a reply that takes the ARC's pages by reference (the FUSE read splices them
  // from the segment): the completed plan holds the cached units it covers until it goes;
  // plan->Parts(*length) are the bytes.
  Result<std::unique_ptr<ObjsetWriter::ReadPlan>> ReadFileHeld(
      const std::string& fs, uint64_t obj, uint64_t off, uint64_t len,
      const std::function<Status(ZplWriter&, uint64_t txg)>& also, uint64_t* length);
  struct DatasetRow {
    std::string name;
    uint64_t ds_obj = 0, used = 0, referenced = 0, creation_txg = 0, objects = 0;
  };
  // Every filesystem (children after their parent, in child-map order).
  Result<std::vector<DatasetRow>> Filesystems();

  // Dataset properties and listing (pool_dsprops.cc; dsl_prop.c, dsl_dataset_stats,
  // dsl_dir_stats, dsl_dir_space_available).
  struct DsProp {
    std::string name;
    std::string value;   // exact, as `zfs get -p` prints it (creation in seconds, ratios as
                         // "1.00", quotas 0 for none); mounted is left "no" for zfsd to fill
    std::string source;  // "-", "default", "local", "received", "inherited from NAME"
    std::string received = "-";  // the value received here (zfs get -o received), "-" for none
  };
  // SPA_VERSION_RECVD_PROPS: received properties kept apart from local ones.
  static constexpr uint64_t kSpaVersionRecvdProps = 22;
  struct DsEntry {
    std::string name;
    bool snapshot = false;
    uint64_t createtxg = 0;
    bool volume = false;  // a volume or a volume's snapshot (DMU_OST_ZVOL)
  };
  // Every filesystem (children after their parent) and snapshot (after its filesystem, by
  // creation txg); names beginning with '$' are internal and left out, and so are those
  // with '%' (a receive's temporary clones, as libzfs hides them) unless hidden.
  Result<std::vector<DsEntry>> Datasets(bool hidden = false);
  // Every property of a filesystem or snapshot ("pool/fs@snap") in `zfs get all` order, then
  // its user properties (set or inherited) sorted by name. ENOENT "dataset does not exist".
  Result<std::vector<DsProp>> DatasetProps(const std::string& name);
  // zfs set: EINVAL with zfs's words for unknown properties and bad values; ENOSPC "size is
  // less than current used or reserved space" for a quota below what is used.
  // received: stored as the received value ("prop$recvd", pool version 22+), which a local
  // value overrides (dsl_prop_set_sync's ZPROP_SRC_RECEIVED).
  Status SetDatasetProp(const std::string& name, const std::string& prop, const std::string& value,
                        bool received = false);
  // zfs inherit: removes the local value (EINVAL "'quota' property cannot be inherited"
  // for properties without inheritance). On a dataset that has received properties the
  // received value is hidden too ("prop$inherit"), unless revert (zfs inherit -S: back to
  // the received value, for any property).
  Status InheritDatasetProp(const std::string& name, const std::string& prop, bool revert = false);
  // zfs_ioc_recv's properties (pool version 22+, SPA_VERSION_RECVD_PROPS): they replace the
  // dataset's received ones (those the stream lacks are cleared; on the first receive with
  // properties, its local ones are cleared instead), the dataset is marked "$hasrecvd", and
  // each is stored as received. Below version 22 they are set as local values. A property
  // that cannot be set is named in *errors with its error; the rest are set.
  Status ReceiveProps(const std::string& name, const std::vector<std::pair<std::string, std::string>>& props,
                      std::vector<std::pair<std::string, Status>>* errors);
  // dsl_prop_get_hasrecvd / dsl_prop_unset_hasrecvd: whether a filesystem has the mark a
  // receive with properties leaves; a failed first such receive takes it away again, so the
  // next one again replaces the local values.
  Result<bool> HasRecvdProps(const std::string& name);
  Status UnsetHasRecvd(const std::string& name);

  // Pool history (spa_history_log); records as `zpool history` prints them.
  Status LogHistory(const std::string& command, uint64_t uid = 0);
  struct HistoryRecord {
    uint64_t time = 0;
    std::string command;  // an internal event's: its "history internal str"
    bool internal = false;
    NvList record;  // as stored: who, hostname, zone, internal event and txg when present
  };
  Result<std::vector<HistoryRecord>> History();

  // Snapshots, clones, rollback, rename (pool_snapshots.cc)
  // zfs snapshot [-r]: every "pool/fs@snap" is taken in one txg (dsl_dataset_snapshot_sync
  // runs after the datasets' objsets are synced, so unsynced changes are in the snapshots),
  // synced before returning. Every name is checked first and nothing is taken on error:
  // EINVAL for a bad name, ENAMETOOLONG, ENOENT "dataset does not exist", EEXIST "dataset
  // already exists". A filesystem named twice gets its snapshots in successive txgs.
  Status Snapshot(const std::vector<std::string>& names);
  // zfs destroy fs@snap (dsl_dataset_destroy_sync), in the open txg: blocks only it held are
  // freed, its successor's dead list is split. ENOENT "dataset does not exist"; EBUSY
  // "snapshot has dependent clones" or "dataset is busy" (zfs holds). Same as
  // DestroySnapshots({name}).
  Status DestroySnapshot(const std::string& name);
  // zfs destroy -r fs@snap (dsl_snapshots_destroy): every named snapshot, all or none — each
  // is checked first (errors as above; *failed, when given, names the snapshot at fault),
  // then all are destroyed in the open txg. defer (zfs destroy -d; ENOTSUP "unsupported
  // version" below pool version 18): a snapshot with clones or holds is marked
  // (DS_FLAG_DEFER_DESTROY) instead, and goes when its last clone is destroyed or its last
  // hold released.
  Status DestroySnapshots(const std::vector<std::string>& names, bool defer = false,
                          std::string* failed = nullptr);
  // ---- Delegated administration (pool_deleg.cc; pool version 15: libcore/dsl/dsl_deleg.h) ----
  // zfs allow / unallow (dsl_deleg_set): acl {whokey: {perm: boolean}} granted on
  // filesystem or volume fs, or (unset) taken away (a whokey without an nvlist: all it has),
  // in the open txg, each change logged as the internal event "permission update" /
  // "permission remove" / "permission who remove". ENOENT "dataset does not exist", EINVAL
  // "invalid permission" (zfs_deleg_verify_nvlist) or for a snapshot, ENOTSUP "pool must be
  // upgraded" below version 15, EROFS.
  Status SetDelegations(const std::string& fs, const NvList& acl, bool unset);
  // zfs allow FS (dsl_deleg_get): fs's delegations, then each ancestor's that has any.
  Result<std::vector<std::pair<std::string, DelegEntries>>> Delegations(const std::string& fs);
  // dsl_deleg_access: OK when cr holds perm on dataset (a filesystem, volume or snapshot) by
  // delegation; EPERM "permission denied", ECANCELED "delegated administration is disabled
  // on pool" (delegation=off), ENOENT "dataset does not exist". below: as a descendant of
  // dataset would inherit it (only descendant grants count, as for a snapshot).
  Status DelegationAccess(const std::string& dataset, const std::string& perm, const DelegCred& cr,
                          bool below = false);
  // ---- User holds (pool_holds.cc; pool version 18: libcore/dsl/dsl_userhold.h) ----
  // zfs hold (dsl_dataset_user_hold): tag on snapshot fs@snap and, when recursive, on the
  // snapshot of that name of every descendant of fs that has one; all or none, every check
  // first, then the holds in the open txg (synced by the caller), each one logged as the
  // internal event "user hold". Errors, *failed naming the filesystem at fault: ENOENT
  // "dataset does not exist" (with recursive: when no descendant has the snapshot), EINVAL
  // "operation not applicable to datasets of this type" for a bad snapshot name, EEXIST
  // "tag already exists on this dataset", E2BIG "tag too long", ENOTSUP "pool must be
  // upgraded" below version 18, EROFS.
  // temphold (zfs hold -t, and the holds zfs send -R/-I/-p takes): also listed in the
  // pool's tmp_userrefs, released by the next import (ReleaseTmpHolds); E2BIG when the tag
  // leaves no room for that list's prefix.
  Status UserHold(const std::string& fs, const std::string& snap, const std::string& tag,
                  bool recursive, std::string* failed, bool temphold = false);
  // spa_load's dsl_pool_clean_tmp_userrefs: every temporary hold released (a snapshot
  // zfs destroy -d marked goes with its last), then synced. A hold whose release fails stays
  // listed, as v23 leaves it. Nothing on a read-only import.
  Status ReleaseTmpHolds();
  // zfs release (dsl_dataset_user_release): the tag leaves each snapshot as UserHold finds
  // them (ESRCH "no such tag on this dataset" where one lacks it); a snapshot marked for
  // deferred destroy that is left without holds and clones is destroyed in the same txg.
  Status UserRelease(const std::string& fs, const std::string& snap, const std::string& tag,
                     bool recursive, std::string* failed);
  // zfs holds (dsl_dataset_get_holds): the holds of snapshot "pool/fs@snap", by tag.
  // ENOENT "dataset does not exist", EINVAL for a name that is no snapshot's.
  Result<std::vector<SnapshotHold>> UserHolds(const std::string& snapshot);
  // zfs clone: filesystem fs with the contents of snapshot snap (a dataset whose origin is
  // snap), in the open txg; props as CreateFilesystem takes them. Errors as
  // CreateFilesystem's; ENOENT when snap does not exist, EINVAL when it is no snapshot.
  Status Clone(const std::string& snap, const std::string& fs,
               const std::map<std::string, std::string>& props, uint64_t creator = 0);
  // zfs rollback to the latest snapshot: the filesystem's unsynced changes are dropped, its
  // blocks born since the snapshot freed, its contents the snapshot's. EINVAL "no
  // snapshots" when it has none (a clone rolls back to its origin, as in ZFS).
  Status Rollback(const std::string& fs);
  // zfs rename: a filesystem to a new name anywhere in the pool (dsl_dir_rename_sync: space
  // moves from the old parents to the new), or a snapshot within its filesystem
  // ("pool/fs@a" to "pool/fs@b"), in the open txg. ENOENT, EEXIST, EINVAL for renaming the
  // pool, into a descendant, or a snapshot to another filesystem, EXDEV to another pool.
  // Every call here refuses names with invalid characters or '$' components (EINVAL).
  Status Rename(const std::string& from, const std::string& to);
  // zfs promote (dsl_dataset_promote_sync): the clone takes over the origin's snapshots up
  // to and including its origin; the former origin filesystem becomes the clone.
  // EINVAL "not a cloned filesystem"; EEXIST "conflicting snapshot 'S' from parent 'FS'"
  // when one of the snapshots to move has a name the clone already uses (nothing changes).
  Status Promote(const std::string& clone);
  struct SnapshotRow {
    std::string name;  // "pool/fs@snap"
    uint64_t ds_obj = 0;
    uint64_t used = 0;  // ds_unique_bytes: what destroying it would free
    uint64_t referenced = 0, compressed = 0, uncompressed = 0;
    uint64_t creation_time = 0, creation_txg = 0, guid = 0;
    uint64_t userrefs = 0;            // zfs holds on it (it cannot be destroyed while > 0)
    std::vector<std::string> clones;  // filesystems cloned from it
  };
  // The snapshots of a filesystem, oldest first. ENOENT "dataset does not exist".
  Result<std::vector<SnapshotRow>> Snapshots(const std::string& fs);
  // The origin snapshot of a clone ("" for a filesystem that is none).
  Result<std::string> Origin(const std::string& fs);

  // ---- Pinned files (pool_pin.cc): FUSE passthrough (daemon/fuse_passthrough.h) lets the
  // kernel read a file straight from its ARC segment, so nothing may be punched out of it
  // while the kernel does. Takes the pool lock. EINVAL without an Arc; ENOENT when obj is no
  // regular file of fs.
  // Makes every unit of the file (up to its current size) resident and holds it once for the
  // pin; returns the segment. Idempotent: calling it again (after a write that extended the
  // file, say) holds only the units not yet held for the pin. A segment different from the
  // one an earlier call returned means the ARC dropped the object meanwhile (its block size
  // changed): the old segment no longer follows the file. On error (a unit that cannot be
  // read; ENOTSUP for a file whose blocks fit no ARC unit) the holds this call took are
  // released again; those of earlier calls stay until UnpinFile.
  Result<std::shared_ptr<ArcSegment>> PinFile(const std::string& fs, uint64_t obj);
  // Releases every hold PinFile took on the file whose units are keyed k (the pinned
  // segment's key(): it still names the file after a rename or a destroy of the dataset). A
  // no-op when it is not pinned.
  void UnpinFile(const ArcObjKey& k);
  // ---- end of pinned files

  // ---- .zfs/snapshot: read-only views of snapshots (pool_snapview.cc; zfs_ctldir.c) ----
  // A snapshot's objset never changes, so a view reads it straight from its on-disk blocks.
  struct SnapshotView {
    std::string name;  // "pool/fs@snap" when opened (a later rename does not change it)
    uint64_t ds_obj = 0, guid = 0, creation_txg = 0;
    std::unique_ptr<ObjSet> os;
    std::unique_ptr<Zpl> zpl;  // over *os
  };
  // Opens snapshot "pool/fs@snap" read-only, under the pool lock. ENOENT "dataset does not
  // exist", EINVAL for a name that is no snapshot's.
  Result<std::unique_ptr<SnapshotView>> OpenSnapshotZpl(const std::string& snap);
  // Runs fn on the view's ZPL under the pool lock, after checking that its snapshot still
  // exists (same ds object and guid): ENOENT "snapshot was destroyed" otherwise, so no read
  // can race the freeing (or reuse) of its blocks. Views are used only through this.
  Status WithSnapshotZpl(SnapshotView& view, const std::function<Status(Zpl&)>& fn);
  // ---- end of .zfs/snapshot views ----
  // ---- zfs send (pool_send.cc; dmu_sendbackup) ----
  struct SendSource {
    std::string name;  // "pool/fs@snap"
    uint64_t ds_obj = 0, from_obj = 0, from_txg = 0;
    DrrRecord begin;   // the stream's BEGIN record
    BlkPtr bp;         // the snapshot's objset
  };
  // Resolves snapshot snap and (from, an incremental source: "pool/fs@a" or "@a") under the
  // lock and marks both busy (a destroy fails with EBUSY "dataset is busy", as a
  // dsl_dataset_hold keeps it) until EndSend. ENOENT "dataset does not exist"; ENOENT
  // "incremental source (@a) does not exist"; EXDEV "not an earlier snapshot from the same
  // fs"; EINVAL for a name that is no snapshot's. fromorigin (zfs send -i ORIGIN of a clone,
  // and each -R filesystem's first snapshot; from must be empty): the stream of a clone's
  // snapshot is the incremental from its dir's origin, flagged DRR_FLAG_CLONE; of anything
  // else, a full stream (dmu_sendbackup's fromorigin).
  Result<SendSource> BeginSend(const std::string& snap, const std::string& from,
                               bool fromorigin = false);
  void EndSend(const SendSource& src);
  // The stream (DmuSendBackup) of a source BeginSend resolved, to sink: read without the pool
  // lock (a snapshot's blocks never change and stay allocated while it is busy).
  Status SendStream(const SendSource& src, const StreamSink& sink, uint64_t* bytes);
  // ---- zfs receive (pool_recv.cc; dmu_recv_begin / dmu_recv_stream / dmu_recv_end) ----
  struct RecvState {
    std::string fs, snap;  // the filesystem received into, the snapshot to take at the end
    uint64_t dir = 0, ds_obj = 0;  // the dataset the records go to (the clone when existing)
    DrrRecord begin;
    uint64_t max_obj = 0;  // the highest object the stream allocated so far
    // An incremental stream into existing filesystem fs (dir head_dir, head head_ds) is
    // received into the temporary clone fs/%snap of its latest snapshot, swapped in at the end.
    bool existing = false, force = false;
    uint64_t head_dir = 0, head_ds = 0;
  };
  // dmu_recv_begin. A full stream: into new filesystem fs (CreateFilesystem's errors: EEXIST
  // "dataset already exists", ENOENT for a missing parent): fs is made empty of objects and
  // flagged inconsistent (DS_FLAG_INCONSISTENT) on disk before any of the stream is, so a
  // crash leaves a filesystem an import destroys (DestroyInconsistent, as zfs-fuse's does).
  // An incremental stream (recv_existing_check / recv_existing_sync): fs must exist (ENOENT),
  // be unchanged since its latest snapshot unless force (ETXTBSY; unsynced changes count),
  // and that snapshot must be the stream's source, or later ones must add nothing to it
  // (ENODEV); EEXIST when fs@snap or fs/%snap exists. The records then go to the new clone
  // fs/%snap of the latest snapshot, flagged inconsistent on disk: a crash or an abort leaves
  // fs as it was. A clone stream (DRR_FLAG_CLONE; recv_new_check / recv_new_sync with an
  // origin): new filesystem fs is made a clone of snapshot origin (whose guid must be the
  // stream's fromguid: ENODEV), flagged inconsistent, and the records go into it; EINVAL
  // "invalid backup stream" without an origin or when fs exists. ENOTSUP for volume streams.
  Result<RecvState> RecvBegin(const std::string& fs, const std::string& snap, const DrrRecord& begin,
                              bool force = false, const std::string& origin = "");
  // One record (restore_object, restore_freeobjects, restore_write, restore_free) with its
  // bonus or data: EINVAL "invalid backup stream: ..." for one that does not fit; written
  // in the open txg under the write throttle, as WithZpl's writes. An object the stream sends
  // again keeps its blocks when its type, block size and bonus layout stay
  // (dmu_object_reclaim); otherwise it is made anew.
  Status RecvRecord(RecvState& st, const DrrRecord& r, ByteSpan payload);
  // restore_write_byref: a deduplicated stream's WRITE_BYREF, written as a WRITE of the data
  // at (refobject, refoffset) of snapshot refsnap (the caller found it by refguid), or of
  // the objset being received when refsnap is empty (refguid is the stream's toguid).
  // EINVAL "invalid backup stream: ..." when that object is not there.
  Status RecvWriteByref(RecvState& st, const DrrRecord& r, const std::string& refsnap);
  // dmu_recv_new_end: snapshot snap taken with the stream's guid and creation time, the
  // inconsistent flags cleared; synced. dmu_recv_existing_end for an incremental: in one txg,
  // the head rolled back to its latest snapshot when it changed meanwhile (ETXTBSY instead
  // unless force), the clone's objset swapped in (CloneSwapSync), the clone destroyed and
  // the snapshot taken; synced. The caller drops the head's mount caches (its contents
  // change under it, as in a rollback).
  Status RecvEnd(RecvState& st);
  // The half-received filesystem (or temporary clone) destroyed; synced.
  Status RecvAbort(RecvState& st);
  // dsl_destroy_inconsistent: every filesystem still flagged inconsistent (a receive cut
  // short by a crash) destroyed; run at every writable import.
  Status DestroyInconsistent();

  // ---- Mapped files (pool_mmap.cc; docs/design.md section 7): the daemon's file service maps a
  // regular file's ARC segment into clients and serves their faults through these. Every call
  // takes the pool lock. EINVAL without an Arc; ENOENT when obj is no regular file of fs.
  // The object's segment, sized to the file's size.
  Result<std::shared_ptr<ArcSegment>> MapFile(const std::string& fs, uint64_t obj);
  struct MapUnit {
    uint64_t off = 0, len = 0;  // the unit (page-aligned; may reach past the file's end)
    bool filled = false;        // it had to be read in
  };
  // Makes the unit holding byte `at` resident: the DMU's bytes (dirty in memory, else disk;
  // holes read as zeros, nothing is allocated on disk). EINVAL when `at` is past the segment.
  Result<MapUnit> FaultFile(const std::string& fs, uint64_t obj, uint64_t at);
  // A client's first store into the unit holding `at`: the unit's length is reserved against
  // the dataset's quotas and the pool's space as WithZpl's reserve (EDQUOT / ENOSPC), the unit
  // is made resident and held, and remembered as mapped-dirty in the open txg. Idempotent for
  // a unit already dirty in this txg. dirtied (optional) is called under the pool lock with
  // the unit once it is dirty (also when it already was), so the caller can lift its write
  // protection before a sync can protect it again.
  Status DirtyFile(const std::string& fs, uint64_t obj, uint64_t at,
                   const std::function<void(uint64_t off, uint64_t len)>& dirtied = nullptr);
  // msync(MS_SYNC) of file bytes [off, off+len) (zfs_putpage, then zil_commit): the
  // mapped-dirty units of the range are protected (the MapProtector), copied from the ARC
  // into the file as a write of the open txg, logged like any write, and no longer
  // mapped-dirty; then the filesystem's log is committed (ZilCommit: the txg's sync when the
  // log cannot take them). Units of the range a txg in flight copied out are waited for.
  Status CommitMappedFile(const std::string& fs, uint64_t obj, uint64_t off, uint64_t len);
  // Sync calls fn, at its start and under the pool lock, for every mapped-dirty unit (the
  // daemon write-protects it in every mapping, so its bytes hold still), then copies the unit
  // from the ARC into the file (clipped to the file's size) and releases its hold. Stores
  // after the protection fault again and join the next txg. fn must not call into the pool.
  using MapProtector = std::function<void(const ArcObjKey&, uint64_t off, uint64_t len)>;
  void SetMapProtector(MapProtector fn);
  // Sync and Export call fn first, without the pool lock, so it may call DirtyFile: the daemon
  // finds the units stored into through mappings it cannot watch (no userfaultfd) there.
  using PreSync = std::function<void(Pool&)>;
  void SetPreSync(PreSync fn) { pre_sync_ = std::move(fn); }
  // A truncate that shrinks a DAX file clients map calls fn under the pool lock, before it
  // frees the extents past the new size: fn takes away every mapping's pages past size (each
  // client confirms, or is severed when it does not in time) and returns. fn must not call
  // into the pool. Without one, such a truncate fails EBUSY (nobody can take the pages away).
  using DaxRevoker = std::function<void(Pool&, uint64_t ds_obj, uint64_t obj, uint64_t size)>;
  void SetDaxRevoker(DaxRevoker fn) { dax_revoker_ = std::move(fn); }
  // ---- Events (pool_events.cc; zfs_fm.c, spa_event_notify) ----
  // Where the pool posts its events (zpool events): errors its leaves count
  // (ereport.fs.zfs.io, .checksum), their state changes (resource.fs.zfs.statechange), scrubs
  // and resilvers starting, finishing and cancelled (sysevent.fs.zfs.scrub_start ...). Null:
  // none posted. Set before the pool takes I/O; the log must outlive the pool.
  void SetEventLog(EventLog* log) { events_.store(log, std::memory_order_release); }
  // Posts a sysevent of this pool ("sysevent.fs.zfs." + what; payload as spa_event_create:
  // pool, pool_guid, pool_state, pool_context, and vdev_guid/vdev_path when vd), plus extra.
  // The daemon posts pool_create, pool_import, pool_export and pool_destroy with it.
  void PostEvent(const std::string& what, const Vdev* vd = nullptr, NvList extra = {});
  // Called (without any pool lock) when the open txg's dirty data passes 64 MiB or a fifth of
  // dirty_max (the smaller; once until the next Writeback or Sync), and by a writer about to
  // wait at dirty_max: the caller should call Writeback() soon (zfsd's sync thread wakes up).
  void SetSyncWanted(std::function<void()> fn) { dirty_.SetSyncWanted(std::move(fn)); }
  // What the sync thread does when the sync-wanted hook asked: early writeback alone (the
  // txg stays open; what it wrote is no longer dirty in memory). When as much is still dirty
  // as made the hook ask, the hook may ask again at once if the rounds were all full (file
  // data arriving as fast as it is written), and the txg closes if they ran out of file data.
  Status Writeback();
  // zfs_dirty_data_max: the bound on dirty data in the open txg (default DefaultDirtyMax()).
  void SetDirtyMax(uint64_t bytes) { dirty_.SetMax(bytes); }
  uint64_t dirty_max() const { return dirty_.max(); }
  uint64_t dirty_bytes() const { return dirty_.dirty(); }
  // 10% of physical memory, at most 4 GiB (OpenZFS's zfs_dirty_data_max).
  static uint64_t DefaultDirtyMax() { return DirtyThrottle::DefaultMax(); }
  // ---- Scrub (pool_scan.cc; dsl_scrub.c, spa_scrub; the walk: libcore/dsl/dsl_scan.h) ----
  // zpool scrub: a scrub of every block born before the open txg starts (its state is
  // written by the next sync); zfsd's scan thread advances it with ScanStep. EBUSY
  // "currently scrubbing; ..." while one runs, EROFS on a read-only pool.
  Status StartScrub();
  // zpool scrub -s: the scrub stops; its state leaves the MOS in the next txg. ENOENT "there
  // is no active scrub".
  Status CancelScrub();
  // What zpool status shows (pool_scan_stat_t's fields, kept in memory as v23 keeps
  // vdev_stat's scrub counters: a scrub resumed after an import counts from there).
  struct ScanStatus {
    std::string state = "none";  // none, scanning, finished, canceled
    bool resilver = false;       // a resilver (v23: scrub_min_txg != 0)
    uint64_t start_time = 0, end_time = 0;       // seconds since the epoch
    uint64_t to_examine = 0, examined = 0;       // bytes: allocated; scrubbed so far
    uint64_t pass_start = 0, pass_examined = 0;  // since this start or import (the rate)
    uint64_t repaired = 0, errors = 0;           // bytes rewritten; blocks without a good copy
    std::string last_error;                      // why the last step could not walk
  };
  ScanStatus scan_status();
  // The persistent error log (pool_errlog.cc; spa_errlog.c): the objects with blocks a scrub
  // or an ordinary read of file data found without a good copy. dataset is "<metadata>" for
  // the MOS and empty when the dataset is gone; path (from the filesystem's root) is empty
  // when it cannot be found.
  struct DataError {
    std::string dataset, path;
    uint64_t objset = 0, object = 0;
  };
  Result<std::vector<DataError>> ErrorLog();
  uint64_t error_count();  // spa_get_errlog_size: the logged blocks
  using ErrKey = std::tuple<uint64_t, uint64_t, int64_t, uint64_t>;  // a zbookmark_t
  // One step of the scrub's walk (dsl_pool_scrub_sync's slice), for up to budget, without
  // the pool lock (see pool_scan.cc). False when no scrub is under way.
  bool ScanStep(std::chrono::milliseconds budget);
  // zfs_scrub_delay: a pause after each block the scrub reads (tests slow scrubs with it).
  void SetScanDelay(std::chrono::microseconds d);

  // What the txg engine did since the pool was opened (counters, read without the lock).
  struct TxgStats {
    uint64_t syncs = 0;            // txgs written
    uint64_t early_rounds = 0;     // early writeback rounds
    uint64_t early_blocks = 0;     // blocks written early and put in place
    uint64_t early_bytes = 0;      // their logical bytes
    uint64_t early_stale = 0;      // blocks written early but changed meanwhile (given back)
    uint64_t throttle_delays = 0;  // writers delayed (past 60% of dirty_max)
    uint64_t throttle_waits = 0;   // writers held at dirty_max
    uint64_t close_us = 0;         // time in phase 2, under the pool lock (writers wait)
    uint64_t labels_us = 0;        // time in phase 3, labels and flushes without the lock
  };
  TxgStats txg_stats() const;

 private:
  Status RunSyncTasks(uint64_t txg);  // called by SyncLocked after SyncDatasets
  Result<std::string> DatasetName(uint64_t ds_obj);
  // ResolveDir for a name a user gave: internal dirs ($MOS, $ORIGIN) and bad characters are
  // refused (EINVAL) before the lookup.
  Result<uint64_t> ResolveUserDir(const std::string& fs);
  // After a clone is destroyed: its origin goes too if marked by zfs destroy -d and now
  // without clones or holds (dsl_dataset_origin_rm_prep).
  Status DestroyDeferredOrigin(uint64_t origin_obj);
  // The snapshot snap of fs, and (recursive) of each descendant of fs having one, children
  // before their parent as dmu_objset_find visits them: {filesystem, snapshot object}.
  // ENOENT (*failed set) as UserHold says.
  Status HoldTargetsLocked(const std::string& fs, const std::string& snap, bool recursive,
                           std::vector<std::pair<std::string, uint64_t>>* out, std::string* failed);
  std::vector<std::function<Status(uint64_t txg)>> sync_tasks_;  // dsl_sync_task groups

 public:
  // BlockReader over the pool's vdevs.
  Result<Bytes> Read(const BlkPtr& bp, ReadReport* report = nullptr) override;

  const std::string& name() const { return name_; }
  uint64_t guid() const { return guid_; }
  // The last txg on disk (its uberblock written and flushed).
  uint64_t txg() const { return txg_.synced(); }
  const std::string& altroot() const { return altroot_; }
  // The config nvlist as `zpool status`/`import` need it (vdev_tree with all top-levels,
  // per-leaf "state" strings added: ONLINE / UNAVAIL).
  NvList StatusConfig();
  uint64_t size();       // Σ metaslab space of the normal class (log devices left out)
  uint64_t allocated();  // Σ what the space maps say is allocated there
  // The leaf devices (paths as opened), for "device already in a pool" checks.
  std::vector<std::string> devices();
  // True once a write failed (the pool is suspended).
  bool suspended() const { return !failed_.ok(); }

 private:
  class MosSink;
  class DatasetSink;
  class DaxStoreImpl;  // pool_dax.cc
  class TxgBlockOps;
  Pool();
  Status InitNew(const PoolCreateSpec& spec);
  Status LoadExisting();
  Status CreateSkeleton(uint64_t now, const std::map<std::string, std::string>& fs_props);
  Status CreateZplFs(ObjsetWriter& os, uint64_t now);
  Status LoadMetaslabs();
  // The root vdev's top-level vdevs become readable through Top() (create and import).
  void PublishTops(Vdev* root);
  // Sets the probe of every leaf below v (Vdev::prober: ProbeLeaf with env_), and
  // Vdev::self_heal of every vdev below v to whether the pool is writable.
  void ArmLeaves(Vdev& v);
  // vdev_create for the top-level vdevs of an nvroot (create and add): each leaf opened
  // (whole disks labelled), sized against SPA_MINDEVSIZE (EOVERFLOW with too_small), its
  // labels cleared; the top-level configs get ashift, asize, metaslab_shift, is_log and
  // create_txg (not their id). The opened devices go to *files by leaf guid.
  Status OpenNewTops(const std::vector<NvList>& tops, uint64_t ashift, uint64_t txg,
                     const std::string& too_small,
                     std::map<uint64_t, std::unique_ptr<File>>* files,
                     std::vector<NvList>* configs);
  // A device given to the dax class: a device-DAX character device aligned to kDaxAlign or
  // less, or (with dax_emulation_) a regular file. EINVAL in zpool's words otherwise.
  Status CheckDaxDevice(const std::string& path);
  size_t NumTops() const { return ntops_.load(std::memory_order_acquire); }
  // Phases 2 and 3 of a txg sync, mu_ held on entry and on return. With release (Sync and
  // Writeback: the unique_lock holding mu_), phase 3 runs without mu_; without it (create,
  // import, snapshot, export and destroy, which hold the lock anyway) mu_ stays held.
  Status SyncLocked(uint64_t state, std::unique_lock<std::mutex>* release = nullptr);
  // What phase 3 needs, captured in phase 2: the txg, its uberblock, and per leaf the file
  // and the label config to write (configs only when the config changed).
  struct TxgTail {
    uint64_t txg = 0;  // 0: nothing was dirty, nothing to write
    bool config = false;
    Uberblock ub;
    std::vector<LabelWrite> leaves;
  };
  // Phase 2 (see the top): on return the txg is closed, its blocks written, the open txg
  // moved on. tail->txg is 0 when nothing changed.
  Status CloseTxgLocked(uint64_t state, TxgTail* tail);
  // Phase 3's end, under mu_: labels_status is what VdevConfigSync said.
  Status FinishTxgLocked(const TxgTail& tail, Status labels_status);
  Status ApplySpaceMapChanges(uint64_t txg, int pass, bool* changed);
  Status WriteConfigObject(uint64_t txg);
  PoolIdentity Identity() const;
  std::vector<const Vdev*> Tops() const;  // the top-level vdevs, by id
  NvList PoolConfig(uint64_t txg, uint64_t state) const;  // spa_config_generate for this pool
  Result<BlkPtr> WriteBlock(ByteSpan data, const WriteProps& p, uint64_t txg, const BlkPtr* old);
  // The write pipeline for a batch (under mu_): allocation under alloc_mu_; a write error
  // suspends the pool.
  Status WriteBlocks(std::vector<BlockWrite>& batch, uint64_t txg);
  WritePipeline Pipeline(uint64_t txg);
  bool ConcurrentIo();  // every leaf takes concurrent writes (computed once, under mu_)
  void FreeBlock(const BlkPtr& bp, uint64_t txg);
  // Some metaslab holds frees not yet reusable (deferred to the next txgs).
  bool DeferredFreesLocked();
  // Phase 1 of Sync (see the top of the file). Takes and drops mu_ itself. *ran_out: it
  // stopped because too little file data was left to write early (not after its last round).
  Status WriteEarly(bool* ran_out = nullptr);
  // mu_ for the txg's sync: writers waiting for mu_ let it go first (StepAsideForSync).
  std::unique_lock<std::mutex> SyncLock();
  // A writer's courtesy before it takes mu_: yields while a sync waits for the lock.
  void StepAsideForSync();
  // Drops a head dataset's unsynced changes (destroy, rollback): blocks written early for
  // them and not yet in any synced txg are freed.
  void DropDatasetLocked(uint64_t ds_obj);
  // The incremental receive's halves (pool_recv.cc), and dsl_dataset_modified_since_lastsnap:
  // the head's synced objset differs from its latest snapshot's beyond the ZIL header.
  Result<RecvState> RecvBeginExisting(const std::string& fs, const std::string& snap,
                                      const DrrRecord& begin, bool force);
  Status RecvEndExisting(RecvState& st);
  Result<RecvState> RecvBeginClone(const std::string& fs, const std::string& snap,
                                   const DrrRecord& begin, const std::string& origin);
  // Clone's work, mu_ held; *ds_obj (when given) gets the new head dataset.
  Status CloneLocked(const std::string& snap, const std::string& fs,
                     const std::map<std::string, std::string>& props, uint64_t creator,
                     uint64_t* ds_obj = nullptr);
  Result<bool> ModifiedSinceSnapLocked(uint64_t head_ds);
  uint64_t Dsize(const BlkPtr& bp) const;
  Status EnsurePropsZap();
  // Feature flags (pool_features.cc), mu_ held.
  Status UpgradeToFeaturesLocked();  // version 5000 and the three ZAPs (once)
  Status EnableFeatureLocked(const std::string& guid, const std::string& description,
                             bool for_write, bool mos);
  Status FeatureSyncLocked(const std::string& guid, bool for_write, bool mos, uint64_t refcount);
  Status ActivateFeatureLocked(const std::string& name);
  // Import: the ZAPs and refcounts of a version 5000 pool; ENOTSUP with OpenZFS's message for
  // an active feature we do not know (of features_for_write too when writable).
  Status LoadFeaturesLocked(bool writable);
  uint64_t feat_for_read_obj_ = 0, feat_for_write_obj_ = 0, feat_desc_obj_ = 0;
  std::map<std::string, uint64_t> feature_refcount_;  // enabled features: guid -> refcount
  std::set<std::string> label_features_;  // spa_label_features: the configs' features_for_read
  Status SetPropLocked(const std::string& name, const std::string& value);
  Result<PropValue> GetPropLocked(const std::string& name);
  Result<std::vector<HistoryRecord>> HistoryLocked();
  Status LogHistoryLocked(const NvList& record);
  struct OpenDataset {
    std::unique_ptr<ObjsetWriter> os;
    std::unique_ptr<ZapStore> zaps;
    std::unique_ptr<ZplWriter> zpl;
    // The accounting of blocks put in place by early writeback in the open txg, which the
    // txg's sync continues (null when none were).
    std::shared_ptr<DatasetSink> pending_sink;
    uint64_t objset_id = 0;  // the head dataset's object (the log's ZIL_ZC_OBJSET)
    // The intent log (set with the ZPL; shared with a commit under way, which outlives a
    // rollback or destroy that replaces it).
    std::shared_ptr<ZilWriter> zil;
    uint64_t sync_mode = 0;  // the sync property: 0 standard, 1 always, 2 disabled
    bool logbias_throughput = false;  // logbias=throughput (zfs_log_write's choice)
    // The extents of its DAX files (pool_dax.cc), given to its ZPL.
    std::shared_ptr<DaxStore> dax;
  };
  // zfs receive of a DAX file (pool_dax.cc): whether obj of the received objset is one (its
  // znode's flags), and its restore_write / restore_free, on extents of the dax class.
  static constexpr size_t kZnodeFlagsOff = 120;  // zp_flags in znode_phys_t
  Result<bool> RecvIsDaxFileLocked(OpenDataset& od, uint64_t obj);
  Status RecvDaxWriteLocked(OpenDataset& od, uint64_t obj, uint64_t off, ByteSpan data);
  Status RecvDaxTruncateLocked(OpenDataset& od, uint64_t obj, uint64_t off);
  // Gives od's ZPL its DaxStore and the dataset's dax property (new files are DAX files).
  void AttachDaxLocked(OpenDataset& od, bool dax_on);
  bool HasDaxClassLocked();
  // EBUSY when a client maps a DAX file of the dataset (snapshot, rollback, destroy).
  Status CheckNoDaxMapsLocked(uint64_t ds_obj);
  // The dir of head dataset ds_obj, ENOENT when ds_obj is not (or no longer) one.
  Result<uint64_t> HeadDirLocked(uint64_t ds_obj);
  Result<DaxMap> MapDaxFileLocked(uint64_t dir, uint64_t ds_obj, uint64_t obj, uint64_t off, uint64_t len);
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> dax_maps_;  // (ds, obj) → holds; mu_
  std::set<uint64_t> dax_paused_;  // datasets whose mappings zfsd paused (SetDaxPaused); mu_
  struct DaxFence {
    std::set<std::pair<uint64_t, uint64_t>> extents;  // (vdev, DVA offset)
    std::function<bool()> held;
  };
  std::mutex dax_fence_mu_;
  std::vector<DaxFence> dax_fences_;  // dax_fence_mu_
  // Whether a fence holds the extent at DVA d (dropping the released ones). dax_fence_mu_.
  bool DaxFencedLocked(const Dva& d);
  // dax=on needs a dax class: ENOTSUP "pool has no dax devices" otherwise.
  Status CheckDaxPropLocked(const std::string& prop, const std::string& value);
  static constexpr uint64_t kSyncStandard = 0, kSyncAlways = 1, kSyncDisabled = 2;
  // Reads the sync property of every open dataset into it (and any_sync_always_).
  Status RefreshSyncModes();
  std::atomic<bool> any_sync_always_{false};  // some open dataset has sync=always
  Result<ObjsetPolicy> PolicyOf(uint64_t dir_obj);
  Result<uint64_t> ResolveDir(const std::string& name);  // dsl_dir object of a filesystem
  Status SyncDatasets(uint64_t txg);
  Status ChargeDirs(uint64_t dir_obj, int64_t used, int64_t comp, int64_t uncomp);
  // pool_dsprops.cc
  struct DsRef {
    uint64_t dir = 0, ds = 0;
    bool snapshot = false;
  };
  Result<DsRef> ResolveDataset(const std::string& name);
  // The objset type of a dataset object (kOstZfs, kOstZvol).
  Result<uint64_t> ObjsetTypeLocked(uint64_t ds_obj);
  // The common part of CreateFilesystem and CreateVolume (dmu_objset_create): the dir and
  // dataset in the open txg, then init fills the new objset.
  Status CreateHeadLocked(const std::string& name, const std::map<std::string, std::string>& props,
                          uint64_t os_type, const std::function<Status(OpenDataset&, uint64_t now)>& init,
                          uint64_t creator);
  // The open head volume `name` (EINVAL "not a volume" for a filesystem).
  Result<OpenDataset*> OpenVolumeLocked(const std::string& name);
  // The value of prop for dir (set there or inherited when the property inherits): the ZAP
  // entry and the name of the dataset that set it; nullopt when nobody did.
  // dsl_prop_get_dd: a dir's local value, else its received one ("prop$recvd") unless an
  // explicit "prop$inherit" entry hides it.
  struct PropHit {
    ZapEntry entry;
    uint64_t dir = 0;
    bool received = false;
  };
  // A quota, reservation or refreservation whose stored value (local or received) changed:
  // the dir's or dataset's accounting follows the effective one (old: the previous one).
  Status ApplySpacePropLocked(uint64_t dir, uint64_t ds_obj, const std::string& prop, uint64_t old);
  Result<std::optional<PropHit>> FindProp(uint64_t dir, const std::string& prop, bool inherit);
  Result<std::string> DirName(uint64_t dir);
  uint64_t DspaceLocked();  // spa_get_dspace: Σ deflated metaslab space
  Result<uint64_t> AvailableLocked(uint64_t dir, uint64_t ds_obj);
  Status RefreshPolicies();
  std::map<uint64_t, uint64_t> pending_write_;  // bytes reserved in the open txg, by ds object
  std::map<uint64_t, OpenDataset> datasets_;  // head datasets with changes, by ds object
  // WithZpl's steps, shared with the mapped-file calls: resolves fs to its dir and head
  // dataset; reserves bytes in the open txg (EDQUOT / ENOSPC); opens the dataset's objset
  // and ZPL (wired to the ARC).
  Status ResolveFs(const std::string& fs, uint64_t* dir, uint64_t* ds_obj);
  Status ReserveLocked(uint64_t dir, uint64_t ds_obj, uint64_t bytes);
  Result<OpenDataset*> OpenDatasetLocked(uint64_t dir, uint64_t ds_obj);
  // OpenDatasetLocked's first half: the objset and its ZAPs, no ZPL (claim at import).
  Result<OpenDataset*> OpenDatasetObjsetLocked(uint64_t dir, uint64_t ds_obj);
  // ---- The intent log (pool_zil.cc) ----
  Status ZilWrite(uint64_t ds_obj, const std::shared_ptr<ZilWriter>& zil, uint64_t* covered);
  // zfs_get_data + dmu_sync for a commit's WR_INDIRECT records (pool_zil_indirect.cc): each
  // block is written in the open txg (held open) without mu_, put in place (the dirty
  // record's override applied at once) and its pointer written into itxs[idx]. Called and
  // returning with mu_ held (l); the top-level vdevs written go in *tops (the caller flushes
  // them with its log blocks); *sync: the txg must carry the commit instead (ENOSPC);
  // *gone: the dataset's log was replaced meanwhile (nothing to log).
  struct DmuSyncWrite {
    ObjsetWriter::EarlyBlock blk;
    // The records naming the block (index in itxs, lr_blkoff: where its bytes begin).
    std::vector<std::pair<size_t, uint64_t>> recs;
  };
  Status DmuSyncLocked(uint64_t ds_obj, const std::shared_ptr<ZilWriter>& zil,
                       std::vector<Itx>& itxs, std::vector<DmuSyncWrite>& writes,
                       std::unique_lock<std::mutex>& l, std::set<uint64_t>* tops,
                       bool* sync, bool* gone);
  // A block a log record names (WR_INDIRECT), born in a txg not yet synced: until that txg
  // closes, a free of it is deferred like any other (never given back at once, as blocks
  // born and freed in the open txg are) and it is never rewritten in place, so a crash
  // before the txg syncs still finds it whole for the claim and replay. Under alloc_mu_.
  void NoteLoggedBlockLocked(const BlkPtr& bp);
  bool LoggedBlockLocked(const BlkPtr& bp) const;
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> logged_blocks_;  // first DVA → birth
  Result<BlkPtr> AllocLogBlock(uint64_t size, const BlkPtr* hint, uint64_t txg);
  void FreeLogBlock(const BlkPtr& bp);
  // Frees every block a log's chain walk passes (zil_destroy of a log not open here).
  Status FreeLogChainLocked(const ZilHeader& zh);
  // Frees a head dataset's log with its unsynced state (destroy, rollback).
  void DropLogLocked(uint64_t ds_obj);
  // zil_destroy for a head that lives on (a snapshot of it is being taken): its log's blocks
  // freed, its header zeroed in the open txg.
  Status ZilDestroyLocked(uint64_t ds_obj);
  // A head's log given up after a failed log write or when its chain ends on a dead device
  // (ZilDestroyLocked), and a new chain's first block allocated in the open txg (bytes: what
  // the first commit will log), for the caller's sync to put in the header.
  void RestartLogLocked(uint64_t ds_obj, uint64_t bytes);
  // zil_claim for every head dataset at import (before the first txg syncs).
  Status ClaimLogsLocked();
  // spa_check_logs at import with a separate log device unavailable (pool_zil.cc): ENXIO
  // naming the missing log devices when a log's chain has a block on one; with discard
  // (zpool import -m), those logs are given up instead (zil_claim under SPA_LOG_CLEAR).
  Status CheckLogsLocked(bool discard);
  Status ClaimLogLocked(uint64_t dir, uint64_t ds_obj, ZilHeader zh, uint64_t first_txg);
  // At the ZPL's first open: a claimed log is replayed and destroyed; the log writer is set.
  Status ReplayLogLocked(OpenDataset& od);
  // An empty header and a fresh log writer (after a destroy or a replay).
  void StartNewLogLocked(OpenDataset& od);
  // zil_sync for one dataset in the txg's sync (before its objset is written).
  void SyncLogLocked(OpenDataset& od, uint64_t txg);
  Status replay_error_ = Status::Ok();  // guarded by mu_
  // The ZPL of fs with obj checked to be a regular file (its znode in *z).
  Result<OpenDataset*> MappedFileLocked(const std::string& fs, uint64_t obj, uint64_t* dir,
                                        uint64_t* ds_obj, ZnodePhys* z);
  // Copies the mapped-dirty units into their files (start of a sync).
  Status FlushMappedLocked();
  // Forgets a dataset's mapped-dirty units (its unsynced changes are being dropped).
  void ForgetMappedLocked(uint64_t ds_obj);
  Arc* arc_ = nullptr;
  bool arc_dropped_ = false;  // the pool's units are gone (exported or destroyed)
  // Read-ahead of files read through the mount (its own lock; drained first in ~Pool, as
  // its fills read through this pool).
  Zfetch zfetch_;
  MapProtector map_protector_;
  PreSync pre_sync_;
  DaxRevoker dax_revoker_;
  std::atomic<EventLog*> events_{nullptr};  // set once (after create's own I/O)
  // A leaf's counted error (Vdev::on_error): its ereport, and a statechange when it died.
  void PostVdevError(Vdev& leaf, const Vdev::ErrorReport& r);
  // Units stores through a mapping dirtied in the open txg: (ds object, file object, unit
  // offset) → unit length. Each holds its unit in the ARC until the sync writes it.
  std::map<std::tuple<uint64_t, uint64_t, uint64_t>, uint64_t> mapped_dirty_;
  uint64_t mapped_flush_txg_ = 0;  // the last txg FlushMappedLocked copied units into
  Vdev* Top(uint64_t id) const;

  // Pinned files (pool_pin.cc): (ds object, file object) -> the unit offsets held for the pin.
  std::map<std::pair<uint64_t, uint64_t>, std::set<uint64_t>> pinned_;
  std::map<uint64_t, int> sending_;  // snapshots a send reads (BeginSend) → count; mu_
  std::mutex mu_;
  Env* env_ = nullptr;
  bool dax_emulation_ = false;  // PoolCreateSpec::dax_emulation; set at create/import
  std::string name_;
  uint64_t guid_ = 0;
  uint64_t version_ = 23;
  std::string altroot_;
  std::unique_ptr<Spa> spa_;                 // imported pools: the opened devices and tree
  std::unique_ptr<Vdev> root_;               // created pools: the tree we built
  // The root of the tree in use (spa_'s or root_): its children vector has room for
  // kMaxTops reserved at create and import, so adding a top-level vdev never moves it; a
  // new one is published through ntops_ (Top() reads without mu_: the write pipeline, log
  // writes, reads after the lookups). Changed only with sync_mu_, mu_ and alloc_mu_ held.
  Vdev* vroot_ = nullptr;
  std::atomic<size_t> ntops_{0};
  static constexpr size_t kMaxTops = 4096;
  // By top-level id; a hole's is empty. The log class's groups (is_log) serve only the
  // intent log (AllocLogBlock); the normal class's everything else, and only they count in
  // the pool's size and dataset space.
  std::vector<std::unique_ptr<MetaslabGroup>> groups_;
  std::unique_ptr<ObjsetWriter> mos_;
  std::unique_ptr<ZapStore> mos_zaps_;
  TxgState txg_;  // guarded by mu_ (synced() read without it)
  uint64_t create_txg_ = 0;
  bool config_dirty_ = false;
  bool readonly_ = false;
  // Where the vdevs' I/O counters started (vdev_stat_t's vs_timestamp: zpool iostat's first
  // report is an average since then). Never changes.
  const std::chrono::steady_clock::time_point stats_since_ = std::chrono::steady_clock::now();
  Status failed_ = Status::Ok();
  uint64_t mos_dir_obj_ = 0;   // $MOS dsl_dir
  int64_t mos_used_ = 0, mos_comp_ = 0, mos_uncomp_ = 0;  // this txg's MOS accounting
  uint64_t props_zap_ = 0;     // pool_props ZAP (0 until a property is set)
  std::string comment_;        // OpenZFS's comment (kept in the config, as OpenZFS does)
  std::string cachefile_;      // not stored on disk (as in ZFS)
  bool cachefile_set_ = false;
  uint64_t history_obj_ = 0;
  MetaslabRotor rotor_;        // guarded by alloc_mu_, with groups_ (the normal class's)
  MetaslabRotor dax_rotor_;    // guarded by alloc_mu_: the dax class's
  std::mutex alloc_mu_;
  // The fault injection handlers (pool_inject.cc), in the order they were added; each
  // change sets the LeafInject of every leaf anew. inject_mu_ is taken alone.
  mutable std::mutex inject_mu_;
  std::vector<InjectHandler> injections_;
  // spa_lookup_by_guid: the vdev with this guid among the top-level vdevs and below them
  // (holes skipped), or null (mu_ held).
  Vdev* LookupVdevLocked(uint64_t guid) const;
  // Sets every leaf's LeafInject from injections_ (mu_ and inject_mu_ held).
  void ApplyInjectionsLocked();
  std::mutex sync_mu_;
  std::atomic<int> sync_waiting_{0};  // syncs waiting for mu_ (SyncLock)
  bool closed_ = false;                     // exported or destroyed (mu_)
  int concurrent_io_ = -1;                  // ConcurrentIo's answer (-1: not yet known)
  DirtyThrottle dirty_;  // reserved in the open txg (Σ pending_write_ less what went early)
  struct {
    std::atomic<uint64_t> commits{0}, commit_syncs{0}, commit_joined{0}, log_blocks{0},
        log_bytes{0}, replayed{0}, indirect_blocks{0};
    std::atomic<uint64_t> syncs{0}, early_rounds{0}, early_blocks{0}, early_bytes{0},
        early_stale{0}, close_us{0}, labels_us{0};
  } stats_;
  std::vector<NvList> pending_history_;  // records logged before the first sync
  // ---- Scrub state (pool_scan.cc). scan_mu_ is taken under mu_ (never the reverse) and
  // guards scan_, scan_action_, scan_complete_, scan_view_txg_, scan_stats_ and
  // scan_repaired_base_; scan_disk_ (what the MOS holds) is mu_'s.
  enum class ScanAction { kNone, kSetup, kUpdate, kRemove };  // for the next txg's sync
  Status LoadScanLocked();                 // import: a scrub the MOS holds resumes
  bool ScanPendingLocked();                // the next txg has scrub state to write
  Status ScanSyncLocked(uint64_t txg);     // writes it, then the error log (CloseTxgLocked)
  Status ScanStateSyncLocked(uint64_t txg);
  void ScanDsSnapshottedLocked(uint64_t ds_obj, uint64_t snap_obj);
  void ScanDsDestroyedLocked(uint64_t ds_obj, uint64_t next_snap_obj);
  void ScanChangedLocked();                // scan_mu_ held
  uint64_t RepairedBytes() const;  // Σ repair_bytes of every vdev (Top(): no lock needed)
  void LogInternalLocked(uint64_t event, uint64_t txg, const std::string& what);
  // ---- DTLs and resilver (pool_vdev_state.cc), all under mu_ ----
  Status LoadDtlsLocked();                 // import: each leaf's DTL space map
  Status DtlSyncLocked(uint64_t txg);      // dead leaves miss txg; changed DTLs written
  // vdev_resilver_needed over the writable leaves: (first txg - 1, last txg + 1).
  bool ResilverNeededLocked(uint64_t* min_txg, uint64_t* max_txg) const;
  // A resilver of what the DTLs hold starts (a scrub under way gives way to it).
  void StartResilverLocked();
  // vdev_dtl_reassess after a resilver over (.., max_txg) ended complete.
  void DtlReassessLocked(uint64_t max_txg);
  void SetResilveringLocked(bool on);      // the leaves' resilvering flags
  bool ReopenLeafLocked(Vdev& v);          // vdev_reopen + vdev_validate of one leaf
  // vdev_open's asize of v from its devices now (a leaf: its size less the labels; a mirror,
  // replacing or spare vdev: its smallest side; raidz: its smallest column times the columns);
  // 0 when no device of it can be sized.
  uint64_t DeviceAsizeLocked(const Vdev& v);
  // vdev_expand: top's asize raised to DeviceAsizeLocked (never lowered), the metaslabs the
  // new size holds added (vdev_metaslab_init) and the config dirtied, so the next sync
  // writes the four labels, at the devices' new ends, with the new asize. *grew: it changed.
  Status ExpandTopLocked(Vdev& top, bool* grew);
  // spa_vdev_enter for one leaf (offline, online, attach, detach): sync_mu_ and mu_ taken,
  // the pool writable, the vdev found (ENODEV "no such device in pool") and a leaf (ENOTSUP).
  struct LeafChange {
    std::unique_lock<std::mutex> sync, lock;
    Vdev* leaf = nullptr;
  };
  Result<LeafChange> BeginLeafChange(uint64_t guid);
  Vdev* TopOfLocked(const Vdev* v) const;  // v's top-level vdev (null: not in the tree)
  // vdev_fault's back-off (pool_inject.cc): whether the leaf holds its top-level vdev's only
  // copy of some block (a log's leaves never do: synced records are in the main pool).
  // Walks the tree without mu_, as readers do (see SwapTopLocked).
  bool HoldsOnlyCopy(const Vdev& leaf) const;
  // The tree changes of attach and detach (pool_attach.cc). Readers walk the tree without
  // a lock, so no children vector they may be iterating changes: each interior vdev on the
  // way from the top-level slot down to the change is rebuilt with its new children and the
  // new top-level vdev takes the old one's slot in one pointer store. The objects replaced
  // stay alive in retired_ until the Pool goes (their children, owned by the new tree, are
  // released, not destroyed, then); so do detached leaves. (sync_mu_, mu_ and alloc_mu_.)
  void SwapTopLocked(uint64_t id, std::unique_ptr<Vdev> top);
  std::unique_ptr<Vdev> RebuildLocked(Vdev* v, Vdev* old_child, std::unique_ptr<Vdev> new_child);
  std::vector<std::unique_ptr<Vdev>> retired_;
  // Hot spares (pool_spares.cc; mu_): the list the MOS's "spares" object holds, each with
  // its device (null when it could not be opened) and whether its label is the spare label.
  struct SpareDev {
    uint64_t guid = 0;
    std::string path, type;
    bool whole_disk = false;
    bool label_ok = false;
    std::unique_ptr<File> file;
  };
  std::vector<SpareDev> spares_;
  uint64_t spares_object_ = 0;   // DMU_POOL_SPARES (0: none written yet)
  bool spares_dirty_ = false;    // the next txg rewrites the object
  std::atomic<bool> spare_wanted_{false};
  // A leaf was faulted by its errors on an I/O thread: the next txg rewrites the config
  // (its "faulted"); taken by CloseTxgLocked under mu_.
  std::atomic<bool> fault_config_{false};
  // CheckDevices: when each dead leaf (by guid) last had a device at its path looked at
  // and left alone, so the same device is not read every second (mu_).
  std::map<uint64_t, std::chrono::steady_clock::time_point> watch_tried_;
  // spa_validate_aux + spa_set_aux_vdevs: each leaf of `spares` opened, sized, given a
  // guid and the spare label, and listed (EINVAL, EBUSY, EOVERFLOW, ENOTSUP as zfs-fuse).
  Status AddSparesLocked(const std::vector<NvList>& spares);
  Status SyncSparesLocked();                 // spa_sync_aux_dev (CloseTxgLocked)
  Status LoadSparesLocked();                 // spa_load_spares (import)
  Status RemoveSpareLocked(uint64_t guid);   // zpool remove of an inactive spare; synced
  Status WriteSpareLabel(File& f, uint64_t guid);
  // AVAIL: open, serving no pool (this one or another sharing it: spare_registry.h), its
  // spare label on it (read again when it was not: another pool may have given it back).
  bool SpareReadyLocked(SpareDev& s);
  SpareDev* FindSpareLocked(uint64_t guid, const std::string& path);
  std::vector<NvList> SpareStatusLocked();   // spa_add_spares: StatusConfig's "spares"
  std::vector<std::string> SparePathsLocked() const;
  std::atomic<bool> resilver_done_{false};  // a resilver ended: ResilverDone has work
  std::set<Vdev*> dtl_dirty_;              // leaves whose DTL object must be rewritten (mu_)
  std::mutex scan_mu_;
  ScrubState scan_, scan_disk_;
  ScanAction scan_action_ = ScanAction::kNone;
  bool scan_complete_ = false;
  std::atomic<uint64_t> scan_gen_{0};      // bumped by every change a running step must see
  uint64_t scan_view_txg_ = 0;
  ScanStatus scan_stats_;
  uint64_t scan_repaired_base_ = 0;
  std::atomic<int64_t> scan_delay_us_{0};
  BlkPtr synced_rootbp_;                   // the last synced txg's MOS (mu_)
  // The error log (pool_errlog.cc): entries not yet synced and the rotation a scrub's end
  // asks for (scan_mu_); the MOS's two log objects (mu_).
  void LogScanError(const ScanBookmark& zb);
  void LogReadErrors(uint64_t ds_obj, uint64_t obj, const std::vector<uint64_t>& blkids);
  // The same for one block at any level (an indirect or dnode block: the DMU's hook).
  void LogReadError(uint64_t ds_obj, uint64_t obj, int64_t level, uint64_t blkid);
  // ReadFile and ReadFileHeld: the completed plan (by_ref: see ReadPlan) and its length.
  Result<std::unique_ptr<ObjsetWriter::ReadPlan>> ReadFilePlan(
      const std::string& fs, uint64_t obj, uint64_t off, uint64_t len,
      const std::function<Status(ZplWriter&, uint64_t txg)>& also, bool by_ref, uint64_t* length);
  Status LoadErrlogLocked();
  Status ErrlogSyncLocked();
  std::set<ErrKey> ErrorKeysLocked();
  std::set<ErrKey> errlist_last_, errlist_scrub_;
  // The MOS's ordinary reads that found no good copy (spa_log_error of objset 0: zpool
  // status -v's "<metadata>:<0x...>"). Its own lock, taken with nothing else held: a MOS
  // read may run under scan_mu_; they join errlist_* under scan_mu_.
  void ArmMos();  // the MOS's read-error hook and its pool guid for zinject's handlers
  std::mutex mos_err_mu_;
  std::set<ErrKey> mos_errs_;
  void TakeMosErrors();  // scan_mu_ held: mos_errs_ into the list a read's error goes to
  bool errlog_rotate_ = false;
  uint64_t errlog_last_obj_ = 0, errlog_scrub_obj_ = 0;
  friend class PoolTestPeer;
};

}  // namespace uzfs
