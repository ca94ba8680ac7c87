// Tests of libzfs layer 1 (libzfs/zfs_core.h) against a fake zfsd on a socket of its own
// ($UZFS_SOCKET): each typed call sends the op name and id and the argument names the daemon
// reads (daemon/pool_ops.h, daemon/dataset_ops.h), and turns the reply into its C++ type.
#include "libzfs/zfs_core.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <thread>

namespace uzfs::lzc {
namespace {

// Answers each connection's one request with reply_ (errno 0 and result_, or errno_ and
// message_) and keeps the request for the test to look at.
class ZfsCore : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/uzfs_lzc_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/zfsd.sock";
    old_socket_ = std::getenv("UZFS_SOCKET") ? std::getenv("UZFS_SOCKET") : "";
    ::setenv("UZFS_SOCKET", path_.c_str(), 1);
    listen_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(listen_, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(listen_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(listen_, 4), 0);
  }
  void TearDown() override {
    if (listen_ >= 0) ::close(listen_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
    if (old_socket_.empty()) ::unsetenv("UZFS_SOCKET");
    else ::setenv("UZFS_SOCKET", old_socket_.c_str(), 1);
  }

  // Runs call with the fake daemon serving one request; returns what call returned.
  template <typename F>
  auto Serve(F call) {
    std::thread server([this] {
      int c = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      auto req = proto::ReadMessage(c, 5000);
      if (req.ok()) {
        request_ = *req;
        NvList reply;
        reply.AddUint64("errno", static_cast<uint64_t>(errno_));
        if (!message_.empty()) reply.AddString("message", message_);
        reply.AddNvList("result", result_);
        (void)proto::WriteMessage(c, reply);
      }
      ::close(c);
    });
    auto r = call();
    server.join();
    return r;
  }

  // The request's op name, checked against its id.
  std::string Op() const {
    const std::string* op = request_.GetString("op");
    auto id = request_.GetUint64("op_id");
    if (!op || !id) return "?";
    EXPECT_EQ(*op, proto::OpName(static_cast<proto::OpId>(*id)));
    return *op;
  }
  const NvList& Args() const {
    static const NvList kNone;
    const NvList* a = request_.GetNvList("args");
    return a ? *a : kNone;
  }
  std::string Str(const char* name) const {
    const std::string* s = Args().GetString(name);
    return s ? *s : "<absent>";
  }
  // A boolean_value argument: 1 or 0, -1 when absent or of another type.
  int Bool(const char* name) const {
    const NvValue* v = Args().Find(name);
    return v && v->type == NvType::kBooleanValue ? static_cast<int>(v->u) : -1;
  }

  std::string dir_, path_, old_socket_;
  int listen_ = -1;
  NvList request_, result_;
  int errno_ = 0;
  std::string message_;
};

NvList Props(std::initializer_list<std::pair<const char*, const char*>> kv) {
  NvList p;
  for (auto& [k, v] : kv) p.AddString(k, v);
  return p;
}

TEST_F(ZfsCore, CreateSendsNamePropsParentsHistory) {
  Status s = Serve(
      [] { return ZfsCreate("tank/a", Props({{"compression", "on"}}), true, "zfs create -p tank/a"); });
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Op(), "zfs_create");
  EXPECT_EQ(Str("name"), "tank/a");
  EXPECT_EQ(Bool("parents"), 1);
  EXPECT_EQ(Str("history"), "zfs create -p tank/a");
  ASSERT_NE(Args().GetNvList("props"), nullptr);
  EXPECT_EQ(*Args().GetNvList("props"), Props({{"compression", "on"}}));
}

TEST_F(ZfsCore, DaemonErrorsComeBackAsStatus) {
  errno_ = ENOENT;
  message_ = "dataset does not exist";
  Status s = Serve([] { return ZfsPromote("tank/c", "zfs promote tank/c"); });
  EXPECT_EQ(s.code(), ENOENT);
  EXPECT_EQ(s.message(), "dataset does not exist");
  EXPECT_FALSE(IsConnectError(s));
  EXPECT_EQ(Op(), "zfs_promote");
  EXPECT_EQ(Str("name"), "tank/c");
}

TEST_F(ZfsCore, DestroyFlagsAndTheDestroyedNames) {
  result_.AddStringArray("destroyed", {"tank/a@1", "tank/a"});
  auto r = Serve([] {
    return ZfsDestroy("tank/a", {.recursive = true, .dryrun = true}, "zfs destroy -rn tank/a");
  });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, (std::vector<std::string>{"tank/a@1", "tank/a"}));
  EXPECT_EQ(Op(), "zfs_destroy");
  EXPECT_EQ(Bool("recursive"), 1);
  EXPECT_EQ(Bool("dependents"), 0);
  EXPECT_EQ(Bool("force"), 0);
  EXPECT_EQ(Bool("dryrun"), 1);
}

TEST_F(ZfsCore, DestroyWithoutAListIsEmpty) {
  auto r = Serve([] { return ZfsDestroy("tank/a", {}, ""); });
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST_F(ZfsCore, RenameFlags) {
  Status s = Serve([] { return ZfsRename("tank/a@x", "tank/a@y", {.recursive = true}, "h"); });
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Op(), "zfs_rename");
  EXPECT_EQ(Str("name"), "tank/a@x");
  EXPECT_EQ(Str("newname"), "tank/a@y");
  EXPECT_EQ(Bool("parents"), 0);
  EXPECT_EQ(Bool("recursive"), 1);
  EXPECT_EQ(Bool("force"), 0);
}

