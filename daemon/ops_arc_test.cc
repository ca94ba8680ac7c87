// Tests of zfsd's ARC operations (daemon/ops_arc.h) through the registry, as a client's
// request reaches them: arc_stats reports every ArcStats field and the extra ones, arc_set
// changes c_max for root only and refuses less than 64 MiB.
#include "daemon/ops_arc.h"

#include <gtest/gtest.h>

#include "libzfs/proto.h"

namespace uzfs {
namespace {

using proto::OpId;

const Caller kRoot{0, 0, 1}, kUser{65534, 65534, 2};

NvList Req(OpId id, NvList args) {
  NvList r;
  r.AddString("op", proto::OpName(id));
  r.AddUint64("op_id", static_cast<uint64_t>(id));
  r.AddNvList("args", std::move(args));
  return r;
}

uint64_t Errno(const NvList& reply) { return reply.GetUint64("errno").value_or(999); }
std::string Message(const NvList& reply) {
  const std::string* m = reply.GetString("message");
  return m ? *m : "";
}
NvList ResultOf(const NvList& reply) {
  const NvList* r = reply.GetNvList("result");
  return r ? *r : NvList();
}

NvList SetArgs(uint64_t max) {
  NvList a;
  a.AddUint64("arc_max", max);
  return a;
}

TEST(ArcOps, StatsHaveEveryFieldAsUint64) {
  Arc arc(256ull << 20);
  Registry reg;
  RegisterArcOps(reg, &arc, nullptr);
  NvList reply = reg.Dispatch(kUser, Req(OpId::kArcStats, NvList()));
  ASSERT_EQ(Errno(reply), 0u) << Message(reply);
  NvList r = ResultOf(reply);
  for (const char* f :
       {"size", "c", "c_min", "c_max", "p", "mru_size", "mfu_size", "mru_ghost_size",
        "mfu_ghost_size", "data_size", "meta_size", "held_size", "resident", "segments",
        "mapped", "hits", "misses", "data_hits", "data_misses", "meta_hits", "meta_misses",
        "mru_hits", "mfu_hits", "mru_ghost_hits", "mfu_ghost_hits", "evictions",
        "evicted_bytes"}) {
    const NvValue* v = r.Find(f);
    ASSERT_NE(v, nullptr) << f;
    EXPECT_EQ(v->type, NvType::kUint64) << f;
  }
  EXPECT_EQ(r.pairs().size(), 27u);
  EXPECT_EQ(r.GetUint64("c_max"), 256ull << 20);
  ArcStats st = arc.Stats();
  EXPECT_EQ(r.GetUint64("c_min"), st.c_min);
  EXPECT_EQ(r.GetUint64("c"), st.c);
}

TEST(ArcOps, StatsCarryWhatExtraAdds) {
  Arc arc(128ull << 20);
  Registry reg;
  RegisterArcOps(reg, &arc, [](NvList* r) {
    r->AddUint64("faults_missing", 7);
    r->AddUint64("clients", 2);
  });
  NvList r = ResultOf(reg.Dispatch(kUser, Req(OpId::kArcStats, NvList())));
  EXPECT_EQ(r.GetUint64("faults_missing"), 7u);
  EXPECT_EQ(r.GetUint64("clients"), 2u);
  EXPECT_EQ(r.GetUint64("c_max"), 128ull << 20);
}

TEST(ArcOps, StatsRefuseArguments) {
  Arc arc(128ull << 20);
  Registry reg;
  RegisterArcOps(reg, &arc, nullptr);
  NvList a;
  a.AddUint64("bogus", 1);
  NvList reply = reg.Dispatch(kUser, Req(OpId::kArcStats, a));
  EXPECT_EQ(Errno(reply), static_cast<uint64_t>(EINVAL));
  EXPECT_EQ(Message(reply), "unknown argument 'bogus'");
}

TEST(ArcOps, SetChangesTheMaximum) {
  Arc arc(128ull << 20);
  Registry reg;
  RegisterArcOps(reg, &arc, nullptr);
  NvList reply = reg.Dispatch(kRoot, Req(OpId::kArcSet, SetArgs(96ull << 20)));
  ASSERT_EQ(Errno(reply), 0u) << Message(reply);
  EXPECT_EQ(arc.Stats().c_max, 96ull << 20);
  NvList r = ResultOf(reg.Dispatch(kUser, Req(OpId::kArcStats, NvList())));
  EXPECT_EQ(r.GetUint64("c_max"), 96ull << 20);
  // Exactly 64 MiB is allowed.
  reply = reg.Dispatch(kRoot, Req(OpId::kArcSet, SetArgs(64ull << 20)));
  ASSERT_EQ(Errno(reply), 0u) << Message(reply);
  EXPECT_EQ(arc.Stats().c_max, 64ull << 20);
}

TEST(ArcOps, SetRefusesLessThan64M) {
  Arc arc(128ull << 20);
  Registry reg;
  RegisterArcOps(reg, &arc, nullptr);
  for (uint64_t v : {0ull, 1ull, (64ull << 20) - 1}) {
    NvList reply = reg.Dispatch(kRoot, Req(OpId::kArcSet, SetArgs(v)));
    EXPECT_EQ(Errno(reply), static_cast<uint64_t>(EINVAL)) << v;
    EXPECT_EQ(Message(reply), "arc_max must be at least 64M") << v;
  }
  EXPECT_EQ(arc.Stats().c_max, 128ull << 20);
}

TEST(ArcOps, SetNeedsRootAndItsArgument) {
  Arc arc(128ull << 20);
  Registry reg;
  RegisterArcOps(reg, &arc, nullptr);
  NvList reply = reg.Dispatch(kUser, Req(OpId::kArcSet, SetArgs(96ull << 20)));
  EXPECT_EQ(Errno(reply), static_cast<uint64_t>(EPERM));
  EXPECT_EQ(Message(reply), "permission denied");
  reply = reg.Dispatch(kRoot, Req(OpId::kArcSet, NvList()));
  EXPECT_EQ(Errno(reply), static_cast<uint64_t>(EINVAL));
  EXPECT_EQ(Message(reply), "missing argument 'arc_max'");
  NvList str;
  str.AddString("arc_max", "96M");
  reply = reg.Dispatch(kRoot, Req(OpId::kArcSet, str));
  EXPECT_EQ(Errno(reply), static_cast<uint64_t>(EINVAL));
  EXPECT_EQ(Message(reply), "argument 'arc_max' must be a uint64");
  EXPECT_EQ(arc.Stats().c_max, 128ull << 20);
}

}  // namespace
}  // namespace uzfs
