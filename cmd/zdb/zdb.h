// zdb: display pool internals, reading devices directly (never through zfsd).
// One file per kind of dump; main.cc holds the option table and the dispatch.
// Output follows zfs-fuse 0.7.0's / OpenZFS's zdb line for line where it can, so the test
// suite compares our fields with the reference implementation's.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace uzfs::zdb {

// zfsd's cache file with its default --state-dir; -U names another (zfsd --state-dir DIR
// keeps DIR/zpool.cache).
inline constexpr const char* kDefaultCacheFile = "/var/lib/uzfs/zpool.cache";

// Exit statuses.
inline constexpr int kExitOk = 0;
inline constexpr int kExitErrors = 1;  // the pool was read but errors were found / cannot open
inline constexpr int kExitUsage = 2;

struct Options {
  int b = 0, c = 0, d = 0, h = 0, i = 0, l = 0, m = 0, u = 0, C = 0, R = 0, v = 0;
  bool e = false;
  std::vector<std::string> search_dirs;  // -p
  std::string cachefile;                 // -U (empty: kDefaultCacheFile)
  std::string copy_dataset;              // -r DATASET PATH DEST
  bool copy = false;
  std::vector<std::string> args;         // POOL [OBJECT...] / DEVICE / vdev:offset:size specs
};

// Each returns the process exit status.
int DumpLabel(const Options& o, const std::string& device);        // -l [-u]
int DumpPool(const Options& o);                                    // -C -u -d -b -c -m -h
int ReadBlockCmd(const Options& o);                                // -R POOL spec...
int CopyFileCmd(const Options& o);                                 // -r DATASET PATH DEST

// "zdb: " + message on stderr.
void Fatal(const std::string& msg);

// Number formatting as ZFS's nicenum(): 1023 -> "1023", 1024 -> "1K", 1536 -> "1.50K",
// 10752 -> "10.5K", 0 -> "0".
std::string NiceNum(uint64_t n);

}  // namespace uzfs::zdb
