#include "libcore/pool/log_space.h"

#include <map>
#include <mutex>

namespace uzfs::log_space {

namespace {

struct Entry {
  std::function<void()> hook;
  bool pending = false;
  uint64_t taken = 0;
};

std::mutex mu;
std::map<const void*, Entry>& Map() {
  static std::map<const void*, Entry> m;
  return m;
}

}  // namespace

void SetHook(const void* pool, std::function<void()> fn) {
  std::lock_guard<std::mutex> l(mu);
  Map()[pool].hook = std::move(fn);
}

bool Ask(const void* pool) {
  std::lock_guard<std::mutex> l(mu);
  Entry& e = Map()[pool];
  if (e.pending) return false;
  e.pending = true;
  return true;
}

void Wake(const void* pool) {
  std::function<void()> fn;
  {
    std::lock_guard<std::mutex> l(mu);
    auto it = Map().find(pool);
    if (it == Map().end() || !it->second.hook) return;
    fn = it->second.hook;
  }
  fn();
}

bool Take(const void* pool) {
  std::lock_guard<std::mutex> l(mu);
  auto it = Map().find(pool);
  if (it == Map().end() || !it->second.pending) return false;
  it->second.pending = false;
  it->second.taken++;
  return true;
}

uint64_t Taken(const void* pool) {
  std::lock_guard<std::mutex> l(mu);
  auto it = Map().find(pool);
  return it == Map().end() ? 0 : it->second.taken;
}

void DropPool(const void* pool) {
  std::lock_guard<std::mutex> l(mu);
  Map().erase(pool);
}

}  // namespace uzfs::log_space
