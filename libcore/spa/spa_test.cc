// Opens pools made by zfs-fuse (built at test time by tests/lib/mkpools_small.sh) and checks
// the read path against zfs-fuse's own zdb output, then damages copies of them.
#include "libcore/spa/spa.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include <sys/wait.h>
#include <unistd.h>

#include "libcore/spa/space_map.h"
#include "libcore/vdev/vdev_raidz.h"

namespace uzfs {
namespace {

namespace fs = std::filesystem;

std::string g_dir;   // pristine pools (shared, never modified); empty when not built
std::string g_work;  // this process's scratch directory for damaged copies
std::string g_why;   // why no pools: empty = zfs-fuse absent (skip), else the failure (fail)
std::map<std::string, std::string> g_names;  // kind -> pool name

std::string Slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ctest runs every test in its own process, so the pools (about 10 s of zfs-fuse work) are
// built once into a directory keyed by the builder script's identity and reused; each
// process builds into a private directory and renames it into place, so concurrent
// processes never see a half-built set.
class Pools : public ::testing::Environment {
 public:
  void SetUp() override {
    char work[] = "/tmp/uzfs-spa-work-XXXXXX";
    if (!mkdtemp(work)) return;
    g_work = work;
    fs::path script = fs::path(UZFS_TESTDATA).parent_path() / "lib/mkpools_small.sh";
    std::error_code ec;
    auto stamp = fs::last_write_time(script, ec).time_since_epoch().count();
    std::string shared = "/tmp/uzfs-spa-pools-" + std::to_string(getuid()) + "-" +
                         std::to_string(fs::file_size(script, ec)) + "-" + std::to_string(stamp);
    if (!fs::exists(shared + "/names")) {
      std::string tmp = g_work + "/build";
      fs::create_directories(tmp);
      std::string log = g_work + "/log";
      int rc = std::system((script.string() + " " + tmp + " >" + log + " 2>&1").c_str());
      if (rc != 0) {
        if (!(WIFEXITED(rc) && WEXITSTATUS(rc) == 77))
          g_why = script.string() + " failed: " + Slurp(log);
        return;
      }
      fs::rename(tmp, shared, ec);  // fails harmlessly when another process won the race
      fs::remove_all(tmp, ec);
    }
    std::ifstream in(shared + "/names");
    std::string kind, name;
    while (in >> kind >> name) g_names[kind] = name;
    if (g_names.size() == 4) g_dir = shared;
    else g_why = shared + ": incomplete pool set";
  }
  void TearDown() override {
    if (!g_work.empty()) fs::remove_all(g_work);
  }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new Pools);

#define NEED_POOLS()                                                              \
  do {                                                                            \
    if (g_dir.empty() && !g_why.empty()) FAIL() << g_why;                        \
    if (g_dir.empty()) GTEST_SKIP() << "zfs-fuse is not installed";              \
  } while (0)


// "key = value" from zdb -uuu output.
std::string ZdbField(const std::string& text, const std::string& key) {
  auto pos = text.find("\t" + key + " = ");
  if (pos == std::string::npos) return "";
  pos += key.size() + 4;
  return text.substr(pos, text.find('\n', pos) - pos);
}

std::string CopyPool(const std::string& kind, const std::string& tag) {
  std::string dst = g_work + "/" + kind + "-" + tag;
  std::string cmd = "rm -rf " + dst + " && mkdir -p " + dst + " && cp --sparse=always " + g_dir +
                    "/" + kind + "/d* " + dst + "/";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  return dst;
}

void Scribble(const std::string& path, uint64_t off, uint64_t len, uint8_t v = 0xa5) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good()) << path;
  f.seekp(static_cast<std::streamoff>(off));
  std::string junk(len, static_cast<char>(v));
  f.write(junk.data(), static_cast<std::streamsize>(len));
}

