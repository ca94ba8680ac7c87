#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/mman.h>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "libcore/base/env.h"
#include "libcore/base/env_file.h"

namespace uzfs {
namespace {

Bytes Pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>(seed + i * 31);
  return b;
}

// Direct I/O reads into and writes from Bytes in place only when their memory is aligned.
TEST(Bytes, APageOrMoreStartsOnAPage) {
  for (size_t n : {4096, 4097, 12288, 131072, 1 << 20}) {
    Bytes b(n);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 4096, 0u) << n;
    b.resize(3 * n);  // reallocated: still aligned
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 4096, 0u) << n;
  }
  Bytes grown;
  for (int i = 0; i < 10000; i++) grown.push_back(static_cast<uint8_t>(i));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(grown.data()) % 4096, 0u);
  EXPECT_EQ(grown[9999], static_cast<uint8_t>(9999));
}

TEST(MemEnv, ReadWriteAndPastEnd) {
  auto env = NewMemEnv();
  EXPECT_EQ(env->Open("/d/x", {}).status().code(), ENOENT);
  auto f = env->Open("/d/x", OpenOptions{.write = true, .create = true});
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->WriteAt(100, Pattern(50, 1)).ok());
  EXPECT_EQ(*(*f)->Size(), 150u);
  Bytes got(50);
  ASSERT_TRUE((*f)->ReadAt(100, got).ok());
  EXPECT_EQ(got, Pattern(50, 1));
  EXPECT_EQ((*f)->ReadAt(120, got).code(), ENXIO);  // would run past the end
  ASSERT_TRUE((*f)->WriteAt(0, ByteSpan()).ok());   // an empty write is fine
  auto names = env->ListDir("/d");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"x"});
}

TEST(PosixEnv, FileAndDirectIo) {
  char tmpl[] = "/tmp/uzfs-env-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/f";
  {
    auto f = PosixEnv()->Open(path, OpenOptions{.write = true, .create = true});
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->WriteAt(0, Pattern(16384, 9)).ok());
    ASSERT_TRUE((*f)->Sync().ok());
  }
  auto f = PosixEnv()->Open(path, OpenOptions{.direct = true});
  ASSERT_TRUE(f.ok());
  Bytes odd(1000);  // unaligned offset, length and (likely) memory: goes through a bounce buffer
  ASSERT_TRUE((*f)->ReadAt(4097, odd).ok());
  Bytes want = Pattern(16384, 9);
  EXPECT_EQ(odd, Bytes(want.begin() + 4097, want.begin() + 5097));
  EXPECT_EQ(*(*f)->Size(), 16384u);
  Bytes past(10);
  EXPECT_FALSE((*f)->ReadAt(16380, past).ok());
  EXPECT_EQ(PosixEnv()->Open(std::string(tmpl) + "/missing", {}).status().code(), ENOENT);
  auto names = PosixEnv()->ListDir(tmpl);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"f"});
  unlink(path.c_str());
  rmdir(tmpl);
}

