// disk.h on real loop devices (root and /dev/loop-control needed; the tests skip otherwise):
// what ProbeDevice sees after mkfs.ext4, sfdisk and our own or zfs-fuse's labels, the refusals
// with OpenZFS's words, and the GPT LabelWholeDisk writes, judged by sfdisk --json and blkid.
#include "libcore/vdev/disk.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>

#include "libcore/base/env.h"
#include "libcore/vdev/vdev_label.h"

namespace uzfs::disk {
namespace {

namespace fs = std::filesystem;

// Runs a shell command; returns its exit status and fills out with stdout.
int Sh(const std::string& cmd, std::string* out = nullptr) {
  FILE* p = ::popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!p) return -1;
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) s.append(buf, n);
  int rc = ::pclose(p);
  if (out) *out = s;
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// A loop device over a sparse file in a private directory; detached and removed on destruction.
class Loop {
 public:
  // Empty when loop devices are unusable here; why says so.
  static std::unique_ptr<Loop> Make(uint64_t bytes, bool partscan, std::string* why,
                                    const std::string& copy_from = {}) {
    if (::geteuid() != 0) return *why = "needs root", nullptr;
    if (::access("/dev/loop-control", F_OK) != 0) return *why = "no /dev/loop-control", nullptr;
    auto l = std::unique_ptr<Loop>(new Loop);
    char tmpl[] = "/tmp/uzfs-disk-test.XXXXXX";
    if (!::mkdtemp(tmpl)) return *why = "mkdtemp failed", nullptr;
    l->dir_ = tmpl;
    l->file_ = l->dir_ + "/img";
    if (!copy_from.empty()) {
      if (Sh("cp --sparse=always '" + copy_from + "' '" + l->file_ + "'") != 0)
        return *why = "cannot copy " + copy_from, nullptr;
    } else if (Sh("truncate -s " + std::to_string(bytes) + " " + l->file_) != 0) {
      return *why = "truncate failed", nullptr;
    }
    std::string dev;
    if (Sh(std::string("losetup -f --show ") + (partscan ? "-P " : "") + l->file_, &dev) != 0)
      return *why = "losetup failed (no free loop device?)", nullptr;
    l->dev_ = Trim(dev);
    return l;
  }
  ~Loop() {
    if (!dev_.empty()) Sh("losetup -d " + dev_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const std::string& dev() const { return dev_; }
  const std::string& dir() const { return dir_; }

 private:
  Loop() = default;
  std::string dir_, file_, dev_;
};

#define MAKE_LOOP(var, bytes, partscan)                       \
  std::string var##_why;                                      \
  auto var = Loop::Make(bytes, partscan, &var##_why);         \
  if (!var) GTEST_SKIP() << "loop devices: " << var##_why

constexpr uint64_t kMiB = 1ULL << 20;

// Writes a v23-style label config (all four labels) with this pool name and state.
void WriteLabel(const std::string& dev, const std::string& pool, uint64_t state) {
  OpenOptions o;
  o.write = true;
  auto f = PosixEnv()->Open(dev, o);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  auto size = (*f)->Size();
  ASSERT_TRUE(size.ok());
  uint64_t psize = *size / kVdevLabelSize * kVdevLabelSize;
  NvList tree;
  tree.AddString("type", "disk");
  tree.AddUint64("id", 0);
  tree.AddUint64("guid", 0xabcdef);
  tree.AddString("path", dev);
  tree.AddUint64("whole_disk", 0);
  tree.AddUint64("ashift", 9);
  NvList nv;
  nv.AddUint64("version", 23);
  nv.AddString("name", pool);
  nv.AddUint64("state", state);
  nv.AddUint64("txg", 4);
  nv.AddUint64("pool_guid", 0x1234);
  nv.AddUint64("top_guid", 0xabcdef);
  nv.AddUint64("guid", 0xabcdef);
  nv.AddNvList("vdev_tree", tree);
  ASSERT_TRUE(WriteLabelConfig(**f, psize, nv, kAllLabels).ok());
  ASSERT_TRUE((*f)->Sync().ok());
}

std::string Refused(const std::string& path, bool force, const PoolActiveFn& active = {}) {
  Status s = CheckDeviceFree(path, force, active);
  if (s.ok()) return "";
  EXPECT_EQ(s.code(), EBUSY);
  return s.message();
}

TEST(DiskPlan, OpenZfsGeometry) {
  // 128 MiB of 512-byte sectors: last usable LBA = 262144 - 34.
  auto p = PlanWholeDiskGpt(262144 - 34, 512);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->p1_start, 2048u);
  EXPECT_EQ(p->p1_size, (262111u - 16384 - 2048) / 2048 * 2048);
  EXPECT_EQ(p->p9_start, p->p1_start + p->p1_size);
  EXPECT_EQ(p->p9_size, 16384u);
  // 4K sectors: the same byte layout (2048 / 8 and 16384 / 8 sectors).
  auto q = PlanWholeDiskGpt(32768 - 6, 4096);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->p1_start, 256u);
  EXPECT_EQ(q->p9_size, 2048u);
  EXPECT_EQ(q->p9_start, q->p1_start + q->p1_size);
  // Too small for a 64M partition 1.
  auto r = PlanWholeDiskGpt(70 * 2048, 512);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "partition would be less than the minimum device size (64M)");
}

TEST(DiskNames, PartitionPath) {
  EXPECT_EQ(PartitionPath("/dev/sdb", 1), "/dev/sdb1");
  EXPECT_EQ(PartitionPath("/dev/loop3", 1), "/dev/loop3p1");
  EXPECT_EQ(PartitionPath("/dev/nvme0n1", 9), "/dev/nvme0n1p9");
  EXPECT_EQ(PartitionPath("/dev/disk/by-id/ata-X_Y", 1), "/dev/disk/by-id/ata-X_Y-part1");
}

TEST(DiskFiles, SizeAndLabelsOfRegularFiles) {
  char tmpl[] = "/tmp/uzfs-disk-file.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string f = std::string(tmpl) + "/f";
  ASSERT_EQ(Sh("truncate -s 70M " + f), 0);
  auto sz = DeviceSize(f);
  ASSERT_TRUE(sz.ok());
  EXPECT_EQ(*sz, 70 * kMiB);
  EXPECT_FALSE(IsBlockDevice(f));
  EXPECT_FALSE(IsWholeDisk(f));
  EXPECT_EQ(Refused(f, false), "");
  WriteLabel(f, "tank", kPoolStateExported);
  EXPECT_EQ(Refused(f, false), f + " is part of exported pool 'tank'");
  EXPECT_EQ(Refused(f, true), "");
  EXPECT_FALSE(DeviceSize(std::string(tmpl) + "/missing").ok());
  auto missing = ProbeDevice(std::string(tmpl) + "/missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ENOENT);
  auto res = ResolveDevice(f);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), EINVAL);
  fs::remove_all(tmpl);
}

