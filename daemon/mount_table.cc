#include "daemon/mount_table.h"
#include "daemon/zvol_dev.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace uzfs {

namespace {

std::string PoolOf(const std::string& name) { return name.substr(0, name.find_first_of("/@")); }

bool IsUnder(const std::string& name, const std::string& top) {
  return name == top || (name.size() > top.size() && name.compare(0, top.size(), top) == 0 &&
                         name[top.size()] == '/');
}

}  // namespace

MountTable::~MountTable() { UnmountEverything(); }

Result<MountTable::MountProps> MountTable::PropsOf(const std::string& fs, Pool** pool) {
  MountProps mp;
  Status s = t_->With(PoolOf(fs), [&](Pool& p) -> Status {
    *pool = &p;
    UZFS_ASSIGN(auto props, p.DatasetProps(fs));
    for (const auto& pr : props) {
      if (pr.name == "mountpoint") mp.mountpoint = pr.value;
      else if (pr.name == "canmount") mp.canmount = pr.value;
      else if (pr.name == "readonly") mp.readonly = pr.value == "on";
      else if (pr.name == "atime") mp.atime = pr.value == "on";
      else if (pr.name == "exec") mp.exec = pr.value == "on";
      else if (pr.name == "setuid") mp.setuid = pr.value == "on";
      else if (pr.name == "devices") mp.devices = pr.value == "on";
    }
    // A pool imported read-only mounts its filesystems read-only (zfs_mount's
    // spa_writeable check).
    if (auto ro = p.GetProp("readonly"); ro.ok() && ro->value == "on") mp.readonly = true;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return mp;
}

std::string MountTable::MountpointFor(const std::string& fs) {
  Pool* pool = nullptr;
  auto mp = PropsOf(fs, &pool);
  return mp.ok() ? mp->mountpoint : std::string();
}

// The one table of mount option words (zfsd's; zfs mount and mount.zfs pass theirs through):
// mntopt pairs as zfs_mount_option / Linux's mount(8) name them.
namespace {
using TempField = std::optional<bool> MountTable::TempOptions::*;
struct MountWord {
  const char* word;
  TempField field;  // null: remount
  bool value;
};
const MountWord kMountWords[] = {
    {"ro", &MountTable::TempOptions::readonly, true},
    {"rw", &MountTable::TempOptions::readonly, false},
    {"atime", &MountTable::TempOptions::atime, true},
    {"noatime", &MountTable::TempOptions::atime, false},
    {"exec", &MountTable::TempOptions::exec, true},
    {"noexec", &MountTable::TempOptions::exec, false},
    {"suid", &MountTable::TempOptions::setuid, true},
    {"nosuid", &MountTable::TempOptions::setuid, false},
    {"dev", &MountTable::TempOptions::devices, true},
    {"nodev", &MountTable::TempOptions::devices, false},
    {"remount", nullptr, true},
};
}  // namespace

Result<MountTable::TempOptions> MountTable::ParseTempOptions(const std::string& csv, bool sloppy) {
  TempOptions t;
  size_t at = 0;
  while (at < csv.size()) {
    size_t comma = std::min(csv.find(',', at), csv.size());
    std::string x = csv.substr(at, comma - at);
    at = comma + 1;
    if (x.empty() || x == "defaults") continue;
    const MountWord* w = std::find_if(std::begin(kMountWords), std::end(kMountWords),
                                      [&](const MountWord& m) { return x == m.word; });
    if (w == std::end(kMountWords)) {
      if (sloppy) continue;
      return Status::Error(EINVAL, "unsupported mount option '" + x + "'");
    }
    if (w->field) t.*(w->field) = w->value;
    else t.remount = true;
  }
  return t;
}

MountOptions MountTable::Effective(const MountProps& mp, const TempOptions& t) {
  MountOptions o;
  // A temporary rw does not make a readonly=on dataset writable (zfs_mount: the property's
  // ro wins), as a read-only pool's datasets stay read-only.
  o.readonly = mp.readonly || t.readonly.value_or(false);
  o.atime = t.atime.value_or(mp.atime);
  o.exec = t.exec.value_or(mp.exec);
  o.setuid = t.setuid.value_or(mp.setuid);
  o.devices = t.devices.value_or(mp.devices);
  return o;
}

Status MountTable::MountWith(const std::string& fs, const MountProps& mp, Pool* pool,
                             const TempOptions& t) {
  UZFS_ASSIGN(auto m, FuseMount::Mount(pool, fs, mp.mountpoint, Effective(mp, t)));
  // zil_replay_error's warning: the records past the failed one are lost.
  if (Status r = pool->TakeReplayError(); !r.ok()) spdlog::warn("{}: {}", fs, r.ToString());
  std::lock_guard<std::mutex> l(mu_);
  mounts_[fs] = std::move(m);
  return Status::Ok();
}

Status MountTable::Remount(const std::string& fs, const TempOptions& t, const std::string& dir) {
  Prune();
  Pool* pool = nullptr;
  UZFS_ASSIGN(MountProps mp, PropsOf(fs, &pool));
  FuseMount* m = nullptr;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = mounts_.find(fs);
    if (it != mounts_.end() && (dir.empty() || it->second->mountpoint() == dir)) m = it->second.get();
  }
  if (!m) return Status::Error(EINVAL, "not currently mounted");
  // The mount cannot go meanwhile: unmounts run under zfsd's ops lock too, as this does.
  return m->Remount(Effective(mp, t));
}

std::optional<MountOptions> MountTable::OptionsOf(const std::string& fs) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = mounts_.find(fs);
  if (it == mounts_.end()) return std::nullopt;
  return it->second->options();
}

