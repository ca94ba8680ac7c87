// vdev_spec: the nvroot MakeRootVdev builds for every layout, and every message, against
// OpenZFS's make_root_vdev. File vdevs in a private directory; the whole-disk cases use loop
// devices and skip when there are none (not root, no /dev/loop-control).
#include "libzfs/vdev_spec.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "libcore/base/env.h"
#include "libcore/vdev/vdev_label.h"

namespace uzfs::vdev_spec {
namespace {

namespace fs = std::filesystem;

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

// Writes a pool label (all four labels) with this name and state onto path; removed: the
// labels a log device keeps once removed from its pool (txg 0, create_txg 0).
void WriteLabel(const std::string& path, const std::string& pool, uint64_t state,
                bool removed = false) {
  OpenOptions o;
  o.write = true;
  auto f = PosixEnv()->Open(path, o);
  ASSERT_TRUE(f.ok());
  auto size = (*f)->Size();
  ASSERT_TRUE(size.ok());
  NvList tree;
  tree.AddString("type", "file");
  tree.AddUint64("id", 0);
  tree.AddUint64("guid", 7);
  tree.AddString("path", path);
  tree.AddUint64("ashift", 9);
  NvList nv;
  nv.AddUint64("version", 23);
  nv.AddString("name", pool);
  nv.AddUint64("state", state);
  nv.AddUint64("txg", removed ? 0 : 4);
  nv.AddUint64("pool_guid", 99);
  nv.AddUint64("guid", 7);
  nv.AddNvList("vdev_tree", tree);
  if (removed) nv.AddUint64("create_txg", 0);
  ASSERT_TRUE(WriteLabelConfig(**f, *size / kVdevLabelSize * kVdevLabelSize, nv, kAllLabels).ok());
}

class VdevSpec : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/uzfs-vdev-spec.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (int i = 0; i < 6; i++) File("f" + std::to_string(i), 100);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // A sparse file of mib MiB in the test directory; returns its path.
  std::string File(const std::string& name, int mib) {
    std::string p = dir_ + "/" + name;
    EXPECT_EQ(Sh("truncate -s " + std::to_string(mib) + "M " + p), 0);
    return p;
  }
  std::string F(int i) const { return dir_ + "/f" + std::to_string(i); }

  Result<NvList> Make(std::vector<std::string> args, bool force = false) {
    Options o;
    o.force = force;
    o.check_replication = !force;
    return MakeRootVdev(args, o);
  }
  std::string Error(std::vector<std::string> args, bool force = false) {
    auto r = Make(std::move(args), force);
    return r.ok() ? std::string("(accepted)") : r.status().message();
  }

  std::string dir_;
};

NvList FileLeaf(const std::string& path) {
  NvList n;
  n.AddString("path", path);
  n.AddString("type", "file");
  return n;
}
NvList Top(NvList leaf, bool log = false) {
  leaf.AddUint64("is_log", log ? 1 : 0);
  return leaf;
}
NvList Group(const std::string& type, uint64_t nparity, std::vector<NvList> kids, bool log = false) {
  NvList n;
  n.AddString("type", type);
  n.AddUint64("is_log", log ? 1 : 0);
  if (type == "raidz") n.AddUint64("nparity", nparity);
  n.AddNvListArray("children", std::move(kids));
  return n;
}
NvList Root(std::vector<NvList> tops) {
  NvList n;
  n.AddString("type", "root");
  n.AddNvListArray("children", std::move(tops));
  return n;
}

TEST_F(VdevSpec, ShapesOfEveryLayout) {
  auto r = Make({F(0)});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, Root({Top(FileLeaf(F(0)))})) << r->Dump();

  r = Make({F(0), F(1)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Root({Top(FileLeaf(F(0))), Top(FileLeaf(F(1)))}));

  r = Make({"mirror", F(0), F(1), "mirror", F(2), F(3)});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, Root({Group("mirror", 0, {FileLeaf(F(0)), FileLeaf(F(1))}),
                      Group("mirror", 0, {FileLeaf(F(2)), FileLeaf(F(3))})}));

