// The DAX device (dax.h): probing against a fake sysfs tree, emulated devices (regular files)
// end to end, the exclusivity checks. DaxReal.* run on a real device-DAX named by
// UZFS_TEST_DAX (tests/bats/dax_guest.bats runs them in a guest; they overwrite parts of the
// device's first 4 MiB and last 5 MiB) and skip otherwise.
#include "libcore/base/dax.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

namespace uzfs::dax {
namespace {

namespace fs = std::filesystem;

Bytes Pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>(seed + i * 131 + (i >> 12));
  return b;
}

class TempDir {
 public:
  TempDir() {
    char t[] = "/var/tmp/uzfs-dax-XXXXXX";  // not tmpfs where possible: a real file system
    EXPECT_NE(::mkdtemp(t), nullptr);
    path_ = t;
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The VmFlags of this process's mapping that starts at addr ("rd wr sh mr mw me ms sf ...";
// "sf" is VM_SYNC, what MAP_SYNC sets: fs/proc/task_mmu.c).
std::string VmFlagsAt(const void* addr) {
  std::ifstream smaps("/proc/self/smaps");
  char start[32];
  std::snprintf(start, sizeof start, "%lx-", reinterpret_cast<unsigned long>(addr));
  std::string line;
  bool in = false;
  while (std::getline(smaps, line)) {
    if (line.rfind(start, 0) == 0) in = true;
    if (in && line.rfind("VmFlags:", 0) == 0) return line.substr(8) + " ";
  }
  return "";
}

void WriteText(const std::string& p, const std::string& s) {
  fs::create_directories(fs::path(p).parent_path());
  std::ofstream(p) << s;
}

std::string Num(const char* node) {
  struct stat st;
  EXPECT_EQ(::stat(node, &st), 0);
  return std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
}

// A fake sysfs: /dev/null shows as a device-DAX of the dax bus, /dev/zero as what it is (class
// mem); /dev/full as a device-DAX with no align attribute but its region's.
class FakeSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path() + "/sys";
    fs::create_directories(root_ + "/bus/dax");
    fs::create_directories(root_ + "/class/mem");
    fs::create_directories(root_ + "/dev/char");
    const std::string dax = root_ + "/devices/ndbus0/region1/dax1.0/dax1.0";
    WriteText(dax + "/size", "511705088\n");
    WriteText(dax + "/align", "2097152\n");
    fs::create_directory_symlink("../../../../../bus/dax", dax + "/subsystem");
    fs::create_directory_symlink("../../devices/ndbus0/region1/dax1.0/dax1.0",
                                 root_ + "/dev/char/" + Num("/dev/null"));
    const std::string old = root_ + "/devices/ndbus0/region2/dax2.0/dax2.0";
    WriteText(old + "/size", "1073741824\n");
    WriteText(old + "/../dax_region/align", "1073741824\n");
    fs::create_directory_symlink("../../../../../bus/dax", old + "/subsystem");
    fs::create_directory_symlink(old + "/..", old + "/device");
    fs::create_directory_symlink(old, root_ + "/dev/char/" + Num("/dev/full"));
    const std::string mem = root_ + "/devices/virtual/mem/zero";
    WriteText(mem + "/dev", "1:5\n");
    fs::create_directory_symlink("../../../../class/mem", mem + "/subsystem");
    fs::create_directory_symlink(mem, root_ + "/dev/char/" + Num("/dev/zero"));
  }
  TempDir tmp_;
  std::string root_;
};

TEST_F(FakeSysfs, DeviceDaxAcceptedWithSizeAndAlign) {
  auto info = ProbeDax("/dev/null", root_);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->devnode, "/dev/null");
  EXPECT_EQ(info->size, 511705088u);
  EXPECT_EQ(info->align, 2u << 20);
  EXPECT_FALSE(info->emulated);
  struct stat st;
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_EQ(info->node_ino, st.st_ino);
  EXPECT_EQ(info->node_dev, st.st_dev);
}

