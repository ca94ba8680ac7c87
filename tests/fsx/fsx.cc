// uzfs_fsx: an fsx-style file exerciser (after Apple's/BSD's fsx). Random pwrite, truncate
// (shrink and extend), writes far past EOF (holes), pread, fstat, fsync and close/reopen on
// one file, every read compared with an in-memory model of the file.
//
//   uzfs_fsx FILE [--ops N] [--seed S] [--maxlen BYTES] [--maxop BYTES] [--quiet]
//
// Exit status: 0 when every check held; 1 at the first mismatch or failed call, after
// printing the failing operation, the first differing offsets and the last operations; 2 on
// bad usage. The same seed replays the same operations.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string file;
  uint64_t ops = 10000, seed = 1, maxlen = 1 << 20, maxop = 64 << 10;
  bool quiet = false;
};

class Fsx {
 public:
  explicit Fsx(const Options& o) : o_(o), rng_(o.seed) {}

  int Run() {
    fd_ = open(o_.file.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd_ < 0) return Fail("open", errno);
    for (op_ = 1; op_ <= o_.ops; op_++) {
      int r = Step();
      if (r) return r;
      if (op_ % 1000 == 0) {
        if (int c = CheckAll()) return c;
        if (!o_.quiet) std::printf("%" PRIu64 " ops, size %zu\n", op_, model_.size());
      }
    }
    if (int c = CheckAll()) return c;
    if (close(fd_) != 0) return Fail("close", errno);
    std::printf("fsx: %" PRIu64 " operations on %s (seed %" PRIu64 ") passed, final size %zu\n",
                o_.ops, o_.file.c_str(), o_.seed, model_.size());
    return 0;
  }

 private:
  uint64_t Rand(uint64_t lo, uint64_t hi) {  // inclusive
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }

  void Log(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    char buf[200];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    last_ = std::to_string(op_) + ": " + buf;
    history_.push_back(last_);
    if (history_.size() > 30) history_.pop_front();
  }

  int Fail(const char* what, int err) {
    std::printf("fsx: op %" PRIu64 " (%s): %s failed: %s\n", op_, last_.c_str(), what,
                std::strerror(err));
    DumpHistory();
    return 1;
  }

  void DumpHistory() {
    std::printf("last operations:\n");
    for (const auto& h : history_) std::printf("  %s\n", h.c_str());
  }

  int Step() {
    uint64_t k = Rand(0, 99);
    if (k < 28) return Write(false);
    if (k < 36) return Write(true);
    if (k < 62) return Read();
    if (k < 74) return Truncate();
    if (k < 84) return Stat();
    if (k < 89) return Fsync();
    if (k < 94) return Reopen();
    return Read();
  }

  void Fill(std::vector<uint8_t>* b, uint64_t off) {
    uint8_t tag = static_cast<uint8_t>(op_ * 7 + 1);
    for (size_t i = 0; i < b->size(); i++) (*b)[i] = static_cast<uint8_t>((off + i) % 251 + tag);
  }

  int Write(bool hole) {
    uint64_t off, len;
    if (hole) {
      // Far past EOF: the gap reads as zeros.
      uint64_t size = model_.size();
      if (size + 2 >= o_.maxlen) return Write(false);
      off = Rand(size + 1, o_.maxlen - 1);
      len = Rand(1, std::min<uint64_t>(o_.maxop, o_.maxlen - off));
    } else {
      off = Rand(0, o_.maxlen - 1);
      len = Rand(1, std::min<uint64_t>(o_.maxop, o_.maxlen - off));
    }
    Log("%s 0x%" PRIx64 " len 0x%" PRIx64 " (size 0x%zx)", hole ? "holewrite" : "write", off,
        len, model_.size());
    std::vector<uint8_t> b(len);
    Fill(&b, off);
    ssize_t n = pwrite(fd_, b.data(), len, static_cast<off_t>(off));
    if (n < 0) return Fail("pwrite", errno);
    if (static_cast<uint64_t>(n) != len) return Short("pwrite", n, len);
    if (model_.size() < off + len) model_.resize(off + len, 0);
    std::memcpy(model_.data() + off, b.data(), len);
    return 0;
  }

  int Short(const char* what, ssize_t got, uint64_t want) {
    std::printf("fsx: op %" PRIu64 " (%s): short %s: %zd of %" PRIu64 "\n", op_, last_.c_str(),
                what, got, want);
    DumpHistory();
    return 1;
  }

