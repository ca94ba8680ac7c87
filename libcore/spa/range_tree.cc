#include "libcore/spa/range_tree.h"

namespace uzfs {

bool RangeTree::Overlaps(uint64_t start, uint64_t size) const {
  if (size == 0) return false;
  uint64_t end = start + size;
  auto it = segs_.upper_bound(start);
  if (it != segs_.begin()) {
    auto p = std::prev(it);
    if (p->second > start) return true;
  }
  return it != segs_.end() && it->first < end;
}

bool RangeTree::Contains(uint64_t start, uint64_t size) const {
  auto it = segs_.upper_bound(start);
  if (it == segs_.begin()) return false;
  --it;
  return it->first <= start && it->second >= start + size;
}

bool RangeTree::Add(uint64_t start, uint64_t size) {
  if (size == 0) return true;
  if (Overlaps(start, size)) return false;
  uint64_t end = start + size;
  auto next = segs_.lower_bound(start);
  if (next != segs_.end() && next->first == end) {
    end = next->second;
    next = segs_.erase(next);
  }
  if (next != segs_.begin()) {
    auto p = std::prev(next);
    if (p->second == start) {
      p->second = end;
      space_ += size;
      return true;
    }
  }
  segs_.emplace(start, end);
  space_ += size;
  return true;
}

bool RangeTree::Remove(uint64_t start, uint64_t size) {
  if (size == 0) return true;
  auto it = segs_.upper_bound(start);
  if (it == segs_.begin()) return false;
  --it;
  uint64_t s = it->first, e = it->second, end = start + size;
  if (s > start || e < end) return false;
  segs_.erase(it);
  if (s < start) segs_.emplace(s, start);
  if (end < e) segs_.emplace(end, e);
  space_ -= size;
  return true;
}

bool RangeTree::FindFit(uint64_t size, uint64_t align, uint64_t cursor, uint64_t* out) const {
  auto try_from = [&](std::map<uint64_t, uint64_t>::const_iterator it, uint64_t lo,
                      uint64_t hi) {
    for (; it != segs_.end() && it->first < hi; ++it) {
      uint64_t s = it->first < lo ? lo : it->first;
      s = (s + align - 1) / align * align;
      if (s + size <= it->second) {
        *out = s;
        return true;
      }
    }
    return false;
  };
  auto first = segs_.upper_bound(cursor);
  if (first != segs_.begin()) --first;
  if (try_from(first, cursor, UINT64_MAX)) return true;
  return try_from(segs_.begin(), 0, cursor + size);
}

}  // namespace uzfs
