#include "ctl/log_commands.h"

#include <sstream>

#include <gtest/gtest.h>

#include "ctl/dispatch.h"
#include "ctl/logs_command.h"
#include "proto/log_messages.h"

namespace warden::ctl {
namespace {

using proto::MessageType;
using Words = std::vector<std::string>;

Command Parse(const Words& words) {
  Result<Command> command = ParseCommand(words, false);
  EXPECT_TRUE(command.ok()) << command.status().message();
  return command.ok() ? *command : Command{};
}

std::string UsageErrorOf(const Words& words) {
  Result<Command> command = ParseCommand(words, false);
  EXPECT_FALSE(command.ok());
  return command.ok() ? "" : command.status().message();
}

TEST(LogCommands, TailOptionsInEveryForm) {
  Command c = Parse({"tail", "web"});
  EXPECT_EQ(c.kind, CommandKind::kTail);
  EXPECT_EQ(c.names, Words{"web"});
  EXPECT_FALSE(c.follow);
  EXPECT_FALSE(c.tail_bytes);
  EXPECT_EQ(c.tail_count, kDefaultTailLines);
  EXPECT_EQ(c.stream, "stdout");

  c = Parse({"tail", "-f", "-n", "50", "web:web_00", "stderr"});
  EXPECT_TRUE(c.follow);
  EXPECT_EQ(c.tail_count, 50u);
  EXPECT_EQ(c.stream, "stderr");
  EXPECT_EQ(c.names, Words{"web:web_00"});

  c = Parse({"tail", "-c1600", "web"});
  EXPECT_TRUE(c.tail_bytes);
  EXPECT_EQ(c.tail_count, 1600u);
  c = Parse({"tail", "--bytes=7", "--follow", "web"});
  EXPECT_TRUE(c.tail_bytes && c.follow);
  EXPECT_EQ(c.tail_count, 7u);
  c = Parse({"tail", "web", "--lines", "3"});
  EXPECT_EQ(c.tail_count, 3u);

  c = Parse({"maintail", "-f", "-n0"});
  EXPECT_EQ(c.kind, CommandKind::kMaintail);
  EXPECT_TRUE(c.follow);
  EXPECT_EQ(c.tail_count, 0u);
}

TEST(LogCommands, UsageErrors) {
  EXPECT_EQ(UsageErrorOf({"tail"}), "tail: no process name given");
  EXPECT_EQ(UsageErrorOf({"tail", "web", "stdin"}),
            "tail: the stream is stdout or stderr, not 'stdin'");
  EXPECT_EQ(UsageErrorOf({"tail", "-n", "ten", "web"}), "tail: -n: 'ten' is not a number of lines");
  EXPECT_EQ(UsageErrorOf({"tail", "web", "-n"}), "tail: -n needs a number");
  EXPECT_EQ(UsageErrorOf({"maintail", "web"}), "maintail: takes no process name");
  EXPECT_EQ(UsageErrorOf({"clear"}), "clear: no process name given (use 'all' for every process)");
  EXPECT_EQ(UsageErrorOf({"clear", "-f", "web"}), "clear: unknown option '-f'");
  EXPECT_EQ(Parse({"logrotate"}).names, Words{});
}

// Streams canned TAIL replies, one call.
class FakeStream : public DaemonLink {
 public:
  Result<std::vector<uint8_t>> Call(MessageType type,
                                    const std::vector<uint8_t>& payload) override {
    requests.push_back({type, payload});
    return action_reply;
  }
  Status Stream(MessageType type, const std::vector<uint8_t>& payload,
                const Client::OnReply& on_reply) override {
    requests.push_back({type, payload});
    if (!error.ok()) return error;
    for (const auto& reply : replies) {
      if (!on_reply(proto::Encode(reply))) break;
      ++delivered;
    }
    return Status::Ok();
  }
  std::vector<std::pair<MessageType, std::vector<uint8_t>>> requests;
  std::vector<proto::TailReply> replies;
  Status error;
  int delivered = 0;
  Result<std::vector<uint8_t>> action_reply = Status(ErrorCode::kInternal, "unset");
};

TEST(LogCommands, TailSendsTheRequestAndPrintsEveryChunkUntilTheLast) {
  FakeStream daemon;
  daemon.replies = {{true, "/l", std::string("a\0", 2)}, {false, "/l", "b\n"}, {false, "/l", "x"}};
  std::ostringstream out, err;
  EXPECT_EQ(RunWords({"tail", "-c", "5", "web", "stderr"}, false, daemon, out, err), kExitOk);
  EXPECT_EQ(out.str(), std::string("a\0b\n", 4));  // stops after more == 0
  ASSERT_EQ(daemon.requests.size(), 1u);
  EXPECT_EQ(daemon.requests[0].first, MessageType::kTail);
  proto::TailRequest request;
  ASSERT_TRUE(proto::Decode(daemon.requests[0].second, &request));
  EXPECT_EQ(request.name, "web");
  EXPECT_EQ(request.stream, proto::LogStream::kStderr);
  EXPECT_EQ(request.unit, proto::TailUnit::kBytes);
  EXPECT_EQ(request.count, 5u);
  EXPECT_FALSE(request.follow);
}

TEST(LogCommands, TailOfAnUnknownProcessSaysSoAndExitsFour) {
  FakeStream daemon;
  daemon.error = Status(ErrorCode::kNotFound, "nosuch: no such process");
  std::ostringstream out, err;
  EXPECT_EQ(RunWords({"tail", "nosuch"}, false, daemon, out, err), kExitNoSuchProcess);
  EXPECT_EQ(out.str(), "nosuch: ERROR (no such process)\n");
  daemon.error = Status(ErrorCode::kNotFound, "web: stdout is not logged (file: NONE)");
  std::ostringstream out2, err2;
  EXPECT_EQ(RunWords({"tail", "web"}, false, daemon, out2, err2), kExitNoSuchProcess);
  EXPECT_EQ(err2.str(), "wardenctl: web: stdout is not logged (file: NONE)\n");
}

TEST(LogCommands, ClearAndLogrotatePrintOneLinePerProcess) {
  FakeStream daemon;
  proto::ActionReply reply;
  reply.results = {{"web", ErrorCode::kOk, ""},
                   {"nosuch", ErrorCode::kNotFound, "no such process"}};
  daemon.action_reply = proto::Encode(reply);
  std::ostringstream out, err;
  EXPECT_EQ(RunWords({"clear", "web", "nosuch"}, false, daemon, out, err), kExitNoSuchProcess);
  EXPECT_EQ(out.str(), "web: cleared\nnosuch: ERROR (no such process)\n");
  proto::LogNamesRequest sent;
  ASSERT_TRUE(proto::Decode(daemon.requests.back().second, &sent));
  EXPECT_EQ(sent.names, (Words{"web", "nosuch"}));
  EXPECT_EQ(daemon.requests.back().first, MessageType::kClear);

  reply.results = {{"web", ErrorCode::kOk, ""}};
  daemon.action_reply = proto::Encode(reply);
  std::ostringstream out2, err2;
  EXPECT_EQ(RunWords({"logrotate"}, false, daemon, out2, err2), kExitOk);
  EXPECT_EQ(out2.str(), "web: reopened\n");
  EXPECT_EQ(daemon.requests.back().first, MessageType::kLogRotate);
}

TEST(LogsCommand, ParsesNamesFollowAndLines) {
  Command c = Parse({"logs"});
  EXPECT_EQ(c.kind, CommandKind::kLogs);
  EXPECT_TRUE(c.names.empty());
  EXPECT_EQ(c.tail_count, 10u);
  c = Parse({"logs", "-f", "-n", "0", "web", "grp:*"});
  EXPECT_TRUE(c.follow);
  EXPECT_EQ(c.tail_count, 0u);
  EXPECT_EQ(c.names, (std::vector<std::string>{"web", "grp:*"}));
  EXPECT_EQ(UsageErrorOf({"logs", "-c", "5"}), "logs: counts lines only (-n N), not bytes");
}

TEST(LogsCommand, LifecycleLinesSayWhatHappened) {
  using proto::ProcessState;
  EXPECT_EQ(LifecycleText(ProcessState::kStarting, 4242, ""), "started, pid 4242");
  EXPECT_EQ(LifecycleText(ProcessState::kRunning, 4242, ""), "running, pid 4242");
  EXPECT_EQ(LifecycleText(ProcessState::kExited, 4242, "exit status 3"),
            "exited: exit status 3");
  EXPECT_EQ(LifecycleText(ProcessState::kFatal, 0, "Exited too quickly"),
            "FATAL: Exited too quickly");
  EXPECT_EQ(LifecycleText(ProcessState::kStopped, 0, "Stopped"), "stopped");
}

TEST(LogsCommand, PrefixesAreAlignedAndColouredOnlyWhenAsked) {
  EXPECT_EQ(LinePrefix("web", 6, false, 0), "web    | ");
  EXPECT_EQ(LinePrefix("worker", 6, false, 1), "worker | ");
  EXPECT_EQ(LinePrefix("web", 3, true, 0), "\033[36mweb\033[0m | ");
  EXPECT_EQ(LinePrefix("web", 3, true, 7), "\033[33mweb\033[0m | ") << "six colours, cycling";
}

}  // namespace
}  // namespace warden::ctl
