// Volumes as block devices: the loop devices, their /dev/zvol links and the table of
// exposed volumes (zvol_dev.h; docs/design.md section 10). zfs-fuse's zvol.c makes minors
// (zvol_create_minor / zvol_remove_minor / zvol_size_changed); this is the same life cycle
// over the loop driver.
#include "daemon/zvol_dev.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <spdlog/spdlog.h>

namespace uzfs {

namespace {

std::string PoolOf(const std::string& name) { return name.substr(0, name.find_first_of("/@")); }

bool IsUnder(const std::string& name, const std::string& top) {
  return name == top || (name.size() > top.size() && name.compare(0, top.size(), top) == 0 &&
                         name[top.size()] == '/');
}

// OpenZFS's block device name, /dev/zdN, beside /dev/zvol (its parent: /dev): here a link to
// the loop device, N its index (a volume's device keeps that name through a rename, as zdN).
std::filesystem::path ZdPath(const std::string& dev_dir, int loop_index) {
  return std::filesystem::path(dev_dir).parent_path() / ("zd" + std::to_string(loop_index));
}

// Removes p only when it is a link (a /dev/zdN of a kernel ZFS is a device node: left alone).
void RemoveLink(const std::filesystem::path& p) {
  std::error_code ec;
  if (std::filesystem::is_symlink(p, ec)) std::filesystem::remove(p, ec);
}

std::string ReadLine(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

// /dev/loopN, made when devtmpfs has not (yet) made it.
std::string LoopNode(int idx) {
  std::string dev = "/dev/loop" + std::to_string(idx);
  struct stat st;
  if (::stat(dev.c_str(), &st) != 0)
    (void)::mknod(dev.c_str(), S_IFBLK | 0600, makedev(7, static_cast<unsigned>(idx)));
  return dev;
}

}  // namespace

ZvolDevices::ZvolDevices(PoolTable* table, std::string state_dir, std::string dev_dir)
    : t_(table), state_dir_(std::move(state_dir)), dev_dir_(std::move(dev_dir)) {
  mnt_ = state_dir_ + "/zvol";
}

ZvolDevices::~ZvolDevices() { Stop(); }

std::string ZvolDevices::FileName(const std::string& vol) {
  std::string f = vol;
  for (char& c : f)
    if (c == '/') c = '+';
  return f;
}

void ZvolDevices::Cleanup() {
  // Loop devices still bound to a file of our mount: a killed zfsd's, whose autoclear waits
  // for an opener that went away with it, or for a file system still mounted on it.
  std::vector<std::string> stale;
  if (DIR* d = ::opendir("/sys/block")) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n.rfind("loop", 0) != 0) continue;
      std::string back = ReadLine("/sys/block/" + n + "/loop/backing_file");
      if (back.rfind(mnt_ + "/", 0) != 0) continue;
      std::string dev = "/dev/" + n;
      int fd = ::open(dev.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        if (::ioctl(fd, LOOP_CLR_FD, 0) != 0) spdlog::warn("zvol: detaching {}: {}", dev, std::strerror(errno));
        ::close(fd);
      }
      stale.push_back(dev);
    }
    ::closedir(d);
  }
  // Their links, and links to devices that no longer exist.
  std::error_code ec;
  if (std::filesystem::is_directory(dev_dir_, ec)) {
    std::vector<std::filesystem::path> links;
    for (auto it = std::filesystem::recursive_directory_iterator(dev_dir_, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
      if (it->is_symlink(ec)) links.push_back(it->path());
    for (const auto& l : links) {
      std::string target = std::filesystem::read_symlink(l, ec).string();
      bool ours = std::find(stale.begin(), stale.end(), target) != stale.end();
      std::string sys = "/sys/block/" + std::filesystem::path(target).filename().string() + "/loop/backing_file";
      if (ours || ReadLine(sys).empty()) std::filesystem::remove(l, ec);
    }
  }
  // The /dev/zdN links the same way.
  const std::filesystem::path root = std::filesystem::path(dev_dir_).parent_path();
  std::vector<std::filesystem::path> zds;
  for (auto it = std::filesystem::directory_iterator(root, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    const std::string n = it->path().filename().string();
    if (n.size() > 2 && n.rfind("zd", 0) == 0 && n.find_first_not_of("0123456789", 2) == std::string::npos &&
        it->is_symlink(ec))
      zds.push_back(it->path());
  }
  for (const auto& l : zds) {
    std::string target = std::filesystem::read_symlink(l, ec).string();
    if (target.rfind("/dev/loop", 0) != 0) continue;
    bool ours = std::find(stale.begin(), stale.end(), target) != stale.end();
    std::string sys = "/sys/block/" + std::filesystem::path(target).filename().string() + "/loop/backing_file";
    if (ours || ReadLine(sys).empty()) RemoveLink(l);
  }
  (void)::umount2(mnt_.c_str(), MNT_DETACH);  // a dead connection's mount
}

Status ZvolDevices::Start() {
  if (se_) return Status::Ok();
  Cleanup();
  std::error_code ec;
  std::filesystem::create_directories(mnt_, ec);
  if (ec) return Status::Error(ec.value(), "cannot create " + mnt_);
  se_ = ZvolFuseSession(this);
  if (!se_) return Status::Error(EINVAL, "fuse_session_new failed");
  if (fuse_session_mount(se_, mnt_.c_str()) != 0) {
    fuse_session_destroy(se_);
    se_ = nullptr;
    return Status::Error(EIO, "cannot mount the volume file system on " + mnt_);
  }
  fuse_session* se = se_;
  loop_ = std::thread([se] {
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, 8);
    (void)fuse_session_loop_mt(se, cfg);
    fuse_loop_cfg_destroy(cfg);
  });
  return Status::Ok();
}

void ZvolDevices::Stop() {
  if (!se_) return;
  (void)RemoveTree("", true);
  (void)::umount2(mnt_.c_str(), MNT_DETACH);
  fuse_session_exit(se_);
  if (loop_.joinable()) loop_.join();
  fuse_session_unmount(se_);
  fuse_session_destroy(se_);
  se_ = nullptr;
}

std::optional<ZvolDevices::Vol> ZvolDevices::ByIno(uint64_t ino) {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [n, v] : vols_)
    if (v.ino == ino) return v;
  return std::nullopt;
}