  r = Make({"raidz", F(0), F(1), F(2)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Root({Group("raidz", 1, {FileLeaf(F(0)), FileLeaf(F(1)), FileLeaf(F(2))})}));
  r = Make({"raidz1", F(0), F(1)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Root({Group("raidz", 1, {FileLeaf(F(0)), FileLeaf(F(1))})}));
  r = Make({"raidz2", F(0), F(1), F(2), F(3)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Root({Group("raidz", 2, {FileLeaf(F(0)), FileLeaf(F(1)), FileLeaf(F(2)),
                                         FileLeaf(F(3))})}));
  r = Make({"raidz3", F(0), F(1), F(2), F(3), F(4)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->GetNvListArray("children")->at(0).GetUint64("nparity"), 3u);
  EXPECT_EQ(r->GetNvListArray("children")->at(0).GetNvListArray("children")->size(), 5u);

  // Mixed levels only with -f (no replication check).
  r = Make({"mirror", F(0), F(1), "raidz2", F(2), F(3), F(4), F(5)}, true);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, Root({Group("mirror", 0, {FileLeaf(F(0)), FileLeaf(F(1))}),
                      Group("raidz", 2, {FileLeaf(F(2)), FileLeaf(F(3)), FileLeaf(F(4)),
                                         FileLeaf(F(5))})}));
}

TEST_F(VdevSpec, LogsSparesAndCache) {
  auto r = Make({"mirror", F(0), F(1), "log", "mirror", F(2), F(3), F(4)});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, Root({Group("mirror", 0, {FileLeaf(F(0)), FileLeaf(F(1))}),
                      Group("mirror", 0, {FileLeaf(F(2)), FileLeaf(F(3)), FileLeaf(F(4))}, true)}));
  r = Make({F(0), "log", F(1), F(2)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Root({Top(FileLeaf(F(0))), Top(FileLeaf(F(1)), true), Top(FileLeaf(F(2)), true)}));
  r = Make({F(0), "spare", F(1), "cache", F(2)});
  ASSERT_TRUE(r.ok());
  NvList want = Root({Top(FileLeaf(F(0)))});
  want.AddNvListArray("spares", {FileLeaf(F(1))});
  want.AddNvListArray("l2cache", {FileLeaf(F(2))});
  EXPECT_EQ(*r, want);

  EXPECT_EQ(Error({F(0), "log", "raidz", F(1), F(2)}),
            "invalid vdev specification: unsupported 'log' device: raidz");
  EXPECT_EQ(Error({F(0), "log"}), "invalid vdev specification: log requires at least 1 device");
  EXPECT_EQ(Error({F(0), "log", F(1), "log", F(2)}),
            "invalid vdev specification: 'log' can be specified only once");
  EXPECT_EQ(Error({F(0), "spare", F(1), "spare", F(2)}),
            "invalid vdev specification: 'spare' can be specified only once");
  EXPECT_EQ(Error({"log", F(0)}),
            "invalid vdev specification\nuse '-f' to override the following errors:\n"
            "at least one general top-level vdev must be specified");
}

TEST_F(VdevSpec, TheDaxClass) {
  // Each word after "dax" is a top-level vdev of its own, of type dax (a character device,
  // or a file zfsd takes as an emulated one); "log" or "spare" ends the class.
  auto r = Make({F(0), "dax", F(1), F(2), "log", F(3)});
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto dax = [](const std::string& path) {
    NvList nv;
    nv.AddString("path", path);
    nv.AddString("type", "dax");
    nv.AddUint64("is_log", 0);
    return nv;
  };
  EXPECT_EQ(*r, Root({Top(FileLeaf(F(0))), dax(F(1)), dax(F(2)), Top(FileLeaf(F(3)), true)}));
  r = Make({F(0), "dax", "/dev/null"});  // a character device: zfsd probes it
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, Root({Top(FileLeaf(F(0))), dax("/dev/null")}));

  EXPECT_EQ(Error({F(0), "dax", "mirror", F(1), F(2)}),
            "invalid vdev specification: unsupported 'dax' device: mirror");
  EXPECT_EQ(Error({F(0), "dax"}), "invalid vdev specification: dax requires at least 1 device");
  EXPECT_EQ(Error({F(0), "dax", F(1), "dax", F(2)}),
            "invalid vdev specification: 'dax' can be specified only once");
  EXPECT_EQ(Error({"dax", F(0)}),
            "invalid vdev specification\nuse '-f' to override the following errors:\n"
            "at least one general top-level vdev must be specified");
  EXPECT_EQ(Error({F(0), "/dev/null"}), "cannot use '/dev/null': must be a block device or regular file");
}

TEST_F(VdevSpec, DeviceWords) {
  EXPECT_EQ(Error({"/nonexistent/disk"}), "cannot open '/nonexistent/disk': No such file or directory");
  EXPECT_EQ(Error({"nosuchdisk"}),
            "cannot open 'nosuchdisk': no such device in /dev\n"
            "must be a full path or shorthand device name");
  EXPECT_EQ(Error({"f0"}),  // a relative file name is a shorthand device name
            "cannot open 'f0': no such device in /dev\nmust be a full path or shorthand device name");
  EXPECT_EQ(Error({dir_}), "cannot use '" + dir_ + "': must be a block device or regular file");
  EXPECT_EQ(Error({"/dev/null"}), "cannot use '/dev/null': must be a block device or regular file");
  // ./ and ../ paths are resolved (zfs_resolve_shortname).
  std::string cwd = fs::current_path();
  fs::current_path(dir_);
  auto r = Make({"./f0"});
  fs::current_path(cwd);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r->GetNvListArray("children")->at(0).GetString("path"), F(0));
  // raidz4 is no keyword: a device name.
  EXPECT_EQ(Error({"raidz4", F(0), F(1)}),
            "cannot open 'raidz4': no such device in /dev\nmust be a full path or shorthand device name");
  EXPECT_EQ(Error({"draid", F(0), F(1)}),
            "invalid vdev specification: 'draid' vdevs are not supported by pool version 23");
}

TEST_F(VdevSpec, DeviceCounts) {
  EXPECT_EQ(Error({}), "invalid vdev specification: at least one toplevel vdev must be specified");
  EXPECT_EQ(Error({"mirror", F(0)}), "invalid vdev specification: mirror requires at least 2 devices");
  EXPECT_EQ(Error({"raidz", F(0)}), "invalid vdev specification: raidz requires at least 2 devices");
  EXPECT_EQ(Error({"raidz2", F(0), F(1)}),
            "invalid vdev specification: raidz2 requires at least 3 devices");
  EXPECT_EQ(Error({"raidz3", F(0), F(1), F(2)}),
            "invalid vdev specification: raidz3 requires at least 4 devices");
  EXPECT_EQ(Error({"mirror", "raidz", F(0), F(1)}),
            "invalid vdev specification: mirror requires at least 2 devices");
}

TEST_F(VdevSpec, ReplicationLevels) {
  const std::string head = "invalid vdev specification\nuse '-f' to override the following errors:\n";
  EXPECT_EQ(Error({"mirror", F(0), F(1), "raidz1", F(2), F(3)}),
            head + "mismatched replication level: both mirror and raidz vdevs are present");
  EXPECT_EQ(Error({"mirror", F(0), F(1), "mirror", F(2), F(3), F(4)}),
            head + "mismatched replication level: both 2-way and 3-way mirror vdevs are present");
  EXPECT_EQ(Error({"raidz1", F(0), F(1), "raidz2", F(2), F(3), F(4)}),
            head + "mismatched replication level: both 1 and 2 device parity raidz vdevs are present");
  EXPECT_EQ(Error({"raidz", F(0), F(1), F(2), "raidz", F(3), F(4)}),
            head + "mismatched replication level: both 3-way and 2-way raidz vdevs are present");
  EXPECT_EQ(Error({F(0), "mirror", F(1), F(2)}),
            head + "mismatched replication level: both file and mirror vdevs are present");
  File("small", 70);
  EXPECT_EQ(Error({"mirror", F(0), dir_ + "/small"}),
            head + "mirror contains devices of different sizes");
  // Logs do not count.
  EXPECT_TRUE(Make({"mirror", F(0), F(1), "log", F(2)}).ok());

  // zpool add: the new vdevs against the pool's level.
  auto pool = Make({"mirror", F(0), F(1)});
  ASSERT_TRUE(pool.ok());
  Options o;
  o.pool_nvroot = &*pool;
  auto r = MakeRootVdev({"raidz", F(2), F(3)}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), head + "mismatched replication level: pool uses mirror and new vdev is raidz");
  r = MakeRootVdev({"mirror", F(2), F(3), F(4)}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            head + "mismatched replication level: pool uses 2-way mirror and new vdev uses 3-way mirror");
  EXPECT_TRUE(MakeRootVdev({"mirror", F(2), F(3)}, o).ok());
  EXPECT_TRUE(MakeRootVdev({"log", F(2)}, o).ok());  // logs only: no level to compare
}

