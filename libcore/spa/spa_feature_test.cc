#include "libcore/spa/spa_feature.h"

#include <gtest/gtest.h>

namespace uzfs {
namespace {

TEST(SpaFeatureTest, VersionsWeRead) {
  EXPECT_TRUE(SpaVersionSupported(1));
  EXPECT_TRUE(SpaVersionSupported(23));
  EXPECT_FALSE(SpaVersionSupported(0));
  EXPECT_FALSE(SpaVersionSupported(24));
  EXPECT_FALSE(SpaVersionSupported(28));
  EXPECT_TRUE(SpaVersionSupported(5000));
  EXPECT_FALSE(SpaVersionSupported(5001));
}

TEST(SpaFeatureTest, TheTableKnowsDax) {
  const SpaFeatureInfo* f = FindSpaFeature("com.uzfs:dax");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f, FindSpaFeature("dax"));
  EXPECT_STREQ("dax", f->name);
  EXPECT_FALSE(f->readonly_compat);  // read-incompatible: in features_for_read
  EXPECT_TRUE(f->mos);                // named in the labels
  EXPECT_STREQ("Files of dax=on datasets live on device-DAX (persistent memory) vdevs.",
               f->description);
  EXPECT_EQ(nullptr, FindSpaFeature("com.example:dax"));
  EXPECT_EQ(nullptr, FindSpaFeature(""));
}

TEST(SpaFeatureTest, LabelFeaturesNameActiveMosFeaturesAsBooleans) {
  EXPECT_TRUE(LabelFeatures({}).empty());
  EXPECT_TRUE(LabelFeatures({{kFeatureDax, 0}}).empty());  // enabled, not active
  NvList nv = LabelFeatures({{kFeatureDax, 2}, {"com.example:x", 1}});
  ASSERT_EQ(1u, nv.pairs().size());
  EXPECT_EQ(kFeatureDax, nv.pairs()[0].name);
  EXPECT_EQ(NvType::kBoolean, nv.pairs()[0].value.type);
  // Booleans pack and dump as OpenZFS's do (name only).
  auto back = NvList::DecodeXdr(nv.EncodeXdr());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(nv, *back);
  EXPECT_EQ("    com.uzfs:dax\n", nv.Dump(4));
}

TEST(SpaFeatureTest, TheLabelCheck) {
  NvList legacy;
  legacy.AddUint64("version", 23);
  auto r = UnsupportedLabelFeatures(legacy);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());

  NvList cfg;
  cfg.AddUint64("version", kSpaVersionFeatures);
  r = UnsupportedLabelFeatures(cfg);
  EXPECT_EQ(ECORRUPT, r.status().code());
  EXPECT_EQ("invalid label: 'features_for_read' missing", r.status().message());

  NvList ffr;
  ffr.AddBoolean(kFeatureDax);
  cfg.AddNvList(kFeaturesForRead, ffr);
  r = UnsupportedLabelFeatures(cfg);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());

  ffr.AddBoolean("com.example:x");
  ffr.AddBoolean("dax");  // short names are no guids
  cfg.AddNvList(kFeaturesForRead, ffr);
  r = UnsupportedLabelFeatures(cfg);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(2u, r->size());
  Status s = UnsupportedFeaturesError(*r);
  EXPECT_EQ(ENOTSUP, s.code());
  EXPECT_EQ("This pool uses the following feature(s) not supported by this system:\n"
            "\tcom.example:x\n\tdax",
            s.message());
}

TEST(SpaFeatureTest, TheMosCheckSkipsInactiveAndKnownFeatures) {
  auto u = UnsupportedMosFeatures({{kFeatureDax, 1}, {"com.example:a", 0}, {"com.example:b", 4}},
                                  {{"com.example:b", "Bee."}});
  ASSERT_EQ(1u, u.size());
  EXPECT_EQ("com.example:b", u[0].guid);
  EXPECT_EQ("Bee.", u[0].description);
  EXPECT_EQ("This pool uses the following feature(s) not supported by this system:\n"
            "\tcom.example:b (Bee.)",
            UnsupportedFeaturesError(u).message());
}

}  // namespace
}  // namespace uzfs
