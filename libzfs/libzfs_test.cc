// Tests of libzfs layer 2 (libzfs/libzfs.h): OpenZFS's error words, zfs_nicenum, vdev names
// and the vdev table `zpool import` and `zpool status` share.
#include "libzfs/libzfs.h"

#include <gtest/gtest.h>

#include <cstring>

namespace uzfs::libzfs {
namespace {

NvList Leaf(const std::string& path, const std::string& state, const std::string& type = "file") {
  NvList v;
  v.AddString("type", type);
  v.AddString("path", path);
  v.AddString("state", state);
  return v;
}

NvList Interior(const std::string& type, uint64_t id, const std::string& state,
                std::vector<NvList> kids, uint64_t nparity = 0) {
  NvList v;
  v.AddString("type", type);
  v.AddUint64("id", id);
  if (nparity) v.AddUint64("nparity", nparity);
  v.AddString("state", state);
  v.AddNvListArray("children", std::move(kids));
  return v;
}

NvList Root(std::vector<NvList> tops) {
  NvList r;
  r.AddString("type", "root");
  r.AddNvListArray("children", std::move(tops));
  return r;
}

TEST(Libzfs, ReasonPrefersTheDaemonsDetail) {
  EXPECT_EQ(Reason(Status::Error(ENOENT, "no such pool")), "no such pool");
  EXPECT_EQ(Reason(Status::Error(ENOENT)), "no such pool or dataset");
  EXPECT_EQ(Reason(Status::Error(EPERM)), "permission denied");
  EXPECT_EQ(Reason(Status::Error(EACCES)), "permission denied");
  EXPECT_EQ(Reason(Status::Error(EEXIST)), "pool already exists");
  EXPECT_EQ(Reason(Status::Error(EBUSY)), "pool is busy");
  EXPECT_EQ(Reason(Status::Error(ENXIO)), "one or more devices is currently unavailable");
  EXPECT_EQ(Reason(Status::Error(ENOSPC)), "out of space");
  EXPECT_EQ(Reason(Status::Error(EROFS)), "pool is read-only");
  EXPECT_EQ(Reason(Status::Error(ENOTSUP)), "operation not supported on this type of pool");
  EXPECT_EQ(Reason(Status::Error(EXDEV)), std::strerror(EXDEV));
}

TEST(Libzfs, ErrorTextIsOpenZfsShaped) {
  EXPECT_EQ(ErrorText("import", "tank", Status::Error(ENOENT, "no such pool available")),
            "cannot import 'tank': no such pool available");
  EXPECT_EQ(ErrorText("create", "tank", Status::Error(EPERM, "permission denied")),
            "cannot create 'tank': permission denied");
  EXPECT_EQ(ErrorText("export", "tank", Status::Error(EBUSY)), "cannot export 'tank': pool is busy");
  // An unreachable zfsd is said as it is, without "cannot <verb>".
  Status down = Status::Error(ENOENT, "cannot connect to zfsd at /run/uzfs/zfsd.sock: No such file or directory");
  EXPECT_EQ(ErrorText("import", "tank", down), down.message());
}

TEST(Libzfs, NiceNumAsZfsNicenum) {
  EXPECT_EQ(NiceNum(0), "0");
  EXPECT_EQ(NiceNum(1023), "1023");
  EXPECT_EQ(NiceNum(1024), "1K");
  EXPECT_EQ(NiceNum(1536), "1.50K");
  EXPECT_EQ(NiceNum(128ull << 20), "128M");
  EXPECT_EQ(NiceNum((10ull << 30) + (1ull << 29)), "10.5G");
  EXPECT_EQ(NiceNum(123ull << 40 | 1), "123T");
}

TEST(Libzfs, VdevNames) {
  EXPECT_EQ(VdevName(Leaf("/dev/sdb", "ONLINE", "disk")), "sdb");
  EXPECT_EQ(VdevName(Leaf("/var/tmp/d0", "ONLINE")), "/var/tmp/d0");
  EXPECT_EQ(VdevName(Interior("mirror", 0, "ONLINE", {})), "mirror-0");
  EXPECT_EQ(VdevName(Interior("raidz", 1, "ONLINE", {}, 2)), "raidz2-1");
}

TEST(Libzfs, ImportTableOfADegradedMirror) {
  NvList tree = Root({Interior("mirror", 0, "DEGRADED",
                               {Leaf("/tmp/v/d0", "ONLINE"), Leaf("/tmp/old/place/d1", "UNAVAIL")})});
  // Width: the deepest name plus its indent, "/tmp/old/place/d1" (17) + 4 = 21.
  EXPECT_EQ(VdevTable("tank", "DEGRADED", tree, false),
            "\ttank                   DEGRADED\n"
            "\t  mirror-0             DEGRADED\n"
            "\t    /tmp/v/d0          ONLINE\n"
            "\t    /tmp/old/place/d1  UNAVAIL  cannot open\n");
}

TEST(Libzfs, ImportTableOfAnUnavailableRaidz) {
  NvList tree = Root({Interior("raidz", 0, "UNAVAIL",
                               {Leaf("/a", "UNAVAIL"), Leaf("/b", "UNAVAIL"), Leaf("/c", "ONLINE")}, 1)});
  EXPECT_EQ(VdevTable("p", "UNAVAIL", tree, false),
            "\tp           UNAVAIL  insufficient replicas\n"
            "\t  raidz1-0  UNAVAIL  insufficient replicas\n"
            "\t    /a      UNAVAIL  cannot open\n"
            "\t    /b      UNAVAIL  cannot open\n"
            "\t    /c      ONLINE\n");
}

TEST(Libzfs, StatusTableHasCountersAndAHeader) {
  NvList tree = Root({Leaf("/dev/sdb", "ONLINE", "disk"), Leaf("/dev/sdc", "UNAVAIL", "disk")});
  EXPECT_EQ(VdevTable("tank", "UNAVAIL", tree, true),
            "\tNAME        STATE     READ WRITE CKSUM\n"
            "\ttank        UNAVAIL      0     0     0  insufficient replicas\n"
            "\t  sdb       ONLINE       0     0     0\n"
            "\t  sdc       UNAVAIL      0     0     0  cannot open\n");
}

TEST(Libzfs, LongPoolNameWidensTheColumn) {
  NvList tree = Root({Leaf("/d", "ONLINE")});
  EXPECT_EQ(VdevTable("a-rather-long-pool", "ONLINE", tree, false),
            "\ta-rather-long-pool  ONLINE\n"
            "\t  /d                ONLINE\n");
}

// print_logs: the log devices under "logs" after the pool's vdevs; holes nowhere.
TEST(Libzfs, LogDevicesFollowUnderLogsAndHolesAreLeftOut) {
  NvList log = Interior("mirror", 2, "ONLINE", {Leaf("/v/l0", "ONLINE"), Leaf("/v/l1", "ONLINE")});
  log.AddUint64("is_log", 1);
  NvList hole;
  hole.AddString("type", "hole");
  hole.AddUint64("id", 1);
  hole.AddUint64("is_hole", 1);
  NvList tree = Root({Leaf("/v/d0", "ONLINE"), hole, log, Leaf("/v/d3", "ONLINE")});
  EXPECT_EQ(VdevTable("tank", "ONLINE", tree, true),
            "\tNAME        STATE     READ WRITE CKSUM\n"
            "\ttank        ONLINE       0     0     0\n"
            "\t  /v/d0     ONLINE       0     0     0\n"
            "\t  /v/d3     ONLINE       0     0     0\n"
            "\tlogs\n"
            "\t  mirror-2  ONLINE       0     0     0\n"
            "\t    /v/l0   ONLINE       0     0     0\n"
            "\t    /v/l1   ONLINE       0     0     0\n");
}

// print_import_config: the spares by name only, before the logs (show_import prints those
// after the config); zpool status (print_spares) gives them their state, after the logs.
TEST(Libzfs, ImportListsSparesByNameBeforeTheLogs) {
  NvList log = Leaf("/v/l0", "ONLINE");
  log.AddUint64("is_log", 1);
  NvList tree = Root({Leaf("/v/d0", "ONLINE"), log});
  NvList spare;
  spare.AddString("type", "file");
  spare.AddString("path", "/v/a-long-spare");
  tree.AddNvListArray("spares", std::vector<NvList>{spare});
  EXPECT_EQ(VdevTable("tank", "ONLINE", tree, false),
            "\ttank               ONLINE\n"
            "\t  /v/d0            ONLINE\n"
            "\tspares\n"
            "\t  /v/a-long-spare\n"
            "\tlogs\n"
            "\t  /v/l0            ONLINE\n");
  EXPECT_EQ(VdevTable("tank", "ONLINE", tree, true),
            "\tNAME               STATE     READ WRITE CKSUM\n"
            "\ttank               ONLINE       0     0     0\n"
            "\t  /v/d0            ONLINE       0     0     0\n"
            "\tlogs\n"
            "\t  /v/l0            ONLINE       0     0     0\n"
            "\tspares\n"
            "\t  /v/a-long-spare  AVAIL   \n");
}

// zpool_find_vdev: by path (or a name under /dev), interior name or guid; is_log for a log
// device and for the sides of a log mirror.
TEST(Libzfs, FindVdevByPathNameOrGuid) {
  NvList l0 = Leaf("/v/l0", "ONLINE"), l1 = Leaf("/v/l1", "ONLINE");
  l1.AddUint64("guid", 77);
  NvList log = Interior("mirror", 1, "ONLINE", {l0, l1});
  log.AddUint64("is_log", 1);
  NvList tree = Root({Leaf("/dev/sdb", "ONLINE", "disk"), log});
  bool is_log = true;
  const NvList* v = FindVdev(tree, "sdb", &is_log);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v->GetString("path"), "/dev/sdb");
  EXPECT_FALSE(is_log);
  EXPECT_EQ(FindVdev(tree, "/dev/sdb"), v);
  v = FindVdev(tree, "mirror-1", &is_log);
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(is_log);
  EXPECT_EQ(v->GetUint64("id").value_or(9), 1u);
  v = FindVdev(tree, "77", &is_log);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v->GetString("path"), "/v/l1");
  EXPECT_TRUE(is_log);
  EXPECT_EQ(FindVdev(tree, "/v/nope"), nullptr);
  EXPECT_EQ(FindVdev(tree, "mirror-0"), nullptr);
}

}  // namespace
}  // namespace uzfs::libzfs
