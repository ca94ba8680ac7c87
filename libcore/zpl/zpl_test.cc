// The object layers (dmu, zap, dsl, zpl) on a pool zfs-fuse wrote at test time
// (tests/lib/mkpools_objects.sh): names, contents, links, fat ZAP hashes and object counts
// must be what zfs-fuse's own tools reported while writing it.
#include "libcore/zpl/zpl.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "libcore/dsl/dsl.h"
#include "libcore/spa/spa.h"

namespace uzfs {
namespace {

namespace fs = std::filesystem;

std::string g_dir, g_why, g_pool;

std::string Slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Built once per version of the builder script and shared by every test process (ctest
// runs each test alone); a lock file makes concurrent processes wait for one build.
class ObjPool : public ::testing::Environment {
 public:
  void SetUp() override {
    fs::path script = fs::path(UZFS_TESTDATA).parent_path() / "lib/mkpools_objects.sh";
    std::error_code ec;
    auto stamp = fs::last_write_time(script, ec).time_since_epoch().count();
    std::string shared = "/tmp/uzfs-objpool-" + std::to_string(getuid()) + "-" +
                         std::to_string(fs::file_size(script, ec)) + "-" + std::to_string(stamp);
    int lock = open("/tmp/uzfs-objpool.lock", O_CREAT | O_RDWR, 0644);
    if (lock >= 0) flock(lock, LOCK_EX);
    if (!fs::exists(shared + "/poolname")) {
      std::string tmp = shared + ".tmp";
      fs::remove_all(tmp, ec);
      fs::create_directories(tmp);
      int rc = std::system((script.string() + " " + tmp + " >" + tmp + ".log 2>&1").c_str());
      if (rc != 0) {
        if (!(WIFEXITED(rc) && WEXITSTATUS(rc) == 77)) g_why = "pool builder failed: " + Slurp(tmp + ".log");
      } else {
        fs::rename(tmp, shared, ec);
      }
    }
    if (lock >= 0) close(lock);
    if (g_why.empty() && fs::exists(shared + "/poolname")) {
      g_dir = shared;
      g_pool = Slurp(shared + "/poolname");
      g_pool.erase(g_pool.find_last_not_of('\n') + 1);
    }
  }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new ObjPool);

#define NEED_POOL()                                                      \
  do {                                                                   \
    if (!g_why.empty()) FAIL() << g_why;                                 \
    if (g_dir.empty()) GTEST_SKIP() << "zfs-fuse is not installed";      \
  } while (0)

struct Opened {
  std::unique_ptr<Spa> spa;
  std::unique_ptr<DslPool> dp;
};

Opened OpenPool() {
  Opened o;
  auto spa = Spa::OpenDir(g_dir + "/pool", g_pool);
  EXPECT_TRUE(spa.ok()) << spa.status().ToString();
  if (!spa.ok()) return o;
  o.spa = std::move(*spa);
  auto dp = DslPool::Open(o.spa.get(), o.spa->uberblock().rootbp, o.spa->name());
  EXPECT_TRUE(dp.ok()) << dp.status().ToString();
  if (dp.ok()) o.dp = std::move(*dp);
  return o;
}

std::string Hex(const uint8_t* d, size_t n) {
  static const char* k = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; i++) s += std::string{k[d[i] >> 4], k[d[i] & 15]};
  return s;
}

TEST(ObjectLayers, DatasetNamesAreZfsList) {
  NEED_POOL();
  Opened o = OpenPool();
  ASSERT_TRUE(o.dp);
  auto all = o.dp->ListAll();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  std::set<std::string> ours, theirs;
  for (const auto& d : *all) ours.insert(d.name);
  std::istringstream in(Slurp(g_dir + "/zfs-list"));
  for (std::string line; std::getline(in, line);) theirs.insert(line);
  EXPECT_EQ(ours, theirs);
  EXPECT_FALSE(o.dp->Resolve(g_pool + "/nosuch").ok());
  auto snap = o.dp->Resolve(g_pool + "/fs@s1");
  ASSERT_TRUE(snap.ok());
  EXPECT_TRUE(snap->snapshot);
}

TEST(ObjectLayers, EveryFileReadsBackWithItsSha256) {
  NEED_POOL();
  Opened o = OpenPool();
  ASSERT_TRUE(o.dp);
  auto ds = o.dp->Resolve(g_pool + "/fs");
  ASSERT_TRUE(ds.ok());
  auto os = o.dp->OpenObjset(*ds);
  ASSERT_TRUE(os.ok());
  auto zpl = Zpl::Open(**os);
  ASSERT_TRUE(zpl.ok());
  EXPECT_EQ((*zpl)->version(), 4u);
  std::istringstream in(Slurp(g_dir + "/manifest"));
  int files = 0;
  for (std::string sum, path; in >> sum;) {
    uint64_t size;
    in >> size >> path;
    // Files of the child dataset gz live in that dataset, not under fs's mountpoint dir.
    std::unique_ptr<ObjSet> child;
    Zpl* z = zpl->get();
    std::unique_ptr<Zpl> childzpl;
    std::string rel = path;
    if (path.rfind("gz/", 0) == 0) {
      auto cds = o.dp->Resolve(g_pool + "/fs/gz");
      ASSERT_TRUE(cds.ok());
      auto cos = o.dp->OpenObjset(*cds);
      ASSERT_TRUE(cos.ok());
      child = std::move(*cos);
      auto cz = Zpl::Open(*child);
      ASSERT_TRUE(cz.ok());
      childzpl = std::move(*cz);
      z = childzpl.get();
      rel = path.substr(3);
    }
    auto obj = z->Lookup(rel);
    ASSERT_TRUE(obj.ok()) << path << ": " << obj.status().ToString();
    auto st = z->Stat(*obj);
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->size, size) << path;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    uint64_t pos = 0;
    auto t0 = std::chrono::steady_clock::now();
    Status s = z->ForEachExtent(*obj, [&](uint64_t off, ByteSpan data) -> Status {
      static const Bytes zeros(1 << 20, 0);
      while (pos < off) {  // the hole before this extent hashes as zeros
        size_t n = std::min<uint64_t>(zeros.size(), off - pos);
        EVP_DigestUpdate(ctx, zeros.data(), n);
        pos += n;
      }
      EVP_DigestUpdate(ctx, data.data(), data.size());
      pos += data.size();
      return Status::Ok();
    });
    ASSERT_TRUE(s.ok()) << path << ": " << s.ToString();
    static const Bytes zeros(1 << 20, 0);
    while (pos < size) {
      size_t n = std::min<uint64_t>(zeros.size(), size - pos);
      EVP_DigestUpdate(ctx, zeros.data(), n);
      pos += n;
    }
    uint8_t digest[32];
    EVP_DigestFinal_ex(ctx, digest, nullptr);
    EVP_MD_CTX_free(ctx);
    EXPECT_EQ(Hex(digest, 32), sum) << path;
    if (path == "sparse") {
      // Only the allocated block is read: the walk itself must be quick.
      EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
    }
    if (size < (1 << 20)) {  // ReadFile agrees with the extent walk
      auto whole = z->ReadFile(*obj, 0, size);
      ASSERT_TRUE(whole.ok());
      SHA256(whole->data(), whole->size(), digest);
      EXPECT_EQ(Hex(digest, 32), sum) << path;
    }
    files++;
  }
  EXPECT_EQ(files, 305);
}

TEST(ObjectLayers, FatZapHashesNamesAndLinks) {
  NEED_POOL();
  Opened o = OpenPool();
  ASSERT_TRUE(o.dp);
  auto ds = o.dp->Resolve(g_pool + "/fs");
  auto os = o.dp->OpenObjset(*ds);
  ASSERT_TRUE(os.ok());
  auto zpl = Zpl::Open(**os);
  ASSERT_TRUE(zpl.ok());
  auto dir = (*zpl)->Lookup("fat");
  ASSERT_TRUE(dir.ok());
  auto zap = Zap::Open(**os, *dir);
  ASSERT_TRUE(zap.ok());
  EXPECT_FALSE(zap->micro());  // names of 50+ bytes need a fat ZAP
  std::set<std::string> names, want;
  for (const ZapEntry& e : zap->entries()) {
    names.insert(e.name);
    // zfs-fuse stored each entry's hash in the leaf: ours must agree for every name.
    EXPECT_EQ(ZapHash(zap->salt(), e.name), e.hash) << e.name;
  }
  std::istringstream in(Slurp(g_dir + "/names"));
  for (std::string n; std::getline(in, n);) want.insert(n);
  EXPECT_EQ(names, want);
  EXPECT_EQ(zap->hdr_num_entries, want.size());

  std::istringstream links(Slurp(g_dir + "/links"));
  std::string shortl, longl;
  std::getline(links, shortl);
  std::getline(links, longl);
  auto s = (*zpl)->Lookup("shortlink");
  auto l = (*zpl)->Lookup("longlink");
  ASSERT_TRUE(s.ok() && l.ok());
  EXPECT_EQ(*(*zpl)->ReadLink(*s), shortl);  // target in the bonus
  EXPECT_EQ(*(*zpl)->ReadLink(*l), longl);   // target in a data block (> 56 bytes)
  auto h1 = (*zpl)->Lookup("hard1"), h2 = (*zpl)->Lookup("hard2");
  ASSERT_TRUE(h1.ok() && h2.ok());
  EXPECT_EQ(*h1, *h2);
  EXPECT_EQ((*zpl)->Stat(*h1)->links, 2u);
  EXPECT_EQ((*zpl)->Lookup("nosuch").status().code(), ENOENT);
  EXPECT_EQ((*zpl)->Lookup("hard1/x").status().code(), ENOTDIR);
}

TEST(ObjectLayers, SnapshotKeepsOldContentsAndObjectCountsMatchFill) {
  NEED_POOL();
  Opened o = OpenPool();
  ASSERT_TRUE(o.dp);
  auto snap = o.dp->Resolve(g_pool + "/fs@s1");
  ASSERT_TRUE(snap.ok());
  auto os = o.dp->OpenObjset(*snap);
  ASSERT_TRUE(os.ok());
  auto zpl = Zpl::Open(**os);
  ASSERT_TRUE(zpl.ok());
  auto h = (*zpl)->Lookup("hard1");
  ASSERT_TRUE(h.ok());
  auto data = (*zpl)->ReadFile(*h, 0, 100);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(std::string(data->begin(), data->end()), "hi\n");  // before "after" was written
  auto all = o.dp->ListAll();
  ASSERT_TRUE(all.ok());
  for (const DatasetInfo& d : all.value()) {
    auto dos = o.dp->OpenObjset(d);
    ASSERT_TRUE(dos.ok());
    uint64_t obj = 0, count = 0;
    for (;;) {
      auto next = (*dos)->NextObject(&obj);
      ASSERT_TRUE(next.ok());
      if (!*next) break;
      count++;
    }
    EXPECT_EQ(count, (*dos)->rootbp().fill) << d.name;
  }
}

}  // namespace
}  // namespace uzfs
