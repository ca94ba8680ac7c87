// zinject: injects faults into an imported pool (OpenZFS cmd/zinject/zinject.c): device
// handlers (-d, -e, -T, -f, -A), data handlers on a file's blocks (-t data, -e, -l, -r,
// -f) or its dnode's block (-t dnode), handlers on the MOS's blocks of one type (-t mos,
// mosdir, metaslab, config, bplist, spacemap, errlog: translate.c's MOS types of pool
// version 23), an ARC flush (-a), -c, -q and the listing, for testing how zfsd counts,
// faults and recovers devices (zpool status, zpool clear) and how reads that fail reach the
// error log (zpool status -v), and raw bookmarks (-b objset:object:level:blkid,
// translate_raw: one block of any objset, the MOS's as objset 0). The handlers live in zfsd
// (libcore/vdev/vdev_inject.h, libcore/zio/zio_inject.h); label faults (-d DEV -L
// nvlist|uber|pad1|pad2: translate_device's regions of every label of the device, failing
// with EIO as zio_handle_label_injection does). Panics (-p) and ignored writes (-I) are not
// offered.
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <strings.h>
#include <sys/stat.h>
#include <vector>

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
     "zinject -d device -A fault pool",
     "zinject -d device -L nvlist|uber|pad1|pad2 [-q] pool",
     "zinject -t data|dnode [-e io|checksum] [-l level] [-r start[,end]] [-f frequency] [-a] [-q] path",
     "zinject -t mos|mosdir|metaslab|config|bplist|bpobj|spacemap|errlog [-e io|checksum] [-f frequency] [-a] [-q] pool",
     "zinject -b objset:object:level:blkid [-e io|checksum] [-a] [-q] pool",
     "zinject -a"},
    "    -A action     fault: the device is FAULTED at once (vdev_fault)\n"
    "    -a            flush the ARC first (alone: just flush it), so reads go to disk\n"
    "    -b bookmark   objset:object:level:blkid (hexadecimal): reads of that one block\n"
    "                  fail (objset 0: the pool's MOS), as if no copy could be read\n"
    "    -c id|all     clear the handler numbered id, or every handler\n"
    "    -d device     the device (its path as zpool status shows it, or its guid)\n"
    "    -e error      device: io fails its I/O with EIO (default: nxio, as if pulled);\n"
    "                  data: io (default) or checksum, as if no copy could be read\n"
    "    -f frequency  fail only this percentage of the I/O (1-100, default 100)\n"
    "    -L region     device: the I/O of this region of the device's four labels fails\n"
    "                  with EIO: nvlist (the config), uber (the uberblock ring), pad1, pad2\n"
    "    -l level      data, dnode: the blocks at this level of the tree fail (default 0,\n"
    "                  the data or dnode blocks; 1 and up: the indirect blocks above them)\n"
    "    -q            print only the number of the handler added\n"
    "    -r range      data: the bytes start[,end] whose blocks fail (K, M, G accepted;\n"
    "                  default: all; start alone: the block holding it)\n"
    "    -t type       data: reads of the file's data blocks fail (the file's full path);\n"
    "                  dnode: of the block holding the file's dnode; mos, mosdir,\n"
    "                  metaslab, config, bplist (bpobj), spacemap, errlog: of the pool's\n"
    "                  MOS blocks of that type (all for mos), as a scrub reads them\n"
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
  auto u = [](const NvList& h, const char* k) { return static_cast<unsigned long long>(h.GetUint64(k).value_or(0)); };
  auto pool = [](const NvList& h) { return h.GetString("pool") ? h.GetString("pool")->c_str() : ""; };
  auto is_data = [](const NvList& h) { return h.GetString("type") && *h.GetString("type") == "data"; };
  auto objtype = [](const NvList& h) { return h.GetString("objtype") ? h.GetString("objtype")->c_str() : "data"; };
  // print_device_handler's table, then print_data_handler's.
  int n = 0;
  for (const NvList& h : *hs) {
    if (is_data(h)) continue;
    if (n++ == 0) {
      std::printf("%3s  %-15s  %s\n", "ID", "POOL", "GUID");
      std::printf("---  ---------------  ----------------\n");
    }
    std::printf("%3llu  %-15s  %llx\n", u(h, "id"), pool(h), u(h, "guid"));
  }
  if (n) std::printf("\n");
  n = 0;
  for (const NvList& h : *hs) {
    if (!is_data(h)) continue;
    if (n++ == 0) {
      std::printf("%3s  %-15s  %-6s  %-6s  %-8s  %3s  %-15s\n", "ID", "POOL", "OBJSET", "OBJECT", "TYPE", "LVL",
                  "RANGE");
      std::printf("---  ---------------  ------  ------  --------  ---  ---------------\n");
    }
    std::printf("%3llu  %-15s  %-6llu  %-6llu  %-8s  %-3llu  ", u(h, "id"), pool(h), u(h, "objset"), u(h, "object"),
                objtype(h), u(h, "level"));
    if (u(h, "start") == 0 && h.GetUint64("end").value_or(0) == UINT64_MAX)
      std::printf("all\n");
    else
      std::printf("[%llu, %llu]\n", u(h, "start"), u(h, "end"));
  }
  if (n) std::printf("\n");
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