void CheckMos(Spa& spa) {
  ReadReport rep;
  auto mos = spa.Read(spa.uberblock().rootbp, &rep);
  ASSERT_TRUE(mos.ok()) << mos.status().ToString();
  ASSERT_GE(mos->size(), 2048u);
  // objset_phys_t.os_type at 704: 1 = DMU_OST_META.
  EXPECT_EQ(Load64(mos->data() + 704, spa.uberblock().rootbp.little_endian()), 1u);
}

class SpaPoolTest : public ::testing::TestWithParam<const char*> {};

TEST_P(SpaPoolTest, OpensAndMatchesZdb) {
  NEED_POOLS();
  std::string kind = GetParam();
  auto spa = Spa::OpenDir(g_dir + "/" + kind, g_names[kind]);
  ASSERT_TRUE(spa.ok()) << spa.status().ToString();
  Spa& s = **spa;
  EXPECT_EQ(s.name(), g_names[kind]);
  EXPECT_EQ(s.version(), 23u);
  const Uberblock& ub = s.uberblock();
  std::string zdb = Slurp(g_dir + "/" + kind + ".zdb_u");
  ASSERT_NE(zdb.find("Uberblock"), std::string::npos) << zdb;
  EXPECT_EQ(std::to_string(ub.txg), ZdbField(zdb, "txg"));
  EXPECT_EQ(std::to_string(ub.guid_sum), ZdbField(zdb, "guid_sum"));
  EXPECT_EQ(std::to_string(ub.version), ZdbField(zdb, "version"));
  EXPECT_EQ(ZdbField(zdb, "timestamp").rfind(std::to_string(ub.timestamp) + " UTC", 0), 0u);
  EXPECT_EQ(ub.rootbp.ToString(), ZdbField(zdb, "rootbp"));
  EXPECT_EQ(s.guid_sum(), ub.guid_sum);
  EXPECT_NE(Slurp(g_dir + "/" + kind + ".zdb_l").find("pool_guid: " + std::to_string(s.pool_guid())),
            std::string::npos);
  CheckMos(s);

  ASSERT_EQ(s.vdev_children(), 1u);
  Vdev* top = s.top(0);
  ASSERT_NE(top, nullptr);
  EXPECT_GT(top->asize, 0u);
  EXPECT_GT(top->metaslab_array, 0u);
  EXPECT_GT(top->metaslab_shift, 0u);
  if (kind == "single") {
    EXPECT_EQ(top->type, "file");
    EXPECT_EQ(s.device_labels().size(), 1u);
  } else if (kind == "mirror") {
    EXPECT_EQ(top->type, "mirror");
    EXPECT_EQ(top->children.size(), 2u);
  } else {
    EXPECT_EQ(top->type, "raidz");
    EXPECT_EQ(top->children.size(), 4u);
    EXPECT_EQ(top->nparity, kind == "raidz1" ? 1u : 2u);
  }
  for (const auto& d : s.device_labels())
    for (const auto& l : d.labels) EXPECT_TRUE(l.status.ok()) << d.path << ": " << l.status.ToString();

  // The same pool by explicit device list and by guid.
  std::vector<std::string> paths;
  for (const auto& d : s.device_labels()) paths.push_back(d.path);
  auto again = Spa::OpenDevices(paths, std::to_string(s.pool_guid()));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->uberblock().txg, ub.txg);
}

INSTANTIATE_TEST_SUITE_P(Kinds, SpaPoolTest,
                         ::testing::Values("single", "mirror", "raidz1", "raidz2"));

