// PoolTable: the pools zfsd has imported, their sync thread and the cache file.
//
// Every state-changing operation ends with a sync of the pool it changed, so an operation
// that returned success is on disk (as OpenZFS's zpool/zfs commands wait for their txg).
// Besides, a sync thread writes each pool's open txg every 5 seconds (zfs_txg_timeout), or
// sooner when a pool asks for it (Pool::SetSyncWanted: its dirty data passed a fifth of the
// bound), so the txg's data is written early while writers go on.
//
// Cache file (state-dir/zpool.cache): as OpenZFS's, a packed XDR nvlist {pool name → config}
// of the pools imported with cachefile unset; a pool with cachefile=PATH is written to PATH
// instead (and PATH removed when no pool names it any longer), one with cachefile=none to no
// file. At start every pool of state-dir/zpool.cache is imported again from the device paths
// its config names. Written atomically (temporary file, fsync, rename).
//
// The ARC: every pool created or imported (from the cache file too) is given the table's Arc
// (PoolCreateSpec::arc, PoolImportSpec::arc), which must outlive the table.
//
// Thread safety: all methods may be called from any thread; each Pool has its own locks.
// mu_ guards the table: With, Names, OwnerOf, Sync and the sync thread share it (so they run
// side by side, a long sync of one pool never holds up another pool or the file service);
// Create, Import, Export, Destroy and Shutdown take it alone. cache_mu_ serializes writing
// the cache file. hold_mu_ guards holds_ (WithHeld's count per pool name); a pool with holds
// is neither exported nor destroyed, so its Pool outlives them without mu_.
//
// Device watch: the scan thread checks the pools' devices (Pool::CheckDevices) when the
// device monitor (device_monitor.h) reports a block device event, and polls them besides:
// every second without a monitor, every 10 s with one (--device-poll sets it). kick_efd_
// wakes the scan thread's poll(2) (KickScan, Shutdown).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/device_monitor.h"
#include "libcore/base/fm.h"
#include "libcore/base/status.h"
#include "libcore/pool/pool.h"

namespace uzfs {

class Arc;  // libcore/arc/arc.h

class PoolTable {
 public:
  // arc: the cache shared by every pool (null: pools run without one, as in unit tests).
  explicit PoolTable(std::string state_dir, Arc* arc = nullptr);
  // Every pool (created, imported, from the cache file) gets fn as its map protector (the file
  // service write-protects mapped-dirty units at sync). Before Start.
  void SetMapProtector(Pool::MapProtector fn) { protector_ = std::move(fn); }
  // And fn as its pre-sync hook (Pool::SetPreSync). Before Start.
  void SetPreSync(Pool::PreSync fn) { pre_sync_ = std::move(fn); }
  // And fn as its DAX revoker (Pool::SetDaxRevoker). Before Start.
  void SetDaxRevoker(Pool::DaxRevoker fn) { dax_revoker_ = std::move(fn); }
  // And fn called on it once adopted: the fences on DAX extents that processes severed
  // before (in an earlier import or an earlier zfsd) may still map (FileService::ApplyFences).
  // Before Start.
  void SetDaxFencer(std::function<void(Pool&)> fn) { dax_fencer_ = std::move(fn); }
  // A snapshot or rollback of filesystems whose DAX files may be mapped runs its body through
  // fn (the file service pauses their mappings around it: FileService::WithDaxPaused).
  // Before Start.
  using DaxPauser = std::function<Status(Pool&, const std::vector<std::string>& fs,
                                         const std::function<Status()>& body)>;
  void SetDaxPauser(DaxPauser fn) { dax_pauser_ = std::move(fn); }
  Status WithDaxPaused(Pool& p, const std::vector<std::string>& fs, const std::function<Status()>& body) {
    return dax_pauser_ ? dax_pauser_(p, fs, body) : body();
  }
  // zfs destroy -f, zpool export -f and destroy -f revoke the DAX mappings of what goes
  // through fn (FileService::RevokeDax: fs empty, every mapping of the pool). Before Start.
  using DaxMapRevoker = std::function<void(Pool&, const std::vector<std::string>& fs)>;
  void SetDaxMapRevoker(DaxMapRevoker fn) { dax_map_revoker_ = std::move(fn); }
  void RevokeDaxMaps(Pool& p, const std::vector<std::string>& fs) {
    if (dax_map_revoker_) dax_map_revoker_(p, fs);
  }
  // Every pool's dirty-data bound (Pool::SetDirtyMax; 0: Pool::DefaultDirtyMax()). Before Start.
  void SetDirtyMax(uint64_t bytes) { dirty_max_ = bytes; }
  // --dax-emulation: regular files may stand in for device-DAX devices in the dax class
  // (PoolCreateSpec::dax_emulation). Before Start.
  void SetDaxEmulation(bool on) { dax_emulation_ = on; }
  // zfs_txg_timeout: the longest a txg stays open (default 5 s). Before Start.
  void SetTxgTimeout(std::chrono::seconds t) { txg_timeout_ = t; }
  // --device-poll: how often the pools' devices are polled (0: 1 s without a device monitor,
  // 10 s with one). Before Start.
  void SetDevicePoll(std::chrono::seconds t) { device_poll_ = t; }
  ~PoolTable();

