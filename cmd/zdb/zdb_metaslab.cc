// zdb -m: metaslabs and their space maps (zfs-fuse zdb.c dump_metaslabs, dump_metaslab,
// dump_spacemap); also the space map loading that -b's leak check uses.
#include <cinttypes>
#include <cstdio>

#include "cmd/zdb/pool_dumps.h"
#include "libcore/spa/space_map.h"

namespace uzfs::zdb {

namespace {

struct SpaceMapObj {
  uint64_t object = 0, objsize = 0, alloc = 0;
  bool little = true;
  Bytes raw;
};

// The space map object's header (bonus: {smo_object, smo_objsize, smo_alloc}) and entries.
Result<SpaceMapObj> ReadSpaceMap(ObjSet& mos, uint64_t obj) {
  SpaceMapObj sm;
  UZFS_ASSIGN(DnodePhys dn, mos.Dnode(obj));
  if (dn.type != kOtSpaceMap || dn.bonus.size() < 24)
    return Status::Error(ECORRUPT, "object " + std::to_string(obj) + " is not a space map");
  sm.little = dn.little;
  sm.object = Load64(dn.bonus.data(), dn.little);
  sm.objsize = Load64(dn.bonus.data() + 8, dn.little);
  sm.alloc = Load64(dn.bonus.data() + 16, dn.little);
  if (sm.object != obj) return Status::Error(ECORRUPT, "space map header names another object");
  UZFS_ASSIGN(sm.raw, mos.Read(dn, 0, sm.objsize));
  return sm;
}

// The metaslab array of a top-level vdev: one space map object number per metaslab.
Result<std::vector<uint64_t>> MetaslabArray(ObjSet& mos, const Vdev& vd) {
  std::vector<uint64_t> out;
  if (vd.is_hole()) return out;  // a removed log device's place: no metaslabs
  if (vd.metaslab_shift == 0 || vd.metaslab_shift > 40) return Status::Error(ECORRUPT, "bad metaslab_shift");
  uint64_t count = vd.asize >> vd.metaslab_shift;
  if (vd.metaslab_array == 0) return std::vector<uint64_t>(count, 0);
  UZFS_ASSIGN(DnodePhys dn, mos.Dnode(vd.metaslab_array));
  UZFS_ASSIGN(Bytes raw, mos.Read(dn, 0, count * 8));
  for (uint64_t m = 0; m < count; m++)
    out.push_back(m * 8 + 8 <= raw.size() ? Load64(raw.data() + 8 * m, dn.little) : 0);
  return out;
}

}  // namespace

Status PoolDumper::LoadSpaceMaps(std::map<uint64_t, RangeSet>* alloc, uint64_t* total_alloc,
                                 uint64_t* norm_alloc, uint64_t* norm_space) {
  *total_alloc = 0;
  *norm_alloc = 0;
  *norm_space = 0;
  for (const auto& top : spa_.root().children) {
    if (top->type == "missing" || top->is_hole()) continue;
    UZFS_ASSIGN(std::vector<uint64_t> sms, MetaslabArray(dp_->mos(), *top));
    // zdb's totals: every class is checked for leaks, the normal class alone is "SPA
    // allocated" (a separate log device's space is no pool space).
    if (!top->is_log) *norm_space += static_cast<uint64_t>(sms.size()) << top->metaslab_shift;
    RangeSet& set = (*alloc)[top->id];
    for (size_t m = 0; m < sms.size(); m++) {
      if (sms[m] == 0) continue;
      UZFS_ASSIGN(SpaceMapObj sm, ReadSpaceMap(dp_->mos(), sms[m]));
      *total_alloc += sm.alloc;
      if (!top->is_log) *norm_alloc += sm.alloc;
      SpaceMapSummary sum;
      UZFS_ASSIGN(auto entries, DecodeSpaceMap(sm.raw, sm.objsize, m << top->metaslab_shift,
                                               static_cast<unsigned>(top->ashift), sm.little, &sum));
      for (const SpaceMapEntry& e : entries) {
        if (e.debug) continue;
        bool ok = e.alloc ? set.Add(e.offset, e.run) : set.Remove(e.offset, e.run);
        if (!ok) {
          char buf[160];
          std::snprintf(buf, sizeof buf, "space map %" PRIu64 " %s [%" PRIx64 ", +%" PRIx64
                        ") inconsistently", sms[m], e.alloc ? "allocates" : "frees", e.offset, e.run);
          return Status::Error(ECORRUPT, buf);
        }
      }
    }
  }
  return Status::Ok();
}

int PoolDumper::DumpMetaslabs() {
  std::printf("\nMetaslabs:\n");
  int rc = kExitOk;
  for (const auto& top : spa_.root().children) {
    auto sms = MetaslabArray(dp_->mos(), *top);
    if (!sms.ok()) {
      Fatal("vdev " + std::to_string(top->id) + ": " + sms.status().ToString());
      rc = kExitErrors;
      continue;
    }
    std::printf("\tvdev %10" PRIu64 "\n\t%-10s%5zu   %-19s   %-15s   %-10s\n", top->id, "metaslabs",
                sms->size(), "offset", "spacemap", "free");
    std::printf("\t%15s   %19s   %15s   %10s\n", "---------------", "-------------------",
                "---------------", "-------------");
    const uint64_t ms_size = 1ULL << top->metaslab_shift;
    for (size_t m = 0; m < sms->size(); m++) {
      uint64_t smobj = (*sms)[m];
      SpaceMapObj sm;
      if (smobj != 0) {
        auto r = ReadSpaceMap(dp_->mos(), smobj);
        if (!r.ok()) {
          std::printf("\tmetaslab %6zu   error reading space map %" PRIu64 ": %s\n", m, smobj,
                      r.status().ToString().c_str());
          rc = kExitErrors;
          continue;
        }
        sm = std::move(*r);
      }
      std::printf("\tmetaslab %6zu   offset %12" PRIx64 "   spacemap %6" PRIu64 "   free    %5s\n", m,
                  m * ms_size, smobj, NiceNum(ms_size - sm.alloc).c_str());
      if (o_.m > 1) {
        // dump_metaslab_stats: the free segments of the metaslab (its range minus ALLOC).
        RangeSet used;
        bool consistent = true;
        if (smobj != 0) {
          auto entries = DecodeSpaceMap(sm.raw, sm.objsize, m * ms_size,
                                        static_cast<unsigned>(top->ashift), sm.little);
          if (entries.ok()) {
            for (const SpaceMapEntry& e : *entries)
              if (!e.debug) consistent &= e.alloc ? used.Add(e.offset, e.run) : used.Remove(e.offset, e.run);
          } else {
            consistent = false;
          }
        }
        uint64_t segments = 0, maxsize = 0, cursor = m * ms_size;
        auto gap = [&](uint64_t start, uint64_t end) {
          if (end > start) {
            segments++;
            maxsize = std::max(maxsize, end - start);
          }
        };
        used.ForEach([&](uint64_t start, uint64_t size) {
          gap(cursor, start);
          cursor = start + size;
        });
        gap(cursor, (m + 1) * ms_size);
        std::printf("\t %25s %10lu   %7s  %6s   %4s %4d%%\n", "segments",
                    static_cast<unsigned long>(segments), "maxsize", NiceNum(maxsize).c_str(),
                    "freepct", static_cast<int>((ms_size - sm.alloc) * 100 / ms_size));
        if (!consistent) {
          std::printf("\t space map %" PRIu64 " is inconsistent\n", smobj);
          rc = kExitErrors;
        }
      }
      if (o_.m > 2 && smobj != 0) {
        auto entries = DecodeSpaceMap(sm.raw, sm.objsize, m * ms_size,
                                      static_cast<unsigned>(top->ashift), sm.little);
        if (!entries.ok()) {
          std::printf("\t    %s\n", entries.status().ToString().c_str());
          rc = kExitErrors;
          continue;
        }
        static const char* const kActions[] = {"ALLOC", "FREE", "CONDENSE", "INVALID",
                                               "INVALID", "INVALID", "INVALID", "INVALID"};
        uint64_t alloc = 0;
        for (size_t i = 0; i < entries->size(); i++) {
          const SpaceMapEntry& e = (*entries)[i];
          if (e.debug) {
            std::printf("\t    [%6zu] %s: txg %" PRIu64 ", pass %" PRIu64 "\n", i,
                        kActions[e.action & 7], e.txg, e.syncpass);
          } else {
            std::printf("\t    [%6zu]    %c  range: %010" PRIx64 "-%010" PRIx64 "  size: %06" PRIx64 "\n",
                        i, e.alloc ? 'A' : 'F', e.offset, e.offset + e.run, e.run);
            alloc = e.alloc ? alloc + e.run : alloc - e.run;
          }
        }
        if (alloc != sm.alloc) {
          std::printf("space_map_object alloc (%" PRIu64 ") INCONSISTENT with space map summary (%" PRIu64 ")\n",
                      sm.alloc, alloc);
          rc = kExitErrors;
        }
      }
    }
    std::printf("\n");
  }
  return rc;
}

}  // namespace uzfs::zdb
