// Test helper: a pool on one sparse file in a fresh temporary directory, removed afterwards.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "libcore/pool/pool.h"

namespace uzfs {

// n bytes from a seeded generator, eight per draw (the same seed gives the same bytes).
inline Bytes RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < n; j++) b[i + j] = static_cast<uint8_t>(v >> (8 * j));
  }
  return b;
}

// A zero-filled device of `size` bytes at `path` in env (an in-memory Env's, say).
inline void MakeDevice(Env* env, const std::string& path, uint64_t size) {
  auto f = env->Open(path, OpenOptions{.write = true, .create = true});
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->WriteAt(size - 1, Bytes(1, 0)).ok());
}

// A file leaf of an nvroot.
inline NvList Leaf(const std::string& path) {
  NvList l;
  l.AddString("type", "file");
  l.AddString("path", path);
  return l;
}

class FilePoolTest : public ::testing::Test {
 protected:
  // Creates pool `name` on a file of `size` bytes (call from SetUp; ASSERTs on failure),
  // caching in `arc` when given, doing its I/O through `env` when given.
  void MakePool(const std::string& name, uint64_t size, Arc* arc = nullptr, Env* env = nullptr) {
    char tmpl[] = "/tmp/uzfs-pooltest.XXXXXX";
    ASSERT_NE(nullptr, mkdtemp(tmpl));
    dir_ = tmpl;
    dev_ = dir_ + "/d0";
    FILE* f = fopen(dev_.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fclose(f);
    ASSERT_EQ(0, truncate(dev_.c_str(), static_cast<off_t>(size)));
    PoolCreateSpec s;
    s.name = name;
    NvList root, leaf;
    root.AddString("type", "root");
    leaf.AddString("type", "file");
    leaf.AddString("path", dev_);
    root.AddNvListArray("children", {leaf});
    s.nvroot = root;
    s.arc = arc;
    s.env = env;
    auto p = Pool::Create(s);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    pool_ = std::move(p).value();
  }
  void TearDown() override {
    pool_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  // What a SIGKILL leaves: the pool dropped without export or sync, then imported again
  // (the intent log claimed; a filesystem's first use replays it). ASSERTs on failure.
  void CrashAndImport(const std::string& name) {
    pool_.reset();
    PoolImportSpec is;
    is.devices = {dev_};
    is.pool = name;
    is.force = true;
    auto p = Pool::Import(is);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    pool_ = std::move(p).value();
  }

  std::string dir_, dev_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace uzfs
