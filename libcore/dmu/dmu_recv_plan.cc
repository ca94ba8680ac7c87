// recv_incremental_replication's pass as a plan (see dmu_recv_plan.h; zfs-fuse
// libzfs_sendrecv.c).
#include "libcore/dmu/dmu_recv_plan.h"

namespace uzfs {

namespace {

// The last component with its '/' ("/b" of "pool/a/b"), "" for a pool's root (strrchr).
std::string LastComponent(const std::string& name) {
  size_t slash = name.rfind('/');
  return slash == std::string::npos ? "" : name.substr(slash);
}

}  // namespace

std::string LocalSnapByGuid(const std::vector<ReplFs>& local, uint64_t guid) {
  for (const ReplFs& f : local)
    for (const auto& [n, g] : f.snaps)
      if (g == guid) return f.name + "@" + n;
  return "";
}

std::vector<ReplStep> PlanIncrementalReplication(const ReplHeaderInfo& stream,
                                                 const std::vector<ReplFs>& local,
                                                 const std::string& tofs, bool force,
                                                 bool isprefix, std::vector<std::string>* notes,
                                                 const CreatedBefore& created_before) {
  std::vector<ReplStep> steps;
  for (const ReplFs& fs : local) {
    // The stream's filesystem: the one holding the first of our snapshots it has.
    const ReplFs* sfs = nullptr;
    for (const auto& [n, g] : fs.snaps)
      if ((sfs = stream.FindSnap(g, nullptr))) break;
    // Another origin there ("zfs promote" on the sender): created_before (0 when the local
    // fs is no clone, 1 when the stream's is none) says whether to promote this one.
    if (sfs && sfs->origin != fs.origin) {
      int before = !fs.origin ? 0 : !sfs->origin ? 1 : 0;
      if (fs.origin && sfs->origin && created_before) before = created_before(sfs->origin, fs.origin);
      if (before < 0) {  // created_before's zfs_open failed: recv_incremental_replication ends
        steps.push_back({ReplStep::kFail, fs.name, "", {}});
        return steps;
      }
      if (before == 1) steps.push_back({ReplStep::kPromote, fs.name, "", {}});
      steps.push_back({ReplStep::kAgain, fs.name, "", {}});
      continue;
    }
    uint64_t fromguid = 0;
    for (const auto& [n, g] : fs.snaps) {
      std::string sname;
      const ReplFs* found = stream.FindSnap(g, &sname);
      if (!found) {  // gone on the sender
        if (force) steps.push_back({ReplStep::kDestroySnap, fs.name + "@" + n, "", {}});
        continue;
      }
      sfs = found;
      if (auto it = found->snapprops.find(sname); it != found->snapprops.end() && !it->second.empty())
        steps.push_back({ReplStep::kSetSnapProps, fs.name + "@" + n, "", it->second});
      if (sname != n) steps.push_back({ReplStep::kRenameSnap, fs.name + "@" + n, fs.name + "@" + sname, {}});
      if (sname == stream.fromsnap) fromguid = g;
    }
    if (!sfs) {  // none of its snapshots is the sender's: gone there
      if (force) steps.push_back({ReplStep::kDestroyFs, fs.name, "", {}});
      continue;
    }
    if (!fromguid) {
      if (notes)
        notes->push_back("local fs " + fs.name + " does not have fromsnap (" + stream.fromsnap +
                         " in stream); must have been deleted locally; ignoring");
      continue;
    }
    // Renamed on the sender: another parent, or (below the named target) another name.
    const std::string s1 = LastComponent(fs.name), s2 = LastComponent(sfs->name);
    if ((sfs->parentfromsnap && fs.parentfromsnap && sfs->parentfromsnap != fs.parentfromsnap) ||
        ((isprefix || tofs != fs.name) && !s1.empty() && !s2.empty() && s1 != s2)) {
      std::string parent = LocalSnapByGuid(local, sfs->parentfromsnap);
      if (parent.empty()) {
        // Its new parent is new too: renamed once that is received (the second pass).
        if (notes) notes->push_back("local fs " + fs.name + " new parent not found");
        continue;
      }
      std::string to = parent.substr(0, parent.find('@')) + s2;
      if (to != fs.name) steps.push_back({ReplStep::kRenameFs, fs.name, to, {}});
    }
  }
  return steps;
}

}  // namespace uzfs