TEST(SpaDamage, BadLabelAndBestUberblockFallBack) {
  NEED_POOLS();
  auto orig = Spa::OpenDir(g_dir + "/single", g_names["single"]);
  ASSERT_TRUE(orig.ok());
  const Uberblock best = (*orig)->uberblock();
  uint64_t second = 0;
  for (const auto& u : (*orig)->uberblocks())
    if (u.txg < best.txg) {
      second = u.txg;
      break;
    }
  ASSERT_GT(second, 0u);
  std::string dir = CopyPool("single", "ub");
  std::string dev = dir + "/d0";
  Scribble(dev, kVdevPhysOffset + 64, 16);  // label 0's nvlist
  uint64_t psize = P2Align(fs::file_size(dev), kVdevLabelSize);
  uint64_t slot = best.offset - VdevLabelOffset(psize, best.label);
  for (int l = 0; l < 4; l++) Scribble(dev, VdevLabelOffset(psize, l) + slot + 16, 8);

  auto spa = Spa::OpenDir(dir, g_names["single"]);
  ASSERT_TRUE(spa.ok()) << spa.status().ToString();
  EXPECT_EQ((*spa)->device_labels()[0].labels[0].status.code(), ECKSUM);
  EXPECT_TRUE((*spa)->device_labels()[0].labels[1].status.ok());
  EXPECT_EQ((*spa)->uberblock().txg, second);
  CheckMos(**spa);
}

TEST(SpaDamage, UnreadableMosFallsBackToOlderUberblock) {
  NEED_POOLS();
  std::string dir = CopyPool("single", "mos");
  auto orig = Spa::OpenDir(dir, g_names["single"]);
  ASSERT_TRUE(orig.ok());
  const BlkPtr bp = (*orig)->uberblock().rootbp;
  uint64_t txg = (*orig)->uberblock().txg;
  orig->reset();
  for (const Dva& d : bp.dva)
    if (d.asize()) Scribble(dir + "/d0", d.offset() + kVdevLabelStartSize, bp.psize());
  auto spa = Spa::OpenDir(dir, g_names["single"]);
  ASSERT_TRUE(spa.ok()) << spa.status().ToString();
  EXPECT_LT((*spa)->uberblock().txg, txg);
  CheckMos(**spa);
}

TEST(SpaDamage, MirrorSideIsRepairedAndNamed) {
  NEED_POOLS();
  std::string dir = CopyPool("mirror", "bad");
  auto clean = Spa::OpenDir(dir, g_names["mirror"]);
  ASSERT_TRUE(clean.ok());
  const BlkPtr bp = (*clean)->uberblock().rootbp;
  clean->reset();
  for (const Dva& d : bp.dva)
    if (d.asize()) Scribble(dir + "/d0", d.offset() + kVdevLabelStartSize, bp.psize());
  auto spa = Spa::OpenDir(dir, g_names["mirror"]);
  ASSERT_TRUE(spa.ok());
  ReadReport rep;
  auto r = (*spa)->Read(bp, &rep);
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(rep.errors.empty());
  EXPECT_EQ(rep.errors[0].device, dir + "/d0");
  EXPECT_EQ(rep.errors[0].code, ECKSUM);
  EXPECT_EQ(rep.errors[0].dva, 0);
  EXPECT_TRUE(rep.recovered);
}