TEST(DiskProbe, EmptyLoopIsFreeWholeDisk) {
  MAKE_LOOP(l, 80 * kMiB, true);
  auto u = ProbeDevice(l->dev());
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->kind, DeviceUse::Kind::kNothing);
  EXPECT_TRUE(IsBlockDevice(l->dev()));
  EXPECT_TRUE(IsWholeDisk(l->dev()));
  auto sz = DeviceSize(l->dev());
  ASSERT_TRUE(sz.ok());
  EXPECT_EQ(*sz, 80 * kMiB);
  EXPECT_EQ(Refused(l->dev(), false), "");
}

TEST(DiskProbe, Ext4IsRefusedUnlessForced) {
  MAKE_LOOP(l, 80 * kMiB, true);
  ASSERT_EQ(Sh("mkfs.ext4 -q -F -L mylabel " + l->dev()), 0);
  auto u = ProbeDevice(l->dev());
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->kind, DeviceUse::Kind::kFilesystem);
  EXPECT_EQ(u->fs_type, "ext4");
  EXPECT_EQ(u->fs_label, "mylabel");
  EXPECT_EQ(Refused(l->dev(), false), l->dev() + " contains a filesystem of type 'ext4'");
  EXPECT_EQ(Refused(l->dev(), true), "");
}

TEST(DiskProbe, SwapIsAFilesystemToo) {
  MAKE_LOOP(l, 80 * kMiB, true);
  ASSERT_EQ(Sh("mkswap " + l->dev()), 0);
  auto u = ProbeDevice(l->dev());
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->kind, DeviceUse::Kind::kSwap);
  EXPECT_EQ(Refused(l->dev(), false), l->dev() + " contains a filesystem of type 'swap'");
}

