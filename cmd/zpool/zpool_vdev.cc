#include "cmd/zpool/zpool_vdev.h"

#include <sys/stat.h>

#include <climits>
#include <cstring>
#include <cstdlib>
#include <map>

#include "libcore/base/env.h"
#include "libcore/vdev/disk.h"
#include "libcore/vdev/vdev_label.h"

namespace uzfs::zpool {

namespace {

struct Leaf {
  std::string path;
  std::string type;  // file | disk
  bool whole_disk = false;
};

struct Top {
  std::string type;  // file | disk | mirror | raidz
  uint64_t nparity = 0;
  std::vector<Leaf> leaves;
  bool is_log = false;
};

// Resolves a device word to a path as OpenZFS does: absolute paths as given, other words
// under /dev, then /dev/disk/by-id.
bool Resolve(const std::string& word, std::string* path, std::string* err) {
  struct stat st;
  if (!word.empty() && word[0] == '/') {
    if (::stat(word.c_str(), &st) != 0) {
      *err = "cannot open '" + word + "': " + std::strerror(errno);
      return false;
    }
    *path = word;
  } else {
    bool found = false;
    for (const char* dir : {"/dev/", "/dev/disk/by-id/", "/dev/mapper/"}) {
      std::string p = std::string(dir) + word;
      if (::stat(p.c_str(), &st) == 0) {
        *path = p;
        found = true;
        break;
      }
    }
    if (!found) {
      *err = "cannot open '" + word + "': no such device in /dev\nmust be a full path or shorthand device name";
      return false;
    }
  }
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
    *err = "cannot use '" + *path + "': must be a block device or regular file";
    return false;
  }
  return true;
}

}  // namespace

