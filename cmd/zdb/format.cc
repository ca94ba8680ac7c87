#include <cinttypes>
#include <cstdio>
#include <iostream>

#include "cmd/zdb/zdb.h"

namespace uzfs::zdb {

void Fatal(const std::string& msg) { std::cerr << "zdb: " << msg << "\n"; }

// As libzpool's nicenum(): divide by 1024 with rounding until below 1024; show two
// decimals below 10 and one below 100 unless num is a power of two.
std::string NiceNum(uint64_t num) {
  uint64_t n = num;
  int index = 0;
  while (n >= 1024) {
    n = (n + 512) / 1024;
    index++;
  }
  char buf[32];
  const char unit = " KMGTPE"[index];
  const bool pow2 = (num & (num - 1)) == 0;
  const double scaled = static_cast<double>(num) / static_cast<double>(1ULL << (10 * index));
  if (index == 0) {
    std::snprintf(buf, sizeof buf, "%" PRIu64, n);
  } else if (n < 10 && !pow2) {
    std::snprintf(buf, sizeof buf, "%.2f%c", scaled, unit);
  } else if (n < 100 && !pow2) {
    std::snprintf(buf, sizeof buf, "%.1f%c", scaled, unit);
  } else {
    std::snprintf(buf, sizeof buf, "%" PRIu64 "%c", n, unit);
  }
  return buf;
}

}  // namespace uzfs::zdb