TEST_F(VdevSpec, DevicesInUse) {
  WriteLabel(F(1), "tank", disk::kPoolStateExported);
  EXPECT_EQ(Error({F(0), F(1)}), "invalid vdev specification\nuse '-f' to override the following "
                                 "errors:\n" + F(1) + " is part of exported pool 'tank'");
  EXPECT_TRUE(Make({F(0), F(1)}, true).ok());
  WriteLabel(F(2), "tank", disk::kPoolStateActive);
  EXPECT_EQ(Error({F(0), F(1), F(2)}, true),
            "invalid vdev specification\nthe following errors must be manually repaired:\n" + F(2) +
                " is part of active pool 'tank'");
  EXPECT_EQ(Error({F(1), F(2)}), "invalid vdev specification\nuse '-f' to override the following "
                                 "errors:\n" + F(1) + " is part of exported pool 'tank'\n" + F(2) +
                                     " is part of active pool 'tank'");
  Options o;
  o.force = true;
  o.pool_active = [](const std::string&, uint64_t) { return false; };
  EXPECT_TRUE(MakeRootVdev({F(2)}, o).ok());  // not imported: only potentially active
  auto r = Make({F(2)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), EBUSY);
  WriteLabel(F(2), "tank", disk::kPoolStateDestroyed);
  EXPECT_TRUE(Make({F(2)}).ok());
  // A log device removed from a pool: free while that pool is imported (it no longer names
  // the device), potentially active while it is not.
  WriteLabel(F(3), "tank", disk::kPoolStateActive, /*removed=*/true);
  o.force = false;
  o.pool_active = [](const std::string& name, uint64_t) { return name == "tank"; };
  EXPECT_TRUE(MakeRootVdev({F(3)}, o).ok());
  o.pool_active = [](const std::string&, uint64_t) { return false; };
  auto pr = MakeRootVdev({F(3)}, o);
  ASSERT_FALSE(pr.ok());
  EXPECT_EQ(pr.status().message(), "invalid vdev specification\nuse '-f' to override the following "
                                   "errors:\n" + F(3) + " is part of potentially active pool 'tank'");
}

