#include "libcore/vdev/vdev_dtl.h"

#include <gtest/gtest.h>

namespace uzfs {
namespace {

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

TEST(Dtl, AddMergesNeighboursAndReportsNews) {
  Dtl d;
  EXPECT_TRUE(d.empty());
  EXPECT_TRUE(d.Add(10, 10));
  EXPECT_FALSE(d.Add(10, 10));  // nothing new
  EXPECT_TRUE(d.Add(11, 12));   // adjacent: one range
  EXPECT_EQ((Ranges{{10, 12}}), d.ranges());
  EXPECT_TRUE(d.Add(20, 25));
  EXPECT_EQ((Ranges{{10, 12}, {20, 25}}), d.ranges());
  EXPECT_TRUE(d.Add(13, 19));  // fills the gap
  EXPECT_EQ((Ranges{{10, 25}}), d.ranges());
  EXPECT_FALSE(d.Add(15, 18));
  EXPECT_EQ(16u, d.count());
  EXPECT_EQ(10u, d.min());
  EXPECT_EQ(25u, d.max());
  EXPECT_FALSE(d.Add(5, 4));  // empty range
}

TEST(Dtl, ContainsAndRemoveBelow) {
  Dtl d;
  d.Add(5, 7);
  d.Add(30, 40);
  EXPECT_FALSE(d.Contains(4));
  EXPECT_TRUE(d.Contains(5));
  EXPECT_TRUE(d.Contains(7));
  EXPECT_FALSE(d.Contains(8));
  EXPECT_TRUE(d.Contains(40));
  EXPECT_FALSE(d.Contains(41));
  EXPECT_TRUE(d.RemoveBelow(35));  // a resilver over (.., 35) covered 5-7 and 30-34
  EXPECT_EQ((Ranges{{35, 40}}), d.ranges());
  EXPECT_FALSE(d.RemoveBelow(35));
  EXPECT_TRUE(d.RemoveBelow(41));
  EXPECT_TRUE(d.empty());
}

}  // namespace
}  // namespace uzfs
