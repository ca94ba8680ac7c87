// zdb -l [-u] DEVICE: the four labels of one device, and with -u their uberblocks.
#include <ctime>
#include <iostream>

#include "cmd/zdb/zdb.h"
#include "libcore/base/env.h"
#include "libcore/vdev/vdev_label.h"

namespace uzfs::zdb {

void PrintUberblock(const Uberblock& ub, int verbosity) {
  std::time_t ts = static_cast<std::time_t>(ub.timestamp);
  char when[64] = "?\n";
  std::tm tm{};
  if (localtime_r(&ts, &tm) != nullptr) std::strftime(when, sizeof when, "%a %b %e %H:%M:%S %Y\n", &tm);
  std::printf("\tmagic = %016llx\n", static_cast<unsigned long long>(ub.magic));
  std::printf("\tversion = %llu\n", static_cast<unsigned long long>(ub.version));
  std::printf("\ttxg = %llu\n", static_cast<unsigned long long>(ub.txg));
  std::printf("\tguid_sum = %llu\n", static_cast<unsigned long long>(ub.guid_sum));
  std::printf("\ttimestamp = %llu UTC = %s", static_cast<unsigned long long>(ub.timestamp), when);
  if (verbosity >= 3) std::printf("\trootbp = %s\n", ub.rootbp.ToString().c_str());
}

int DumpLabel(const Options& o, const std::string& device) {
  auto file = PosixEnv()->Open(device, OpenOptions{});
  if (!file.ok()) {
    std::printf("cannot open '%s': %s\n", device.c_str(),
                ErrorText(file.status().code()).c_str());
    return kExitErrors;
  }
  auto labels = ReadDeviceLabels(**file);
  if (!labels.ok()) {
    std::printf("cannot read labels of '%s': %s\n", device.c_str(),
                labels.status().ToString().c_str());
    return kExitErrors;
  }
  int good = 0;
  for (const LabelRead& l : labels->labels) {
    std::printf("--------------------------------------------\n");
    std::printf("LABEL %d\n", l.index);
    std::printf("--------------------------------------------\n");
    if (!l.status.ok()) {
      std::printf("failed to unpack label %d: %s\n", l.index, l.status.ToString().c_str());
    } else {
      good++;
      std::fputs(l.config.Dump(4).c_str(), stdout);
    }
    if (o.u) {
      for (const Uberblock& ub : l.uberblocks) {
        std::printf("Uberblock[%d]\n", ub.slot);
        PrintUberblock(ub, o.u);
      }
    }
  }
  std::fflush(stdout);
  if (good == 0) {
    Fatal("no valid label found on '" + device + "'");
    return kExitErrors;
  }
  return kExitOk;
}

}  // namespace uzfs::zdb
