// spa_config: the config nvlists and vdev_config_sync.
#include "libcore/spa/spa_config.h"

#include <gtest/gtest.h>

namespace uzfs {
namespace {

// A vdev that only has config facts (the generators read nothing else).
struct FactsVdev : Vdev {
  bool available() const override { return true; }
  Status Read(uint64_t, MutByteSpan, const BlockVerifier*, std::vector<VdevIoError>*, bool) override {
    return Status::Error(EIO, "no I/O");
  }
  Status Write(uint64_t, ByteSpan, std::vector<VdevIoError>*, bool) override { return Status::Error(EIO, "no I/O"); }
  Status Flush() override { return Status::Ok(); }
};

std::unique_ptr<Vdev> Leaf(const std::string& path, uint64_t guid) {
  auto v = std::make_unique<FactsVdev>();
  v->type = "file";
  v->path = path;
  v->guid = guid;
  v->create_txg = 4;
  return v;
}

TEST(SpaConfig, ALabelHoldsItsTopLevelTreeAndItsOwnGuid) {
  FactsVdev top;
  top.type = "mirror";
  top.guid = 100;
  top.ashift = 12;
  top.metaslab_shift = 24;
  top.asize = 1 << 30;
  top.children.push_back(Leaf("/d/a", 101));
  top.children.push_back(Leaf("/d/b", 102));
  PoolIdentity id{23, "tank", 7, "a comment", 4};
  NvList nv = LabelConfig(id, {&top}, top, *top.children[1], 9, 0);
  EXPECT_EQ(23u, *nv.GetUint64("version"));
  EXPECT_EQ("tank", *nv.GetString("name"));
  EXPECT_EQ(9u, *nv.GetUint64("txg"));
  EXPECT_EQ(7u, *nv.GetUint64("pool_guid"));
  EXPECT_EQ("a comment", *nv.GetString("comment"));
  EXPECT_EQ(100u, *nv.GetUint64("top_guid"));
  EXPECT_EQ(102u, *nv.GetUint64("guid"));
  const NvList* tree = nv.GetNvList("vdev_tree");
  ASSERT_NE(nullptr, tree);
  EXPECT_EQ("mirror", *tree->GetString("type"));
  EXPECT_EQ(12u, *tree->GetUint64("ashift"));
  const auto* kids = tree->GetNvListArray("children");
  ASSERT_NE(nullptr, kids);
  ASSERT_EQ(2u, kids->size());
  EXPECT_EQ("/d/b", *(*kids)[1].GetString("path"));
  EXPECT_EQ(4u, *(*kids)[1].GetUint64("create_txg"));  // leaves carry theirs
  EXPECT_FALSE((*kids)[1].GetUint64("ashift").has_value());  // top-level fields on top only
}

TEST(SpaConfig, ThePoolConfigListsEveryTopLevelVdev) {
  auto a = Leaf("/d/a", 11), b = Leaf("/d/b", 12);
  a->id = 0;
  b->id = 1;
  PoolIdentity id{23, "p", 5, "", 4};
  NvList nv = PoolConfig(id, {a.get(), b.get()}, 30, 0);
  EXPECT_EQ(2u, *nv.GetUint64("vdev_children"));
  EXPECT_FALSE(nv.GetString("comment"));
  const NvList* root = nv.GetNvList("vdev_tree");
  EXPECT_EQ("root", *root->GetString("type"));
  EXPECT_EQ(5u, *root->GetUint64("guid"));
  EXPECT_EQ(2u, root->GetNvListArray("children")->size());
}

// The uberblock reaches the leaves that take writes; one good leaf is enough, none is not.
TEST(SpaConfig, ConfigSyncWritesEveryLeafAndNeedsOne) {
  auto mem = NewMemEnv();
  FaultEnv faults(mem.get());
  OpenOptions oo;
  oo.create = oo.write = true;
  std::vector<std::unique_ptr<File>> files;
  for (const char* p : {"/a", "/b"}) {
    auto f = faults.Open(p, oo);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->WriteAt((64 << 20) - 1, Bytes(1, 0)).ok());  // 64 MiB
    files.push_back(std::move(f).value());
  }
  FactsVdev top;
  top.type = "file";
  top.guid = 1;
  top.ashift = 9;
  PoolIdentity id{23, "p", 5, "", 4};
  std::vector<LabelWrite> leaves;
  for (auto& f : files) leaves.push_back({f.get(), 9, LabelConfig(id, {&top}, top, top, 8, 0)});
  Uberblock ub;
  ub.magic = kUberblockMagic;
  ub.version = 23;
  ub.txg = 8;
  ub.timestamp = 1;
  ASSERT_TRUE(VdevConfigSync(leaves, ub, true).ok());
  for (auto& f : files) {
    auto labels = ReadDeviceLabels(*f);
    ASSERT_TRUE(labels.ok());
    ASSERT_NE(nullptr, labels->config());
    EXPECT_EQ(8u, *labels->config()->GetUint64("txg"));
    auto ubs = labels->AllUberblocks();
    ASSERT_FALSE(ubs.empty());
    EXPECT_EQ(8u, ubs[0].txg);
  }
  faults.FailNthIo(1, /*sticky=*/true);
  EXPECT_FALSE(VdevConfigSync(leaves, ub, false).ok());  // every leaf fails
  EXPECT_EQ(ENXIO, VdevConfigSync({}, ub, false).code());
}

// A removed log device's place: a hole as zfs-fuse writes it (every top-level field zero,
// is_hole last), named in hole_array before vdev_children; a log device's own label says
// is_log, and what it keeps once removed says txg 0.
TEST(SpaConfig, HolesAndLogDevicesAsZfsFuseWritesThem) {
  auto a = Leaf("/d/a", 11), log = Leaf("/d/log", 13), b = Leaf("/d/b", 12);
  auto hole = MakeHoleVdev(1);
  a->id = 0;
  a->ashift = b->ashift = log->ashift = 12;
  b->id = 2;
  log->id = 1;
  log->is_log = true;
  log->metaslab_array = 30;
  log->metaslab_shift = 20;
  PoolIdentity id{23, "p", 5, "", 4};
  NvList nv = PoolConfig(id, {a.get(), hole.get(), b.get()}, 30, 0);
  std::vector<std::string> order;
  for (const auto& p : nv.pairs()) order.push_back(p.name);
  EXPECT_EQ((std::vector<std::string>{"version", "name", "state", "txg", "pool_guid", "hostid",
                                      "hostname", "hole_array", "vdev_children", "vdev_tree"}),
            order);
  EXPECT_EQ(std::vector<uint64_t>{1}, *nv.GetUint64Array("hole_array"));
  EXPECT_EQ(3u, *nv.GetUint64("vdev_children"));
  const NvList& h = (*nv.GetNvList("vdev_tree")->GetNvListArray("children"))[1];
  order.clear();
  for (const auto& p : h.pairs()) order.push_back(p.name);
  EXPECT_EQ((std::vector<std::string>{"type", "id", "guid", "whole_disk", "metaslab_array",
                                      "metaslab_shift", "ashift", "asize", "is_log", "is_hole"}),
            order);
  EXPECT_EQ("hole", *h.GetString("type"));
  EXPECT_EQ(0u, *h.GetUint64("guid"));
  EXPECT_EQ(1u, *h.GetUint64("is_hole"));
  // No holes: no hole_array.
  EXPECT_FALSE(PoolConfig(id, {a.get(), log.get()}, 30, 0).Has("hole_array"));

  NvList label = LabelConfig(id, {a.get(), log.get()}, *log, *log, 30, 0);
  EXPECT_EQ(1u, *label.GetUint64("is_log"));
  EXPECT_FALSE(LabelConfig(id, {a.get(), log.get()}, *a, *a, 30, 0).Has("is_log"));
  NvList gone = RemovedLabelConfig(id, {a.get(), log.get()}, *log, *log, 0);
  EXPECT_EQ(0u, *gone.GetUint64("txg"));
  EXPECT_EQ(0u, *gone.GetUint64("create_txg"));
  EXPECT_EQ("create_txg", gone.pairs().back().name);
  const NvList* t = gone.GetNvList("vdev_tree");
  EXPECT_EQ(0u, *t->GetUint64("metaslab_array"));
  EXPECT_EQ(0u, *t->GetUint64("metaslab_shift"));
  EXPECT_EQ(1u, *t->GetUint64("is_log"));
  EXPECT_FALSE(t->Has("create_txg"));
}

}  // namespace
}  // namespace uzfs
