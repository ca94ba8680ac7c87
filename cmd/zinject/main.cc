// zinject: injects device faults into an imported pool (OpenZFS cmd/zinject/zinject.c, its
// device form: -d, -e, -T, -f, -A, -c, -q and the listing), for testing how zfsd counts,
// faults and recovers devices (zpool status, zpool clear). The handlers live in zfsd, per
// pool (libcore/vdev/vdev_inject.h says what each error does); data faults (-t, -b), label
// faults (-L), panics (-p) and ignored writes (-I) are not offered.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <strings.h>

#include "cmd/common/cmd.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

const char* const uzfs::cmd::kProgram = "zinject";

namespace {

using namespace uzfs;
using namespace uzfs::cmd;

const Cmd kZinject = {
    "",
    // As zpool's subcommands' usage lines, with the program's name in them.
    {"zinject",
     "zinject -c id|all",
     "zinject -d device [-e io|nxio] [-T read|write|all] [-f frequency] [-q] pool",
     "zinject -d device -A fault pool"},
    "    -A action     fault: the device is FAULTED at once (vdev_fault)\n"
    "    -c id|all     clear the handler numbered id, or every handler\n"
    "    -d device     the device (its path as zpool status shows it, or its guid)\n"
    "    -e error      io: the device's I/O fails with EIO (default: nxio, as if pulled)\n"
    "    -f frequency  fail only this percentage of the I/O (1-100, default 100)\n"
    "    -q            print only the number of the handler added\n"
    "    -T type       the I/O that fails: read, write or all (default all)\n"
    "    -h            print this message\n"
    "    --help        print this message\n",
    nullptr};

void Help() {
  std::cout << "Usage: " << kZinject.usage[0] << "\n";
  for (size_t k = 1; k < kZinject.usage.size(); k++) std::cout << "       " << kZinject.usage[k] << "\n";
  std::cout << "\nWith no arguments, lists the registered handlers.\n\nOptions:\n" << kZinject.options;
}

// print_all_handlers's device table.
int List() {
  auto r = lzc::InjectList();
  if (!r.ok()) return Fail(r.status().message());
  const auto* hs = r->GetNvListArray("handlers");
  if (!hs || hs->empty()) {
    std::cout << "No handlers registered.\nRun 'zinject -h' for usage information.\n";
    return kExitOk;
  }
  std::printf("%3s  %-15s  %s\n", "ID", "POOL", "GUID");
  std::printf("---  ---------------  ----------------\n");
  for (const NvList& h : *hs)
    std::printf("%3llu  %-15s  %llx\n", static_cast<unsigned long long>(h.GetUint64("id").value_or(0)),
                h.GetString("pool") ? h.GetString("pool")->c_str() : "",
                static_cast<unsigned long long>(h.GetUint64("guid").value_or(0)));
  std::printf("\n");
  return kExitOk;
}

int Cancel(const std::string& which) {
  if (which == "all") {
    auto r = lzc::InjectList();
    if (!r.ok()) return Fail(r.status().message());
    if (const auto* hs = r->GetNvListArray("handlers"))
      for (const NvList& h : *hs) {
        const uint64_t id = h.GetUint64("id").value_or(0);
        Status s = lzc::InjectClear(id);
        if (!s.ok())
          return Fail("failed to remove handler " + std::to_string(id) + ": " + std::strerror(s.code()));
      }
    std::cout << "removed all registered handlers\n";
    return kExitOk;
  }
  char* end = nullptr;
  const unsigned long long id = std::strtoull(which.c_str(), &end, 10);
  if (which.empty() || *end != '\0')
    return UsageError(kZinject, "invalid handle id '" + which + "': must be an integer or 'all'");
  Status s = lzc::InjectClear(id);
  if (lzc::IsConnectError(s)) return Fail(s.message());
  if (!s.ok()) return Fail("failed to remove handler " + which + ": " + std::strerror(s.code()));
  std::cout << "removed handler " << id << "\n";
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 1) return List();
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    if (a == "--") break;
    if (a == "-h" || a == "--help") {
      Help();
      return kExitOk;
    }
  }
  CLI::App app;
  std::string action, cancel, device, error, freq_s, type;
  bool quiet = false;
  app.add_option("-A", action);
  app.add_option("-c", cancel);
  app.add_option("-d", device);
  app.add_option("-e", error);
  app.add_option("-f", freq_s);
  app.add_option("-T", type);
  app.add_flag("-q", quiet);
  std::vector<std::string> args;
  // Parse sees argv from the "subcommand" on: here the program name stands in for it.
  if (int rc = Parse(kZinject, app, argc, argv, &args); rc >= 0) return rc;

  // zinject.c's checks of the option values, in its words (exit 1 after the usage).
  int err = ENXIO;
  if (!error.empty()) {
    if (strcasecmp(error.c_str(), "io") == 0) err = EIO;
    else if (strcasecmp(error.c_str(), "nxio") == 0) err = ENXIO;
    else if (strcasecmp(error.c_str(), "checksum") == 0) return Fail("device error type must be 'io' or 'nxio'");
    else {
      UsageError(kZinject, "invalid error type '" + error + "': must be 'io', 'checksum' or 'nxio'");
      return kExitError;
    }
  }
  int iotype = lzc::kInjectAll;
  if (!type.empty()) {
    if (strcasecmp(type.c_str(), "read") == 0) iotype = lzc::kInjectRead;
    else if (strcasecmp(type.c_str(), "write") == 0) iotype = lzc::kInjectWrite;
    else if (strcasecmp(type.c_str(), "all") == 0) iotype = lzc::kInjectAll;
    else {
      UsageError(kZinject, "invalid I/O type '" + type + "': must be 'read', 'write' or 'all'");
      return kExitError;
    }
  }
  uint32_t freq = 100;
  if (!freq_s.empty()) {
    char* end = nullptr;
    const long f = std::strtol(freq_s.c_str(), &end, 10);
    if (*end != '\0' || f < 1 || f > 100) return Fail("frequency range must be in the range (0, 100]");
    freq = static_cast<uint32_t>(f);
  }
  if (!action.empty() && strcasecmp(action.c_str(), "fault") != 0) {
    UsageError(kZinject, "invalid action '" + action + "': must be 'fault'");
    return kExitError;
  }

  if (!cancel.empty()) {
    if (!device.empty() || !action.empty() || !error.empty() || !type.empty() || !freq_s.empty())
      return UsageError(kZinject, "cancel (-c) incompatible with any other options");
    if (!args.empty()) return UsageError(kZinject, "extraneous argument to '-c'");
    return Cancel(cancel);
  }
  if (device.empty()) return UsageError(kZinject, "at least one of '-c' or '-d' must be specified");
  if (args.size() != 1) return UsageError(kZinject, "device (-d) injection requires a single pool name");
  const std::string& pool = args[0];

  // translate_device: the device in the pool's configuration, by path or guid.
  auto st = lzc::PoolStatus(pool);
  if (!st.ok()) {
    if (lzc::IsConnectError(st.status())) return Fail(st.status().message());
    return Fail("cannot open '" + pool + "': no such pool");
  }
  const auto* pools = st->GetNvListArray("pools");
  const NvList* cfg = pools && !pools->empty() ? (*pools)[0].GetNvList("config") : nullptr;
  const NvList* tree = cfg ? cfg->GetNvList("vdev_tree") : nullptr;
  const NvList* v = tree ? libzfs::FindVdev(*tree, device, nullptr) : nullptr;
  if (!v) return Fail("cannot find device '" + device + "' in pool '" + pool + "'");
  const uint64_t guid = v->GetUint64("guid").value_or(0);

  if (!action.empty()) {
    Status s = lzc::InjectFaultDevice(pool, guid);
    if (!s.ok()) return Fail("cannot fault '" + device + "': " + s.message());
    return kExitOk;
  }
  auto id = lzc::InjectAdd(pool, guid, err, iotype, freq);
  if (!id.ok()) {
    if (lzc::IsConnectError(id.status())) return Fail(id.status().message());
    return Fail("failed to add handler: " + id.status().message());
  }
  if (quiet) {
    std::cout << *id << "\n";
  } else {
    std::printf("Added handler %llu with the following properties:\n", static_cast<unsigned long long>(*id));
    std::printf("  pool: %s\n", pool.c_str());
    std::printf("  vdev: %llx\n", static_cast<unsigned long long>(guid));
  }
  return kExitOk;
}
