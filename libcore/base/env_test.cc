#include <gtest/gtest.h>

#include <cstdlib>
#include <unistd.h>

#include "libcore/base/env.h"

namespace uzfs {
namespace {

Bytes Pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>(seed + i * 31);
  return b;
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

}  // namespace
}  // namespace uzfs