TEST(DiskProbe, MountedIsRefusedEvenWithForce) {
  MAKE_LOOP(l, 80 * kMiB, true);
  ASSERT_EQ(Sh("mkfs.ext4 -q -F " + l->dev()), 0);
  std::string mnt = l->dir() + "/mnt";
  fs::create_directory(mnt);
  if (::mount(l->dev().c_str(), mnt.c_str(), "ext4", 0, nullptr) != 0)
    GTEST_SKIP() << "cannot mount here: " << std::strerror(errno);
  std::string forced = Refused(l->dev(), true);
  std::string plain = Refused(l->dev(), false);
  ::umount(mnt.c_str());
  EXPECT_EQ(forced, l->dev() + " is currently mounted on " + mnt);
  EXPECT_EQ(plain, forced);
}

TEST(DiskProbe, HeldExclusivelyIsInUse) {
  MAKE_LOOP(l, 80 * kMiB, true);
  int fd = ::open(l->dev().c_str(), O_RDONLY | O_EXCL);
  ASSERT_GE(fd, 0);
  auto r = DeviceRefusals(l->dev());
  ::close(fd);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].message, l->dev() + " is in use and contains a unknown filesystem.");
  EXPECT_FALSE((*r)[0].overridable);
  EXPECT_TRUE((*r)[0].bare);
}

TEST(DiskProbe, PartitionTables) {
  MAKE_LOOP(l, 80 * kMiB, true);
  ASSERT_EQ(Sh("echo 'label: gpt\n,20M\n,20M' | sfdisk -q " + l->dev()), 0);
  Sh("partx -a " + l->dev());  // kernels without GPT support ignore sfdisk's re-read
  auto u = ProbeDevice(l->dev());
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->kind, DeviceUse::Kind::kPartitionTable);
  EXPECT_EQ(u->pt_type, "gpt");
  EXPECT_EQ(Refused(l->dev(), false), "");  // a GPT whose partitions hold nothing (check_disk)
  EXPECT_EQ(Refused(l->dev(), true), "");
  // A file system in partition 2 is named under the partition's own node, as check_disk does.
  std::string p2 = PartitionPath(l->dev(), 2);
  for (int i = 0; i < 50 && !IsBlockDevice(p2); i++) ::usleep(100000);
  ASSERT_TRUE(IsBlockDevice(p2));
  EXPECT_FALSE(IsWholeDisk(p2));
  ASSERT_EQ(Sh("mkfs.ext4 -q -F " + p2), 0);
  EXPECT_EQ(Refused(l->dev(), false), p2 + " contains a filesystem of type 'ext4'");
  EXPECT_EQ(Refused(p2, false), p2 + " contains a filesystem of type 'ext4'");

  Sh("partx -d " + l->dev());
  ASSERT_EQ(Sh("echo 'label: dos\n,20M' | sfdisk -q --wipe always " + l->dev()), 0);
  u = ProbeDevice(l->dev());
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->pt_type, "dos");
  EXPECT_EQ(Refused(l->dev(), false), l->dev() + " contains a partition table of type 'dos'");
}

TEST(DiskProbe, PoolLabelsByState) {
  MAKE_LOOP(l, 80 * kMiB, true);
  WriteLabel(l->dev(), "tank", kPoolStateExported);
  auto u = ProbeDevice(l->dev());
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->kind, DeviceUse::Kind::kPool);
  ASSERT_TRUE(u->pool);
  EXPECT_EQ(u->pool->name, "tank");
  EXPECT_EQ(u->pool->pool_guid, 0x1234u);
  EXPECT_EQ(u->pool->guid, 0xabcdefu);
  EXPECT_EQ(u->pool->state, kPoolStateExported);
  EXPECT_EQ(Refused(l->dev(), false), l->dev() + " is part of exported pool 'tank'");
  EXPECT_EQ(Refused(l->dev(), true), "");

  WriteLabel(l->dev(), "tank", kPoolStateActive);
  // Nobody says which pools are imported: an active label is taken at its word.
  EXPECT_EQ(Refused(l->dev(), true), l->dev() + " is part of active pool 'tank'");
  PoolActiveFn imported = [](const std::string& n, uint64_t g) { return n == "tank" && g == 0x1234; };
  PoolActiveFn none = [](const std::string&, uint64_t) { return false; };
  EXPECT_EQ(Refused(l->dev(), true, imported), l->dev() + " is part of active pool 'tank'");
  EXPECT_EQ(Refused(l->dev(), false, none), l->dev() + " is part of potentially active pool 'tank'");
  EXPECT_EQ(Refused(l->dev(), true, none), "");

  WriteLabel(l->dev(), "tank", kPoolStateDestroyed);
  EXPECT_EQ(Refused(l->dev(), false), "");
}

