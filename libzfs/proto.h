// The zfsd wire protocol (docs/design.md section 2), shared by zfsd and libzfs.
//
// A message is a 4-byte big-endian length N (1 ≤ N ≤ kMaxMessage) followed by N bytes: an
// XDR-packed nvlist (NvList::EncodeXdr). A request is {op: string, op_id: uint64, args:
// nvlist}; a reply is {errno: uint64 (0 = success), message: string (optional detail, the
// part after OpenZFS's "cannot <verb> '<name>': "), result: nvlist}.
// Every operation has a stable id (OpId below); the daemon checks that name and id agree,
// so a client built against another table fails cleanly instead of running the wrong thing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"

namespace uzfs::proto {

inline constexpr uint32_t kMaxMessage = 16u << 20;
inline constexpr const char* kDefaultSocket = "/run/uzfs/zfsd.sock";

// Stable operation ids: never renumber, only append.
enum class OpId : uint64_t {
  kPing = 1,
  kVersion = 2,
  kPoolScan = 3,
  kPoolCreate = 4,
  kPoolImport = 5,
  kPoolExport = 6,
  kPoolDestroy = 7,
  kPoolList = 8,
  kPoolStatus = 9,
  kPoolGet = 10,
  kPoolSet = 11,
  kPoolHistory = 12,
  kPoolSync = 13,
  kZfsCreate = 14,
  kZfsDestroy = 15,
  kZfsList = 16,
  kZfsSet = 17,
  kZfsInherit = 18,
  kZfsSnapshot = 19,
  kZfsRollback = 20,
  kZfsClone = 21,
  kZfsPromote = 22,
  kZfsRename = 23,
  kZfsMount = 24,
  kZfsUnmount = 25,
  kArcStats = 26,     // the ARC's and the file service's statistics (arcstat)
  kArcSet = 27,       // arc_max at run time
  kFileOpen = 28,     // the file API (libzfs/include/uzfs/file.h), per connection
  kFileRead = 29,
  kFileWrite = 30,
  kFileStat = 31,
  kFileTruncate = 32,
  kFileClose = 33,
  kFileMmap = 34,     // replies with the object's memfd (SCM_RIGHTS), takes the client's uffd
  kFileMsync = 35,
  kFileMunmap = 36,
  kPoolAdd = 37,      // zpool add: top-level vdevs (data or log) join a pool
  kPoolRemove = 38,   // zpool remove: a separate log device leaves
  kPoolClear = 39,    // zpool clear: error counters zeroed, dead devices reopened
  kPoolInject = 40,   // zinject: device fault handlers added, listed, cleared
  kPoolScrub = 41,    // zpool scrub: a scrub started or (stop) stopped
  kPoolVdevState = 42,  // zpool offline / online: a leaf taken out of service or back
  kZfsHold = 43,      // zfs hold: a user hold on snapshots (pool version 18)
  kZfsRelease = 44,   // zfs release
  kZfsHolds = 45,     // zfs holds: a snapshot's holds
  kPoolAttach = 46,   // zpool attach / replace: a leaf joins another (mirror, replacing)
  kPoolDetach = 47,   // zpool detach: a leaf leaves its mirror or replacing vdev
  kPoolEvents = 48,   // zpool events: the events after a cursor
  kPoolEventsClear = 49,  // zpool events -c
  kZfsSend = 50,      // zfs send: the stream written to the client's descriptor (SCM_RIGHTS)
  kZfsReceive = 51,   // zfs receive: the stream read from the client's descriptor
  kFileRevoke = 58,   // zfsd → client, on a DAX revoke channel: replace part of a mapping
  kFileRevoked = 59,  // client → zfsd, on that channel: the replacement is done
  kZfsUserspace = 60,  // zfs userspace / groupspace, {user,group}{used,quota}@: the four tables
  kZfsSetAcl = 61,    // zfs allow / unallow: delegations set or unset (zfs_ioc_set_fsacl)
  kZfsGetAcl = 62,    // zfs allow FS: the delegations on a dataset and its ancestors
};

// The op table: name of each id ("" for none).
const char* OpName(OpId id);

// The socket path: $UZFS_SOCKET when set and non-empty, else the default.
std::string SocketPath();

// Descriptors passed with one message (SCM_RIGHTS), at most.
inline constexpr size_t kMaxFds = 4;

// A message may carry raw bytes after its nvlist (file data): the nvlist then has a uint64
// "payload" (1..kMaxMessage) saying how many follow.
inline constexpr const char* kPayloadKey = "payload";

// Sends one message, with fds (SCM_RIGHTS) and a payload when given. EPIPE/ECONNRESET when the
// peer went away.
Status WriteMessage(int fd, const NvList& msg, const std::vector<int>& fds = {},
                    ByteSpan payload = {});
// Reads one message, waiting at most timeout_ms for each part (-1 = forever). ETIMEDOUT,
// ECONNRESET (peer closed; "eof" when it closed cleanly between messages: ENODATA),
// EMSGSIZE for a length of 0 or above kMaxMessage, ECORRUPT for a body that is not an nvlist.
// Descriptors that came with it are appended to fds (close-on-exec), or closed when fds is
// null.
// A payload is read into *payload (discarded when null) and its key removed from the nvlist.
Result<NvList> ReadMessage(int fd, int timeout_ms, std::vector<int>* fds = nullptr,
                           Bytes* payload = nullptr);

// Decodes a complete frame held in memory (length prefix + body): the fuzz target's entry.
Result<NvList> DecodeFrame(ByteSpan frame);

}  // namespace uzfs::proto
