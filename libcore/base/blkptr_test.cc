#include "libcore/base/blkptr.h"

#include <gtest/gtest.h>

namespace uzfs {
namespace {

// The rootbp line printed by zfs-fuse 0.7.0's `zdb -uuu` for a pool it made (txg 41).
constexpr const char* kZdbLine =
    "DVA[0]=<0:8ce000:1000> DVA[1]=<0:641f000:1000> DVA[2]=<0:34d1000:1000> [L0 DMU objset] "
    "fletcher4 lzjb LE contiguous unique triple size=800L/200P birth=41L/41P fill=31 "
    "cksum=11d455fd8a:6a8fa01c701:147e956ad5836:2b46c6568bbca6";

BlkPtr ZdbBp() {
  BlkPtr bp;
  bp.dva[0].Set(0, 0x8ce000, 0x1000);
  bp.dva[1].Set(0, 0x641f000, 0x1000);
  bp.dva[2].Set(0, 0x34d1000, 0x1000);
  bp.set_lsize(0x800);
  bp.set_psize(0x200);
  bp.set_type(11);
  bp.set_checksum(7);
  bp.set_compress(3);
  bp.set_little_endian(true);
  bp.birth = 41;
  bp.fill = 31;
  bp.cksum.word[0] = 0x11d455fd8aULL;
  bp.cksum.word[1] = 0x6a8fa01c701ULL;
  bp.cksum.word[2] = 0x147e956ad5836ULL;
  bp.cksum.word[3] = 0x2b46c6568bbca6ULL;
  return bp;
}

TEST(BlkPtr, ToStringMatchesZfsFuseZdb) { EXPECT_EQ(ZdbBp().ToString(), kZdbLine); }

TEST(BlkPtr, HoleAndFields) {
  BlkPtr hole;
  EXPECT_EQ(hole.ToString(), "<hole>");
  BlkPtr bp = ZdbBp();
  EXPECT_EQ(bp.ndvas(), 3);
  EXPECT_EQ(bp.total_asize(), 0x3000u);
  EXPECT_EQ(bp.physical_birth(), 41u);
  bp.dva[2] = Dva();
  bp.set_compress(2);
  bp.set_little_endian(false);
  std::string s = bp.ToString();
  EXPECT_NE(s.find("> [L0 DMU objset] fletcher4 uncompressed BE contiguous unique double "),
            std::string::npos)
      << s;
}

TEST(BlkPtr, EncodeDecodeBothOrders) {
  BlkPtr bp = ZdbBp();
  bp.phys_birth = 40;
  uint8_t le[128];
  bp.Encode(le);
  EXPECT_EQ(BlkPtr::Decode(le, true), bp);
  uint8_t be[128];
  for (int i = 0; i < 16; i++) StoreBE64(be + 8 * i, LoadLE64(le + 8 * i));
  EXPECT_EQ(BlkPtr::Decode(be, false), bp);
  EXPECT_EQ(LoadLE64(le + 8 * 10), 41u);  // blk_birth is word 10
}

TEST(BlkPtr, NamesPastTheTables) {
  BlkPtr bp = ZdbBp();
  bp.set_type(200);
  bp.set_checksum(99);
  bp.set_compress(77);
  std::string s = bp.ToString();
  EXPECT_NE(s.find("[L0 unknown] unknown unknown"), std::string::npos) << s;
  EXPECT_STREQ(ObjectTypeName(19), "ZFS plain file");
  EXPECT_STREQ(ObjectTypeName(0xc4), "zap");  // DMU_OTN_ZAP_METADATA (pool version 5000)
  EXPECT_STREQ(ObjectTypeName(0xc3), "unknown");
  EXPECT_STREQ(BpCompressName(10), "gzip-6");
}

}  // namespace
}  // namespace uzfs
