#include "libcore/vdev/disk.h"

#include <blkid/blkid.h>
#include <fcntl.h>
#include <libfdisk/libfdisk.h>
#include <libudev.h>
#include <linux/blkpg.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <thread>

#include "libcore/base/env.h"
#include "libcore/vdev/vdev_label.h"

namespace uzfs::disk {

namespace {

namespace fs = std::filesystem;

constexpr uint64_t kNewStartBlock = 2048;         // NEW_START_BLOCK (512-byte sectors)
constexpr uint64_t kEfiMinResvSize = 16 * 1024;   // EFI_MIN_RESV_SIZE (sectors): 8 MiB
constexpr uint64_t kPartitionEndAlign = 2048;     // PARTITION_END_ALIGNMENT
constexpr auto kPartitionWait = std::chrono::seconds(5);

Status Errno(int err, const std::string& what) {
  return Status::Error(err ? err : EIO, what + ": " + std::strerror(err ? err : EIO));
}

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

// /sys/dev/block/M:m resolved: the device's sysfs directory, or empty.
std::string SysfsDir(dev_t rdev) {
  std::error_code ec;
  fs::path p = fs::canonical("/sys/dev/block/" + std::to_string(major(rdev)) + ":" +
                                 std::to_string(minor(rdev)),
                             ec);
  return ec ? std::string() : p.string();
}

std::optional<dev_t> BlockDev(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return std::nullopt;
  return st.st_rdev;
}

struct PartitionNode {
  std::string node;  // /dev/<kernel name>
  dev_t rdev = 0;
  int number = 0;                // the kernel's partition number (sysfs "partition")
  uint64_t start = 0, size = 0;  // 512-byte units, from sysfs
};

// The partitions the kernel knows of the disk whose sysfs directory is sys.
std::vector<PartitionNode> KernelPartitions(const std::string& sys) {
  std::vector<PartitionNode> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(sys, ec)) {
    if (!fs::exists(e.path() / "partition")) continue;
    PartitionNode p;
    p.node = "/dev/" + e.path().filename().string();
    unsigned ma = 0, mi = 0;
    if (std::sscanf(ReadSmallFile((e.path() / "dev").string()).c_str(), "%u:%u", &ma, &mi) == 2)
      p.rdev = makedev(ma, mi);
    p.number = std::atoi(ReadSmallFile((e.path() / "partition").string()).c_str());
    p.start = std::strtoull(ReadSmallFile((e.path() / "start").string()).c_str(), nullptr, 10);
    p.size = std::strtoull(ReadSmallFile((e.path() / "size").string()).c_str(), nullptr, 10);
    out.push_back(p);
  }
  std::sort(out.begin(), out.end(),
            [](const PartitionNode& a, const PartitionNode& b) { return a.node < b.node; });
  return out;
}

// Mount point of the first mount whose source is rdev (/proc/self/mountinfo field 3), or empty.
std::string MountPointOf(dev_t rdev) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string id, parent, mm, root, mnt;
    ls >> id >> parent >> mm >> root >> mnt;
    unsigned ma = 0, mi = 0;
    if (std::sscanf(mm.c_str(), "%u:%u", &ma, &mi) == 2 && makedev(ma, mi) == rdev) return mnt;
  }
  return {};
}

// One libblkid pass: superblocks (TYPE, LABEL) or partition tables (PTTYPE).
void BlkidPass(const std::string& path, bool partitions, DeviceUse* u) {
  blkid_probe pr = blkid_new_probe_from_filename(path.c_str());
  if (!pr) return;
  blkid_probe_enable_superblocks(pr, partitions ? 0 : 1);
  blkid_probe_enable_partitions(pr, partitions ? 1 : 0);
  if (!partitions) blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL);
  int rc = blkid_do_safeprobe(pr);
  if (rc == -2) rc = blkid_do_probe(pr);  // ambivalent: report the first signature found
  if (rc == 0) {
    const char* v = nullptr;
    if (!partitions) {
      if (blkid_probe_lookup_value(pr, "TYPE", &v, nullptr) == 0 && v) u->fs_type = v;
      if (blkid_probe_lookup_value(pr, "LABEL", &v, nullptr) == 0 && v) u->fs_label = v;
    } else if (blkid_probe_lookup_value(pr, "PTTYPE", &v, nullptr) == 0 && v) {
      u->pt_type = v;
    }
  }
  blkid_free_probe(pr);
}

