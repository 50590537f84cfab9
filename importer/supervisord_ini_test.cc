#include "importer/supervisord_ini.h"

#include <gtest/gtest.h>

#include <map>

namespace warden::importer::supervisord {
namespace {

using Words = std::vector<std::string>;
using Pairs = std::vector<std::pair<std::string, std::string>>;

IniDocument Parse(std::string_view text, std::vector<IniProblem>* problems = nullptr,
                  std::vector<IniProblem>* repeated = nullptr) {
  IniDocument doc;
  std::vector<IniProblem> found = ParseIni(text, "s.conf", &doc, repeated);
  if (problems != nullptr) *problems = found;
  return doc;
}

std::string ValueOf(const IniDocument& doc, std::string_view section, std::string_view key) {
  const IniSection* s = doc.Find(section);
  if (s == nullptr) return "<no section>";
  const IniValue* v = s->Find(key);
  return v == nullptr ? "<no key>" : v->text;
}

TEST(ParseIniTest, CommentsFollowConfigparserRules) {
  const IniDocument doc = Parse(
      "; a comment\n"
      "# another\n"
      "[program:a]\n"
      "command=/bin/sh -c \"x;y\" ; the ; after a blank starts a comment\n"
      "directory=/srv/a#b   # '#' after a blank too, not inside a word\n"
      "  ; an indented comment line\n"
      "user = app;x\n");
  EXPECT_EQ(ValueOf(doc, "program:a", "command"), "/bin/sh -c \"x;y\"");
  EXPECT_EQ(ValueOf(doc, "program:a", "directory"), "/srv/a#b");
  EXPECT_EQ(ValueOf(doc, "program:a", "user"), "app;x");
}

TEST(ParseIniTest, KeysAreCaseInsensitiveAndColonSeparatesToo) {
  const IniDocument doc = Parse("[Program:A]\nCOMMAND : /bin/cat\nAutoStart=false\n");
  // Section names keep their case; keys are lowercased.
  EXPECT_EQ(doc.Find("program:A"), nullptr);
  EXPECT_EQ(ValueOf(doc, "Program:A", "command"), "/bin/cat");
  EXPECT_EQ(ValueOf(doc, "Program:A", "autostart"), "false");
}

TEST(ParseIniTest, IndentedLinesContinueTheValue) {
  const IniDocument doc = Parse(
      "[program:a]\n"
      "environment=\n"
      "    A=\"1\",\n"
      "\n"
      "    B=\"2\"   ; comment\n"
      "command=/bin/cat\n"
      "  --flag\n"
      "\n"
      "\n"
      "[program:b]\n");
  EXPECT_EQ(ValueOf(doc, "program:a", "environment"), "\nA=\"1\",\n\nB=\"2\"");
  EXPECT_EQ(ValueOf(doc, "program:a", "command"), "/bin/cat\n--flag");  // trailing blanks go
  ASSERT_NE(doc.Find("program:b"), nullptr);
  EXPECT_EQ(doc.Find("program:a")->Find("command")->line, 6);
}

TEST(ParseIniTest, RepeatedSectionsMergeAndTheLaterValueWins) {
  std::vector<IniProblem> repeated;
  IniDocument doc = Parse(
      "[program:a]\ncommand=one\n[program:b]\ncommand=b\n[program:a]\n"
      "command=two\nuser=x\n",
      nullptr, &repeated);
  ASSERT_EQ(doc.sections.size(), 2u);
  EXPECT_EQ(ValueOf(doc, "program:a", "command"), "two");
  EXPECT_EQ(ValueOf(doc, "program:a", "user"), "x");
  EXPECT_EQ(doc.Find("program:a")->Find("command")->line, 6);
  ASSERT_EQ(repeated.size(), 1u);
  EXPECT_EQ(repeated[0].line, 6);
  EXPECT_NE(repeated[0].message.find("first at s.conf:2"), std::string::npos);
  // A second file merges into the same document.
  ParseIni("[program:a]\nuser=y\n", "t.conf", &doc);
  EXPECT_EQ(ValueOf(doc, "program:a", "user"), "y");
  EXPECT_EQ(doc.Find("program:a")->Find("user")->file, "t.conf");
  EXPECT_EQ(doc.Find("program:a")->file, "s.conf");
}

TEST(ParseIniTest, DefaultSectionIsKeptApart) {
  const IniDocument doc = Parse("[DEFAULT]\nautorestart=true\n[program:a]\ncommand=x\n");
  EXPECT_EQ(doc.sections.size(), 1u);
  ASSERT_NE(doc.defaults.Find("autorestart"), nullptr);
  EXPECT_EQ(doc.defaults.Find("autorestart")->text, "true");
}

TEST(ParseIniTest, ReportsLinesItCannotRead) {
  std::vector<IniProblem> problems;
  IniDocument doc = Parse("[program:a]\ncommand=x\njust words\n[]\nuser=u\n", &problems);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].line, 3);
  EXPECT_EQ(problems[1].line, 4);
  EXPECT_EQ(ValueOf(doc, "program:a", "user"), "u");  // the rest is still read

