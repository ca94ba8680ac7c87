#include "libcore/zio/zio_inject.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>

namespace uzfs {

namespace {

std::atomic<uint64_t> next_id{1};
std::mutex mu;  // guards handlers
std::vector<DataInjection> handlers;
std::atomic<size_t> count{0};  // handlers.size(), read without mu on the read path

}  // namespace

uint64_t NextInjectionId() { return next_id.fetch_add(1); }

uint64_t AddDataInjection(DataInjection d) {
  std::lock_guard<std::mutex> l(mu);
  d.id = NextInjectionId();
  handlers.push_back(d);
  count = handlers.size();
  return d.id;
}

bool ClearDataInjection(uint64_t id) {
  std::lock_guard<std::mutex> l(mu);
  auto it = std::find_if(handlers.begin(), handlers.end(), [&](const DataInjection& d) { return d.id == id; });
  if (it == handlers.end()) return false;
  handlers.erase(it);
  count = handlers.size();
  return true;
}

std::vector<DataInjection> DataInjections() {
  std::lock_guard<std::mutex> l(mu);
  return handlers;
}

int DataInjectionError(uint64_t pool_guid, uint64_t objset, uint64_t object, int64_t level, uint64_t blkid,
                       uint8_t dmu_type) {
  if (count.load(std::memory_order_relaxed) == 0) return 0;
  std::lock_guard<std::mutex> l(mu);
  for (const DataInjection& d : handlers) {
    if (d.pool_guid != pool_guid) continue;
    if (d.mos) {
      // zio_match_handler: a MOS record matches by the block's type alone.
      if (objset != 0 || (d.dmu_type != 0 && d.dmu_type != dmu_type)) continue;
    } else if (d.objset != objset || d.object != object || d.level != level || blkid < d.start_blkid ||
               blkid > d.end_blkid) {
      continue;
    }
    // zio_match_handler's frequency: a matching read fails freq percent of the time.
    if (d.freq < 100) {
      thread_local std::minstd_rand rng{std::random_device{}()};
      if (rng() % 100 >= d.freq) continue;
    }
    return d.error;
  }
  return 0;
}

Status InjectedRead(uint64_t pool_guid, uint64_t objset, uint64_t object, int64_t level, uint64_t blkid,
                    uint8_t dmu_type) {
  int e = DataInjectionError(pool_guid, objset, object, level, blkid, dmu_type);
  if (e == 0) return Status::Ok();
  return Status::Error(e, e == ECKSUM ? "checksum error (injected)" : "I/O error (injected)");
}

}  // namespace uzfs
