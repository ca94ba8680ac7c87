// The fixture and helpers of the FUSE adapter's tests (fuse_fs_test.cc, fuse_snapdir_test.cc,
// fuse_passthrough_test.cc, one binary: uzfs_fuse_test): a filesystem of a file pool mounted
// through /dev/fuse (needs root and /dev/fuse; skipped otherwise) and used with ordinary
// POSIX calls.
#pragma once

#include "daemon/fuse_fs.h"
#include "daemon/fuse_passthrough.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "libcore/dsl/dsl.h"
#include "libcore/pool/pool_test_util.h"
#include "libcore/spa/spa.h"
#include "libcore/zpl/zpl.h"

namespace uzfs {

inline bool FuseUsable() { return geteuid() == 0 && access("/dev/fuse", R_OK | W_OK) == 0; }

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

class FuseTest : public FilePoolTest {
 protected:
  void SetUp() override {
    if (!FuseUsable()) GTEST_SKIP() << "needs root and /dev/fuse";
    MakePool("ft", 512 << 20);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(pool_->CreateFilesystem("ft/fs", {}).ok());
    mnt_ = dir_ + "/mnt";
    MountIt();
  }
  void MountIt(const MountOptions& o = {}) {
    auto m = FuseMount::Mount(pool_.get(), "ft/fs", mnt_, o);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    mount_ = std::move(m).value();
  }
  void TearDown() override {
    if (mount_) {
      EXPECT_TRUE(mount_->Unmount(true).ok());
    }
    mount_.reset();
    FilePoolTest::TearDown();
  }
  std::string P(const std::string& rel) { return mnt_ + "/" + rel; }

  std::string mnt_;
  std::unique_ptr<FuseMount> mount_;
};


// The names in a directory, "." and ".." included, sorted.
inline std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) out.push_back(e->d_name);
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace uzfs
