// zpool status (zpool_do_status): pool state, the vdev table, errors; -x only unhealthy
// pools; -j JSON; -v accepted (no per-file error list: no errors are recorded yet).
#include <iostream>

#include "cmd/zpool/zpool.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

namespace {

std::string J(const std::string& s) { return libzfs::JsonString(s); }

std::string JsonVdev(const NvList& v) {
  std::string o = "{\"name\": " + J(libzfs::VdevName(v)) + ", \"vdev_type\": " +
                  J(v.GetString("type") ? *v.GetString("type") : "") + ", \"guid\": " +
                  J(std::to_string(v.GetUint64("guid").value_or(0))) + ", \"state\": " +
                  J(v.GetString("state") ? *v.GetString("state") : "") +
                  ", \"read_errors\": \"0\", \"write_errors\": \"0\", \"checksum_errors\": \"0\"";
  if (const auto* kids = v.GetNvListArray("children")) {
    o += ", \"vdevs\": {";
    for (size_t i = 0; i < kids->size(); i++)
      o += (i ? ", " : "") + J(libzfs::VdevName((*kids)[i])) + ": " + JsonVdev((*kids)[i]);
    o += "}";
  }
  return o + "}";
}

std::string Health(const NvList& pool) {
  const NvList* props = pool.GetNvList("props");
  const NvList* h = props ? props->GetNvList("health") : nullptr;
  return h && h->GetString("value") ? *h->GetString("value") : "UNKNOWN";
}

int Run(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  bool x = false, v = false, j = false;
  std::vector<std::string> args;
  app.add_flag("-x", x);
  app.add_flag("-v", v);
  app.add_flag("-j", j);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  (void)v;
  std::vector<NvList> pools;
  int rc = kExitOk;
  if (args.empty()) {
    auto r = lzc::PoolStatus("");
    if (!r.ok()) return Fail(lzc::IsConnectError(r.status()) ? r.status().message() : libzfs::Reason(r.status()));
    if (const auto* ps = r->GetNvListArray("pools")) pools = *ps;
  } else {
    for (const auto& name : args) {
      auto r = lzc::PoolStatus(name);
      if (!r.ok()) {
        if (lzc::IsConnectError(r.status())) return Fail(r.status().message());
        rc = Fail("cannot open '" + name + "': no such pool");
        continue;
      }
      if (const auto* ps = r->GetNvListArray("pools")) pools.insert(pools.end(), ps->begin(), ps->end());
    }
  }
  if (j) {
    std::cout << "{\"output_version\": {\"command\": \"zpool status\", \"vers_major\": 0, \"vers_minor\": 1}, \"pools\": {";
    for (size_t i = 0; i < pools.size(); i++) {
      const NvList& p = pools[i];
      const NvList& tree = *p.GetNvList("config")->GetNvList("vdev_tree");
      NvList root = tree;
      root.AddString("state", Health(p));
      std::string name = *p.GetString("name");
      std::cout << (i ? ", " : "") << J(name) << ": {\"name\": " << J(name)
                << ", \"state\": " << J(Health(p)) << ", \"pool_guid\": "
                << J(std::to_string(p.GetNvList("config")->GetUint64("pool_guid").value_or(0)))
                << ", \"spa_version\": \"23\", \"zpl_version\": \"4\", \"vdevs\": {" << J(name)
                << ": " << JsonVdev(root) << "}, \"error_count\": \"0\"}";
    }
    std::cout << "}}\n";
    return rc;
  }
  if (pools.empty() && args.empty()) {
    std::cout << "no pools available\n";
    return rc;
  }
  bool printed = false;
  for (const NvList& p : pools) {
    std::string health = Health(p);
    if (x && health == "ONLINE") continue;
    if (printed) std::cout << "\n";
    printed = true;
    const NvList& tree = *p.GetNvList("config")->GetNvList("vdev_tree");
    std::cout << "  pool: " << *p.GetString("name") << "\n";
    std::cout << " state: " << health << "\n";
    if (health == "DEGRADED")
      std::cout << "status: One or more devices could not be used because the label is missing or\n"
                   "\tinvalid.  Sufficient replicas exist for the pool to continue\n"
                   "\tfunctioning in a degraded state.\n";
    if (health == "SUSPENDED")
      std::cout << "status: One or more devices are faulted in response to IO failures.\n";
    std::cout << "config:\n\n";
    std::cout << libzfs::VdevTable(*p.GetString("name"), health, tree, true);
    std::cout << "\nerrors: No known data errors\n";
  }
  if (x && !printed) std::cout << "all pools are healthy\n";
  return rc;
}

}  // namespace

const Cmd kStatus = {"status",
                     {"status [-jvx] [pool]..."},
                     "    -j      JSON output (OpenZFS 2.3's layout)\n"
                     "    -v      verbose data error information\n"
                     "    -x      only pools with errors or otherwise unavailable\n"
                     "    --help  print this message\n",
                     Run};

}  // namespace uzfs::zpool
