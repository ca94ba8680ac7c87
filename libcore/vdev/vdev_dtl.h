// A leaf's dirty time log (v23 vdev.c's vd->vdev_dtl[DTL_MISSING]): the txgs whose writes
// the leaf missed (it was offline, faulted or unavailable while they were synced, or it
// was just attached), as a set of inclusive txg ranges. A resilver reads every block born
// in them and writes it to the leaves whose DTL holds its birth txg.
//
// On disk (vdev_dtl_sync, vdev_dtl_load): a space map object in the MOS (type 8, bonus a
// 24-byte space_map_obj_t) with start 0 and shift 0, so an entry's offset is a txg and its
// run a number of txgs, all ALLOC entries after a debug entry; the leaf's config names it
// ("DTL"). zfs-fuse reads the same object.
//
// Thread safety: none of its own; the pool guards each leaf's Dtl with its mu_.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace uzfs {

class Dtl {
 public:
  bool empty() const { return r_.empty(); }
  uint64_t min() const { return r_.empty() ? 0 : r_.begin()->first; }
  uint64_t max() const { return r_.empty() ? 0 : r_.rbegin()->second; }
  // Σ txgs held (space_map's sm_space).
  uint64_t count() const {
    uint64_t n = 0;
    for (const auto& [a, b] : r_) n += b - a + 1;
    return n;
  }
  bool Contains(uint64_t txg) const {
    auto it = r_.upper_bound(txg);
    if (it == r_.begin()) return false;
    --it;
    return txg <= it->second;
  }
  // Adds [a, b] (a <= b), merging with neighbours. True when something was new.
  bool Add(uint64_t a, uint64_t b) {
    if (a > b) return false;
    const uint64_t before = count();
    auto it = r_.upper_bound(a);
    if (it != r_.begin()) {
      auto p = std::prev(it);
      if (p->second + 1 >= a) {
        a = p->first;
        b = std::max(b, p->second);
        it = r_.erase(p);
      }
    }
    while (it != r_.end() && it->first <= b + 1) {
      b = std::max(b, it->second);
      it = r_.erase(it);
    }
    r_[a] = b;
    return count() != before;
  }
  // Drops every txg below `txg` (vdev_dtl_reassess after a resilver that covered them).
  bool RemoveBelow(uint64_t txg) {
    bool changed = false;
    while (!r_.empty() && r_.begin()->first < txg) {
      auto [a, b] = *r_.begin();
      r_.erase(r_.begin());
      if (b >= txg) r_[txg] = b;
      changed = true;
    }
    return changed;
  }
  void Clear() { r_.clear(); }
  std::vector<std::pair<uint64_t, uint64_t>> ranges() const { return {r_.begin(), r_.end()}; }

 private:
  std::map<uint64_t, uint64_t> r_;  // first txg → last txg
};

}  // namespace uzfs