Status MountTable::MountAt(const std::string& fs, const TempOptions& temp, const std::string& dir,
                           bool zfsutil) {
  if (fs.find('@') != std::string::npos)
    return Status::Error(EINVAL, "snapshots are mounted under the filesystem's .zfs/snapshot");
  if (temp.remount) return Remount(fs, temp, dir);
  Prune();
  Pool* pool = nullptr;
  UZFS_ASSIGN(MountProps mp, PropsOf(fs, &pool));
  // mount_zfs's order: a filesystem that is not legacy is refused before anything else.
  if (mp.mountpoint != "legacy" && !zfsutil) return Status::Error(EINVAL, "not legacy");
  if (Mounted(fs)) return Status::Error(EBUSY, "filesystem already mounted");
  mp.mountpoint = dir;
  return MountWith(fs, mp, pool, temp);
}

Status MountTable::Mount(const std::string& fs, const TempOptions& temp) {
  if (fs.find('@') != std::string::npos)
    return Status::Error(EINVAL, "snapshots are mounted under the filesystem's .zfs/snapshot");
  Prune();
  if (!temp.remount && Mounted(fs)) return Status::Error(EBUSY, "filesystem already mounted");
  Pool* pool = nullptr;
  UZFS_ASSIGN(MountProps mp, PropsOf(fs, &pool));
  // share_mount_one's checks come first, a remount's too.
  if (mp.mountpoint == "legacy")
    return Status::Error(EINVAL, "legacy mountpoint\nuse mount(8) to mount this filesystem");
  if (mp.mountpoint == "none") return Status::Error(EINVAL, "no mountpoint set");
  if (mp.canmount == "off") return Status::Error(EINVAL, "'canmount' property is set to 'off'");
  if (temp.remount) return Remount(fs, temp, "");
  return MountWith(fs, mp, pool, temp);
}

Status MountTable::MountPool(const std::string& pool) {
  std::vector<std::string> names;
  UZFS_TRY(t_->With(pool, [&](Pool& p) -> Status {
    UZFS_ASSIGN(auto all, p.Datasets());
    for (const auto& d : all)
      if (!d.snapshot && !d.volume) names.push_back(d.name);  // a volume has no ZPL to mount
    return Status::Ok();
  }));
  Status first = Status::Ok();
  if (zv_) {
    Status z = zv_->AddPool(pool);
    if (!z.ok()) spdlog::warn("volumes of '{}': {}", pool, z.message());
  }
  for (const std::string& fs : names) {
    if (Mounted(fs)) continue;
    Pool* p = nullptr;
    auto mp = PropsOf(fs, &p);
    if (!mp.ok()) {
      if (first.ok()) first = mp.status();
      continue;
    }
    if (mp->canmount != "on" || mp->mountpoint == "none" || mp->mountpoint == "legacy") continue;
    Status s = MountWith(fs, *mp, p, {});
    if (!s.ok()) {
      spdlog::warn("cannot mount '{}': {}", fs, s.message());
      if (first.ok()) first = Status::Error(s.code(), "cannot mount '" + fs + "': " + s.message());
    }
  }
  return first;
}

