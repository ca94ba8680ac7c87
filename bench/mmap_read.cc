// uzfs_mmap_read: one sequential read of a whole file through a shared read-only mapping, for
// bench/mmap_bench.sh (a benchmark tool, not a test).
//
//   uzfs_mmap_read (--libzfs|--posix) [--hold SECONDS] [--ready FILE] FILE
//   uzfs_mmap_read (--libzfs|--posix) --msync SECONDS FILE
//
// --libzfs maps FILE with libzfs's file API (uzfs_open + uzfs_mmap: the mapping is zfsd's ARC);
// --posix with open(2) + mmap(2) MAP_SHARED PROT_READ (ext4, a zfs-fuse mount, a uzfs FUSE
// mount). Every byte is read once, in order, as 64-bit words added up (the sum is printed, so
// the compiler cannot drop the loads). Prints one line on standard output:
//
//   BYTES SECONDS MB/S CHECKSUM
//
// SECONDS runs from the open to the last byte read (open, map and every page fault included),
// MB/s is BYTES / 2^20 / SECONDS (fio's unit, as fs_bench.sh prints it), CHECKSUM the sum of
// the little-endian 64-bit words (a last partial word zero-padded) in 16 hex digits: the same
// file gives the same checksum by either path. Then --ready FILE gets that line appended (a
// script waits for it) and --hold SECONDS keeps the mapping that long before unmapping and
// exiting (SIGTERM ends the hold early, cleanly).
//
// --msync SECONDS: the synchronous store instead, for that long: FILE mapped read-write, a
// store of 8 bytes into a random page of it, then msync(MS_SYNC) of that page (uzfs_msync
// with --libzfs), again and again. Prints "OPS SECONDS OPS/S".
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "libzfs/include/uzfs/file.h"

namespace {

constexpr const char* kUsage =
    "Usage: uzfs_mmap_read (--libzfs|--posix) [--hold SECONDS] [--ready FILE] FILE\n"
    "       uzfs_mmap_read (--libzfs|--posix) --msync SECONDS FILE\n";

volatile sig_atomic_t g_stop = 0;
void OnTerm(int) { g_stop = 1; }

int UsageError(const std::string& why) {
  std::fprintf(stderr, "uzfs_mmap_read: %s\n%s", why.c_str(), kUsage);
  return 2;
}

int Die(const char* what, const std::string& file) {
  std::fprintf(stderr, "uzfs_mmap_read: %s '%s': %s\n", what, file.c_str(), std::strerror(errno));
  return 1;
}

double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The sum of the 64-bit words of [p, p+n), a trailing partial word zero-padded. Four lanes so
// the loop is not one long dependency chain (the adds are not what is measured).
uint64_t SumWords(const unsigned char* p, size_t n) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t words = n / 8, i = 0;
  for (; i + 4 <= words; i += 4) {
    uint64_t w[4];
    std::memcpy(w, p + i * 8, sizeof w);
    s0 += w[0];
    s1 += w[1];
    s2 += w[2];
    s3 += w[3];
  }
  for (; i < words; i++) {
    uint64_t w;
    std::memcpy(&w, p + i * 8, sizeof w);
    s0 += w;
  }
  if (n % 8) {
    uint64_t w = 0;
    std::memcpy(&w, p + words * 8, n % 8);
    s0 += w;
  }
  return s0 + s1 + s2 + s3;
}