TEST_F(VdevSpec, DuplicatesAndMinimumSize) {
  auto r = Make({"mirror", F(0), F(0)});
  ASSERT_TRUE(r.ok());
  Status s = CheckDuplicates(*r, false);
  EXPECT_EQ(s.code(), EBUSY);
  EXPECT_EQ(s.message(), "one or more vdevs refer to the same device, or one of\n"
                         "the devices is part of an active md or lvm device");
  EXPECT_EQ(CheckDuplicates(*r, true).message(), "one or more vdevs refer to the same device");
  fs::create_symlink(F(1), dir_ + "/link");
  r = Make({F(1), dir_ + "/link"});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(CheckDuplicates(*r, false).ok());
  r = Make({F(0), F(1)});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(CheckDuplicates(*r, false).ok());
  EXPECT_TRUE(CheckMinSize(*r).ok());

  File("small", 32);
  r = Make({dir_ + "/small"});
  ASSERT_TRUE(r.ok());
  s = CheckMinSize(*r);
  EXPECT_EQ(s.code(), EOVERFLOW);
  EXPECT_EQ(s.message(), "one or more devices is less than the minimum size (64M)");
}

// A loop device with partition scanning over a file in the test directory.
struct Loop {
  std::string dev;
  ~Loop() {
    if (!dev.empty()) Sh("losetup -d " + dev);
  }
};

