#include "libcore/spa/metaslab.h"

#include <algorithm>
#include <bit>

namespace uzfs {

uint64_t SmDebugWord(uint64_t action, uint64_t syncpass, uint64_t txg) {
  return (1ULL << 63) | ((action & 7) << 60) | ((syncpass & 0x3ff) << 50) |
         (txg & ((1ULL << 50) - 1));
}

uint64_t SmEntryWord(uint64_t offset_units, uint64_t run_units, bool free) {
  return (offset_units << 16) | (static_cast<uint64_t>(free) << 15) | ((run_units - 1) & 0x7fff);
}

uint64_t MetaslabGroup::MetaslabShiftFor(uint64_t asize) {
  uint64_t x = asize / 200;  // metaslabs_per_vdev
  uint64_t shift = x ? 64 - static_cast<uint64_t>(std::countl_zero(x)) : 0;  // highbit
  return std::max<uint64_t>(shift, 17);
}

MetaslabGroup::MetaslabGroup(uint64_t vdev_id, uint64_t asize, uint64_t ms_shift,
                             uint64_t ashift)
    : vdev_(vdev_id), asize_(asize), ms_shift_(ms_shift), ashift_(ashift) {
  uint64_t count = asize >> ms_shift;
  ms_.resize(count);
  for (uint64_t i = 0; i < count; i++) {
    ms_[i].id = i;
    ms_[i].start = i << ms_shift;
    ms_[i].size = 1ULL << ms_shift;
    ms_[i].free.Add(ms_[i].start, ms_[i].size);
  }
}

uint64_t MetaslabGroup::Grow(uint64_t asize) {
  if (asize <= asize_) return 0;
  asize_ = asize;
  const uint64_t old = ms_.size(), count = asize >> ms_shift_;
  if (count <= old) return 0;
  ms_.resize(count);
  for (uint64_t i = old; i < count; i++) {
    ms_[i].id = i;
    ms_[i].start = i << ms_shift_;
    ms_[i].size = 1ULL << ms_shift_;
    ms_[i].free.Add(ms_[i].start, ms_[i].size);
  }
  return count - old;
}

int MetaslabGroup::MetaslabOf(uint64_t offset) const {
  uint64_t i = offset >> ms_shift_;
  return i < ms_.size() ? static_cast<int>(i) : -1;
}

Status MetaslabGroup::Load(uint64_t id, uint64_t sm_object, uint64_t sm_objsize,
                           uint64_t sm_alloc, const std::vector<SpaceMapEntry>& entries) {
  if (id >= ms_.size()) return Status::Error(ECORRUPT, "metaslab id out of range");
  Metaslab& m = ms_[id];
  RangeTree alloc;
  for (const SpaceMapEntry& e : entries) {
    if (e.debug) continue;
    if (e.offset < m.start || e.offset + e.run > m.start + m.size)
      return Status::Error(ECORRUPT, "space map entry outside metaslab " + std::to_string(id));
    bool ok = e.alloc ? alloc.Add(e.offset, e.run) : alloc.Remove(e.offset, e.run);
    if (!ok)
      return Status::Error(ECORRUPT, "space map of metaslab " + std::to_string(id) +
                                         (e.alloc ? " allocates twice" : " frees free space"));
  }
  if (alloc.space() != sm_alloc)
    return Status::Error(ECORRUPT, "space map of metaslab " + std::to_string(id) +
                                       " sums to " + std::to_string(alloc.space()) +
                                       ", header says " + std::to_string(sm_alloc));
  m.sm_object = sm_object;
  m.sm_objsize = sm_objsize;
  m.sm_alloc = sm_alloc;
  m.free.Clear();
  m.free.Add(m.start, m.size);
  bool ok = true;
  alloc.Walk([&](uint64_t s, uint64_t n) { ok &= m.free.Remove(s, n); });
  return ok ? Status::Ok() : Status::Error(ECORRUPT, "space map inconsistent");
}

int MetaslabGroup::log_metaslab() {
  if (log_ms_ != kLogMsUnchosen) return log_ms_;
  // vdev_metaslab_init's embedded slog, on a normal-class vdev with more than
  // zfs_embedded_slog_min_ms metaslabs. Chosen at the first allocation, once a pool's space
  // maps are loaded. The first metaslab while half of it is free: a new pool's (which its
  // first txg would otherwise fill with metadata), and the same one at every import of it
  // (OpenZFS's emptiest could be another after an import claimed log blocks there, and
  // data would then fill the space the log wrote). Else the emptiest (the lowest of equals).
  log_ms_ = -1;
  if (class_ != AllocClass::kNormal || ms_.size() <= kEmbeddedSlogMinMs) return log_ms_;
  if (ms_[0].free.space() * 2 >= ms_[0].size) return log_ms_ = 0;
  uint64_t best = 0;
  for (const Metaslab& m : ms_)
    if (log_ms_ < 0 || m.free.space() > best) log_ms_ = static_cast<int>(m.id), best = m.free.space();
  return log_ms_;
}

Result<uint64_t> MetaslabGroup::Alloc(uint64_t asize, const std::vector<uint64_t>& near) {
  const int log_ms = log_metaslab();
  // The log metaslab takes data only when no other has room (a full pool fails where
  // zfs-fuse's, which has no such metaslab, would).
  auto r = AllocIn(asize, near, log_ms);
  if (r.ok() || log_ms < 0 || r.status().code() != ENOSPC) return r;
  return AllocIn(asize, near, -1);
}

Result<uint64_t> MetaslabGroup::AllocIn(uint64_t asize, const std::vector<uint64_t>& near, int skip) {
  uint64_t unit = 1ULL << ashift_;
  if (asize == 0 || asize % unit) return Status::Error(EINVAL, "allocation size not aligned");
  uint64_t distance = asize_ >> 3;
  if (distance <= (1ULL << ms_shift_)) distance = 0;
  for (int pass = 0; pass < 2; pass++) {
    uint64_t dist = pass == 0 ? distance : 0;
    if (pass == 1 && (near.empty() || distance == 0)) break;
    size_t n = ms_.size();
    size_t first = near.empty() ? static_cast<size_t>(cursor_ >> ms_shift_) : 0;
    for (size_t k = 0; k < n; k++) {
      Metaslab& m = ms_[(first + k) % n];
      if (m.free.space() < asize || static_cast<int>(m.id) == skip) continue;
      bool too_close = false;
      for (uint64_t o : near) {
        uint64_t lo = m.start, hi = m.start + m.size;
        uint64_t d = o < lo ? lo - o : (o >= hi ? o - hi + 1 : 0);
        too_close |= d < dist;
      }
      if (dist && too_close) continue;
      uint64_t off;
      uint64_t from = near.empty() && cursor_ >= m.start && cursor_ < m.start + m.size
                          ? cursor_ : m.start;
      if (!m.free.FindFit(asize, unit, from, &off)) continue;
      m.free.Remove(off, asize);
      m.pending_alloc.Add(off, asize);
      if (near.empty()) cursor_ = off + asize;
      return off;
    }
  }
  return Status::Error(ENOSPC, "out of space");
}

Status MetaslabGroup::Free(uint64_t offset, uint64_t size) {
  int i = MetaslabOf(offset);
  if (i < 0 || offset + size > ms_[i].start + ms_[i].size)
    return Status::Error(EINVAL, "free outside the vdev");
  Metaslab& m = ms_[i];
  if (m.free.Overlaps(offset, size) || m.pending_free.Overlaps(offset, size) ||
      m.freed.Overlaps(offset, size) || m.defer[0].Overlaps(offset, size) ||
      m.defer[1].Overlaps(offset, size))
    return Status::Error(EINVAL, "free of unallocated space at " + std::to_string(offset));
  m.pending_free.Add(offset, size);
  return Status::Ok();
}

Status MetaslabGroup::Unalloc(uint64_t offset, uint64_t size) {
  int i = MetaslabOf(offset);
  if (i >= 0 && offset + size <= ms_[i].start + ms_[i].size && ms_[i].pending_alloc.Contains(offset, size)) {
    Metaslab& m = ms_[i];
    m.pending_alloc.Remove(offset, size);
    m.free.Add(offset, size);
    return Status::Ok();
  }
  return Free(offset, size);
}

Status MetaslabGroup::Claim(uint64_t offset, uint64_t size) {
  int i = MetaslabOf(offset);
  if (i < 0) return Status::Error(EINVAL, "claim outside the vdev");
  Metaslab& m = ms_[i];
  if (!m.free.Remove(offset, size)) return Status::Error(EEXIST, "claim of allocated space");
  m.pending_alloc.Add(offset, size);
  return Status::Ok();
}

std::vector<SpaceMapAppend> MetaslabGroup::Sync(uint64_t txg, int pass) {
  std::vector<SpaceMapAppend> out;
  for (Metaslab& m : ms_) {
    if (m.pending_alloc.empty() && m.pending_free.empty()) continue;
    SpaceMapAppend a;
    a.ms = m.id;
    uint64_t alloc = m.sm_alloc;
    auto emit = [&](const RangeTree& t, bool free) {
      if (t.empty()) return;
      a.words.push_back(SmDebugWord(free ? 1 : 0, static_cast<uint64_t>(pass), txg));
      t.Walk([&](uint64_t s, uint64_t n) {
        uint64_t off = (s - m.start) >> ashift_, run = n >> ashift_;
        while (run) {
          uint64_t r = std::min(run, kSmRunMax);
          a.words.push_back(SmEntryWord(off, r, free));
          off += r;
          run -= r;
        }
      });
      alloc = free ? alloc - t.space() : alloc + t.space();
    };
    emit(m.pending_alloc, false);
    emit(m.pending_free, true);
    a.new_alloc = alloc;
    m.sm_alloc = alloc;
    m.pending_alloc.Clear();
    m.pending_free.Walk([&](uint64_t s, uint64_t n) { m.freed.Add(s, n); });
    m.pending_free.Clear();
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<uint64_t> MetaslabGroup::CondensedWords(uint64_t ms, uint64_t txg, int pass,
                                                    uint64_t* alloc) const {
  const Metaslab& m = ms_[ms];
  RangeTree disk_free;
  auto add = [&](const RangeTree& t) { t.Walk([&](uint64_t s, uint64_t n) { disk_free.Add(s, n); }); };
  add(m.free);
  add(m.defer[0]);
  add(m.defer[1]);
  add(m.freed);
  add(m.pending_free);
  std::vector<uint64_t> words;
  auto runs = [&](uint64_t s, uint64_t n, bool free) {
    uint64_t off = (s - m.start) >> ashift_, run = n >> ashift_;
    while (run) {
      uint64_t r = std::min(run, kSmRunMax);
      words.push_back(SmEntryWord(off, r, free));
      off += r;
      run -= r;
    }
  };
  words.push_back(SmDebugWord(0, static_cast<uint64_t>(pass), txg));
  runs(m.start, m.size, false);
  if (!disk_free.empty()) {
    words.push_back(SmDebugWord(1, static_cast<uint64_t>(pass), txg));
    disk_free.Walk([&](uint64_t s, uint64_t n) { runs(s, n, true); });
  }
  *alloc = m.size - disk_free.space();
  return words;
}

void MetaslabGroup::SyncDone(uint64_t txg) {
  for (Metaslab& m : ms_) {
    RangeTree& d = m.defer[txg & 1];
    d.Walk([&](uint64_t s, uint64_t n) { m.free.Add(s, n); });
    d.Clear();
    m.freed.Walk([&](uint64_t s, uint64_t n) { d.Add(s, n); });
    m.freed.Clear();
  }
}

uint64_t MetaslabGroup::allocated() const {
  uint64_t a = 0;
  for (const Metaslab& m : ms_) a += m.sm_alloc + m.pending_alloc.space() - m.pending_free.space();
  return a;
}

uint64_t MetaslabGroup::free_space() const { return usable() - allocated(); }

Result<uint64_t> MetaslabGroup::AllocLog(uint64_t asize) {
  uint64_t unit = 1ULL << ashift_;
  if (asize == 0 || asize % unit) return Status::Error(EINVAL, "allocation size not aligned");
  auto lowest = [&](Metaslab& m, uint64_t* off) {
    if (m.free.space() < asize || !m.free.FindFit(asize, unit, m.start, off)) return false;
    m.free.Remove(*off, asize);
    m.pending_alloc.Add(*off, asize);
    return true;
  };
  uint64_t off;
  // zio_alloc_zil: the embedded log class first, then the normal class (here: the lowest
  // free space of the other metaslabs).
  const int log_ms = log_metaslab();
  if (log_ms >= 0 && lowest(ms_[log_ms], &off)) return off;
  for (Metaslab& m : ms_)
    if (static_cast<int>(m.id) != log_ms && lowest(m, &off)) return off;
  return Status::Error(ENOSPC, "out of space");
}

uint64_t MetaslabGroup::allocatable() const {
  uint64_t a = 0;
  for (const Metaslab& m : ms_) a += m.free.space();
  return a;
}

}  // namespace uzfs