TEST(DiskProbe, ZfsFuseExportedPool) {
  // The single-vdev reference pool (tests/lib/refpools.sh), exported by zfs-fuse.
  std::string root = fs::path(UZFS_TESTDATA).parent_path().parent_path().string();
  const char* env = std::getenv("UZFS_REFPOOLS");
  std::string dir = env ? env : root + "/build/refpools";
  std::string d0 = dir + "/single/vdevs/d0";
  std::string name;
  if (!fs::exists(d0) || Sh("cat " + dir + "/single/pool", &name) != 0)
    GTEST_SKIP() << "no reference pools at " << dir << " (tests/lib/refpools.sh makes them)";
  std::string why;
  auto l = Loop::Make(0, true, &why, d0);
  if (!l) GTEST_SKIP() << "loop devices: " << why;
  auto u = ProbeDevice(l->dev());
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->kind, DeviceUse::Kind::kPool);
  EXPECT_EQ(u->fs_type, "zfs_member");
  EXPECT_EQ(Refused(l->dev(), false), l->dev() + " is part of exported pool '" + Trim(name) + "'");
}

TEST(DiskUdev, ResolveListAndById) {
  MAKE_LOOP(l, 80 * kMiB, true);
  std::string base = fs::path(l->dev()).filename().string();
  auto r = ResolveDevice(base);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, l->dev());
  r = ResolveDevice(l->dev());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, l->dev());
  r = ResolveDevice("uzfs-no-such-disk");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "cannot open 'uzfs-no-such-disk': no such device in /dev");

  std::vector<DiskInfo> disks = ListDisks();
  auto it = std::find_if(disks.begin(), disks.end(),
                         [&](const DiskInfo& d) { return d.devnode == l->dev(); });
  ASSERT_NE(it, disks.end()) << "ListDisks misses " << l->dev();
  EXPECT_EQ(it->size, 80 * kMiB);
  EXPECT_FALSE(it->has_partitions);

  // A by-id link as udev would make one (made by hand: containers often run no udevd).
  std::error_code ec;
  const bool had_disk_dir = fs::exists("/dev/disk");
  fs::create_directories("/dev/disk/by-id", ec);
  std::string id = "uzfs-test-" + std::to_string(::getpid()) + "-" + base;
  std::string link = "/dev/disk/by-id/" + id, wwn = "/dev/disk/by-id/wwn-0x" + id;
  fs::create_symlink("../../" + base, link, ec);
  if (ec) GTEST_SKIP() << "cannot make " << link << ": " << ec.message();
  fs::create_symlink("../../" + base, wwn, ec);
  auto by_name = ResolveDevice(id);
  auto by_path = ResolveDevice(link);
  std::string by_id = ByIdName(l->dev());
  fs::remove(link, ec);
  fs::remove(wwn, ec);
  if (!had_disk_dir) fs::remove_all("/dev/disk", ec);  // leave /dev as udev-less as it was
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(*by_name, l->dev());
  ASSERT_TRUE(by_path.ok());
  EXPECT_EQ(*by_path, l->dev());
  EXPECT_EQ(by_id, link);  // preferred over the wwn- name
}

// sfdisk --json's partition lines: node -> {start, size, type, name}.
struct SfPart {
  uint64_t start = 0, size = 0;
  std::string type, name;
};
std::map<std::string, SfPart> SfdiskJson(const std::string& dev, std::string* label) {
  std::string out;
  EXPECT_EQ(Sh("sfdisk --json " + dev, &out), 0);
  std::smatch m;
  if (std::regex_search(out, m, std::regex("\"label\": \"([a-z]+)\""))) *label = m[1];
  std::map<std::string, SfPart> parts;
  std::regex line("\\{\\s*\"node\": \"([^\"]+)\",\\s*\"start\": ([0-9]+),\\s*\"size\": ([0-9]+),"
                  "\\s*\"type\": \"([^\"]+)\"[^}]*?(?:\"name\": \"([^\"]*)\")?\\s*\\}");
  for (auto i = std::sregex_iterator(out.begin(), out.end(), line); i != std::sregex_iterator(); ++i) {
    SfPart p;
    p.start = std::stoull((*i)[2]);
    p.size = std::stoull((*i)[3]);
    p.type = (*i)[4];
    p.name = (*i)[5];
    parts[(*i)[1]] = p;
  }
  return parts;
}

