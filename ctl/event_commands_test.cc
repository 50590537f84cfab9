#include "ctl/event_commands.h"

#include <sstream>

#include <gtest/gtest.h>

#include "ctl/dispatch.h"

namespace warden::ctl {
namespace {

using proto::MessageType;
using proto::ProcessState;
using Words = std::vector<std::string>;

Command Parse(const Words& words, bool json = false) {
  Result<Command> command = ParseCommand(words, json);
  EXPECT_TRUE(command.ok()) << command.status().message();
  return command.ok() ? *command : Command{};
}

std::string UsageErrorOf(const Words& words) {
  Result<Command> command = ParseCommand(words, false);
  EXPECT_FALSE(command.ok());
  return command.ok() ? "" : command.status().message();
}

proto::StateEvent Event(ProcessState from, ProcessState to, int32_t pid, std::string reason) {
  proto::StateEvent e;
  e.time_ms = 1700000000123;
  e.process = "web";
  e.from = from;
  e.to = to;
  e.pid = pid;
  e.reason = std::move(reason);
  return e;
}

class FakeDaemon : public DaemonLink {
 public:
  Result<std::vector<uint8_t>> Call(MessageType type,
                                    const std::vector<uint8_t>& payload) override {
    requests.push_back({type, payload});
    return call_reply;
  }
  Status Stream(MessageType type, const std::vector<uint8_t>& payload,
                const Client::OnReply& on_reply) override {
    requests.push_back({type, payload});
    for (const auto& reply : replies) {
      if (!on_reply(proto::Encode(reply))) return Status::Ok();
    }
    return end;
  }
  std::vector<std::pair<MessageType, std::vector<uint8_t>>> requests;
  std::vector<proto::EventsReply> replies;
  Status end = Status(ErrorCode::kIo, "wardend on /s closed the connection");
  Result<std::vector<uint8_t>> call_reply = Status(ErrorCode::kInternal, "unset");
};

TEST(EventCommands, Parsing) {
  Command c = Parse({"events"});
  EXPECT_EQ(c.kind, CommandKind::kEvents);
  EXPECT_TRUE(c.names.empty());
  c = Parse({"events", "--json", "web", "db"});
  EXPECT_TRUE(c.json);
  EXPECT_EQ(c.names, (Words{"web", "db"}));
  EXPECT_EQ(UsageErrorOf({"wait", "web", "RUNNING", "--current"}),
            "wait: unknown option '--current'");

  c = Parse({"wait", "web", "running"});
  EXPECT_EQ(c.kind, CommandKind::kWait);
  EXPECT_EQ(c.names, Words{"web"});
  EXPECT_EQ(c.wait_state, static_cast<uint16_t>(ProcessState::kRunning));
  EXPECT_EQ(c.wait_timeout_ms, 0u);
  EXPECT_EQ(Parse({"wait", "web", "STOPPED", "--timeout", "2.5"}).wait_timeout_ms, 2500u);
  EXPECT_EQ(Parse({"wait", "--timeout=0.0001", "web", "FATAL"}).wait_timeout_ms, 1u);
  EXPECT_EQ(Parse({"wait", "-t", "3", "web", "FATAL"}).wait_timeout_ms, 3000u);
}

TEST(EventCommands, UsageErrors) {
  EXPECT_EQ(UsageErrorOf({"wait", "web"}), "wait: takes a process name and a state");
  EXPECT_EQ(UsageErrorOf({"wait", "web", "UP"}),
            "wait: unknown state 'UP' (STOPPED, STARTING, RUNNING, BACKOFF, STOPPING, EXITED, "
            "FATAL)");
  EXPECT_EQ(UsageErrorOf({"wait", "web", "RUNNING", "--timeout", "soon"}),
            "wait: --timeout: 'soon' is not a number of seconds");
  EXPECT_EQ(UsageErrorOf({"wait", "web", "RUNNING", "--timeout"}),
            "wait: --timeout needs a number of seconds");
  EXPECT_EQ(UsageErrorOf({"events", "--timeout", "1"}), "events: unknown option '--timeout'");
}

TEST(EventCommands, LinesAndJson) {
  setenv("TZ", "UTC", 1);
  tzset();
  proto::StateEvent e = Event(ProcessState::kRunning, ProcessState::kExited, 4242, "exit status 1");
  EXPECT_EQ(EventLine(e), "2023-11-14 22:13:20.123 web RUNNING -> EXITED pid 4242 (exit status 1)");
  EXPECT_EQ(EventJson(e),
            "{\"time\":1700000000.123,\"process\":\"web\",\"from\":\"RUNNING\",\"to\":\"EXITED\","
            "\"pid\":4242,\"reason\":\"exit status 1\"}");
  e = Event(ProcessState::kBackoff, ProcessState::kStopped, 0, "");
  EXPECT_EQ(EventLine(e), "2023-11-14 22:13:20.123 web BACKOFF -> STOPPED");
  EXPECT_NE(EventJson(e).find("\"pid\":null"), std::string::npos);
}

TEST(EventCommands, EventsPrintsChangesNotTheSnapshotAndEndsWithTheDaemon) {
  FakeDaemon daemon;
  proto::EventsReply snapshot;
  snapshot.snapshot = true;
  snapshot.events = {Event(ProcessState::kRunning, ProcessState::kRunning, 1, "")};
  proto::EventsReply change;
  change.events = {Event(ProcessState::kRunning, ProcessState::kStopping, 1, "")};
  daemon.replies = {snapshot, change};
  std::ostringstream out, err;
  EXPECT_EQ(RunWords({"events", "--json", "web"}, false, daemon, out, err), kExitOk) << err.str();
  EXPECT_EQ(out.str(),
            "{\"time\":1700000000.123,\"process\":\"web\",\"from\":\"RUNNING\",\"to\":\"STOPPING\","
            "\"pid\":1,\"reason\":\"\"}\n");
  ASSERT_EQ(daemon.requests.size(), 1u);
  EXPECT_EQ(daemon.requests[0].first, MessageType::kEvents);
  proto::EventsRequest sent;
  ASSERT_TRUE(proto::Decode(daemon.requests[0].second, &sent));
  EXPECT_EQ(sent.names, Words{"web"});
}

TEST(EventCommands, EventsWithAnUnknownName) {
  FakeDaemon daemon;
  daemon.end = Status(ErrorCode::kNotFound, "no such process: nope");
  std::ostringstream out, err;
  EXPECT_EQ(RunWords({"events", "nope"}, false, daemon, out, err), kExitNoSuchProcess);
  EXPECT_EQ(err.str(), "wardenctl: events: no such process: nope\n");
}

TEST(EventCommands, WaitExitCodes) {
  FakeDaemon daemon;
  proto::WaitReply reply;
  reply.processes = {Event(ProcessState::kRunning, ProcessState::kRunning, 7, "")};
  daemon.call_reply = proto::Encode(reply);
  std::ostringstream out, err;
  EXPECT_EQ(RunWords({"wait", "web", "RUNNING", "--timeout", "5"}, false, daemon, out, err),
            kExitOk);
  EXPECT_EQ(out.str(), "web: RUNNING\n");
  proto::WaitRequest sent;
  ASSERT_TRUE(proto::Decode(daemon.requests.back().second, &sent));
  EXPECT_EQ(sent.names, Words{"web"});
  EXPECT_EQ(sent.state, ProcessState::kRunning);
  EXPECT_EQ(sent.timeout_ms, 5000u);

  daemon.call_reply = Status(ErrorCode::kTimeout, "wait: ERROR (timeout: not RUNNING after 5.0 s)");
  out.str("");
  EXPECT_EQ(RunWords({"wait", "web", "RUNNING"}, false, daemon, out, err), kExitFailure);

  daemon.call_reply = Status(ErrorCode::kNotFound, "wait: ERROR (no such process: nope)");
  out.str("");
  EXPECT_EQ(RunWords({"wait", "nope", "RUNNING"}, false, daemon, out, err), kExitNoSuchProcess);
  EXPECT_EQ(out.str(), "nope: ERROR (no such process)\n");
}

}  // namespace
}  // namespace warden::ctl