std::optional<PoolLabel> ReadPoolLabel(const std::string& path) {
  auto f = PosixEnv()->Open(path, OpenOptions{});
  if (!f.ok()) return std::nullopt;
  auto dl = ReadDeviceLabels(**f);
  if (!dl.ok() || !dl->config()) return std::nullopt;
  const NvList& cfg = *dl->config();
  PoolLabel l;
  l.state = cfg.GetUint64("state").value_or(~0ULL);
  l.guid = cfg.GetUint64("guid").value_or(0);
  if (const std::string* n = cfg.GetString("name")) l.name = *n;
  l.pool_guid = cfg.GetUint64("pool_guid").value_or(0);
  l.removed = cfg.GetUint64("txg").value_or(1) == 0 && cfg.GetUint64("create_txg").value_or(1) == 0;
  if (l.state == ~0ULL) return std::nullopt;  // every label carries its state
  return l;
}

// check_file_generic on a label already read: the refusal, if the label makes path in use.
std::optional<Refusal> LabelRefusal(const std::string& path, const PoolLabel& l,
                                    const PoolActiveFn& pool_active) {
  const char* desc;
  bool overridable = true;
  switch (l.state) {
    case kPoolStateActive:
      if (pool_active && l.removed && pool_active(l.name, l.pool_guid))
        return std::nullopt;  // the imported pool no longer has it (zpool_in_use's find_guid)
      if (!pool_active || pool_active(l.name, l.pool_guid)) {
        desc = "active";
        overridable = false;
      } else {
        desc = "potentially active";
      }
      break;
    case kPoolStateExported:
      desc = "exported";
      break;
    default:  // destroyed, or a spare / l2cache no imported pool uses: free
      return std::nullopt;
  }
  return Refusal{path + " is part of " + desc + " pool '" + l.name + "'", overridable, false};
}

// check_slice: what a partition (or a disk without a table) holds.
Result<std::vector<Refusal>> SliceRefusals(const std::string& path, const PoolActiveFn& active) {
  UZFS_ASSIGN(DeviceUse u, ProbeDevice(path));
  std::vector<Refusal> out;
  if (u.pool) {
    if (auto r = LabelRefusal(path, *u.pool, active)) out.push_back(*r);
    return out;
  }
  if (!u.fs_type.empty() && u.fs_type != "zfs_member")
    out.push_back({path + " contains a filesystem of type '" + u.fs_type + "'"});
  return out;
}

}  // namespace

Result<DeviceUse> ProbeDevice(const std::string& path) {
  {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd.ok()) return Errno(errno, "cannot open '" + path + "'");
  }
  DeviceUse u;
  BlkidPass(path, false, &u);
  BlkidPass(path, true, &u);
  u.pool = ReadPoolLabel(path);
  if (u.pool)
    u.kind = DeviceUse::Kind::kPool;
  else if (u.fs_type == "swap")
    u.kind = DeviceUse::Kind::kSwap;
  else if (!u.fs_type.empty() && u.fs_type != "zfs_member")
    u.kind = DeviceUse::Kind::kFilesystem;
  else if (!u.pt_type.empty())
    u.kind = DeviceUse::Kind::kPartitionTable;
  return u;
}