std::vector<ZvolDevices::Vol> ZvolDevices::All() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<Vol> out;
  for (const auto& [n, v] : vols_) out.push_back(v);
  return out;
}

std::optional<std::string> ZvolDevices::DeviceOf(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = vols_.find(name);
  if (it == vols_.end() || it->second.loop_index < 0) return std::nullopt;
  return "/dev/loop" + std::to_string(it->second.loop_index);
}

Status ZvolDevices::AddPool(const std::string& pool) {
  if (!se_) return Status::Ok();
  std::vector<std::string> vols;
  UZFS_TRY(t_->With(pool, [&](Pool& p) -> Status {
    UZFS_ASSIGN(vols, p.Volumes());
    return Status::Ok();
  }));
  Status first = Status::Ok();
  for (const std::string& v : vols) {
    Status s = Add(v);
    if (!s.ok()) {
      spdlog::warn("zvol: cannot expose '{}': {}", v, s.message());
      if (first.ok()) first = s;
    }
  }
  return first;
}

Status ZvolDevices::Add(const std::string& name) {
  if (!se_ || name.find('@') != std::string::npos) return Status::Ok();  // snapdev=hidden
  Vol v;
  bool volume = false;
  UZFS_TRY(t_->With(PoolOf(name), [&](Pool& p) -> Status {
    UZFS_ASSIGN(volume, p.IsVolume(name));
    if (!volume) return Status::Ok();
    UZFS_ASSIGN(ZvolStats st, p.VolumeStats(name));
    v.pool = &p;
    v.size = st.volsize;
    return Status::Ok();
  }));
  if (!volume) return Status::Ok();
  {
    std::lock_guard<std::mutex> l(mu_);
    if (vols_.count(name)) return Status::Ok();
    v.name = name;
    v.ino = next_ino_++;
    vols_[name] = v;
  }
  Status s = Attach(&v);  // the FUSE threads look the file up meanwhile: no lock held
  std::lock_guard<std::mutex> l(mu_);
  if (!s.ok()) {
    vols_.erase(name);
    return s;
  }
  vols_[name] = v;
  return Status::Ok();
}

