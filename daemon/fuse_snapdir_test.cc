// .zfs on a FUSE mount: the snapshots' files read-only, snapdir visible or hidden, a
// destroyed snapshot gone, on read-write and read-only mounts (fixture: fuse_test_util.h).
#include "daemon/fuse_test_util.h"

namespace uzfs {
namespace {

// .zfs/snapshot/NAME shows each snapshot's files as they were, read-only.
TEST_F(FuseTest, SnapshotDirectory) {
  std::string big(400000, '\0');
  std::mt19937 rng(7);
  for (char& c : big) c = static_cast<char>(rng());
  ASSERT_EQ(0, mkdir(P("d").c_str(), 0750));
  WriteFile(P("d/big"), big);
  WriteFile(P("a"), "first");
  WriteFile(P("gone"), "soon deleted");
  ASSERT_EQ(0, symlink("d/big", P("ln").c_str()));
  struct stat big_st;
  ASSERT_EQ(0, stat(P("d/big").c_str(), &big_st));
  ASSERT_TRUE(pool_->Snapshot({"ft/fs@s1"}).ok());
  // Changes after the snapshot.
  WriteFile(P("a"), "second version");
  ASSERT_EQ(0, unlink(P("gone").c_str()));
  int fd = open(P("d/big").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(3, pwrite(fd, "XYZ", 3, 200000));
  close(fd);
  WriteFile(P("new"), "after s1");
  ASSERT_TRUE(pool_->Snapshot({"ft/fs@s2"}).ok());
  ASSERT_EQ(0, unlink(P("new").c_str()));

  // Hidden by default: not listed, but there.
  EXPECT_EQ((std::vector<std::string>{".", "..", "a", "d", "ln"}), Names(mnt_));
  struct stat st;
  ASSERT_EQ(0, stat(P(".zfs").c_str(), &st));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ((std::vector<std::string>{".", "..", "snapshot"}), Names(P(".zfs")));
  EXPECT_EQ((std::vector<std::string>{".", "..", "s1", "s2"}), Names(P(".zfs/snapshot")));
  EXPECT_EQ(-1, stat(P(".zfs/snapshot/nope").c_str(), &st));
  EXPECT_EQ(ENOENT, errno);
  EXPECT_EQ(-1, stat(P(".zfs/other").c_str(), &st));
  EXPECT_EQ(ENOENT, errno);

  // The old contents.
  std::string s1 = P(".zfs/snapshot/s1/");
  EXPECT_EQ((std::vector<std::string>{".", "..", "a", "d", "gone", "ln"}), Names(s1));
  EXPECT_EQ("first", ReadFile(s1 + "a"));
  EXPECT_EQ("soon deleted", ReadFile(s1 + "gone"));
  EXPECT_EQ(big, ReadFile(s1 + "d/big"));
  EXPECT_EQ(big, ReadFile(s1 + "ln"));  // the link resolves inside the snapshot
  char target[64] = {};
  ASSERT_EQ(5, readlink((s1 + "ln").c_str(), target, sizeof target));
  EXPECT_EQ("d/big", std::string(target));
  ASSERT_EQ(0, stat((s1 + "d/big").c_str(), &st));
  // The object number in the low 48 bits; never a head inode (one st_dev for all).
  EXPECT_EQ(big_st.st_ino, st.st_ino & ((1ULL << 48) - 1));
  EXPECT_NE(big_st.st_ino, st.st_ino);
  struct stat root_st, snaproot_st;
  ASSERT_EQ(0, stat(mnt_.c_str(), &root_st));
  ASSERT_EQ(0, stat(s1.c_str(), &snaproot_st));
  EXPECT_NE(root_st.st_ino, snaproot_st.st_ino);
  EXPECT_EQ(root_st.st_dev, snaproot_st.st_dev);
  EXPECT_EQ(big_st.st_size, st.st_size);
  ASSERT_EQ(0, stat((s1 + "d").c_str(), &st));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(0750u, st.st_mode & 07777);
  std::string s2 = P(".zfs/snapshot/s2/");
  EXPECT_EQ("second version", ReadFile(s2 + "a"));
  EXPECT_EQ("after s1", ReadFile(s2 + "new"));
  std::string changed = big;
  changed.replace(200000, 3, "XYZ");
  EXPECT_EQ(changed, ReadFile(s2 + "d/big"));
  EXPECT_EQ(-1, stat((s2 + "gone").c_str(), &st));
  EXPECT_EQ(ENOENT, errno);
  // The head is untouched by all this.
  EXPECT_EQ("second version", ReadFile(P("a")));
  EXPECT_EQ(changed, ReadFile(P("d/big")));

  // Read-only.
  EXPECT_EQ(-1, open((s1 + "a").c_str(), O_WRONLY));
  EXPECT_EQ(EROFS, errno);
  EXPECT_EQ(-1, open((s1 + "a").c_str(), O_RDONLY | O_TRUNC));
  EXPECT_EQ(EROFS, errno);
  EXPECT_EQ(-1, open((s1 + "created").c_str(), O_CREAT | O_WRONLY, 0644));
  EXPECT_EQ(EROFS, errno);
  EXPECT_EQ(-1, unlink((s1 + "a").c_str()));
  EXPECT_EQ(EROFS, errno);
  EXPECT_EQ(-1, mkdir((s1 + "dd").c_str(), 0755));
  EXPECT_EQ(EROFS, errno);
  EXPECT_EQ(-1, rmdir((s1 + "d").c_str()));
  EXPECT_EQ(EROFS, errno);
  EXPECT_EQ(-1, rename((s1 + "a").c_str(), (s1 + "b").c_str()));
  EXPECT_EQ(EROFS, errno);
  EXPECT_EQ(-1, chmod((s1 + "a").c_str(), 0600));
  EXPECT_EQ(EROFS, errno);
  EXPECT_EQ(-1, truncate((s1 + "a").c_str(), 1));
  EXPECT_EQ(EROFS, errno);
  EXPECT_EQ(-1, symlink("x", (s1 + "sl").c_str()));
  EXPECT_EQ(EROFS, errno);
  EXPECT_EQ(-1, setxattr((s1 + "a").c_str(), "user.x", "1", 1, 0));
  EXPECT_EQ(EROFS, errno);
  EXPECT_EQ(-1, mkdir(P(".zfs/snapshot/s3").c_str(), 0755));
  EXPECT_EQ(EROFS, errno);
  EXPECT_EQ(-1, link((s1 + "a").c_str(), P("hard").c_str()));
  EXPECT_EQ(EXDEV, errno);
  EXPECT_EQ(-1, mkdir(P(".zfs").c_str(), 0755));
  EXPECT_EQ(EEXIST, errno);
  EXPECT_EQ("first", ReadFile(s1 + "a"));

  // A destroyed snapshot is gone, even with its directory looked up (and a file open).
  fd = open((s1 + "d/big").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(pool_->DestroySnapshot("ft/fs@s1").ok());
  ASSERT_TRUE(pool_->Sync().ok());
  char buf[16];
  EXPECT_EQ(-1, pread(fd, buf, sizeof buf, 300000));  // open dropped the page cache
  EXPECT_EQ(ENOENT, errno);
  close(fd);
  EXPECT_EQ((std::vector<std::string>{".", "..", "s2"}), Names(P(".zfs/snapshot")));
  sleep(2);  // the kernel's cached names and attributes (1 s) expire
  EXPECT_EQ(-1, stat((s1 + "a").c_str(), &st));
  EXPECT_EQ(ENOENT, errno);
  EXPECT_EQ("second version", ReadFile(s2 + "a"));

  // A snapshot taken while mounted appears at once.
  WriteFile(P("a"), "third");
  ASSERT_TRUE(pool_->Snapshot({"ft/fs@s3"}).ok());
  EXPECT_EQ("third", ReadFile(P(".zfs/snapshot/s3/a")));
  EXPECT_EQ((std::vector<std::string>{".", "..", "s2", "s3"}), Names(P(".zfs/snapshot")));
  // A new snapshot under a destroyed one's name is the new one.
  ASSERT_TRUE(pool_->Snapshot({"ft/fs@s1"}).ok());
  EXPECT_EQ("third", ReadFile(s1 + "a"));
  EXPECT_EQ(-1, stat((s1 + "gone").c_str(), &st));
  EXPECT_EQ(ENOENT, errno);
}

// snapdir=visible lists .zfs in the root (the property is read at every readdir).
TEST_F(FuseTest, SnapdirVisible) {
  WriteFile(P("f"), "x");
  EXPECT_EQ((std::vector<std::string>{".", "..", "f"}), Names(mnt_));
  ASSERT_TRUE(pool_->SetDatasetProp("ft/fs", "snapdir", "visible").ok());
  EXPECT_EQ((std::vector<std::string>{".", "..", ".zfs", "f"}), Names(mnt_));
  // find walks into the snapshots without seeing loops.
  ASSERT_TRUE(pool_->Snapshot({"ft/fs@s"}).ok());
  std::string cmd = "find " + mnt_ + " > " + dir_ + "/find.out 2>&1";
  EXPECT_EQ(0, std::system(cmd.c_str()));
  EXPECT_EQ(mnt_ + "\n" + mnt_ + "/.zfs\n" + mnt_ + "/.zfs/snapshot\n" + mnt_ +
                "/.zfs/snapshot/s\n" + mnt_ + "/.zfs/snapshot/s/f\n" + mnt_ + "/f\n",
            ReadFile(dir_ + "/find.out"));
  ASSERT_TRUE(pool_->SetDatasetProp("ft/fs", "snapdir", "hidden").ok());
  EXPECT_EQ((std::vector<std::string>{".", "..", "f"}), Names(mnt_));
  ASSERT_TRUE(mount_->Unmount(false).ok());
  MountOptions o;
  o.snapdir_visible = true;
  MountIt(o);
  EXPECT_EQ((std::vector<std::string>{".", "..", ".zfs", "f"}), Names(mnt_));
  EXPECT_EQ((std::vector<std::string>{".", "..", "s"}), Names(P(".zfs/snapshot")));
}

// A read-only mount has .zfs too.
TEST_F(FuseTest, SnapshotDirectoryReadOnlyMount) {
  WriteFile(P("f"), "old");
  ASSERT_TRUE(pool_->Snapshot({"ft/fs@s"}).ok());
  WriteFile(P("f"), "new");
  ASSERT_TRUE(mount_->Unmount(false).ok());
  MountOptions o;
  o.readonly = true;
  MountIt(o);
  EXPECT_EQ("old", ReadFile(P(".zfs/snapshot/s/f")));
  EXPECT_EQ("new", ReadFile(P("f")));
}

}  // namespace
}  // namespace uzfs
