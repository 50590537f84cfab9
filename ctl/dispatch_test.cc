#include "ctl/dispatch.h"

#include <signal.h>

#include <optional>
#include <sstream>

#include <gtest/gtest.h>

#include "ctl/render.h"

namespace warden::ctl {
namespace {

using proto::MessageType;
using Words = std::vector<std::string>;

// Records each request and answers with a canned reply payload (or failure).
class FakeLink : public DaemonLink {
 public:
  struct Request {
    MessageType type;
    std::vector<uint8_t> payload;
  };

  Result<std::vector<uint8_t>> Call(MessageType type,
                                    const std::vector<uint8_t>& payload) override {
    requests.push_back({type, payload});
    return reply;
  }

  std::vector<Request> requests;
  Result<std::vector<uint8_t>> reply = Status(ErrorCode::kInternal, "no reply set");
};

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

Outcome RunIt(const Words& words, FakeLink& link, bool json = false) {
  std::ostringstream out, err;
  Outcome r;
  r.exit_code = RunWords(words, json, link, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

proto::ProcessInfo Process(std::string name, proto::ProcessState state, int32_t pid = 0) {
  proto::ProcessInfo p;
  p.name = name;
  p.group = name;
  p.state = state;
  p.pid = pid;
  return p;
}

proto::ActionResult Result(std::string name, ErrorCode code = ErrorCode::kOk) {
  proto::ActionResult r;
  r.name = std::move(name);
  r.code = code;
  return r;
}

TEST(Dispatch, StatusTextWithAnUnknownName) {
  FakeLink link;
  proto::StatusReply reply;
  reply.processes = {Process("web", proto::ProcessState::kRunning, 4242),
                     Process("api", proto::ProcessState::kStopped)};
  reply.processes[0].uptime_ms = 62000;
  reply.unknown_names = {"wbe"};
  link.reply = proto::Encode(reply);

  Outcome r = RunIt({"status", "web", "api", "wbe"}, link);
  EXPECT_EQ(r.exit_code, kExitNoSuchProcess);
  // Sorted by name, whatever the daemon's order (its order is by priority).
  EXPECT_EQ(r.out, "api" + std::string(30, ' ') + "STOPPED   Not started\n" + "web" +
                       std::string(30, ' ') + "RUNNING   pid 4242, uptime 0:01:02\n" +
                       "wbe: ERROR (no such process)\n");
  // The nearest name wardend knows, asked for only because a name matched nothing.
  EXPECT_EQ(r.err, "wardenctl: no process is named 'wbe' (did you mean 'web'?)\n");

  ASSERT_EQ(link.requests.size(), 2u);
  EXPECT_EQ(link.requests[0].type, MessageType::kStatus);
  proto::StatusRequest request;
  ASSERT_TRUE(proto::Decode(link.requests[0].payload, &request));
  EXPECT_EQ(request.names, (Words{"web", "api", "wbe"}));
  ASSERT_TRUE(proto::Decode(link.requests[1].payload, &request));
  EXPECT_EQ(request.names, Words{});

  // Nothing close: no suggestion.
  reply.unknown_names = {"zzzzzz"};
  link.reply = proto::Encode(reply);
  Outcome far = RunIt({"status", "zzzzzz"}, link);
  EXPECT_EQ(far.err, "");
}

TEST(Dispatch, StatusJsonKeepsStdoutPureJson) {
  FakeLink link;
  proto::StatusReply reply;
  reply.processes = {Process("web", proto::ProcessState::kRunning, 4242),
                     Process("api", proto::ProcessState::kFatal)};
  reply.unknown_names = {"nope"};
  link.reply = proto::Encode(reply);

  Outcome r = RunIt({"status", "--json"}, link);
  EXPECT_EQ(r.exit_code, kExitNoSuchProcess);
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["name"], "web");
  EXPECT_EQ(j[1]["state"], "FATAL");
  EXPECT_EQ(r.err, "nope: ERROR (no such process)\n");

  reply.unknown_names.clear();
  link.reply = proto::Encode(reply);
  EXPECT_EQ(RunIt({"status"}, link, /*json=*/true).exit_code, kExitNotRunning);
}

TEST(Dispatch, StatusAllRunningIsZero) {
  FakeLink link;
  proto::StatusReply reply;
  reply.processes = {Process("web", proto::ProcessState::kRunning, 1)};
  link.reply = proto::Encode(reply);
  EXPECT_EQ(RunIt({"status"}, link).exit_code, kExitOk);
}

TEST(Dispatch, StartPrintsOneLinePerResult) {
  FakeLink link;
  proto::ActionReply reply;
  reply.results = {Result("web"), Result("api", ErrorCode::kSpawnError)};
  link.reply = proto::Encode(reply);

  Outcome r = RunIt({"start", "web", "api"}, link);
  EXPECT_EQ(r.exit_code, kExitFailure);
  EXPECT_EQ(r.out, "web: started\napi: ERROR (spawn error)\n");
  ASSERT_EQ(link.requests.size(), 1u);
  EXPECT_EQ(link.requests[0].type, MessageType::kStart);
  proto::ActionRequest request;
  ASSERT_TRUE(proto::Decode(link.requests[0].payload, &request));
  EXPECT_EQ(request.names, (Words{"web", "api"}));
  EXPECT_EQ(request.signal, 0);
}

TEST(Dispatch, StopRestartSignal) {
  FakeLink link;
  proto::ActionReply reply;
  reply.results = {Result("web")};
  link.reply = proto::Encode(reply);

  EXPECT_EQ(RunIt({"stop", "all"}, link).out, "web: stopped\n");
  EXPECT_EQ(link.requests.back().type, MessageType::kStop);
  Outcome restart = RunIt({"restart", "web"}, link);
  EXPECT_EQ(restart.out, "web: stopped\nweb: started\n");
  EXPECT_EQ(restart.exit_code, kExitOk);
  EXPECT_EQ(link.requests.back().type, MessageType::kRestart);

  EXPECT_EQ(RunIt({"signal", "SIGHUP", "web"}, link).out, "web: signalled\n");
  EXPECT_EQ(link.requests.back().type, MessageType::kSignal);
  proto::ActionRequest request;
  ASSERT_TRUE(proto::Decode(link.requests.back().payload, &request));
  EXPECT_EQ(request.signal, SIGHUP);
  EXPECT_EQ(request.names, (Words{"web"}));
}

TEST(Dispatch, ActionJson) {
  FakeLink link;
  proto::ActionReply reply;
  reply.results = {Result("nope", ErrorCode::kNotFound)};
  link.reply = proto::Encode(reply);
  Outcome r = RunIt({"stop", "nope", "--json"}, link);
  EXPECT_EQ(r.exit_code, kExitNoSuchProcess);
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j[0]["error"], "no such process");
}

TEST(Dispatch, PidOfTheDaemonAndOfAProcess) {
  FakeLink link;
  proto::PidReply reply;
  reply.pid = 77;
  link.reply = proto::Encode(reply);
  Outcome daemon = RunIt({"pid"}, link);
  EXPECT_EQ(daemon.exit_code, kExitOk);
  EXPECT_EQ(daemon.out, "77\n");
  proto::PidRequest request;
  ASSERT_TRUE(proto::Decode(link.requests.back().payload, &request));
  EXPECT_EQ(request.name, "");

  Outcome web = RunIt({"pid", "web"}, link, /*json=*/true);
  EXPECT_EQ(nlohmann::json::parse(web.out), (nlohmann::json{{"name", "web"}, {"pid", 77}}));
  ASSERT_TRUE(proto::Decode(link.requests.back().payload, &request));
  EXPECT_EQ(request.name, "web");

  reply.pid = 0;
  link.reply = proto::Encode(reply);
  Outcome stopped = RunIt({"pid", "web"}, link);
  // Nothing on stdout, so that `kill $(wardenctl pid web)` cannot become `kill 0`.
  EXPECT_EQ(stopped.out, "");
  EXPECT_EQ(stopped.err, "wardenctl: web is not running\n");
  EXPECT_EQ(stopped.exit_code, kExitFailure);
}

TEST(Dispatch, PidOfAnUnknownProcess) {
  FakeLink link;
  link.reply = Status(ErrorCode::kNotFound, "pid: ERROR (no such process: nope)");
  Outcome r = RunIt({"pid", "nope"}, link);
  EXPECT_EQ(r.exit_code, kExitNoSuchProcess);
  EXPECT_EQ(r.out, "nope: ERROR (no such process)\n");
}

TEST(Dispatch, CannotConnect) {
  FakeLink link;
  link.reply = Status(ErrorCode::kIo,
                      "cannot connect to /x.sock: No such file or directory (is wardend running?)");
  for (const Words& words : {Words{"status"}, Words{"start", "web"}, Words{"shutdown"}}) {
    Outcome r = RunIt(words, link);
    EXPECT_EQ(r.exit_code, kExitFailure);
    EXPECT_EQ(r.err,
              "wardenctl: cannot connect to /x.sock: No such file or directory (is wardend "
              "running?)\n");
  }
  Outcome version = RunIt({"version"}, link);
  EXPECT_EQ(version.exit_code, kExitFailure);
  EXPECT_EQ(version.out, "wardenctl " WARDEN_VERSION "\n");  // the client's own still prints
}

TEST(Dispatch, ErrorReplyForTheWholeRequest) {
  FakeLink link;
  link.reply = Status(ErrorCode::kShuttingDown, "start: ERROR (shutting down)");
  Outcome r = RunIt({"start", "web"}, link);
  EXPECT_EQ(r.exit_code, kExitFailure);
  EXPECT_EQ(r.err, "wardenctl: start: ERROR (shutting down)\n");
}

TEST(Dispatch, MalformedReply) {
  FakeLink link;
  link.reply = std::vector<uint8_t>{0, 0, 0, 9};  // a count with nothing behind it
  Outcome r = RunIt({"status"}, link);
  EXPECT_EQ(r.exit_code, kExitFailure);
  EXPECT_EQ(r.err, "wardenctl: bad reply from wardend: malformed status reply\n");
}

TEST(Dispatch, VersionAndShutdown) {
  FakeLink link;
  proto::VersionReply version;
  version.version = "9.8.7";
  link.reply = proto::Encode(version);
  Outcome r = RunIt({"version"}, link);
  EXPECT_EQ(r.exit_code, kExitOk);
  EXPECT_EQ(r.out, "wardenctl " WARDEN_VERSION "\nwardend 9.8.7\n");
  EXPECT_EQ(link.requests.back().type, MessageType::kVersion);

  link.reply = std::vector<uint8_t>{};
  Outcome down = RunIt({"shutdown"}, link);
  EXPECT_EQ(down.exit_code, kExitOk);
  EXPECT_EQ(down.out, "Shut down\n");
  EXPECT_EQ(link.requests.back().type, MessageType::kShutdown);
}

TEST(Dispatch, HelpNeedsNoDaemon) {
  FakeLink link;
  Outcome overview = RunIt({"help"}, link);
  EXPECT_EQ(overview.exit_code, kExitOk);
  EXPECT_EQ(overview.out, UsageText());
  Outcome one = RunIt({"start", "--help"}, link);
  EXPECT_EQ(one.out, CommandHelp(SpecFor(CommandKind::kStart)));
  Outcome topic = RunIt({"help", "pid"}, link);
  EXPECT_EQ(topic.out, CommandHelp(SpecFor(CommandKind::kPid)));
  EXPECT_TRUE(link.requests.empty());
}

TEST(Dispatch, UsageErrorsExitTwoWithoutCallingTheDaemon) {
  FakeLink link;
  Outcome missing = RunIt({"start"}, link);
  EXPECT_EQ(missing.exit_code, kExitUsage);
  EXPECT_EQ(missing.err,
            "wardenctl: start: no process name given (use 'all' for every process)\n"
            "usage: wardenctl start NAME...|all\n");
  Outcome typo = RunIt({"stauts"}, link);
  EXPECT_EQ(typo.exit_code, kExitUsage);
  EXPECT_EQ(typo.err.substr(0, typo.err.find('\n')),
            "wardenctl: unknown command 'stauts' (did you mean 'status'?)");
  EXPECT_TRUE(link.requests.empty());
}

// REEXEC: the reply, then the old image's connection ends, then the new image answers VERSION.
class ReexecLink : public DaemonLink {
 public:
  ::warden::Result<std::vector<uint8_t>> Call(MessageType type,
                                              const std::vector<uint8_t>&) override {
    types.push_back(type);
    if (type == MessageType::kReexec) {
      if (refusal) return *refusal;
      return std::vector<uint8_t>{};
    }
    if (after_reexec++ == 0) return Status(ErrorCode::kIo, "connection closed by wardend");
    proto::VersionReply version;
    version.version = "9.8.7";
    return proto::Encode(version);
  }
  std::vector<MessageType> types;
  std::optional<Status> refusal;
  int after_reexec = 0;
};

TEST(Dispatch, ReexecWaitsForTheNewImage) {
  ReexecLink link;
  std::ostringstream out, err;
  EXPECT_EQ(RunWords({"reexec"}, false, link, out, err), kExitOk);
  EXPECT_EQ(out.str(), "Re-executed: wardend 9.8.7\n");
  EXPECT_EQ(link.types, (std::vector<MessageType>{MessageType::kReexec, MessageType::kVersion,
                                                  MessageType::kVersion}));
}

TEST(Dispatch, ReexecRefusalIsAFailureWithTheReason) {
  ReexecLink link;
  link.refusal = Status(ErrorCode::kConfig, "reexec: /etc/warden/warden.yaml differs");
  std::ostringstream out, err;
  EXPECT_EQ(RunWords({"reexec"}, false, link, out, err), kExitFailure);
  EXPECT_NE(err.str().find("differs"), std::string::npos);
  EXPECT_EQ(link.types.size(), 1u);
}

TEST(Dispatch, ReloadSendsAnEmptyPayloadAndUpdateItsNames) {
  // docs/protocol.md: RELOAD is empty; UPDATE carries an ActionRequest (names, signal 0).
  FakeLink link;
  link.reply = proto::Encode(proto::ActionReply{});
  RunIt({"reload"}, link);
  ASSERT_EQ(link.requests.size(), 1u);
  EXPECT_EQ(link.requests[0].type, MessageType::kReload);
  EXPECT_TRUE(link.requests[0].payload.empty());

  RunIt({"update", "web"}, link);
  ASSERT_EQ(link.requests.size(), 2u);
  EXPECT_EQ(link.requests[1].type, MessageType::kUpdate);
  proto::ActionRequest request;
  ASSERT_TRUE(proto::Decode(link.requests[1].payload, &request));
  EXPECT_EQ(request.names, Words{"web"});
  EXPECT_EQ(request.signal, 0);
}

}  // namespace
}  // namespace warden::ctl
