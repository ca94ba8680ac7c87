// FuseMount against the kernel: a filesystem of a file pool mounted through /dev/fuse and
// used with ordinary POSIX calls (needs root and /dev/fuse; skipped otherwise); the fsx
// exerciser on the mount; what was written reads back after unmount, export and import,
// through the read side (Spa/DslPool/Zpl, the code zdb uses) and through ZplWriter.
// UZFS_FUSE_TEST_KEEP=DIR keeps the exported pool file of PersistsAfterExport in DIR (for a
// look with zfs-fuse).
#include "daemon/fuse_test_util.h"

#include "daemon/fuse_dev_io.h"

namespace uzfs {
namespace {

TEST_F(FuseTest, CreateWriteReadBack) {
  std::string data(300000, '\0');
  std::mt19937 rng(1);
  for (char& c : data) c = static_cast<char>(rng());
  WriteFile(P("f"), data);
  EXPECT_EQ(data, ReadFile(P("f")));
  struct stat st;
  ASSERT_EQ(0, stat(P("f").c_str(), &st));
  EXPECT_EQ(static_cast<off_t>(data.size()), st.st_size);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(1u, st.st_nlink);
  // O_APPEND and a rewrite in the middle.
  int fd = open(P("f").c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(5, write(fd, "tail!", 5));
  close(fd);
  fd = open(P("f").c_str(), O_RDWR);
  ASSERT_EQ(3, pwrite(fd, "mid", 3, 1000));
  close(fd);
  data += "tail!";
  data.replace(1000, 3, "mid");
  EXPECT_EQ(data, ReadFile(P("f")));
  // O_TRUNC empties it.
  fd = open(P("f").c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0);
  close(fd);
  ASSERT_EQ(0, stat(P("f").c_str(), &st));
  EXPECT_EQ(0, st.st_size);
  // O_EXCL on an existing name.
  EXPECT_EQ(-1, open(P("f").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644));
  EXPECT_EQ(EEXIST, errno);
  EXPECT_EQ(-1, open(P("missing").c_str(), O_RDONLY));
  EXPECT_EQ(ENOENT, errno);
}

TEST_F(FuseTest, Directories) {
  ASSERT_EQ(0, mkdir(P("d").c_str(), 0755));
  ASSERT_EQ(0, mkdir(P("d/e").c_str(), 0700));
  WriteFile(P("d/e/f"), "x");
  struct stat st;
  ASSERT_EQ(0, stat(P("d").c_str(), &st));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(3u, st.st_nlink);  // ".", "d" in the root, "e/.."
  EXPECT_EQ(-1, mkdir(P("d").c_str(), 0755));
  EXPECT_EQ(EEXIST, errno);
  EXPECT_EQ(-1, rmdir(P("d/e").c_str()));
  EXPECT_EQ(ENOTEMPTY, errno);
  EXPECT_EQ(-1, rmdir(P("d/e/f").c_str()));
  EXPECT_EQ(ENOTDIR, errno);
  EXPECT_EQ(-1, unlink(P("d/e").c_str()));
  EXPECT_EQ(EISDIR, errno);
  ASSERT_EQ(0, unlink(P("d/e/f").c_str()));
  ASSERT_EQ(0, rmdir(P("d/e").c_str()));
  ASSERT_EQ(0, stat(P("d").c_str(), &st));
  EXPECT_EQ(2u, st.st_nlink);
  ASSERT_EQ(0, rmdir(P("d").c_str()));
  EXPECT_EQ(-1, stat(P("d").c_str(), &st));
  // mknod: a fifo, a socket and a character device keep their type and rdev.
  ASSERT_EQ(0, mkfifo(P("fifo").c_str(), 0600));
  ASSERT_EQ(0, mknod(P("sock").c_str(), S_IFSOCK | 0600, 0));
  ASSERT_EQ(0, mknod(P("null").c_str(), S_IFCHR | 0666, makedev(1, 3)));
  ASSERT_EQ(0, stat(P("fifo").c_str(), &st));
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  ASSERT_EQ(0, stat(P("sock").c_str(), &st));
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  ASSERT_EQ(0, stat(P("null").c_str(), &st));
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(makedev(1, 3), st.st_rdev);
}

TEST_F(FuseTest, Rename) {
  ASSERT_EQ(0, mkdir(P("a").c_str(), 0755));
  ASSERT_EQ(0, mkdir(P("b").c_str(), 0755));
  WriteFile(P("a/x"), "xxx");
  WriteFile(P("b/y"), "yyy");
  ASSERT_EQ(0, rename(P("a/x").c_str(), P("b/x").c_str()));  // across directories
  EXPECT_EQ("xxx", ReadFile(P("b/x")));
  EXPECT_NE(0, access(P("a/x").c_str(), F_OK));
  ASSERT_EQ(0, rename(P("b/x").c_str(), P("b/y").c_str()));  // replacing
  EXPECT_EQ("xxx", ReadFile(P("b/y")));
  EXPECT_NE(0, access(P("b/x").c_str(), F_OK));
  // A replaced file that is open stays readable through its descriptor.
  WriteFile(P("b/z"), "zzz");
  int fd = open(P("b/y").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(0, rename(P("b/z").c_str(), P("b/y").c_str()));
  char buf[8] = {};
  EXPECT_EQ(3, pread(fd, buf, sizeof buf, 0));
  EXPECT_STREQ("xxx", buf);
  close(fd);
  EXPECT_EQ("zzz", ReadFile(P("b/y")));
  // Flags.
  WriteFile(P("b/w"), "w");
  EXPECT_EQ(-1, renameat2(AT_FDCWD, P("b/w").c_str(), AT_FDCWD, P("b/y").c_str(), RENAME_NOREPLACE));
  EXPECT_EQ(EEXIST, errno);
  EXPECT_EQ(0, renameat2(AT_FDCWD, P("b/w").c_str(), AT_FDCWD, P("b/v").c_str(), RENAME_NOREPLACE));
  EXPECT_EQ(-1, renameat2(AT_FDCWD, P("b/v").c_str(), AT_FDCWD, P("b/y").c_str(), RENAME_EXCHANGE));
  EXPECT_EQ(EINVAL, errno);
  // Directories: into a directory of their own is EINVAL; over a non-empty one ENOTEMPTY;
  // the moved directory's ".." follows.
  ASSERT_EQ(0, mkdir(P("a/sub").c_str(), 0755));
  EXPECT_EQ(-1, rename(P("a").c_str(), P("a/sub/a").c_str()));
  EXPECT_EQ(EINVAL, errno);
  EXPECT_EQ(-1, rename(P("a").c_str(), P("b").c_str()));
  EXPECT_EQ(ENOTEMPTY, errno);
  ASSERT_EQ(0, rename(P("a/sub").c_str(), P("b/sub").c_str()));
  struct stat a, b, dd;
  ASSERT_EQ(0, stat(P("a").c_str(), &a));
  ASSERT_EQ(0, stat(P("b").c_str(), &b));
  ASSERT_EQ(0, stat(P("b/sub/..").c_str(), &dd));
  EXPECT_EQ(2u, a.st_nlink);
  EXPECT_EQ(3u, b.st_nlink);
  EXPECT_EQ(b.st_ino, dd.st_ino);
  ASSERT_EQ(0, rename(P("b/sub").c_str(), P("a").c_str()));  // over an empty directory
  EXPECT_EQ(0, access(P("a").c_str(), F_OK));
  EXPECT_NE(0, access(P("b/sub").c_str(), F_OK));
}

TEST_F(FuseTest, HardLinks) {
  WriteFile(P("f"), "linked");
  ASSERT_EQ(0, mkdir(P("d").c_str(), 0755));
  ASSERT_EQ(0, link(P("f").c_str(), P("d/g").c_str()));
  struct stat s1, s2;
  ASSERT_EQ(0, stat(P("f").c_str(), &s1));
  ASSERT_EQ(0, stat(P("d/g").c_str(), &s2));
  EXPECT_EQ(2u, s1.st_nlink);
  EXPECT_EQ(s1.st_ino, s2.st_ino);
  WriteFile(P("d/g"), "changed");
  EXPECT_EQ("changed", ReadFile(P("f")));
  ASSERT_EQ(0, unlink(P("f").c_str()));
  ASSERT_EQ(0, stat(P("d/g").c_str(), &s2));
  EXPECT_EQ(1u, s2.st_nlink);
  EXPECT_EQ("changed", ReadFile(P("d/g")));
  EXPECT_EQ(-1, link(P("d").c_str(), P("d2").c_str()));
  EXPECT_EQ(EPERM, errno);
  EXPECT_EQ(-1, link(P("d/g").c_str(), P("d/g").c_str()));
  EXPECT_EQ(EEXIST, errno);
}

TEST_F(FuseTest, Symlinks) {
  std::string shortt = "target", longt = "/some/where/" + std::string(150, 'l') + "/end";
  ASSERT_GT(longt.size(), 56u);
  ASSERT_EQ(0, symlink(shortt.c_str(), P("s").c_str()));
  ASSERT_EQ(0, symlink(longt.c_str(), P("l").c_str()));
  char buf[1024];
  ssize_t n = readlink(P("s").c_str(), buf, sizeof buf);
  EXPECT_EQ(shortt, std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))));
  n = readlink(P("l").c_str(), buf, sizeof buf);
  EXPECT_EQ(longt, std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))));
  struct stat st;
  ASSERT_EQ(0, lstat(P("l").c_str(), &st));
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(static_cast<off_t>(longt.size()), st.st_size);
  // Followed through the mount.
  WriteFile(P("target"), "via link");
  EXPECT_EQ("via link", ReadFile(P("s")));
  ASSERT_EQ(0, unlink(P("s").c_str()));
  EXPECT_EQ("via link", ReadFile(P("target")));
}

