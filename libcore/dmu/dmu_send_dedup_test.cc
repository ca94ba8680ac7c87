// zfs send -D's filter over hand-made substreams: the feature flags, repeated blocks as
// WRITE_BYREF records naming the first write (across substreams too), END checksums that
// match what was written, as zfs-fuse's cksummer does.
#include "libcore/dmu/dmu_send_dedup.h"

#include <gtest/gtest.h>

#include <cstring>

namespace uzfs {
namespace {

void Put(Bytes* s, const DrrRecord& r, ByteSpan payload = {}) {
  size_t at = s->size();
  s->resize(at + kDrrSize);
  r.Encode(s->data() + at);
  s->insert(s->end(), payload.begin(), payload.end());
}

// One substream (toguid g): object 1 written with a, a, b at 0, 4K, 8K; object 2 with b.
void Substream(Bytes* s, uint64_t g, const Bytes& a, const Bytes& b) {
  DrrRecord begin;
  begin.type = kDrrBegin;
  begin.magic = kDmuBackupMagic;
  begin.versioninfo = kDmuSubstream;
  begin.toguid = g;
  begin.toname = "tank/fs@s";
  Put(s, begin);
  DrrRecord o;
  o.type = kDrrObject;
  o.object = 1;
  o.obj_type = 19;
  o.blksz = 4096;
  o.toguid = g;
  Put(s, o);
  uint64_t n = 0;
  for (auto [obj, data] : {std::pair{1, &a}, std::pair{1, &a}, std::pair{1, &b}, std::pair{2, &b}}) {
    DrrRecord w;
    w.type = kDrrWrite;
    w.object = static_cast<uint64_t>(obj);
    w.offset = obj == 1 ? 4096 * n++ : 0;
    w.length = data->size();
    w.toguid = g;
    w.checksumtype = 7;  // fletcher4: not dedup-capable, keyed by SHA-256
    w.key_prop = 0x1234;
    Put(s, w, *data);
  }
  DrrRecord e;
  e.type = kDrrEnd;
  e.toguid = g;
  Put(s, e);  // a stale checksum: the filter writes its own
}

// The filter's input: in, read from the start in the sizes asked for (false past its end).
DedupFilter::ReadFull ReaderOf(const Bytes& in) {
  return [&in, pos = size_t{0}](uint8_t* p, size_t n) mutable {
    if (pos + n > in.size()) return false;
    std::memcpy(p, in.data() + pos, n);
    pos += n;
    return true;
  };
}

std::vector<DrrRecord> Records(const Bytes& out) {
  std::vector<DrrRecord> rs;
  for (size_t at = 0; at < out.size();) {
    auto r = DrrRecord::Decode(out.data() + at, false);
    EXPECT_TRUE(r.ok());
    if (!r.ok()) break;
    at += kDrrSize;
    if (r->type == kDrrWrite) at += r->length;
    rs.push_back(*r);
  }
  return rs;
}

TEST(DmuSendDedup, RepeatedBlocksBecomeReferencesToTheFirstWrite) {
  Bytes a(4096, 0x5a), b(4096, 0x17);
  Bytes in;
  Substream(&in, 100, a, b);
  Substream(&in, 200, a, b);
  Bytes out;
  std::vector<size_t> ends;  // where each END record starts
  DedupFilter f([&](ByteSpan x) {
    if (x.size() == kDrrSize && LoadRaw<uint32_t>(x.data()) == kDrrEnd) ends.push_back(out.size());
    out.insert(out.end(), x.begin(), x.end());
    return Status::Ok();
  });
  ASSERT_TRUE(f.Run(ReaderOf(in)).ok());
  auto rs = Records(out);
  ASSERT_EQ(14u, rs.size());
  EXPECT_EQ(kDrrBegin, rs[0].type);
  EXPECT_EQ(kDmuSubstream | (kFeatureDedup | kFeatureDedupProps) << 2, rs[0].versioninfo);
  // First substream: a, then a again by reference, b, then b again (object 2).
  EXPECT_EQ(kDrrWrite, rs[2].type);
  EXPECT_EQ(Sha256(a), rs[2].key_cksum);
  EXPECT_EQ(8u, rs[2].checksumtype);  // SHA-256 now
  EXPECT_EQ(kDrrChecksumDedup, rs[2].checksumflags);
  EXPECT_EQ(kDrrWriteByref, rs[3].type);
  EXPECT_EQ((std::vector<uint64_t>{1, 4096, 4096, 100, 100, 1, 0}),
            (std::vector<uint64_t>{rs[3].object, rs[3].offset, rs[3].length, rs[3].toguid,
                                   rs[3].refguid, rs[3].refobject, rs[3].refoffset}));
  EXPECT_EQ(0x1234u, rs[3].key_prop);
  EXPECT_EQ(kDrrWrite, rs[4].type);
  EXPECT_EQ(kDrrWriteByref, rs[5].type);
  EXPECT_EQ(8192u, rs[5].refoffset);
  // Second substream: every block refers to the first one's writes (refguid 100).
  for (int i : {9, 10, 11, 12}) {
    EXPECT_EQ(kDrrWriteByref, rs[i].type) << i;
    EXPECT_EQ(200u, rs[i].toguid);
    EXPECT_EQ(100u, rs[i].refguid);
  }
  EXPECT_EQ(2u, rs[12].object);
  EXPECT_EQ(8192u, rs[12].refoffset);
  EXPECT_EQ(6u, f.byref_count());
  // Each END carries the fletcher4 of its substream as written (from its BEGIN).
  ASSERT_EQ(2u, ends.size());
  ZioCksum zc;
  Fletcher4Incremental(ByteSpan(out.data(), ends[0]), &zc);
  EXPECT_EQ(zc, rs[6].key_cksum);
  ZioCksum zc2;
  Fletcher4Incremental(ByteSpan(out.data() + ends[0] + kDrrSize, ends[1] - ends[0] - kDrrSize), &zc2);
  EXPECT_EQ(zc2, rs[13].key_cksum);
}

TEST(DmuSendDedup, UnknownRecordsAndShortStreamsAreRefused) {
  Bytes a(4096, 1), b(4096, 2), in;
  Substream(&in, 1, a, b);
  in.resize(in.size() - kDrrSize - 100);  // cut inside the last WRITE's data
  DedupFilter f([](ByteSpan) { return Status::Ok(); });
  EXPECT_EQ(EINVAL, f.Run(ReaderOf(in)).code());
  Bytes junk(kDrrSize, 0);
  StoreRaw<uint32_t>(junk.data(), 42);
  DedupFilter g([](ByteSpan) { return Status::Ok(); });
  EXPECT_FALSE(g.Run(ReaderOf(junk)).ok());
}

TEST(DmuSendDedup, AFullTableKeepsDedupingWithTheEntriesItHas) {
  // Room for one entry (ddt_hash_append's bound): a is in the table, b never gets in.
  Bytes a(4096, 0x33), b(4096, 0x44), in;
  Substream(&in, 100, a, b);
  Bytes out;
  DedupFilter f(
      [&](ByteSpan x) {
        out.insert(out.end(), x.begin(), x.end());
        return Status::Ok();
      },
      DedupFilter::kEntryBytes);
  ASSERT_TRUE(f.Run(ReaderOf(in)).ok());
  auto rs = Records(out);
  ASSERT_EQ(7u, rs.size());
  EXPECT_EQ(kDrrWrite, rs[2].type);       // a
  EXPECT_EQ(kDrrWriteByref, rs[3].type);  // a again: in the table
  EXPECT_EQ(kDrrWrite, rs[4].type);       // b: the table is full
  EXPECT_EQ(kDrrWrite, rs[5].type);       // b again: written whole, not lost
  EXPECT_EQ(1u, f.byref_count());
  EXPECT_TRUE(f.table_full());
  EXPECT_GE(DedupFilter::DefaultBound(), uint64_t{128} << 20);
}

}  // namespace
}  // namespace uzfs