Status MountTable::MountIfAuto(const std::string& fs) {
  if (Mounted(fs)) return Status::Ok();
  bool volume = false;
  UZFS_TRY(t_->With(fs.substr(0, fs.find('/')), [&](Pool& p) -> Status {
    UZFS_ASSIGN(volume, p.IsVolume(fs));
    return Status::Ok();
  }));
  if (volume) return zv_ ? zv_->Add(fs) : Status::Ok();
  Pool* p = nullptr;
  UZFS_ASSIGN(MountProps mp, PropsOf(fs, &p));
  if (mp.canmount != "on" || mp.mountpoint == "none" || mp.mountpoint == "legacy") return Status::Ok();
  return MountWith(fs, mp, p, {});
}

void MountTable::MountAll() {
  for (const std::string& p : t_->Names()) (void)MountPool(p);
}

Status MountTable::Unmount(const std::string& fs_or_path, bool force) {
  Prune();
  std::unique_ptr<FuseMount> m;
  std::string fs;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = mounts_.find(fs_or_path);
    if (it == mounts_.end())
      it = std::find_if(mounts_.begin(), mounts_.end(),
                        [&](const auto& e) { return e.second->mountpoint() == fs_or_path; });
    if (it == mounts_.end()) return Status::Error(EINVAL, "not currently mounted");
    fs = it->first;
    m = std::move(it->second);
    mounts_.erase(it);
  }
  Status s = m->Unmount(force);
  if (!s.ok()) {
    std::lock_guard<std::mutex> l(mu_);
    mounts_[fs] = std::move(m);  // still served
    return s;
  }
  spdlog::info("unmounted {}", fs);
  return Status::Ok();
}

Status MountTable::UnmountTree(const std::string& fs, bool force) {
  Prune();
  std::vector<std::string> doomed;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [n, m] : mounts_)
      if (IsUnder(n, fs)) doomed.push_back(n);
  }
  std::sort(doomed.rbegin(), doomed.rend());  // children before parents
  for (const std::string& n : doomed) UZFS_TRY(Unmount(n, force));
  return Status::Ok();
}

void MountTable::UnmountEverything() {
  std::vector<std::string> all;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [n, m] : mounts_) all.push_back(n);
  }
  std::sort(all.rbegin(), all.rend());
  for (const std::string& n : all) {
    Status s = Unmount(n, false);
    if (!s.ok()) s = Unmount(n, true);
    if (!s.ok()) spdlog::warn("cannot unmount '{}': {}", n, s.message());
  }
}

void MountTable::Invalidate(const std::string& fs, uint64_t obj, int64_t off, int64_t len) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = mounts_.find(fs);
  if (it != mounts_.end()) it->second->InvalidateData(obj, off, len);
}

void MountTable::SnapshotsChanged(const std::string& pool) {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [fs, m] : mounts_)
    if (fs == pool || fs.compare(0, pool.size() + 1, pool + "/") == 0) m->InvalidateSnapshots();
}

Status MountTable::Rollback(const std::string& fs, const std::function<Status()>& change) {
  FuseMount* m = nullptr;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = mounts_.find(fs);
    if (it != mounts_.end()) m = it->second.get();
  }
  // The mount cannot go meanwhile: unmounts run under zfsd's ops lock too, as this does. Not
  // under mu_: the file service's Invalidate must not wait for a whole rollback.
  if (!m) return change();
  return m->Rollback(change);
}

bool MountTable::Mounted(const std::string& fs) {
  std::lock_guard<std::mutex> l(mu_);
  return mounts_.count(fs) > 0;
}

std::string MountTable::MountpointOf(const std::string& fs) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = mounts_.find(fs);
  return it == mounts_.end() ? std::string() : it->second->mountpoint();
}

void MountTable::Prune() {
  std::vector<std::unique_ptr<FuseMount>> gone;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = mounts_.begin(); it != mounts_.end();) {
      if (it->second->loop_ended()) {
        gone.push_back(std::move(it->second));
        it = mounts_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& m : gone) {
    Status s = m->Unmount(false);
    if (!s.ok()) spdlog::warn("{}: after its unmount: {}", m->dataset(), s.ToString());
  }
}

std::vector<std::pair<std::string, std::string>> MountTable::List() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [n, m] : mounts_) out.emplace_back(n, m->mountpoint());
  return out;
}

}  // namespace uzfs
