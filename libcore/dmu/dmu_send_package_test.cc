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

}  // namespace
}  // namespace uzfs
