// LeafHealth's rules (vdev_health.h) and LeafInject's (vdev_inject.h).
#include "libcore/vdev/vdev_health.h"

#include <gtest/gtest.h>

#include <cerrno>

#include "libcore/vdev/vdev_inject.h"

namespace uzfs {
namespace {

TEST(LeafHealth, AnsweringProbeKeepsOnlineAndCounts) {
  LeafHealth h;
  int probes = 0;
  auto ok = [&] { probes++; return ProbeResult::kOk; };
  EXPECT_EQ(h.OnError(VdevErrKind::kRead, ok), LeafState::kOnline);
  EXPECT_EQ(h.OnError(VdevErrKind::kWrite, ok), LeafState::kOnline);
  EXPECT_EQ(h.OnError(VdevErrKind::kWrite, ok), LeafState::kOnline);
  EXPECT_EQ(h.read_errors(), 1u);
  EXPECT_EQ(h.write_errors(), 2u);
  EXPECT_EQ(h.checksum_errors(), 0u);
  EXPECT_EQ(probes, 3);
}

TEST(LeafHealth, TenthErrorFaultsAndDeadCountsNothing) {
  LeafHealth h;
  for (uint64_t i = 1; i < LeafHealth::kFaultAfter; i++)
    EXPECT_EQ(h.OnError(VdevErrKind::kWrite, nullptr), LeafState::kOnline) << i;
  EXPECT_EQ(h.OnError(VdevErrKind::kWrite, nullptr), LeafState::kFaulted);
  EXPECT_TRUE(h.dead());
  EXPECT_EQ(h.OnError(VdevErrKind::kRead, nullptr), LeafState::kFaulted);
  EXPECT_EQ(h.write_errors(), LeafHealth::kFaultAfter);
  EXPECT_EQ(h.read_errors(), 0u);
  h.Clear();
  EXPECT_EQ(h.state(), LeafState::kOnline);
  EXPECT_EQ(h.write_errors(), 0u);
}

TEST(LeafHealth, TheOnlyCopyIsDegradedByCountsButFaultedByItsProbe) {
  // vdev_fault's back-off: the count of errors does not fault a leaf holding the only copy;
  // it marks it DEGRADED, which is no dead state: its errors are still counted.
  LeafHealth h;
  int asked = 0;
  auto no = [&asked] { asked++; return false; };
  for (uint64_t i = 1; i < LeafHealth::kFaultAfter; i++)
    EXPECT_EQ(h.OnError(VdevErrKind::kRead, nullptr, no), LeafState::kOnline) << i;
  for (uint64_t i = 0; i <= LeafHealth::kFaultAfter; i++)
    EXPECT_EQ(h.OnError(VdevErrKind::kRead, nullptr, no), LeafState::kDegraded) << i;
  EXPECT_FALSE(h.dead());
  EXPECT_EQ(h.read_errors(), 2 * LeafHealth::kFaultAfter);
  EXPECT_EQ(asked, static_cast<int>(LeafHealth::kFaultAfter + 1));
  // Once another copy exists again, the next error faults it.
  EXPECT_EQ(h.OnError(VdevErrKind::kRead, nullptr, [] { return true; }), LeafState::kFaulted);
  EXPECT_TRUE(h.dead());
  // A probe that fails is not the diagnosis engine's: the leaf does not answer, DEGRADED or not.
  LeafHealth p, d;
  EXPECT_EQ(p.OnError(VdevErrKind::kRead, [] { return ProbeResult::kFailed; }, no),
            LeafState::kFaulted);
  d.Set(LeafState::kDegraded);
  EXPECT_EQ(d.OnError(VdevErrKind::kWrite, [] { return ProbeResult::kFailed; }, no),
            LeafState::kFaulted);
}

// vdev_clear drops vdev_degraded: counters zeroed, ONLINE; a removed device ends it too.
TEST(LeafHealth, ClearMakesADegradedLeafOnline) {
  LeafHealth h, r;
  auto no = [] { return false; };
  for (uint64_t i = 0; i < LeafHealth::kFaultAfter; i++) (void)h.OnError(VdevErrKind::kWrite, nullptr, no);
  ASSERT_EQ(h.state(), LeafState::kDegraded);
  EXPECT_EQ(h.OnError(VdevErrKind::kChecksum, nullptr, no), LeafState::kDegraded);
  EXPECT_EQ(h.checksum_errors(), 1u);
  h.Clear();
  EXPECT_EQ(h.state(), LeafState::kOnline);
  EXPECT_EQ(h.write_errors() + h.checksum_errors(), 0u);
  EXPECT_EQ(h.OnError(VdevErrKind::kWrite, nullptr, no), LeafState::kOnline);  // counting anew
  r.Set(LeafState::kDegraded);
  EXPECT_EQ(r.Remove(), LeafState::kDegraded);
  EXPECT_EQ(r.state(), LeafState::kRemoved);
}

TEST(LeafHealth, ChecksumErrorsAreCountedButFaultNothing) {
  LeafHealth h;
  for (uint64_t i = 0; i < 3 * LeafHealth::kFaultAfter; i++)
    EXPECT_EQ(h.OnError(VdevErrKind::kChecksum, nullptr), LeafState::kOnline);
  EXPECT_EQ(h.checksum_errors(), 3 * LeafHealth::kFaultAfter);
  for (uint64_t i = 1; i < LeafHealth::kFaultAfter; i++) (void)h.OnError(VdevErrKind::kRead, nullptr);
  EXPECT_EQ(h.state(), LeafState::kOnline);
  EXPECT_EQ(h.OnError(VdevErrKind::kRead, nullptr), LeafState::kFaulted);
}

TEST(LeafHealth, FailedProbeFaultsGoneProbeMakesUnavail) {
  LeafHealth a, b;
  EXPECT_EQ(a.OnError(VdevErrKind::kRead, [] { return ProbeResult::kFailed; }), LeafState::kFaulted);
  EXPECT_EQ(b.OnError(VdevErrKind::kWrite, [] { return ProbeResult::kGone; }), LeafState::kCantOpen);
  EXPECT_EQ(a.read_errors(), 1u);
  EXPECT_EQ(b.write_errors(), 1u);
}

// spa_async_remove: REMOVED with the counters zeroed (the state kept: no vdev_clear).
TEST(LeafHealth, RemovedBlockDeviceZeroesCountersAndStays) {
  LeafHealth a, b, c;
  (void)a.OnError(VdevErrKind::kRead, nullptr);
  EXPECT_EQ(a.OnError(VdevErrKind::kWrite, [] { return ProbeResult::kRemoved; }), LeafState::kRemoved);
  EXPECT_EQ(a.read_errors() + a.write_errors(), 0u);
  EXPECT_EQ(a.OnError(VdevErrKind::kRead, nullptr), LeafState::kRemoved);  // dead: not counted
  EXPECT_EQ(a.read_errors(), 0u);
  (void)b.OnError(VdevErrKind::kChecksum, nullptr);
  EXPECT_EQ(b.Remove(), LeafState::kOnline);
  EXPECT_EQ(b.state(), LeafState::kRemoved);
  EXPECT_EQ(b.checksum_errors(), 0u);
  EXPECT_EQ(b.Remove(), LeafState::kRemoved);
  b.Clear();  // zpool clear / online after the reopen
  EXPECT_EQ(b.state(), LeafState::kOnline);
  c.Set(LeafState::kOffline);  // an offline leaf stays offline
  EXPECT_EQ(c.Remove(), LeafState::kOffline);
  EXPECT_EQ(c.state(), LeafState::kOffline);
}

TEST(LeafInject, ErrorsByKindAndGone) {
  LeafInject in;
  EXPECT_EQ(in.Hit(false), 0);
  EXPECT_EQ(in.Hit(true), 0);
  EXPECT_FALSE(in.gone());
  in.Set(EIO, 0, 100);
  EXPECT_EQ(in.Hit(false), EIO);
  EXPECT_EQ(in.Hit(true), 0);
  EXPECT_FALSE(in.gone());
  in.Set(0, ENXIO, 100);
  EXPECT_EQ(in.Hit(true), ENXIO);
  EXPECT_TRUE(in.gone());
  in.Set(0, 0, 100);
  EXPECT_FALSE(in.gone());
}

TEST(LeafInject, FrequencyFailsAboutThatShare) {
  LeafInject in;
  in.Set(EIO, EIO, 25);
  int hits = 0;
  for (int i = 0; i < 20000; i++) hits += in.Hit(i & 1) != 0;
  EXPECT_GT(hits, 20000 * 20 / 100);
  EXPECT_LT(hits, 20000 * 30 / 100);
}

}  // namespace
}  // namespace uzfs
