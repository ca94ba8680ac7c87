#include "libcore/spa/metaslab_alloc.h"

#include <algorithm>

namespace uzfs {

namespace {
constexpr uint64_t kAliquot = 512 * 1024;  // metaslab_aliquot
}  // namespace

Status MetaslabAlloc(std::vector<std::unique_ptr<MetaslabGroup>>& groups, MetaslabRotor& rotor,
                     const TopVdevLookup& top, uint64_t psize, int copies, BlkPtr* bp,
                     AllocClass cls) {
  const size_t ngroups = groups.size();
  auto eligible = [&](size_t i) {
    const MetaslabGroup& g = *groups[i];
    return g.alloc_class() == cls && g.active() && g.usable() > 0;
  };
  // The rotor's group, or the next eligible one after it.
  size_t first = ngroups;
  for (size_t k = 0; k < ngroups; k++) {
    size_t i = (rotor.vdev + k) % ngroups;
    if (eligible(i)) {
      first = i;
      break;
    }
  }
  if (first == ngroups) return Status::Error(ENOSPC, "out of space");
  if (first != rotor.vdev % ngroups) {
    rotor.vdev = first;
    rotor.bytes = 0;
  }
  copies = std::clamp(copies, 1, kSpaDvas);
  std::vector<size_t> used;
  auto give_back = [&](int upto) {
    for (int e = 0; e < upto; e++)
      if (!bp->dva[e].empty()) (void)groups[bp->dva[e].vdev()]->Unalloc(bp->dva[e].offset(), bp->dva[e].asize());
  };
  for (int d = 0; d < copies; d++) {
    size_t g = first;
    if (d > 0) {
      // metaslab_alloc_dva: a ditto copy goes to the next vdev of the class not holding one yet
      for (size_t k = 0; k < ngroups; k++) {
        size_t cand = (used.back() + 1 + k) % ngroups;
        if (eligible(cand) && std::find(used.begin(), used.end(), cand) == used.end()) {
          g = cand;
          break;
        }
      }
    }
    Vdev* t = top(g);
    uint64_t asize = t->PsizeToAsize(psize);
    std::vector<uint64_t> near;
    for (int e = 0; e < d; e++)
      if (bp->dva[e].vdev() == g) near.push_back(bp->dva[e].offset());
    auto off = groups[g]->Alloc(asize, near);
    if (!off.ok()) {
      bool done = false;
      for (size_t k = 1; k < ngroups && !done; k++) {
        size_t cand = (g + k) % ngroups;
        if (!eligible(cand)) continue;
        uint64_t a2 = top(cand)->PsizeToAsize(psize);
        if (auto o2 = groups[cand]->Alloc(a2, {}); o2.ok()) {
          bp->dva[d].Set(cand, *o2, a2);
          used.push_back(cand);
          done = true;
        }
      }
      if (!done) {
        give_back(d);
        return Status::Error(ENOSPC, "out of space");
      }
      continue;
    }
    bp->dva[d].Set(g, *off, asize);
    used.push_back(g);
    if (d == 0) {
      rotor.bytes += asize;
      if (rotor.bytes >= kAliquot * std::max<size_t>(1, t->children.size())) {
        rotor.bytes = 0;
        rotor.vdev = g + 1;
      }
    }
  }
  return Status::Ok();
}

Status MetaslabFree(std::vector<std::unique_ptr<MetaslabGroup>>& groups, const BlkPtr& bp,
                    bool unalloc) {
  Status first = Status::Ok();
  for (const Dva& d : bp.dva) {
    if (d.empty()) continue;
    if (d.vdev() >= groups.size()) {
      if (first.ok()) first = Status::Error(ECORRUPT, "free of a block on a missing vdev");
      continue;
    }
    Status s = unalloc ? groups[d.vdev()]->Unalloc(d.offset(), d.asize())
                       : groups[d.vdev()]->Free(d.offset(), d.asize());
    if (!s.ok() && first.ok()) first = s.Context("freeing " + bp.ToString());
  }
  return first;
}

}  // namespace uzfs