VdevSpecResult MakeRootVdev(const std::vector<std::string>& words, bool force,
                            const std::set<std::string>& imported) {
  VdevSpecResult r;
  std::vector<Top> tops;
  bool is_log = false;
  size_t i = 0;
  while (i < words.size()) {
    std::string w = words[i];
    if (w == "log") {
      is_log = true;
      i++;
      continue;
    }
    if (w == "spare" || w == "cache") {
      r.error = "invalid vdev specification: '" + w + "' devices are not supported yet";
      return r;
    }
    Top t;
    t.is_log = is_log;
    std::string kind = w;
    if (w == "mirror" || w == "raidz" || w == "raidz1" || w == "raidz2" || w == "raidz3") {
      t.type = w == "mirror" ? "mirror" : "raidz";
      t.nparity = w == "mirror" ? 0 : (w == "raidz" ? 1 : static_cast<uint64_t>(w.back() - '0'));
      if (w == "raidz") kind = "raidz1";
      i++;
      while (i < words.size()) {
        const std::string& d = words[i];
        if (d == "mirror" || d.rfind("raidz", 0) == 0 || d == "log" || d == "spare" || d == "cache") break;
        Leaf l;
        if (!Resolve(d, &l.path, &r.error)) return r;
        struct stat st;
        ::stat(l.path.c_str(), &st);
        l.type = S_ISBLK(st.st_mode) ? "disk" : "file";
        t.leaves.push_back(l);
        i++;
      }
      size_t need = t.type == "mirror" ? 2 : t.nparity + 1;
      if (t.leaves.size() < need) {
        r.error = "invalid vdev specification: " + kind + " requires at least " +
                  std::to_string(need) + " devices";
        return r;
      }
    } else {
      Leaf l;
      if (!Resolve(w, &l.path, &r.error)) return r;
      struct stat st;
      ::stat(l.path.c_str(), &st);
      l.type = S_ISBLK(st.st_mode) ? "disk" : "file";
      t.type = l.type;
      t.leaves.push_back(l);
      i++;
    }
    tops.push_back(std::move(t));
  }
  if (tops.empty()) {
    r.error = "invalid vdev specification: at least one toplevel vdev must be specified";
    return r;
  }
  // The same device twice.
  std::set<std::string> seen;
  for (const Top& t : tops)
    for (const Leaf& l : t.leaves) {
      char real[PATH_MAX];
      std::string key = ::realpath(l.path.c_str(), real) ? real : l.path;
      if (!seen.insert(key).second) {
        r.error = "one or more vdevs refer to the same device, or one of\nthe devices is part of an active md or lvm device";
        return r;
      }
    }
  // What the devices hold (check_in_use / check_disk): pool labels, file systems, swap,
  // partition tables (libblkid), mounts, exclusive opens — libcore/vdev/disk.h's refusals.
  std::vector<std::pair<std::string, bool>> errors;  // message, overridable
  std::vector<std::string> bare;  // printed without the header (OpenZFS's check_disk lines)
  auto active = [&](const std::string& name, uint64_t) { return imported.count(name) > 0; };
  for (Top& t : tops)
    for (Leaf& l : t.leaves) {
      l.whole_disk = l.type == "disk" && disk::IsWholeDisk(l.path);
      auto refusals = disk::DeviceRefusals(l.path, active);
      if (!refusals.ok()) continue;
      for (const disk::Refusal& r : *refusals) {
        if (r.bare && !(force && r.overridable)) bare.push_back(r.message);
        else errors.push_back({r.message, r.overridable});
      }
    }
  if (!bare.empty()) {
    for (const auto& b : bare) r.error += b + "\n";
    r.error.pop_back();
    return r;
  }
  // Replication levels (check_replication), data vdevs only.
  if (!force) {
    std::string rtype;
    uint64_t rwidth = 0, rparity = 0;
    bool first = true;
    for (const Top& t : tops) {
      if (t.is_log) continue;
      std::string type = t.type == "disk" || t.type == "file" ? t.type : t.type;
      uint64_t width = t.leaves.size();
      if (first) {
        rtype = type;
        rwidth = width;
        rparity = t.nparity;
        first = false;
        continue;
      }
      if (type != rtype) {
        errors.push_back({"mismatched replication level: both " + rtype + " and " + type +
                              " vdevs are present", true});
        break;
      }
      if (type == "raidz" && t.nparity != rparity) {
        errors.push_back({"mismatched replication level: both " + std::to_string(rparity) +
                              " and " + std::to_string(t.nparity) +
                              " device parity raidz vdevs are present", true});
        break;
      }
      if ((type == "mirror" || type == "raidz") && width != rwidth) {
        errors.push_back({"mismatched replication level: both " + std::to_string(rwidth) +
                              "-way and " + std::to_string(width) + "-way " + type +
                              " vdevs are present", true});
        break;
      }
    }
  }
  bool fatal = false;
  for (auto& [m, overridable] : errors) fatal |= !overridable || !force;
  if (fatal) {
    r.error = "invalid vdev specification\n";
    r.error += force ? "the following errors must be manually repaired:\n"
                     : "use '-f' to override the following errors:\n";
    for (auto& [m, overridable] : errors)
      if (!overridable || !force) r.error += m + "\n";
    r.error.pop_back();
    return r;
  }
  // The nvroot.
  NvList root;
  root.AddString("type", "root");
  std::vector<NvList> kids;
  for (const Top& t : tops) {
    auto leaf_nv = [](const Leaf& l) {
      NvList n;
      n.AddString("type", l.type);
      n.AddString("path", l.path);
      if (l.type == "disk") n.AddUint64("whole_disk", l.whole_disk ? 1 : 0);
      return n;
    };
    NvList tn;
    if (t.type == "mirror" || t.type == "raidz") {
      tn.AddString("type", t.type);
      if (t.type == "raidz") tn.AddUint64("nparity", t.nparity);
      std::vector<NvList> ls;
      for (const Leaf& l : t.leaves) ls.push_back(leaf_nv(l));
      tn.AddNvListArray("children", std::move(ls));
    } else {
      tn = leaf_nv(t.leaves[0]);
    }
    tn.AddUint64("is_log", t.is_log ? 1 : 0);
    kids.push_back(std::move(tn));
  }
  root.AddNvListArray("children", std::move(kids));
  r.nvroot = std::move(root);
  return r;
}

std::string DryRunLayout(const std::string& pool, const NvList& nvroot) {
  std::string out = "\t" + pool + "\n";
  const auto* tops = nvroot.GetNvListArray("children");
  if (!tops) return out;
  for (const NvList& t : *tops) {
    const std::string* type = t.GetString("type");
    if (const auto* kids = t.GetNvListArray("children")) {
      std::string name = *type == "raidz" ? "raidz" + std::to_string(t.GetUint64("nparity").value_or(1)) : *type;
      out += "\t  " + name + "\n";
      for (const NvList& k : *kids) out += "\t    " + *k.GetString("path") + "\n";
    } else {
      out += "\t  " + *t.GetString("path") + "\n";
    }
  }
  return out;
}

}  // namespace uzfs::zpool
