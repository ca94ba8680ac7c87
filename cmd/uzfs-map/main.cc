// uzfs-map: maps a file of a mounted uzfs dataset through libzfs's file API (one copy: the
// mapping is zfsd's ARC, or for a DAX file the persistent memory itself), touches every page, optionally prints the contents' sha256 and holds
// the mapping. A tool for tests and benchmarks, and an example of the API.
#include <openssl/evp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include "libzfs/include/uzfs/file.h"

namespace {

constexpr const char* kUsage =
    "Usage: uzfs-map [--sum] [--sync] [--persist] [--write-pattern BYTE] [--hold SECONDS] FILE\n";
constexpr const char* kHelp =
    "\n"
    "Maps FILE, a regular file in a mounted uzfs dataset, through libzfs's file API (the\n"
    "mapping is zfsd's ARC) and touches every page.\n"
    "\n"
    "Options:\n"
    "    --sum                 print the sha256 of the mapped contents\n"
    "    --write-pattern BYTE  store BYTE (0-255, decimal or 0x hex) into every byte\n"
    "                          instead of reading\n"
    "    --sync                msync(MS_SYNC) before exiting: the stores are on disk\n"
    "    --persist             uzfs_persist before exiting: the stores are durable (a DAX\n"
    "                          file's: CPU caches flushed to the persistent memory)\n"
    "    --hold SECONDS        keep the mapping SECONDS before exiting\n"
    "    --version             print the version\n"
    "    --help                print this message\n";

int UsageError(const std::string& why) {
  std::fprintf(stderr, "uzfs-map: %s\n%s", why.c_str(), kUsage);
  return 2;
}

int Die(const std::string& what, const std::string& file) {
  std::fprintf(stderr, "uzfs-map: %s '%s': %s\n", what.c_str(), file.c_str(), std::strerror(errno));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app;
  app.set_help_flag();
  std::string file, pattern_s;
  bool sum = false, sync = false, persist = false, help = false, version = false;
  std::string hold_s;
  app.add_flag("--help", help);
  app.add_flag("--version", version);
  app.add_flag("--sum", sum);
  app.add_option("--write-pattern", pattern_s);
  app.add_flag("--sync", sync);
  app.add_flag("--persist", persist);
  app.add_option("--hold", hold_s);
  app.add_option("FILE", file);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return UsageError(e.what());
  }
  if (help) {
    std::printf("%s%s", kUsage, kHelp);
    return 0;
  }
  if (version) {
    std::printf("uzfs-map %s\n", UZFS_VERSION);
    return 0;
  }
  if (file.empty()) return UsageError("missing FILE");
  double hold = 0;
  if (!hold_s.empty()) {
    char* end = nullptr;
    hold = std::strtod(hold_s.c_str(), &end);
    if (*end || !(hold >= 0)) return UsageError("invalid number of seconds '" + hold_s + "'");
  }

  int pattern = -1;
  if (!pattern_s.empty()) {
    char* end = nullptr;
    long v = std::strtol(pattern_s.c_str(), &end, 0);
    if (*end || v < 0 || v > 255) {
      return UsageError("invalid byte '" + pattern_s + "'");
    }
    pattern = static_cast<int>(v);
  }
  uzfs_file* f = uzfs_open(file.c_str(), pattern >= 0 ? O_RDWR : O_RDONLY, 0);
  if (!f) return Die("cannot open", file);
  struct stat st;
  if (uzfs_fstat(f, &st) != 0) return Die("cannot stat", file);
  size_t size = static_cast<size_t>(st.st_size);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int dlen = 0;
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
  void* p = nullptr;
  if (size) {
    p = uzfs_mmap(f, size, pattern >= 0 ? PROT_READ | PROT_WRITE : PROT_READ, 0);
    if (p == MAP_FAILED) return Die("cannot map", file);
    volatile unsigned char* b = static_cast<unsigned char*>(p);
    long page = ::sysconf(_SC_PAGESIZE);
    if (pattern >= 0) {
      std::memset(p, pattern, size);
    } else {
      unsigned sink = 0;
      for (size_t i = 0; i < size; i += static_cast<size_t>(page)) sink += b[i];
      (void)sink;
    }
    if (sum) EVP_DigestUpdate(md, p, size);
    if (sync && uzfs_msync(f, p, size, MS_SYNC) != 0) return Die("cannot sync", file);
    if (persist && uzfs_persist(f, p, size) != 0) return Die("cannot persist", file);
  }
  EVP_DigestFinal_ex(md, digest, &dlen);
  EVP_MD_CTX_free(md);
  if (sum) {
    for (unsigned i = 0; i < dlen; i++) std::printf("%02x", digest[i]);
    std::printf("  %s\n", file.c_str());
    std::fflush(stdout);
  }
  if (hold > 0) std::this_thread::sleep_for(std::chrono::duration<double>(hold));
  if (p && uzfs_munmap(f, p, size) != 0) return Die("cannot unmap", file);
  if (uzfs_close(f) != 0) return Die("cannot close", file);
  return 0;
}
