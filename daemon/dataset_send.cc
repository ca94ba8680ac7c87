// zfsd's zfs send (zfs_ioc_send): the handler checks the names and marks the snapshots busy
// under the ops mutex, then the stream is written to the client's descriptor on the
// connection's thread without it (Session::then), so a stalled reader holds up nobody but
// its own command. The stream holds its pool (PoolTable::WithHeld), not the table's lock:
// an export meanwhile fails with "pool is busy", as OpenZFS's does.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "daemon/args.h"
#include "daemon/dataset_ops.h"
#include "daemon/ops.h"
#include "daemon/server.h"

namespace uzfs {

namespace {

// Writes all of b to fd (a pipe, a file, a socket): EPIPE when the reader went away.
Status WriteAll(int fd, ByteSpan b) {
  size_t done = 0;
  while (done < b.size()) {
    ssize_t n = ::write(fd, b.data() + done, b.size() - done);
    if (n < 0 && errno == EINTR && StreamsStopping()) return Status::Error(ESHUTDOWN, "zfsd is stopping");
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error(errno, std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

Status DatasetOps::Send(Session* session, const NvList& args) {
  std::string name = Str(args, "name"), from = Str(args, "from");
  const bool fromorigin = Flag(args, "fromorigin");  // zfs_cmd_t's zc_obj in zfs_ioc_send
  if (!session || session->fds_in.empty() || session->fds_in[0] < 0)
    return Status::Error(EINVAL, "no descriptor to write the stream to");
  UZFS_TRY(CheckDatasetName(name, true));
  auto src = std::make_shared<Pool::SendSource>();
  UZFS_TRY(WithPool(name, [&](Pool& p) -> Status {
    UZFS_ASSIGN(*src, p.BeginSend(name, from, fromorigin));
    return Status::Ok();
  }));
  int fd = session->fds_in[0];
  session->fds_in[0] = -1;  // ours now: closed when the stream ends
  std::string pool = name.substr(0, name.find_first_of("/@"));
  session->then = [this, pool, src, fd]() {
    uint64_t bytes = 0;
    Status s = t_->WithHeld(pool, [&](Pool& p) {
      Status st = p.SendStream(*src, [fd](ByteSpan b) { return WriteAll(fd, b); }, &bytes);
      p.EndSend(*src);
      return st;
    });
    ::close(fd);
    if (!s.ok()) return ErrorReply(s);
    NvList r;
    r.AddUint64("bytes", bytes);
    return OkReply(std::move(r));
  };
  return Status::Ok();
}

}  // namespace uzfs