Status ZvolDevices::Attach(Vol* v) {
  const std::string file = mnt_ + "/" + FileName(v->name);
  // O_DIRECT on the backing file is what the loop driver's direct I/O needs (FUSE serves
  // it: the file is direct_io anyway).
  int bfd = ::open(file.c_str(), O_RDWR | O_CLOEXEC | O_DIRECT);
  if (bfd < 0 && errno == EINVAL) bfd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
  if (bfd < 0) return Status::Error(errno, "cannot open " + file + ": " + std::strerror(errno));
  int ctl = ::open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (ctl < 0) {
    int err = errno;
    ::close(bfd);
    return Status::Error(err, std::string("cannot open /dev/loop-control: ") + std::strerror(err));
  }
  int err = 0;
  bool direct = true;
  for (int tries = 0; tries < 16; tries++) {
    int idx = ::ioctl(ctl, LOOP_CTL_GET_FREE);
    if (idx < 0) {
      err = errno;
      break;
    }
    std::string dev = LoopNode(idx);
    int lfd = ::open(dev.c_str(), O_RDWR | O_CLOEXEC);
    if (lfd < 0) {
      err = errno;
      continue;
    }
    loop_config cfg{};
    cfg.fd = static_cast<uint32_t>(bfd);
    cfg.block_size = 512;
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | (direct ? LO_FLAGS_DIRECT_IO : 0);
    std::strncpy(reinterpret_cast<char*>(cfg.info.lo_file_name), file.c_str(), LO_NAME_SIZE - 1);
    if (::ioctl(lfd, LOOP_CONFIGURE, &cfg) != 0) {
      err = errno;
      ::close(lfd);
      if (err == EINVAL && direct) {
        // A kernel that refuses direct I/O over this file: buffered, through the loop
        // device's page cache (the FUSE file itself stays uncached).
        spdlog::info("zvol: {}: no direct I/O for the loop device ({}), buffered", v->name, std::strerror(err));
        direct = false;
        tries--;
        continue;
      }
      if (err == EBUSY) continue;  // another took that device meanwhile
      break;
    }
    err = 0;
    v->loop_fd = lfd;
    v->loop_index = idx;
    v->direct_io = ReadLine("/sys/block/loop" + std::to_string(idx) + "/loop/dio") == "1";
    break;
  }
  ::close(ctl);
  ::close(bfd);  // the loop device holds the file now
  if (err) return Status::Error(err, std::string("cannot attach a loop device: ") + std::strerror(err));
  // udev's zvol rule: /dev/zvol/POOL/VOL → ../../loopN (here an absolute link).
  std::error_code ec;
  std::filesystem::path link = LinkPath(v->name);
  // Twice: another zfsd may remove /dev/zvol, left empty by its last volume, meanwhile.
  for (int i = 0; i < 2; i++) {
    std::filesystem::create_directories(link.parent_path(), ec);
    std::filesystem::remove(link, ec);
    std::filesystem::create_symlink("/dev/loop" + std::to_string(v->loop_index), link, ec);
    if (ec != std::errc::no_such_file_or_directory) break;
  }
  if (ec) spdlog::warn("zvol: cannot link {}: {}", link.string(), ec.message());
  const std::filesystem::path zd = ZdPath(dev_dir_, v->loop_index);
  RemoveLink(zd);
  ec.clear();
  std::filesystem::create_symlink("/dev/loop" + std::to_string(v->loop_index), zd, ec);
  if (ec) spdlog::warn("zvol: cannot link {}: {}", zd.string(), ec.message());
  spdlog::info("zvol: {} is /dev/loop{} ({} I/O)", v->name, v->loop_index, v->direct_io ? "direct" : "buffered");
  return Status::Ok();
}

void ZvolDevices::Detach(Vol* v) {
  std::error_code ec;
  std::filesystem::path link = LinkPath(v->name);
  std::filesystem::remove(link, ec);
  RemoveLink(ZdPath(dev_dir_, v->loop_index));
  // Empty directories of the pool's tree go with their last link, up to /dev/zvol itself
  // (udev removes a link's empty parents so).
  for (auto d = link.parent_path(); d.string().size() >= dev_dir_.size(); d = d.parent_path())
    if (!std::filesystem::remove(d, ec)) break;
  if (v->loop_fd >= 0) {
    // Only holder: detached at once (its I/O drained); else autoclear at the last close.
    if (::ioctl(v->loop_fd, LOOP_CLR_FD, 0) != 0 && errno != ENXIO)
      spdlog::warn("zvol: detaching /dev/loop{}: {}", v->loop_index, std::strerror(errno));
    ::close(v->loop_fd);
    v->loop_fd = -1;
  }
}

Status ZvolDevices::RemoveTree(const std::string& name, bool force) {
  std::vector<Vol> doomed;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [n, v] : vols_)
      if (name.empty() || IsUnder(n, name)) doomed.push_back(v);
  }
  if (!force)
    for (const Vol& v : doomed) {
      // zvol_remove_minor's EBUSY while open: a mount or another exclusive opener.
      std::string dev = "/dev/loop" + std::to_string(v.loop_index);
      int fd = ::open(dev.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
      if (fd < 0 && errno == EBUSY) return Status::Error(EBUSY, "dataset is busy");
      if (fd >= 0) ::close(fd);
    }
  for (Vol& v : doomed) Detach(&v);
  std::unique_lock<std::shared_mutex> io(io_mu_);  // no request still uses their pools
  std::lock_guard<std::mutex> l(mu_);
  for (const Vol& v : doomed) vols_.erase(v.name);
  return Status::Ok();
}

Status ZvolDevices::Resize(const std::string& name) {
  Vol v;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = vols_.find(name);
    if (it == vols_.end()) return Status::Ok();
    v = it->second;
  }
  uint64_t size = 0;
  UZFS_TRY(t_->With(PoolOf(name), [&](Pool& p) -> Status {
    UZFS_ASSIGN(ZvolStats st, p.VolumeStats(name));
    size = st.volsize;
    return Status::Ok();
  }));
  {
    std::lock_guard<std::mutex> l(mu_);
    vols_[name].size = size;
  }
  if (se_) (void)fuse_lowlevel_notify_inval_inode(se_, v.ino, 0, 0);
  // zvol_size_changed: the loop driver reads the file's new size (a FUSE getattr).
  if (v.loop_fd >= 0 && ::ioctl(v.loop_fd, LOOP_SET_CAPACITY, 0) != 0)
    return Status::Error(errno, std::string("cannot resize the device: ") + std::strerror(errno));
  return Status::Ok();
}

}  // namespace uzfs