  int Read() {
    uint64_t size = model_.size();
    uint64_t off = size ? Rand(0, size - 1) : 0;
    uint64_t len = Rand(1, o_.maxop);
    if (Rand(0, 9) == 0) off = size + Rand(0, 4096);  // at or past EOF: reads nothing
    Log("read 0x%" PRIx64 " len 0x%" PRIx64 " (size 0x%" PRIx64 ")", off, len, size);
    return ReadCheck(off, len);
  }

  int ReadCheck(uint64_t off, uint64_t len) {
    std::vector<uint8_t> b(len);
    uint64_t got = 0;
    while (got < len) {  // a read may return less than asked; EOF returns 0
      ssize_t n = pread(fd_, b.data() + got, len - got, static_cast<off_t>(off + got));
      if (n < 0) return Fail("pread", errno);
      if (n == 0) break;
      got += static_cast<uint64_t>(n);
    }
    uint64_t size = model_.size();
    uint64_t want = off >= size ? 0 : std::min(len, size - off);
    if (got != want) {
      std::printf("fsx: op %" PRIu64 " (%s): read returned %" PRIu64 " bytes, expected %" PRIu64
                  "\n", op_, last_.c_str(), got, want);
      DumpHistory();
      return 1;
    }
    for (uint64_t i = 0; i < want; i++) {
      if (b[i] != model_[off + i]) {
        std::printf("fsx: op %" PRIu64 " (%s): data mismatch at offset 0x%" PRIx64 "\n", op_,
                    last_.c_str(), off + i);
        std::printf("  offset    good bad\n");
        int shown = 0;
        for (uint64_t j = i; j < want && shown < 16; j++) {
          if (b[j] == model_[off + j]) continue;
          std::printf("  0x%06" PRIx64 "  %02x   %02x\n", off + j, model_[off + j], b[j]);
          shown++;
        }
        DumpHistory();
        return 1;
      }
    }
    return 0;
  }

  int Truncate() {
    uint64_t size = Rand(0, o_.maxlen);
    if (Rand(0, 3) == 0) size = Rand(0, std::min<uint64_t>(model_.size(), o_.maxlen));
    Log("truncate 0x%zx -> 0x%" PRIx64, model_.size(), size);
    if (ftruncate(fd_, static_cast<off_t>(size)) != 0) return Fail("ftruncate", errno);
    model_.resize(size, 0);
    return 0;
  }

  int Stat() {
    Log("fstat (size 0x%zx)", model_.size());
    struct stat st;
    if (fstat(fd_, &st) != 0) return Fail("fstat", errno);
    if (static_cast<uint64_t>(st.st_size) != model_.size()) {
      std::printf("fsx: op %" PRIu64 " (%s): st_size 0x%jx, expected 0x%zx\n", op_, last_.c_str(),
                  static_cast<intmax_t>(st.st_size), model_.size());
      DumpHistory();
      return 1;
    }
    return 0;
  }

  int Fsync() {
    Log("fsync");
    if (fsync(fd_) != 0) return Fail("fsync", errno);
    return 0;
  }

  int Reopen() {
    Log("close/reopen");
    if (close(fd_) != 0) return Fail("close", errno);
    fd_ = open(o_.file.c_str(), O_RDWR);
    if (fd_ < 0) return Fail("open", errno);
    return 0;
  }

  int CheckAll() {
    Log("check whole file (size 0x%zx)", model_.size());
    if (int r = Stat()) return r;
    Log("read whole file (size 0x%zx)", model_.size());
    return ReadCheck(0, model_.size() + 1);
  }

  Options o_;
  std::mt19937_64 rng_;
  std::vector<uint8_t> model_;
  int fd_ = -1;
  uint64_t op_ = 0;
  std::string last_;
  std::deque<std::string> history_;
};

int Usage() {
  std::fprintf(stderr,
               "usage: uzfs_fsx FILE [--ops N] [--seed S] [--maxlen BYTES] [--maxop BYTES] "
               "[--quiet]\n");
  return 2;
}

bool Number(const char* s, uint64_t* v) {
  char* end;
  errno = 0;
  *v = std::strtoull(s, &end, 0);
  return errno == 0 && end != s && *end == '\0';
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    uint64_t* target = nullptr;
    if (a == "--ops") target = &o.ops;
    else if (a == "--seed") target = &o.seed;
    else if (a == "--maxlen") target = &o.maxlen;
    else if (a == "--maxop") target = &o.maxop;
    else if (a == "--quiet") o.quiet = true;
    else if (!a.empty() && a[0] != '-' && o.file.empty()) o.file = a;
    else return Usage();
    if (target && (++i >= argc || !Number(argv[i], target))) return Usage();
  }
  if (o.file.empty() || o.maxlen < 2 || o.maxop < 1) return Usage();
  return Fsx(o).Run();
}
