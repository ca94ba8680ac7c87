// The fence book (dax_fence_book.h): what a session records is on file before Update
// returns, a new book (a new zfsd) reads every live process as severed, and dead processes,
// or another process under a recorded pid, are dropped.
#include "daemon/dax_fence_book.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "libcore/base/nvlist.h"

namespace uzfs {
namespace {

class DaxFenceBookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fencebook.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/zfsd.sock.dax-fences";
  }
  void TearDown() override {
    if (child_ > 0) {
      ::kill(child_, SIGKILL);
      ::waitpid(child_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }
  // A child process that waits to be killed.
  pid_t Child() {
    child_ = ::fork();
    if (child_ == 0) {
      for (;;) ::pause();
    }
    return child_;
  }
  void KillChild() {
    ::kill(child_, SIGKILL);
    ::waitpid(child_, nullptr, 0);
    child_ = 0;
  }
  // The records on file: (guid, pid) → extents.
  std::map<std::pair<uint64_t, uint64_t>, DaxFenceBook::Extents> OnFile() {
    std::ifstream in(path_, std::ios::binary);
    Bytes data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto nv = NvList::DecodeXdr(data);
    EXPECT_TRUE(nv.ok()) << nv.status().ToString();
    std::map<std::pair<uint64_t, uint64_t>, DaxFenceBook::Extents> out;
    if (!nv.ok()) return out;
    EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
    if (const auto* recs = nv->GetNvListArray("records"))
      for (const NvList& r : *recs) {
        auto& e = out[{*r.GetUint64("guid"), *r.GetUint64("pid")}];
        const auto* x = r.GetUint64Array("extents");
        for (size_t i = 0; x && i + 1 < x->size(); i += 2) e.insert({(*x)[i], (*x)[i + 1]});
      }
    return out;
  }
  std::string dir_, path_;
  pid_t child_ = 0;
};

TEST_F(DaxFenceBookTest, ProcessIsKnownByPidAndStartTime) {
  auto self = DaxProcess::Open(::getpid());
  ASSERT_TRUE(self);
  EXPECT_TRUE(self->Alive());
  EXPECT_GT(self->start, 0u);
  EXPECT_TRUE(DaxProcess::Open(::getpid(), self->start));
  // The same pid with another start time is another process.
  EXPECT_FALSE(DaxProcess::Open(::getpid(), self->start + 1));
  pid_t c = Child();
  auto child = DaxProcess::Open(c);
  ASSERT_TRUE(child);
  EXPECT_TRUE(child->Alive());
  KillChild();
  EXPECT_FALSE(child->Alive());
  EXPECT_FALSE(DaxProcess::Open(c));
}

TEST_F(DaxFenceBookTest, LiveOnFileBeforeUpdateReturnsAndSeveredByTheNextZfsd) {
  pid_t c = Child();
  auto proc = DaxProcess::Open(c);
  ASSERT_TRUE(proc);
  DaxFenceBook::Extents ext = {{1, 0}, {1, 2 << 20}};
  {
    DaxFenceBook book(PosixEnv(), path_);
    ASSERT_TRUE(book.Load().ok());  // no file yet: empty
    ASSERT_TRUE(book.Update(7, 0xabc, [&] { return std::make_pair(proc, ext); }).ok());
    auto f = OnFile();
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ((f[{0xabc, static_cast<uint64_t>(c)}]), ext);
    // Live, not severed: nothing to fence in this zfsd's imports.
    EXPECT_TRUE(book.Severed(0xabc).empty());
  }
  // A new zfsd: the session died with the old one, its live process is severed.
  DaxFenceBook next(PosixEnv(), path_);
  ASSERT_TRUE(next.Load().ok());
  auto sev = next.Severed(0xabc);
  ASSERT_EQ(sev.size(), 1u);
  EXPECT_EQ(sev[0].first->pid, c);
  EXPECT_EQ(sev[0].second, ext);
  EXPECT_TRUE(next.Severed(0xdef).empty());
  // Gone with its process, from memory and, at the next write, from the file.
  KillChild();
  EXPECT_TRUE(next.Severed(0xabc).empty());
  ASSERT_TRUE(next.Update(9, 0xabc, [&] { return std::make_pair(DaxFenceBook::Proc(), DaxFenceBook::Extents()); }).ok());
  DaxFenceBook third(PosixEnv(), path_);
  ASSERT_TRUE(third.Load().ok());
  EXPECT_TRUE(third.Severed(0xabc).empty());
  EXPECT_TRUE(OnFile().empty());
}

TEST_F(DaxFenceBookTest, UpdateReplacesASessionsExtentsAndSeverMerges) {
  auto self = DaxProcess::Open(::getpid());
  ASSERT_TRUE(self);
  DaxFenceBook book(PosixEnv(), path_);
  ASSERT_TRUE(book.Update(1, 5, [&] { return std::make_pair(self, DaxFenceBook::Extents{{0, 0}, {0, 1}}); }).ok());
  ASSERT_TRUE(book.Update(1, 5, [&] { return std::make_pair(self, DaxFenceBook::Extents{{0, 1}}); }).ok());
  EXPECT_EQ((OnFile()[{5, static_cast<uint64_t>(::getpid())}]), (DaxFenceBook::Extents{{0, 1}}));
  ASSERT_TRUE(book.Sever(self, 5, {{0, 4}}).ok());
  ASSERT_TRUE(book.Sever(self, 5, {{0, 6}}).ok());
  auto sev = book.Severed(5);
  ASSERT_EQ(sev.size(), 1u);
  EXPECT_EQ(sev[0].second, (DaxFenceBook::Extents{{0, 4}, {0, 6}}));
  // The file merges live and severed entries of one process and pool.
  EXPECT_EQ((OnFile()[{5, static_cast<uint64_t>(::getpid())}]), (DaxFenceBook::Extents{{0, 1}, {0, 4}, {0, 6}}));
  // The live entry goes when the session maps nothing; the severed stays.
  ASSERT_TRUE(book.Update(1, 5, [&] { return std::make_pair(self, DaxFenceBook::Extents{}); }).ok());
  EXPECT_EQ((OnFile()[{5, static_cast<uint64_t>(::getpid())}]), (DaxFenceBook::Extents{{0, 4}, {0, 6}}));
}

TEST_F(DaxFenceBookTest, AnUnwritableBookFailsTheUpdate) {
  auto self = DaxProcess::Open(::getpid());
  DaxFenceBook book(PosixEnv(), dir_ + "/missing/dir/book");
  Status s = book.Update(1, 5, [&] { return std::make_pair(self, DaxFenceBook::Extents{{0, 0}}); });
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot write the DAX fence file"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace uzfs
