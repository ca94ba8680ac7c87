// The send stream's records: every record type round-trips through Encode/Decode (and
// through a byte-swapped copy, as a receiver of the other order reads it), the writer
// aggregates FREE and FREEOBJECTS runs as dmu_send.c does, and END carries the fletcher4 of
// every byte before it.
#include "libcore/dmu/dmu_send.h"

#include <gtest/gtest.h>

#include <vector>

#include "libcore/base/compress.h"

namespace uzfs {
namespace {

// Swaps every field of an encoded record as a sender of the other byte order wrote it.
void SwapRecord(uint8_t* p) {
  auto s32 = [&](size_t o) { StoreRaw<uint32_t>(p + o, Bswap32(LoadRaw<uint32_t>(p + o))); };
  auto s64 = [&](size_t o) { StoreRaw<uint64_t>(p + o, Bswap64(LoadRaw<uint64_t>(p + o))); };
  uint32_t type = LoadRaw<uint32_t>(p);
  s32(0);
  s32(4);
  switch (type) {
    case kDrrBegin: s64(8); s64(16); s64(24); s32(32); s32(36); s64(40); s64(48); break;
    case kDrrObject: s64(8); s32(16); s32(20); s32(24); s32(28); s64(40); break;
    case kDrrFreeObjects: s64(8); s64(16); s64(24); break;
    case kDrrWrite:
      s64(8); s32(16); s64(24); s64(32); s64(40);
      for (int i = 0; i < 5; i++) s64(56 + 8 * i);
      break;
    case kDrrFree: s64(8); s64(16); s64(24); s64(32); break;
    case kDrrEnd: for (int i = 0; i < 5; i++) s64(8 + 8 * i); break;
  }
}

std::vector<DrrRecord> Samples() {
  std::vector<DrrRecord> v(6);
  v[0].type = kDrrBegin;
  v[0].magic = kDmuBackupMagic;
  v[0].versioninfo = kDmuSubstream;
  v[0].creation_time = 1700000000;
  v[0].ostype = 2;
  v[0].flags = kDrrFlagCiData;
  v[0].toguid = 0x1122334455667788ULL;
  v[0].fromguid = 0x99;
  v[0].toname = "tank/fs@snap";
  v[1].type = kDrrObject;
  v[1].object = 7;
  v[1].obj_type = 19;
  v[1].bonustype = 17;
  v[1].blksz = 131072;
  v[1].bonuslen = 264;
  v[1].checksumtype = 7;
  v[1].compress = 2;
  v[1].toguid = 5;
  v[2].type = kDrrFreeObjects;
  v[2].object = 32;
  v[2].length = 64;
  v[2].toguid = 5;
  v[3].type = kDrrWrite;
  v[3].object = 7;
  v[3].obj_type = 19;
  v[3].offset = 1 << 17;
  v[3].length = 1 << 17;
  v[3].toguid = 5;
  v[3].checksumtype = 8;
  v[3].checksumflags = kDrrChecksumDedup;
  v[3].key_cksum = ZioCksum{{1, 2, 3, 4}};
  v[3].key_prop = 0x20000ff00ffULL;
  v[4].type = kDrrFree;
  v[4].object = 7;
  v[4].offset = 4096;
  v[4].length = ~0ULL;
  v[4].toguid = 5;
  v[5].type = kDrrEnd;
  v[5].key_cksum = ZioCksum{{9, 8, 7, 6}};
  v[5].toguid = 5;
  return v;
}

void ExpectSame(const DrrRecord& a, const DrrRecord& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.magic, b.magic);
  EXPECT_EQ(a.versioninfo, b.versioninfo);
  EXPECT_EQ(a.creation_time, b.creation_time);
  EXPECT_EQ(a.ostype, b.ostype);
  EXPECT_EQ(a.flags, b.flags);
  EXPECT_EQ(a.toguid, b.toguid);
  EXPECT_EQ(a.fromguid, b.fromguid);
  EXPECT_EQ(a.toname, b.toname);
  EXPECT_EQ(a.object, b.object);
  EXPECT_EQ(a.offset, b.offset);
  EXPECT_EQ(a.length, b.length);
  EXPECT_EQ(a.obj_type, b.obj_type);
  EXPECT_EQ(a.bonustype, b.bonustype);
  EXPECT_EQ(a.blksz, b.blksz);
  EXPECT_EQ(a.bonuslen, b.bonuslen);
  EXPECT_EQ(a.checksumtype, b.checksumtype);
  EXPECT_EQ(a.compress, b.compress);
  EXPECT_EQ(a.checksumflags, b.checksumflags);
  EXPECT_EQ(a.key_cksum, b.key_cksum);
  EXPECT_EQ(a.key_prop, b.key_prop);
}

TEST(DmuSend, RecordsRoundTripInEitherOrder) {
  for (const DrrRecord& r : Samples()) {
    uint8_t buf[kDrrSize];
    r.Encode(buf);
    auto d = DrrRecord::Decode(buf, false);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    ExpectSame(r, *d);
    SwapRecord(buf);
    auto s = DrrRecord::Decode(buf, true);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ExpectSame(r, *s);
  }
}

TEST(DmuSend, LayoutMatchesDmuReplayRecord) {
  // Offsets of zfs_ioctl.h's dmu_replay_record_t: the BEGIN magic at 8, toname at 56; a
  // WRITE's ddt_key at 56; END's checksum at 8 and toguid at 40.
  DrrRecord b = Samples()[0];
  uint8_t buf[kDrrSize];
  b.Encode(buf);
  EXPECT_EQ(LoadRaw<uint64_t>(buf + 8), kDmuBackupMagic);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf + 56)), "tank/fs@snap");
  DrrRecord w = Samples()[3];
  w.Encode(buf);
  EXPECT_EQ(LoadRaw<uint64_t>(buf + 56), 1u);
  EXPECT_EQ(LoadRaw<uint64_t>(buf + 88), 0x20000ff00ffULL);
  DrrRecord e = Samples()[5];
  e.Encode(buf);
  EXPECT_EQ(LoadRaw<uint64_t>(buf + 8), 9u);
  EXPECT_EQ(LoadRaw<uint64_t>(buf + 40), 5u);
}

