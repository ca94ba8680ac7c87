// Test helper: a pool on one sparse file in a fresh temporary directory, removed afterwards.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "libcore/pool/pool.h"

namespace uzfs {

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

  std::string dir_, dev_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace uzfs
