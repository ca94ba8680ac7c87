// Pool version 5000 and feature flags (pool_features.cc): what a pool with com.uzfs:dax
// active has on disk (labels, uberblocks, the three MOS ZAPs), export and import, the
// upgrade of a v23 pool, and the refusal of pools using features we do not know.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "libcore/dmu/dmu.h"
#include "libcore/pool/pool.h"
#include "libcore/spa/spa_feature.h"
#include "libcore/zap/zap.h"

namespace uzfs {
namespace {

constexpr uint64_t kMiB = 1ULL << 20;

class PoolFeaturesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/uzfs-feattest.XXXXXX";
    ASSERT_NE(nullptr, mkdtemp(tmpl));
    dir_ = tmpl;
  }
  void TearDown() override {
    pool_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string NewFile(const std::string& name, uint64_t size) {
    std::string p = dir_ + "/" + name;
    FILE* f = fopen(p.c_str(), "w");
    EXPECT_NE(f, nullptr);
    fclose(f);
    EXPECT_EQ(0, truncate(p.c_str(), static_cast<off_t>(size)));
    devs_.push_back(p);
    return p;
  }
  Result<std::unique_ptr<Pool>> Create(const std::vector<std::string>& features,
                                       bool with_dax = false) {
    PoolCreateSpec s;
    s.name = "fp";
    s.features = features;
    NvList root, leaf;
    root.AddString("type", "root");
    leaf.AddString("type", "file");
    leaf.AddString("path", NewFile("d0", 128 * kMiB));
    std::vector<NvList> kids{leaf};
    if (with_dax) {
      NvList dax;
      dax.AddString("type", "dax");
      dax.AddString("path", NewFile("p0", 64 * kMiB));
      kids.push_back(dax);
      s.dax_emulation = true;
    }
    root.AddNvListArray("children", kids);
    s.nvroot = root;
    return Pool::Create(s);
  }
  Result<std::unique_ptr<Pool>> Import(bool readonly = false) {
    PoolImportSpec s;
    s.devices = devs_;
    s.pool = "fp";
    s.dax_emulation = true;
    if (readonly) s.props["readonly"] = "on";
    return Pool::Import(s);
  }
  void ExportAndImport() {
    ASSERT_TRUE(pool_->Export().ok());
    pool_.reset();
    auto p = Import();
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    pool_ = std::move(p).value();
  }
  // Every label of the first device.
  std::vector<NvList> LabelConfigs() {
    std::vector<NvList> out;
    auto f = PosixEnv()->Open(devs_[0], OpenOptions{});
    EXPECT_TRUE(f.ok());
    auto dl = ReadDeviceLabels(**f);
    EXPECT_TRUE(dl.ok());
    for (const LabelRead& lr : dl->labels) {
      EXPECT_TRUE(lr.status.ok()) << lr.status.ToString();
      out.push_back(lr.config);
    }
    return out;
  }
  std::vector<Uberblock> Uberblocks() {
    auto f = PosixEnv()->Open(devs_[0], OpenOptions{});
    EXPECT_TRUE(f.ok());
    auto dl = ReadDeviceLabels(**f);
    EXPECT_TRUE(dl.ok());
    return dl->AllUberblocks();
  }
  // The MOS of what is on disk now: the object directory's names, and a ZAP's entries.
  struct Mos {
    std::unique_ptr<Spa> spa;
    std::unique_ptr<ObjSet> os;
  };
  Mos OpenMos() {
    Mos m;
    auto spa = Spa::OpenDevices(devs_, "fp");
    EXPECT_TRUE(spa.ok()) << spa.status().ToString();
    m.spa = std::move(spa).value();
    auto os = ObjSet::Open(m.spa.get(), m.spa->uberblock().rootbp);
    EXPECT_TRUE(os.ok()) << os.status().ToString();
    m.os = std::move(os).value();
    return m;
  }
  std::set<std::string> DirNames(Mos& m) {
    auto z = Zap::Open(*m.os, 1);
    EXPECT_TRUE(z.ok());
    std::set<std::string> names;
    for (const ZapEntry& e : z->entries()) names.insert(e.name);
    return names;
  }
  std::vector<ZapEntry> Entries(Mos& m, const char* dir_name) {
    auto d = Zap::Open(*m.os, 1);
    EXPECT_TRUE(d.ok());
    auto obj = d->Lookup(dir_name);
    EXPECT_TRUE(obj.ok()) << dir_name;
    if (!obj.ok()) return {};
    auto z = Zap::Open(*m.os, *obj);
    EXPECT_TRUE(z.ok());
    auto dn = m.os->Dnode(*obj);
    EXPECT_TRUE(dn.ok());
    EXPECT_EQ(kOtnZapMetadata, dn->type);
    return z->entries();
  }
  static std::string Str(const ZapEntry& e) {
    std::string s;
    for (uint64_t c : e.value)
      if (c) s.push_back(static_cast<char>(c));
    return s;
  }
  static std::set<std::string> Names(const NvList& nv) {
    std::set<std::string> out;
    for (const auto& p : nv.pairs()) out.insert(p.name);
    return out;
  }
  void ExpectFeatureLabels(const std::vector<std::string>& feats) {
    for (const NvList& c : LabelConfigs()) {
      EXPECT_EQ(kSpaVersionFeatures, c.GetUint64("version").value_or(0));
      const NvList* ffr = c.GetNvList(kFeaturesForRead);
      ASSERT_NE(ffr, nullptr);
      ASSERT_EQ(feats.size(), ffr->pairs().size());
      for (size_t i = 0; i < feats.size(); i++) {
        EXPECT_EQ(feats[i], ffr->pairs()[i].name);
        EXPECT_EQ(NvType::kBoolean, ffr->pairs()[i].value.type);
      }
      // spa_config_generate's order: right after the vdev tree.
      const auto& pairs = c.pairs();
      ASSERT_GE(pairs.size(), 2u);
      EXPECT_EQ("vdev_tree", pairs[pairs.size() - 2].name);
      EXPECT_EQ(kFeaturesForRead, pairs.back().name);
    }
  }

  std::string dir_;
  std::vector<std::string> devs_;
  std::unique_ptr<Pool> pool_;
};

TEST_F(PoolFeaturesTest, CreateWithDaxWritesVersion5000AndTheFeatureZaps) {
  auto p = Create({kFeatureDax});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  pool_ = std::move(p).value();
  EXPECT_EQ(kSpaVersionFeatures, pool_->version());
  EXPECT_TRUE(pool_->FeatureActive(kFeatureDax));
  EXPECT_TRUE(pool_->FeatureActive("dax"));
  ExpectFeatureLabels({kFeatureDax});
  for (const Uberblock& ub : Uberblocks()) EXPECT_EQ(kSpaVersionFeatures, ub.version);
  auto pv = pool_->GetProp("version");
  ASSERT_TRUE(pv.ok());
  EXPECT_EQ("5000", pv->value);
  EXPECT_EQ("default", pv->source);

  Mos m = OpenMos();
  EXPECT_EQ(kSpaVersionFeatures, m.spa->version());
  std::set<std::string> names = DirNames(m);
  EXPECT_TRUE(names.count(kFeaturesForRead));
  EXPECT_TRUE(names.count(kFeaturesForWrite));
  EXPECT_TRUE(names.count(kFeatureDescriptions));
  auto r = Entries(m, kFeaturesForRead);
  ASSERT_EQ(1u, r.size());
  EXPECT_EQ(kFeatureDax, r[0].name);
  EXPECT_EQ(8, r[0].int_size);
  EXPECT_EQ(1u, r[0].first());
  EXPECT_TRUE(Entries(m, kFeaturesForWrite).empty());
  auto d = Entries(m, kFeatureDescriptions);
  ASSERT_EQ(1u, d.size());
  EXPECT_EQ(kFeatureDax, d[0].name);
  EXPECT_EQ(1, d[0].int_size);
  EXPECT_EQ("Files of dax=on datasets live on device-DAX (persistent memory) vdevs.", Str(d[0]));
  // The label config Spa chose names it last too.
  EXPECT_EQ(kFeaturesForRead, m.spa->label_config().pairs().back().name);
}

TEST_F(PoolFeaturesTest, AFeaturePoolSurvivesExportAndImport) {
  auto p = Create({"dax"});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  pool_ = std::move(p).value();
  ASSERT_TRUE(pool_->CreateFilesystem("fp/a", {}).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  ExportAndImport();
  EXPECT_EQ(kSpaVersionFeatures, pool_->version());
  EXPECT_TRUE(pool_->FeatureActive(kFeatureDax));
  EXPECT_EQ((std::map<std::string, uint64_t>{{kFeatureDax, 1}}), pool_->Features());
  ASSERT_TRUE(pool_->CreateFilesystem("fp/b", {}).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  ExportAndImport();
  ExpectFeatureLabels({kFeatureDax});
  auto fs = pool_->Filesystems();
  ASSERT_TRUE(fs.ok());
  EXPECT_EQ(3u, fs->size());
}

TEST_F(PoolFeaturesTest, ALegacyPoolHasNoFeatures) {
  auto p = Create({});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  pool_ = std::move(p).value();
  EXPECT_EQ(23u, pool_->version());
  EXPECT_FALSE(pool_->FeatureActive(kFeatureDax));
  EXPECT_TRUE(pool_->Features().empty());
  // Exactly what zfs-fuse writes: no features_for_read, version 23.
  for (const NvList& c : LabelConfigs()) {
    EXPECT_EQ(23u, c.GetUint64("version").value_or(0));
    EXPECT_EQ((std::set<std::string>{"version", "name", "state", "txg", "pool_guid", "hostid",
                                     "hostname", "top_guid", "guid", "vdev_children", "vdev_tree"}),
              Names(c));
  }
  for (const Uberblock& ub : Uberblocks()) EXPECT_EQ(23u, ub.version);
  ExportAndImport();
  Mos m = OpenMos();
  EXPECT_EQ((std::set<std::string>{"root_dataset", "deflate", "config", "sync_bplist", "history"}),
            DirNames(m));
  EXPECT_FALSE(m.spa->label_config().Has(kFeaturesForRead));
}

TEST_F(PoolFeaturesTest, ActivatingOnALegacyPoolUpgradesItAtTheNextTxg) {
  auto p = Create({});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  pool_ = std::move(p).value();
  ASSERT_TRUE(pool_->CreateFilesystem("fp/a", {}).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  ASSERT_TRUE(pool_->ActivateFeature(kFeatureDax).ok());
  EXPECT_TRUE(pool_->FeatureActive(kFeatureDax));
  // Nothing on disk until the txg syncs.
  for (const NvList& c : LabelConfigs()) EXPECT_EQ(23u, c.GetUint64("version").value_or(0));
  EXPECT_EQ(23u, Uberblocks()[0].version);
  ASSERT_TRUE(pool_->Sync().ok());
  ExpectFeatureLabels({kFeatureDax});
  EXPECT_EQ(kSpaVersionFeatures, Uberblocks()[0].version);
  // Idempotent: still refcount 1.
  ASSERT_TRUE(pool_->ActivateFeature("dax").ok());
  EXPECT_EQ(1u, pool_->Features()[kFeatureDax]);
  ExportAndImport();
  EXPECT_EQ(kSpaVersionFeatures, pool_->version());
  EXPECT_TRUE(pool_->FeatureActive(kFeatureDax));
  Mos m = OpenMos();
  auto r = Entries(m, kFeaturesForRead);
  ASSERT_EQ(1u, r.size());
  EXPECT_EQ(1u, r[0].first());
}

TEST_F(PoolFeaturesTest, RefcountsAndDeactivation) {
  auto p = Create({kFeatureDax});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  pool_ = std::move(p).value();
  ASSERT_TRUE(pool_->IncrFeature("dax").ok());
  EXPECT_EQ(2u, pool_->Features()[kFeatureDax]);
  ASSERT_TRUE(pool_->DecrFeature("dax").ok());
  ASSERT_TRUE(pool_->DecrFeature("dax").ok());
  EXPECT_FALSE(pool_->FeatureActive(kFeatureDax));
  EXPECT_EQ(EINVAL, pool_->DecrFeature("dax").code());
  ASSERT_TRUE(pool_->Sync().ok());
  // Enabled, not active: still version 5000, the label no longer names it.
  ExpectFeatureLabels({});
  ExportAndImport();
  EXPECT_EQ((std::map<std::string, uint64_t>{{kFeatureDax, 0}}), pool_->Features());
}

TEST_F(PoolFeaturesTest, UnknownFeaturesAreRefusedAtCreate) {
  auto p = Create({"com.example:nope"});
  EXPECT_EQ(EINVAL, p.status().code());
  EXPECT_EQ("feature 'com.example:nope' unsupported", p.status().message());
  auto q = Create({});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(EINVAL, (*q)->ActivateFeature("nope").code());
}

TEST_F(PoolFeaturesTest, AnUnknownActiveFeatureInTheMosRefusesImport) {
  auto p = Create({kFeatureDax});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  pool_ = std::move(p).value();
  ASSERT_TRUE(pool_->ZhackFeature("com.example:future", "A feature from the future.",
                                  /*for_write=*/false, /*mos=*/false, 1).ok());
  ASSERT_TRUE(pool_->Export().ok());
  pool_.reset();
  auto q = Import();
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(ENOTSUP, q.status().code());
  EXPECT_EQ("This pool uses the following feature(s) not supported by this system:\n"
            "\tcom.example:future (A feature from the future.)",
            q.status().message());
  // Read-only does not help: it is needed for reading.
  EXPECT_EQ(ENOTSUP, Import(/*readonly=*/true).status().code());
}

TEST_F(PoolFeaturesTest, AnUnknownFeatureInTheLabelRefusesImportAndZdb) {
  auto p = Create({kFeatureDax});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  pool_ = std::move(p).value();
  ASSERT_TRUE(pool_->ZhackFeature("com.example:future", "A feature from the future.",
                                  /*for_write=*/false, /*mos=*/true, 1).ok());
  ASSERT_TRUE(pool_->Export().ok());
  pool_.reset();
  ExpectFeatureLabels({"com.example:future", kFeatureDax});
  // spa_ld_select_uberblock refuses from the label alone: no description there.
  const std::string msg =
      "This pool uses the following feature(s) not supported by this system:\n"
      "\tcom.example:future";
  auto q = Import();
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(ENOTSUP, q.status().code());
  EXPECT_EQ(msg, q.status().message());
  auto spa = Spa::OpenDevices(devs_, "fp");
  ASSERT_FALSE(spa.ok());
  EXPECT_EQ(msg, spa.status().message());
}

TEST_F(PoolFeaturesTest, AnUnknownWriteFeatureAllowsAReadOnlyImport) {
  auto p = Create({kFeatureDax});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  pool_ = std::move(p).value();
  ASSERT_TRUE(pool_->ZhackFeature("com.example:wr", "Written only.", /*for_write=*/true,
                                  /*mos=*/false, 3).ok());
  ASSERT_TRUE(pool_->Export().ok());
  pool_.reset();
  auto q = Import();
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(ENOTSUP, q.status().code());
  EXPECT_EQ("This pool uses the following feature(s) not supported by this system:\n"
            "\tcom.example:wr (Written only.)\n"
            "All unsupported features are only required for writing to the pool.\n"
            "The pool can be imported using '-o readonly=on'.",
            q.status().message());
  auto r = Import(/*readonly=*/true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE((*r)->FeatureActive(kFeatureDax));
}

TEST_F(PoolFeaturesTest, ALabelWithoutFeaturesForReadIsCorrupt) {
  auto p = Create({kFeatureDax});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  pool_ = std::move(p).value();
  ASSERT_TRUE(pool_->Export().ok());
  pool_.reset();
  OpenOptions oo;
  oo.write = true;
  auto f = PosixEnv()->Open(devs_[0], oo);
  ASSERT_TRUE(f.ok());
  auto size = (*f)->Size();
  ASSERT_TRUE(size.ok());
  NvList c = LabelConfigs()[0];
  c.Remove(kFeaturesForRead);
  ASSERT_TRUE(WriteLabelConfig(**f, P2Align(*size, kVdevLabelSize), c, kAllLabels).ok());
  auto spa = Spa::OpenDevices(devs_, "fp");
  ASSERT_FALSE(spa.ok());
  EXPECT_EQ(ECORRUPT, spa.status().code());
  EXPECT_EQ("invalid label: 'features_for_read' missing", spa.status().message());
}

TEST_F(PoolFeaturesTest, ADaxVdevMakesAFeaturePool) {
  auto p = Create({}, /*with_dax=*/true);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  pool_ = std::move(p).value();
  EXPECT_EQ(kSpaVersionFeatures, pool_->version());
  EXPECT_TRUE(pool_->FeatureActive(kFeatureDax));
  ExpectFeatureLabels({kFeatureDax});
  ExportAndImport();
  EXPECT_TRUE(pool_->FeatureActive(kFeatureDax));
}

TEST_F(PoolFeaturesTest, AddingADaxVdevUpgradesALegacyPool) {
  auto p = Create({});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  pool_ = std::move(p).value();
  EXPECT_EQ(23u, pool_->version());
  // AddVdevs needs --dax-emulation for a file: the pool was made without it.
  ASSERT_TRUE(pool_->Export().ok());
  pool_.reset();
  auto q = Import();  // dax_emulation on
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  pool_ = std::move(q).value();
  NvList root, dax;
  root.AddString("type", "root");
  dax.AddString("type", "dax");
  dax.AddString("path", NewFile("p0", 64 * kMiB));
  root.AddNvListArray("children", {dax});
  ASSERT_TRUE(pool_->AddVdevs(root).ok());
  EXPECT_EQ(kSpaVersionFeatures, pool_->version());
  ExpectFeatureLabels({kFeatureDax});
  ExportAndImport();
  EXPECT_TRUE(pool_->FeatureActive(kFeatureDax));
}

}  // namespace
}  // namespace uzfs
