#include "config/env_file.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

namespace warden::config {
namespace {

EnvAssignments Parsed(std::string_view text) {
  EnvFileParse parsed = ParseEnvFile(text);
  EXPECT_TRUE(parsed.errors.empty())
      << parsed.errors.front().line << ": " << parsed.errors.front().message;
  return parsed.assignments;
}

using Pairs = EnvAssignments;

TEST(EnvFileTest, AssignmentsCommentsAndBlankLines) {
  EXPECT_EQ(Parsed("# a comment\n; another\n\nA=1\n  B = two words  \nC=\n"),
            (Pairs{{"A", "1"}, {"B", "two words"}, {"C", ""}}));
}

TEST(EnvFileTest, QuotedValues) {
  EXPECT_EQ(Parsed("A=\"x \\\"y\\\" \\\\ \\$HOME\"\nB='${NOT} \\n expanded'\n"),
            (Pairs{{"A", "x \"y\" \\ $HOME"}, {"B", "${NOT} \\n expanded"}}));
  EXPECT_EQ(Parsed("A=\"first\nsecond\"\n"), (Pairs{{"A", "first\nsecond"}}));
  EXPECT_EQ(Parsed("A=\"joined \\\nhere\"\n"), (Pairs{{"A", "joined here"}}));
}

TEST(EnvFileTest, BackslashJoinsUnquotedLines) {
  EXPECT_EQ(Parsed("A=one \\\ntwo\nB=3"), (Pairs{{"A", "one two"}, {"B", "3"}}));
}

TEST(EnvFileTest, LaterAssignmentsAreKeptInOrder) {
  EXPECT_EQ(Parsed("A=1\nA=2\n"), (Pairs{{"A", "1"}, {"A", "2"}}));
}

TEST(EnvFileTest, BadLinesAreReportedWithTheirNumbers) {
  EnvFileParse parsed = ParseEnvFile("A=1\nnot an assignment\n9X=2\nB=\"open\n");
  ASSERT_EQ(parsed.errors.size(), 3u);
  EXPECT_EQ(parsed.errors[0].line, 2);
  EXPECT_EQ(parsed.errors[0].message, "expected KEY=VALUE");
  EXPECT_EQ(parsed.errors[1].line, 3);
  EXPECT_NE(parsed.errors[1].message.find("invalid variable name '9X'"), std::string::npos);
  EXPECT_EQ(parsed.errors[2].line, 4);
  EXPECT_EQ(parsed.errors[2].message, "unterminated double quote");
  EXPECT_EQ(parsed.assignments, (Pairs{{"A", "1"}}));
}

TEST(EnvFileTest, TextAfterAClosingQuoteIsAnError) {
  EnvFileParse parsed = ParseEnvFile("A=\"x\" y\n");
  ASSERT_EQ(parsed.errors.size(), 1u);
  EXPECT_EQ(parsed.errors[0].line, 1);
}

class EnvFileReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/envfile_testXXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    for (const std::string& f : written_) std::remove(f.c_str());
    rmdir(dir_.c_str());
  }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    written_.push_back(path);
    return path;
  }
  std::string dir_;
  std::vector<std::string> written_;
};

TEST_F(EnvFileReadTest, FilesAreReadInOrderAndMissingOptionalOnesSkipped) {
  const std::string a = Write("a.env", "A=1\nB=2\n");
  const std::string b = Write("b.env", "B=3\n");
  auto read = ReadEnvFiles({{a, false, {}}, {dir_ + "/missing", true, {}}, {b, false, {}}});
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(*read, (Pairs{{"A", "1"}, {"B", "2"}, {"B", "3"}}));
}

TEST_F(EnvFileReadTest, AMissingRequiredFileOrABadLineNamesTheFile) {
  auto missing = ReadEnvFiles({{dir_ + "/missing", false, {}}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), dir_ + "/missing: No such file or directory");
  const std::string bad = Write("bad.env", "A=1\n\noops\n");
  auto broken = ReadEnvFiles({{bad, true, {}}});
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().message(), bad + ":3: expected KEY=VALUE");
}

TEST_F(EnvFileReadTest, CheckReportsBadLinesAsFileAndLine) {
  const std::string bad = Write("bad.env", "A=1\nB C\n");
  Config config;
  Program p;
  p.name = "web";
  p.env_files = {{bad, false, {"warden.yaml", 4, 16}},
                 {dir_ + "/gone", false, {"warden.yaml", 5, 16}},
                 {dir_ + "/gone", true, {"warden.yaml", 6, 16}}};
  config.programs.push_back(p);
  const auto problems = CheckEnvFiles(config);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].ToString(), bad + ":2: expected KEY=VALUE");
  EXPECT_EQ(problems[1].ToString(), "warden.yaml:5:16: env_file '" + dir_ +
                                        "/gone' of program 'web': No such file or directory");
}

}  // namespace
}  // namespace warden::config
