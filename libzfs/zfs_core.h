// libzfs, layer 1: one call per zfsd operation (OpenZFS's libzfs_core idea). Never prints;
// returns the daemon's result or a Status carrying its errno and detail message.
// A daemon that cannot be reached gives kConnectError-marked statuses (see IsConnectError).
#pragma once

#include <string>
#include <vector>

#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"
#include "libzfs/proto.h"

namespace uzfs::lzc {

// Sends {op, op_id, args} to zfsd at proto::SocketPath() and waits for the reply.
Result<NvList> Call(proto::OpId op, const NvList& args);

// True for the status Call returns when zfsd cannot be reached; its message is
// "cannot connect to zfsd at PATH: <reason>".
bool IsConnectError(const Status& s);

// Thin typed wrappers (arguments as pool_ops.h documents them).
Result<NvList> Version();
Result<NvList> PoolScan(const std::vector<std::string>& dirs);
Status PoolCreate(const std::string& name, const NvList& nvroot, const NvList& props,
                  const NvList& fsprops, const std::string& altroot, const std::string& history);
Result<NvList> PoolImport(const std::string& pool, const std::vector<std::string>& devices,
                          const std::string& newname, bool force, const NvList& props,
                          const std::string& altroot, const std::string& history,
                          bool nomount = false);
Status PoolExport(const std::string& name, bool force);
Status PoolDestroy(const std::string& name, bool force);
Result<NvList> PoolList();
Result<NvList> PoolStatus(const std::string& name);
Result<NvList> PoolGet(const std::string& name, const std::vector<std::string>& props);
Status PoolSet(const std::string& name, const std::string& prop, const std::string& value,
               const std::string& history);
Result<NvList> PoolHistory(const std::string& name);
Status PoolSync(const std::string& name);

}  // namespace uzfs::lzc