TEST(SpaDamage, ScrubFindsDamageANormalReadSkips) {
  NEED_POOLS();
  // Mirror: the second side is bad; a normal read is served by the first side.
  std::string dir = CopyPool("mirror", "scrub");
  BlkPtr bp;
  {
    auto clean = Spa::OpenDir(dir, g_names["mirror"]);
    ASSERT_TRUE(clean.ok());
    bp = (*clean)->uberblock().rootbp;
  }
  Scribble(dir + "/d1", bp.dva[0].offset() + kVdevLabelStartSize, bp.psize());
  auto spa = Spa::OpenDir(dir, g_names["mirror"]);
  ASSERT_TRUE(spa.ok());
  ReadReport normal, scrub;
  ASSERT_TRUE((*spa)->Read(bp, &normal).ok());
  EXPECT_TRUE(normal.errors.empty());
  auto r = (*spa)->ScrubRead(bp, &scrub);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(scrub.errors.size(), 1u);
  EXPECT_EQ(scrub.errors[0].device, dir + "/d1");
  EXPECT_EQ(scrub.errors[0].dva, 0);
  EXPECT_EQ(scrub.errors[0].code, ECKSUM);

  // raidz1: the parity column of DVA[0] is bad; only a scrub reads parity.
  std::string rdir = CopyPool("raidz1", "scrub");
  Vdev* top;
  std::unique_ptr<Spa> rs;
  {
    auto clean = Spa::OpenDir(rdir, g_names["raidz1"]);
    ASSERT_TRUE(clean.ok());
    bp = (*clean)->uberblock().rootbp;
    top = (*clean)->top(0);
    auto m = RaidzMapAlloc(bp.dva[0].offset(), P2RoundUp(bp.psize(), 1ULL << top->ashift),
                           top->ashift, 4, 1);
    ASSERT_TRUE(m.ok());
    std::string dev = rdir + "/d" + std::to_string(m->col[0].devidx);
    Scribble(dev, m->col[0].offset + kVdevLabelStartSize, m->col[0].size);
    auto again = Spa::OpenDir(rdir, g_names["raidz1"]);
    ASSERT_TRUE(again.ok());
    rs = std::move(again).value();
    ReadReport n2, s2;
    ASSERT_TRUE(rs->Read(bp, &n2).ok());
    EXPECT_TRUE(n2.errors.empty());
    ASSERT_TRUE(rs->ScrubRead(bp, &s2).ok());
    ASSERT_EQ(s2.errors.size(), 1u);
    EXPECT_EQ(s2.errors[0].device, dev);
    EXPECT_NE(s2.errors[0].what.find("parity"), std::string::npos);
  }
}

// Damages `ncols` columns (data first, then parity) of every copy of the MOS objset block; raidz must rebuild it.
void RaidzDamage(const std::string& kind, int ncols) {
  std::string dir = CopyPool(kind, "bad");
  auto clean = Spa::OpenDir(dir, g_names[kind]);
  ASSERT_TRUE(clean.ok());
  Vdev* top = (*clean)->top(0);
  const BlkPtr bp = (*clean)->uberblock().rootbp;
  uint64_t ashift = top->ashift;
  uint64_t nparity = top->nparity;
  clean->reset();
  std::set<std::string> damaged;
  for (const Dva& d : bp.dva) {
    if (!d.asize()) continue;
    auto m = RaidzMapAlloc(d.offset(), P2RoundUp(bp.psize(), 1ULL << ashift), ashift, 4, nparity);
    ASSERT_TRUE(m.ok());
    int done = 0;
    std::vector<uint64_t> order;
    for (uint64_t c = m->firstdatacol; c < m->cols; c++) order.push_back(c);
    for (uint64_t c = 0; c < m->firstdatacol; c++) order.push_back(c);
    for (size_t i = 0; i < order.size() && done < ncols; i++, done++) {
      uint64_t c = order[i];
      std::string dev = dir + "/d" + std::to_string(m->col[c].devidx);
      Scribble(dev, m->col[c].offset + kVdevLabelStartSize, m->col[c].size);
      damaged.insert(dev);
    }
    ASSERT_EQ(done, ncols) << "block too small for the test";
  }
  auto spa = Spa::OpenDir(dir, g_names[kind]);
  ASSERT_TRUE(spa.ok()) << spa.status().ToString();
  ReadReport rep;
  auto r = (*spa)->Read(bp, &rep);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Load64(r->data() + 704, bp.little_endian()), 1u);
  ASSERT_FALSE(rep.errors.empty());
  for (const auto& e : rep.errors) {
    EXPECT_EQ(e.code, ECKSUM);
    EXPECT_EQ(e.dva, 0);  // rebuilt from parity, not from a ditto copy
    EXPECT_TRUE(damaged.count(e.device)) << e.device << " " << e.what;
  }
}

TEST(SpaDamage, Raidz1RebuildsABadColumn) {
  NEED_POOLS();
  RaidzDamage("raidz1", 1);
}
TEST(SpaDamage, Raidz2RebuildsTwoBadColumns) {
  NEED_POOLS();
  RaidzDamage("raidz2", 2);
}