  Parse("command=x\n[program:a]\n", &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("before any [section]"), std::string::npos);
}

TEST(ParseIniTest, WindowsLineEndings) {
  const IniDocument doc = Parse("[program:a]\r\ncommand=/bin/cat\r\n  -u\r\n");
  EXPECT_EQ(ValueOf(doc, "program:a", "command"), "/bin/cat\n-u");
}

ExpansionLookup Map(std::map<std::string, ExpansionValue, std::less<>> values) {
  return [values](std::string_view name) -> std::optional<ExpansionValue> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(PythonFormatTest, SupervisordForms) {
  auto lookup = Map({{"program_name", std::string("web")},
                     {"process_num", int64_t{3}},
                     {"numprocs", int64_t{12}},
                     {"ENV_HOME", std::string("/home/u")}});
  EXPECT_EQ(*PythonFormat("%(program_name)s_%(process_num)02d", lookup), "web_03");
  EXPECT_EQ(*PythonFormat("--port=80%(process_num)02d", lookup), "--port=8003");
  EXPECT_EQ(*PythonFormat("%(numprocs)d %(process_num)s %(process_num)03d", lookup), "12 3 003");
  EXPECT_EQ(*PythonFormat("%(ENV_HOME)s/x 100%%", lookup), "/home/u/x 100%");
  EXPECT_EQ(*PythonFormat("[%(program_name)-5s][%(program_name)5s][%(program_name).2s]", lookup),
            "[web  ][  web][we]");
  EXPECT_EQ(*PythonFormat("%(process_num)+d %(process_num)x %(process_num)r", lookup), "+3 3 3");
  EXPECT_EQ(*PythonFormat("%(program_name)r", lookup), "'web'");
  EXPECT_EQ(*PythonFormat("no expansions", lookup), "no expansions");
}

TEST(PythonFormatTest, NegativeNumbersPadAfterTheSign) {
  auto lookup = Map({{"n", int64_t{-1}}});
  EXPECT_EQ(*PythonFormat("%(n)02d|%(n)03d|%(n)4d", lookup), "-1|-01|  -1");
}

TEST(PythonFormatTest, ErrorsAsSupervisordHasThem) {
  auto lookup = Map({{"program_name", std::string("web")}});
  Result<std::string> unknown = PythonFormat("x %(ENV_NOPE)s", lookup);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(unknown.status().message(), "ENV_NOPE");
  for (const char* bad : {"date +%Y", "50%", "%s", "%(program_name)d", "%(program_name",
                          "%(program_name)", "%(program_name)q"}) {
    Result<std::string> r = PythonFormat(bad, lookup);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::kConfig) << bad;
  }
}

TEST(ShlexSplitTest, PosixShlex) {
  EXPECT_EQ(*ShlexSplit("/bin/prog -p \"foo bar\" 'a b' c\\ d"),
            (Words{"/bin/prog", "-p", "foo bar", "a b", "c d"}));
  EXPECT_EQ(*ShlexSplit("a\n  b\tc"), (Words{"a", "b", "c"}));
  EXPECT_EQ(*ShlexSplit("echo '' \"\" x\"y\"'z'"), (Words{"echo", "", "", "xyz"}));
  // In double quotes a backslash escapes only '"' and '\': "\$" keeps it (a shell would not).
  EXPECT_EQ(*ShlexSplit("sh -c \"echo \\$HOME \\\" \\\\\""),
            (Words{"sh", "-c", "echo \\$HOME \" \\"}));
  EXPECT_EQ(*ShlexSplit("a # not a comment"), (Words{"a", "#", "not", "a", "comment"}));
  EXPECT_FALSE(ShlexSplit("echo 'open").ok());
  EXPECT_FALSE(ShlexSplit("echo \"open").ok());
  EXPECT_FALSE(ShlexSplit("echo \\").ok());
  EXPECT_TRUE(ShlexSplit("  ")->empty());
}

