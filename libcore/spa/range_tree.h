// RangeTree: a set of disjoint [start, end) byte ranges, merged when adjacent (space_map_t's
// in-memory AVL tree of segments). Used for free space, a txg's allocations and frees.
#pragma once

#include <cstdint>
#include <functional>
#include <map>

namespace uzfs {

class RangeTree {
 public:
  // Adds [start, start+size); the range must not overlap what is there (returns false if it
  // does, leaving the tree unchanged).
  bool Add(uint64_t start, uint64_t size);
  // Removes [start, start+size); it must be wholly contained (false and unchanged otherwise).
  bool Remove(uint64_t start, uint64_t size);
  bool Contains(uint64_t start, uint64_t size) const;
  bool Overlaps(uint64_t start, uint64_t size) const;
  // First range piece of `size` bytes aligned to `align` at or after `cursor` (wrapping to
  // the beginning once); returns false when none fits.
  bool FindFit(uint64_t size, uint64_t align, uint64_t cursor, uint64_t* out) const;
  uint64_t space() const { return space_; }
  bool empty() const { return segs_.empty(); }
  void Clear() { segs_.clear(); space_ = 0; }
  // Visits each segment in order.
  void Walk(const std::function<void(uint64_t start, uint64_t size)>& fn) const {
    for (auto& [s, e] : segs_) fn(s, e - s);
  }
  size_t segments() const { return segs_.size(); }

 private:
  std::map<uint64_t, uint64_t> segs_;  // start -> end
  uint64_t space_ = 0;
};

}  // namespace uzfs
