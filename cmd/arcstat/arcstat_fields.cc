// arcstat's field table: each column's name, width, unit, description and how its value
// comes from arc_stats (libcore/arc/arc.h's ArcStats names, plus the file service's
// faults_missing, faults_wp, fault_errors, maps and clients). Names follow OpenZFS's arcstat
// where the statistic is the same (read, hits, miss, hit%, miss%, arcsz, size, c, mru, mfu,
// mrug, mfug, mrusz, mfusz, mrugsz, mfugsz); "d" is data and "m" metadata here (OpenZFS
// splits demand and prefetch, which this ARC does not have).
#include "cmd/arcstat/arcstat.h"

namespace uzfs::arcstat {

namespace {

std::optional<double> Get(const Sample* s, const char* name) {
  if (!s) return std::nullopt;
  auto it = s->find(name);
  if (it == s->end()) return std::nullopt;
  return static_cast<double>(it->second);
}

// A counter as a rate over the window: (now - before) / seconds; the first row has no
// "before" and shows the average since zfsd started over one interval, as OpenZFS does.
std::optional<double> Rate(const Window& w, const char* name) {
  auto now = Get(w.cur, name);
  if (!now) return std::nullopt;
  double d = *now;
  auto before = Get(w.prev, name);
  if (before && *before <= *now) d -= *before;  // else zfsd restarted: count from zero
  return d / static_cast<double>(w.secs);
}

std::optional<double> Sum(std::optional<double> a, std::optional<double> b) {
  if (!a || !b) return std::nullopt;
  return *a + *b;
}

// 100 * part / (part + rest), 0 when there was nothing.
std::optional<double> Percent(std::optional<double> part, std::optional<double> rest) {
  if (!part || !rest) return std::nullopt;
  double all = *part + *rest;
  return all > 0 ? 100 * *part / all : 0;
}

std::optional<double> Gauge(const Window& w, const char* name) { return Get(w.cur, name); }

}  // namespace

const std::vector<Field>& Fields() {
  using W = const Window&;
  static const std::vector<Field> fields = {
      {"time", 8, Unit::kTime, "Time", nullptr},
      {"read", 4, Unit::kCount, "ARC accesses per second (hits + misses)",
       [](W w) { return Sum(Rate(w, "hits"), Rate(w, "misses")); }},
      {"hits", 4, Unit::kCount, "ARC hits per second", [](W w) { return Rate(w, "hits"); }},
      {"miss", 4, Unit::kCount, "ARC misses per second", [](W w) { return Rate(w, "misses"); }},
      {"hit%", 4, Unit::kPercent, "ARC hit percentage",
       [](W w) { return Percent(Rate(w, "hits"), Rate(w, "misses")); }},
      {"miss%", 5, Unit::kPercent, "ARC miss percentage",
       [](W w) { return Percent(Rate(w, "misses"), Rate(w, "hits")); }},
      {"dread", 5, Unit::kCount, "File data accesses per second",
       [](W w) { return Sum(Rate(w, "data_hits"), Rate(w, "data_misses")); }},
      {"dhit", 4, Unit::kCount, "File data hits per second",
       [](W w) { return Rate(w, "data_hits"); }},
      {"dmis", 4, Unit::kCount, "File data misses per second",
       [](W w) { return Rate(w, "data_misses"); }},
      {"dhit%", 5, Unit::kPercent, "File data hit percentage",
       [](W w) { return Percent(Rate(w, "data_hits"), Rate(w, "data_misses")); }},
      {"dmis%", 5, Unit::kPercent, "File data miss percentage",
       [](W w) { return Percent(Rate(w, "data_misses"), Rate(w, "data_hits")); }},
      {"mread", 5, Unit::kCount, "Metadata accesses per second",
       [](W w) { return Sum(Rate(w, "meta_hits"), Rate(w, "meta_misses")); }},
      {"mhit", 4, Unit::kCount, "Metadata hits per second",
       [](W w) { return Rate(w, "meta_hits"); }},
      {"mmis", 4, Unit::kCount, "Metadata misses per second",
       [](W w) { return Rate(w, "meta_misses"); }},
      {"mhit%", 5, Unit::kPercent, "Metadata hit percentage",
       [](W w) { return Percent(Rate(w, "meta_hits"), Rate(w, "meta_misses")); }},
      {"mmis%", 5, Unit::kPercent, "Metadata miss percentage",
       [](W w) { return Percent(Rate(w, "meta_misses"), Rate(w, "meta_hits")); }},
      {"mru", 4, Unit::kCount, "MRU list hits per second", [](W w) { return Rate(w, "mru_hits"); }},
      {"mfu", 4, Unit::kCount, "MFU list hits per second", [](W w) { return Rate(w, "mfu_hits"); }},
      {"mrug", 4, Unit::kCount, "MRU ghost list hits per second",
       [](W w) { return Rate(w, "mru_ghost_hits"); }},
      {"mfug", 4, Unit::kCount, "MFU ghost list hits per second",
       [](W w) { return Rate(w, "mfu_ghost_hits"); }},
      {"evict", 5, Unit::kCount, "Evictions per second", [](W w) { return Rate(w, "evictions"); }},
      {"evictsz", 7, Unit::kBytes, "Bytes evicted per second",
       [](W w) { return Rate(w, "evicted_bytes"); }},
      {"arcsz", 5, Unit::kBytes, "ARC size", [](W w) { return Gauge(w, "size"); }},
      {"size", 5, Unit::kBytes, "ARC size (the same as arcsz)", [](W w) { return Gauge(w, "size"); }},
      {"c", 5, Unit::kBytes, "ARC target size", [](W w) { return Gauge(w, "c"); }},
      {"c_min", 5, Unit::kBytes, "ARC minimum target size", [](W w) { return Gauge(w, "c_min"); }},
      {"c_max", 5, Unit::kBytes, "ARC maximum size", [](W w) { return Gauge(w, "c_max"); }},
      {"p", 5, Unit::kBytes, "MRU target size", [](W w) { return Gauge(w, "p"); }},
      {"mrusz", 5, Unit::kBytes, "MRU list size", [](W w) { return Gauge(w, "mru_size"); }},
      {"mfusz", 5, Unit::kBytes, "MFU list size", [](W w) { return Gauge(w, "mfu_size"); }},
      {"mrugsz", 6, Unit::kBytes, "MRU ghost list size (of the evicted blocks it remembers)",
       [](W w) { return Gauge(w, "mru_ghost_size"); }},
      {"mfugsz", 6, Unit::kBytes, "MFU ghost list size (of the evicted blocks it remembers)",
       [](W w) { return Gauge(w, "mfu_ghost_size"); }},
      {"datasz", 6, Unit::kBytes, "File data size", [](W w) { return Gauge(w, "data_size"); }},
      {"metasz", 6, Unit::kBytes, "Metadata size", [](W w) { return Gauge(w, "meta_size"); }},
      {"held", 5, Unit::kBytes, "Size held in the ARC (not evictable now)",
       [](W w) { return Gauge(w, "held_size"); }},
      {"resident", 8, Unit::kBytes, "Memory the kernel holds for the data segments",
       [](W w) { return Gauge(w, "resident"); }},
      {"segs", 4, Unit::kNumber, "Data segments (one memfd per cached file)",
       [](W w) { return Gauge(w, "segments"); }},
      {"mapped", 6, Unit::kBytes, "Bytes of data segments mapped by clients",
       [](W w) { return Gauge(w, "mapped"); }},
      {"mfault", 6, Unit::kCount, "Missing-page faults served per second",
       [](W w) { return Rate(w, "faults_missing"); }},
      {"wpfault", 7, Unit::kCount, "Write-protect faults served per second",
       [](W w) { return Rate(w, "faults_wp"); }},
      {"ferr", 4, Unit::kCount, "Faults that could not be served per second (SIGBUS for the client)",
       [](W w) { return Rate(w, "fault_errors"); }},
      {"maps", 4, Unit::kNumber, "Mappings of files by clients", [](W w) { return Gauge(w, "maps"); }},
      {"clients", 7, Unit::kNumber, "Clients of the file service",
       [](W w) { return Gauge(w, "clients"); }},
  };
  return fields;
}

const std::vector<std::string>& DefaultFields() {
  static const std::vector<std::string> names = {"time", "read",  "hit%", "miss", "miss%",
                                                 "dhit%", "mhit%", "arcsz", "c",   "mru",
                                                 "mfu",  "mapped", "evict"};
  return names;
}

const Field* FindField(const std::string& name) {
  for (const Field& f : Fields())
    if (name == f.name) return &f;
  return nullptr;
}

}  // namespace uzfs::arcstat
