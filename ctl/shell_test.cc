#include "ctl/shell.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "ctl/commands.h"
#include "proto/messages.h"

namespace warden::ctl {
namespace {

using Words = std::vector<std::string>;

const Words kPrograms = {"crasher", "web", "webapps:api", "webapps:web_00", "webapps:*"};

TEST(SplitLine, BlanksQuotesAndBackslashes) {
  EXPECT_EQ(*SplitLine("  status   web  "), (Words{"status", "web"}));
  EXPECT_EQ(*SplitLine("stop 'webapps:*' \"a b\" c\\ d"),
            (Words{"stop", "webapps:*", "a b", "c d"}));
  EXPECT_EQ(*SplitLine("signal '' x"), (Words{"signal", "", "x"}));
  EXPECT_EQ(*SplitLine(""), Words{});
  EXPECT_FALSE(SplitLine("stop 'web").has_value());
  EXPECT_FALSE(SplitLine("stop \"web").has_value());
}

TEST(CompleteLine, CommandNamesFirst) {
  EXPECT_EQ(CompleteLine("sta", kPrograms), (Words{"start", "status"}));
  EXPECT_EQ(CompleteLine("rest", kPrograms), (Words{"restart"}));
  EXPECT_EQ(CompleteLine("qu", kPrograms), (Words{"quit"}));
  Words all = CompleteLine("", kPrograms);
  EXPECT_EQ(all.size(), Commands().size() + 2);  // + quit, exit
  EXPECT_EQ(CompleteLine("nosuch", kPrograms), Words{});
}

TEST(CompleteLine, ProgramNamesAfterACommand) {
  EXPECT_EQ(CompleteLine("status cr", kPrograms), (Words{"crasher"}));
  EXPECT_EQ(CompleteLine("start we", kPrograms),
            (Words{"web", "webapps:*", "webapps:api", "webapps:web_00"}));
  EXPECT_EQ(CompleteLine("stop webapps:a", kPrograms), (Words{"webapps:api"}));
  EXPECT_EQ(CompleteLine("stop a", kPrograms), (Words{"all"}));
  EXPECT_EQ(CompleteLine("status a", kPrograms), Words{});  // status lists all without "all"
  EXPECT_EQ(CompleteLine("restart web crasher c", kPrograms), (Words{"crasher"}));
  EXPECT_EQ(CompleteLine("version ", kPrograms), Words{});
  EXPECT_EQ(CompleteLine("nosuch we", kPrograms), Words{});
}

TEST(CompleteLine, ArgumentPositionMatters) {
  EXPECT_EQ(CompleteLine("signal H", kPrograms), (Words{"HUP"}));
  EXPECT_EQ(CompleteLine("signal HUP c", kPrograms), (Words{"crasher"}));
  EXPECT_EQ(CompleteLine("tail web std", kPrograms), (Words{"stderr", "stdout"}));
  EXPECT_EQ(CompleteLine("tail -n 20 c", kPrograms), (Words{"crasher"}));  // 20 is -n's value
  EXPECT_EQ(CompleteLine("tail -n ", kPrograms), Words{});
  EXPECT_EQ(CompleteLine("wait web RUN", kPrograms), (Words{"RUNNING"}));
  EXPECT_EQ(CompleteLine("pid web ", kPrograms), Words{});
  EXPECT_EQ(CompleteLine("help sh", kPrograms), (Words{"shell", "show", "shutdown"}));
}

TEST(CompleteLine, OptionsAndFiles) {
  EXPECT_EQ(CompleteLine("tail -", kPrograms),
            (Words{"--bytes", "--follow", "--help", "--json", "--lines", "-c", "-f", "-n"}));
  EXPECT_EQ(CompleteLine("events --c", kPrograms), (Words{"--current"}));
  EXPECT_EQ(CompleteLine("status --j", kPrograms), (Words{"--json"}));
  bool files = false;
  EXPECT_EQ(CompleteLine("check /etc/w", kPrograms, &files), Words{});
  EXPECT_TRUE(files);
  CompleteLine("status w", kPrograms, &files);
  EXPECT_FALSE(files);
}

TEST(HistoryPath, XdgStateHomeThenHome) {
  EXPECT_EQ(HistoryPath("/s", "/root"), "/s/wardenctl_history");
  EXPECT_EQ(HistoryPath(nullptr, "/root"), "/root/.wardenctl_history");
  EXPECT_EQ(HistoryPath("relative", "/root"), "/root/.wardenctl_history");  // XDG: ignore
  EXPECT_EQ(HistoryPath(nullptr, nullptr), "");
}

// A daemon that answers every status request with two processes, and counts calls.
class FakeDaemon : public DaemonLink {
 public:
  Result<std::vector<uint8_t>> Call(proto::MessageType type,
                                    const std::vector<uint8_t>& payload) override {
    ++calls;
    if (down) return Status(ErrorCode::kIo, "cannot connect to /x.sock: Connection refused");
    if (type != proto::MessageType::kStatus) return Status(ErrorCode::kInternal, "unexpected");
    proto::StatusReply reply;
    proto::ProcessInfo web;
    web.name = web.group = "web";
    web.state = proto::ProcessState::kRunning;
    web.pid = 42;
    proto::ProcessInfo api;
    api.name = "api";
    api.group = "webapps";
    api.state = proto::ProcessState::kStopped;
    proto::StatusRequest request;
    if (!proto::Decode(payload, &request)) return Status(ErrorCode::kProtocol, "bad request");
    for (const proto::ProcessInfo& info : {web, api}) {
      if (request.names.empty() || std::find(request.names.begin(), request.names.end(),
                                             info.FullName()) != request.names.end()) {
        reply.processes.push_back(info);
      }
    }
    return proto::Encode(reply);
  }
  void DropIfClosed() override { ++drops; }
  int calls = 0;
  int drops = 0;
  bool down = false;
};

TEST(FetchProgramNames, FullNamesAndGroups) {
  FakeDaemon daemon;
  EXPECT_EQ(FetchProgramNames(daemon), (Words{"web", "webapps:api", "webapps:*"}));
  daemon.down = true;
  EXPECT_EQ(FetchProgramNames(daemon), Words{});
}

TEST(RunShell, PipedLinesRunLikeTheCommandLine) {
  FakeDaemon daemon;
  ShellOptions options;
  std::istringstream in("status\n\n  \nstauts\nstatus web\n");
  std::ostringstream out, err;
  int status = RunShell(options, daemon, in, out, err);
  EXPECT_EQ(status, kExitOk);  // the last command: status web, RUNNING
  EXPECT_NE(out.str().find("webapps:api"), std::string::npos);
  EXPECT_NE(err.str().find("unknown command 'stauts' (did you mean 'status'?)"), std::string::npos);
  EXPECT_EQ(daemon.calls, 2);
  EXPECT_EQ(daemon.drops, 2);  // a closed connection is dropped before each command
}

TEST(RunShell, ExitStatusIsTheLastCommandsAndQuitStops) {
  FakeDaemon daemon;
  ShellOptions options;
  std::istringstream in("stauts\nquit\nstatus\n");
  std::ostringstream out, err;
  EXPECT_EQ(RunShell(options, daemon, in, out, err), kExitUsage);
  EXPECT_EQ(daemon.calls, 0);          // nothing after quit ran
  std::istringstream in2("status\n");  // api is STOPPED
  EXPECT_EQ(RunShell(options, daemon, in2, out, err), kExitNotRunning);
  std::istringstream in3("shell\n");
  EXPECT_EQ(RunShell(options, daemon, in3, out, err), kExitUsage);
}

TEST(RunShell, JsonAppliesToEveryCommandAndHelpNeedsNoDaemon) {
  FakeDaemon daemon;
  daemon.down = true;
  ShellOptions options;
  options.json = true;
  std::istringstream in("help stop\nhelp\n");
  std::ostringstream out, err;
  EXPECT_EQ(RunShell(options, daemon, in, out, err), kExitOk);
  EXPECT_NE(out.str().find("usage: wardenctl stop NAME...|all"), std::string::npos);
  EXPECT_NE(out.str().find("quit, exit or Ctrl-D leaves"), std::string::npos);
  EXPECT_EQ(daemon.calls, 0);

  daemon.down = false;
  std::istringstream in2("status web\n");
  std::ostringstream out2;
  RunShell(options, daemon, in2, out2, err);
  EXPECT_EQ(out2.str().substr(0, 1), "[");
}

}  // namespace
}  // namespace warden::ctl