Result<std::vector<Refusal>> DeviceRefusals(const std::string& path,
                                            const PoolActiveFn& pool_active) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Errno(errno, "cannot open '" + path + "'");
  std::vector<Refusal> out;
  if (!S_ISBLK(st.st_mode)) {  // check_file: only a pool label matters
    if (auto l = ReadPoolLabel(path))
      if (auto r = LabelRefusal(path, *l, pool_active)) out.push_back(*r);
    return out;
  }
  const std::string sys = SysfsDir(st.st_rdev);
  const bool whole = !sys.empty() && !fs::exists(fs::path(sys) / "partition");
  const std::vector<PartitionNode> parts = whole ? KernelPartitions(sys) : std::vector<PartitionNode>{};
  // Mounted, the device or one of its partitions: nothing overrides that.
  std::string mnt = MountPointOf(st.st_rdev);
  std::string mounted = path;
  for (size_t i = 0; mnt.empty() && i < parts.size(); i++) {
    mnt = MountPointOf(parts[i].rdev);
    mounted = parts[i].node;
  }
  if (!mnt.empty()) {
    out.push_back({mounted + " is currently mounted on " + mnt, false});
    return out;
  }
  UZFS_ASSIGN(DeviceUse u, ProbeDevice(path));
  if (u.pool) {  // before O_EXCL, so a member of an imported pool is named as such
    if (auto r = LabelRefusal(path, *u.pool, pool_active)) {
      out.push_back(*r);
      return out;
    }
  }
  {
    Fd fd(::open(path.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC));
    if (!fd.ok() && errno == EBUSY) {
      out.push_back({path + " is in use and contains a " +
                         (u.fs_type.empty() ? std::string("unknown") : u.fs_type) + " filesystem.",
                     false, true});
      return out;
    }
  }
  if (u.pool) return out;  // a free (destroyed) pool label: nothing else to say, as check_slice
  if (!u.fs_type.empty() && u.fs_type != "zfs_member") {
    out.push_back({path + " contains a filesystem of type '" + u.fs_type + "'"});
    return out;
  }
  if (!u.pt_type.empty()) {
    for (const PartitionNode& p : parts) {
      UZFS_ASSIGN(std::vector<Refusal> pr, SliceRefusals(p.node, pool_active));
      out.insert(out.end(), pr.begin(), pr.end());
      if (!pr.empty()) break;  // check_disk stops at the first partition in use
    }
    // check_disk: an EFI (GPT) disk whose partitions hold nothing in use is free, so a disk
    // of a destroyed pool takes a new one without -f. OpenZFS does not scan other tables and
    // checks only the whole device; uzfs refuses them (their partitions may hold data).
    if (u.pt_type != "gpt")
      out.push_back({path + " contains a partition table of type '" + u.pt_type + "'"});
  }
  return out;
}

Status CheckDeviceFree(const std::string& path, bool force, const PoolActiveFn& pool_active) {
  UZFS_ASSIGN(std::vector<Refusal> refusals, DeviceRefusals(path, pool_active));
  std::string msg;
  for (const Refusal& r : refusals) {
    if (force && r.overridable) continue;
    if (!msg.empty()) msg += '\n';
    msg += r.message;
  }
  return msg.empty() ? Status::Ok() : Status::Error(EBUSY, msg);
}

