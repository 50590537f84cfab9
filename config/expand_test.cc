#include "config/expand.h"

#include <map>

#include <gtest/gtest.h>

namespace warden::config {
namespace {

std::string Expand(std::string_view text) {
  static const std::map<std::string, std::string, std::less<>> kVars = {
      {"HOME", "/home/w"}, {"PORT", "8080"}, {"EMPTY", ""}};
  auto result = ExpandVariables(text, [](std::string_view name) -> std::optional<std::string> {
    auto it = kVars.find(name);
    if (it == kVars.end()) return std::nullopt;
    return it->second;
  });
  return result.ok() ? *result : "ERROR: " + result.status().message();
}

TEST(ExpandVariablesTest, BracedNamesAreExpanded) {
  EXPECT_EQ(Expand("--port=${PORT}"), "--port=8080");
  EXPECT_EQ(Expand("${HOME}/bin:${PORT}"), "/home/w/bin:8080");
  EXPECT_EQ(Expand("${UNSET}x"), "x") << "unset expands to nothing";
  EXPECT_EQ(Expand("plain text"), "plain text");
  EXPECT_EQ(Expand(""), "");
}

TEST(ExpandVariablesTest, DefaultsApplyWhenUnsetOrEmpty) {
  EXPECT_EQ(Expand("${UNSET:-9000}"), "9000");
  EXPECT_EQ(Expand("${EMPTY:-fallback}"), "fallback");
  EXPECT_EQ(Expand("${PORT:-9000}"), "8080");
  EXPECT_EQ(Expand("${UNSET:-}"), "");
}

TEST(ExpandVariablesTest, OtherDollarsAreLeftForTheShell) {
  EXPECT_EQ(Expand("echo $HOME $$ $1 $"), "echo $HOME $$ $1 $");
  EXPECT_EQ(Expand("cost: 5$"), "cost: 5$");
  EXPECT_EQ(Expand("$${HOME} is literal"), "${HOME} is literal");
  EXPECT_EQ(Expand("$$$${X}"), "$$${X}");
}

TEST(ExpandVariablesTest, MalformedReferencesAreErrors) {
  EXPECT_EQ(Expand("${HOME"), "ERROR: unterminated ${ (write $${ for a literal ${)");
  EXPECT_EQ(Expand("${}"), "ERROR: bad variable name '' in ${}");
  EXPECT_EQ(Expand("${1X}"), "ERROR: bad variable name '1X' in ${1X}");
  EXPECT_EQ(Expand("${A-B}"), "ERROR: bad variable name 'A-B' in ${A-B}");
}

}  // namespace
}  // namespace warden::config