TEST_F(FuseTest, TruncateExtendHoles) {
  int fd = open(P("h").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(10, pwrite(fd, "0123456789", 10, 0));
  ASSERT_EQ(0, ftruncate(fd, 1 << 20));
  std::string buf(1 << 20, 'x');
  ASSERT_EQ(1 << 20, pread(fd, buf.data(), buf.size(), 0));
  EXPECT_EQ("0123456789", buf.substr(0, 10));
  EXPECT_EQ(std::string((1 << 20) - 10, '\0'), buf.substr(10));
  // A write far past EOF leaves a hole.
  ASSERT_EQ(4, pwrite(fd, "far!", 4, 5 << 20));
  struct stat st;
  ASSERT_EQ(0, fstat(fd, &st));
  EXPECT_EQ((5 << 20) + 4, st.st_size);
  std::string mid(300000, 'x');
  ASSERT_EQ(300000, pread(fd, mid.data(), mid.size(), 3 << 20));
  EXPECT_EQ(std::string(300000, '\0'), mid);
  // Shrink into the first block, then extend: the cut part reads as zeros.
  ASSERT_EQ(0, ftruncate(fd, 5));
  ASSERT_EQ(0, ftruncate(fd, 200000));
  std::string back(200000, 'x');
  ASSERT_EQ(200000, pread(fd, back.data(), back.size(), 0));
  EXPECT_EQ("01234", back.substr(0, 5));
  EXPECT_EQ(std::string(200000 - 5, '\0'), back.substr(5));
  ASSERT_EQ(0, truncate(P("h").c_str(), 0));
  ASSERT_EQ(0, fstat(fd, &st));
  EXPECT_EQ(0, st.st_size);
  char c;
  EXPECT_EQ(0, pread(fd, &c, 1, 0));
  close(fd);
}

TEST_F(FuseTest, ModeOwnerTimes) {
  WriteFile(P("f"), "attrs");
  struct stat st0, st;
  ASSERT_EQ(0, stat(P("f").c_str(), &st0));
  ASSERT_EQ(0, chmod(P("f").c_str(), 04751));
  ASSERT_EQ(0, stat(P("f").c_str(), &st));
  EXPECT_EQ(static_cast<mode_t>(S_IFREG | 04751), st.st_mode);
  ASSERT_EQ(0, chown(P("f").c_str(), 1234, 5678));
  ASSERT_EQ(0, stat(P("f").c_str(), &st));
  EXPECT_EQ(1234u, st.st_uid);
  EXPECT_EQ(5678u, st.st_gid);
  timespec ts[2] = {{1000000000, 123456789}, {1500000000, 987654321}};
  ASSERT_EQ(0, utimensat(AT_FDCWD, P("f").c_str(), ts, 0));
  ASSERT_EQ(0, stat(P("f").c_str(), &st));
  EXPECT_EQ(1000000000, st.st_atim.tv_sec);
  EXPECT_EQ(123456789, st.st_atim.tv_nsec);
  EXPECT_EQ(1500000000, st.st_mtim.tv_sec);
  EXPECT_EQ(987654321, st.st_mtim.tv_nsec);
  EXPECT_GE(st.st_ctim.tv_sec, st0.st_ctim.tv_sec);
  timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
  ASSERT_EQ(0, utimensat(AT_FDCWD, P("f").c_str(), now, 0));
  ASSERT_EQ(0, stat(P("f").c_str(), &st));
  EXPECT_GE(st.st_atim.tv_sec, st0.st_mtim.tv_sec);
  EXPECT_EQ(1500000000, st.st_mtim.tv_sec);
  // A write moves mtime and ctime forward; the kernel clears set-user-ID on it.
  sleep(1);
  int fd = open(P("f").c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(1, write(fd, "A", 1));
  close(fd);
  ASSERT_EQ(0, stat(P("f").c_str(), &st));
  EXPECT_GT(st.st_mtim.tv_sec, st0.st_mtim.tv_sec);
  EXPECT_GT(st.st_ctim.tv_sec, st0.st_ctim.tv_sec);
  // default_permissions: another user may not write a 0644 root file, nor create in a 0755
  // root directory; the kernel says EACCES.
  ASSERT_EQ(0, chown(P("f").c_str(), 0, 0));
  ASSERT_EQ(0, chmod(P("f").c_str(), 0644));
  ASSERT_EQ(0, chmod(dir_.c_str(), 0755));  // mkdtemp made it 0700
  pid_t pid = fork();
  if (pid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(10);
    if (open(P("f").c_str(), O_WRONLY) >= 0 || errno != EACCES) _exit(11);
    if (open(P("new").c_str(), O_WRONLY | O_CREAT, 0644) >= 0 || errno != EACCES) _exit(12);
    if (open(P("f").c_str(), O_RDONLY) < 0) _exit(13);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(pid, waitpid(pid, &status, 0));
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F(FuseTest, Xattrs) {
  WriteFile(P("f"), "with xattrs");
  std::string path = P("f");
  ASSERT_EQ(0, setxattr(path.c_str(), "user.one", "value-1", 7, 0));
  std::string big(5000, 'v');
  ASSERT_EQ(0, setxattr(path.c_str(), "user.big", big.data(), big.size(), XATTR_CREATE));
  ASSERT_EQ(0, setxattr(path.c_str(), "user.empty", "", 0, 0));
  char buf[8192];
  ASSERT_EQ(7, getxattr(path.c_str(), "user.one", buf, sizeof buf));
  EXPECT_EQ("value-1", std::string(buf, 7));
  EXPECT_EQ(5000, getxattr(path.c_str(), "user.big", nullptr, 0));
  ASSERT_EQ(5000, getxattr(path.c_str(), "user.big", buf, sizeof buf));
  EXPECT_EQ(big, std::string(buf, 5000));
  EXPECT_EQ(0, getxattr(path.c_str(), "user.empty", buf, sizeof buf));
  EXPECT_EQ(-1, getxattr(path.c_str(), "user.big", buf, 10));
  EXPECT_EQ(ERANGE, errno);
  EXPECT_EQ(-1, getxattr(path.c_str(), "user.none", buf, sizeof buf));
  EXPECT_EQ(ENODATA, errno);
  EXPECT_EQ(-1, setxattr(path.c_str(), "user.one", "x", 1, XATTR_CREATE));
  EXPECT_EQ(EEXIST, errno);
  EXPECT_EQ(-1, setxattr(path.c_str(), "user.two", "x", 1, XATTR_REPLACE));
  EXPECT_EQ(ENODATA, errno);
  ASSERT_EQ(0, setxattr(path.c_str(), "user.one", "v2", 2, XATTR_REPLACE));
  ASSERT_EQ(2, getxattr(path.c_str(), "user.one", buf, sizeof buf));
  EXPECT_EQ("v2", std::string(buf, 2));
  ssize_t n = listxattr(path.c_str(), buf, sizeof buf);
  ASSERT_GT(n, 0);
  std::set<std::string> names;
  for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(std::strlen(buf + i)) + 1) names.insert(buf + i);
  EXPECT_EQ((std::set<std::string>{"user.one", "user.big", "user.empty"}), names);
  EXPECT_EQ(n, listxattr(path.c_str(), nullptr, 0));
  ASSERT_EQ(0, removexattr(path.c_str(), "user.big"));
  EXPECT_EQ(-1, removexattr(path.c_str(), "user.big"));
  EXPECT_EQ(ENODATA, errno);
  EXPECT_EQ(-1, getxattr(path.c_str(), "user.big", buf, sizeof buf));
  // Directories carry xattrs too; a file without any lists nothing.
  ASSERT_EQ(0, mkdir(P("d").c_str(), 0755));
  ASSERT_EQ(0, setxattr(P("d").c_str(), "user.dir", "d", 1, 0));
  ASSERT_EQ(1, getxattr(P("d").c_str(), "user.dir", buf, sizeof buf));
  WriteFile(P("plain"), "");
  EXPECT_EQ(0, listxattr(P("plain").c_str(), buf, sizeof buf));
  // Unlinking a file frees its xattr directory with it (nothing to see here but no error;
  // PersistsAfterExport checks the objects).
  ASSERT_EQ(0, setxattr(P("plain").c_str(), "user.gone", "g", 1, 0));
  ASSERT_EQ(0, unlink(P("plain").c_str()));
}

// A file the kernel knows to have no xattr directory is answered without the pool lock
// (Impl::Node::no_xattrs); its first setxattr, from create or lookup on, must be seen.
TEST_F(FuseTest, XattrsOfFilesKnownToHaveNone) {
  WriteFile(P("new"), "no xattrs yet");
  char buf[16];
  EXPECT_EQ(-1, getxattr(P("new").c_str(), "security.capability", buf, sizeof buf));
  EXPECT_EQ(ENODATA, errno);
  ASSERT_EQ(0, setxattr(P("new").c_str(), "user.k", "v1", 2, 0));
  ASSERT_EQ(2, getxattr(P("new").c_str(), "user.k", buf, sizeof buf));
  EXPECT_EQ(0, std::memcmp(buf, "v1", 2));
  // Through another name (a lookup of the same object), and after a write.
  ASSERT_EQ(0, link(P("new").c_str(), P("other").c_str()));
  WriteFile(P("other"), "written");
  ASSERT_EQ(2, getxattr(P("other").c_str(), "user.k", buf, sizeof buf));
  // Open files: the open reads the znode again.
  WriteFile(P("opened"), "o");
  int fd = open(P("opened").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(-1, fgetxattr(fd, "user.k", buf, sizeof buf));
  ASSERT_EQ(0, fsetxattr(fd, "user.k", "v2", 2, 0));
  EXPECT_EQ(2, fgetxattr(fd, "user.k", buf, sizeof buf));
  close(fd);
}

TEST_F(FuseTest, NameTooLong) {
  std::string n255(255, 'n'), n256(256, 'n');
  int fd = open(P(n255).c_str(), O_CREAT | O_WRONLY, 0644);
  EXPECT_GE(fd, 0);
  if (fd >= 0) close(fd);
  EXPECT_EQ(-1, open(P(n256).c_str(), O_CREAT | O_WRONLY, 0644));
  EXPECT_EQ(ENAMETOOLONG, errno);
  EXPECT_EQ(-1, mkdir(P(n256).c_str(), 0755));
  EXPECT_EQ(ENAMETOOLONG, errno);
  struct stat st;
  EXPECT_EQ(-1, stat(P(n256).c_str(), &st));
  EXPECT_EQ(ENAMETOOLONG, errno);
  EXPECT_EQ(-1, rename(P(n255).c_str(), P(n256).c_str()));
  EXPECT_EQ(ENAMETOOLONG, errno);
}

TEST_F(FuseTest, UnlinkedOpenFileStaysReadable) {
  std::string data(200000, 'u');
  WriteFile(P("f"), data);
  int fd = open(P("f").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(0, unlink(P("f").c_str()));
  EXPECT_NE(0, access(P("f").c_str(), F_OK));
  std::string back(data.size(), '\0');
  ASSERT_EQ(static_cast<ssize_t>(data.size()), pread(fd, back.data(), back.size(), 0));
  EXPECT_EQ(data, back);
  ASSERT_EQ(4, pwrite(fd, "more", 4, 200000));
  struct stat st;
  ASSERT_EQ(0, fstat(fd, &st));
  EXPECT_EQ(0u, st.st_nlink);
  EXPECT_EQ(200004, st.st_size);
  EXPECT_EQ(1u, mount_->open_files());
  EXPECT_EQ(EBUSY, mount_->Unmount(false).code());
  close(fd);
  // At once: the release may still be on its way to zfsd, the kernel knows better.
  ASSERT_TRUE(mount_->Unmount(false).ok());
  // Nothing left in the unlinked set: the object was freed.
  ASSERT_TRUE(pool_->WithZpl("ft/fs", [&](ZplWriter& z, uint64_t) -> Status {
    UZFS_ASSIGN(uint64_t n, z.DrainUnlinked());
    EXPECT_EQ(0u, n);
    return Status::Ok();
  }).ok());
}

TEST_F(FuseTest, ThreeThousandFilesInOneDirectory) {
  ASSERT_EQ(0, mkdir(P("many").c_str(), 0755));
  for (int i = 0; i < 3000; i++) {
    int fd = open(P("many/file-" + std::to_string(i)).c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0) << i;
    close(fd);
  }
  std::set<std::string> seen;
  DIR* d = opendir(P("many").c_str());
  ASSERT_NE(nullptr, d);
  while (dirent* e = readdir(d)) {
    EXPECT_TRUE(seen.insert(e->d_name).second) << e->d_name;
    if (e->d_name[0] == 'f') {
      EXPECT_EQ(DT_REG, e->d_type);
    }
  }
  closedir(d);
  EXPECT_EQ(3002u, seen.size());
  EXPECT_TRUE(seen.count(".") && seen.count(".."));
  for (int i = 0; i < 3000; i++) EXPECT_TRUE(seen.count("file-" + std::to_string(i))) << i;
  struct stat st;
  ASSERT_EQ(0, stat(P("many").c_str(), &st));
  EXPECT_EQ(3002, st.st_size);  // ZFS: 2 + entries
}

TEST_F(FuseTest, Statfs) {
  struct statvfs sv;
  ASSERT_EQ(0, statvfs(mnt_.c_str(), &sv));
  EXPECT_EQ(512u, sv.f_frsize);
  EXPECT_EQ(128u * 1024, sv.f_bsize);
  EXPECT_EQ(255u, sv.f_namemax);
  EXPECT_GT(sv.f_blocks, (400ULL << 20) / 512);  // a 512M pool, less labels and slop
  EXPECT_LE(sv.f_blocks, (512ULL << 20) / 512);
  EXPECT_LE(sv.f_bfree, sv.f_blocks);
  EXPECT_GT(sv.f_bfree, 0u);
  EXPECT_EQ(sv.f_bfree, sv.f_bavail);
}

TEST_F(FuseTest, Fsx) {
  std::string cmd = std::string(UZFS_FSX) + " " + P("fsx.dat") + " --ops 20000 --seed 42 --quiet";
  int rc = std::system(cmd.c_str());
  EXPECT_TRUE(WIFEXITED(rc));
  EXPECT_EQ(0, WEXITSTATUS(rc)) << cmd;
  // And once more with small files (a single block growing to the recordsize).
  cmd = std::string(UZFS_FSX) + " " + P("fsx2.dat") + " --ops 5000 --seed 7 --maxlen 70000 --maxop 9000 --quiet";
  rc = std::system(cmd.c_str());
  EXPECT_EQ(0, WEXITSTATUS(rc)) << cmd;
}

// What zfsd does at once: clients in parallel (FUSE's worker threads all wait for the pool
// lock) while a sync thread writes txgs under them.
TEST_F(FuseTest, ParallelClientsWhileSyncing) {
  std::atomic<bool> stop{false};
  std::atomic<int> syncs{0};
  std::thread syncer([&] {
    while (!stop) {
      EXPECT_TRUE(pool_->Sync().ok());
      syncs++;
      usleep(20000);
    }
  });
  std::vector<std::thread> fsx;
  std::atomic<int> failures{0};
  for (int i = 0; i < 3; i++) {
    fsx.emplace_back([&, i] {
      std::string cmd = std::string(UZFS_FSX) + " " + P("p" + std::to_string(i)) +
                        " --ops 4000 --seed " + std::to_string(100 + i) + " --quiet";
      int rc = std::system(cmd.c_str());
      if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) failures++;
    });
  }
  ASSERT_EQ(0, mkdir(P("shared").c_str(), 0755));
  std::vector<std::thread> makers;
  for (int t = 0; t < 4; t++) {
    makers.emplace_back([&, t] {
      for (int i = 0; i < 300; i++) {
        std::string n = P("shared/t" + std::to_string(t) + "-" + std::to_string(i));
        WriteFile(n, n);
        if (i % 2 == 0 && rename(n.c_str(), (n + ".r").c_str()) != 0) failures++;
        if (i % 4 == 1 && unlink(n.c_str()) != 0) failures++;
      }
    });
  }
  for (auto& t : makers) t.join();
  for (auto& t : fsx) t.join();
  stop = true;
  syncer.join();
  EXPECT_EQ(0, failures.load());
  EXPECT_GT(syncs.load(), 0);
  std::set<std::string> seen;
  DIR* d = opendir(P("shared").c_str());
  ASSERT_NE(nullptr, d);
  while (dirent* e = readdir(d)) seen.insert(e->d_name);
  closedir(d);
  EXPECT_EQ(2u + 4 * (150 + 75), seen.size());
  EXPECT_EQ(P("shared/t2-10"), ReadFile(P("shared/t2-10.r")));
  EXPECT_EQ(P("shared/t3-3"), ReadFile(P("shared/t3-3")));
}

TEST_F(FuseTest, MountpointRules) {
  // Occupied by our own mount (and a non-empty directory, a file).
  std::string other = dir_ + "/other";
  ASSERT_EQ(0, mkdir(other.c_str(), 0755));
  WriteFile(other + "/x", "x");
  auto m = FuseMount::Mount(pool_.get(), "ft/fs", other, {});
  EXPECT_EQ(EBUSY, m.status().code());
  EXPECT_NE(std::string::npos, m.status().message().find("directory is not empty"));
  m = FuseMount::Mount(pool_.get(), "ft/fs", other + "/x", {});
  EXPECT_EQ(ENOTDIR, m.status().code());
  m = FuseMount::Mount(pool_.get(), "ft/nope", dir_ + "/nope", {});
  EXPECT_EQ(ENOENT, m.status().code()) << m.status().ToString();
  // Read-only: reads work, changes fail with EROFS.
  WriteFile(P("ro"), "read me");
  ASSERT_TRUE(mount_->Unmount(false).ok());
  MountOptions o;
  o.readonly = true;
  MountIt(o);
  EXPECT_EQ("read me", ReadFile(P("ro")));
  EXPECT_EQ(-1, open(P("new").c_str(), O_CREAT | O_WRONLY, 0644));
  EXPECT_EQ(EROFS, errno);
  EXPECT_EQ(-1, mkdir(P("d").c_str(), 0755));
  EXPECT_EQ(EROFS, errno);
  // A busy working directory keeps a plain unmount from succeeding.
  ASSERT_TRUE(mount_->Unmount(false).ok());
  MountIt();
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(mnt_.c_str()) != 0) _exit(1);
    sleep(3);
    _exit(0);
  }
  usleep(500000);
  EXPECT_EQ(EBUSY, mount_->Unmount(false).code());
  EXPECT_TRUE(mount_->mounted());
  int st;
  waitpid(pid, &st, 0);
  EXPECT_TRUE(mount_->Unmount(false).ok());
  EXPECT_FALSE(mount_->mounted());
}

TEST_F(FuseTest, ForcedUnmountWithOpenFiles) {
  int fd = open(P("f").c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(0, unlink(P("f").c_str()));
  ASSERT_TRUE(mount_->Unmount(true).ok());
  EXPECT_FALSE(mount_->mounted());
  EXPECT_EQ(-1, pwrite(fd, "x", 1, 0));
  EXPECT_EQ(ENOTCONN, errno);
  struct stat a, b;  // the mountpoint is a plain directory again
  ASSERT_EQ(0, stat(mnt_.c_str(), &a));
  ASSERT_EQ(0, stat(dir_.c_str(), &b));
  EXPECT_EQ(a.st_dev, b.st_dev);
  close(fd);
  // The file unlinked while open was freed at unmount.
  ASSERT_TRUE(pool_->WithZpl("ft/fs", [&](ZplWriter& z, uint64_t) -> Status {
    UZFS_ASSIGN(uint64_t n, z.DrainUnlinked());
    EXPECT_EQ(0u, n);
    return Status::Ok();
  }).ok());
}

TEST_F(FuseTest, PersistsAfterExport) {
  std::string data(700 * 1024 + 5, '\0');
  std::mt19937 rng(5);
  for (char& c : data) c = static_cast<char>(rng());
  ASSERT_EQ(0, mkdir(P("dir").c_str(), 0750));
  WriteFile(P("dir/big"), data);
  WriteFile(P("small"), "small file\n");
  ASSERT_EQ(0, chown(P("small").c_str(), 1000, 100));
  ASSERT_EQ(0, chmod(P("small").c_str(), 0640));
  ASSERT_EQ(0, link(P("small").c_str(), P("dir/hard").c_str()));
  ASSERT_EQ(0, symlink("small", P("short-link").c_str()));
  std::string longt(120, 'L');
  ASSERT_EQ(0, symlink(longt.c_str(), P("long-link").c_str()));
  ASSERT_EQ(0, setxattr(P("small").c_str(), "user.color", "blue", 4, 0));
  ASSERT_EQ(0, setxattr(P("dir").c_str(), "user.kind", "directory", 9, 0));
  int fd = open(P("sparse").c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(4, pwrite(fd, "end!", 4, 20 << 20));
  close(fd);
  ASSERT_EQ(0, mkfifo(P("fifo").c_str(), 0644));
  ASSERT_EQ(0, mkdir(P("many").c_str(), 0755));
  for (int i = 0; i < 500; i++) WriteFile(P("many/f" + std::to_string(i)), std::to_string(i));
  // Sync in the middle, change more, then unmount, sync and export.
  ASSERT_TRUE(pool_->Sync().ok());
  WriteFile(P("after-sync"), "later");
  ASSERT_EQ(0, unlink(P("many/f7").c_str()));
  ASSERT_TRUE(mount_->Unmount(false).ok());
  mount_.reset();
  ASSERT_TRUE(pool_->Sync().ok());
  ASSERT_TRUE(pool_->Export().ok());
  pool_.reset();

  // The read side (zdb's code).
  {
    auto spa = Spa::OpenDevices({dev_}, "ft");
    ASSERT_TRUE(spa.ok()) << spa.status().ToString();
    auto dp = DslPool::Open(spa->get(), (*spa)->uberblock().rootbp, "ft");
    ASSERT_TRUE(dp.ok());
    auto info = (*dp)->Resolve("ft/fs");
    ASSERT_TRUE(info.ok());
    auto os = (*dp)->OpenObjset(*info);
    ASSERT_TRUE(os.ok());
    auto zpl = Zpl::Open(**os);
    ASSERT_TRUE(zpl.ok());
    Zpl& r = **zpl;
    auto read_all = [&](const std::string& path) {
      auto obj = r.Lookup(path);
      EXPECT_TRUE(obj.ok()) << path;
      if (!obj.ok()) return std::string();
      auto st = r.Stat(*obj);
      auto d = r.ReadFile(*obj, 0, st->size);
      return std::string(d->begin(), d->end());
    };
    EXPECT_EQ(data, read_all("/dir/big"));
    EXPECT_EQ("small file\n", read_all("/small"));
    EXPECT_EQ("small file\n", read_all("/dir/hard"));
    EXPECT_EQ("later", read_all("/after-sync"));
    auto small = r.Stat(*r.Lookup("/small"));
    EXPECT_EQ(static_cast<uint64_t>(S_IFREG | 0640), small->mode);
    EXPECT_EQ(1000u, small->uid);
    EXPECT_EQ(100u, small->gid);
    EXPECT_EQ(2u, small->links);
    EXPECT_NE(0u, small->xattr);
    EXPECT_EQ("small", *r.ReadLink(*r.Lookup("/short-link")));
    EXPECT_EQ(longt, *r.ReadLink(*r.Lookup("/long-link")));
    auto sp = r.Stat(*r.Lookup("/sparse"));
    EXPECT_EQ((20u << 20) + 4, sp->size);
    EXPECT_EQ(std::string(4096, '\0') , read_all("/sparse").substr(10 << 20, 4096));
    EXPECT_TRUE(S_ISFIFO(r.Stat(*r.Lookup("/fifo"))->mode));
    auto many = r.ReadDir(*r.Lookup("/many"));
    ASSERT_TRUE(many.ok());
    EXPECT_EQ(499u, many->size());
    EXPECT_EQ(ENOENT, r.Lookup("/many/f7").status().code());
    EXPECT_EQ("123", read_all("/many/f123"));
    // The xattr directory as zfs-fuse makes it.
    auto xd = r.Stat(small->xattr);
    ASSERT_TRUE(xd.ok());
    EXPECT_EQ(static_cast<uint64_t>(S_IFDIR | S_ISVTX | 0777), xd->mode);
    EXPECT_EQ(*r.Lookup("/small"), xd->parent);
    EXPECT_EQ(1u, xd->flags & 1);  // ZFS_XATTR
    auto xents = r.ReadDir(small->xattr);
    ASSERT_TRUE(xents.ok());
    ASSERT_EQ(1u, xents->size());
    EXPECT_EQ("user.color", (*xents)[0].name);
    auto xv = r.ReadFile((*xents)[0].object, 0, 100);
    EXPECT_EQ("blue", std::string(xv->begin(), xv->end()));
  }

  // Imported again: ZplWriter reads the xattrs, and the filesystem mounts again.
  PoolImportSpec is;
  is.devices = {dev_};
  is.pool = "ft";
  auto p = Pool::Import(is);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  pool_ = std::move(p).value();
  ASSERT_TRUE(pool_->WithZpl("ft/fs", [&](ZplWriter& z, uint64_t) -> Status {
    UZFS_ASSIGN(uint64_t dir, z.Lookup(z.root(), "dir"));
    UZFS_ASSIGN(Bytes v, z.GetXattr(dir, "user.kind"));
    EXPECT_EQ("directory", std::string(v.begin(), v.end()));
    UZFS_ASSIGN(auto names, z.ListXattr(dir));
    EXPECT_EQ(std::vector<std::string>{"user.kind"}, names);
    return Status::Ok();
  }).ok());
  MountIt();
  EXPECT_EQ(data, ReadFile(P("dir/big")));
  char buf[16];
  ASSERT_EQ(4, getxattr(P("small").c_str(), "user.color", buf, sizeof buf));
  EXPECT_EQ("blue", std::string(buf, 4));
  ASSERT_TRUE(mount_->Unmount(false).ok());
  mount_.reset();
  ASSERT_TRUE(pool_->Export().ok());
  pool_.reset();
  if (const char* keep = getenv("UZFS_FUSE_TEST_KEEP")) {
    std::filesystem::create_directories(keep);
    std::string cp = "cp --sparse=always " + dev_ + " " + keep + "/d0";
    EXPECT_EQ(0, std::system(cp.c_str()));
  }
}

// 1 MiB requests both ways; the page cache is kept across opens and dropped by
// InvalidateData.
TEST_F(FuseTest, LargeRequestsAndKeptPages) {
  std::string data(4 << 20, '\0');
  std::mt19937 rng(7);
  for (char& c : data) c = static_cast<char>(rng());
  int fd = open(P("big").c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(static_cast<ssize_t>(data.size()), write(fd, data.data(), data.size()));
  close(fd);
  EXPECT_EQ(1u << 20, mount_->largest_write());
  fd = open(P("big").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(0, posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED));
  std::string back(data.size(), '\0');
  uint64_t spliced = fuse_dev_io::SplicedReplies();
  ASSERT_EQ(static_cast<ssize_t>(back.size()), pread(fd, back.data(), back.size(), 0));
  close(fd);
  EXPECT_TRUE(back == data);
  EXPECT_GE(mount_->largest_read(), 512u << 10);
  // The replies spliced the ARC's pages (libfuse copies them out when it cannot).
  EXPECT_GT(fuse_dev_io::SplicedReplies(), spliced);
  // Read again through a new open: from the kernel's pages, no READ.
  uint64_t reads = mount_->read_requests();
  EXPECT_TRUE(ReadFile(P("big")) == data);
  EXPECT_EQ(reads, mount_->read_requests());
  // Bytes changed behind the mount: dropped, read again.
  struct stat st;
  ASSERT_EQ(0, stat(P("big").c_str(), &st));
  mount_->InvalidateData(st.st_ino, 0, 0);
  EXPECT_TRUE(ReadFile(P("big")) == data);
  EXPECT_GT(mount_->read_requests(), reads);
}

// Rollback in place: the mount stays, readers see the snapshot at once, a descriptor of a
// file the snapshot lacks answers ESTALE, one of a file it has reads the snapshot's bytes.
TEST_F(FuseTest, RollbackInPlace) {
  WriteFile(P("kept"), "old contents");
  ASSERT_EQ(0, setxattr(P("kept").c_str(), "user.k", "old", 3, 0));
  ASSERT_EQ(0, mkdir(P("dir").c_str(), 0755));
  WriteFile(P("dir/a"), "a");
  ASSERT_TRUE(pool_->Snapshot({"ft/fs@s"}).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  WriteFile(P("kept"), "new contents, longer");
  WriteFile(P("dir/b"), "b");
  ASSERT_EQ(0, unlink(P("dir/a").c_str()));
  WriteFile(P("later"), "later");
  EXPECT_EQ("later", ReadFile(P("later")));
  int kept = open(P("kept").c_str(), O_RDONLY);
  int later = open(P("later").c_str(), O_RDWR);
  ASSERT_GE(kept, 0);
  ASSERT_GE(later, 0);
  int cwd = open(".", O_RDONLY | O_DIRECTORY);
  ASSERT_EQ(0, chdir(P("dir").c_str()));
  Status s = mount_->Rollback([&] {
    UZFS_TRY(pool_->Rollback("ft/fs"));
    return pool_->Sync();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ("old contents", ReadFile(P("kept")));
  char xv[8];
  EXPECT_EQ(3, getxattr(P("kept").c_str(), "user.k", xv, sizeof xv));
  EXPECT_EQ("a", ReadFile(P("dir/a")));
  EXPECT_NE(0, access(P("dir/b").c_str(), F_OK));
  EXPECT_NE(0, access(P("later").c_str(), F_OK));
  // The working directory is the snapshot's dir (same object).
  EXPECT_EQ("a", ReadFile("a"));
  EXPECT_EQ(0, fchdir(cwd));
  close(cwd);
  char buf[64];
  EXPECT_EQ(12, pread(kept, buf, sizeof buf, 0));
  EXPECT_EQ(0, std::memcmp(buf, "old contents", 12));
  EXPECT_EQ(-1, pread(later, buf, sizeof buf, 0));
  EXPECT_EQ(ESTALE, errno);
  EXPECT_EQ(-1, pwrite(later, "x", 1, 0));
  EXPECT_EQ(ESTALE, errno);
  struct stat st;
  EXPECT_EQ(-1, fstat(later, &st));
  EXPECT_EQ(ESTALE, errno);
  close(kept);
  close(later);
  // The name is free for a new file.
  WriteFile(P("later"), "again");
  EXPECT_EQ("again", ReadFile(P("later")));
}

}  // namespace
}  // namespace uzfs
