// The compound stream's framing: what zfs send -I writes around its substreams, as
// zfs-fuse's zfs_send writes it and zfs_receive_package checks it.
#include "libcore/dmu/dmu_send_package.h"

#include <gtest/gtest.h>

namespace uzfs {
namespace {

TEST(DmuSendPackage, HeaderIsACompoundBeginAndAnEndWithItsChecksum) {
  Bytes h = CompoundHeader("tank/fs@s4");
  ASSERT_EQ(2 * kDrrSize, h.size());
  auto b = DrrRecord::Decode(h.data(), false);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(kDrrBegin, b->type);
  EXPECT_EQ(0u, b->payloadlen);  // no property list (-I without -R / -p)
  EXPECT_EQ(kDmuBackupMagic, b->magic);
  EXPECT_EQ(kDmuCompoundStream, b->versioninfo);  // header type 2, no features
  EXPECT_EQ("tank/fs@s4", b->toname);
  EXPECT_EQ(0u, b->fromguid);
  auto e = DrrRecord::Decode(h.data() + kDrrSize, false);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(kDrrEnd, e->type);
  // The END carries the fletcher4 of the BEGIN record (zfs_send's cksum_and_write).
  EXPECT_EQ(Fletcher4Native(ByteSpan(h.data(), kDrrSize)), e->key_cksum);
  EXPECT_TRUE(CheckPackageHeader(ByteSpan(h.data(), kDrrSize), *e).ok());
  // A flipped byte in the header, or a record that is no END, is refused.
  Bytes bad = h;
  bad[100] ^= 1;
  EXPECT_EQ(ECKSUM, CheckPackageHeader(ByteSpan(bad.data(), kDrrSize), *e).code());
  EXPECT_EQ(EINVAL, CheckPackageHeader(ByteSpan(h.data(), kDrrSize), *b).code());
}

TEST(DmuSendPackage, EndIsAnEndWithAZeroChecksum) {
  Bytes e = PackageEnd();
  ASSERT_EQ(kDrrSize, e.size());
  auto r = DrrRecord::Decode(e.data(), false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(kDrrEnd, r->type);
  EXPECT_EQ(ZioCksum{}, r->key_cksum);
  for (size_t i = 4; i < kDrrSize; i++) ASSERT_EQ(0, e[i]) << i;
}

TEST(DmuSendPackage, ReplicationHeaderCarriesTheFssListAndItsChecksum) {
  ReplFs top;
  top.guid = 0xabc;
  top.name = "tank/fs";
  top.props.AddUint64("compression", 2);
  top.props.AddString("com.example:tag", "x");
  top.snaps = {{"a", 11}, {"b", 12}};
  top.snapprops["b"].AddString("com.example:s", "y");
  ReplFs kid;
  kid.guid = 0xdef;
  kid.name = "tank/fs/kid";
  kid.parentfromsnap = 12;
  kid.snaps = {{"b", 21}};
  NvList nv = ReplHeader("", "b", true, {top, kid});
  EXPECT_FALSE(nv.Has("fromsnap"));
  EXPECT_FALSE(nv.Has("not_recursive"));
  ASSERT_NE(nullptr, nv.GetNvList("fss"));
  const NvList* t = nv.GetNvList("fss")->GetNvList("0xabc");
  ASSERT_NE(nullptr, t);  // keyed by "0x%llx" of the filesystem's guid, as send_iterate_fs
  EXPECT_EQ("tank/fs", *t->GetString("name"));
  EXPECT_EQ(0u, *t->GetUint64("parentfromsnap"));
  EXPECT_FALSE(t->Has("origin"));
  EXPECT_EQ(12u, *t->GetNvList("snaps")->GetUint64("b"));
  EXPECT_EQ("y", *t->GetNvList("snapprops")->GetNvList("b")->GetString("com.example:s"));
  ASSERT_NE(nullptr, t->GetNvList("snapprops")->GetNvList("a"));  // every snapshot has one

  // Packed (XDR) into the header, checksummed, and read back the same.
  Bytes packed = nv.EncodeXdr();
  Bytes h = CompoundHeader("tank/fs@b", packed);
  ASSERT_EQ(2 * kDrrSize + packed.size(), h.size());
  auto b = DrrRecord::Decode(h.data(), false);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(packed.size(), b->payloadlen);
  auto e = DrrRecord::Decode(h.data() + kDrrSize + packed.size(), false);
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(CheckPackageHeader(ByteSpan(h.data(), kDrrSize + packed.size()), *e).ok());
  Bytes bad = h;
  bad[kDrrSize + 10] ^= 1;  // a flipped byte in the nvlist
  EXPECT_EQ(ECKSUM, CheckPackageHeader(ByteSpan(bad.data(), kDrrSize + packed.size()), *e).code());

  auto back = NvList::DecodeXdr(ByteSpan(h.data() + kDrrSize, packed.size()));
  ASSERT_TRUE(back.ok());
  auto info = ParseReplHeader(*back);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ("b", info->tosnap);
  EXPECT_TRUE(info->fromsnap.empty());
  EXPECT_TRUE(info->recursive);
  ASSERT_EQ(2u, info->fss.size());
  EXPECT_EQ(0xabcu, info->fss[0].guid);
  EXPECT_EQ(2u, *info->fss[0].props.GetUint64("compression"));
  EXPECT_EQ(12u, info->fss[1].parentfromsnap);
  std::string snap;
  const ReplFs* f = info->FindSnap(21, &snap);  // fsavl_find
  ASSERT_NE(nullptr, f);
  EXPECT_EQ("tank/fs/kid", f->name);
  EXPECT_EQ("b", snap);
  EXPECT_EQ(nullptr, info->FindSnap(99, &snap));

  // -p: not recursive, with a fromsnap; a header without "fss" is refused.
  NvList p = ReplHeader("a", "b", false, {top});
  auto pi = ParseReplHeader(p);
  ASSERT_TRUE(pi.ok());
  EXPECT_FALSE(pi->recursive);
  EXPECT_EQ("a", pi->fromsnap);
  NvList none;
  none.AddString("tosnap", "b");
  EXPECT_EQ(EINVAL, ParseReplHeader(none).status().code());
}

}  // namespace
}  // namespace uzfs
