#include "libzfs/vdev_spec.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <thread>
#include <utility>

namespace uzfs::vdev_spec {

namespace {

constexpr uint64_t kRaidzMaxParity = 3;  // VDEV_RAIDZ_MAXPARITY
constexpr int64_t kZpoolFuzz = 16LL << 20;  // ZPOOL_FUZZ: sizes within a mirror/raidz may differ by this

Status SpecError(std::string msg) { return Status::Error(EINVAL, std::move(msg)); }

// is_grouping: the vdev type a keyword starts ("raidz", "mirror", "spare", "log", "l2cache") with
// its device count bounds, or empty for a device word.
std::string Grouping(const std::string& w, int* mindev, int* maxdev) {
  if (w.rfind("raidz", 0) == 0) {
    std::string p = w.substr(5);
    uint64_t parity = 0;
    if (p.empty()) {
      parity = 1;
    } else if (p.size() == 1 && p[0] >= '1' && p[0] <= '0' + static_cast<int>(kRaidzMaxParity)) {
      parity = static_cast<uint64_t>(p[0] - '0');
    } else {
      return {};  // "raidz0", "raidz4", "raidz01": a device name, as in get_parity
    }
    *mindev = static_cast<int>(parity) + 1;
    *maxdev = 255;
    return "raidz";
  }
  *maxdev = INT_MAX;
  *mindev = w == "mirror" ? 2 : 1;
  if (w == "mirror") return "mirror";
  if (w == "spare") return "spare";
  if (w == "log") return "log";
  if (w == "dax") return "dax";
  if (w == "cache") return "l2cache";
  return {};
}

// Words OpenZFS groups by that pool version 23 has no use for.
bool Unsupported(const std::string& w) {
  return w.rfind("draid", 0) == 0 || w == "special" || w == "dedup";
}

bool IsKeyword(const std::string& w) {
  int mn, mx;
  return !Grouping(w, &mn, &mx).empty() || Unsupported(w);
}

// make_leaf_vdev: resolves a device word and describes it. dax: a device of the dax class.
Result<NvList> MakeLeaf(const std::string& arg, bool dax = false) {
  std::string path;
  struct stat st;
  if (!arg.empty() && arg[0] == '/') {
    if (::stat(arg.c_str(), &st) != 0)
      return SpecError("cannot open '" + arg + "': " + std::strerror(errno));
    path = arg;
  } else {
    // zfs_resolve_shortname: zpool_default_import_path, then ./ and ../ relative paths.
    for (const std::string& dir : disk::DefaultImportPath()) {
      std::string p = std::string(dir) + "/" + arg;
      if (::access(p.c_str(), F_OK) == 0) {
        path = p;
        break;
      }
    }
    char real[PATH_MAX];
    if (path.empty() && (arg.rfind("./", 0) == 0 || arg.rfind("../", 0) == 0) &&
        ::realpath(arg.c_str(), real))
      path = real;
    if (path.empty())
      return SpecError("cannot open '" + arg + "': no such device in /dev\n"
                       "must be a full path or shorthand device name");
    if (::stat(path.c_str(), &st) != 0)
      return SpecError("cannot open '" + path + "': " + std::strerror(errno));
  }
  const bool whole = disk::IsWholeDisk(path);
  std::string type;
  if (dax && S_ISCHR(st.st_mode)) {
    NvList nv;
    nv.AddString("path", path);
    nv.AddString("type", "dax");
    return nv;
  }
  if (whole || S_ISBLK(st.st_mode))
    type = "disk";
  else if (S_ISREG(st.st_mode))
    type = "file";
  else
    return SpecError("cannot use '" + path + "': must be a block device or regular file");
  if (dax) {
    // The dax class takes device-DAX character devices (zfsd probes them) and, where zfsd
    // was started with --dax-emulation, regular files standing in for one.
    if (type == "disk")
      return SpecError("cannot use '" + path + "': not a device-DAX character device");
    type = "dax";
  }
  NvList nv;
  nv.AddString("path", path);
  nv.AddString("type", type);
  if (type == "disk") nv.AddUint64("whole_disk", whole ? 1 : 0);
  return nv;
}

// vdev_error's output: the header once (its second line depends on -f), then the lines.
class ErrorText {
 public:
  explicit ErrorText(bool force) : force_(force) {}
  void Add(const std::string& line) {
    if (!header_) {
      text_ += "invalid vdev specification\n";
      text_ += force_ ? "the following errors must be manually repaired:\n"
                      : "use '-f' to override the following errors:\n";
      header_ = true;
    }
    text_ += line + "\n";
  }
  void AddBare(const std::string& line) { text_ += line + "\n"; }
  bool empty() const { return text_.empty(); }
  std::string str() const { return text_.substr(0, text_.size() - 1); }