TEST_F(FakeSysfs, AlignFromTheRegionOnOlderKernelsThenTheDefault) {
  auto info = ProbeDax("/dev/full", root_);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->align, 1u << 30);
  fs::remove(root_ + "/devices/ndbus0/region2/dax2.0/dax_region/align");
  info = ProbeDax("/dev/full", root_);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->align, kDefaultAlign);
}

TEST_F(FakeSysfs, ClassDaxOfOlderKernelsAccepted) {
  const std::string dax = root_ + "/devices/ndbus0/region1/dax1.0/dax1.0";
  fs::create_directories(root_ + "/class/dax");
  fs::remove(dax + "/subsystem");
  fs::create_directory_symlink("../../../../../class/dax", dax + "/subsystem");
  EXPECT_TRUE(ProbeDax("/dev/null", root_).ok());
}

TEST_F(FakeSysfs, RefusalsWordedAsOpenZfsWould) {
  // A character device of another subsystem.
  auto r = ProbeDax("/dev/zero", root_);
  EXPECT_EQ(r.status().code(), EINVAL);
  EXPECT_EQ(r.status().message(), "'/dev/zero' is not a device-DAX character device");
  // One sysfs does not know.
  r = ProbeDax("/dev/tty", root_);
  EXPECT_EQ(r.status().message(), "'/dev/tty' is not a device-DAX character device");
  // A regular file, without allow_emulated; a directory.
  const std::string f = tmp_.path() + "/file";
  WriteText(f, std::string(4 << 20, 'x'));
  r = ProbeDax(f, root_);
  EXPECT_EQ(r.status().code(), EINVAL);
  EXPECT_EQ(r.status().message(), "'" + f + "' is not a device-DAX character device");
  EXPECT_EQ(ProbeDax(tmp_.path(), root_).status().code(), EINVAL);
  // Missing.
  r = ProbeDax(tmp_.path() + "/nope", root_);
  EXPECT_EQ(r.status().code(), ENOENT);
  EXPECT_EQ(r.status().message(), "cannot open '" + tmp_.path() + "/nope': no such device or file");
  // A device-DAX of size 0 (an unconfigured seed).
  WriteText(root_ + "/devices/ndbus0/region1/dax1.0/dax1.0/size", "0\n");
  EXPECT_EQ(ProbeDax("/dev/null", root_).status().code(), EINVAL);
}

TEST_F(FakeSysfs, BlockDeviceRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "mknod of a block device needs root";
  const std::string b = tmp_.path() + "/blk";
  ASSERT_EQ(::mknod(b.c_str(), S_IFBLK | 0600, makedev(7, 0)), 0);
  // Even with a sysfs entry claiming the dax bus for its number: only character devices.
  auto r = ProbeDax(b, root_);
  EXPECT_EQ(r.status().code(), EINVAL);
  EXPECT_EQ(r.status().message(), "'" + b + "' is not a device-DAX character device");
}

class Emulated : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = tmp_.path() + "/dax.img";
    int fd = ::open(path_.c_str(), O_RDWR | O_CREAT, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, (5 << 20) + 100), 0);  // rounds down to 4 MiB
    ::close(fd);
  }
  DaxOpenOptions Opts(bool write) {
    DaxOpenOptions o;
    o.write = write;
    o.allow_emulated = true;
    return o;
  }
  TempDir tmp_;
  std::string path_;
};

TEST_F(Emulated, ProbeNeedsTheFlagAndOneAlignUnit) {
  EXPECT_EQ(OpenDax(path_, DaxOpenOptions{.write = true}).status().message(),
            "'" + path_ + "' is not a device-DAX character device");
  auto info = ProbeDax(path_, Opts(false));
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->emulated);
  EXPECT_EQ(info->size, 4u << 20);
  EXPECT_EQ(info->align, 2u << 20);
  DaxOpenOptions o = Opts(false);
  o.emulated_align = 4096;
  EXPECT_EQ(ProbeDax(path_, o)->size, (5u << 20));
  o.emulated_align = 8 << 20;
  auto r = ProbeDax(path_, o);
  EXPECT_EQ(r.status().code(), EINVAL);
  EXPECT_NE(r.status().message().find("is too small to emulate a device-DAX"), std::string::npos);
}

