#include "libzfs/libzfs.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "libzfs/zfs_core.h"

namespace uzfs::libzfs {

// The words of OpenZFS's zpool_standard_error (and zfs_common_error before it) for a code the
// daemon sent without a detail message.
std::string Reason(const Status& s) {
  if (!s.message().empty()) return s.message();
  switch (s.code()) {
    case EPERM:
    case EACCES: return "permission denied";
    case ENOENT: return "no such pool or dataset";
    case EEXIST: return "pool already exists";
    case EBUSY: return "pool is busy";
    case ENXIO: return "one or more devices is currently unavailable";
    case ENODEV: return "no such device in pool";
    case ENAMETOOLONG: return "too many devices in one vdev";
    case ENOTSUP: return "operation not supported on this type of pool";
    case EINVAL: return "invalid argument for this pool operation";
    case ENOSPC:
    case EDQUOT: return "out of space";
    case EROFS: return "pool is read-only";
    case EIO: return "I/O error";
    case EFAULT: return "bad address";
    case EINTR: return "signal received";
    case EAGAIN: return "pool I/O is currently suspended";
    default: return std::strerror(s.code());
  }
}

std::string ErrorText(const std::string& verb, const std::string& name, const Status& s) {
  if (lzc::IsConnectError(s)) return s.message();
  return "cannot " + verb + " '" + name + "': " + Reason(s);
}

std::string JsonString(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else {
      o += static_cast<char>(c);
    }
  }
  return o + "\"";
}

std::string PoolErrorText(const std::string& verb, const std::string& pool, const Status& s) {
  if (s.code() == ENOENT && !lzc::IsConnectError(s)) return "cannot open '" + pool + "': no such pool";
  return ErrorText(verb, pool, s);
}

std::string NiceNum(uint64_t num) {
  uint64_t n = num;
  int index = 0;
  while (n >= 1024 && index < 6) {
    n /= 1024;
    index++;
  }
  static const char kUnits[] = " KMGTPE";
  char buf[32];
  if (index == 0) {
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
  } else if ((num & ((1ULL << (10 * index)) - 1)) == 0) {
    std::snprintf(buf, sizeof buf, "%llu%c", static_cast<unsigned long long>(n), kUnits[index]);
  } else {
    double val = static_cast<double>(num) / static_cast<double>(1ULL << (10 * index));
    for (int i = 2; i >= 0; i--)
      if (std::snprintf(buf, sizeof buf, "%.*f%c", i, val, kUnits[index]) <= 5) break;
  }
  return buf;
}

std::string VdevName(const NvList& v) {
  const std::string* type = v.GetString("type");
  const std::string* path = v.GetString("path");
  if (path) {
    if (type && (*type == "disk" || *type == "dax") && path->rfind("/dev/", 0) == 0)
      return path->substr(5);
    return *path;
  }
  std::string t = type ? *type : "?";
  if (t == "raidz") t += std::to_string(v.GetUint64("nparity").value_or(1));
  return t + "-" + std::to_string(v.GetUint64("id").value_or(0));
}

std::string VdevClass(const NvList& top) {
  if (top.GetUint64("is_log").value_or(0)) return "logs";
  const std::string* type = top.GetString("type");
  if (type && *type == "dax") return "dax";
  return {};
}