// zfs_nicestrtonum: a number with an optional K, M, G, T, P or E suffix (powers of 1024).
bool NiceNumber(const std::string& t, uint64_t* out) {
  if (t.empty() || !std::isdigit(static_cast<unsigned char>(t[0]))) return false;
  size_t end = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(t, &end, 0);
  } catch (...) {
    return false;
  }
  std::string suffix = t.substr(end);
  if (!suffix.empty() && (suffix.back() == 'B' || suffix.back() == 'b') && suffix.size() > 1) suffix.pop_back();
  static const std::string kUnits = "KMGTPE";
  if (suffix.empty()) {
    *out = v;
    return true;
  }
  if (suffix.size() != 1) return false;
  size_t k = kUnits.find(static_cast<char>(std::toupper(static_cast<unsigned char>(suffix[0]))));
  if (k == std::string::npos) return false;
  const int shift = 10 * static_cast<int>(k + 1);
  if (v > (UINT64_MAX >> shift)) return false;
  *out = v << shift;
  return true;
}

// zinject -t data PATH (translate_record): the file's filesystem (the mounted one whose
// The new handler's number (-q), or print_handler's "Added handler" block of the rows given
// (names right-aligned in six columns); the daemon's refusal in zinject's words (ENOENT names
// the pool for the kinds whose handler names one).
int ReportAdded(const Result<uint64_t>& id, const std::string& pool, bool quiet,
                const std::vector<std::pair<const char*, std::string>>& rows, bool enoent_is_pool) {
  if (!id.ok()) {
    if (lzc::IsConnectError(id.status())) return Fail(id.status().message());
    if (enoent_is_pool && id.status().code() == ENOENT) return Fail("cannot open '" + pool + "': no such pool");
    return Fail("failed to add handler: " + id.status().message());
  }
  if (quiet) {
    std::cout << *id << "\n";
    return kExitOk;
  }
  std::printf("Added handler %llu with the following properties:\n", static_cast<unsigned long long>(*id));
  for (const auto& [name, value] : rows) std::printf("%6s: %s\n", name, value.c_str());
  return kExitOk;
}

