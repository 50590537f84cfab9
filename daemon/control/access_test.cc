#include "daemon/control/access.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <type_traits>
#include <variant>

#include "proto/event_messages.h"
#include "proto/log_messages.h"

namespace warden::access {
namespace {

using proto::MessageType;

constexpr uid_t kDaemonUid = 500;

uint16_t T(MessageType t) { return static_cast<uint16_t>(t); }

// What the control server does before the check: decode the payload once into a Request. The
// decision is given with `payload` set to the request re-encoded when the check narrowed its
// names (the server itself never re-encodes: it serves the narrowed Request).
struct Checked : Decision {
  std::optional<std::vector<uint8_t>> payload;
};

template <class T>
bool DecodeBody(const std::vector<uint8_t>& payload, control::Request* request) {
  T body;
  if (!proto::Decode(payload, &body)) return false;
  request->body = std::move(body);
  return true;
}

bool DecodeRequest(uint16_t type, const std::vector<uint8_t>& payload, control::Request* r) {
  r->type = static_cast<MessageType>(type);
  switch (r->type) {
    case MessageType::kStatus:
      return DecodeBody<proto::StatusRequest>(payload, r);
    case MessageType::kStart:
    case MessageType::kStop:
    case MessageType::kRestart:
    case MessageType::kSignal:
    case MessageType::kUpdate:
      return DecodeBody<proto::ActionRequest>(payload, r);
    case MessageType::kPid:
      return DecodeBody<proto::PidRequest>(payload, r);
    case MessageType::kTail:
      return DecodeBody<proto::TailRequest>(payload, r);
    case MessageType::kLogRotate:
    case MessageType::kClear:
      return DecodeBody<proto::LogNamesRequest>(payload, r);
    case MessageType::kEvents:
      return DecodeBody<proto::EventsRequest>(payload, r);
    case MessageType::kWait:
      return DecodeBody<proto::WaitRequest>(payload, r);
    default:
      return true;  // an empty body
  }
}

std::vector<uint8_t> Encode(const control::Request& r) {
  return std::visit(
      [](const auto& body) -> std::vector<uint8_t> {
        if constexpr (std::is_same_v<std::decay_t<decltype(body)>, std::monostate>) {
          return {};
        } else {
          return proto::Encode(body);
        }
      },
      r.body);
}

Checked Check(const Policy& policy, const Peer& peer, const Expander& expand, uint16_t type,
              const std::vector<uint8_t>& payload) {
  control::Request request;
  EXPECT_TRUE(DecodeRequest(type, payload, &request)) << "a test payload must decode";
  const std::vector<uint8_t> before = Encode(request);
  Checked checked{access::Check(policy, peer, expand, request), std::nullopt};
  if (Encode(request) != before) checked.payload = Encode(request);
  return checked;
}

config::Program MakeProgram(std::string name, config::AccessRules access = {}) {
  config::Program p;
  p.name = std::move(name);
  p.command = {"/bin/true"};
  p.access = std::move(access);
  return p;
}

// web: alice may read it. api (numprocs 2): group 2000 may control it. db: nothing of its own.
// Everywhere: group 3000 may read, uid 1010 may control. Groups: backend = api + db.
config::Config MakeConfig() {
  config::Config c;
  c.warden.access.read.groups = {3000};
  c.warden.access.control.users = {1010};
  config::AccessRules web;
  web.read.users = {1001};
  config::AccessRules api;
  api.control.groups = {2000};
  c.programs = {MakeProgram("web", web), MakeProgram("api", api), MakeProgram("db")};
  c.groups.push_back(config::Group{"backend", {}, {"api", "db"}});
  return c;
}

Peer MakePeer(uid_t uid, gid_t gid, std::vector<gid_t> groups = {}, std::string user = "") {
  Peer p;
  p.uid = uid;
  p.gid = gid;
  p.groups = std::move(groups);
  p.user = std::move(user);
  p.looked_up = true;
  return p;
}

const Peer kRoot = MakePeer(0, 0);
const Peer kDaemonUser = MakePeer(kDaemonUid, 77);
const Peer kAlice = MakePeer(1001, 1001, {1001}, "alice");      // reads web
const Peer kBob = MakePeer(1002, 1002, {1002, 2000}, "bob");    // controls api (group)
const Peer kCarol = MakePeer(1003, 1003, {3000}, "carol");      // reads everything (group)
const Peer kDave = MakePeer(1010, 1010, {}, "dave");            // controls everything
const Peer kMallory = MakePeer(1666, 1666, {1666}, "mallory");  // nothing
const Peer kNobodyKnown = MakePeer(4242, 4242);                 // no passwd entry

// The processes: web, api:api_00, api:api_01, db, resolved as Supervisor::Resolve does.
Expansion Expand(const std::vector<std::string>& names) {
  const std::vector<Expansion::Target> all = {
      {"web", "web"}, {"api:api_00", "api"}, {"api:api_01", "api"}, {"db", "db"}};
  Expansion e;
  if (names.empty()) {
    e.targets = all;
    return e;
  }
  for (const std::string& name : names) {
    bool matched = false;
    for (const auto& t : all) {
      if (name == "all" || name == t.full_name || name == t.program || name == t.program + ":*") {
        e.targets.push_back(t);
        matched = true;
      }
    }
    if (!matched) e.unknown.push_back(name);
  }
  return e;
}

class AccessTest : public ::testing::Test {
 protected:
  Checked Run(const Peer& peer, MessageType type, const std::vector<uint8_t>& payload = {}) {
    return Check(policy_, peer, Expand, T(type), payload);
  }
  static std::vector<uint8_t> Action(std::vector<std::string> names, int32_t signal = 0) {
    return proto::Encode(proto::ActionRequest{std::move(names), signal});
  }
  static std::vector<uint8_t> StatusOf(std::vector<std::string> names) {
    return proto::Encode(proto::StatusRequest{std::move(names)});
  }
  static std::vector<std::string> ActionNames(const Checked& d) {
    proto::ActionRequest request;
    EXPECT_TRUE(d.payload.has_value());
    if (d.payload) {
      EXPECT_TRUE(proto::Decode(*d.payload, &request));
    }
    return request.names;
  }
  static std::vector<std::string> RefusedNames(const Decision& d) {
    std::vector<std::string> names;
    for (const auto& r : d.refused) {
      EXPECT_EQ(r.code, ErrorCode::kPermissionDenied);
      names.push_back(r.name);
    }
    return names;
  }
  static void ExpectUntouched(const Checked& d) {
    EXPECT_TRUE(d.allowed) << d.message;
    EXPECT_FALSE(d.payload.has_value());
    EXPECT_TRUE(d.refused.empty());
  }

