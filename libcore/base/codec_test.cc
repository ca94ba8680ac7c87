// Codec tests against data zfs-fuse wrote (tests/data/base/README says where each file came
// from) and against independent reference computations written here.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "libcore/base/checksum.h"
#include "libcore/base/compress.h"
#include "libcore/base/nvlist.h"

namespace uzfs {
namespace {

Bytes ReadFile(const std::string& name) {
  std::ifstream in(std::string(UZFS_TESTDATA) + "/base/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The text `seq 1 200000` writes, bytes [off, off+len), zero-padded past its end.
Bytes SeqText(size_t off, size_t len) {
  std::string s;
  for (int i = 1; i <= 200000; i++) s += std::to_string(i) + "\n";
  Bytes out(len, 0);
  for (size_t i = 0; i < len && off + i < s.size(); i++) out[i] = static_cast<uint8_t>(s[off + i]);
  return out;
}

ZioCksum FromHex(const std::string& h) {
  ZioCksum c;
  std::stringstream ss(h);
  std::string w;
  for (int i = 0; i < 4 && std::getline(ss, w, ':'); i++) c.word[i] = std::stoull(w, nullptr, 16);
  return c;
}

// ---- nvlist -------------------------------------------------------------------------

TEST(NvList, GoldenLabelDecodesAsZfsFuseDumpsIt) {
  Bytes raw = ReadFile("label_mirror.xdr");
  auto nv = NvList::DecodeXdr(raw);
  ASSERT_TRUE(nv.ok()) << nv.status().ToString();
  Bytes expected_dump = ReadFile("label_mirror.zdb-l.txt");
  EXPECT_EQ(nv->Dump(4), std::string(expected_dump.begin(), expected_dump.end()));
  EXPECT_EQ(*nv->GetUint64("version"), 23u);
  ASSERT_NE(nv->GetNvList("vdev_tree"), nullptr);
  ASSERT_NE(nv->GetNvList("vdev_tree")->GetNvListArray("children"), nullptr);
  EXPECT_EQ(nv->GetNvList("vdev_tree")->GetNvListArray("children")->size(), 2u);
}

TEST(NvList, GoldenLabelReencodesToTheSameBytes) {
  Bytes raw = ReadFile("label_mirror.xdr");
  auto nv = NvList::DecodeXdr(raw);
  ASSERT_TRUE(nv.ok());
  Bytes enc = nv->EncodeXdr();
  // On disk the list is followed by zeros up to the end of vdev_phys; the file keeps 32 of
  // them. The encoding must reproduce the stored list byte for byte.
  ASSERT_LE(enc.size(), raw.size());
  EXPECT_EQ(enc, Bytes(raw.begin(), raw.begin() + static_cast<long>(enc.size())));
  for (size_t i = enc.size(); i < raw.size(); i++) ASSERT_EQ(raw[i], 0) << "byte " << i;
}

TEST(NvList, RoundTripOfEveryType) {
  NvList inner;
  inner.AddString("path", "/dev/x");
  inner.AddUint64("guid", 0xfedcba9876543210ULL);
  NvList l;
  l.AddBoolean("flag");
  l.AddBooleanValue("bv", true);
  l.AddUint64("u64", ~0ULL);
  l.AddInt64("i64", -5);
  l.AddUint32("u32", 0xdeadbeef);
  l.AddString("s", "hello world");
  l.AddString("empty", "");
  l.AddNvList("nested", inner);
  l.AddNvListArray("children", {inner, inner, NvList()});
  l.AddUint64Array("arr", {1, 2, 3, 1ULL << 63});
  l.AddStringArray("sarr", {"a", "", "ccc"});
  for (NvType t : {NvType::kByte, NvType::kInt8, NvType::kUint8, NvType::kInt16, NvType::kUint16,
                   NvType::kInt32, NvType::kHrtime}) {
    NvValue v;
    v.type = t;
    if (t == NvType::kInt8 || t == NvType::kInt16 || t == NvType::kInt32 || t == NvType::kHrtime) v.i = -7;
    else v.u = 7;
    l.AddValue("t" + std::to_string(static_cast<int>(t)), v);
  }
  NvValue bytes;
  bytes.type = NvType::kByteArray;
  bytes.u_arr = {1, 2, 3, 4, 5};
  l.AddValue("bytes", bytes);
  NvValue i16;
  i16.type = NvType::kInt16Array;
  i16.i_arr = {-1, 2, -3};
  l.AddValue("i16", i16);

  auto back = NvList::DecodeXdr(l.EncodeXdr());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == l);
  EXPECT_EQ(back->EncodeXdr(), l.EncodeXdr());
  EXPECT_EQ(*back->GetInt64("i64"), -5);
  EXPECT_EQ(*back->GetString("s"), "hello world");
}

TEST(NvList, DecodedSizeIsChecked) {
  NvList l;
  l.AddUint64("version", 23);
  Bytes enc = l.EncodeXdr();
  // Header(4) + nvl_version(4) + nvflag(4), then the pair: encoded size, decoded size.
  // libnvpair: ALIGN8(16 + strlen("version") + 1) + ALIGN8(8) = 24 + 8 = 32.
  ASSERT_EQ(LoadBE32(&enc[16]), 32u);
  enc[19] ^= 8;
  EXPECT_FALSE(NvList::DecodeXdr(enc).ok());
}

TEST(NvList, GarbageAndTruncationFailCleanly) {
  Bytes raw = ReadFile("label_mirror.xdr");
  const size_t whole = NvList::DecodeXdr(raw)->EncodeXdr().size();
  for (size_t n = 0; n < whole; n += 7) {
    auto r = NvList::DecodeXdr(ByteSpan(raw.data(), n));
    EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes decoded";
  }
  std::mt19937 rng(1);
  for (int i = 0; i < 2000; i++) {
    Bytes b = raw;
    for (int k = 0; k < 4; k++) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    (void)NvList::DecodeXdr(b);  // must not crash (run under ASan in the fuzz build)
  }
  Bytes native = raw;
  native[0] = 0;  // NV_ENCODE_NATIVE
  EXPECT_EQ(NvList::DecodeXdr(native).status().code(), ENOTSUP);
}

// ---- checksums ------------------------------------------------------------------------

ZioCksum RefFletcher4(const Bytes& d, bool swap) {
  uint64_t a = 0, b = 0, c = 0, e = 0;
  for (size_t i = 0; i + 4 <= d.size(); i += 4) {
    uint32_t w = static_cast<uint32_t>(d[i]) | static_cast<uint32_t>(d[i + 1]) << 8 |
                 static_cast<uint32_t>(d[i + 2]) << 16 | static_cast<uint32_t>(d[i + 3]) << 24;
    if (swap) w = __builtin_bswap32(w);
    a += w, b += a, c += b, e += c;
  }
  ZioCksum z;
  z.word[0] = a, z.word[1] = b, z.word[2] = c, z.word[3] = e;
  return z;
}

TEST(Checksum, Fletcher4MatchesZfsFuseBlockChecksums) {
  EXPECT_EQ(Fletcher4Native(ReadFile("lzjb_seq_block.bin")),
            FromHex("d0b97b97db2:1500dc62a76824e:db45450f665cf76d:7ec044bb0aeaaa34"));
  EXPECT_EQ(Fletcher4Native(ReadFile("gzip_seq_block.bin")),
            FromHex("128624324e00:134ffce2329c6e2:31a6f71847d04fc9:8dd0d20579a359be"));
}

TEST(Checksum, FletcherAgainstReferenceAndByteswap) {
  std::mt19937 rng(7);
  Bytes d(4096 + 16);
  for (auto& x : d) x = static_cast<uint8_t>(rng());
  EXPECT_EQ(Fletcher4Native(d), RefFletcher4(d, false));
  EXPECT_EQ(Fletcher4Byteswap(d), RefFletcher4(d, true));
  // Byteswapping every word and using the byteswap variant gives the native sum.
  Bytes sw = d;
  for (size_t i = 0; i + 8 <= sw.size(); i += 8) std::reverse(sw.begin() + i, sw.begin() + i + 8);
  EXPECT_EQ(Fletcher2Byteswap(sw), Fletcher2Native(d));
  // fletcher2 over 16-byte pairs: check against a direct computation.
  uint64_t a0 = 0, a1 = 0, b0 = 0, b1 = 0;
  for (size_t i = 0; i + 16 <= d.size(); i += 16) {
    a0 += LoadLE64(&d[i]), a1 += LoadLE64(&d[i + 8]), b0 += a0, b1 += a1;
  }
  ZioCksum f2 = Fletcher2Native(d);
  EXPECT_EQ(f2.word[0], a0);
  EXPECT_EQ(f2.word[1], a1);
  EXPECT_EQ(f2.word[2], b0);
  EXPECT_EQ(f2.word[3], b1);
}

TEST(Checksum, Sha256KnownVector) {
  const std::string abc = "abc";
  ZioCksum c = Sha256(ByteSpan(reinterpret_cast<const uint8_t*>(abc.data()), abc.size()));
  EXPECT_EQ(c, FromHex("ba7816bf8f01cfea:414140de5dae2223:b00361a396177a9c:b410ff61f20015ad"));
}

TEST(Checksum, EmbeddedChecksumBothByteOrders) {
  Bytes blk(512, 0);
  for (size_t i = 0; i < 400; i++) blk[i] = static_cast<uint8_t>(i * 7);
  ZioCksum verifier;
  verifier.word[0] = 0x4000;
  SetEmbeddedChecksum(static_cast<uint8_t>(ChecksumId::kLabel), blk, verifier);
  EXPECT_TRUE(VerifyEmbeddedChecksum(static_cast<uint8_t>(ChecksumId::kLabel), blk, verifier));
  ZioCksum wrong = verifier;
  wrong.word[0] = 0x8000;  // the same bytes at another offset must not verify
  EXPECT_FALSE(VerifyEmbeddedChecksum(static_cast<uint8_t>(ChecksumId::kLabel), blk, wrong));
  Bytes flipped = blk;
  flipped[10] ^= 1;
  EXPECT_FALSE(VerifyEmbeddedChecksum(static_cast<uint8_t>(ChecksumId::kLabel), flipped, verifier));
}

// ---- compression ------------------------------------------------------------------------

TEST(Compress, DecodesZfsFuseLzjbAndGzipBlocks) {
  const Bytes want = SeqText(0x120000, 0x20000);
  Bytes out(0x20000);
  ASSERT_TRUE(Decompress(static_cast<uint8_t>(CompressId::kLzjb), ReadFile("lzjb_seq_block.bin"), out).ok());
  EXPECT_EQ(out, want);
  Bytes out2(0x20000);
  ASSERT_TRUE(Decompress(10 /* gzip-6 */, ReadFile("gzip_seq_block.bin"), out2).ok());
  EXPECT_EQ(out2, want);
}

TEST(Compress, RoundTrips) {
  std::mt19937 rng(3);
  Bytes random(128 * 1024), text = SeqText(0, 128 * 1024), zeros(128 * 1024, 0), sparse(64 * 1024, 0);
  for (auto& x : random) x = static_cast<uint8_t>(rng());
  for (size_t i = 0; i < sparse.size(); i += 999) sparse[i] = 1;
  for (uint8_t id : {uint8_t(CompressId::kLzjb), uint8_t(5), uint8_t(10), uint8_t(13),
                     uint8_t(CompressId::kZle)}) {
    for (const Bytes* src : {&random, &text, &zeros, &sparse}) {
      Bytes dst(src->size());
      size_t n = Compress(id, *src, dst);
      if (n == src->size()) {
        // Only random data (and, for zle, text without zeros) may refuse to shrink.
        bool ok = src == &random || (id == uint8_t(CompressId::kZle) && src == &text);
        EXPECT_TRUE(ok) << CompressName(id) << " failed to shrink compressible data";
        continue;
      }
      Bytes back(src->size());
      ASSERT_TRUE(Decompress(id, ByteSpan(dst.data(), n), back).ok()) << CompressName(id);
      EXPECT_EQ(back, *src) << CompressName(id);
    }
  }
}

TEST(Compress, CorruptInputFailsOrStaysInBounds) {
  Bytes good = ReadFile("lzjb_seq_block.bin");
  std::mt19937 rng(5);
  int failures = 0;
  for (int i = 0; i < 300; i++) {
    Bytes b(good.begin(), good.begin() + static_cast<long>(rng() % good.size()));
    for (int k = 0; k < 8 && !b.empty(); k++) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    Bytes out(0x20000);
    failures += Decompress(static_cast<uint8_t>(CompressId::kLzjb), b, out).ok() ? 0 : 1;
    (void)Decompress(10, b, out);
    (void)Decompress(static_cast<uint8_t>(CompressId::kZle), b, out);
  }
  EXPECT_GT(failures, 0);  // truncated streams must be reported, not padded silently
}

TEST(Compress, Names) {
  EXPECT_STREQ(CompressName(3), "lzjb");
  EXPECT_STREQ(CompressName(10), "gzip-6");
  EXPECT_STREQ(CompressName(14), "zle");
  EXPECT_STREQ(ChecksumName(7), "fletcher4");
  EXPECT_STREQ(ChecksumName(99), "unknown");
}

}  // namespace
}  // namespace uzfs