TEST_F(Emulated, WriteSyncPersistReopen) {
  const Bytes a = Pattern(300000, 1), b = Pattern(5000, 2);
  {
    auto f = OpenDax(path_, Opts(true));
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    DaxFile& d = **f;
    EXPECT_TRUE(d.emulated());
    EXPECT_TRUE(d.ConcurrentWrites());
    EXPECT_EQ(d.align(), 2u << 20);
    EXPECT_EQ(*d.Size(), 4u << 20);
    EXPECT_GE(d.fd(), 0);
    ASSERT_NE(d.base(), nullptr);
    const std::string flags = VmFlagsAt(d.base());
    EXPECT_NE(flags.find(" sh "), std::string::npos) << flags;  // shared, not MAP_SYNC
    EXPECT_EQ(flags.find(" sf "), std::string::npos) << flags;
    ASSERT_TRUE(d.WriteAt((1 << 20) - 10, a).ok());
    ASSERT_TRUE(d.Sync().ok());
    ASSERT_TRUE(d.WriteAtDurable(3 << 20, b).ok());
    Bytes got(a.size());
    ASSERT_TRUE(d.ReadAt((1 << 20) - 10, got).ok());
    EXPECT_EQ(got, a);
    EXPECT_EQ(std::memcmp(d.base() + (3 << 20), b.data(), b.size()), 0);
    // Direct stores, then Persist.
    std::memset(d.base() + (4 << 20) - 4096, 0xab, 4096);
    d.Persist((4 << 20) - 4096, 1 << 20);  // clipped to the end
    // Env's contract: ENXIO past the end, for reads and writes.
    Bytes past(10);
    EXPECT_EQ(d.ReadAt((4 << 20) - 5, past).code(), ENXIO);
    EXPECT_EQ(d.WriteAt((4 << 20) - 5, past).code(), ENXIO);
    EXPECT_EQ(d.WriteAtDurable(~0ull - 2, past).code(), ENXIO);
    EXPECT_TRUE(d.ReadAt(4 << 20, MutByteSpan()).ok());
  }
  // The bytes are in the file itself (pread, not a mapping) and a new open sees them.
  int fd = ::open(path_.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  Bytes got(b.size());
  ASSERT_EQ(::pread(fd, got.data(), got.size(), 3 << 20), static_cast<ssize_t>(got.size()));
  ::close(fd);
  EXPECT_EQ(got, b);
  auto f = OpenDax(path_, Opts(false));
  ASSERT_TRUE(f.ok());
  Bytes got_a(a.size()), tail(4096);
  ASSERT_TRUE((*f)->ReadAt((1 << 20) - 10, got_a).ok());
  EXPECT_EQ(got_a, a);
  ASSERT_TRUE((*f)->ReadAt((4 << 20) - 4096, tail).ok());
  EXPECT_EQ(tail, Bytes(4096, 0xab));
  // A read-only open refuses writes, and Sync is harmless.
  EXPECT_EQ((*f)->WriteAt(0, b).code(), EBADF);
  EXPECT_EQ((*f)->WriteAtDurable(0, b).code(), EBADF);
  EXPECT_TRUE((*f)->Sync().ok());
}

// On tmpfs (no MAP_SYNC, EOPNOTSUPP) the mapping falls back to MAP_SHARED as on any file.
TEST(EmulatedTmpfs, MapsAndPersists) {
  char t[] = "/dev/shm/uzfs-dax-XXXXXX";
  int fd = ::mkstemp(t);
  if (fd < 0) GTEST_SKIP() << "no /dev/shm";
  ASSERT_EQ(::ftruncate(fd, 2 << 20), 0);
  ::close(fd);
  {
    auto f = OpenDax(t, DaxOpenOptions{.write = true, .allow_emulated = true});
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE((*f)->WriteAtDurable(4096, Pattern(8192, 3)).ok());
    ASSERT_TRUE((*f)->Sync().ok());
  }
  auto f = OpenDax(t, DaxOpenOptions{.allow_emulated = true});
  ASSERT_TRUE(f.ok());
  Bytes got(8192);
  ASSERT_TRUE((*f)->ReadAt(4096, got).ok());
  EXPECT_EQ(got, Pattern(8192, 3));
  ::unlink(t);
}

TEST_F(Emulated, ConcurrentWriters) {
  auto f = OpenDax(path_, Opts(true));
  ASSERT_TRUE(f.ok());
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; t++)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 16; i++)
        ASSERT_TRUE((*f)->WriteAt((t * 16 + i) * 65536ull, Pattern(65536, t * 16 + i)).ok());
    });
  for (auto& t : ts) t.join();
  ASSERT_TRUE((*f)->Sync().ok());
  for (int k = 0; k < 64; k++) {
    Bytes got(65536);
    ASSERT_TRUE((*f)->ReadAt(k * 65536ull, got).ok());
    EXPECT_EQ(got, Pattern(65536, k)) << k;
  }
}