  config::Config config_ = MakeConfig();
  Policy policy_{kDaemonUid, config_};
};

TEST_F(AccessTest, RootAndTheDaemonsOwnUserMayDoEverything) {
  for (const Peer& peer : {kRoot, kDaemonUser}) {
    EXPECT_TRUE(policy_.Trusted(peer));
    ExpectUntouched(Run(peer, MessageType::kShutdown));
    ExpectUntouched(Run(peer, MessageType::kStop, Action({"all"})));
    ExpectUntouched(Check(policy_, peer, Expand, 0x0777, {}));  // unknown types too
  }
  EXPECT_FALSE(policy_.Trusted(kAlice));
}

TEST_F(AccessTest, WithoutAnyRuleNothingButHelloIsAllowed) {
  config::Config empty = MakeConfig();
  empty.warden.access = {};
  for (auto& p : empty.programs) p.access = {};
  const Policy policy(kDaemonUid, empty);
  ExpectUntouched(Check(policy, kAlice, Expand, T(MessageType::kHello), {}));
  for (MessageType t : {MessageType::kVersion, MessageType::kReread, MessageType::kShutdown,
                        MessageType::kReload}) {
    EXPECT_FALSE(Check(policy, kAlice, Expand, T(t), {}).allowed) << T(t);
  }
  Checked d = Check(policy, kAlice, Expand, T(MessageType::kStatus), StatusOf({}));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.message,
            "uid 1001 (alice) may not read the status of web, api:api_00, "
            "api:api_01 and 1 more");
}

TEST_F(AccessTest, RefusalNamesThePeerAndWhatWasRefused) {
  Checked d = Run(kAlice, MessageType::kStop, Action({"web"}));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.message, "uid 1001 (alice) may not stop web");
  d = Run(kNobodyKnown, MessageType::kShutdown);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.message, "uid 4242 may not shut down wardend");
  d = Run(kMallory, MessageType::kRestart, Action({"web", "db"}));
  EXPECT_EQ(d.message, "uid 1666 (mallory) may not restart web and db");
}