// A directory for a test under base, removed with what is in it at the end of the scope.
class TempDir {
 public:
  explicit TempDir(const std::string& base) {
    std::string t = base + "/uzfs-env-XXXXXX";
    if (mkdtemp(t.data())) path_ = t;
  }
  ~TempDir() {
    if (!path_.empty()) std::system(("rm -rf '" + path_ + "'").c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Whether files under dir take O_DIRECT and are not tmpfs's (which Env does not keep direct).
bool DirectCapable(const std::string& dir) {
  struct statfs fs;
  if (statfs(dir.c_str(), &fs) != 0 || fs.f_type == TMPFS_MAGIC) return false;
  std::string probe = dir + "/probe";
  int fd = open(probe.c_str(), O_RDWR | O_CREAT | O_DIRECT, 0600);
  if (fd >= 0) close(fd);
  unlink(probe.c_str());
  return fd >= 0;
}

// File vdevs (one copy: the ARC, not also the host's page cache): a file on a file system
// that does direct I/O is opened O_DIRECT and kept so; unaligned offsets, lengths and memory
// round-trip through the bounce buffer, the bytes around an unaligned write stay as they
// were, and concurrent unaligned writes into different sectors all land.
// Pages of a file in the host's page cache (mincore over a mapping).
size_t CachedPages(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return SIZE_MAX;
  struct stat st;
  ::fstat(fd, &st);
  size_t len = static_cast<size_t>(st.st_size), page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  void* m = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) return SIZE_MAX;
  std::vector<unsigned char> vec((len + page - 1) / page);
  size_t n = 0;
  if (::mincore(m, len, vec.data()) == 0)
    for (unsigned char c : vec) n += c & 1;
  ::munmap(m, len);
  return n;
}

// A direct file vdev's writes go through the page cache (fast) and leave it at Sync; reads
// never enter it, and see every write, synced or not.
TEST(PosixEnv, FileVdevWritesLeaveThePageCacheAtSync) {
  TempDir dir("/var/tmp");
  ASSERT_FALSE(dir.path().empty());
  if (!DirectCapable(dir.path())) GTEST_SKIP() << "/var/tmp does not take O_DIRECT";
  std::string path = dir.path() + "/vdev";
  auto f = PosixEnv()->Open(path, OpenOptions{.write = true, .create = true, .direct = true});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  Bytes data = Pattern(8 << 20, 5);
  ASSERT_TRUE((*f)->WriteAt(0, data).ok());
  Bytes back(data.size());
  ASSERT_TRUE((*f)->ReadAt(0, back).ok());  // before any Sync: a direct read sees the write
  EXPECT_EQ(data, back);
  ASSERT_TRUE((*f)->Sync().ok());
  EXPECT_EQ(0u, CachedPages(path));
  ASSERT_TRUE((*f)->ReadAt(0, back).ok());
  EXPECT_EQ(data, back);
  EXPECT_EQ(0u, CachedPages(path));  // the read did not fill it
}

TEST(PosixEnv, DurableWritesLeaveTheOtherDirtyPagesAlone) {
  TempDir dir("/var/tmp");
  ASSERT_FALSE(dir.path().empty());
  if (!DirectCapable(dir.path())) GTEST_SKIP() << "/var/tmp does not take O_DIRECT";
  std::string path = dir.path() + "/vdev";
  auto f = PosixEnv()->Open(path, OpenOptions{.write = true, .create = true, .direct = true});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  // A txg's writes, buffered and not yet flushed...
  Bytes bulk = Pattern(4 << 20, 9);
  ASSERT_TRUE((*f)->WriteAt(0, bulk).ok());
  const uint64_t dirty = CachedPages(path);
  EXPECT_GE(dirty, 1000u);
  // ...and an intent log block made durable meanwhile (from memory one byte off alignment):
  // it reads back, and the bulk's pages were neither written back and dropped (a Sync) nor
  // joined by the log block's.
  Bytes log = Pattern(12288, 4);
  Bytes shifted(log.size() + 1);
  std::copy(log.begin(), log.end(), shifted.begin() + 1);
  ASSERT_TRUE((*f)->WriteAtDurable(8 << 20, ByteSpan(shifted).subspan(1)).ok());
  EXPECT_EQ(dirty, CachedPages(path));
  Bytes back(log.size());
  ASSERT_TRUE((*f)->ReadAt(8 << 20, back).ok());
  EXPECT_EQ(log, back);
  // An unaligned durable write still lands (through WriteAt and Sync).
  Bytes odd = Pattern(1000, 6);
  ASSERT_TRUE((*f)->WriteAtDurable(12345, odd).ok());
  Bytes oback(odd.size());
  ASSERT_TRUE((*f)->ReadAt(12345, oback).ok());
  EXPECT_EQ(odd, oback);
}

TEST(PosixEnv, FileVdevOnADirectCapableFileSystemIsDirect) {
  TempDir dir("/var/tmp");
  ASSERT_FALSE(dir.path().empty());
  if (!DirectCapable(dir.path())) GTEST_SKIP() << "/var/tmp does not take O_DIRECT";
  std::string path = dir.path() + "/vdev";
  auto f = PosixEnv()->Open(path, OpenOptions{.write = true, .create = true, .direct = true});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_TRUE((*f)->direct());  // F_GETFL of its descriptor has O_DIRECT
  Bytes base = Pattern(1 << 20, 3);
  ASSERT_TRUE((*f)->WriteAt(0, base).ok());  // Bytes of a page or more: aligned, in place
  Bytes odd = Pattern(5000, 7);
  ASSERT_TRUE((*f)->WriteAt(4097 + 512, odd).ok());
  std::copy(odd.begin(), odd.end(), base.begin() + 4097 + 512);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; t++)
    ts.emplace_back([&, t] {
      Bytes b = Pattern(700, static_cast<uint8_t>(40 + t));
      EXPECT_TRUE((*f)->WriteAt(65536 * (t + 2) + 100, b).ok());
    });
  for (auto& t : ts) t.join();
  for (int t = 0; t < 4; t++) {
    Bytes b = Pattern(700, static_cast<uint8_t>(40 + t));
    std::copy(b.begin(), b.end(), base.begin() + 65536 * (t + 2) + 100);
  }
  ASSERT_TRUE((*f)->Sync().ok());
  Bytes all(base.size());
  ASSERT_TRUE((*f)->ReadAt(0, all).ok());
  EXPECT_EQ(all, base);
  Bytes part(3000);
  ASSERT_TRUE((*f)->ReadAt(12345, part).ok());
  EXPECT_EQ(part, Bytes(base.begin() + 12345, base.begin() + 15345));
  // An aligned range into memory off alignment: through the bounce buffer.
  Bytes shifted(65536 + 1);
  ASSERT_TRUE((*f)->ReadAt(65536, MutByteSpan(shifted).subspan(1)).ok());
  EXPECT_EQ(Bytes(shifted.begin() + 1, shifted.end()), Bytes(base.begin() + 65536, base.begin() + 131072));
  // Without direct asked, the page cache.
  auto g = PosixEnv()->Open(path, OpenOptions{});
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE((*g)->direct());
}

// WriteAtV writes its parts back to back, as one WriteAt of their concatenation: through
// pwritev (more parts than one call takes, IOV_MAX, and parts of every size), and through
// the default one-WriteAt-per-part of other files.
TEST(PosixEnv, VectoredWritesLandAsOneWriteOfTheirConcatenation) {
  TempDir dir("/var/tmp");
  ASSERT_FALSE(dir.path().empty());
  auto check = [&](File& f) {
    std::vector<Bytes> owned;
    Bytes want;
    for (int i = 0; i < 1500; i++) {
      owned.push_back(Pattern(i % 7 == 0 ? 8192 : 512 * (1 + i % 3), static_cast<uint8_t>(i)));
      want.insert(want.end(), owned.back().begin(), owned.back().end());
    }
    owned.push_back(Bytes());  // an empty part writes nothing
    std::vector<ByteSpan> parts(owned.begin(), owned.end());
    ASSERT_TRUE(f.WriteAtV(1 << 20, parts).ok());
    ASSERT_TRUE(f.Sync().ok());
    Bytes got(want.size());
    ASSERT_TRUE(f.ReadAt(1 << 20, got).ok());
    EXPECT_EQ(got, want);
  };
  auto f = PosixEnv()->Open(dir.path() + "/vdev", OpenOptions{.write = true, .create = true, .direct = true});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  check(**f);
  auto g = PosixEnv()->Open(dir.path() + "/plain", OpenOptions{.write = true, .create = true});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  check(**g);
  auto menv = NewMemEnv();
  auto m = menv->Open("/mem", OpenOptions{.write = true, .create = true});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  check(**m);
}

// A pool whose ashift is finer than what direct I/O on the file takes is not opened direct
// (each write would be a read-modify-write of a sector, and two at once into one sector race).
TEST(PosixEnv, DirectNeedsTheCallersFinestIo) {
  TempDir dir("/var/tmp");
  ASSERT_FALSE(dir.path().empty());
  if (!DirectCapable(dir.path())) GTEST_SKIP() << "/var/tmp does not take O_DIRECT";
  std::string path = dir.path() + "/vdev";
  OpenOptions o{.write = true, .create = true, .direct = true, .direct_min_io = 4096};
  auto f = PosixEnv()->Open(path, o);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE((*f)->direct());  // every common file system's direct I/O takes 4K blocks
  o.direct_min_io = 1;          // no file system does direct I/O byte by byte
  auto g = PosixEnv()->Open(path, o);
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE((*g)->direct());
  ASSERT_TRUE((*g)->WriteAt(3, Pattern(10, 1)).ok());
  Bytes b(10);
  ASSERT_TRUE((*g)->ReadAt(3, b).ok());
  EXPECT_EQ(b, Pattern(10, 1));
}

// tmpfs (/dev/shm): its pages are the file itself, so the file is opened through the page
// cache (O_DIRECT either refused, before Linux 6.6, or a copy like any other), and works.
TEST(PosixEnv, FileVdevOnTmpfsFallsBackToThePageCache) {
  struct statfs fs;
  if (statfs("/dev/shm", &fs) != 0 || fs.f_type != TMPFS_MAGIC) GTEST_SKIP() << "no tmpfs at /dev/shm";
  TempDir dir("/dev/shm");
  ASSERT_FALSE(dir.path().empty());
  std::string path = dir.path() + "/vdev";
  auto f = PosixEnv()->Open(path, OpenOptions{.write = true, .create = true, .direct = true});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_FALSE((*f)->direct());
  ASSERT_TRUE((*f)->WriteAt(1, Pattern(9000, 5)).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  Bytes b(9000);
  ASSERT_TRUE((*f)->ReadAt(1, b).ok());
  EXPECT_EQ(b, Pattern(9000, 5));
  EXPECT_EQ(*(*f)->Size(), 9001u);
}

TEST(FaultEnv, FailNthIoOnceAndSticky) {
  auto mem = NewMemEnv();
  FaultEnv env(mem.get());
  auto f = env.Open("/x", OpenOptions{.write = true, .create = true});
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->WriteAt(0, Pattern(64, 2)).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  Bytes b(8);
  env.FailNthIo(2);
  EXPECT_TRUE((*f)->ReadAt(0, b).ok());
  EXPECT_EQ((*f)->ReadAt(0, b).code(), EIO);
  EXPECT_TRUE((*f)->ReadAt(0, b).ok());  // only that one
  env.FailNthIo(1, /*sticky=*/true);
  EXPECT_EQ((*f)->ReadAt(0, b).code(), EIO);
  EXPECT_EQ((*f)->WriteAt(0, b).code(), EIO);
  env.FailNthIo(0);
  EXPECT_TRUE((*f)->ReadAt(0, b).ok());
}

TEST(FaultEnv, FlipBitsOnRead) {
  auto mem = NewMemEnv();
  FaultEnv env(mem.get());
  auto f = env.Open("/x", OpenOptions{.write = true, .create = true});
  ASSERT_TRUE((*f)->WriteAt(0, Pattern(32, 3)).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  env.FlipBitsOnRead("/x", 10, 4, 2);
  Bytes b(32);
  ASSERT_TRUE((*f)->ReadAt(0, b).ok());
  Bytes want = Pattern(32, 3);
  for (int i = 10; i < 14; i++) want[i] ^= 4;
  EXPECT_EQ(b, want);
}

TEST(FaultEnv, PowerCutDropsOnlyUnsyncedWrites) {
  auto mem = NewMemEnv();
  FaultEnv env(mem.get());
  auto f = env.Open("/x", OpenOptions{.write = true, .create = true});
  ASSERT_TRUE((*f)->WriteAt(0, Pattern(16, 1)).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->WriteAt(0, Pattern(16, 7)).ok());  // not synced
  Bytes b(16);
  ASSERT_TRUE((*f)->ReadAt(0, b).ok());
  EXPECT_EQ(b, Pattern(16, 7));  // visible before the cut
  env.DropUnsyncedWrites();
  ASSERT_TRUE((*f)->ReadAt(0, b).ok());
  EXPECT_EQ(b, Pattern(16, 1));
  ASSERT_TRUE((*f)->WriteAt(0, Pattern(16, 9)).ok());  // after the cut: lost too
  ASSERT_TRUE((*f)->Sync().ok());
  auto base = mem->Open("/x", {});
  ASSERT_TRUE((*base)->ReadAt(0, b).ok());
  EXPECT_EQ(b, Pattern(16, 1));
}

// Rename replaces the target in one step (the fence book's and the cache file's rewrite);
// Remove takes the name away; both name the missing file with ENOENT.
void RenameReplacesAndRemoveRemoves(Env* env, const std::string& dir) {
  auto write = [&](const std::string& p, uint8_t seed) {
    auto f = env->Open(p, OpenOptions{.write = true, .create = true});
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE((*f)->WriteAt(0, Pattern(64, seed)).ok());
    ASSERT_TRUE((*f)->Sync().ok());
  };
  write(dir + "/book", 1);
  write(dir + "/book.tmp", 2);
  ASSERT_TRUE(env->Rename(dir + "/book.tmp", dir + "/book").ok());
  EXPECT_FALSE(env->Exists(dir + "/book.tmp"));
  auto f = env->Open(dir + "/book", {});
  ASSERT_TRUE(f.ok());
  Bytes got(64);
  ASSERT_TRUE((*f)->ReadAt(0, got).ok());
  EXPECT_EQ(got, Pattern(64, 2));
  EXPECT_EQ(env->Rename(dir + "/book.tmp", dir + "/book").code(), ENOENT);
  ASSERT_TRUE(env->Remove(dir + "/book").ok());
  EXPECT_FALSE(env->Exists(dir + "/book"));
  EXPECT_EQ(env->Remove(dir + "/book").code(), ENOENT);
}

TEST(MemEnv, RenameAndRemove) {
  auto env = NewMemEnv();
  RenameReplacesAndRemoveRemoves(env.get(), "/d");
}

TEST(PosixEnv, RenameAndRemove) {
  char tmpl[] = "/tmp/uzfs-env-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  RenameReplacesAndRemoveRemoves(PosixEnv(), tmpl);
  ::rmdir(tmpl);
}

// An unsynced write goes with its file's new name: the power cut drops it there.
TEST(FaultEnv, RenameCarriesUnsyncedWrites) {
  auto mem = NewMemEnv();
  FaultEnv env(mem.get());
  RenameReplacesAndRemoveRemoves(&env, "/d");
  auto f = env.Open("/d/a", OpenOptions{.write = true, .create = true});
  ASSERT_TRUE((*f)->WriteAt(0, Pattern(16, 1)).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->WriteAt(0, Pattern(16, 5)).ok());  // not synced
  ASSERT_TRUE(env.Rename("/d/a", "/d/b").ok());
  Bytes b(16);
  auto g = env.Open("/d/b", {});
  ASSERT_TRUE((*g)->ReadAt(0, b).ok());
  EXPECT_EQ(b, Pattern(16, 5));
  env.DropUnsyncedWrites();
  ASSERT_TRUE((*g)->ReadAt(0, b).ok());
  EXPECT_EQ(b, Pattern(16, 1));
}


// WriteFileAtomically: a longer leftover temporary file does not leak into the new file; the
// write is synced before the rename, so a power cut after it keeps the new contents whole.
TEST(FaultEnv, WriteFileAtomicallyReplacesWhole) {
  auto mem = NewMemEnv();
  FaultEnv env(mem.get());
  ASSERT_TRUE(WriteFileAtomically(&env, "/c", Pattern(32, 1)).ok());
  {
    auto t = env.Open("/c.tmp", OpenOptions{.write = true, .create = true});  // a crash's leftover
    ASSERT_TRUE((*t)->WriteAt(0, Pattern(64, 9)).ok());
  }
  ASSERT_TRUE(WriteFileAtomically(&env, "/c", Pattern(16, 2)).ok());
  env.DropUnsyncedWrites();
  auto g = env.Open("/c", {});
  ASSERT_TRUE(g.ok());
  auto size = (*g)->Size();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(16u, *size);
  Bytes b(16);
  ASSERT_TRUE((*g)->ReadAt(0, b).ok());
  EXPECT_EQ(b, Pattern(16, 2));
  EXPECT_FALSE(env.Open("/c.tmp", {}).ok());
}

}  // namespace
}  // namespace uzfs