namespace {

bool PreferredById(const std::string& a, const std::string& b) {
  auto rank = [](const std::string& link) {
    std::string n = fs::path(link).filename().string();
    return (n.rfind("wwn-", 0) == 0 || n.rfind("nvme-eui.", 0) == 0) ? 1 : 0;
  };
  int ra = rank(a), rb = rank(b);
  return ra != rb ? ra < rb : a < b;
}

// /dev/disk/by-id links to rdev: udev's database when it has one, else the directory itself.
std::vector<std::string> ByIdLinks(udev* ud, dev_t rdev) {
  std::vector<std::string> out;
  if (ud) {
    if (udev_device* d = udev_device_new_from_devnum(ud, 'b', rdev)) {
      udev_list_entry* e;
      udev_list_entry_foreach(e, udev_device_get_devlinks_list_entry(d)) {
        std::string link = udev_list_entry_get_name(e);
        if (link.rfind("/dev/disk/by-id/", 0) == 0) out.push_back(link);
      }
      udev_device_unref(d);
    }
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/dev/disk/by-id", ec)) {
    std::string link = e.path().string();
    if (BlockDev(link) == rdev && std::find(out.begin(), out.end(), link) == out.end())
      out.push_back(link);
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct UdevDeleter {
  void operator()(udev* u) const { udev_unref(u); }
};

}  // namespace

const std::vector<std::string>& DefaultImportPath() {
  static const std::vector<std::string> dirs = {
      "/dev/disk/by-vdev",     "/dev/mapper",        "/dev/disk/by-partlabel",
      "/dev/disk/by-partuuid", "/dev/disk/by-label", "/dev/disk/by-uuid",
      "/dev/disk/by-id",       "/dev/disk/by-path",  "/dev"};
  return dirs;
}

std::vector<std::string> ListBlockDevices() {
  std::vector<std::string> out;
  udev* ud = udev_new();
  if (!ud) return out;
  udev_enumerate* en = udev_enumerate_new(ud);
  udev_enumerate_add_match_subsystem(en, "block");
  udev_enumerate_scan_devices(en);
  udev_list_entry* e;
  udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en)) {
    udev_device* d = udev_device_new_from_syspath(ud, udev_list_entry_get_name(e));
    if (!d) continue;
    const char* node = udev_device_get_devnode(d);
    const char* size = udev_device_get_sysattr_value(d, "size");
    if (node && size && std::strtoull(size, nullptr, 10) > 0) out.push_back(node);
    udev_device_unref(d);
  }
  udev_enumerate_unref(en);
  udev_unref(ud);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<DiskInfo> ListDisks() {
  std::unique_ptr<udev, UdevDeleter> ud(udev_new());
  if (!ud) return {};
  udev_enumerate* en = udev_enumerate_new(ud.get());
  if (!en) return {};
  udev_enumerate_add_match_subsystem(en, "block");
  udev_enumerate_add_match_property(en, "DEVTYPE", "disk");
  udev_enumerate_scan_devices(en);
  std::vector<DiskInfo> out;
  udev_list_entry* e;
  udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en)) {
    udev_device* d = udev_device_new_from_syspath(ud.get(), udev_list_entry_get_name(e));
    if (!d) continue;
    DiskInfo di;
    auto prop = [&](const char* name) {
      const char* v = udev_device_get_property_value(d, name);
      return v ? std::string(v) : std::string();
    };
    auto attr = [&](const char* name) {
      const char* v = udev_device_get_sysattr_value(d, name);
      std::string s = v ? v : "";
      while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
      return s;
    };
    if (const char* n = udev_device_get_devnode(d)) di.devnode = n;
    di.size = std::strtoull(attr("size").c_str(), nullptr, 10) * 512;
    di.model = prop("ID_MODEL");
    if (di.model.empty()) di.model = attr("device/model");
    di.serial = prop("ID_SERIAL_SHORT");
    if (di.serial.empty()) di.serial = prop("ID_SERIAL");
    if (di.serial.empty()) di.serial = attr("device/serial");
    di.removable = attr("removable") == "1";
    const char* sys = udev_device_get_syspath(d);
    di.has_partitions = sys && !KernelPartitions(sys).empty();
    di.by_id = ByIdLinks(ud.get(), udev_device_get_devnum(d));
    udev_device_unref(d);
    if (!di.devnode.empty() && di.size > 0) out.push_back(std::move(di));
  }
  udev_enumerate_unref(en);
  std::sort(out.begin(), out.end(),
            [](const DiskInfo& a, const DiskInfo& b) { return a.devnode < b.devnode; });
  return out;
}

Result<std::string> ResolveDevice(const std::string& name) {
  std::string found;
  if (!name.empty() && name[0] == '/') {
    char real[PATH_MAX];
    if (!::realpath(name.c_str(), real)) return Errno(errno, "cannot open '" + name + "'");
    found = real;
  } else {
    for (const std::string& dir : DefaultImportPath()) {
      std::string p = std::string(dir) + "/" + name;
      char real[PATH_MAX];
      if (name.find('/') == std::string::npos && ::access(p.c_str(), F_OK) == 0 &&
          ::realpath(p.c_str(), real)) {
        found = real;
        break;
      }
    }
    if (found.empty())
      return Status::Error(ENOENT, "cannot open '" + name + "': no such device in /dev");
  }
  if (!BlockDev(found)) return Status::Error(EINVAL, "'" + name + "' is not a block device");
  return found;
}

std::string ByIdName(const std::string& devnode) {
  auto rdev = BlockDev(devnode);
  if (!rdev) return {};
  std::unique_ptr<udev, UdevDeleter> ud(udev_new());
  std::vector<std::string> links = ByIdLinks(ud.get(), *rdev);
  links.erase(std::remove_if(links.begin(), links.end(),
                             [](const std::string& l) {
                               return l.find("-part") != std::string::npos;
                             }),
              links.end());
  if (links.empty()) return {};
  return *std::min_element(links.begin(), links.end(), PreferredById);
}

Result<uint64_t> DeviceSize(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.ok()) return Errno(errno, "cannot open '" + path + "'");
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Errno(errno, "cannot stat '" + path + "'");
  if (S_ISREG(st.st_mode)) return static_cast<uint64_t>(st.st_size);
  if (!S_ISBLK(st.st_mode))
    return Status::Error(EINVAL, "'" + path + "' is not a block device or regular file");
  uint64_t size = 0;
  if (::ioctl(fd.get(), BLKGETSIZE64, &size) != 0) return Errno(errno, "BLKGETSIZE64 '" + path + "'");
  return size;
}

