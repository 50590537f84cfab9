#include "ctl/commands.h"

#include <signal.h>

#include <gtest/gtest.h>

namespace warden::ctl {
namespace {

using Words = std::vector<std::string>;

GlobalOptions ParseGlobalOk(const Words& argv) {
  Result<GlobalOptions> r = ParseGlobalOptions(argv);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : GlobalOptions{};
}

Command ParseOk(const Words& words, bool json = false) {
  Result<Command> r = ParseCommand(words, json);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : Command{};
}

std::string ParseError(const Words& words) {
  Result<Command> r = ParseCommand(words, false);
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  return r.status().message();
}

TEST(GlobalOptions, StopsAtTheCommand) {
  GlobalOptions o = ParseGlobalOk({"wardenctl", "status", "web", "--json"});
  EXPECT_EQ(o.words, (Words{"status", "web", "--json"}));
  EXPECT_FALSE(o.json);  // --json after the command belongs to ParseCommand
  EXPECT_TRUE(o.socket.empty());
  EXPECT_TRUE(o.config.empty());
}

TEST(GlobalOptions, SocketInEveryForm) {
  EXPECT_EQ(ParseGlobalOk({"wardenctl", "-s", "/tmp/a.sock", "status"}).socket, "/tmp/a.sock");
  EXPECT_EQ(ParseGlobalOk({"wardenctl", "-s/tmp/b.sock", "status"}).socket, "/tmp/b.sock");
  EXPECT_EQ(ParseGlobalOk({"wardenctl", "--socket", "/tmp/c.sock", "status"}).socket,
            "/tmp/c.sock");
  EXPECT_EQ(ParseGlobalOk({"wardenctl", "--socket=/tmp/d.sock", "status"}).socket, "/tmp/d.sock");
}

TEST(GlobalOptions, ConfigJsonHelpVersion) {
  GlobalOptions o = ParseGlobalOk({"wardenctl", "-c", "/etc/w.yaml", "--json", "status"});
  EXPECT_EQ(o.config, "/etc/w.yaml");
  EXPECT_TRUE(o.json);
  EXPECT_EQ(o.words, (Words{"status"}));
  EXPECT_EQ(ParseGlobalOk({"wardenctl", "--config=x.yaml", "pid"}).config, "x.yaml");
  EXPECT_TRUE(ParseGlobalOk({"wardenctl", "-h"}).help);
  EXPECT_TRUE(ParseGlobalOk({"wardenctl", "--help"}).help);
  EXPECT_TRUE(ParseGlobalOk({"wardenctl", "--version"}).version);
  EXPECT_TRUE(ParseGlobalOk({"wardenctl"}).words.empty());
}

TEST(GlobalOptions, SocketAndConfigAfterTheCommand) {
  GlobalOptions check = ParseGlobalOk({"wardenctl", "check", "-c", "warden.yaml"});
  EXPECT_EQ(check.config, "warden.yaml");
  EXPECT_EQ(check.words, (Words{"check"}));
  GlobalOptions status =
      ParseGlobalOk({"wardenctl", "status", "--socket=/tmp/s", "web", "--json", "--no-color"});
  EXPECT_EQ(status.socket, "/tmp/s");
  EXPECT_TRUE(status.no_color);
  EXPECT_EQ(status.words, (Words{"status", "web", "--json"}));
  EXPECT_EQ(ParseGlobalOk({"wardenctl", "stop", "web", "--config", "w.yaml"}).config, "w.yaml");
  // tail's -c is a byte count, not the config; after `--` everything is an argument.
  GlobalOptions tail = ParseGlobalOk({"wardenctl", "tail", "-c", "100", "web", "-s", "/tmp/t"});
  EXPECT_EQ(tail.config, "");
  EXPECT_EQ(tail.socket, "/tmp/t");
  EXPECT_EQ(tail.words, (Words{"tail", "-c", "100", "web"}));
  GlobalOptions dashes = ParseGlobalOk({"wardenctl", "status", "--", "-c", "x"});
  EXPECT_EQ(dashes.config, "");
  EXPECT_EQ(dashes.words, (Words{"status", "--", "-c", "x"}));
  Result<GlobalOptions> missing = ParseGlobalOptions({"wardenctl", "check", "-c"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "option '-c' needs a value");
}

TEST(GlobalOptions, DoubleDashEndsOptions) {
  GlobalOptions o = ParseGlobalOk({"wardenctl", "--", "status"});
  EXPECT_EQ(o.words, (Words{"status"}));
}

TEST(GlobalOptions, UsageErrors) {
  Result<GlobalOptions> missing = ParseGlobalOptions({"wardenctl", "-s"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(missing.status().message(), "option '-s' needs a value");

  Result<GlobalOptions> empty = ParseGlobalOptions({"wardenctl", "--socket=", "status"});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), "option '--socket' needs a value");

  Result<GlobalOptions> unknown = ParseGlobalOptions({"wardenctl", "-x", "status"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(), "unknown option '-x'");

  EXPECT_FALSE(ParseGlobalOptions({"wardenctl", "--sockets=x", "status"}).ok());
}

TEST(ParseCommand, JsonBeforeOrAfterTheCommand) {
  Command before = ParseOk({"status", "web"}, /*json=*/true);
  EXPECT_TRUE(before.json);
  EXPECT_EQ(before.names, (Words{"web"}));

  Command after = ParseOk({"status", "--json", "web"});
  EXPECT_EQ(after.kind, CommandKind::kStatus);
  EXPECT_TRUE(after.json);
  EXPECT_EQ(after.names, (Words{"web"}));

  Command last = ParseOk({"status", "web", "api", "--json"});
  EXPECT_TRUE(last.json);
  EXPECT_EQ(last.names, (Words{"web", "api"}));

  EXPECT_FALSE(ParseOk({"status"}).json);
}

TEST(ParseCommand, StatusTakesAnyNamesUnchanged) {
  EXPECT_TRUE(ParseOk({"status"}).names.empty());
  EXPECT_EQ(ParseOk({"status", "all", "webapps:*", "webapps:web"}).names,
            (Words{"all", "webapps:*", "webapps:web"}));
}

TEST(ParseCommand, ActionsNeedNames) {
  for (const char* name : {"start", "stop", "restart"}) {
    EXPECT_EQ(ParseError({name}),
              std::string(name) + ": no process name given (use 'all' for every process)");
  }
  Command start = ParseOk({"start", "web", "group:*"});
  EXPECT_EQ(start.kind, CommandKind::kStart);
  EXPECT_EQ(start.names, (Words{"web", "group:*"}));
  EXPECT_EQ(ParseOk({"stop", "all"}).kind, CommandKind::kStop);
  EXPECT_EQ(ParseOk({"restart", "all"}).kind, CommandKind::kRestart);
}

TEST(ParseCommand, SignalTakesASignalThenNames) {
  Command c = ParseOk({"signal", "HUP", "web", "api"});
  EXPECT_EQ(c.kind, CommandKind::kSignal);
  EXPECT_EQ(c.signal, SIGHUP);
  EXPECT_EQ(c.names, (Words{"web", "api"}));

  EXPECT_EQ(ParseOk({"signal", "SIGTERM", "all"}).signal, SIGTERM);
  EXPECT_EQ(ParseOk({"signal", "9", "web"}).signal, 9);
  EXPECT_EQ(ParseOk({"signal", "usr1", "web"}).signal, SIGUSR1);

  Command dash = ParseOk({"signal", "-KILL", "web"});  // kill(1) style
  EXPECT_EQ(dash.signal, SIGKILL);
  EXPECT_EQ(dash.names, (Words{"web"}));

  EXPECT_EQ(ParseError({"signal", "BOGUS", "web"}), "signal: unknown signal 'BOGUS'");
  EXPECT_EQ(ParseError({"signal", "0", "web"}), "signal: unknown signal '0'");
  EXPECT_EQ(ParseError({"signal"}), "signal: no signal given");
  EXPECT_EQ(ParseError({"signal", "TERM"}),
            "signal: no process name given (use 'all' for every process)");
}

TEST(ParseCommand, PidVersionShutdown) {
  EXPECT_TRUE(ParseOk({"pid"}).names.empty());
  EXPECT_EQ(ParseOk({"pid", "web"}).names, (Words{"web"}));
  EXPECT_EQ(ParseError({"pid", "a", "b"}), "pid: takes at most one process name");
  EXPECT_EQ(ParseOk({"version"}).kind, CommandKind::kVersion);
  EXPECT_EQ(ParseError({"version", "x"}), "version: takes no arguments");
  EXPECT_EQ(ParseOk({"shutdown"}).kind, CommandKind::kShutdown);
  EXPECT_EQ(ParseError({"shutdown", "now"}), "shutdown: takes no arguments");
}

TEST(ParseCommand, UnknownCommandSuggestsTheClosest) {
  EXPECT_EQ(ParseError({"stauts"}), "unknown command 'stauts' (did you mean 'status'?)");
  EXPECT_EQ(ParseError({"strat", "web"}), "unknown command 'strat' (did you mean 'start'?)");
  EXPECT_EQ(ParseError({"restrat"}), "unknown command 'restrat' (did you mean 'restart'?)");
  EXPECT_EQ(ParseError({"sig"}), "unknown command 'sig' (did you mean 'signal'?)");  // prefix
  EXPECT_EQ(ParseError({"frobnicate"}), "unknown command 'frobnicate'");
  EXPECT_EQ(ParseError({"x"}), "unknown command 'x'");
}

TEST(SuggestCommand, OnlyCloseOrUniquePrefix) {
  EXPECT_EQ(SuggestCommand("stop"), "stop");
  EXPECT_EQ(SuggestCommand("stpo"), "stop");
  EXPECT_EQ(SuggestCommand("versoin"), "version");
  EXPECT_EQ(SuggestCommand("shut"), "shutdown");
  EXPECT_EQ(SuggestCommand("zzzzzz"), "");
}

TEST(ParseCommand, HelpForACommand) {
  Command c = ParseOk({"start", "--help"});
  EXPECT_EQ(c.kind, CommandKind::kStart);
  EXPECT_TRUE(c.help);  // no names needed when asking for help
  EXPECT_TRUE(ParseOk({"signal", "-h"}).help);

  Command h = ParseOk({"help", "status"});
  EXPECT_EQ(h.kind, CommandKind::kHelp);
  EXPECT_EQ(h.topic, "status");
  EXPECT_TRUE(ParseOk({"help"}).topic.empty());
  EXPECT_EQ(ParseError({"help", "stauts"}), "unknown command 'stauts' (did you mean 'status'?)");
}

TEST(ParseCommand, OptionsAfterTheCommand) {
  EXPECT_EQ(ParseError({"status", "-x"}), "status: unknown option '-x'");
  Command c = ParseOk({"status", "--", "--json"});
  EXPECT_FALSE(c.json);
  EXPECT_EQ(c.names, (Words{"--json"}));
  EXPECT_EQ(ParseOk({"status", "-"}).names, (Words{"-"}));
}

TEST(ParseCommand, Empty) { EXPECT_EQ(ParseError({}), "no command given"); }

TEST(Help, ListsEveryCommandWithItsUsage) {
  std::string usage = UsageText();
  EXPECT_NE(usage.find("usage: wardenctl [-c FILE | -s SOCKET] [--json] COMMAND [ARGS...]"),
            std::string::npos);
  for (const CommandSpec& spec : Commands()) {
    EXPECT_NE(usage.find(std::string("  ") + spec.name), std::string::npos) << spec.name;
    std::string help = CommandHelp(spec);
    EXPECT_NE(help.find(spec.description), std::string::npos);
    EXPECT_NE(help.find(std::string("example: ") + spec.example), std::string::npos);
  }
  EXPECT_EQ(CommandHelp(*FindCommand("signal")),
            "usage: wardenctl signal SIG NAME...|all\n"
            "send a signal (TERM, SIGHUP, 10, ...) to processes\n"
            "example: wardenctl signal HUP web\n");
  EXPECT_EQ(FindCommand("nope"), nullptr);
  EXPECT_STREQ(SpecFor(CommandKind::kPid).name, "pid");
}

}  // namespace
}  // namespace warden::ctl
