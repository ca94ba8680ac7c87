// uzfs_dax_store: stores made durable on persistent memory, through libzfs's mapping of a
// DAX file or through a mapping of the raw device-DAX, for bench/dax_bench.sh (a benchmark
// tool, not a test).
//
//   uzfs_dax_store --libzfs FILE [--via-call] [--seconds S]   FILE: a DAX file (dax=on)
//   uzfs_dax_store --raw DEVICE --size BYTES [--seconds S]
//
// --libzfs maps the whole FILE with uzfs_mmap (the device's own pages) and persists with the
// function uzfs_get_persist_fn gives for the mapping (with --via-call: uzfs_persist per store); --raw maps the first BYTES of DEVICE (MAP_SHARED_VALIDATE | MAP_SYNC, at a
// 2 MiB aligned address as libzfs maps extents) and persists with libpmem's pmem_persist,
// which is what uzfs_persist calls. Every page is touched once before the figures are
// taken. Two figures, one
// line each on standard output:
//
//   seq BYTES SECONDS MB/S        every byte stored once, in order, 4 KiB at a time, each
//                                 4 KiB persisted before the next (MB = 2^20 bytes)
//   rand64 OPS SECONDS OPS/S NS   64-byte stores at random 64-byte aligned offsets, each
//                                 persisted before the next, for S seconds (default 3); NS is
//                                 the mean time of one store + persist
#include <fcntl.h>
#include <libpmem.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>

#include "libzfs/include/uzfs/file.h"

namespace {

constexpr const char* kUsage =
    "Usage: uzfs_dax_store --libzfs FILE [--via-call] [--seconds S]\n"
    "       uzfs_dax_store --raw DEVICE --size BYTES [--seconds S]\n";

double Now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

int Die(const char* what, const std::string& name) {
  std::fprintf(stderr, "uzfs_dax_store: %s '%s': %s\n", what, name.c_str(), std::strerror(errno));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string file, dev;
  uint64_t size = 0;
  double seconds = 3;
  bool via_call = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--libzfs") file = next();
    else if (a == "--raw") dev = next();
    else if (a == "--size") size = std::strtoull(next().c_str(), nullptr, 0);
    else if (a == "--seconds") seconds = std::atof(next().c_str());
    else if (a == "--via-call") via_call = true;
    else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  if (file.empty() == dev.empty() || (!dev.empty() && size == 0) || !(seconds > 0)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  char* base = nullptr;
  uzfs_file* f = nullptr;
  if (!file.empty()) {
    f = uzfs_open(file.c_str(), O_RDWR, 0);
    if (!f) return Die("cannot open", file);
    struct stat st;
    if (uzfs_fstat(f, &st) != 0) return Die("cannot stat", file);
    size = static_cast<uint64_t>(st.st_size);
    void* p = uzfs_mmap(f, size, PROT_READ | PROT_WRITE, 0);
    if (p == MAP_FAILED) return Die("cannot map", file);
    base = static_cast<char*>(p);
  } else {
    int fd = ::open(dev.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return Die("cannot open", dev);
    // Placed at a 2 MiB aligned address, as libzfs places a DAX file's extents (and as
    // libpmem2 places its mappings), so the kernel can map the device with huge pages.
    constexpr uint64_t kAlign = 2ULL << 20;
    void* r = ::mmap(nullptr, size + kAlign, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED) return Die("cannot reserve for", dev);
    auto at = (reinterpret_cast<uintptr_t>(r) + kAlign - 1) / kAlign * kAlign;
    void* p = ::mmap(reinterpret_cast<void*>(at), size, PROT_READ | PROT_WRITE,
                     MAP_SHARED_VALIDATE | MAP_SYNC | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED) return Die("cannot map", dev);
    ::close(fd);
    base = static_cast<char*>(p);
  }
  // --libzfs: the function libzfs gives for the mapping (uzfs_get_persist_fn), as a store
  // loop would use it; --raw: pmem_persist. --via-call: uzfs_persist itself, per store.
  uzfs_persist_fn fn = nullptr;
  if (f && !via_call) {
    fn = uzfs_get_persist_fn(f, base);
    if (!fn) return Die("no persist function for", file);
  }
  auto persist = [&](char* at, size_t n) {
    if (fn) {
      fn(at, n);
    } else if (f) {
      if (uzfs_persist(f, at, n) != 0) {
        std::perror("uzfs_persist");
        std::exit(1);
      }
    } else {
      pmem_persist(at, n);
    }
  };
  // Every page touched once first, untimed: a guest's first touch of its emulated NVDIMM
  // costs the host's page faults (and an extent's first store in zfsd's zeroing was one).
  constexpr size_t kChunk = 4096;
  for (uint64_t off = 0; off + kChunk <= size; off += kChunk) base[off] = 0;
  // Sequential: 4 KiB stores, each persisted.
  double t0 = Now();
  for (uint64_t off = 0; off + kChunk <= size; off += kChunk) {
    std::memset(base + off, static_cast<int>(off >> 12) & 0xff, kChunk);
    persist(base + off, kChunk);
  }
  double t = Now() - t0;
  std::printf("seq %llu %.3f %.1f\n", static_cast<unsigned long long>(size / kChunk * kChunk), t,
              static_cast<double>(size / kChunk * kChunk) / 1048576.0 / t);
  // Random 64-byte stores, each persisted.
  std::mt19937_64 rng(42);
  const uint64_t slots = size / 64;
  uint64_t ops = 0;
  char line[64];
  std::memset(line, 0x5a, sizeof line);
  t0 = Now();
  double end = t0 + seconds;
  for (;;) {
    for (int k = 0; k < 256; k++) {
      char* at = base + (rng() % slots) * 64;
      std::memcpy(at, line, 64);
      persist(at, 64);
      ops++;
    }
    if (Now() >= end) break;
  }
  t = Now() - t0;
  std::printf("rand64 %llu %.3f %.0f %.0f\n", static_cast<unsigned long long>(ops), t,
              static_cast<double>(ops) / t, t * 1e9 / static_cast<double>(ops));
  if (f) {
    if (uzfs_munmap(f, base, size) != 0 || uzfs_close(f) != 0) return Die("cannot unmap", file);
  }
  return 0;
}
