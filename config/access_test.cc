// `access:` under `warden` and under a program (config/access.cc). Uses the users and groups every
// Debian system has: root (0), daemon (1), bin (2); groups root (0), daemon (1), adm (4).
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/diff.h"

namespace warden::config {
namespace {

std::string Text(std::string_view text) {
  if (!text.empty() && text.front() == '\n') text.remove_prefix(1);
  return std::string(text);
}

std::vector<std::string> ErrorsOf(std::string_view yaml) {
  const LoadResult result = LoadConfigString(Text(yaml), "w.yaml");
  EXPECT_FALSE(result.config.has_value());
  std::vector<std::string> out;
  for (const Diagnostic& d : result.errors) out.push_back(d.ToString());
  return out;
}

Config MustLoad(std::string_view yaml) {
  LoadResult result = LoadConfigString(Text(yaml), "w.yaml");
  for (const Diagnostic& d : result.errors) ADD_FAILURE() << d.ToString();
  return result.config ? std::move(*result.config) : Config{};
}

using Ids = std::vector<uint32_t>;
using Lines = std::vector<std::string>;

TEST(ConfigAccess, DefaultsAreEmpty) {
  const Config c = MustLoad(R"(
programs:
  web: {command: /bin/true}
)");
  EXPECT_TRUE(c.warden.access.empty());
  EXPECT_TRUE(c.programs.at(0).access.empty());
}

TEST(ConfigAccess, NamesAndNumbersBecomeIds) {
  const Config c = MustLoad(R"(
warden:
  access:
    read: {users: [daemon, 1234], groups: [adm]}
    control: {users: bin, groups: ["0", 4]}
programs:
  web:
    command: /bin/true
    access:
      control: {users: [daemon]}
)");
  EXPECT_EQ(c.warden.access.read.users, (Ids{1, 1234}));
  EXPECT_EQ(c.warden.access.read.groups, (Ids{4}));
  EXPECT_EQ(c.warden.access.control.users, (Ids{2}));
  EXPECT_EQ(c.warden.access.control.groups, (Ids{0, 4}));
  EXPECT_TRUE(c.programs.at(0).access.read.empty());
  EXPECT_EQ(c.programs.at(0).access.control.users, (Ids{1}));
}

TEST(ConfigAccess, EmptyListsAndSectionsMeanNobody) {
  const Config c = MustLoad(R"(
warden:
  access:
    read:
    control: {users: [], groups:}
programs:
  web: {command: /bin/true, access: {}}
)");
  EXPECT_TRUE(c.warden.access.empty());
}

TEST(ConfigAccess, UnknownNamesAreErrorsAtTheirPlace) {
  EXPECT_EQ(ErrorsOf(R"(
warden:
  access:
    read: {users: [root, no-such-user-xq7]}
programs:
  web:
    command: /bin/true
    access:
      control:
        groups: [no-such-group-xq7]
)"),
            (Lines{"w.yaml:3:26: unknown user 'no-such-user-xq7' in 'users' of 'access.read' of "
                   "'warden': no such user",
                   "w.yaml:9:18: unknown group 'no-such-group-xq7' in 'groups' of "
                   "'access.control' of program 'web': no such group"}));
}

TEST(ConfigAccess, ShapeErrors) {
  EXPECT_EQ(ErrorsOf(R"(
warden:
  access:
    reed: {users: [root]}
    control: [root]
programs:
  web:
    command: /bin/true
    access: yes
  api:
    command: /bin/true
    access:
      read: {user: [root], groups: [-1, 4294967295]}
)"),
            (Lines{"w.yaml:3:5: unknown key 'reed' in 'access' of 'warden' (did you mean 'read'?)",
                   "w.yaml:4:14: 'access.control' of 'warden' must be a map such as {users: "
                   "[alice], groups: [ops]}",
                   "w.yaml:8:13: 'access' of program 'web' must be a map such as {read: {users: "
                   "[alice]}, control: {groups: [ops]}}",
                   "w.yaml:12:14: unknown key 'user' in 'access.read' of program 'api' (did you "
                   "mean 'users'?)",
                   "w.yaml:12:37: group id -1 in 'groups' of 'access.read' of program 'api' is "
                   "out of range",
                   "w.yaml:12:41: group id 4294967295 in 'groups' of 'access.read' of program "
                   "'api' is out of range"}));
}

TEST(ConfigAccess, ChangedAccessAppliesLiveOnReload) {
  const Config before = MustLoad(R"(
programs:
  web: {command: /bin/true}
)");
  const Config after = MustLoad(R"(
programs:
  web: {command: /bin/true, access: {read: {users: [daemon]}}}
)");
  const auto changes = Diff(before, after);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].keys, Lines{"access"});
  EXPECT_FALSE(changes[0].restart);
}

}  // namespace
}  // namespace warden::config