TEST_F(Emulated, OneWriterAtATime) {
  auto first = OpenDax(path_, Opts(true));
  ASSERT_TRUE(first.ok());
  auto second = OpenDax(path_, Opts(true));
  EXPECT_EQ(second.status().code(), EBUSY);
  EXPECT_EQ(second.status().message(), path_ + " is in use");
  // Readers take no lock (zdb reads a pool's devices while it is imported).
  EXPECT_TRUE(OpenDax(path_, Opts(false)).ok());
  first.value().reset();
  EXPECT_TRUE(OpenDax(path_, Opts(true)).ok());
}

TEST_F(Emulated, MappedElsewhereSeesAnotherProcessOnly) {
  auto info = ProbeDax(path_, Opts(false));
  ASSERT_TRUE(info.ok());
  {
    auto f = OpenDax(path_, Opts(true));  // this process's own mapping does not count
    ASSERT_TRUE(f.ok());
    EXPECT_FALSE(DaxMappedElsewhere(*info));
  }
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int fd = ::open(path_.c_str(), O_RDWR);
    void* p = fd < 0 ? MAP_FAILED : ::mmap(nullptr, 2 << 20, PROT_READ, MAP_SHARED, fd, 0);
    char c = p == MAP_FAILED ? 'n' : 'y';
    if (::write(ready[1], &c, 1) != 1) ::_exit(1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  EXPECT_EQ(c, 'y');
  int pid = 0;
  EXPECT_TRUE(DaxMappedElsewhere(*info, &pid));
  EXPECT_EQ(pid, child);
  ::kill(child, SIGKILL);
  int st;
  ASSERT_EQ(::waitpid(child, &st, 0), child);
  EXPECT_FALSE(DaxMappedElsewhere(*info, &pid));
}

// --- a real device-DAX (UZFS_TEST_DAX=/dev/daxN.M) ------------------------------------------

const char* RealDax() {
  const char* p = std::getenv("UZFS_TEST_DAX");
  return p && *p ? p : nullptr;
}
#define NEED_REAL_DAX() \
  if (!RealDax()) GTEST_SKIP() << "UZFS_TEST_DAX names no device-DAX"

// What the power-cut pair writes and checks: 3 MiB from 1 MiB before the device's last 4 MiB
// through WriteAt, and one 4 KiB page of direct stores made persistent with Persist.
constexpr uint64_t kPowerCutLen = 3 << 20;

TEST(DaxReal, ProbeMapWriteReadBack) {
  NEED_REAL_DAX();
  auto info = ProbeDax(RealDax());
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_FALSE(info->emulated);
  EXPECT_GT(info->size, 8u << 20);
  EXPECT_EQ(info->size % info->align, 0u);
  // The regular-file path is never taken for a device, even when allowed.
  EXPECT_FALSE(ProbeDax(RealDax(), DaxOpenOptions{.allow_emulated = true})->emulated);
  auto f = OpenDax(RealDax(), DaxOpenOptions{.write = true});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  DaxFile& d = **f;
  // Required store granularity CACHE_LINE was met: a MAP_SYNC mapping of persistent memory.
  EXPECT_FALSE(d.emulated());
  EXPECT_EQ(*d.Size(), info->size);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(d.base()) % d.align(), 0u);
  const std::string flags = VmFlagsAt(d.base());
  EXPECT_NE(flags.find(" sf "), std::string::npos) << flags;  // MAP_SYNC
  EXPECT_NE(flags.find(" sh "), std::string::npos) << flags;
  const Bytes a = Pattern(1 << 20, 7);
  ASSERT_TRUE(d.WriteAt(d.align() - 4096, a).ok());
  ASSERT_TRUE(d.Sync().ok());
  Bytes got(a.size());
  ASSERT_TRUE(d.ReadAt(d.align() - 4096, got).ok());
  EXPECT_EQ(got, a);
  std::memset(d.base() + 5 * 4096, 0x5a, 4096);
  d.Persist(5 * 4096, 4096);
  Bytes past(4096);
  EXPECT_EQ(d.ReadAt(d.size() - 100, past).code(), ENXIO);
  // One writer; readers see the same bytes.
  EXPECT_EQ(OpenDax(RealDax(), DaxOpenOptions{.write = true}).status().code(), EBUSY);
  auto r = OpenDax(RealDax(), DaxOpenOptions{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE((*r)->ReadAt(d.align() - 4096, got).ok());
  EXPECT_EQ(got, a);
  EXPECT_EQ((*r)->WriteAt(0, a).code(), EBADF);
}

TEST(DaxReal, MappedElsewhereFindsAnotherProgram) {
  NEED_REAL_DAX();
  auto info = ProbeDax(RealDax());
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(DaxMappedElsewhere(*info));
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int fd = ::open(RealDax(), O_RDWR);
    void* p = fd < 0 ? MAP_FAILED
                     : ::mmap(nullptr, info->align, PROT_READ | PROT_WRITE,
                              MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
    char c = p == MAP_FAILED ? 'n' : 'y';
    if (::write(ready[1], &c, 1) != 1) ::_exit(1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  EXPECT_EQ(c, 'y');
  int pid = 0;
  EXPECT_TRUE(DaxMappedElsewhere(*info, &pid));
  EXPECT_EQ(pid, child);
  ::kill(child, SIGKILL);
  int st;
  ASSERT_EQ(::waitpid(child, &st, 0), child);
  EXPECT_FALSE(DaxMappedElsewhere(*info));
}

// The two halves of a power cut (dax_guest.bats runs them in two boots, with poweroff -f
// between): nothing but DaxFile's own flushes stands between the write and the cut.
TEST(DaxReal, PowerCutWrite) {
  NEED_REAL_DAX();
  if (!std::getenv("UZFS_TEST_DAX_POWERCUT")) GTEST_SKIP() << "UZFS_TEST_DAX_POWERCUT unset";
  auto f = OpenDax(RealDax(), DaxOpenOptions{.write = true});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  DaxFile& d = **f;
  uint8_t seed = static_cast<uint8_t>(std::atoi(std::getenv("UZFS_TEST_DAX_POWERCUT")));
  const uint64_t off = d.size() - (4 << 20) - (1 << 20);
  ASSERT_TRUE(d.WriteAt(off, Pattern(kPowerCutLen, seed)).ok());
  ASSERT_TRUE(d.Sync().ok());
  std::memset(d.base() + d.size() - 4096, seed, 4096);
  d.Persist(d.size() - 4096, 4096);
  // Left open: the mapping and the lock go with the power.
  (void)f.value().release();
}

TEST(DaxReal, PowerCutVerify) {
  NEED_REAL_DAX();
  if (!std::getenv("UZFS_TEST_DAX_POWERCUT")) GTEST_SKIP() << "UZFS_TEST_DAX_POWERCUT unset";
  auto f = OpenDax(RealDax(), DaxOpenOptions{});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  DaxFile& d = **f;
  uint8_t seed = static_cast<uint8_t>(std::atoi(std::getenv("UZFS_TEST_DAX_POWERCUT")));
  Bytes got(kPowerCutLen), page(4096);
  ASSERT_TRUE(d.ReadAt(d.size() - (4 << 20) - (1 << 20), got).ok());
  EXPECT_TRUE(got == Pattern(kPowerCutLen, seed));
  ASSERT_TRUE(d.ReadAt(d.size() - 4096, page).ok());
  EXPECT_EQ(page, Bytes(4096, seed));
}

}  // namespace
}  // namespace uzfs::dax