  // Imports the pools of the cache file (errors are logged, not fatal) and starts the sync
  // thread.
  void Start();
  // Syncs and exports nothing: every pool is synced and its devices closed, keeping the
  // cache file so the next start imports them again (SIGTERM).
  void Shutdown();

  Status Create(const PoolCreateSpec& spec, const std::string& history);
  Status Import(const PoolImportSpec& spec, const std::string& history);
  Status Export(const std::string& name, bool force);
  Status Destroy(const std::string& name, bool force);
  // Runs fn on the named pool under the table lock's protection against export
  // (ENOENT "no such pool" when absent). changes_config: rewrite the cache file afterwards
  // (a property such as cachefile may have changed); reads leave it alone.
  Status With(const std::string& name, const std::function<Status(Pool&)>& fn,
              bool changes_config = false);
  // Runs fn on the named pool holding it instead of the table lock (spa_open's reference):
  // for work that may wait long on a client, such as writing a send stream into a pipe
  // nobody reads. Export and Destroy of a held pool fail with EBUSY "pool is busy"
  // (spa_export_common's refcount check) instead of waiting; Shutdown waits for the holds.
  Status WithHeld(const std::string& name, const std::function<Status(Pool&)>& fn);
  // EBUSY "pool is busy" when name has holds (export and destroy ask before unmounting).
  Status CheckNotHeld(const std::string& name);
  std::vector<std::string> Names();
  // The pool using a device path, or empty.
  std::string OwnerOf(const std::string& device);
  // Syncs one pool (or all when name is empty) now.
  Status Sync(const std::string& name);
  // zfsd's event queue (zpool events): every pool posts to it (Pool::SetEventLog).
  EventLog& events() { return events_; }
  // Wakes the scan thread (a scrub was started).
  void KickScan();
  // zfs_scrub_delay: every pool's scrub pauses this long after each block it reads (tests
  // slow scrubs down with it). Before Start.
  void SetScanDelay(std::chrono::microseconds d) { scan_delay_ = d; }

 private:
  void SyncLoop();
  // The scan thread: steps every pool's scrub (Pool::ScanStep), a pool after another, under
  // the table's shared lock (an export waits for the step under way, at most a budget);
  // on a device event and every device_poll_ it also watches the pools' devices
  // (Pool::CheckDevices), and it gives dead leaves their spares (Pool::ActivateSpares).
  void ScanLoop();
  // Makes the scan thread's wait return (kick_efd_).
  void WakeScan();
  // Gives a new pool the table's hooks and settings.
  void Adopt(Pool& p);
  Status SaveCache();
  std::string state_dir_;
  std::set<std::string> other_cache_files_;  // cachefile=PATH files SaveCache last wrote
  Arc* const arc_;
  EventLog events_;
  Pool::MapProtector protector_;
  Pool::PreSync pre_sync_;
  Pool::DaxRevoker dax_revoker_;
  std::function<void(Pool&)> dax_fencer_;
  DaxPauser dax_pauser_;
  DaxMapRevoker dax_map_revoker_;
  std::shared_mutex mu_;
  std::mutex cache_mu_;
  std::map<std::string, std::unique_ptr<Pool>> pools_;
  std::mutex hold_mu_;
  std::condition_variable hold_cv_;  // with hold_mu_: a hold ended
  std::map<std::string, int> holds_;
  std::thread sync_thread_;
  bool stopping_ = false;
  uint64_t dirty_max_ = 0;
  bool dax_emulation_ = false;
  std::chrono::seconds txg_timeout_{5};
  // The sync thread's wake-up: a pool asked for a sync, or the table stops. Apart from mu_,
  // which the sync thread holds while syncing (a writer asking must not wait for that).
  std::mutex kick_mu_;
  std::condition_variable kick_cv_;
  bool kicked_ = false, kick_stop_ = false;
  std::thread scan_thread_;
  std::chrono::microseconds scan_delay_{0};
  int kick_efd_ = -1;  // an eventfd: written by KickScan and Shutdown, read by the scan thread
  std::unique_ptr<DeviceMonitor> monitor_;  // the scan thread's alone once it runs
  std::chrono::seconds device_poll_{0};
};

}  // namespace uzfs
