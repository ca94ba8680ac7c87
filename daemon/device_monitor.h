// zfsd's device monitor: what zed's disk event agent (OpenZFS cmd/zed/zed_disk_event.c)
// listens to, so that the pools' device watch (Pool::CheckDevices) runs when a block device
// comes, changes or goes instead of only at the next poll.
//
// Two sources, both read by the scan thread's poll(2) (PoolTable::ScanLoop):
//  - libudev's monitor on the "block" subsystem, from the "udev" netlink source when a udev
//    daemon runs (/run/udev/control exists: its events come after the /dev/disk links are
//    made), else the "kernel" source (raw uevents; containers run no udevd).
//  - an inotify watch of /dev for closes of block device nodes, as udevd's "watch" option
//    (60-block.rules) turns a close into a change event. It is what sees losetup -d of a
//    loop device still held by a pool: the kernel only marks it (LO_FLAGS_AUTOCLEAR) and
//    sends its uevent at the last close, which is zfsd's own; losetup opens the device
//    read-only, so udevd's IN_CLOSE_WRITE would not see it either.
//
// Used by the scan thread alone: no lock.
#pragma once

#include <poll.h>

#include <memory>
#include <string>
#include <vector>

struct udev;
struct udev_monitor;

namespace uzfs {

class DeviceMonitor {
 public:
  // What Drain found.
  struct Events {
    bool uevent = false;  // a block device was added, changed or removed
    bool closed = false;  // a block device node in /dev was closed
    bool any() const { return uevent || closed; }
  };

  // A monitor with whatever sources could be made; nullptr (why in *why) when none.
  static std::unique_ptr<DeviceMonitor> Open(std::string* why);
  ~DeviceMonitor();
  DeviceMonitor(const DeviceMonitor&) = delete;
  DeviceMonitor& operator=(const DeviceMonitor&) = delete;

  // "udev", "kernel" or "none": the uevent source; and whether /dev is watched.
  const std::string& source() const { return source_; }
  bool watches_dev() const { return inotify_fd_ >= 0; }
  // The descriptors to wait on (POLLIN), appended to fds.
  void AddPollFds(std::vector<pollfd>* fds) const;
  // Reads every event that is waiting (non-blocking).
  Events Drain();

 private:
  DeviceMonitor() = default;
  void DrainUevents(Events* ev);
  void DrainInotify(Events* ev);
  udev* udev_ = nullptr;
  udev_monitor* mon_ = nullptr;
  int mon_fd_ = -1;
  int inotify_fd_ = -1;
  std::string source_ = "none";
};

}  // namespace uzfs
