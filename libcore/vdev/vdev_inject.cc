#include "libcore/vdev/vdev_inject.h"

#include <cerrno>
#include <random>

namespace uzfs {

static_assert(ENXIO == 6, "LeafInject::kNxio is ENXIO");

int LeafInject::Hit(bool write) const {
  const int e = (write ? write_ : read_).load(std::memory_order_acquire);
  if (e == 0) return 0;
  const uint32_t freq = freq_.load(std::memory_order_relaxed);
  if (freq >= 100) return e;
  // zio_handle_device_injection's spa_get_random(100) < zi_freq.
  thread_local std::minstd_rand rng{std::random_device{}()};
  return rng() % 100 < freq ? e : 0;
}

}  // namespace uzfs
