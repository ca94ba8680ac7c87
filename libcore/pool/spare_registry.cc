// The process's shared hot spares (spare_registry.h; spa_misc.c spa_spare_*).
#include "libcore/pool/spare_registry.h"

#include <map>
#include <mutex>

namespace uzfs::spare_registry {

namespace {

struct Entry {
  std::map<uint64_t, std::string> pools;  // pool guid -> name, of the pools listing it
  uint64_t serving = 0;                   // spa_spare_activate's pool (0: none)
  std::string serving_name;
};

std::mutex& Mu() {
  static std::mutex mu;
  return mu;
}
std::map<uint64_t, Entry>& Map() {  // guarded by Mu()
  static auto* m = new std::map<uint64_t, Entry>();
  return *m;
}

void Tidy(uint64_t guid) {
  auto it = Map().find(guid);
  if (it != Map().end() && it->second.pools.empty() && !it->second.serving) Map().erase(it);
}

}  // namespace

void Listed(uint64_t guid, uint64_t pool_guid, const std::string& pool_name) {
  std::lock_guard<std::mutex> l(Mu());
  Map()[guid].pools[pool_guid] = pool_name;
}

void Unlist(uint64_t guid, uint64_t pool_guid) {
  std::lock_guard<std::mutex> l(Mu());
  auto it = Map().find(guid);
  if (it == Map().end()) return;
  it->second.pools.erase(pool_guid);
  if (it->second.serving == pool_guid) it->second.serving = 0;
  Tidy(guid);
}

void Serving(uint64_t guid, uint64_t pool_guid, const std::string& pool_name, bool serving) {
  std::lock_guard<std::mutex> l(Mu());
  Entry& e = Map()[guid];
  if (serving) {
    e.serving = pool_guid;
    e.serving_name = pool_name;
  } else if (e.serving == pool_guid) {
    e.serving = 0;
  }
  Tidy(guid);
}

bool Claim(uint64_t guid, uint64_t pool_guid, const std::string& pool_name) {
  std::lock_guard<std::mutex> l(Mu());
  Entry& e = Map()[guid];
  if (e.serving && e.serving != pool_guid) return false;
  e.serving = pool_guid;
  e.serving_name = pool_name;
  return true;
}

void DropPool(uint64_t pool_guid) {
  std::lock_guard<std::mutex> l(Mu());
  for (auto it = Map().begin(); it != Map().end();) {
    it->second.pools.erase(pool_guid);
    if (it->second.serving == pool_guid) it->second.serving = 0;
    if (it->second.pools.empty() && !it->second.serving) it = Map().erase(it);
    else ++it;
  }
}

bool ServingIn(uint64_t guid, std::string* pool_name, uint64_t* pool_guid) {
  std::lock_guard<std::mutex> l(Mu());
  auto it = Map().find(guid);
  if (it == Map().end() || !it->second.serving) return false;
  if (pool_name) *pool_name = it->second.serving_name;
  if (pool_guid) *pool_guid = it->second.serving;
  return true;
}

bool ListedElsewhere(uint64_t guid, uint64_t pool_guid) {
  std::lock_guard<std::mutex> l(Mu());
  auto it = Map().find(guid);
  if (it == Map().end()) return false;
  for (const auto& [g, n] : it->second.pools)
    if (g != pool_guid) return true;
  return false;
}

}  // namespace uzfs::spare_registry
