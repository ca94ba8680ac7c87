#include "libcore/base/fm.h"

#include <gtest/gtest.h>


namespace uzfs {
namespace {

NvList Ev(const std::string& cls) {
  NvList n;
  n.AddString("class", cls);
  return n;
}

TEST(EventLog, PostNumbersAndStampsEvents) {
  EventLog log;
  log.Post(Ev("sysevent.fs.zfs.pool_create"));
  log.Post(Ev("sysevent.fs.zfs.pool_export"));
  auto b = log.Next(0, 100);
  ASSERT_EQ(b.events.size(), 2u);
  EXPECT_EQ(b.dropped, 0u);
  EXPECT_EQ(b.last, 2u);
  EXPECT_EQ(*b.events[0].GetString("class"), "sysevent.fs.zfs.pool_create");
  EXPECT_EQ(b.events[0].GetUint64("eid"), 1u);
  EXPECT_EQ(b.events[1].GetUint64("eid"), 2u);
  const NvValue* t = b.events[0].Find("time");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->type, NvType::kInt64Array);
  ASSERT_EQ(t->i_arr.size(), 2u);
  EXPECT_GT(t->i_arr[0], 1700000000);
  // A cursor at the end sees nothing new.
  EXPECT_TRUE(log.Next(b.last, 100).events.empty());
  // max bounds a batch; the cursor goes on from there.
  auto one = log.Next(0, 1);
  ASSERT_EQ(one.events.size(), 1u);
  EXPECT_EQ(one.last, 1u);
  EXPECT_EQ(log.Next(one.last, 10).events.size(), 1u);
}

TEST(EventLog, OldEventsAreDroppedAndAReaderIsToldHowMany) {
  EventLog log(4);
  for (int i = 0; i < 10; i++) log.Post(Ev("e" + std::to_string(i)));
  auto fresh = log.Next(0, 100);  // a new reader: the oldest kept, nothing "dropped"
  ASSERT_EQ(fresh.events.size(), 4u);
  EXPECT_EQ(fresh.dropped, 0u);
  EXPECT_EQ(*fresh.events[0].GetString("class"), "e6");
  auto behind = log.Next(2, 100);  // saw eids 1-2; 3-6 are gone
  EXPECT_EQ(behind.dropped, 4u);
  ASSERT_EQ(behind.events.size(), 4u);
  EXPECT_EQ(behind.events[0].GetUint64("eid"), 7u);
}

TEST(EventLog, ClearEmptiesAndEidsGoOn) {
  EventLog log;
  log.Post(Ev("a"));
  log.Post(Ev("b"));
  EXPECT_EQ(log.Clear(), 2u);
  EXPECT_TRUE(log.Next(0, 100).events.empty());
  log.Post(Ev("c"));
  auto b = log.Next(0, 100);
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].GetUint64("eid"), 3u);
  EXPECT_EQ(log.Clear(), 1u);
}

}  // namespace
}  // namespace uzfs