TEST_F(VdevSpec, WholeDisksAreLabelled) {
  if (::geteuid() != 0 || ::access("/dev/loop-control", F_OK) != 0)
    GTEST_SKIP() << "loop devices need root and /dev/loop-control";
  Loop a, b;
  std::string out;
  for (Loop* l : {&a, &b}) {
    std::string img = File("img" + std::to_string(l == &a), 128);
    if (Sh("losetup -f --show -P " + img, &out) != 0) GTEST_SKIP() << "no free loop device";
    l->dev = out.substr(0, out.find('\n'));
  }
  // Shorthand names resolve under /dev; whole disks are marked.
  std::string short_a = fs::path(a.dev).filename();
  auto r = Make({"mirror", short_a, b.dev});
  ASSERT_TRUE(r.ok()) << r.status().message();
  const NvList& m = r->GetNvListArray("children")->at(0);
  const NvList& la = m.GetNvListArray("children")->at(0);
  EXPECT_EQ(*la.GetString("path"), a.dev);
  EXPECT_EQ(*la.GetString("type"), "disk");
  EXPECT_EQ(la.GetUint64("whole_disk"), 1u);
  // A disk beside a file in one mirror.
  EXPECT_EQ(Error({"mirror", a.dev, F(0)}),
            "invalid vdev specification\nuse '-f' to override the following errors:\n"
            "mismatched replication level: mirror contains both files and devices");

  ASSERT_TRUE(LabelDisks(&*r).ok());
  const NvList& m2 = r->GetNvListArray("children")->at(0);
  EXPECT_EQ(*m2.GetNvListArray("children")->at(0).GetString("path"), a.dev + "p1");
  EXPECT_EQ(*m2.GetNvListArray("children")->at(1).GetString("path"), b.dev + "p1");
  EXPECT_EQ(m2.GetNvListArray("children")->at(1).GetUint64("whole_disk"), 1u);
  ASSERT_EQ(Sh("sfdisk --json " + a.dev, &out), 0);
  EXPECT_NE(out.find("\"label\": \"gpt\""), std::string::npos);

  // Now the disks hold our GPTs with nothing in use: free again (check_disk), as a whole disk;
  // and partition 1 is a partition: whole_disk 0.
  r = Make({a.dev});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->GetNvListArray("children")->at(0).GetUint64("whole_disk"), 1u);
  r = Make({a.dev + "p1"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->GetNvListArray("children")->at(0).GetUint64("whole_disk"), 0u);
  ASSERT_EQ(Sh("mkfs.ext4 -q -F " + a.dev + "p1"), 0);
  EXPECT_EQ(Error({a.dev + "p1"}), "invalid vdev specification\nuse '-f' to override the following "
                                   "errors:\n" + a.dev + "p1 contains a filesystem of type 'ext4'");
  r = Make({a.dev + "p1"}, true);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(LabelDisks(&*r).ok());  // a partition only gets its first 4 KiB zeroed
  EXPECT_EQ(*r->GetNvListArray("children")->at(0).GetString("path"), a.dev + "p1");
  EXPECT_TRUE(Make({a.dev + "p1"}).ok());
}

}  // namespace
}  // namespace uzfs::vdev_spec