TEST(DmuSend, UnknownTypeIsRefused) {
  uint8_t buf[kDrrSize] = {};
  StoreRaw<uint32_t>(buf, 42);
  EXPECT_EQ(DrrRecord::Decode(buf, false).status().code(), ECORRUPT);
}

TEST(DmuSend, FletcherIncrementalEqualsWhole) {
  Bytes data(4096);
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<uint8_t>(i * 31 + 7);
  ZioCksum zc;
  Fletcher4Incremental(ByteSpan(data).subspan(0, 1000), &zc);
  Fletcher4Incremental(ByteSpan(data).subspan(1000), &zc);
  EXPECT_EQ(zc, Fletcher4Native(data));
}

TEST(DmuSend, WriterAggregatesFreesAndChecksumsTheStream) {
  Bytes out;
  DrrWriter w([&](ByteSpan b) {
    out.insert(out.end(), b.begin(), b.end());
    return Status::Ok();
  }, 5);
  DrrRecord begin = Samples()[0];
  ASSERT_TRUE(w.Begin(begin).ok());
  ASSERT_TRUE(w.FreeObjects(0, 1).ok());
  ASSERT_TRUE(w.FreeObjects(1, 31).ok());  // joins the run
  ASSERT_TRUE(w.Free(3, 0, 512).ok());     // pushes FREEOBJECTS out
  ASSERT_TRUE(w.Free(3, 512, 512).ok());   // joins
  ASSERT_TRUE(w.Free(3, 4096, 512).ok());  // not contiguous: a record of its own
  ASSERT_TRUE(w.End().ok());
  ASSERT_EQ(out.size(), 5 * kDrrSize);
  EXPECT_EQ(w.bytes(), out.size());
  std::vector<DrrRecord> recs;
  for (size_t o = 0; o < out.size(); o += kDrrSize) {
    auto r = DrrRecord::Decode(out.data() + o, false);
    ASSERT_TRUE(r.ok());
    recs.push_back(*r);
  }
  EXPECT_EQ(recs[1].type, kDrrFreeObjects);
  EXPECT_EQ(recs[1].object, 0u);
  EXPECT_EQ(recs[1].length, 32u);
  EXPECT_EQ(recs[2].type, kDrrFree);
  EXPECT_EQ(recs[2].length, 1024u);
  EXPECT_EQ(recs[3].offset, 4096u);
  EXPECT_EQ(recs[4].type, kDrrEnd);
  EXPECT_EQ(recs[4].toguid, 5u);
  // END's checksum is the fletcher4 of everything before it.
  EXPECT_EQ(recs[4].key_cksum, Fletcher4Native(ByteSpan(out).subspan(0, 4 * kDrrSize)));
}

