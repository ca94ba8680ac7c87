// Tests of the op registry (daemon/ops.h): the dispatcher checks the request shape, the
// name/id agreement, the permission and the argument schema before a handler runs, and
// turns every failure (a handler's too) into an error reply.
#include "daemon/ops.h"

#include <gtest/gtest.h>

namespace uzfs {
namespace {

constexpr uint64_t kEchoId = 1001, kRootId = 1002;

// echo {text*: string, count: uint64, tags: string array} → {text}; root_only {} → {}.
Registry TestRegistry(int* calls) {
  Registry reg;
  OpDef echo;
  echo.id = kEchoId;
  echo.name = "echo";
  echo.perm = Perm::kRead;
  echo.args = {{"text", NvType::kString, true}, {"count", NvType::kUint64}, {"tags", NvType::kStringArray}};
  echo.handler = [calls](const Caller&, const NvList& a, NvList* r) {
    ++*calls;
    r->AddString("text", *a.GetString("text"));
    return Status::Ok();
  };
  reg.Add(echo);
  OpDef root;
  root.id = kRootId;
  root.name = "root_only";
  root.perm = Perm::kRoot;
  root.handler = [calls](const Caller&, const NvList&, NvList*) {
    ++*calls;
    return Status::Ok();
  };
  reg.Add(root);
  OpDef fail;
  fail.id = 1003;
  fail.name = "fails";
  fail.perm = Perm::kRead;
  fail.handler = [](const Caller&, const NvList&, NvList*) { return Status::Error(ENOENT, "no such pool"); };
  reg.Add(fail);
  OpDef boom;
  boom.id = 1004;
  boom.name = "throws";
  boom.perm = Perm::kRead;
  boom.handler = [](const Caller&, const NvList&, NvList*) -> Status { throw std::runtime_error("bad"); };
  reg.Add(boom);
  return reg;
}

NvList Req(const std::string& op, uint64_t id, NvList args) {
  NvList r;
  r.AddString("op", op);
  r.AddUint64("op_id", id);
  r.AddNvList("args", std::move(args));
  return r;
}

NvList EchoArgs() {
  NvList a;
  a.AddString("text", "hello");
  return a;
}

const Caller kRoot{0, 0, 1}, kUser{65534, 65534, 2};

uint64_t Errno(const NvList& reply) { return reply.GetUint64("errno").value_or(999); }
std::string Message(const NvList& reply) {
  const std::string* m = reply.GetString("message");
  return m ? *m : "";
}

TEST(Registry, GoodRequestRunsTheHandler) {
  int calls = 0;
  Registry reg = TestRegistry(&calls);
  NvList reply = reg.Dispatch(kUser, Req("echo", kEchoId, EchoArgs()));
  EXPECT_EQ(Errno(reply), 0u);
  ASSERT_NE(reply.GetNvList("result"), nullptr);
  EXPECT_EQ(*reply.GetNvList("result")->GetString("text"), "hello");
  EXPECT_EQ(calls, 1);
}

TEST(Registry, OptionalArgumentsOfTheRightTypeAreAccepted) {
  int calls = 0;
  Registry reg = TestRegistry(&calls);
  NvList a = EchoArgs();
  a.AddUint64("count", 3);
  a.AddStringArray("tags", {"x"});
  EXPECT_EQ(Errno(reg.Dispatch(kUser, Req("echo", kEchoId, a))), 0u);
}

TEST(Registry, MalformedRequestsAreEinval) {
  int calls = 0;
  Registry reg = TestRegistry(&calls);
  NvList no_op;
  no_op.AddUint64("op_id", kEchoId);
  no_op.AddNvList("args", EchoArgs());
  NvList no_id;
  no_id.AddString("op", "echo");
  no_id.AddNvList("args", EchoArgs());
  NvList id_string;
  id_string.AddString("op", "echo");
  id_string.AddString("op_id", "1001");
  id_string.AddNvList("args", EchoArgs());
  NvList no_args;
  no_args.AddString("op", "echo");
  no_args.AddUint64("op_id", kEchoId);
  NvList args_string;
  args_string.AddString("op", "echo");
  args_string.AddUint64("op_id", kEchoId);
  args_string.AddString("args", "text=hello");
  NvList extra = Req("echo", kEchoId, EchoArgs());
  extra.AddString("sneaky", "x");
  NvList empty;
  for (const NvList* r : {&no_op, &no_id, &id_string, &no_args, &args_string, &extra, &empty}) {
    NvList reply = reg.Dispatch(kRoot, *r);
    EXPECT_EQ(Errno(reply), static_cast<uint64_t>(EINVAL)) << r->Dump();
    EXPECT_FALSE(Message(reply).empty());
    ASSERT_NE(reply.GetNvList("result"), nullptr);
  }
  EXPECT_EQ(calls, 0);
}

TEST(Registry, UnknownOperationIsEnotsup) {
  int calls = 0;
  Registry reg = TestRegistry(&calls);
  NvList reply = reg.Dispatch(kRoot, Req("frobnicate", 77, NvList()));
  EXPECT_EQ(Errno(reply), static_cast<uint64_t>(ENOTSUP));
  EXPECT_NE(Message(reply).find("frobnicate"), std::string::npos);
}

TEST(Registry, NameAndIdMustAgree) {
  int calls = 0;
  Registry reg = TestRegistry(&calls);
  NvList reply = reg.Dispatch(kRoot, Req("echo", kRootId, EchoArgs()));
  EXPECT_EQ(Errno(reply), static_cast<uint64_t>(EINVAL));
  EXPECT_NE(Message(reply).find("id"), std::string::npos);
  EXPECT_EQ(calls, 0);
}

TEST(Registry, SchemaErrorsNameTheArgument) {
  int calls = 0;
  Registry reg = TestRegistry(&calls);
  struct Case {
    NvList args;
    std::string names;
  };
  NvList missing;
  NvList wrong = EchoArgs();
  wrong.AddString("count", "3");
  NvList wrong_req;
  wrong_req.AddUint64("text", 5);
  NvList unknown = EchoArgs();
  unknown.AddString("colour", "red");
  for (const auto& [args, name] : {std::pair{missing, std::string("text")}, std::pair{wrong, std::string("count")},
                                   std::pair{wrong_req, std::string("text")},
                                   std::pair{unknown, std::string("colour")}}) {
    NvList reply = reg.Dispatch(kRoot, Req("echo", kEchoId, args));
    EXPECT_EQ(Errno(reply), static_cast<uint64_t>(EINVAL)) << args.Dump();
    EXPECT_NE(Message(reply).find("'" + name + "'"), std::string::npos) << Message(reply);
  }
  EXPECT_EQ(calls, 0);
}

TEST(Registry, RootOperationsNeedUidZero) {
  int calls = 0;
  Registry reg = TestRegistry(&calls);
  NvList reply = reg.Dispatch(kUser, Req("root_only", kRootId, NvList()));
  EXPECT_EQ(Errno(reply), static_cast<uint64_t>(EPERM));
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(Errno(reg.Dispatch(kRoot, Req("root_only", kRootId, NvList()))), 0u);
  EXPECT_EQ(calls, 1);
}

TEST(Registry, PermissionIsCheckedBeforeTheSchema) {
  // An unprivileged caller learns nothing about a root operation's arguments.
  int calls = 0;
  Registry reg = TestRegistry(&calls);
  NvList a;
  a.AddString("bogus", "x");
  EXPECT_EQ(Errno(reg.Dispatch(kUser, Req("root_only", kRootId, a))), static_cast<uint64_t>(EPERM));
}

TEST(Registry, HandlerErrorsAndExceptionsBecomeErrorReplies) {
  int calls = 0;
  Registry reg = TestRegistry(&calls);
  NvList r1 = reg.Dispatch(kUser, Req("fails", 1003, NvList()));
  EXPECT_EQ(Errno(r1), static_cast<uint64_t>(ENOENT));
  EXPECT_EQ(Message(r1), "no such pool");
  NvList r2 = reg.Dispatch(kUser, Req("throws", 1004, NvList()));
  EXPECT_EQ(Errno(r2), static_cast<uint64_t>(EIO));
}

TEST(Registry, ValidateAgreesWithDispatch) {
  int calls = 0;
  Registry reg = TestRegistry(&calls);
  const OpDef* def = nullptr;
  EXPECT_TRUE(reg.Validate(kUser, Req("echo", kEchoId, EchoArgs()), &def).ok());
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->name, "echo");
  EXPECT_EQ(reg.Validate(kUser, Req("root_only", kRootId, NvList()), nullptr).code(), EPERM);
  EXPECT_EQ(calls, 0);  // Validate never runs a handler
}

}  // namespace
}  // namespace uzfs