// --msync: stores, each made durable by an msync of its page, for secs seconds.
int StoreAndSync(bool libzfs, const std::string& file, double secs) {
  uzfs_file* uf = nullptr;
  int fd = -1;
  struct stat st;
  if (libzfs) {
    uf = uzfs_open(file.c_str(), O_RDWR, 0);
    if (!uf || uzfs_fstat(uf, &st) != 0) return Die("cannot open", file);
  } else {
    fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0 || ::fstat(fd, &st) != 0) return Die("cannot open", file);
  }
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t size = static_cast<size_t>(st.st_size) / page * page;
  if (size == 0) return UsageError("'" + file + "' is smaller than a page");
  void* map = libzfs ? uzfs_mmap(uf, size, PROT_READ | PROT_WRITE, 0)
                     : ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return Die("cannot map", file);
  unsigned char* base = static_cast<unsigned char*>(map);
  uint64_t ops = 0, rnd = 88172645463325252ULL;
  const double t0 = Now();
  double t = t0;
  for (; t - t0 < secs; t = Now()) {
    rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;  // xorshift64
    unsigned char* at = base + (rnd % (size / page)) * page;
    std::memcpy(at + (rnd >> 40) % (page - 8), &ops, 8);
    int r = libzfs ? uzfs_msync(uf, at, page, MS_SYNC) : ::msync(at, page, MS_SYNC);
    if (r != 0) return Die("cannot msync", file);
    ops++;
  }
  std::printf("%" PRIu64 " %.6f %.1f\n", ops, t - t0, static_cast<double>(ops) / (t - t0));
  if (libzfs) {
    if (uzfs_munmap(uf, map, size) != 0 || uzfs_close(uf) != 0) return Die("cannot close", file);
  } else {
    ::munmap(map, size);
    ::close(fd);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  enum { kNone, kLibzfs, kPosix } mode = kNone;
  double hold = 0, msync_secs = 0;
  std::string ready, file;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--libzfs" || a == "--posix") {
      if (mode != kNone) return UsageError("give one of --libzfs and --posix");
      mode = a == "--libzfs" ? kLibzfs : kPosix;
    } else if (a == "--msync") {
      if (i + 1 >= argc) return UsageError("option '" + a + "' requires an argument");
      std::string v = argv[++i];
      char* end = nullptr;
      msync_secs = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !(msync_secs > 0)) return UsageError("invalid number of seconds '" + v + "'");
    } else if (a == "--hold" || a == "--ready") {
      if (i + 1 >= argc) return UsageError("option '" + a + "' requires an argument");
      std::string v = argv[++i];
      if (a == "--ready") {
        ready = v;
        continue;
      }
      char* end = nullptr;
      hold = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !(hold >= 0)) return UsageError("invalid number of seconds '" + v + "'");
    } else if (a == "--help") {
      std::printf("%s", kUsage);
      return 0;
    } else if (a.size() > 1 && a[0] == '-') {
      return UsageError("unrecognized option '" + a + "'");
    } else if (!file.empty()) {
      return UsageError("unexpected argument '" + a + "'");
    } else {
      file = a;
    }
  }
  if (mode == kNone) return UsageError("give one of --libzfs and --posix");
  if (file.empty()) return UsageError("missing FILE");
  if (msync_secs > 0) return StoreAndSync(mode == kLibzfs, file, msync_secs);

  double t0 = Now();
  uzfs_file* uf = nullptr;
  int fd = -1;
  struct stat st;
  if (mode == kLibzfs) {
    uf = uzfs_open(file.c_str(), O_RDONLY, 0);
    if (!uf) return Die("cannot open", file);
    if (uzfs_fstat(uf, &st) != 0) return Die("cannot stat", file);
  } else {
    fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Die("cannot open", file);
    if (::fstat(fd, &st) != 0) return Die("cannot stat", file);
  }
  size_t size = static_cast<size_t>(st.st_size);
  void* map = nullptr;
  if (size > 0) {
    map = mode == kLibzfs ? uzfs_mmap(uf, size, PROT_READ, 0) : ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) return Die("cannot map", file);
  }
  uint64_t sum = size > 0 ? SumWords(static_cast<const unsigned char*>(map), size) : 0;
  double secs = Now() - t0;

  char line[160];
  std::snprintf(line, sizeof line, "%zu %.6f %.1f %016" PRIx64 "\n", size, secs,
                secs > 0 ? static_cast<double>(size) / 1048576.0 / secs : 0.0, sum);
  std::fputs(line, stdout);
  std::fflush(stdout);
  if (!ready.empty()) {
    int rfd = ::open(ready.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (rfd < 0) return Die("cannot open", ready);
    ssize_t len = static_cast<ssize_t>(std::strlen(line));
    if (::write(rfd, line, static_cast<size_t>(len)) != len) return Die("cannot write", ready);
    ::close(rfd);
  }
  if (hold > 0) {
    struct sigaction sa {};
    sa.sa_handler = OnTerm;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    double until = Now() + hold;
    for (double left = hold; !g_stop && left > 0; left = until - Now()) {
      double step = left < 0.2 ? left : 0.2;  // short steps: SIGTERM is seen within 0.2 s
      timespec ts{0, static_cast<long>(step * 1e9)};
      nanosleep(&ts, nullptr);
    }
  }
  if (mode == kLibzfs) {
    if (map && uzfs_munmap(uf, map, size) != 0) return Die("cannot unmap", file);
    if (uzfs_close(uf) != 0) return Die("cannot close", file);
  } else {
    if (map) ::munmap(map, size);
    ::close(fd);
  }
  return 0;
}