 private:
  bool force_;
  bool header_ = false;
  std::string text_;
};

const std::vector<NvList>& Kids(const NvList& nv, const char* key = "children") {
  static const std::vector<NvList> kNone;
  const auto* k = nv.GetNvListArray(key);
  return k ? *k : kNone;
}

// is_device_in_use over a tree; false when some device may not be used.
bool CheckInUse(const NvList& nv, const Options& o, ErrorText* err) {
  bool ok = true;
  if (!nv.Has("children") && !nv.Has("spares") && !nv.Has("l2cache")) {
    const std::string* path = nv.GetString("path");
    if (!path) return true;
    auto refusals = disk::DeviceRefusals(*path, o.pool_active);
    if (!refusals.ok()) return true;  // vanished since MakeLeaf: the open later says so
    for (const disk::Refusal& r : *refusals) {
      if (o.force && r.overridable) continue;
      if (r.bare)
        err->AddBare(r.message);
      else
        err->Add(r.message);
      ok = false;
    }
    return ok;
  }
  for (const char* key : {"children", "spares", "l2cache"})
    for (const NvList& k : Kids(nv, key)) ok &= CheckInUse(k, o, err);
  return ok;
}

struct Replication {
  std::string type;
  uint64_t children = 0;
  uint64_t parity = 0;
};

// get_replication: the replication level of a tree's non-log top-level vdevs, or nullopt when
// they disagree (reported to err when fatal).
std::optional<Replication> GetReplication(const NvList& nvroot, bool fatal, ErrorText* err) {
  std::optional<Replication> last;
  bool consistent = true;
  Replication rep;
  for (const NvList& top : Kids(nvroot)) {
    if (top.GetUint64("is_log").value_or(0)) continue;
    const std::string type = top.GetString("type") ? *top.GetString("type") : "";
    if (type == "hole" || type == "indirect" || type == "dax") continue;
    rep = Replication{type, 0, 0};
    if (!top.Has("children")) {
      rep.children = 1;
    } else {
      rep.parity = type == "raidz" ? top.GetUint64("nparity").value_or(1) : 0;
      std::string child_type;
      int64_t vdev_size = -1;
      bool dontreport = false;
      for (const NvList& c0 : Kids(top)) {
        rep.children++;
        const NvList* c = &c0;
        // replacing / spare vdevs: their first child stands for them.
        while (c->GetString("type") &&
               (*c->GetString("type") == "replacing" || *c->GetString("type") == "spare") &&
               !Kids(*c).empty())
          c = &Kids(*c)[0];
        const std::string ctype = c->GetString("type") ? *c->GetString("type") : "";
        if (fatal && !dontreport && !child_type.empty() && child_type != ctype) {
          consistent = false;
          err->Add("mismatched replication level: " + rep.type +
                   " contains both files and devices");
          dontreport = true;
        }
        const std::string* path = c->GetString("path");
        auto size = path ? disk::DeviceSize(*path) : Result<uint64_t>(Status::Error(ENOENT));
        if (!size.ok() || *size == 0) continue;
        const int64_t sz = static_cast<int64_t>(*size);
        if (!dontreport && vdev_size != -1 && std::llabs(sz - vdev_size) > kZpoolFuzz) {
          consistent = false;
          if (!fatal) return std::nullopt;
          err->Add(rep.type + " contains devices of different sizes");
          dontreport = true;
        }
        child_type = ctype;
        vdev_size = sz;
      }
    }
    if (last) {
      std::string msg;
      if (last->type != rep.type)
        msg = "both " + last->type + " and " + rep.type + " vdevs are present";
      else if (last->parity != rep.parity)
        msg = "both " + std::to_string(last->parity) + " and " + std::to_string(rep.parity) +
              " device parity " + rep.type + " vdevs are present";
      else if (last->children != rep.children)
        msg = "both " + std::to_string(last->children) + "-way and " +
              std::to_string(rep.children) + "-way " + rep.type + " vdevs are present";
      if (!msg.empty()) {
        consistent = false;
        if (!fatal) return std::nullopt;
        err->Add("mismatched replication level: " + msg);
      }
    }
    last = rep;
  }
  if (!consistent) return std::nullopt;
  return last ? last : std::optional<Replication>(Replication{});
}

// A top-level vdev of the normal class (not a log device, not a dax device).
bool IsGeneral(const NvList& top) {
  const std::string* type = top.GetString("type");
  return !top.GetUint64("is_log").value_or(0) && !(type && *type == "dax");
}

// check_replication: the new spec against itself and against the pool's current level.
bool CheckReplication(const NvList* pool_nvroot, const NvList& newroot, ErrorText* err) {
  std::optional<Replication> current;
  if (pool_nvroot) {
    current = GetReplication(*pool_nvroot, false, err);
    if (!current) return true;  // the pool is inconsistent already: nothing to keep
  }
  const auto& kids = Kids(newroot);
  size_t logs = 0;
  for (const NvList& t : kids) logs += IsGeneral(t) ? 0 : 1;
  if (kids.empty() || logs == kids.size()) return true;
  std::optional<Replication> next = GetReplication(newroot, true, err);
  if (!next) return false;
  if (!current || current->type.empty()) return true;
  std::string msg;
  if (current->type != next->type)
    msg = "pool uses " + current->type + " and new vdev is " + next->type;
  else if (current->parity != next->parity)
    msg = "pool uses " + std::to_string(current->parity) + " device parity and new vdev uses " +
          std::to_string(next->parity);
  else if (current->children != next->children)
    msg = "pool uses " + std::to_string(current->children) + "-way " + current->type +
          " and new vdev uses " + std::to_string(next->children) + "-way " + next->type;
  if (msg.empty()) return true;
  err->Add("mismatched replication level: " + msg);
  return false;
}

// construct_spec: the syntax of the specification and every device's existence.
Result<NvList> ConstructSpec(const std::vector<std::string>& args) {
  std::vector<NvList> tops, spares, l2cache;
  bool is_log = false, seen_logs = false, seen_spares = false, seen_cache = false;
  bool is_dax = false, seen_dax = false;
  int nlogs = 0, ndax = 0;
  size_t i = 0;
  while (i < args.size()) {
    const std::string& word = args[i];
    if (Unsupported(word))
      return SpecError("invalid vdev specification: '" + word +
                       "' vdevs are not supported by pool version 23");
    int mindev = 0, maxdev = 0;
    const std::string type = Grouping(word, &mindev, &maxdev);
    if (type.empty()) {  // a device: a top-level vdev of its own
      UZFS_ASSIGN(NvList nv, MakeLeaf(word, is_dax));
      nv.AddUint64("is_log", is_log ? 1 : 0);
      if (is_log) nlogs++;
      if (is_dax) ndax++;
      tops.push_back(std::move(nv));
      i++;
      continue;
    }
    if (type == "log") {
      if (seen_logs) return SpecError("invalid vdev specification: 'log' can be specified only once");
      seen_logs = is_log = true;
      is_dax = false;
      i++;
      continue;
    }
    if (type == "dax") {
      if (seen_dax) return SpecError("invalid vdev specification: 'dax' can be specified only once");
      seen_dax = is_dax = true;
      is_log = false;
      i++;
      continue;
    }
    if (is_dax && type != "spare" && type != "l2cache")  // no mirrors or raidz of pmem here
      return SpecError("invalid vdev specification: unsupported 'dax' device: " + type);
    if (type == "spare") {
      if (seen_spares)
        return SpecError("invalid vdev specification: 'spare' can be specified only once");
      seen_spares = true;
      is_log = is_dax = false;
    }
    if (type == "l2cache") {
      if (seen_cache)
        return SpecError("invalid vdev specification: 'cache' can be specified only once");
      seen_cache = true;
      is_log = is_dax = false;
    }
    if (is_log) {
      if (type != "mirror")
        return SpecError("invalid vdev specification: unsupported 'log' device: " + type);
      nlogs++;
    }
    std::vector<NvList> children;
    size_t c = i + 1;
    for (; c < args.size() && !IsKeyword(args[c]); c++) {
      UZFS_ASSIGN(NvList leaf, MakeLeaf(args[c]));
      children.push_back(std::move(leaf));
    }
    if (static_cast<int>(children.size()) < mindev)
      return SpecError("invalid vdev specification: " + word + " requires at least " +
                       std::to_string(mindev) + " devices");
    if (static_cast<int64_t>(children.size()) > maxdev)
      return SpecError("invalid vdev specification: " + word + " supports no more than " +
                       std::to_string(maxdev) + " devices");
    i = c;
    if (type == "spare") {
      spares = std::move(children);
    } else if (type == "l2cache") {
      l2cache = std::move(children);
    } else {
      NvList top;
      top.AddString("type", type);
      top.AddUint64("is_log", is_log ? 1 : 0);
      if (type == "raidz") top.AddUint64("nparity", static_cast<uint64_t>(mindev - 1));
      top.AddNvListArray("children", std::move(children));
      tops.push_back(std::move(top));
    }
  }
  if (tops.empty() && spares.empty() && l2cache.empty())
    return SpecError("invalid vdev specification: at least one toplevel vdev must be specified");
  if (seen_logs && nlogs == 0)
    return SpecError("invalid vdev specification: log requires at least 1 device");
  if (seen_dax && ndax == 0)
    return SpecError("invalid vdev specification: dax requires at least 1 device");
  NvList root;
  root.AddString("type", "root");
  root.AddNvListArray("children", std::move(tops));
  if (!spares.empty()) root.AddNvListArray("spares", std::move(spares));
  if (!l2cache.empty()) root.AddNvListArray("l2cache", std::move(l2cache));
  return root;
}

void Leaves(const NvList& nv, std::vector<const NvList*>* out) {
  if (!nv.Has("children") && !nv.Has("spares") && !nv.Has("l2cache")) {
    if (nv.GetString("path")) out->push_back(&nv);
    return;
  }
  for (const char* key : {"children", "spares", "l2cache"})
    for (const NvList& k : Kids(nv, key)) Leaves(k, out);
}

// zero_label: the first 4 KiB of a partition given as a vdev, so libblkid finds no old magic.
Status ZeroLabel(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_EXCL | O_CLOEXEC);
  if (fd < 0) return Status::Error(errno, "cannot open '" + path + "': " + std::strerror(errno));
  static const char zeros[4096] = {};
  ssize_t n = ::pwrite(fd, zeros, sizeof zeros, 0);
  int err = errno;
  (void)::fsync(fd);
  ::close(fd);
  if (n < 0)
    return Status::Error(err, "cannot zero first 4096 bytes of '" + path + "': " + std::strerror(err));
  if (n != static_cast<ssize_t>(sizeof zeros))
    return Status::Error(EIO, "could only zero " + std::to_string(n) + "/4096 bytes of '" + path +
                                  "'\n");
  return Status::Ok();
}

// The partition-1 path of a whole disk given as path, once labelled as real → part (the
// kernel's node): zfs_append_partition's name when it exists (udev made it), else part.
std::string LabelledPath(const std::string& path, const std::string& part) {
  if (path.rfind("/dev/disk/", 0) == 0) {
    const std::string link = disk::PartitionPath(path, 1);
    // Only udevd makes these links: wait for it when it runs (zpool_label_disk_wait).
    const bool udevd = ::access("/run/udev/control", F_OK) == 0;
    for (int i = 0; i < (udevd ? 250 : 1); i++) {
      if (::access(link.c_str(), F_OK) == 0) return link;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return part;
  }
  const std::string appended = disk::PartitionPath(path, 1);
  return appended == part || ::access(appended.c_str(), F_OK) != 0 ? part : appended;
}

Status LabelTree(NvList* nv) {
  bool inner = false;
  for (const char* key : {"children", "spares", "l2cache"}) {
    const auto* kids = nv->GetNvListArray(key);
    if (!kids) continue;
    inner = true;
    std::vector<NvList> copy = *kids;
    for (NvList& k : copy) UZFS_TRY(LabelTree(&k));
    nv->AddNvListArray(key, std::move(copy));
  }
  const std::string* type = nv->GetString("type");
  const std::string* path = nv->GetString("path");
  if (inner || !type || *type != "disk" || !path) return Status::Ok();
  if (!nv->GetUint64("whole_disk").value_or(0)) return ZeroLabel(*path);
  UZFS_ASSIGN(std::string part, disk::LabelWholeDisk(*path));
  nv->AddString("path", LabelledPath(*path, part));
  return Status::Ok();
}

}  // namespace

Result<NvList> MakeRootVdev(const std::vector<std::string>& args, const Options& o) {
  UZFS_ASSIGN(NvList root, ConstructSpec(args));
  ErrorText err(o.force);
  if (!CheckInUse(root, o, &err)) return Status::Error(EBUSY, err.str());
  if (o.check_replication && !CheckReplication(o.pool_nvroot, root, &err))
    return SpecError(err.str());
  if (!o.pool_nvroot) {
    bool normal = false;
    for (const NvList& t : Kids(root)) normal |= IsGeneral(t);
    if (!normal) {
      err.Add("at least one general top-level vdev must be specified");
      return SpecError(err.str());
    }
  }
  return root;
}

Status CheckDuplicates(const NvList& nvroot, bool adding) {
  std::vector<const NvList*> leaves;
  Leaves(nvroot, &leaves);
  std::set<std::pair<uint64_t, uint64_t>> seen;
  for (const NvList* l : leaves) {
    struct stat st;
    if (::stat(l->GetString("path")->c_str(), &st) != 0) continue;
    std::pair<uint64_t, uint64_t> key =
        S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode) ? std::pair<uint64_t, uint64_t>{0, st.st_rdev}
                            : std::pair<uint64_t, uint64_t>{st.st_dev + 1, st.st_ino};
    if (!seen.insert(key).second)
      return Status::Error(EBUSY, adding ? "one or more vdevs refer to the same device"
                                         : "one or more vdevs refer to the same device, or one "
                                           "of\nthe devices is part of an active md or lvm device");
  }
  return Status::Ok();
}

Status CheckMinSize(const NvList& nvroot) {
  std::vector<const NvList*> leaves;
  Leaves(nvroot, &leaves);
  for (const NvList* l : leaves) {
    auto size = disk::DeviceSize(*l->GetString("path"));
    if (size.ok() && *size < disk::kMinDevSize)
      return Status::Error(EOVERFLOW, "one or more devices is less than the minimum size (64M)");
  }
  return Status::Ok();
}

Status LabelDisks(NvList* nvroot) { return LabelTree(nvroot); }

}  // namespace uzfs::vdev_spec
