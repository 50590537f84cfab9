#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config.h"

namespace warden::config {
namespace {

using Words = std::vector<std::string>;

Words Split(std::string_view command) {
  auto words = SplitCommand(command);
  EXPECT_TRUE(words.ok()) << command << ": " << words.status().message();
  return words.ok() ? words.value() : Words{};
}

std::string SplitError(std::string_view command) {
  auto words = SplitCommand(command);
  EXPECT_FALSE(words.ok()) << command;
  return words.ok() ? std::string() : words.status().message();
}

TEST(SplitCommandTest, BlanksSeparateWords) {
  EXPECT_EQ(Split("/bin/echo hello world"), (Words{"/bin/echo", "hello", "world"}));
  EXPECT_EQ(Split("  a \t b\n\nc  "), (Words{"a", "b", "c"}));
  EXPECT_EQ(Split("single"), (Words{"single"}));
}

TEST(SplitCommandTest, SingleQuotesKeepEverythingLiterally) {
  EXPECT_EQ(Split(R"(echo 'a  b' '$HOME' 'back\slash' '"')"),
            (Words{"echo", "a  b", "$HOME", "back\\slash", "\""}));
}

TEST(SplitCommandTest, DoubleQuotesEscapeOnlyFiveCharacters) {
  EXPECT_EQ(Split(R"("a \"b\" \\ \$x \`y\` \q \n")"), (Words{R"(a "b" \ $x `y` \q \n)"}));
  EXPECT_EQ(Split(R"("it's")"), (Words{"it's"}));
}

TEST(SplitCommandTest, BackslashOutsideQuotesEscapesTheNextCharacter) {
  EXPECT_EQ(Split(R"(a\ b c\\d \'x \"y\")"), (Words{"a b", "c\\d", "'x", "\"y\""}));
}

TEST(SplitCommandTest, BackslashNewlineIsALineContinuation) {
  EXPECT_EQ(Split("sleep\\\n10"), (Words{"sleep10"}));
  EXPECT_EQ(Split("\"a\\\nb\" c"), (Words{"ab", "c"}));
  EXPECT_EQ(Split("sleep \\\n 10"), (Words{"sleep", "10"}));
}

TEST(SplitCommandTest, EmptyQuotesMakeEmptyWords) {
  EXPECT_EQ(Split(R"(prog '' "" x)"), (Words{"prog", "", "", "x"}));
}

TEST(SplitCommandTest, AdjacentPartsJoinIntoOneWord) {
  EXPECT_EQ(Split(R"(a'b c'"d e"f\ g)"), (Words{"ab cd ef g"}));
  EXPECT_EQ(Split(R"(--name="my app")"), (Words{"--name=my app"}));
}

TEST(SplitCommandTest, NothingIsExpandedOrInterpreted) {
  EXPECT_EQ(Split("echo $HOME ~ *.txt a|b ; c && d > out #note `id` $(id)"),
            (Words{"echo", "$HOME", "~", "*.txt", "a|b", ";", "c", "&&", "d", ">", "out", "#note",
                   "`id`", "$(id)"}));
}

TEST(SplitCommandTest, UnterminatedQuotesAreErrors) {
  EXPECT_EQ(SplitError("echo 'abc"), "unterminated single quote");
  EXPECT_EQ(SplitError("echo \"abc"), "unterminated double quote");
  EXPECT_EQ(SplitError(R"(echo "abc\")"), "unterminated double quote");
  EXPECT_EQ(SplitError(R"(echo 'a' "b)"), "unterminated double quote");
}

TEST(SplitCommandTest, TrailingBackslashIsAnError) {
  EXPECT_EQ(SplitError("echo abc\\"), "backslash at the end of the command");
}

TEST(SplitCommandTest, EmptyCommandIsAnError) {
  EXPECT_EQ(SplitError(""), "empty command");
  EXPECT_EQ(SplitError(" \t\n "), "empty command");
  EXPECT_EQ(SplitCommand("").status().code(), ErrorCode::kConfig);
}

TEST(SplitCommandTest, QuotedEmptyWordIsNotAnEmptyCommand) { EXPECT_EQ(Split("''"), (Words{""})); }

}  // namespace
}  // namespace warden::config
