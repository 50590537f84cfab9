#include "config/diff.h"

#include <gtest/gtest.h>

namespace warden::config {
namespace {

Config Load(const std::string& yaml) {
  LoadResult r = LoadConfigString(yaml, "/tmp/diff_test.yaml");
  EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors[0].ToString());
  return r.config ? *r.config : Config{};
}

const char* kBase = R"(
programs:
  web: {command: sleep 1, autorestart: true}
  db: {command: sleep 2}
)";

TEST(DiffTest, IdenticalConfigsHaveNoChanges) {
  EXPECT_TRUE(Diff(Load(kBase), Load(kBase)).empty());
}

TEST(DiffTest, SupervisionKeyAppliesLive) {
  auto changes = Diff(Load(kBase), Load(R"(
programs:
  web: {command: sleep 1, autorestart: false, stopwaitsecs: 3}
  db: {command: sleep 2}
)"));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].name, "web");
  EXPECT_EQ(changes[0].kind, ProgramChange::Kind::kChanged);
  EXPECT_EQ(changes[0].keys, (std::vector<std::string>{"autorestart", "stopwaitsecs"}));
  EXPECT_FALSE(changes[0].restart);
}

TEST(DiffTest, CommandChangeNeedsRestart) {
  auto changes = Diff(Load(kBase), Load(R"(
programs:
  web: {command: sleep 5, autorestart: true}
  db: {command: sleep 2}
)"));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].keys, std::vector<std::string>{"command"});
  EXPECT_TRUE(changes[0].restart);
}

TEST(DiffTest, AddedAndRemovedSortedByName) {
  auto changes = Diff(Load(kBase), Load(R"(
programs:
  web: {command: sleep 1, autorestart: true}
  cache: {command: sleep 3}
)"));
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].name, "cache");
  EXPECT_EQ(changes[0].kind, ProgramChange::Kind::kAdded);
  EXPECT_EQ(changes[1].name, "db");
  EXPECT_EQ(changes[1].kind, ProgramChange::Kind::kRemoved);
}

TEST(DiffTest, GroupMembershipNeedsRestart) {
  auto changes = Diff(Load(kBase), Load(std::string(kBase) + "groups:\n  g: [db]\n"));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].name, "db");
  EXPECT_EQ(changes[0].keys, std::vector<std::string>{"group"});
  EXPECT_TRUE(changes[0].restart);
}

TEST(DiffTest, NumprocsAloneIsNotARestart) {
  auto changes = Diff(Load(kBase), Load(R"(
programs:
  web: {command: sleep 1, autorestart: true, numprocs: 3}
  db: {command: sleep 2}
)"));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].keys, std::vector<std::string>{"numprocs"});
  EXPECT_FALSE(changes[0].restart);
}

TEST(MergeTest, NamedProgramsTakeTheirGroupFromTheFileTheOthersKeepTheirs) {
  const Config current = Load(std::string(kBase) + "groups:\n  g: [web, db]\n");
  const Config next = Load(R"(
programs:
  web: {command: sleep 9, autorestart: true}
  db: {command: sleep 8}
groups:
  h: [web]
  k: [db]
)");
  const Config merged = Merge(current, next, {"web"});
  const auto groups = GroupsByProgram(merged);
  EXPECT_EQ(groups.at("web"), "h");  // named: from the file
  EXPECT_EQ(groups.at("db"), "g");   // not named: as in force
  EXPECT_EQ(merged.FindProgram("web")->command, next.FindProgram("web")->command);
  EXPECT_EQ(merged.FindProgram("db")->command, current.FindProgram("db")->command);
  // Diff sees web's move from g to h, and nothing of db.
  auto changes = Diff(current, merged);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].name, "web");
  EXPECT_EQ(changes[0].keys, (std::vector<std::string>{"command", "group"}));
}

}  // namespace
}  // namespace warden::config