TEST_F(AccessTest, ProgramReadRightShowsOnlyThatProgramInStatus) {
  Checked d = Run(kAlice, MessageType::kStatus, StatusOf({}));
  ASSERT_TRUE(d.allowed) << d.message;
  ASSERT_TRUE(d.payload.has_value());
  proto::StatusRequest request;
  ASSERT_TRUE(proto::Decode(*d.payload, &request));
  EXPECT_EQ(request.names, std::vector<std::string>{"web"});
  EXPECT_TRUE(d.refused.empty()) << "STATUS leaves them out, it does not report them";

  ExpectUntouched(Run(kAlice, MessageType::kStatus, StatusOf({"web"})));
  EXPECT_FALSE(Run(kAlice, MessageType::kStatus, StatusOf({"db"})).allowed);
  // A name that matches nothing is the handler's to report.
  ExpectUntouched(Run(kAlice, MessageType::kStatus, StatusOf({"nosuch"})));
}

TEST_F(AccessTest, GlobalReadRightReadsEverythingButControlsNothing) {
  ExpectUntouched(Run(kCarol, MessageType::kStatus, StatusOf({})));
  ExpectUntouched(Run(kCarol, MessageType::kReread));
  ExpectUntouched(Run(kCarol, MessageType::kVersion));
  ExpectUntouched(Run(kCarol, MessageType::kPid, proto::Encode(proto::PidRequest{"db"})));
  ExpectUntouched(Run(kCarol, MessageType::kTail, proto::Encode(proto::TailRequest{})));
  for (MessageType t : {MessageType::kStart, MessageType::kStop, MessageType::kRestart}) {
    EXPECT_FALSE(Run(kCarol, t, Action({"web"})).allowed);
  }
  EXPECT_FALSE(Run(kCarol, MessageType::kSignal, Action({"web"}, 15)).allowed);
  Checked d = Run(kCarol, MessageType::kShutdown);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.message, "uid 1003 (carol) may not shut down wardend");
  EXPECT_FALSE(Run(kCarol, MessageType::kReload).allowed);
  EXPECT_FALSE(Run(kCarol, MessageType::kUpdate, Action({})).allowed);
}

TEST_F(AccessTest, GroupControlRightOnOneProgramIsCarriedOutInPart) {
  ExpectUntouched(Run(kBob, MessageType::kStop, Action({"api"})));
  ExpectUntouched(Run(kBob, MessageType::kStop, Action({"api:api_01"})));
  ExpectUntouched(Run(kBob, MessageType::kStatus, StatusOf({"api"})));  // control implies read

  Checked d = Run(kBob, MessageType::kStop, Action({"all"}));
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(ActionNames(d), (std::vector<std::string>{"api:api_00", "api:api_01"}));
  EXPECT_EQ(RefusedNames(d), (std::vector<std::string>{"web", "db"}));
  EXPECT_EQ(d.refused[0].message, "uid 1002 (bob) may not stop web");

  // No names means every process: never passed on as an empty list.
  d = Run(kBob, MessageType::kStart, Action({}));
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(ActionNames(d), (std::vector<std::string>{"api:api_00", "api:api_01"}));

  // A name that is wholly allowed is kept as written; unknown names go on to be reported.
  d = Run(kBob, MessageType::kRestart, Action({"api:*", "web", "nosuch"}));
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(ActionNames(d), (std::vector<std::string>{"api:*", "nosuch"}));
  EXPECT_EQ(RefusedNames(d), std::vector<std::string>{"web"});
}