std::string VdevTable(const std::string& pool_name, const std::string& pool_state,
                      const NvList& tree, bool with_counters) {
  // print_status_config: NAME column wide enough for the deepest name, at least 10.
  size_t width = std::max<size_t>(10, pool_name.size());
  std::function<void(const NvList&, size_t)> measure = [&](const NvList& v, size_t depth) {
    width = std::max(width, VdevName(v).size() + depth);
    if (const auto* kids = v.GetNvListArray("children"))
      for (const NvList& k : *kids) measure(k, depth + 2);
  };
  const auto* tops = tree.GetNvListArray("children");
  if (tops)
    for (const NvList& t : *tops) measure(t, 2);
  const auto* spares = tree.GetNvListArray("spares");
  if (spares)
    for (const NvList& s : *spares) measure(s, 2);
  std::string out;
  char line[1024];
  // print_status_config / print_import_config: indent, name padded to the column, state,
  // the counters (status only), then the reason a vdev is unavailable: a leaf that could
  // not be opened, or an interior vdev (the pool too) with too few children left.
  auto row = [&](size_t depth, const std::string& name, const std::string& state,
                 const char* aux, const NvList* v) {
    if (with_counters) {
      // zfs_nicenum of vs_read_errors, vs_write_errors, vs_checksum_errors.
      auto count = [&](const char* key) { return NiceNum(v ? v->GetUint64(key).value_or(0) : 0); };
      std::snprintf(line, sizeof line, "\t%*s%-*s  %-8s %5s %5s %5s", static_cast<int>(depth), "",
                    static_cast<int>(width - depth), name.c_str(), state.c_str(),
                    count("read_errors").c_str(), count("write_errors").c_str(),
                    count("checksum_errors").c_str());
    } else
      std::snprintf(line, sizeof line, "\t%*s%-*s  %s", static_cast<int>(depth), "",
                    static_cast<int>(width - depth), name.c_str(), state.c_str());
    out += line;
    if (aux) out += std::string("  ") + aux;
    out += "\n";
  };
  if (with_counters) {
    std::snprintf(line, sizeof line, "\t%-*s  %-8s %5s %5s %5s\n", static_cast<int>(width), "NAME",
                  "STATE", "READ", "WRITE", "CKSUM");
    out += line;
  }
  row(0, pool_name, pool_state, pool_state == "UNAVAIL" ? "insufficient replicas" : nullptr,
      nullptr);
  std::function<void(const NvList&, size_t)> walk = [&](const NvList& v, size_t depth) {
    const std::string* st = v.GetString("state");
    std::string state = st ? *st : "ONLINE";
    const auto* kids = v.GetNvListArray("children");
    const char* aux = nullptr;
    if (const std::string* a = v.GetString("aux")) aux = a->c_str();  // "too many errors"
    else if (state == "UNAVAIL") aux = kids && !kids->empty() ? "insufficient replicas" : "cannot open";
    else if (v.GetUint64("dax_emulated").value_or(0)) aux = "emulated DAX (a file, no MAP_SYNC)";
    else if (v.GetUint64("resilvering").value_or(0)) aux = "(resilvering)";
    row(depth, VdevName(v), state, aux, &v);
    if (kids)
      for (const NvList& k : *kids) walk(k, depth + 2);
  };
  // Logs, dax devices and holes are not listed among the pool's vdevs; the logs follow
  // under "logs" (print_logs), the dax class under "dax" (as OpenZFS prints its special
  // class), holes nowhere (print_import_config skips them and missing vdevs).
  auto is_hole = [](const NvList& t) {
    const std::string* ty = t.GetString("type");
    return t.GetUint64("is_hole").value_or(0) != 0 || (ty && *ty == "hole");
  };
  // print_spares: "spares", each with its state (AVAIL, INUSE "currently in use", UNAVAIL)
  // and no counters (print_status_config with isspare). print_import_config: the names
  // alone, before the logs (show_import prints those after the whole config).
  auto print_spares = [&] {
    if (!spares || spares->empty()) return;
    out += "\tspares\n";
    for (const NvList& s : *spares) {
      if (!with_counters) {
        out += "\t  " + VdevName(s) + "\n";
        continue;
      }
      const std::string* st = s.GetString("state");
      std::snprintf(line, sizeof line, "\t%*s%-*s  %-8s", 2, "", static_cast<int>(width - 2),
                    VdevName(s).c_str(), st ? st->c_str() : "AVAIL");
      out += line;
      if (const std::string* a = s.GetString("aux")) out += "  " + *a;
      out += "\n";
    }
  };
  if (tops)
    for (const NvList& t : *tops)
      if (!is_hole(t) && VdevClass(t).empty()) walk(t, 2);
  if (!with_counters) print_spares();
  if (tops) {
    for (const char* cls : {"logs", "dax"}) {
      bool header = false;
      for (const NvList& t : *tops) {
        if (is_hole(t) || VdevClass(t) != cls) continue;
        if (!header) out += std::string("\t") + cls + "\n";
        header = true;
        walk(t, 2);
      }
    }
  }
  if (with_counters) print_spares();
  return out;
}

const NvList* FindVdev(const NvList& tree, const std::string& name, bool* is_log, bool* avail_spare) {
  // zpool_find_vdev: a guid, an interior vdev's "type-id" name, or a leaf's path (a name
  // that is not absolute as under /dev; a whole disk by the disk, not its partition).
  uint64_t guid = 0;
  bool numeric = !name.empty() && name.find_first_not_of("0123456789") == std::string::npos;
  if (numeric) guid = std::strtoull(name.c_str(), nullptr, 10);
  auto matches = [&](const NvList& v) {
    if (numeric && guid != 0) return v.GetUint64("guid").value_or(0) == guid;
    const std::string* path = v.GetString("path");
    if (!path) {
      const std::string* type = v.GetString("type");
      return type && *type != "hole" && *type != "root" && VdevName(v) == name;
    }
    const std::string want = name[0] == '/' ? name : "/dev/" + name;
    if (*path == want || *path == name || VdevName(v) == name) return true;
    if (v.GetUint64("whole_disk").value_or(0) && path->rfind(want, 0) == 0) {
      const std::string rest = path->substr(want.size());
      return rest == "1" || rest == "p1" || rest == "-part1";
    }
    return false;
  };
  std::function<const NvList*(const NvList&)> search = [&](const NvList& v) -> const NvList* {
    if (matches(v)) return &v;
    if (const auto* kids = v.GetNvListArray("children"))
      for (const NvList& k : *kids)
        if (const NvList* hit = search(k)) return hit;
    return nullptr;
  };
  if (is_log) *is_log = false;
  if (avail_spare) *avail_spare = false;
  if (const auto* kids = tree.GetNvListArray("children"))
    for (const NvList& t : *kids) {
      if (const NvList* hit = search(t)) {
        // is_log is set on the top-level vdev only: a log mirror's sides are log devices too.
        if (is_log) *is_log = t.GetUint64("is_log").value_or(0) != 0;
        return hit;
      }
    }
  // A spare in use was found in the tree above; one listed only is available.
  if (const auto* spares = tree.GetNvListArray("spares"))
    for (const NvList& s : *spares)
      if (matches(s)) {
        if (avail_spare) *avail_spare = true;
        return &s;
      }
  return nullptr;
}

}  // namespace uzfs::libzfs
