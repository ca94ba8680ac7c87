// uzfs_featpool: TEST-ONLY tool (tests/bats/zpool_features.bats; built by CMake, not
// installed). It makes pool version 5000 pools through the library before `zpool create`
// has a way to ask for features:
//   uzfs_featpool create POOL FEATURE FILE...    a pool striped over FILE... (existing files
//                                                of at least 64M) with FEATURE active from
//                                                its first txg, then exported
//   uzfs_featpool activate POOL FEATURE FILE...  imports POOL from FILE..., activates
//                                                FEATURE (a v23 pool becomes 5000), exports
//   uzfs_featpool zhack POOL GUID FILE...       imports POOL, makes feature GUID (any name, known
//                                                or not) active with refcount 1 and the
//                                                description "A feature from elsewhere.", named
//                                                in the labels unless GUID ends in "+mos=no"
//                                                (then it is only in the MOS), exports
// FEATURE is a guid or short name of spa_feature.h's table ("com.uzfs:dax", "dax").
// Exit 0 on success, 1 with the error on stderr, 2 on bad usage.
#include <cstdio>
#include <string>
#include <vector>

#include "libcore/pool/pool.h"

using namespace uzfs;

namespace {

int Fail(const std::string& what, const Status& s) {
  std::fprintf(stderr, "uzfs_featpool: %s: %s\n", what.c_str(), s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: uzfs_featpool create|activate|zhack POOL FEATURE FILE...\n");
    return 2;
  }
  const std::string cmd = argv[1], pool = argv[2], feature = argv[3];
  std::vector<std::string> files(argv + 4, argv + argc);
  std::unique_ptr<Pool> p;
  if (cmd == "create") {
    PoolCreateSpec s;
    s.name = pool;
    s.features = {feature};
    NvList root;
    root.AddString("type", "root");
    std::vector<NvList> kids;
    for (const std::string& f : files) {
      NvList leaf;
      leaf.AddString("type", "file");
      leaf.AddString("path", f);
      kids.push_back(leaf);
    }
    root.AddNvListArray("children", kids);
    s.nvroot = root;
    auto r = Pool::Create(s);
    if (!r.ok()) return Fail("create", r.status());
    p = std::move(r).value();
  } else if (cmd == "zhack") {
    PoolImportSpec s;
    s.devices = files;
    s.pool = pool;
    auto r = Pool::Import(s);
    if (!r.ok()) return Fail("import", r.status());
    p = std::move(r).value();
    std::string guid = feature;
    bool mos = true;
    if (const std::string tail = "+mos=no"; guid.size() > tail.size() && guid.ends_with(tail)) {
      guid.resize(guid.size() - tail.size());
      mos = false;
    }
    if (Status st = p->ZhackFeature(guid, "A feature from elsewhere.", false, mos, 1); !st.ok())
      return Fail("zhack", st);
    if (Status st = p->Sync(); !st.ok()) return Fail("sync", st);
  } else if (cmd == "activate") {
    PoolImportSpec s;
    s.devices = files;
    s.pool = pool;
    auto r = Pool::Import(s);
    if (!r.ok()) return Fail("import", r.status());
    p = std::move(r).value();
    if (Status st = p->ActivateFeature(feature); !st.ok()) return Fail("activate", st);
    if (Status st = p->Sync(); !st.ok()) return Fail("sync", st);
  } else {
    std::fprintf(stderr, "usage: uzfs_featpool create|activate|zhack POOL FEATURE FILE...\n");
    return 2;
  }
  if (Status st = p->Export(); !st.ok()) return Fail("export", st);
  return 0;
}