// A data block's WRITE: the stream's sums after it, each way the writer may take them (bp's
// own fletcher4 sums added, or the bytes read again), are the fletcher4 of the stream.
Bytes SendOneWrite(const BlkPtr& bp, ByteSpan data, DrrRecord* end) {
  Bytes out;
  DrrWriter w([&](ByteSpan b) {
    out.insert(out.end(), b.begin(), b.end());
    return Status::Ok();
  }, 5);
  EXPECT_TRUE(w.Begin(Samples()[0]).ok());
  EXPECT_TRUE(w.Free(3, 0, 512).ok());  // pending: goes out before the WRITE
  EXPECT_TRUE(w.Write(3, bp, 0, data).ok());
  EXPECT_TRUE(w.End().ok());
  EXPECT_EQ(w.bytes(), out.size());
  auto e = DrrRecord::Decode(out.data() + out.size() - kDrrSize, false);
  EXPECT_TRUE(e.ok());
  if (e.ok()) *end = *e;
  return out;
}

BlkPtr DataBp(ByteSpan data, uint8_t checksum, uint8_t compress) {
  BlkPtr bp;
  bp.birth = 9;
  bp.dva[0].Set(0, 1 << 20, data.size());
  bp.set_lsize(data.size());
  bp.set_psize(data.size());
  bp.set_checksum(checksum);
  bp.set_compress(compress);
  bp.set_type(kOtPlainFileContents);
  bp.set_little_endian(true);
  bp.cksum = Fletcher4Native(data);
  return bp;
}

TEST(DmuSend, WriteOfAFletcher4BlockAddsItsSums) {
  const uint8_t f4 = static_cast<uint8_t>(ChecksumId::kFletcher4);
  const uint8_t off = static_cast<uint8_t>(CompressId::kOff);
  for (size_t size : {512u, 4096u, 131072u}) {
    Bytes data(size);
    for (size_t i = 0; i < size; i++) data[i] = static_cast<uint8_t>(i * 131 + (i >> 9) + 0xa5);
    for (uint8_t cks : {f4, static_cast<uint8_t>(ChecksumId::kFletcher2)}) {
      DrrRecord end;
      Bytes out = SendOneWrite(DataBp(data, cks, off), data, &end);
      ASSERT_EQ(out.size(), 4 * kDrrSize + size);
      EXPECT_EQ(end.key_cksum, Fletcher4Native(ByteSpan(out).first(out.size() - kDrrSize))) << size;
    }
  }
  // The sums do come from bp for a plain fletcher4 block (a bp not of these bytes gives
  // another END), and not for a compressed one (its checksum is of other bytes).
  Bytes data(4096, 7);
  BlkPtr bp = DataBp(data, f4, off);
  bp.cksum.word[3]++;
  DrrRecord end;
  Bytes out = SendOneWrite(bp, data, &end);
  EXPECT_NE(end.key_cksum, Fletcher4Native(ByteSpan(out).first(out.size() - kDrrSize)));
  bp = DataBp(data, f4, static_cast<uint8_t>(CompressId::kLzjb));
  bp.cksum.word[3]++;
  out = SendOneWrite(bp, data, &end);
  EXPECT_EQ(end.key_cksum, Fletcher4Native(ByteSpan(out).first(out.size() - kDrrSize)));
}

}  // namespace
}  // namespace uzfs
