// What a receive of an incremental replication stream (zfs send -R -i/-I) changes in the
// target's tree before and after its substreams: one pass of zfs-fuse libzfs_sendrecv.c's
// recv_incremental_replication, as a list of steps over the local tree described the way
// send_iterate_fs describes the sender's (ReplFs). Matching is by snapshot guid: a local
// filesystem is the stream's filesystem that holds one of its snapshots' guids.
//   - a local snapshot whose guid the stream lacks (destroyed on the sender): destroyed with -F;
//   - one the stream names differently (renamed on the sender): renamed;
//   - a local filesystem none of whose snapshots is in the stream: destroyed with -F;
//   - one whose parent (by its parent's fromsnap guid) or last name component changed:
//     renamed under the parent that has the stream's parentfromsnap guid;
//   - each matched snapshot gets the stream's snapshot properties (as received values);
//   - a local filesystem whose origin is not its stream filesystem's (promoted on the
//     sender): promoted when the stream's origin was created before the local one (or the
//     stream's is no clone), as created_before decides; either way its snapshots wait for
//     another pass (kAgain). When created_before cannot look one of the origins up (-1),
//     the plan ends there with kFail: recv_incremental_replication returns -1 at once.
// The caller runs the steps in order; one that fails is retried in another pass (the tree
// gathered again) as long as a pass makes progress, as zfs-fuse's "goto again" does; kFail
// ends the passes with an error (zfs-fuse's softerr: the substreams are still received).
//
// Thread safety: plain functions over the caller's data.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "libcore/base/nvlist.h"
#include "libcore/dmu/dmu_send_package.h"

namespace uzfs {

struct ReplStep {
  enum Kind { kDestroySnap, kRenameSnap, kSetSnapProps, kDestroyFs, kRenameFs, kPromote, kAgain, kFail };
  Kind kind;
  std::string name;     // "pool/fs@snap" or "pool/fs"
  std::string newname;  // kRenameSnap, kRenameFs
  NvList props;         // kSetSnapProps
};

// local: the target's tree under tofs (tofs first, parents before children), gathered with
// the stream's fromsnap as send_iterate_fs gathers (parentfromsnap: the guid of the parent's
// fromsnap, 0 when it has none; snaps in creation order). force: zfs receive -F; isprefix:
// -d or -e. notes gets zfs-fuse's -v lines for what is left alone. created_before(g1, g2):
// whether local snapshot g1 was created before g2 (1) or not (0), -1 when one cannot be
// looked up; null: never (no promotion).
using CreatedBefore = std::function<int(uint64_t, uint64_t)>;
std::vector<ReplStep> PlanIncrementalReplication(const ReplHeaderInfo& stream,
                                                 const std::vector<ReplFs>& local,
                                                 const std::string& tofs, bool force,
                                                 bool isprefix, std::vector<std::string>* notes,
                                                 const CreatedBefore& created_before = nullptr);

// guid_to_name over a gathered tree: the snapshot ("pool/fs@snap") with this guid, "" if none.
std::string LocalSnapByGuid(const std::vector<ReplFs>& local, uint64_t guid);

}  // namespace uzfs