// device is the file's) and object (its inode number), the range in bytes.
int InjectData(const std::string& path, const std::string& range, int err, uint32_t freq, bool flush,
               bool quiet, int level, bool dnode) {
  if (path.empty() || path[0] != '/') {
    UsageError(kZinject, "invalid object '" + path + "': must be full path");
    return kExitError;
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Fail("cannot open '" + path + "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return Fail("invalid object '" + path + "': not a regular file");
  auto mounts = lzc::ZfsMounts();
  if (!mounts.ok()) return Fail(mounts.status().message());
  const std::string fs = lzc::MountedFilesystemOf(st.st_dev, *mounts);
  if (fs.empty()) return Fail("invalid path '" + path + "': not a ZFS filesystem");
  // initialize_range: all by default; start alone is the byte at start.
  uint64_t start = 0, end = UINT64_MAX;
  if (!range.empty()) {
    const size_t comma = range.find(',');
    uint64_t e = 0;
    if (!NiceNumber(range.substr(0, comma), &start) ||
        (comma != std::string::npos && !NiceNumber(range.substr(comma + 1), &e)))
      return Fail("invalid range '" + range + "': must be of the form 'start[,end]'");
    end = comma == std::string::npos ? start : e;
    if (end < start) return Fail("invalid range '" + range + "': must be of the form 'start[,end]'");
  }
  auto id = lzc::InjectData(fs, st.st_ino, start, end, err, freq, flush, level, dnode);
  std::string span = "all";
  if (dnode)
    span = "[" + std::to_string(st.st_ino * 512) + ", " + std::to_string(st.st_ino * 512 + 511) + "]";
  else if (start != 0 || end != UINT64_MAX)
    span = "[" + std::to_string(start) + ", " + std::to_string(end) + "]";
  return ReportAdded(id, fs.substr(0, fs.find('/')), quiet,
                     {{"pool", fs.substr(0, fs.find('/'))},
                      {"object", std::to_string(dnode ? 0 : st.st_ino)},
                      {"type", dnode ? "dnode" : "data"},
                      {"level", std::to_string(level)},
                      {"range", span}},
                     false);
}

// zinject -b objset:object:level:blkid POOL (translate_raw).
int InjectRaw(const std::string& raw, const std::string& pool, int err, bool flush, bool quiet) {
  unsigned long long objset = 0, object = 0, blkid = 0;
  unsigned level = 0;
  char tail = 0;
  if (std::sscanf(raw.c_str(), "%llx:%llx:%x:%llx%c", &objset, &object, &level, &blkid, &tail) != 4) {
    std::fprintf(stderr, "bad raw spec '%s': must be of the form 'objset:object:level:blkid'\n", raw.c_str());
    return kExitError;
  }
  auto id = lzc::InjectRaw(pool, objset, object, static_cast<int>(level), blkid, err, 100, flush);
  return ReportAdded(id, pool, quiet,
                     {{"pool", pool},
                      {"objset", std::to_string(objset)},
                      {"object", std::to_string(object)},
                      {"type", "raw"},
                      {"level", std::to_string(level)},
                      {"range", "[" + std::to_string(blkid) + ", " + std::to_string(blkid) + "]"}},
                     true);
}

// zinject -t TYPE POOL for translate_record's MOS types: the handler names the pool.
int InjectMos(const std::string& type, const std::string& pool, int err, uint32_t freq, bool flush, bool quiet) {
  auto id = lzc::InjectMos(pool, type, err, freq, flush);
  return ReportAdded(id, pool, quiet,
                     {{"pool", pool}, {"objset", "0"}, {"object", "0"}, {"type", type}, {"level", "0"}, {"range", "all"}},
                     true);
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
  std::string action, cancel, device, error, freq_s, type, objtype, range, level_s, raw, label;
  bool quiet = false, flush = false;
  app.add_option("-A", action);
  app.add_flag("-a", flush);
  app.add_option("-t", objtype);
  app.add_option("-b", raw);
  app.add_option("-r", range);
  app.add_option("-l", level_s);
  app.add_option("-L", label);
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
  int err = objtype.empty() && raw.empty() ? ENXIO : EIO;
  if (!error.empty()) {
    if (strcasecmp(error.c_str(), "io") == 0) err = EIO;
    else if (strcasecmp(error.c_str(), "nxio") == 0) err = ENXIO;
    else if (strcasecmp(error.c_str(), "checksum") == 0) err = ECKSUM;
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

  // zinject.c's name_to_type for -L: the label regions.
  unsigned labels = 0;
  if (!label.empty()) {
    static const std::pair<const char*, unsigned> kRegions[] = {
        {"nvlist", lzc::kLabelNvlist}, {"uber", lzc::kLabelUber}, {"pad1", lzc::kLabelPad1}, {"pad2", lzc::kLabelPad2}};
    for (const auto& [name, bit] : kRegions)
      if (label == name) labels = bit;
    if (!labels) {
      UsageError(kZinject, "invalid label type '" + label + "'");
      return kExitError;
    }
  }

  if (!cancel.empty()) {
    if (!label.empty() || !device.empty() || !action.empty() || !error.empty() || !type.empty() || !freq_s.empty() ||
        !objtype.empty() || !range.empty() || !level_s.empty() || !raw.empty() || flush)
      return UsageError(kZinject, "cancel (-c) incompatible with any other options");
    if (!args.empty()) return UsageError(kZinject, "extraneous argument to '-c'");
    return Cancel(cancel);
  }
  if (!raw.empty()) {
    // zinject.c: raw is alone but for -e, -a and -q.
    if (!range.empty() || !objtype.empty() || !level_s.empty() || !freq_s.empty() || !device.empty() ||
        !action.empty() || !type.empty() || !label.empty())
      return UsageError(kZinject, "raw (-b) format with any other options");
    if (args.size() != 1) return UsageError(kZinject, "raw (-b) format expects a single pool name");
    if (err == ENXIO) return Fail("data error type must be 'checksum' or 'io'");
    return InjectRaw(raw, args[0], err, flush, quiet);
  }
  if (!label.empty() && device.empty()) return UsageError(kZinject, "-L is only meaningful with -d");
  if (!objtype.empty()) {
    if (!device.empty() || !action.empty() || !type.empty())
      return UsageError(kZinject, "-t is incompatible with -d, -A and -T");
    // bpobj: OpenZFS's name for the deferred-free list, a bplist in v23.
    if (objtype == "bpobj") objtype = "bplist";
    static const char* const kMosTypes[] = {"mos", "mosdir", "metaslab", "config", "bplist", "spacemap",
                                            "errlog"};
    const bool data = objtype == "data", dnode = objtype == "dnode";
    bool mos = false;
    for (const char* t : kMosTypes) mos |= objtype == t;
    if (objtype == "label")
      return Fail("injection into 'label' objects is not supported");
    if (!data && !dnode && !mos) {
      UsageError(kZinject, "invalid type '" + objtype + "'");
      return kExitError;
    }
    if (err == ENXIO) return Fail("data error type must be 'checksum' or 'io'");
    // zinject.c: "missing object" when not exactly one object (path or pool) is given.
    if (args.size() != 1) return UsageError(kZinject, "missing object");
    int level = 0;
    if (!level_s.empty()) {
      char* end = nullptr;
      const long l = std::strtol(level_s.c_str(), &end, 10);
      if (*end != '\0' || l < 0 || l > 6) {
        UsageError(kZinject, "invalid level '" + level_s + "': must be an integer");
        return kExitError;
      }
      level = static_cast<int>(l);
    }
    if (mos) {
      if (!range.empty() || !level_s.empty())
        return UsageError(kZinject, "-r and -l are meaningless with -t " + objtype);
      return InjectMos(objtype, args[0], err, freq, flush, quiet);
    }
    // initialize_range: "range cannot be specified when type is 'dnode'".
    if (dnode && !range.empty()) return Fail("range cannot be specified when type is 'dnode'");
    return InjectData(args[0], range, err, freq, flush, quiet, level, dnode);
  }
  if (!range.empty() || !level_s.empty()) return UsageError(kZinject, "-r and -l are only meaningful with -t");
  if (flush && device.empty()) {
    if (!args.empty() || !error.empty() || !freq_s.empty() || !action.empty() || !type.empty())
      return UsageError(kZinject, "-a alone takes no other option or argument");
    Status s = lzc::InjectFlushArc();
    if (!s.ok()) return Fail(s.message());
    return kExitOk;
  }
  if (device.empty()) return UsageError(kZinject, "at least one of '-c', '-d', '-t' or '-a' must be specified");
  // zio_handle_label_injection fails a label region's I/O with EIO, every time.
  if (!label.empty() && (!error.empty() || !type.empty() || !freq_s.empty()))
    return UsageError(kZinject, "label faults (-L) fail with EIO: -e, -T and -f do not apply");
  if (err == ECKSUM) return Fail("device error type must be 'io' or 'nxio'");
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
  if (flush) {
    Status f = lzc::InjectFlushArc();
    if (!f.ok()) return Fail(f.message());
  }
  auto id = lzc::InjectAdd(pool, guid, err, iotype, freq, labels);
  char vdev[32];
  std::snprintf(vdev, sizeof vdev, "%llx", static_cast<unsigned long long>(guid));
  return ReportAdded(id, pool, quiet, {{"pool", pool}, {"vdev", vdev}}, false);
}
