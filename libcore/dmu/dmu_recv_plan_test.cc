// recv_incremental_replication's plan: what a zfs send -R -i stream destroys and renames in
// the target's tree before its substreams are received.
#include "libcore/dmu/dmu_recv_plan.h"

#include <gtest/gtest.h>

namespace uzfs {
namespace {

ReplFs Fs(const std::string& name, uint64_t pfs, std::vector<std::pair<std::string, uint64_t>> snaps) {
  ReplFs f;
  f.name = name;
  f.parentfromsnap = pfs;
  f.snaps = std::move(snaps);
  return f;
}

std::vector<std::string> Show(const std::vector<ReplStep>& steps) {
  std::vector<std::string> out;
  for (const ReplStep& s : steps) {
    static const char* kinds[] = {"destroy", "rename", "props", "destroyfs", "renamefs", "promote", "again", "fail"};
    out.push_back(std::string(kinds[s.kind]) + " " + s.name + (s.newname.empty() ? "" : " " + s.newname));
  }
  return out;
}

// The sender's tree after: fs@s1,s2; fs/a@s1,s2; fs/new@s2 (fs/gone and fs@old destroyed).
ReplHeaderInfo Stream() {
  ReplHeaderInfo h;
  h.fromsnap = "s1";
  h.tosnap = "s2";
  h.fss.push_back(Fs("src/fs", 0, {{"s1", 1}, {"s2", 2}}));
  h.fss.push_back(Fs("src/fs/a", 1, {{"s1", 11}, {"s2", 12}}));
  h.fss.push_back(Fs("src/fs/new", 1, {{"s2", 32}}));
  h.fss[0].snapprops["s1"].AddString("com.example:x", "y");
  return h;
}

TEST(DmuRecvPlan, ForceDestroysWhatTheSenderNoLongerHas) {
  std::vector<ReplFs> local = {Fs("tank/fs", 0, {{"old", 9}, {"s1", 1}}),
                               Fs("tank/fs/a", 1, {{"s1", 11}}),
                               Fs("tank/fs/gone", 1, {{"s1", 21}})};
  std::vector<std::string> notes;
  auto steps = PlanIncrementalReplication(Stream(), local, "tank/fs", true, false, &notes);
  EXPECT_EQ((std::vector<std::string>{"destroy tank/fs@old", "props tank/fs@s1",
                                      "destroy tank/fs/gone@s1", "destroyfs tank/fs/gone"}),
            Show(steps));
  EXPECT_EQ("y", *steps[1].props.GetString("com.example:x"));
  EXPECT_TRUE(notes.empty());
  // Without -F nothing is destroyed (the properties are still set).
  steps = PlanIncrementalReplication(Stream(), local, "tank/fs", false, false, &notes);
  EXPECT_EQ((std::vector<std::string>{"props tank/fs@s1"}), Show(steps));
}

TEST(DmuRecvPlan, RenamesFollowTheSender) {
  ReplHeaderInfo h = Stream();
  h.fss[1].name = "src/fs/b";  // fs/a renamed to fs/b, its @x to @y (the same guid)
  h.fss[1].snaps = {{"s1", 11}, {"y", 13}, {"s2", 12}};
  std::vector<ReplFs> local = {Fs("tank/fs", 0, {{"s1", 1}}),
                               Fs("tank/fs/a", 1, {{"s1", 11}, {"x", 13}})};
  auto steps = PlanIncrementalReplication(h, local, "tank/fs", false, false, nullptr);
  EXPECT_EQ((std::vector<std::string>{"props tank/fs@s1", "rename tank/fs/a@x tank/fs/a@y",
                                      "renamefs tank/fs/a tank/fs/b"}),
            Show(steps));
  // A filesystem moved under another parent: renamed beneath the local one with that guid.
  h = Stream();
  h.fss.push_back(Fs("src/fs/a/c", 11, {{"s1", 41}}));
  h.fss[3].parentfromsnap = 1;  // fs/a/c moved to fs/c on the sender
  h.fss[3].name = "src/fs/c";
  local = {Fs("tank/fs", 0, {{"s1", 1}}), Fs("tank/fs/a", 1, {{"s1", 11}}),
           Fs("tank/fs/a/c", 11, {{"s1", 41}})};
  steps = PlanIncrementalReplication(h, local, "tank/fs", false, true, nullptr);
  EXPECT_EQ((std::vector<std::string>{"props tank/fs@s1", "renamefs tank/fs/a/c tank/fs/c"}), Show(steps));
}

TEST(DmuRecvPlan, AFilesystemWithoutFromsnapIsLeftAlone) {
  std::vector<ReplFs> local = {Fs("tank/fs", 0, {{"s0", 7}}), Fs("tank/fs/a", 0, {{"s1", 11}})};
  ReplHeaderInfo h = Stream();
  h.fss[0].snaps.insert(h.fss[0].snaps.begin(), {"s0", 7});
  std::vector<std::string> notes;
  auto steps = PlanIncrementalReplication(h, local, "tank/fs", true, false, &notes);
  EXPECT_TRUE(steps.empty());
  ASSERT_EQ(1u, notes.size());
  EXPECT_EQ("local fs tank/fs does not have fromsnap (s1 in stream); must have been deleted locally; ignoring",
            notes[0]);
  EXPECT_EQ("tank/fs/a@s1", LocalSnapByGuid(local, 11));
  EXPECT_EQ("", LocalSnapByGuid(local, 12));
}

// zfs promote on the sender: fs/a, a clone of fs/z@s1 here, is no clone in the stream and
// fs/z is a clone of that snapshot (guid 21): fs/a is promoted and waits for another pass
// (fs/z is matched by its first snapshot, 21, to the stream's fs/a, no clone either).
TEST(DmuRecvPlan, AnOriginThatChangedIsPromoted) {
  ReplHeaderInfo h;
  h.fromsnap = "s2";
  h.tosnap = "s3";
  h.fss.push_back(Fs("src/fs", 0, {{"s2", 2}, {"s3", 3}}));
  h.fss.push_back(Fs("src/fs/a", 2, {{"s1", 21}, {"s2", 22}, {"s3", 23}}));
  h.fss.push_back(Fs("src/fs/z", 2, {{"s2", 32}, {"s3", 33}}));
  h.fss[2].origin = 21;
  std::vector<ReplFs> local = {Fs("tank/fs", 0, {{"s2", 2}}), Fs("tank/fs/a", 2, {{"s2", 22}}),
                               Fs("tank/fs/z", 2, {{"s1", 21}, {"s2", 32}})};
  local[1].origin = 21;
  int asked = 0;
  auto before = [&](uint64_t, uint64_t) { return ++asked, 0; };
  auto steps = PlanIncrementalReplication(h, local, "tank/fs", false, false, nullptr, before);
  EXPECT_EQ((std::vector<std::string>{"promote tank/fs/a", "again tank/fs/a"}), Show(steps));
  EXPECT_EQ(0, asked);  // one side no clone: created_before's answer without the lookup
  // Both clones, of different origins: the earlier origin's wins, as created_before says.
  h.fss[1].origin = 5;
  steps = PlanIncrementalReplication(h, local, "tank/fs", false, false, nullptr, before);
  EXPECT_EQ((std::vector<std::string>{"again tank/fs/a", "again tank/fs/z"}), Show(steps));
  EXPECT_EQ(1, asked);
  // An origin created_before cannot open: the plan ends there (recv_incremental_replication
  // returns -1), without fs/z's step.
  auto unopened = [&](uint64_t, uint64_t) { return ++asked, -1; };
  steps = PlanIncrementalReplication(h, local, "tank/fs", false, false, nullptr, unopened);
  EXPECT_EQ((std::vector<std::string>{"fail tank/fs/a"}), Show(steps));
  EXPECT_EQ(2, asked);
}

}  // namespace
}  // namespace uzfs