TEST(SpaDamage, MissingDevicesCoveredByRedundancy) {
  NEED_POOLS();
  for (const char* kind : {"mirror", "raidz1", "raidz2"}) {
    std::string dir = CopyPool(kind, "missing");
    fs::remove(dir + "/d1");
    if (std::string(kind) == "raidz2") fs::remove(dir + "/d3");
    auto spa = Spa::OpenDir(dir, g_names[kind]);
    ASSERT_TRUE(spa.ok()) << kind << ": " << spa.status().ToString();
    EXPECT_TRUE((*spa)->top(0)->available());
    CheckMos(**spa);
  }
}

TEST(SpaDamage, TruncatedAndGarbageDevices) {
  NEED_POOLS();
  std::string dir = g_work + "/broken";
  fs::create_directories(dir);
  ASSERT_EQ(std::system(("head -c 300000 " + g_dir + "/single/d0 > " + dir + "/trunc").c_str()), 0);
  auto t = Spa::OpenDevices({dir + "/trunc"});
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("too small"), std::string::npos) << t.status().ToString();

  ASSERT_EQ(std::system(("head -c 8388608 /dev/urandom > " + dir + "/garbage").c_str()), 0);
  auto g = Spa::OpenDevices({dir + "/garbage"});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("no valid ZFS label"), std::string::npos)
      << g.status().ToString();

  // Only the first half of a 64M device: the front labels survive, the end ones are gone.
  ASSERT_EQ(std::system(("head -c 33554432 " + g_dir + "/single/d0 > " + dir + "/half").c_str()), 0);
  // The end labels are gone (their place now holds pool data); the front ones still work, and
  // whatever the pool needs beyond 32M is an error at read time, never a crash.
  auto h = Spa::OpenDevices({dir + "/half"});
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  const auto& hl = (*h)->device_labels()[0].labels;
  EXPECT_TRUE(hl[0].status.ok());
  EXPECT_FALSE(hl[2].status.ok());
  EXPECT_FALSE(hl[3].status.ok());
  ReadReport rep;
  auto far = (*h)->ReadRaw(0, 40 << 20, 4096, &rep);
  EXPECT_FALSE(far.ok());
  auto d = Spa::OpenDir(dir, "nosuchpool");
  EXPECT_FALSE(d.ok());
}

TEST(SpaceMap, DecodesEntries) {
  Bytes raw(32);
  // debug entry: action 0 (ALLOC), syncpass 1, txg 5
  StoreLE64(raw.data(), (1ULL << 63) | (0ULL << 60) | (1ULL << 50) | 5);
  // ALLOC offset 3 units, run 2 units
  StoreLE64(raw.data() + 8, (3ULL << 16) | (0ULL << 15) | 1);
  // FREE offset 3, run 1
  StoreLE64(raw.data() + 16, (3ULL << 16) | (1ULL << 15) | 0);
  SpaceMapSummary sum;
  auto e = DecodeSpaceMap(raw, 24, 1 << 21, 9, true, &sum);
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->size(), 3u);
  EXPECT_TRUE((*e)[0].debug);
  EXPECT_EQ((*e)[0].txg, 5u);
  EXPECT_EQ((*e)[0].syncpass, 1u);
  EXPECT_TRUE((*e)[1].alloc);
  EXPECT_EQ((*e)[1].offset, (1u << 21) + 3 * 512);
  EXPECT_EQ((*e)[1].run, 1024u);
  EXPECT_FALSE((*e)[2].alloc);
  EXPECT_EQ((*e)[2].run, 512u);
  EXPECT_EQ(sum.alloc_bytes, 512u);
  EXPECT_FALSE(DecodeSpaceMap(raw, 40, 0, 9, true).ok());
  EXPECT_FALSE(DecodeSpaceMap(raw, 12, 0, 9, true).ok());
}

}  // namespace
}  // namespace uzfs
