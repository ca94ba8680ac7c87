// MountTable::ParseTempOptions: the one table of mount option words zfsd takes from zfs mount
// -o and mount.zfs (remount among them; unknown words refused, or skipped when sloppy).
#include "daemon/mount_table.h"

#include <gtest/gtest.h>

namespace uzfs {
namespace {

TEST(MountTableTest, ParsesEveryWordOfTheTable) {
  auto t = MountTable::ParseTempOptions("ro,noatime,exec,nosuid,dev");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->readonly, std::optional<bool>(true));
  EXPECT_EQ(t->atime, std::optional<bool>(false));
  EXPECT_EQ(t->exec, std::optional<bool>(true));
  EXPECT_EQ(t->setuid, std::optional<bool>(false));
  EXPECT_EQ(t->devices, std::optional<bool>(true));
  EXPECT_FALSE(t->remount);
  t = MountTable::ParseTempOptions("rw,atime,noexec,suid,nodev");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->readonly, std::optional<bool>(false));
  EXPECT_EQ(t->atime, std::optional<bool>(true));
  EXPECT_EQ(t->exec, std::optional<bool>(false));
  EXPECT_EQ(t->setuid, std::optional<bool>(true));
  EXPECT_EQ(t->devices, std::optional<bool>(false));
}

TEST(MountTableTest, RemountDefaultsAndEmptyWords) {
  auto t = MountTable::ParseTempOptions("remount,,defaults,ro,");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->remount);
  EXPECT_EQ(t->readonly, std::optional<bool>(true));
  EXPECT_FALSE(t->atime.has_value());
  // The last of two words for one property wins, as mount(8) takes them.
  t = MountTable::ParseTempOptions("ro,rw");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->readonly, std::optional<bool>(false));
  t = MountTable::ParseTempOptions("");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->remount);
  EXPECT_FALSE(t->readonly.has_value());
}

TEST(MountTableTest, UnknownWordsAreRefusedUnlessSloppy) {
  auto t = MountTable::ParseTempOptions("ro,bogus,noexec");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), EINVAL);
  EXPECT_EQ(t.status().message(), "unsupported mount option 'bogus'");
  // A word that only starts like one of the table is not it.
  EXPECT_FALSE(MountTable::ParseTempOptions("remounts").ok());
  t = MountTable::ParseTempOptions("ro,bogus,noexec", /*sloppy=*/true);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->readonly, std::optional<bool>(true));
  EXPECT_EQ(t->exec, std::optional<bool>(false));
}

}  // namespace
}  // namespace uzfs