TEST_F(AccessTest, SignalKeepsItsNumberWhenNamesAreDropped) {
  Checked d = Run(kBob, MessageType::kSignal, Action({"web", "api"}, 10));
  ASSERT_TRUE(d.allowed && d.payload);
  proto::ActionRequest request;
  ASSERT_TRUE(proto::Decode(*d.payload, &request));
  EXPECT_EQ(request.signal, 10);
  EXPECT_EQ(request.names, std::vector<std::string>{"api"});
}

TEST_F(AccessTest, PrimaryGidFromTheSocketCounts) {
  const Peer setgid_peer = MakePeer(1500, 2000);  // no passwd groups, but gid 2000
  ExpectUntouched(Run(setgid_peer, MessageType::kStop, Action({"api"})));
  EXPECT_FALSE(Run(setgid_peer, MessageType::kStop, Action({"db"})).allowed);
}

TEST_F(AccessTest, GlobalControlUserMayDoEverything) {
  ExpectUntouched(Run(kDave, MessageType::kStop, Action({"all"})));
  ExpectUntouched(Run(kDave, MessageType::kShutdown));
  ExpectUntouched(Run(kDave, MessageType::kReload));
  ExpectUntouched(Run(kDave, MessageType::kUpdate, Action({})));
  ExpectUntouched(Run(kDave, MessageType::kStatus, StatusOf({})));
  ExpectUntouched(Run(kDave, MessageType::kTail, proto::Encode(proto::TailRequest{})));
}

TEST_F(AccessTest, PidAndVersion) {
  // The daemon's pid and version: anyone with a read right anywhere.
  ExpectUntouched(Run(kAlice, MessageType::kPid, proto::Encode(proto::PidRequest{""})));
  ExpectUntouched(Run(kAlice, MessageType::kVersion));
  ExpectUntouched(Run(kAlice, MessageType::kPid, proto::Encode(proto::PidRequest{"web"})));
  Checked d = Run(kAlice, MessageType::kPid, proto::Encode(proto::PidRequest{"db"}));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.message, "uid 1001 (alice) may not read the pid of db");
  EXPECT_FALSE(Run(kMallory, MessageType::kVersion).allowed);
  EXPECT_FALSE(Run(kMallory, MessageType::kPid, proto::Encode(proto::PidRequest{""})).allowed);
}

TEST_F(AccessTest, TailOfAProgramAndOfWardendItself) {
  proto::TailRequest web;
  web.name = "web";
  ExpectUntouched(Run(kAlice, MessageType::kTail, proto::Encode(web)));
  proto::TailRequest db;
  db.name = "db";
  EXPECT_FALSE(Run(kAlice, MessageType::kTail, proto::Encode(db)).allowed);
  // wardend's own log speaks of every program: warden.access only.
  Checked d = Run(kAlice, MessageType::kTail, proto::Encode(proto::TailRequest{}));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.message, "uid 1001 (alice) may not read the log of wardend");
}

TEST_F(AccessTest, LogRotateAndClearAreControlPerProcess) {
  Checked d = Run(kBob, MessageType::kClear, proto::Encode(proto::LogNamesRequest{{"web", "api"}}));
  ASSERT_TRUE(d.allowed && d.payload);
  proto::LogNamesRequest request;
  ASSERT_TRUE(proto::Decode(*d.payload, &request));
  EXPECT_EQ(request.names, std::vector<std::string>{"api"});
  EXPECT_EQ(RefusedNames(d), std::vector<std::string>{"web"});
  EXPECT_FALSE(
      Run(kAlice, MessageType::kLogRotate, proto::Encode(proto::LogNamesRequest{{"web"}})).allowed);
}