bool IsBlockDevice(const std::string& path) { return BlockDev(path).has_value(); }

bool IsWholeDisk(const std::string& path) {
  auto rdev = BlockDev(path);
  if (!rdev) return false;
  std::string sys = SysfsDir(*rdev);
  return !sys.empty() && !fs::exists(fs::path(sys) / "partition");
}

std::string PartitionPath(const std::string& devnode, int n) {
  if (devnode.rfind("/dev/disk/", 0) == 0) return devnode + "-part" + std::to_string(n);
  bool digit_end = !devnode.empty() && std::isdigit(static_cast<unsigned char>(devnode.back()));
  return devnode + (digit_end ? "p" : "") + std::to_string(n);
}

Result<GptPlan> PlanWholeDiskGpt(uint64_t last_usable_lba, uint64_t sector_size) {
  GptPlan p;
  p.sector_size = sector_size;
  // zpool_label_disk: scale by lbasize / 512 so 512 and 4K disks of one size get one layout.
  uint64_t coeff = sector_size / 512;
  if (coeff == 0 || (kNewStartBlock * 512) % sector_size || (kEfiMinResvSize * 512) % sector_size)
    coeff = 1;
  p.p1_start = kNewStartBlock / coeff;
  p.p9_size = kEfiMinResvSize / coeff;
  uint64_t avail = last_usable_lba + 1;
  if (avail < p.p1_start + p.p9_size)
    return Status::Error(EINVAL, "partition would be less than the minimum device size (64M)");
  p.p1_size = (avail - p.p9_size - p.p1_start) / kPartitionEndAlign * kPartitionEndAlign;
  if (p.p1_size * sector_size < kMinDevSize)
    return Status::Error(EINVAL, "partition would be less than the minimum device size (64M)");
  p.p9_start = p.p1_start + p.p1_size;
  return p;
}

namespace {

struct FdiskCxt {
  fdisk_context* cxt = fdisk_new_context();
  ~FdiskCxt() {
    if (cxt) fdisk_unref_context(cxt);
  }
};

// Adds partition partno (0-based) of [start, start+size) sectors with a type GUID and a name.
int AddPartition(fdisk_context* cxt, size_t partno, uint64_t start, uint64_t size,
                 const char* type, const std::string& name) {
  fdisk_partition* pa = fdisk_new_partition();
  if (!pa) return -ENOMEM;
  fdisk_partition_set_partno(pa, partno);
  fdisk_partition_set_start(pa, start);
  fdisk_partition_set_size(pa, size);
  fdisk_partition_size_explicit(pa, 1);  // no rounding of the size: the plan is exact
  fdisk_parttype* t = fdisk_label_get_parttype_from_string(fdisk_get_label(cxt, nullptr), type);
  if (t) fdisk_partition_set_type(pa, t);
  if (!name.empty()) fdisk_partition_set_name(pa, name.c_str());
  int rc = t ? fdisk_add_partition(cxt, pa, nullptr) : -EINVAL;
  if (t) fdisk_unref_parttype(t);
  fdisk_unref_partition(pa);
  return rc;
}

void BlkpgPartition(int fd, int op, int pno, uint64_t start_bytes, uint64_t length_bytes) {
  struct blkpg_partition bp {};
  bp.pno = pno;
  bp.start = static_cast<long long>(start_bytes);
  bp.length = static_cast<long long>(length_bytes);
  struct blkpg_ioctl_arg arg {};
  arg.op = op;
  arg.datalen = sizeof bp;
  arg.data = &bp;
  (void)::ioctl(fd, BLKPG, &arg);
}

}  // namespace