TEST(DiskLabel, WholeDiskGetsOpenZfsGpt) {
  MAKE_LOOP(l, 128 * kMiB, true);
  ASSERT_EQ(Sh("mkfs.ext4 -q -F " + l->dev()), 0);  // old signatures are wiped
  auto part = LabelWholeDisk(l->dev());
  ASSERT_TRUE(part.ok()) << part.status().ToString();
  EXPECT_EQ(*part, l->dev() + "p1");
  EXPECT_TRUE(IsBlockDevice(*part));

  std::string label;
  auto parts = SfdiskJson(l->dev(), &label);
  EXPECT_EQ(label, "gpt");
  ASSERT_EQ(parts.size(), 2u);
  const SfPart& p1 = parts[l->dev() + "p1"];
  const SfPart& p9 = parts[l->dev() + "p9"];
  EXPECT_EQ(p1.start, 2048u);
  EXPECT_EQ(p1.size, (262111u - 16384 - 2048) / 2048 * 2048);
  EXPECT_EQ(p1.type, kZfsPartType);
  EXPECT_TRUE(std::regex_match(p1.name, std::regex("zfs-[0-9a-f]{16}"))) << p1.name;
  EXPECT_EQ(p9.start, p1.start + p1.size);
  EXPECT_EQ(p9.size, 16384u);
  EXPECT_EQ(p9.type, kReservedPartType);
  EXPECT_LE(p9.start + p9.size, 262144u - 33);  // before the backup GPT

  std::string blkid;
  EXPECT_EQ(Trim(Sh("blkid -p -o value -s PTTYPE " + l->dev(), &blkid) == 0 ? blkid : ""), "gpt");
  Sh("blkid -p -o value -s TYPE " + l->dev(), &blkid);
  EXPECT_EQ(Trim(blkid), "");  // the ext4 signature is gone
  Sh("blkid -p -o export " + *part, &blkid);
  blkid = "\n" + blkid;
  EXPECT_EQ(blkid.find("\nTYPE="), std::string::npos) << blkid;  // partition 1 holds nothing
  EXPECT_NE(blkid.find("\nPART_ENTRY_TYPE=6a898cc3-1dd2-11b2-99a6-080020736631"), std::string::npos);
  EXPECT_NE(blkid.find("\nPART_ENTRY_NAME=" + p1.name), std::string::npos);
  auto sz = DeviceSize(*part);
  ASSERT_TRUE(sz.ok());
  EXPECT_EQ(*sz, p1.size * 512);

  // The disk now holds our GPT with nothing in partition 1: free for a second pool (check_disk),
  // which gets a fresh GPT.
  EXPECT_EQ(Refused(l->dev(), false), "");
  auto again = LabelWholeDisk(l->dev());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto parts2 = SfdiskJson(l->dev(), &label);
  EXPECT_NE(parts2[l->dev() + "p1"].name, p1.name);  // a new random name
  auto disks = ListDisks();
  auto it = std::find_if(disks.begin(), disks.end(),
                         [&](const DiskInfo& d) { return d.devnode == l->dev(); });
  ASSERT_NE(it, disks.end());
  EXPECT_TRUE(it->has_partitions);
}

TEST(DiskLabel, Refusals) {
  MAKE_LOOP(small, 40 * kMiB, true);
  auto r = LabelWholeDisk(small->dev());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "cannot label '" + small->dev() +
                                      "': partition would be less than the minimum device size (64M)");
  MAKE_LOOP(busy, 80 * kMiB, true);
  int fd = ::open(busy->dev().c_str(), O_RDONLY | O_EXCL);
  ASSERT_GE(fd, 0);
  r = LabelWholeDisk(busy->dev());
  ::close(fd);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), EBUSY);
}

TEST(DiskLabel, LoopWithoutPartscan) {
  // Kernels differ: some add partitions by BLKPG to any loop device, others refuse without -P.
  MAKE_LOOP(l, 80 * kMiB, false);
  auto r = LabelWholeDisk(l->dev());
  if (r.ok()) {
    EXPECT_EQ(*r, l->dev() + "p1");
  } else {
    EXPECT_EQ(r.status().code(), ENODEV);
    EXPECT_NE(r.status().message().find("losetup -P"), std::string::npos);
  }
}

}  // namespace
}  // namespace uzfs::disk
