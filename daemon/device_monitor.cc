#include "daemon/device_monitor.h"

#include <libudev.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace uzfs {

namespace {

// Whether fd has something to read now (udev_monitor_receive_device must not block).
bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

}  // namespace

std::unique_ptr<DeviceMonitor> DeviceMonitor::Open(std::string* why) {
  std::unique_ptr<DeviceMonitor> m(new DeviceMonitor());
  std::vector<std::string> fails;
  // zed_disk_event_init: the udev daemon's events when it runs (its links exist by then),
  // else the kernel's own.
  m->udev_ = udev_new();
  if (!m->udev_) {
    fails.push_back("udev_new failed");
  } else {
    struct stat st;
    const char* src = ::stat("/run/udev/control", &st) == 0 ? "udev" : "kernel";
    m->mon_ = udev_monitor_new_from_netlink(m->udev_, src);
    if (!m->mon_) {
      fails.push_back(std::string("no ") + src + " uevent monitor: " + std::strerror(errno));
    } else if (udev_monitor_filter_add_match_subsystem_devtype(m->mon_, "block", nullptr) < 0 ||
               udev_monitor_enable_receiving(m->mon_) < 0) {
      fails.push_back(std::string("cannot receive ") + src + " uevents: " + std::strerror(errno));
      udev_monitor_unref(m->mon_);
      m->mon_ = nullptr;
    } else {
      m->mon_fd_ = udev_monitor_get_fd(m->mon_);
      m->source_ = src;
    }
  }
  m->inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (m->inotify_fd_ < 0 ||
      ::inotify_add_watch(m->inotify_fd_, "/dev", IN_CLOSE_WRITE | IN_CLOSE_NOWRITE) < 0) {
    fails.push_back(std::string("cannot watch /dev: ") + std::strerror(errno));
    if (m->inotify_fd_ >= 0) ::close(m->inotify_fd_);
    m->inotify_fd_ = -1;
  }
  if (m->mon_fd_ < 0 && m->inotify_fd_ < 0) {
    std::string all;
    for (const std::string& f : fails) all += (all.empty() ? "" : "; ") + f;
    *why = all;
    return nullptr;
  }
  for (const std::string& f : fails) spdlog::warn("device monitor: {}", f);
  return m;
}

DeviceMonitor::~DeviceMonitor() {
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  if (mon_) udev_monitor_unref(mon_);
  if (udev_) udev_unref(udev_);
}

void DeviceMonitor::AddPollFds(std::vector<pollfd>* fds) const {
  for (int fd : {mon_fd_, inotify_fd_})
    if (fd >= 0) fds->push_back(pollfd{fd, POLLIN, 0});
}

DeviceMonitor::Events DeviceMonitor::Drain() {
  Events ev;
  DrainUevents(&ev);
  DrainInotify(&ev);
  return ev;
}

void DeviceMonitor::DrainUevents(Events* ev) {
  if (mon_fd_ < 0) return;
  // zed_udev_monitor: add and change (a disk's media or partitions) and remove; the
  // device watch sorts out which leaf, if any, they concern.
  while (Readable(mon_fd_)) {
    udev_device* d = udev_monitor_receive_device(mon_);
    if (!d) break;
    const char* action = udev_device_get_action(d);
    const char* node = udev_device_get_devnode(d);
    if (action && (!std::strcmp(action, "add") || !std::strcmp(action, "change") ||
                   !std::strcmp(action, "remove"))) {
      spdlog::debug("device monitor: {} {}", action, node ? node : udev_device_get_syspath(d));
      ev->uevent = true;
    }
    udev_device_unref(d);
  }
}

void DeviceMonitor::DrainInotify(Events* ev) {
  if (inotify_fd_ < 0) return;
  alignas(inotify_event) char buf[4096];
  for (;;) {
    const ssize_t n = ::read(inotify_fd_, buf, sizeof(buf));
    if (n <= 0) return;
    for (ssize_t i = 0; i < n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buf + i);
      i += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      if (e->mask & IN_Q_OVERFLOW) {
        ev->closed = true;
        continue;
      }
      if (!e->len || ev->closed) continue;
      // /dev/null and the ttys close all the time: only block devices count.
      struct stat st;
      const std::string path = std::string("/dev/") + e->name;
      if (::stat(path.c_str(), &st) == 0 && S_ISBLK(st.st_mode)) {
        spdlog::debug("device monitor: {} closed", path);
        ev->closed = true;
      }
    }
  }
}

}  // namespace uzfs