TEST(ParseKeyValuePairsTest, SupervisordEnvironmentStrings) {
  EXPECT_EQ(*ParseKeyValuePairs("A=\"1\",B=\"2\""), (Pairs{{"A", "1"}, {"B", "2"}}));
  EXPECT_EQ(*ParseKeyValuePairs("KEY=\"val:123\",KEY2=\"val,456\""),
            (Pairs{{"KEY", "val:123"}, {"KEY2", "val,456"}}));
  EXPECT_EQ(*ParseKeyValuePairs("PATH=/usr/local/bin:/usr/bin, HOME='/home/a b'"),
            (Pairs{{"PATH", "/usr/local/bin:/usr/bin"}, {"HOME", "/home/a b"}}));
  EXPECT_EQ(*ParseKeyValuePairs("\nA=1,\n\nB=x-y.z+(w)\n"),
            (Pairs{{"A", "1"}, {"B", "x-y.z+(w)"}}));
  EXPECT_EQ(*ParseKeyValuePairs("A=1,B=2,A=3"), (Pairs{{"A", "3"}, {"B", "2"}}));
  EXPECT_EQ(*ParseKeyValuePairs("EMPTY=\"\",Q=\"say \\\"hi\\\"\""),
            (Pairs{{"EMPTY", ""}, {"Q", "say \"hi\""}}));
  EXPECT_TRUE(ParseKeyValuePairs("")->empty());
  // Unquoted characters outside shlex's word set cut a value short: supervisord reads
  // PATH=$PATH:/opt as PATH="$" and skips the rest without a word. Reproduced, and pointed out.
  std::vector<std::string> misread;
  EXPECT_EQ(*ParseKeyValuePairs("PATH=$PATH:/opt", &misread), (Pairs{{"PATH", "$"}}));
  ASSERT_EQ(misread.size(), 2u);
  EXPECT_NE(misread[0].find("PATH is read as '$'"), std::string::npos);
  EXPECT_NE(misread[1].find("'PATH:/opt' after the value of PATH is skipped"), std::string::npos);
  misread.clear();
  EXPECT_EQ(*ParseKeyValuePairs("A=x # comment\n,B=2", &misread), (Pairs{{"A", "x"}, {"B", "2"}}));
  EXPECT_TRUE(misread.empty());
  EXPECT_FALSE(ParseKeyValuePairs("A=x#comment,B=2\nC=3").ok());  // '#' comments out ",B=2"
  EXPECT_EQ(*ParseKeyValuePairs("A=1;B=2", &misread), (Pairs{{"A", "1"}, {"B", "2"}}));
  EXPECT_TRUE(misread.empty());
  EXPECT_EQ(*ParseKeyValuePairs("A=a\"b c\"d"), (Pairs{{"A", "ab cd"}}));
  // These supervisord refuses.
  EXPECT_FALSE(ParseKeyValuePairs("A=1 B=2").ok());
  EXPECT_FALSE(ParseKeyValuePairs("A=\"open").ok());
  EXPECT_FALSE(ParseKeyValuePairs("A").ok());
}

TEST(ValueTypesTest, AsSupervisordReadsThem) {
  for (const char* t : {"true", "YES", "on", "1"}) EXPECT_EQ(ParseBoolean(t), true) << t;
  for (const char* f : {"false", "No", "OFF", "0"}) EXPECT_EQ(ParseBoolean(f), false) << f;
  EXPECT_EQ(ParseBoolean("unexpected"), std::nullopt);
  EXPECT_EQ(ParseInteger(" 42 "), 42);
  EXPECT_EQ(ParseInteger("-3"), -3);
  EXPECT_EQ(ParseInteger("1_000"), 1000);
  EXPECT_EQ(ParseInteger("1.5"), std::nullopt);
  EXPECT_EQ(ParseInteger(""), std::nullopt);
  EXPECT_EQ(ParseByteSize("50MB"), 50ull << 20);
  EXPECT_EQ(ParseByteSize("10kb"), 10240u);
  EXPECT_EQ(ParseByteSize("1GB"), 1ull << 30);
  EXPECT_EQ(ParseByteSize("0"), 0u);
  EXPECT_EQ(ParseByteSize("50 MB"), 50ull << 20);
  EXPECT_EQ(ParseByteSize("5TB"), std::nullopt);
  EXPECT_EQ(ParseOctal("022"), 022u);
  EXPECT_EQ(ParseOctal("0o22"), 022u);
  EXPECT_EQ(ParseOctal("0777"), 0777u);
  EXPECT_EQ(ParseOctal("8"), std::nullopt);
}

}  // namespace
}  // namespace warden::importer::supervisord
