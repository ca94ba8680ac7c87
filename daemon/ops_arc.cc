// Registration of zfsd's ARC operations (see ops_arc.h).
#include "daemon/ops_arc.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "libzfs/proto.h"

namespace uzfs {

namespace {

using proto::OpId;

// Every ArcStats field, in the header's order, under its own name: the wire names are the
// member names, so arcstat and this table can never disagree about what a number means.
struct StatField {
  const char* name;
  uint64_t ArcStats::*member;
};
constexpr StatField kStatFields[] = {
    {"size", &ArcStats::size},
    {"c", &ArcStats::c},
    {"c_min", &ArcStats::c_min},
    {"c_max", &ArcStats::c_max},
    {"p", &ArcStats::p},
    {"mru_size", &ArcStats::mru_size},
    {"mfu_size", &ArcStats::mfu_size},
    {"mru_ghost_size", &ArcStats::mru_ghost_size},
    {"mfu_ghost_size", &ArcStats::mfu_ghost_size},
    {"data_size", &ArcStats::data_size},
    {"meta_size", &ArcStats::meta_size},
    {"held_size", &ArcStats::held_size},
    {"resident", &ArcStats::resident},
    {"segments", &ArcStats::segments},
    {"mapped", &ArcStats::mapped},
    {"hits", &ArcStats::hits},
    {"misses", &ArcStats::misses},
    {"data_hits", &ArcStats::data_hits},
    {"data_misses", &ArcStats::data_misses},
    {"meta_hits", &ArcStats::meta_hits},
    {"meta_misses", &ArcStats::meta_misses},
    {"mru_hits", &ArcStats::mru_hits},
    {"mfu_hits", &ArcStats::mfu_hits},
    {"mru_ghost_hits", &ArcStats::mru_ghost_hits},
    {"mfu_ghost_hits", &ArcStats::mfu_ghost_hits},
    {"evictions", &ArcStats::evictions},
    {"evicted_bytes", &ArcStats::evicted_bytes},
};
// A field added to ArcStats without a row here would silently be missing from arc_stats.
static_assert(sizeof(ArcStats) == std::size(kStatFields) * sizeof(uint64_t),
              "every ArcStats field needs a row in kStatFields");

OpDef Def(OpId id, Perm perm, std::vector<ArgSpec> args, OpHandler h) {
  OpDef d;
  d.id = static_cast<uint64_t>(id);
  d.name = proto::OpName(id);
  d.perm = perm;
  d.args = std::move(args);
  d.handler = std::move(h);
  return d;
}

}  // namespace

void AddArcStats(const ArcStats& st, NvList* out) {
  for (const StatField& f : kStatFields) out->AddUint64(f.name, st.*f.member);
}

void RegisterArcOps(Registry& reg, Arc* arc, std::function<void(NvList*)> extra) {
  reg.Add(Def(OpId::kArcStats, Perm::kRead, {},
              [arc, extra = std::move(extra)](const Caller&, const NvList&, NvList* r) {
                AddArcStats(arc->Stats(), r);
                if (extra) extra(r);
                return Status::Ok();
              }));
  reg.Add(Def(OpId::kArcSet, Perm::kRoot, {{"arc_max", NvType::kUint64, true}},
              [arc](const Caller& who, const NvList& a, NvList*) {
                uint64_t max = a.GetUint64("arc_max").value_or(0);
                if (max < kArcMinMax) return Status::Error(EINVAL, "arc_max must be at least 64M");
                arc->SetMax(max);
                spdlog::info("arc_max set to {} bytes (uid {})", max, who.uid);
                return Status::Ok();
              }));
}

}  // namespace uzfs
