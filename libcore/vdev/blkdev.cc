#include "libcore/vdev/blkdev.h"

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

#include <cctype>
#include <chrono>
#include <climits>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <thread>

#include "libcore/base/env.h"
#include "libcore/vdev/vdev_label.h"

namespace uzfs {

namespace {

constexpr const char* kZfsType = "6A898CC3-1DD2-11B2-99A6-080020736631";
constexpr const char* kReservedType = "6A945A3B-1DD2-11B2-99A6-080020736631";
constexpr uint64_t kStartSector = 2048;      // NEW_START_BLOCK
constexpr uint64_t kReservedSectors = 16384;  // EFI_MIN_RESV_SIZE: 8 MiB

std::string MountPointOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return {};
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mountpoint ...
    std::istringstream ls(line);
    std::string id, parent, mm, root, mnt;
    ls >> id >> parent >> mm >> root >> mnt;
    unsigned ma = 0, mi = 0;
    if (std::sscanf(mm.c_str(), "%u:%u", &ma, &mi) != 2) continue;
    if (makedev(ma, mi) == st.st_rdev) return mnt;
  }
  return {};
}

struct UdevDeleter {
  void operator()(udev* u) const { udev_unref(u); }
};

}  // namespace

Result<DeviceUse> ProbeDevice(const std::string& path) {
  DeviceUse u;
  blkid_probe pr = blkid_new_probe_from_filename(path.c_str());
  if (!pr) return Status::Error(errno ? errno : EIO, "cannot probe " + path);
  blkid_probe_enable_superblocks(pr, 1);
  blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL);
  blkid_probe_enable_partitions(pr, 1);
  int rc = blkid_do_safeprobe(pr);
  if (rc == 0) {
    const char* v = nullptr;
    if (blkid_probe_lookup_value(pr, "TYPE", &v, nullptr) == 0 && v) u.fs_type = v;
    if (blkid_probe_lookup_value(pr, "LABEL", &v, nullptr) == 0 && v) u.fs_label = v;
    if (blkid_probe_lookup_value(pr, "PTTYPE", &v, nullptr) == 0 && v) u.pt_type = v;
  }
  blkid_free_probe(pr);
  // Our own label reader knows the pool's state (blkid only says "zfs_member").
  auto f = PosixEnv()->Open(path, OpenOptions{});
  if (f.ok()) {
    auto dl = ReadDeviceLabels(**f);
    if (dl.ok() && dl->config()) {
      const NvList& cfg = *dl->config();
      if (const std::string* n = cfg.GetString("name")) {
        u.has_pool = true;
        u.pool = *n;
        u.pool_state = cfg.GetUint64("state").value_or(0);
      }
    }
  }
  u.mounted_on = MountPointOf(path);
  return u;
}

Result<std::vector<DiskInfo>> ListDisks() {
  std::unique_ptr<udev, UdevDeleter> ud(udev_new());
  if (!ud) return Status::Error(ENOMEM, "udev_new");
  udev_enumerate* en = udev_enumerate_new(ud.get());
  udev_enumerate_add_match_subsystem(en, "block");
  udev_enumerate_add_match_property(en, "DEVTYPE", "disk");
  udev_enumerate_scan_devices(en);
  std::vector<DiskInfo> out;
  udev_list_entry* e;
  udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en)) {
    udev_device* d = udev_device_new_from_syspath(ud.get(), udev_list_entry_get_name(e));
    if (!d) continue;
    DiskInfo di;
    if (const char* n = udev_device_get_devnode(d)) di.devnode = n;
    if (const char* s = udev_device_get_sysattr_value(d, "size")) di.size = std::strtoull(s, nullptr, 10) * 512;
    if (const char* m = udev_device_get_property_value(d, "ID_MODEL")) di.model = m;
    if (const char* s = udev_device_get_property_value(d, "ID_SERIAL")) di.serial = s;
    di.by_id = ByIdName(di.devnode);
    udev_device_unref(d);
    if (!di.devnode.empty()) out.push_back(std::move(di));
  }
  udev_enumerate_unref(en);
  return out;
}

Result<std::vector<std::string>> ListBlockDevices() {
  std::unique_ptr<udev, UdevDeleter> ud(udev_new());
  if (!ud) return Status::Error(ENOMEM, "udev_new");
  udev_enumerate* en = udev_enumerate_new(ud.get());
  udev_enumerate_add_match_subsystem(en, "block");
  udev_enumerate_scan_devices(en);
  std::vector<std::string> out;
  udev_list_entry* e;
  udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en)) {
    udev_device* d = udev_device_new_from_syspath(ud.get(), udev_list_entry_get_name(e));
    if (!d) continue;
    const char* n = udev_device_get_devnode(d);
    const char* size = udev_device_get_sysattr_value(d, "size");
    if (n && size && std::strtoull(size, nullptr, 10) > 0) out.push_back(n);
    udev_device_unref(d);
  }
  udev_enumerate_unref(en);
  return out;
}