TEST_F(ZfsCore, SnapshotCloneRollbackInheritSetList) {
  ASSERT_TRUE(Serve([] { return ZfsSnapshot({"tank@a", "tank/b@a"}, true, NvList(), "h"); }).ok());
  EXPECT_EQ(Op(), "zfs_snapshot");
  ASSERT_NE(Args().Find("names"), nullptr);
  EXPECT_EQ(Args().Find("names")->s_arr, (std::vector<std::string>{"tank@a", "tank/b@a"}));
  EXPECT_EQ(Bool("recursive"), 1);

  ASSERT_TRUE(Serve([] { return ZfsClone("tank@a", "tank/c", NvList(), false, "h"); }).ok());
  EXPECT_EQ(Op(), "zfs_clone");
  EXPECT_EQ(Str("origin"), "tank@a");
  EXPECT_EQ(Str("name"), "tank/c");
  EXPECT_EQ(Bool("parents"), 0);

  ASSERT_TRUE(Serve([] { return ZfsRollback("tank@a", true, "h"); }).ok());
  EXPECT_EQ(Op(), "zfs_rollback");
  EXPECT_EQ(Str("name"), "tank@a");
  EXPECT_EQ(Bool("recursive"), 1);

  ASSERT_TRUE(Serve([] { return ZfsInherit("tank/c", "atime", false, false, "h"); }).ok());
  EXPECT_EQ(Op(), "zfs_inherit");
  EXPECT_EQ(Str("property"), "atime");
  EXPECT_EQ(Bool("recursive"), 0);

  ASSERT_TRUE(Serve([] { return ZfsSet("tank/c", Props({{"atime", "off"}}), "h"); }).ok());
  EXPECT_EQ(Op(), "zfs_set");
  EXPECT_EQ(Str("history"), "h");

  ASSERT_TRUE(Serve([] { return ZfsList({}, true, -1); }).ok());
  EXPECT_EQ(Op(), "zfs_list");
  EXPECT_FALSE(Args().Has("names"));  // every pool's
  EXPECT_EQ(Args().GetInt64("depth"), -1);
}

TEST_F(ZfsCore, MountsAreTyped) {
  std::vector<NvList> mounts(2);
  mounts[0].AddString("name", "tank");
  mounts[0].AddString("mountpoint", "/tank");
  mounts[1].AddString("name", "tank/a");
  mounts[1].AddString("mountpoint", "/tank/a");
  result_.AddNvListArray("mounts", mounts);
  auto r = Serve([] { return ZfsMounts(); });
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].name, "tank/a");
  EXPECT_EQ((*r)[1].mountpoint, "/tank/a");
  EXPECT_EQ(Op(), "zfs_mount");
  EXPECT_TRUE(Args().empty());  // no name: the list

  ASSERT_TRUE(Serve([] { return ZfsMount("tank/a", "ro,noexec"); }).ok());
  EXPECT_EQ(Str("name"), "tank/a");
  EXPECT_EQ(Str("options"), "ro,noexec");

  ASSERT_TRUE(Serve([] { return ZfsUnmount("/tank/a", true); }).ok());
  EXPECT_EQ(Op(), "zfs_unmount");
  EXPECT_EQ(Bool("force"), 1);
}

TEST_F(ZfsCore, MountWithoutANameIsRefusedBeforeTheDaemon) {
  // Without a name zfs_mount only lists; the call must not report that as a mount.
  Status s = ZfsMount("", "");
  EXPECT_EQ(s.code(), EINVAL);
}

TEST_F(ZfsCore, ArcStatsKeepsTheNumbers) {
  result_.AddUint64("size", 4096);
  result_.AddUint64("c_max", 1 << 30);
  result_.AddString("note", "ignored");
  auto r = Serve([] { return ArcStats(); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::map<std::string, uint64_t>{{"c_max", 1 << 30}, {"size", 4096}}));
  EXPECT_EQ(Op(), "arc_stats");

  ASSERT_TRUE(Serve([] { return ArcSet(128ull << 20); }).ok());
  EXPECT_EQ(Op(), "arc_set");
  EXPECT_EQ(Args().GetUint64("arc_max"), 128ull << 20);
}

TEST_F(ZfsCore, VersionAndImportAreTyped) {
  result_.AddString("version", "zfsd-1.2.3");
  result_.AddUint64("spa_version", 23);
  result_.AddUint64("zpl_version", 4);
  auto v = Serve([] { return Version(); });
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->version, "zfsd-1.2.3");
  EXPECT_EQ(v->spa_version, 23u);
  EXPECT_EQ(v->zpl_version, 4u);

  result_ = NvList();
  result_.AddString("name", "newtank");
  auto n = Serve([] {
    return PoolImport("1234", {"/dev/a"}, "newtank", false, NvList(), "", "h", true);
  });
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, "newtank");
  EXPECT_EQ(Op(), "pool_import");
  EXPECT_EQ(Str("pool"), "1234");
  EXPECT_EQ(Bool("nomount"), 1);
  EXPECT_FALSE(Args().Has("altroot"));  // empty: not sent
}

TEST_F(ZfsCore, NoDaemonIsAConnectError) {
  ::close(listen_);
  listen_ = -1;
  ::unlink(path_.c_str());
  Status s = Ping();
  EXPECT_TRUE(IsConnectError(s));
  EXPECT_EQ(s.message().rfind("cannot connect to zfsd at " + path_ + ": ", 0), 0u);
}

}  // namespace
}  // namespace uzfs::lzc