TEST_F(AccessTest, EventsShowOnlyWhatThePeerMayRead) {
  auto names_of = [](const Checked& d) {
    proto::EventsRequest request;
    EXPECT_TRUE(d.payload.has_value());
    if (d.payload) {
      EXPECT_TRUE(proto::Decode(*d.payload, &request));
    }
    return request.names;
  };
  Checked d = Run(kAlice, MessageType::kEvents, proto::Encode(proto::EventsRequest{}));
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(names_of(d), std::vector<std::string>{"web"});
  EXPECT_TRUE(d.refused.empty());
  // Everything, but only through program rules: by name, so programs added later stay hidden.
  config::Config per_program = MakeConfig();
  per_program.warden.access = {};
  for (auto& p : per_program.programs) p.access.read.users = {1001};
  const Policy policy(kDaemonUid, per_program);
  d = Check(policy, kAlice, Expand, T(MessageType::kEvents), proto::Encode(proto::EventsRequest{}));
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(names_of(d), (std::vector<std::string>{"web", "api:api_00", "api:api_01", "db"}));
  // warden.access read: everything, later programs included.
  ExpectUntouched(Run(kCarol, MessageType::kEvents, proto::Encode(proto::EventsRequest{})));
  EXPECT_FALSE(Run(kMallory, MessageType::kEvents, proto::Encode(proto::EventsRequest{})).allowed);
}

TEST_F(AccessTest, WaitIsAllOrNothing) {
  proto::WaitRequest wait;
  wait.names = {"web"};
  ExpectUntouched(Run(kAlice, MessageType::kWait, proto::Encode(wait)));
  wait.names = {"web", "db"};
  Checked d = Run(kAlice, MessageType::kWait, proto::Encode(wait));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.message, "uid 1001 (alice) may not wait for db");
}

TEST_F(AccessTest, UpdateByProgramAndGroupName) {
  ExpectUntouched(Run(kBob, MessageType::kUpdate, Action({"api"})));
  Checked d = Run(kBob, MessageType::kUpdate, Action({"api", "web"}));
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(ActionNames(d), std::vector<std::string>{"api"});
  EXPECT_EQ(RefusedNames(d), std::vector<std::string>{"web"});
  EXPECT_EQ(d.refused[0].message, "uid 1002 (bob) may not update web");
  // A group whose members are not all allowed: its allowed members instead.
  d = Run(kBob, MessageType::kUpdate, Action({"backend"}));
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(ActionNames(d), std::vector<std::string>{"api"});
  EXPECT_EQ(RefusedNames(d), std::vector<std::string>{"db"});
  // A name the config in force does not know (a program being added): only warden.access.
  d = Run(kBob, MessageType::kUpdate, Action({"newprog"}));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.message, "uid 1002 (bob) may not update newprog");
  ExpectUntouched(Run(kDave, MessageType::kUpdate, Action({"newprog"})));
  d = Run(kBob, MessageType::kUpdate, Action({}));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.message, "uid 1002 (bob) may not update every program");
}

TEST_F(AccessTest, UnknownTypesNeedControlOfWardendItself) {
  Checked d = Check(policy_, kCarol, Expand, 0x0777, {});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.message, "uid 1003 (carol) may not send message type 1911");
  ExpectUntouched(Check(policy_, kDave, Expand, 0x0777, {}));
  // Reply types are not requests: the server answers them as unknown messages, to anyone.
  ExpectUntouched(Run(kMallory, MessageType::kStatusReply));
}

// A request whose body does not carry the names its type needs (a decoding mistake in the
// server) is refused, never carried out unchecked.
TEST_F(AccessTest, ARequestWithoutItsNamesIsRefused) {
  for (MessageType t :
       {MessageType::kStop, MessageType::kStatus, MessageType::kPid, MessageType::kUpdate}) {
    control::Request request;
    request.type = t;
    EXPECT_FALSE(access::Check(policy_, kMallory, Expand, request).allowed) << T(t);
    EXPECT_TRUE(access::Check(policy_, kRoot, Expand, request).allowed) << T(t);
  }
}

TEST_F(AccessTest, DescribeNamesUidAndUser) {
  EXPECT_EQ(kAlice.Describe(), "uid 1001 (alice)");
  EXPECT_EQ(kNobodyKnown.Describe(), "uid 4242");
}

}  // namespace
}  // namespace warden::access
