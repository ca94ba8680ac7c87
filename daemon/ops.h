// zfsd's operation registry and dispatcher (docs/design.md section 2).
//
// Each operation is an entry {stable id, name, permission, argument schema, handler}. A file
// that serves operations defines `void RegisterXxxOps(Registry&, ...)` and calls Add once per
// operation; daemon/main.cc calls the Register functions at start (ops_pool.cc is the model).
// Dispatch validates, in order: the request shape (op string, op_id uint64, args nvlist),
// that the name is registered and its id matches, the caller's permission (kRoot needs uid 0;
// kRead is open to all; kDeleg lets every caller reach the handler, which admits one other
// than root only by delegation: zfs allow), the arguments against the schema (every required one present, no
// unknown one, each of the declared type) — and only then calls the handler. Every failure
// becomes an error reply; nothing a client sends can crash the dispatcher.
//
// Thread safety: Add before serving; Dispatch from any thread (handlers serialize themselves:
// zfsd runs them under one daemon-wide mutex, see server.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"

namespace uzfs {

enum class Perm { kRead, kRoot, kDeleg };

struct ArgSpec {
  std::string name;
  NvType type;
  bool required = false;
};

// One client connection, for operations that keep state across requests (the file API:
// open files, mappings) or pass descriptors (SCM_RIGHTS).
struct Session {
  uint64_t id = 0;
  int fd = -1;                // the connection; shutdown(2) on it severs the session
  std::vector<int> fds_in;    // came with this request; a handler that keeps one sets it to -1
  std::vector<int> fds_out;   // sent with the reply, then closed
  Bytes payload_in;           // raw bytes that came with this request (file data)
  Bytes payload_out;          // raw bytes sent after the reply
  bool long_lived = false;    // no idle timeout (a client holding files open or mapped)
  std::vector<std::function<void()>> on_close;  // run when the connection ends
  // Set by a handler whose work must not hold the ops mutex (zfs send and receive stream
  // through a pipe that may stall): run after the handler returned success, on the
  // connection's own thread without the ops mutex; what it returns is the reply.
  std::function<NvList()> then;
};

struct Caller {
  uint32_t uid = 0;
  uint32_t gid = 0;
  int32_t pid = 0;
  Session* session = nullptr;  // null when the request did not come over a connection
};

using OpHandler = std::function<Status(const Caller&, const NvList& args, NvList* result)>;

struct OpDef {
  uint64_t id = 0;
  std::string name;
  Perm perm = Perm::kRoot;
  std::vector<ArgSpec> args;
  OpHandler handler;
};

class Registry {
 public:
  void Add(OpDef def);
  // Handles one request; always returns a reply nvlist {errno, message?, result}.
  NvList Dispatch(const Caller& caller, const NvList& request) const;
  // Checks a request without running it (also the fuzz target's entry): OK or the error the
  // reply would carry.
  Status Validate(const Caller& caller, const NvList& request, const OpDef** def) const;
  const std::map<std::string, OpDef>& ops() const { return ops_; }

 private:
  std::map<std::string, OpDef> ops_;
};

// An error reply / success reply.
NvList ErrorReply(const Status& s);
NvList OkReply(NvList result);

}  // namespace uzfs
