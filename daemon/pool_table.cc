#include "daemon/pool_table.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include <spdlog/spdlog.h>

#include "libcore/base/env_file.h"

namespace uzfs {

namespace {


std::string CachePath(const std::string& dir) { return dir + "/zpool.cache"; }

void CollectLeaves(const NvList& v, std::vector<std::string>* out) {
  if (const auto* kids = v.GetNvListArray("children")) {
    for (const NvList& k : *kids) CollectLeaves(k, out);
    return;
  }
  // A device that is gone is left out (spa_open of a cached config opens what it can): the
  // import decides whether the pool can do without it (a missing log device, Pool::Import).
  struct stat st;
  if (const std::string* p = v.GetString("path"); p && ::stat(p->c_str(), &st) == 0)
    out->push_back(*p);
}

}  // namespace

PoolTable::PoolTable(std::string state_dir, Arc* arc)
    : state_dir_(std::move(state_dir)), arc_(arc),
      kick_efd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

PoolTable::~PoolTable() {
  Shutdown();
  if (kick_efd_ >= 0) ::close(kick_efd_);
}

void PoolTable::WakeScan() {
  if (kick_efd_ >= 0) {
    const uint64_t one = 1;
    (void)!::write(kick_efd_, &one, sizeof(one));
  }
}

void PoolTable::Start() {
  std::string path = CachePath(state_dir_);
  std::ifstream in(path, std::ios::binary);
  if (in) {
    Bytes data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto nv = NvList::DecodeXdr(data);
    if (!nv.ok()) {
      spdlog::error("cache file {}: {}", path, nv.status().ToString());
    } else {
      for (const auto& pair : nv->pairs()) {
        if (pair.value.type != NvType::kNvList || pair.value.lists.empty()) continue;
        const NvList& cfg = pair.value.lists[0];
        PoolImportSpec spec;
        spec.pool = std::to_string(cfg.GetUint64("pool_guid").value_or(0));
        spec.new_name = pair.name;
        spec.force = true;  // it was ours when zfsd stopped
        spec.arc = arc_;
        spec.dax_emulation = dax_emulation_;
        if (const NvList* t = cfg.GetNvList("vdev_tree")) CollectLeaves(*t, &spec.devices);
        auto p = Pool::Import(spec);
        if (!p.ok()) {
          spdlog::error("cannot import '{}' from the cache file: {}", pair.name,
                        p.status().ToString());
          continue;
        }
        spdlog::info("imported '{}' from the cache file at txg {}", pair.name, (*p)->txg());
        std::unique_lock<std::shared_mutex> l(mu_);
        Adopt(**p);
        pools_[pair.name] = std::move(p).value();
      }
    }
  }
  // zed's disk event agent (zed_disk_event_init); the poll stays for file vdevs and for
  // hosts whose uevents do not reach zfsd.
  std::string why;
  monitor_ = DeviceMonitor::Open(&why);
  if (device_poll_.count() == 0) device_poll_ = std::chrono::seconds(monitor_ ? 10 : 1);
  if (monitor_)
    spdlog::info("device monitor: {} uevents{}; devices polled every {} s", monitor_->source(),
                 monitor_->watches_dev() ? " and closes in /dev" : "", device_poll_.count());
  else
    spdlog::warn("no device monitor ({}); devices polled every {} s", why, device_poll_.count());
  sync_thread_ = std::thread([this] { SyncLoop(); });
  scan_thread_ = std::thread([this] { ScanLoop(); });
}

void PoolTable::KickScan() { WakeScan(); }

void PoolTable::ScanLoop() {
  // Device events run the watch at most every kEventGap: a stream of block device closes
  // (someone's I/O on another device) must not keep the scan thread walking the pools.
  constexpr auto kEventGap = std::chrono::milliseconds(100);
  std::chrono::steady_clock::time_point last_watch{}, last_event{};
  DeviceMonitor::Events ev;  // what came since the watch last ran
  for (;;) {
    bool busy = false;
    {
      std::shared_lock<std::shared_mutex> l(mu_);
      if (stopping_) break;
      // zed's udev agent (zfs_mod.c): devices gone and come back, on an event at once, else
      // at the poll. A uevent lets a dead leaf be looked at again sooner (Pool::CheckDevices).
      bool spared = false;
      const auto now = std::chrono::steady_clock::now();
      const bool event_due = ev.any() && now - last_event >= kEventGap;
      if (event_due || now - last_watch >= device_poll_) {
        if (now - last_watch >= device_poll_) last_watch = now;
        if (event_due) last_event = now;
        for (auto& [name, p] : pools_) spared |= p->CheckDevices(ev.uevent);
        ev = DeviceMonitor::Events{};
      }
      // zed's retire agent: a spare for a leaf that died (the cache file then names it).
      for (auto& [name, p] : pools_)
        if (p->spare_wanted()) spared |= p->ActivateSpares();
      if (spared) {
        std::lock_guard<std::mutex> cl(cache_mu_);
        if (Status c = SaveCache(); !c.ok()) spdlog::error("{}", c.ToString());
      }
      for (auto& [name, p] : pools_) busy |= p->ScanStep(std::chrono::milliseconds(500));
    }
    // A scrub under way steps again at once (a step that waits for a txg returns quickly:
    // a short nap then); without one, the thread waits for a kick (a scrub started), a
    // device event or the next poll, a second at most.
    std::vector<pollfd> fds;
    if (kick_efd_ >= 0) fds.push_back(pollfd{kick_efd_, POLLIN, 0});
    if (monitor_) monitor_->AddPollFds(&fds);
    {
      std::lock_guard<std::mutex> k(kick_mu_);
      if (kick_stop_) break;
    }
    (void)::poll(fds.data(), fds.size(), busy ? 20 : ev.any() ? 100 : 1000);
    if (kick_efd_ >= 0) {
      uint64_t n;
      (void)!::read(kick_efd_, &n, sizeof(n));
    }
    if (monitor_) {
      const DeviceMonitor::Events more = monitor_->Drain();
      ev.uevent |= more.uevent;
      ev.closed |= more.closed;
    }
    std::lock_guard<std::mutex> k(kick_mu_);
    if (kick_stop_) break;
  }
}

void PoolTable::Shutdown() {
  {
    std::unique_lock<std::shared_mutex> l(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  {
    std::lock_guard<std::mutex> k(kick_mu_);
    kick_stop_ = true;
  }
  kick_cv_.notify_all();
  WakeScan();
  if (sync_thread_.joinable()) sync_thread_.join();
  if (scan_thread_.joinable()) scan_thread_.join();
  {
    std::unique_lock<std::mutex> h(hold_mu_);
    hold_cv_.wait(h, [this] { return holds_.empty(); });
  }
  std::unique_lock<std::shared_mutex> l(mu_);
  for (auto& [name, p] : pools_) {
    Status s = p->Sync();
    if (!s.ok()) spdlog::error("final sync of '{}': {}", name, s.ToString());
  }
  pools_.clear();
}

void PoolTable::Adopt(Pool& p) {
  p.SetEventLog(&events_);
  if (protector_) p.SetMapProtector(protector_);
  if (pre_sync_) p.SetPreSync(pre_sync_);
  if (dax_revoker_) p.SetDaxRevoker(dax_revoker_);
  if (dax_fencer_) dax_fencer_(p);
  if (dirty_max_) p.SetDirtyMax(dirty_max_);
  p.SetScanDelay(scan_delay_);
  p.SetSyncWanted([this] {
    {
      std::lock_guard<std::mutex> k(kick_mu_);
      kicked_ = true;
    }
    kick_cv_.notify_one();
  });
}

void PoolTable::SyncLoop() {
  auto next = std::chrono::steady_clock::now() + txg_timeout_;
  for (;;) {
    bool kicked = false;
    {
      std::unique_lock<std::mutex> k(kick_mu_);
      kick_cv_.wait_until(k, next, [this] { return kicked_ || kick_stop_; });
      if (kick_stop_) break;
      kicked = kicked_;
      kicked_ = false;
    }
    // zfs_txg_timeout: every txg closes within txg_timeout_ (5 s by default); in between, a pool that asked gets its
    // data written early (Pool::Writeback), the txg left open.
    bool timeout = std::chrono::steady_clock::now() >= next;
    std::shared_lock<std::shared_mutex> l(mu_);
    if (stopping_) break;
    for (auto& [name, p] : pools_) {
      Status s = timeout ? p->Sync() : kicked ? p->Writeback() : Status::Ok();
      if (!s.ok()) spdlog::error("sync of '{}': {}", name, s.ToString());
    }
    if (timeout) next = std::chrono::steady_clock::now() + txg_timeout_;
  }
}

namespace {

// The cache file, written whole (WriteFileAtomically, as spa_config_write).
Status WriteAtomically(Env* env, const std::string& path, const Bytes& data) {
  if (Status s = WriteFileAtomically(env, path, data); !s.ok())
    return Status::Error(s.code(), "cannot write the cache file " + path + ": " + s.message());
  return Status::Ok();
}

}  // namespace

Status PoolTable::SaveCache() {
  // Each pool goes to the file its cachefile property names (spa_config_sync): unset, the
  // state directory's; a path, that file alone; 'none', no file.
  std::string def = CachePath(state_dir_);
  std::map<std::string, NvList> files;
  files[def];  // written even when empty
  for (auto& [name, p] : pools_) {
    auto cf = p->GetProp("cachefile");
    std::string path = cf.ok() && cf->value != "-" && !cf->value.empty() ? cf->value : def;
    if (path == "none") continue;
    files[path].AddNvList(name, p->StatusConfig());
  }
  ::mkdir(state_dir_.c_str(), 0755);
  Status first = Status::Ok();
  for (auto& [path, nv] : files) {
    Status s = WriteAtomically(PosixEnv(), path, nv.EncodeXdr());
    if (!s.ok() && first.ok()) first = s;
  }
  // A file named by a cachefile property that no pool names any longer is removed, as
  // spa_config_sync removes a cache file left without pools.
  for (const std::string& old : other_cache_files_)
    if (!files.count(old)) (void)PosixEnv()->Remove(old);
  other_cache_files_.clear();
  for (auto& [path, nv] : files)
    if (path != def) other_cache_files_.insert(path);
  return first;
}

Status PoolTable::Create(const PoolCreateSpec& spec, const std::string& history) {
  std::unique_lock<std::shared_mutex> l(mu_);
  if (pools_.count(spec.name)) return Status::Error(EEXIST, "pool already exists");
  PoolCreateSpec with_arc = spec;
  with_arc.arc = arc_;
  with_arc.dax_emulation = dax_emulation_;
  UZFS_ASSIGN(auto p, Pool::Create(with_arc));
  UZFS_TRY(p->LogHistory(history));
  UZFS_TRY(p->Sync());
  Adopt(*p);
  p->PostEvent("pool_create");
  pools_[spec.name] = std::move(p);
  return SaveCache();
}

Status PoolTable::Import(const PoolImportSpec& spec, const std::string& history) {
  std::unique_lock<std::shared_mutex> l(mu_);
  for (auto& [n, p] : pools_)
    if (n == spec.pool || std::to_string(p->guid()) == spec.pool)
      return Status::Error(EEXIST,
                           "a pool with that name is already created/imported,\n"
                           "and no additional pools with that name were found");
  PoolImportSpec with_arc = spec;
  with_arc.arc = arc_;
  with_arc.dax_emulation = dax_emulation_;
  UZFS_ASSIGN(auto p, Pool::Import(with_arc));
  if (pools_.count(p->name())) {
    (void)p->Export();
    return Status::Error(EEXIST, "a pool with that name already exists");
  }
  UZFS_TRY(p->LogHistory(history));
  UZFS_TRY(p->Sync());
  std::string name = p->name();
  Adopt(*p);
  p->PostEvent("pool_import");
  pools_[name] = std::move(p);
  return SaveCache();
}

Status PoolTable::Export(const std::string& name, bool force) {
  (void)force;
  std::unique_lock<std::shared_mutex> l(mu_);
  auto it = pools_.find(name);
  if (it == pools_.end()) return Status::Error(ENOENT, "no such pool");
  UZFS_TRY(CheckNotHeld(name));
  it->second->PostEvent("pool_export");  // spa_export_common: before the pool goes
  UZFS_TRY(it->second->Export());
  pools_.erase(it);
  return SaveCache();
}

Status PoolTable::Destroy(const std::string& name, bool force) {
  (void)force;
  std::unique_lock<std::shared_mutex> l(mu_);
  auto it = pools_.find(name);
  if (it == pools_.end()) return Status::Error(ENOENT, "no such pool");
  UZFS_TRY(CheckNotHeld(name));
  it->second->PostEvent("pool_destroy");
  UZFS_TRY(it->second->Destroy());
  pools_.erase(it);
  return SaveCache();
}

Status PoolTable::With(const std::string& name, const std::function<Status(Pool&)>& fn,
                       bool changes_config) {
  std::shared_lock<std::shared_mutex> l(mu_);
  auto it = pools_.find(name);
  if (it == pools_.end()) return Status::Error(ENOENT, "no such pool");
  Status s = fn(*it->second);
  if (s.ok() && changes_config) {
    std::lock_guard<std::mutex> cl(cache_mu_);
    Status c = SaveCache();
    if (!c.ok()) spdlog::error("{}", c.ToString());
  }
  return s;
}

Status PoolTable::CheckNotHeld(const std::string& name) {
  std::lock_guard<std::mutex> h(hold_mu_);
  return holds_.count(name) ? Status::Error(EBUSY, "pool is busy") : Status::Ok();
}

Status PoolTable::WithHeld(const std::string& name, const std::function<Status(Pool&)>& fn) {
  Pool* pool = nullptr;
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    auto it = pools_.find(name);
    if (it == pools_.end()) return Status::Error(ENOENT, "no such pool");
    if (stopping_) return Status::Error(ESHUTDOWN, "zfsd is stopping");
    pool = it->second.get();
    std::lock_guard<std::mutex> h(hold_mu_);
    ++holds_[name];
  }
  Status s = fn(*pool);
  {
    std::lock_guard<std::mutex> h(hold_mu_);
    if (--holds_[name] == 0) holds_.erase(name);
  }
  hold_cv_.notify_all();
  return s;
}

std::vector<std::string> PoolTable::Names() {
  std::shared_lock<std::shared_mutex> l(mu_);
  std::vector<std::string> out;
  for (auto& [n, p] : pools_) out.push_back(n);
  return out;
}

std::string PoolTable::OwnerOf(const std::string& device) {
  std::shared_lock<std::shared_mutex> l(mu_);
  char real[PATH_MAX];
  std::string want = realpath(device.c_str(), real) ? real : device;
  for (auto& [n, p] : pools_)
    for (const std::string& d : p->devices()) {
      std::string have = realpath(d.c_str(), real) ? real : d;
      if (have == want) return n;
    }
  return {};
}

Status PoolTable::Sync(const std::string& name) {
  std::shared_lock<std::shared_mutex> l(mu_);
  if (!name.empty()) {
    auto it = pools_.find(name);
    if (it == pools_.end()) return Status::Error(ENOENT, "no such pool");
    return it->second->Sync();
  }
  for (auto& [n, p] : pools_) UZFS_TRY(p->Sync());
  return Status::Ok();
}

}  // namespace uzfs