Result<std::string> LabelWholeDisk(const std::string& devnode) {
  const std::string what = "cannot label '" + devnode + "'";
  char realbuf[PATH_MAX];
  if (!::realpath(devnode.c_str(), realbuf)) return Errno(errno, what);
  const std::string real = realbuf;
  if (!IsWholeDisk(real)) return Status::Error(EINVAL, what + ": not a whole disk");
  Fd fd(::open(real.c_str(), O_RDWR | O_EXCL | O_CLOEXEC));
  if (!fd.ok()) return Errno(errno, what + ": unable to open device");

  FdiskCxt fc;
  if (!fc.cxt) return Status::Error(ENOMEM, what + ": fdisk_new_context");
  auto fail = [&](int rc, const std::string& why) {
    return Status::Error(rc < 0 ? -rc : (rc ? rc : EIO), what + ": " + why);
  };
  fdisk_disable_dialogs(fc.cxt, 1);
  int rc = fdisk_assign_device_by_fd(fc.cxt, fd.get(), real.c_str(), 0);
  if (rc) return fail(rc, "libfdisk cannot use the device");
  fdisk_enable_wipe(fc.cxt, 1);  // old file system and table signatures go
  if ((rc = fdisk_create_disklabel(fc.cxt, "gpt"))) return fail(rc, "cannot create a GPT");
  const uint64_t ssz = fdisk_get_sector_size(fc.cxt);
  Result<GptPlan> planned = PlanWholeDiskGpt(fdisk_get_last_lba(fc.cxt), ssz);
  if (!planned.ok()) return planned.status().Context(what);
  const GptPlan plan = *planned;
  std::random_device rd;
  uint64_t id = (static_cast<uint64_t>(rd()) << 32) | rd();
  char name[32];
  std::snprintf(name, sizeof name, "zfs-%016llx", static_cast<unsigned long long>(id));
  if ((rc = AddPartition(fc.cxt, 0, plan.p1_start, plan.p1_size, kZfsPartType, name)))
    return fail(rc, "cannot add partition 1");
  if ((rc = AddPartition(fc.cxt, 8, plan.p9_start, plan.p9_size, kReservedPartType, "")))
    return fail(rc, "cannot add partition 9");
  if ((rc = fdisk_write_disklabel(fc.cxt))) return fail(rc, "cannot write the GPT");
  (void)::fsync(fd.get());
  (void)::ioctl(fd.get(), BLKFLSBUF);
  fdisk_deassign_device(fc.cxt, 1);  // by_fd: our descriptor stays open

  // The kernel must see the new table: BLKRRPART (works on an idle disk, loop devices need -P),
  // else partx -a's way, BLKPG per partition. Done when partition 1 has the planned geometry.
  const std::string sys = SysfsDir(*BlockDev(real));
  const uint64_t scale = ssz / 512;
  auto planned_p1 = [&]() -> std::string {  // partition 1's node once the kernel has the plan
    for (const PartitionNode& p : KernelPartitions(sys))
      if (p.number == 1 && p.start == plan.p1_start * scale && p.size == plan.p1_size * scale)
        return p.node;
    return {};
  };
  // Some kernels answer BLKRRPART without reading a GPT (no CONFIG_EFI_PARTITION): the sysfs
  // geometry, set synchronously by either ioctl, tells. The node itself comes from devtmpfs/udev.
  bool matched = ::ioctl(fd.get(), BLKRRPART) == 0 && !planned_p1().empty();
  if (!matched) {
    for (const PartitionNode& p : KernelPartitions(sys))
      BlkpgPartition(fd.get(), BLKPG_DEL_PARTITION, p.number, 0, 0);
    BlkpgPartition(fd.get(), BLKPG_ADD_PARTITION, 1, plan.p1_start * ssz, plan.p1_size * ssz);
    BlkpgPartition(fd.get(), BLKPG_ADD_PARTITION, 9, plan.p9_start * ssz, plan.p9_size * ssz);
  }
  const auto deadline = std::chrono::steady_clock::now() + kPartitionWait;
  std::string node;
  while ((node = planned_p1()).empty() || !BlockDev(node)) {
    if (std::chrono::steady_clock::now() >= deadline)
      return Status::Error(ENODEV, what + ": partition " + PartitionPath(real, 1) +
                                       " did not appear (a loop device may need losetup -P)");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // zero_label: no stale magic in the partition's first 4 KiB for libblkid to find.
  {
    Fd pfd(::open(node.c_str(), O_WRONLY | O_CLOEXEC));
    if (!pfd.ok()) return Errno(errno, what + ": cannot open " + node);
    static const char zeros[4096] = {};
    if (::pwrite(pfd.get(), zeros, sizeof zeros, 0) != static_cast<ssize_t>(sizeof zeros))
      return Errno(errno, what + ": cannot zero the start of " + node);
    (void)::fsync(pfd.get());
  }
  return node;
}

}  // namespace uzfs::disk
