// TxgState (txg order) and DirtyThrottle (dsl_pool dirty accounting, dmu_tx_delay/wait).
#include "libcore/txg/txg.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace uzfs {
namespace {

TEST(TxgState, ATxgClosesOnlyWhenNoEarlyWritebackNorLabelsAreInFlight) {
  std::mutex mu;
  TxgState t;
  t.Init(41);
  EXPECT_EQ(42u, t.open());
  EXPECT_EQ(41u, t.synced());
  std::unique_lock<std::mutex> l(mu);
  t.BeginLabels();
  t.BeginEarly();
  std::atomic<bool> quiet{false};
  std::thread closer([&] {
    std::unique_lock<std::mutex> l2(mu);
    t.WaitQuiet(mu);
    quiet = true;
  });
  l.unlock();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(quiet);
  l.lock();
  t.EndLabels();
  l.unlock();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(quiet);  // the early writeback is still between capture and apply
  l.lock();
  t.EndEarly();
  l.unlock();
  closer.join();
  EXPECT_TRUE(quiet);
  t.Closed(42);
  EXPECT_EQ(43u, t.open());
  EXPECT_EQ(41u, t.synced());  // closed, not yet on disk
  t.Synced(42);
  EXPECT_EQ(42u, t.synced());
}

TEST(DirtyThrottle, DelayFollowsDmuTxDelaysCurve) {
  DirtyThrottle d;
  d.SetMax(100 << 20);
  EXPECT_EQ(0u, d.DelayNs(60 << 20));  // up to 60%: no delay
  // 500 us * (dirty - 60%) / (max - dirty): at 80%, 500 us; at 90%, 1.5 ms.
  EXPECT_EQ(500000u, d.DelayNs(80 << 20));
  EXPECT_EQ(1500000u, d.DelayNs(90 << 20));
  EXPECT_EQ(100000000u, d.DelayNs(uint64_t{100} << 20));  // at the bound: the most
  EXPECT_LT(d.DelayNs(99 << 20), 100000000u);
}

TEST(DirtyThrottle, AsksForASyncOncePastTheThresholdUntilDrained) {
  DirtyThrottle d;
  d.SetMax(100 << 20);  // threshold: 20 MiB (a fifth, below 64 MiB)
  int asked = 0;
  d.SetSyncWanted([&] { asked++; });
  d.Add(19 << 20);
  d.NoteDirty();
  EXPECT_EQ(0, asked);
  d.Add(2 << 20);
  d.NoteDirty();
  d.NoteDirty();
  EXPECT_EQ(1, asked);  // once
  EXPECT_FALSE(d.DrainedBelowThreshold());
  d.Credit(10 << 20);
  EXPECT_TRUE(d.DrainedBelowThreshold());
  d.Add(10 << 20);
  d.NoteDirty();
  EXPECT_EQ(2, asked);  // drained, so it asks again
  d.Closed();
  EXPECT_EQ(0u, d.dirty());
}

TEST(DirtyThrottle, AWriterAtTheBoundWaitsForTheTxgToClose) {
  DirtyThrottle d;
  d.SetMax(8 << 20);
  std::atomic<int> asked{0};
  d.SetSyncWanted([&] { asked++; });
  d.Add(8 << 20);
  std::atomic<bool> through{false};
  std::thread writer([&] {
    d.Throttle([] { return false; });
    through = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(through);
  EXPECT_EQ(1, asked.load());
  d.Closed();
  writer.join();
  EXPECT_TRUE(through);
  EXPECT_EQ(1u, d.waits());
}

TEST(DirtyThrottle, AWaitingWriterGoesOnWhenThePoolFails) {
  DirtyThrottle d;
  d.SetMax(8 << 20);
  d.Add(9 << 20);
  std::atomic<bool> failed{false}, through{false};
  std::thread writer([&] {
    d.Throttle([&] { return failed.load(); });
    through = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(through);
  failed = true;
  d.Wake();
  writer.join();
  EXPECT_TRUE(through);
}

}  // namespace
}  // namespace uzfs
