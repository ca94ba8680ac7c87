// The audit of zfsd's permissions (docs/design.md section 2): every pool and dataset
// operation registered has the permission documented for it — kRoot for every pool change,
// kDeleg for every dataset change (a caller other than root admitted only by delegation),
// kRead for what only looks — and an operation nobody listed here fails the test, so a new
// one cannot slip in unreviewed. A user's kDeleg request reaches no change without a
// delegation.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "daemon/mount_table.h"
#include "daemon/ops.h"
#include "daemon/ops_pool.h"
#include "daemon/pool_table.h"
#include "libzfs/proto.h"

namespace uzfs {
namespace {

TEST(OpPermissions, EveryPoolAndDatasetOperationHasItsDocumentedPermission) {
  char tmpl[] = "/tmp/uzfs-permtest.XXXXXX";
  ASSERT_NE(nullptr, mkdtemp(tmpl));
  {
    PoolTable table(tmpl);
    MountTable mounts(&table);
    Registry reg;
    RegisterPoolOps(reg, &table, &mounts);
    RegisterDatasetOps(reg, &table, &mounts);
    const Perm R = Perm::kRead, X = Perm::kRoot, D = Perm::kDeleg;
    const std::map<std::string, Perm> want = {
        {"ping", R}, {"version", R}, {"pool_scan", R}, {"pool_create", X}, {"pool_import", X},
        {"pool_export", X}, {"pool_destroy", X}, {"pool_list", R}, {"pool_status", R},
        {"pool_get", R}, {"pool_set", X}, {"pool_history", R}, {"pool_sync", X},
        {"pool_add", X}, {"pool_remove", X}, {"pool_clear", X}, {"pool_inject", X},
        {"pool_scrub", X}, {"pool_vdev_state", X}, {"pool_attach", X}, {"pool_detach", X},
        {"pool_events", R}, {"pool_events_clear", X},
        {"zfs_create", D}, {"zfs_destroy", D}, {"zfs_list", R}, {"zfs_set", D},
        {"zfs_inherit", D}, {"zfs_snapshot", D}, {"zfs_rollback", D}, {"zfs_clone", D},
        {"zfs_promote", D}, {"zfs_rename", D}, {"zfs_mount", D}, {"zfs_unmount", D},
        {"zfs_hold", D}, {"zfs_release", D}, {"zfs_holds", R}, {"zfs_send", D},
        {"zfs_receive", D}, {"zfs_userspace", R},
        // allow / unallow check the caller themselves (dsl_deleg_can_allow).
        {"zfs_set_fsacl", R}, {"zfs_get_fsacl", R},
    };
    for (const auto& [name, def] : reg.ops()) {
      auto it = want.find(name);
      ASSERT_NE(it, want.end()) << "operation " << name << " is not in the audit";
      EXPECT_EQ(static_cast<int>(it->second), static_cast<int>(def.perm)) << name;
    }
    EXPECT_EQ(want.size(), reg.ops().size());

    // A user's change of a dataset: refused by the handler (no pool: its error), never done.
    Caller user;
    user.uid = 1000;
    user.gid = 1000;
    NvList args, req;
    args.AddStringArray("names", {"nopool/a@s"});
    req.AddString("op", "zfs_snapshot");
    req.AddUint64("op_id", static_cast<uint64_t>(proto::OpId::kZfsSnapshot));
    req.AddNvList("args", args);
    NvList reply = reg.Dispatch(user, req);
    EXPECT_NE(0u, *reply.GetUint64("errno"));
  }
  std::string rm = std::string("rm -rf ") + tmpl;
  ASSERT_EQ(0, std::system(rm.c_str()));
}

}  // namespace
}  // namespace uzfs
