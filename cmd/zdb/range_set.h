// A set of disjoint byte ranges [start, end), as OpenZFS's range tree: zdb loads every space
// map's allocations into one per top-level vdev, then claims each block pointer's DVAs;
// what remains is leaked, what cannot be claimed is a block outside the allocated space.
#pragma once

#include <cstdint>
#include <functional>
#include <map>

namespace uzfs::zdb {

class RangeSet {
 public:
  // Adds [start, start+size). Returns false (and adds nothing) when it overlaps a range
  // already present — a space map that allocates the same space twice.
  bool Add(uint64_t start, uint64_t size) {
    if (size == 0) return true;
    uint64_t end = start + size;
    auto it = ranges_.upper_bound(start);
    if (it != ranges_.begin()) {
      auto prev = std::prev(it);
      if (prev->second > start) return false;
      if (prev->second == start) {  // merge with the previous range
        start = prev->first;
        ranges_.erase(prev);
      }
    }
    if (it != ranges_.end() && it->first < end) return false;
    if (it != ranges_.end() && it->first == end) {
      end = it->second;
      ranges_.erase(it);
    }
    ranges_[start] = end;
    total_ += size;
    return true;
  }

  // Removes [start, start+size) when it lies wholly inside the set; false otherwise
  // (nothing removed).
  bool Remove(uint64_t start, uint64_t size) {
    if (size == 0) return true;
    uint64_t end = start + size;
    auto it = ranges_.upper_bound(start);
    if (it == ranges_.begin()) return false;
    --it;
    uint64_t rs = it->first, re = it->second;
    if (re < end) return false;
    ranges_.erase(it);
    if (rs < start) ranges_[rs] = start;
    if (end < re) ranges_[end] = re;
    total_ -= size;
    return true;
  }

  bool Contains(uint64_t start, uint64_t size) const {
    auto it = ranges_.upper_bound(start);
    if (it == ranges_.begin()) return false;
    --it;
    return it->second >= start + size;
  }

  void ForEach(const std::function<void(uint64_t start, uint64_t size)>& fn) const {
    for (const auto& [s, e] : ranges_) fn(s, e - s);
  }
  uint64_t total() const { return total_; }
  bool empty() const { return ranges_.empty(); }

 private:
  std::map<uint64_t, uint64_t> ranges_;  // start -> end
  uint64_t total_ = 0;
};

}  // namespace uzfs::zdb