std::string ByIdName(const std::string& devnode) {
  struct stat st;
  if (::stat(devnode.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return {};
  std::unique_ptr<udev, UdevDeleter> ud(udev_new());
  if (!ud) return {};
  udev_device* d = udev_device_new_from_devnum(ud.get(), 'b', st.st_rdev);
  if (!d) return {};
  std::string best;
  udev_list_entry* e;
  udev_list_entry_foreach(e, udev_device_get_devlinks_list_entry(d)) {
    std::string link = udev_list_entry_get_name(e);
    if (link.rfind("/dev/disk/by-id/", 0) != 0) continue;
    // Prefer the wwn-/nvme-eui names OpenZFS prefers less than model_serial ones: take the
    // first non-wwn link, else any.
    if (best.empty() || (best.find("/wwn-") != std::string::npos && link.find("/wwn-") == std::string::npos))
      best = link;
  }
  udev_device_unref(d);
  return best;
}

bool IsWholeDisk(const std::string& path) {
  char real[PATH_MAX];
  if (!::realpath(path.c_str(), real)) return false;
  struct stat st;
  if (::stat(real, &st) != 0 || !S_ISBLK(st.st_mode)) return false;
  std::string sys = "/sys/dev/block/" + std::to_string(major(st.st_rdev)) + ":" +
                    std::to_string(minor(st.st_rdev)) + "/partition";
  return ::access(sys.c_str(), F_OK) != 0;
}

std::string PartitionPath(const std::string& devnode, int n) {
  bool digit_end = !devnode.empty() && std::isdigit(static_cast<unsigned char>(devnode.back()));
  return devnode + (digit_end ? "p" : "") + std::to_string(n);
}

Result<std::string> LabelWholeDisk(const std::string& devnode) {
  fdisk_context* cxt = fdisk_new_context();
  if (!cxt) return Status::Error(ENOMEM, "fdisk_new_context");
  auto fail = [&](int rc, const std::string& what) {
    fdisk_unref_context(cxt);
    return Status::Error(rc < 0 ? -rc : EIO, "cannot label '" + devnode + "': " + what);
  };
  int rc = fdisk_assign_device(cxt, devnode.c_str(), 0);
  if (rc) return fail(rc, "cannot open the device");
  if ((rc = fdisk_create_disklabel(cxt, "gpt"))) return fail(rc, "cannot create a GPT");
  uint64_t sectors = fdisk_get_nsectors(cxt);
  uint64_t ssz = fdisk_get_sector_size(cxt);
  uint64_t last = fdisk_get_last_lba(cxt);
  uint64_t resv = kReservedSectors * 512 / ssz;
  uint64_t start = kStartSector * 512 / ssz;
  if (last < start + resv + 2 * resv) return fail(-ENOSPC, "device too small");
  uint64_t resv_start = (last + 1 - resv) / (1024 * 1024 / ssz) * (1024 * 1024 / ssz);  // 1 MiB aligned
  if (resv_start + resv > last + 1) resv_start -= 1024 * 1024 / ssz;
  (void)sectors;
  std::mt19937_64 rng{std::random_device{}()};
  char name[32];
  std::snprintf(name, sizeof name, "zfs-%016llx", static_cast<unsigned long long>(rng()));
  auto add = [&](size_t partno, uint64_t first, uint64_t size, const char* type, const char* pname) -> int {
    fdisk_partition* pa = fdisk_new_partition();
    fdisk_partition_set_partno(pa, partno);
    fdisk_partition_set_start(pa, first);
    fdisk_partition_set_size(pa, size);
    fdisk_parttype* t = fdisk_label_parse_parttype(fdisk_get_label(cxt, nullptr), type);
    fdisk_partition_set_type(pa, t);
    if (pname) fdisk_partition_set_name(pa, pname);
    int r = fdisk_add_partition(cxt, pa, nullptr);
    fdisk_unref_parttype(t);
    fdisk_unref_partition(pa);
    return r;
  };
  if ((rc = add(0, start, resv_start - start, kZfsType, name))) return fail(rc, "cannot add partition 1");
  if ((rc = add(8, resv_start, resv, kReservedType, nullptr))) return fail(rc, "cannot add partition 9");
  if ((rc = fdisk_write_disklabel(cxt))) return fail(rc, "cannot write the GPT");
  fdisk_reread_partition_table(cxt);
  fdisk_deassign_device(cxt, 0);
  fdisk_unref_context(cxt);
  std::string part = PartitionPath(devnode, 1);
  // Tell the kernel: re-read the table, and where that does not create the partitions (a
  // busy disk, some loop setups) add them one by one (BLKPG, as partx -a does).
  auto add_blkpg = [&](int fd, int pno, uint64_t first, uint64_t count) {
    struct blkpg_partition bp {};
    bp.pno = pno;
    bp.start = static_cast<long long>(first * ssz);
    bp.length = static_cast<long long>(count * ssz);
    struct blkpg_ioctl_arg arg {};
    arg.op = BLKPG_ADD_PARTITION;
    arg.datalen = sizeof bp;
    arg.data = &bp;
    ::ioctl(fd, BLKPG, &arg);
  };
  for (int i = 0; i < 100; i++) {
    struct stat st;
    if (::stat(part.c_str(), &st) == 0 && S_ISBLK(st.st_mode)) return part;
    if (i == 0 || i == 10) {
      int fd = ::open(devnode.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        if (i == 0) {
          ::ioctl(fd, BLKRRPART);
        } else {
          add_blkpg(fd, 1, start, resv_start - start);
          add_blkpg(fd, 9, resv_start, resv);
        }
        ::close(fd);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::Error(ENODEV, "cannot label '" + devnode + "': partition " + part + " did not appear");
}

}  // namespace uzfs
