#include "proto/messages.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "proto/wire.h"

namespace warden::proto {
namespace {

using Bytes = std::vector<uint8_t>;

// --- comparison helpers (the structs have no operator==; the API is theirs, not ours) -------

void ExpectSame(const ProcessInfo& a, const ProcessInfo& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.group, b.group);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.pid, b.pid);
  EXPECT_EQ(a.kernel_state, b.kernel_state);
  EXPECT_EQ(a.start_time_ms, b.start_time_ms);
  EXPECT_EQ(a.stop_time_ms, b.stop_time_ms);
  EXPECT_EQ(a.uptime_ms, b.uptime_ms);
  EXPECT_EQ(a.restarts, b.restarts);
  EXPECT_EQ(a.exit_kind, b.exit_kind);
  EXPECT_EQ(a.exit_value, b.exit_value);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.cpu_time_ms, b.cpu_time_ms);
  EXPECT_EQ(a.rss_bytes, b.rss_bytes);
  ASSERT_EQ(a.children.size(), b.children.size());
  for (size_t i = 0; i < a.children.size(); ++i) {
    EXPECT_EQ(a.children[i].pid, b.children[i].pid);
    EXPECT_EQ(a.children[i].kernel_state, b.children[i].kernel_state);
  }
  EXPECT_EQ(a.status_text, b.status_text);
  EXPECT_EQ(a.retry_in_ms, b.retry_in_ms);
  EXPECT_EQ(a.health, b.health);
}

void ExpectSame(const StatusReply& a, const StatusReply& b) {
  ASSERT_EQ(a.processes.size(), b.processes.size());
  for (size_t i = 0; i < a.processes.size(); ++i) ExpectSame(a.processes[i], b.processes[i]);
  EXPECT_EQ(a.unknown_names, b.unknown_names);
}

void ExpectSame(const ActionReply& a, const ActionReply& b) {
  ASSERT_EQ(a.results.size(), b.results.size());
  for (size_t i = 0; i < a.results.size(); ++i) {
    EXPECT_EQ(a.results[i].name, b.results[i].name);
    EXPECT_EQ(a.results[i].code, b.results[i].code);
    EXPECT_EQ(a.results[i].message, b.results[i].message);
  }
}

template <typename T>
T RoundTrip(const T& in) {
  T out;
  EXPECT_TRUE(Decode(Encode(in), &out));
  return out;
}

ProcessInfo SampleProcess() {
  ProcessInfo p;
  p.name = "web_01";
  p.group = "web";
  p.state = ProcessState::kRunning;
  p.pid = 4242;
  p.kernel_state = 'S';
  p.start_time_ms = 1700000000123;
  p.stop_time_ms = -1;  // negative must survive
  p.uptime_ms = 62000;
  p.restarts = 3;
  p.exit_kind = ExitKind::kSignaled;
  p.exit_value = 9;
  p.reason = "Exited too quickly (process log may have details)";
  p.cpu_time_ms = 0xFFFFFFFFFFFFull;
  p.rss_bytes = 12681216;
  p.children = {{4243, 'Z'}, {4244, 'R'}, {std::numeric_limits<int32_t>::max(), 0}};
  p.status_text = "Listening on :8080";
  p.retry_in_ms = 4000;
  p.health = "unhealthy 1/3: tcp port 5432: Connection refused";
  return p;
}

StatusReply SampleStatusReply() {
  StatusReply r;
  r.processes.push_back(SampleProcess());
  ProcessInfo stopped;
  stopped.name = "db";
  stopped.group = "db";
  stopped.state = ProcessState::kFatal;
  stopped.reason = "spawn error: execve: No such file or directory";
  r.processes.push_back(stopped);
  r.unknown_names = {"nope", "gr\xC3\xBCn:*"};
  return r;
}

ActionReply SampleActionReply() {
  ActionReply r;
  r.results.push_back({"web:web_00", ErrorCode::kOk, ""});
  r.results.push_back({"ghost", ErrorCode::kNotFound, "no such process"});
  r.results.push_back({"db", ErrorCode::kSpawnError, "chdir failed: /srv/db"});
  return r;
}

// --- ProcessStateName --------------------------------------------------------------------------

TEST(ProcessStateNameTest, NamesEveryState) {
  EXPECT_STREQ(ProcessStateName(ProcessState::kStopped), "STOPPED");
  EXPECT_STREQ(ProcessStateName(ProcessState::kStarting), "STARTING");
  EXPECT_STREQ(ProcessStateName(ProcessState::kRunning), "RUNNING");
  EXPECT_STREQ(ProcessStateName(ProcessState::kBackoff), "BACKOFF");
  EXPECT_STREQ(ProcessStateName(ProcessState::kStopping), "STOPPING");
  EXPECT_STREQ(ProcessStateName(ProcessState::kExited), "EXITED");
  EXPECT_STREQ(ProcessStateName(ProcessState::kFatal), "FATAL");
  EXPECT_STREQ(ProcessStateName(ProcessState::kUnknown), "UNKNOWN");
  EXPECT_STREQ(ProcessStateName(static_cast<ProcessState>(7)), "UNKNOWN");
}

TEST(MessageTypeTest, RepliesSetTheHighBit) {
  EXPECT_EQ(static_cast<uint16_t>(MessageType::kStatusReply), 0x8002);
  EXPECT_EQ(static_cast<uint16_t>(MessageType::kShutdownReply), 0x8009);
  EXPECT_EQ(static_cast<uint16_t>(MessageType::kError), 0x7FFF);
}

// --- Exact bytes -------------------------------------------------------------------------------

TEST(MessageBytesTest, HelloRequestLayout) {
  HelloRequest m;
  m.min_version = 1;
  m.max_version = 1;
  m.client = "ctl";
  EXPECT_EQ(Encode(m), (Bytes{0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 'c', 't', 'l'}));
}

TEST(MessageBytesTest, ErrorReplyLayout) {
  const Bytes got = Encode(ErrorReply{ErrorCode::kUnknownMessage, "no"});
  EXPECT_EQ(got, (Bytes{0x00, 0x08, 0x00, 0x00, 0x00, 0x02, 'n', 'o'}));
}

TEST(MessageBytesTest, ActionRequestLayout) {
  ActionRequest m;
  m.names = {"a", "bc"};
  m.signal = 15;
  EXPECT_EQ(Encode(m), (Bytes{0, 0, 0, 2,            // count
                              0, 0, 0, 1, 'a',       // "a"
                              0, 0, 0, 2, 'b', 'c',  // "bc"
                              0, 0, 0, 15}));        // signal
}

TEST(MessageBytesTest, ActionReplyLayoutUsesRecords) {
  ActionReply m;
  m.results.push_back({"w", ErrorCode::kNotRunning, ""});
  EXPECT_EQ(Encode(m), (Bytes{0, 0, 0, 1,       // count
                              0, 0, 0, 11,      // record length
                              0, 0, 0, 1, 'w',  // name
                              0, 4,             // code: kNotRunning
                              0, 0, 0, 0}));    // message ""
}

TEST(MessageBytesTest, StatusReplyLayout) {
  StatusReply m;
  ProcessInfo p;
  p.name = "a";
  p.group = "a";
  p.state = ProcessState::kRunning;
  p.pid = 0x01020304;
  p.kernel_state = 'S';
  p.start_time_ms = 1;
  p.stop_time_ms = 2;
  p.uptime_ms = 3;
  p.restarts = 4;
  p.exit_kind = ExitKind::kExited;
  p.exit_value = -1;
  p.reason = "";
  p.cpu_time_ms = 5;
  p.rss_bytes = 6;
  p.children = {{7, 'Z'}};
  p.status_text = "up";
  p.retry_in_ms = 8;
  m.processes.push_back(p);
  m.unknown_names = {"x"};
  const Bytes want = {
      0x00, 0x00, 0x00, 0x01,                          // process count
      0x00, 0x00, 0x00, 0x65,                          // record length
      0x00, 0x00, 0x00, 0x01, 'a',                     // name
      0x00, 0x00, 0x00, 0x01, 'a',                     // group
      0x00, 0x14,                                      // state RUNNING
      0x01, 0x02, 0x03, 0x04,                          // pid
      'S',                                             // kernel_state
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  // start_time_ms
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,  // stop_time_ms
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,  // uptime_ms
      0x00, 0x00, 0x00, 0x04,                          // restarts
      0x01,                                            // exit_kind: exited
      0xFF, 0xFF, 0xFF, 0xFF,                          // exit_value -1
      0x00, 0x00, 0x00, 0x00,                          // reason ""
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,  // cpu_time_ms
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06,  // rss_bytes
      0x00, 0x00, 0x00, 0x01,                          // child count
      0x00, 0x00, 0x00, 0x05,                          // child record length
      0x00, 0x00, 0x00, 0x07,                          // child pid
      'Z',                                             // child kernel_state
      0x00, 0x00, 0x00, 0x02, 'u',  'p',               // status_text (appended)
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08,  // retry_in_ms (appended)
      0x00, 0x00, 0x00, 0x00,                          // health "" (appended)
      0x00, 0x00, 0x00, 0x01,                          // unknown name count
      0x00, 0x00, 0x00, 0x01, 'x',                     // "x"
  };
  EXPECT_EQ(Encode(m), want);
}

// A version-1 record stops after the children: the appended fields read as empty and 0.
// A one-process StatusReply with the last `n` bytes of its record cut out and the record's
// length fixed, as an older daemon would have sent it.
Bytes CutFromRecordEnd(Bytes bytes, size_t n) {
  const size_t record_end = bytes.size() - 4;  // before the empty unknown-name list
  bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(record_end - n),
              bytes.begin() + static_cast<std::ptrdiff_t>(record_end));
  const uint32_t length =
      (uint32_t{bytes[4]} << 24 | uint32_t{bytes[5]} << 16 | uint32_t{bytes[6]} << 8 | bytes[7]) -
      static_cast<uint32_t>(n);
  bytes[4] = static_cast<uint8_t>(length >> 24);
  bytes[5] = static_cast<uint8_t>(length >> 16);
  bytes[6] = static_cast<uint8_t>(length >> 8);
  bytes[7] = static_cast<uint8_t>(length);
  return bytes;
}

TEST(MessageBytesTest, ProcessInfoWithoutAppendedFieldsDecodes) {
  ProcessInfo p = SampleProcess();
  StatusReply m;
  m.processes.push_back(p);
  // Without the appended fields (status_text: 4 + 18 bytes, retry_in_ms: 8, health).
  const size_t health = 4 + p.health.size();
  StatusReply out;
  ASSERT_TRUE(Decode(CutFromRecordEnd(Encode(m), 4 + p.status_text.size() + 8 + health), &out));
  ASSERT_EQ(out.processes.size(), 1u);
  EXPECT_EQ(out.processes[0].children.size(), 3u);
  EXPECT_EQ(out.processes[0].status_text, "");
  EXPECT_EQ(out.processes[0].retry_in_ms, 0u);
  EXPECT_EQ(out.processes[0].health, "");
  // Each appended field may be the end: without retry_in_ms and health.
  ASSERT_TRUE(Decode(CutFromRecordEnd(Encode(m), 8 + health), &out));
  EXPECT_EQ(out.processes[0].status_text, p.status_text);
  EXPECT_EQ(out.processes[0].retry_in_ms, 0u);
  // Without health only.
  ASSERT_TRUE(Decode(CutFromRecordEnd(Encode(m), health), &out));
  EXPECT_EQ(out.processes[0].retry_in_ms, p.retry_in_ms);
  EXPECT_EQ(out.processes[0].health, "");
  // Inside a field it may not.
  EXPECT_FALSE(Decode(CutFromRecordEnd(Encode(m), 3), &out));
}

// DecodeStatusReply into a StatusReply, to compare with Decode.
bool DecodeStreamed(const Bytes& payload, StatusReply* out) {
  StatusReply r;
  if (!DecodeStatusReply(
          payload, [&r](const ProcessInfo& p) { r.processes.push_back(p); }, &r.unknown_names)) {
    return false;
  }
  *out = std::move(r);
  return true;
}

TEST(MessageBytesTest, StreamedStatusReplyMatchesDecode) {
  // A record with the appended fields, then one without them (an older daemon's): the reused
  // ProcessInfo must not carry the first one's status_text into the second.
  ProcessInfo p = SampleProcess();
  StatusReply one;
  one.processes.push_back(p);
  const Bytes full = Encode(one);
  Bytes old = full;
  const size_t appended = 4 + p.status_text.size() + 8 + 4 + p.health.size();
  old.erase(old.end() - 4 - static_cast<std::ptrdiff_t>(appended), old.end() - 4);
  const uint32_t length =
      (uint32_t{old[4]} << 24 | uint32_t{old[5]} << 16 | uint32_t{old[6]} << 8 | old[7]) -
      static_cast<uint32_t>(appended);
  Writer w;
  w.U32(2);
  Bytes payload = w.Take();
  payload.insert(payload.end(), full.begin() + 4, full.end() - 4);
  payload.insert(payload.end(),
                 {static_cast<uint8_t>(length >> 24), static_cast<uint8_t>(length >> 16),
                  static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)});
  payload.insert(payload.end(), old.begin() + 8, old.end() - 4);
  payload.insert(payload.end(), {0, 0, 0, 1, 0, 0, 0, 4, 'n', 'o', 'p', 'e'});

  StatusReply decoded;
  ASSERT_TRUE(Decode(payload, &decoded));
  ASSERT_EQ(decoded.processes.size(), 2u);
  EXPECT_EQ(decoded.processes[1].status_text, "");
  StatusReply streamed;
  ASSERT_TRUE(DecodeStreamed(payload, &streamed));
  ExpectSame(streamed, decoded);

  ASSERT_TRUE(DecodeStreamed(Encode(SampleStatusReply()), &streamed));
  ExpectSame(streamed, SampleStatusReply());
}

TEST(DamagedPayloadTest, StreamedStatusReplyRefusesEveryProperPrefix) {
  const Bytes payload = Encode(SampleStatusReply());
  StatusReply out;
  for (size_t n = 0; n < payload.size(); ++n) {
    const Bytes prefix(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(DecodeStreamed(prefix, &out)) << "prefix " << n;
  }
}

TEST(MessageBytesTest, SmallFixedMessages) {
  EXPECT_EQ(Encode(PidReply{-2}), (Bytes{0xFF, 0xFF, 0xFF, 0xFE}));
  EXPECT_EQ(Encode(PidRequest{""}), (Bytes{0, 0, 0, 0}));
  EXPECT_EQ(Encode(VersionReply{"0.1"}), (Bytes{0, 0, 0, 3, '0', '.', '1'}));
  EXPECT_EQ(Encode(StatusRequest{}), (Bytes{0, 0, 0, 0}));
  HelloReply h;
  h.version = 1;
  h.server = "d";
  h.daemon_pid = 0x10;
  EXPECT_EQ(Encode(h), (Bytes{0, 1, 0, 0, 0, 1, 'd', 0, 0, 0, 0x10}));
}

// --- Round trips -------------------------------------------------------------------------------

TEST(RoundTripTest, Hello) {
  HelloRequest req;
  req.min_version = 1;
  req.max_version = 7;
  req.client = "wardenctl 0.1.0 \xF0\x9F\x90\x95";
  const HelloRequest r1 = RoundTrip(req);
  EXPECT_EQ(r1.min_version, 1);
  EXPECT_EQ(r1.max_version, 7);
  EXPECT_EQ(r1.client, req.client);

  HelloReply rep;
  rep.version = 1;
  rep.server = "wardend 0.1.0";
  rep.daemon_pid = 0xFFFFFFFF;
  const HelloReply r2 = RoundTrip(rep);
  EXPECT_EQ(r2.version, 1);
  EXPECT_EQ(r2.server, "wardend 0.1.0");
  EXPECT_EQ(r2.daemon_pid, 0xFFFFFFFFu);
}

TEST(RoundTripTest, Error) {
  const ErrorReply r = RoundTrip(ErrorReply{ErrorCode::kBusy, "too many clients (max 64)"});
  EXPECT_EQ(r.code, ErrorCode::kBusy);
  EXPECT_EQ(r.message, "too many clients (max 64)");
  // A code from a newer daemon survives as its number.
  const ErrorReply future = RoundTrip(ErrorReply{static_cast<ErrorCode>(999), ""});
  EXPECT_EQ(static_cast<uint16_t>(future.code), 999);
}

TEST(RoundTripTest, StatusRequest) {
  EXPECT_TRUE(RoundTrip(StatusRequest{}).names.empty());
  StatusRequest m;
  m.names = {"web", "web:*", "web:web_00", "all", "", "caf\xC3\xA9"};
  EXPECT_EQ(RoundTrip(m).names, m.names);
}

TEST(RoundTripTest, StatusReply) {
  const StatusReply m = SampleStatusReply();
  ExpectSame(RoundTrip(m), m);
}

TEST(RoundTripTest, EmptyStatusReply) {
  StatusReply out;
  out.unknown_names = {"stale"};
  ASSERT_TRUE(Decode(Encode(StatusReply{}), &out));
  EXPECT_TRUE(out.processes.empty());
  EXPECT_TRUE(out.unknown_names.empty());
}

TEST(RoundTripTest, LargeStatusReply) {
  StatusReply m;
  for (int i = 0; i < 2000; ++i) {
    ProcessInfo p = SampleProcess();
    p.name = "worker_" + std::to_string(i);
    p.group = "workers";
    p.pid = i;
    p.children.resize(static_cast<size_t>(i % 5), ChildProcess{i, 'S'});
    m.processes.push_back(p);
  }
  for (int i = 0; i < 500; ++i) m.unknown_names.push_back("missing" + std::to_string(i));
  const Bytes payload = Encode(m);
  EXPECT_LT(payload.size(), 1u << 20);
  StatusReply out;
  ASSERT_TRUE(Decode(payload, &out));
  ExpectSame(out, m);
}

TEST(RoundTripTest, Actions) {
  ActionRequest req;
  req.names = {"web", "db"};
  req.signal = 10;
  const ActionRequest r1 = RoundTrip(req);
  EXPECT_EQ(r1.names, req.names);
  EXPECT_EQ(r1.signal, 10);
  EXPECT_TRUE(RoundTrip(ActionRequest{}).names.empty());

  const ActionReply rep = SampleActionReply();
  ExpectSame(RoundTrip(rep), rep);
  EXPECT_TRUE(RoundTrip(ActionReply{}).results.empty());
}

TEST(RoundTripTest, LargeActionLists) {
  ActionRequest req;
  ActionReply rep;
  for (int i = 0; i < 10000; ++i) {
    req.names.push_back("p" + std::to_string(i));
    rep.results.push_back({"p" + std::to_string(i), ErrorCode::kAlreadyStarted, "already"});
  }
  EXPECT_EQ(RoundTrip(req).names, req.names);
  ExpectSame(RoundTrip(rep), rep);
}

TEST(RoundTripTest, PidAndVersion) {
  EXPECT_EQ(RoundTrip(PidRequest{"web:web_00"}).name, "web:web_00");
  EXPECT_EQ(RoundTrip(PidRequest{}).name, "");
  EXPECT_EQ(RoundTrip(PidReply{123456}).pid, 123456);
  EXPECT_EQ(RoundTrip(PidReply{0}).pid, 0);
  EXPECT_EQ(RoundTrip(VersionReply{"0.1.0"}).version, "0.1.0");
  EXPECT_EQ(RoundTrip(VersionReply{std::string(100000, 'v')}).version, std::string(100000, 'v'));
}

// --- Damaged payloads --------------------------------------------------------------------------

// Each message type as a sample payload plus a function that decodes bytes into that type
// and, on success, encodes the result again.
struct Case {
  const char* name;
  Bytes payload;
  std::function<std::optional<Bytes>(const Bytes&)> reencode;
  bool has_records;  // records may carry skipped bytes, so re-encoding can be shorter

  bool decode(const Bytes& b) const { return reencode(b).has_value(); }
};

template <typename T>
std::function<std::optional<Bytes>(const Bytes&)> Decoder() {
  return [](const Bytes& b) -> std::optional<Bytes> {
    T m;
    if (!Decode(b, &m)) return std::nullopt;
    return Encode(m);
  };
}

std::vector<Case> AllCases() {
  HelloRequest hreq;
  hreq.client = "wardenctl";
  HelloReply hrep;
  hrep.server = "wardend";
  hrep.daemon_pid = 1;
  StatusRequest sreq;
  sreq.names = {"web", "db"};
  ActionRequest areq;
  areq.names = {"web"};
  areq.signal = 1;
  return {
      {"HelloRequest", Encode(hreq), Decoder<HelloRequest>(), false},
      {"HelloReply", Encode(hrep), Decoder<HelloReply>(), false},
      {"ErrorReply", Encode(ErrorReply{ErrorCode::kProtocol, "bad magic"}), Decoder<ErrorReply>(),
       false},
      {"StatusRequest", Encode(sreq), Decoder<StatusRequest>(), false},
      {"StatusReply", Encode(SampleStatusReply()), Decoder<StatusReply>(), true},
      {"ActionRequest", Encode(areq), Decoder<ActionRequest>(), false},
      {"ActionReply", Encode(SampleActionReply()), Decoder<ActionReply>(), true},
      {"PidRequest", Encode(PidRequest{"web"}), Decoder<PidRequest>(), false},
      {"PidReply", Encode(PidReply{77}), Decoder<PidReply>(), false},
      {"VersionReply", Encode(VersionReply{"0.1.0"}), Decoder<VersionReply>(), false},
  };
}

TEST(DamagedPayloadTest, EveryProperPrefixIsRefused) {
  for (const Case& c : AllCases()) {
    ASSERT_TRUE(c.decode(c.payload)) << c.name;
    // Every field is mandatory in version 1, so any prefix shorter than the whole must fail.
    for (size_t n = 0; n < c.payload.size(); ++n) {
      const Bytes prefix(c.payload.begin(), c.payload.begin() + static_cast<std::ptrdiff_t>(n));
      EXPECT_FALSE(c.decode(prefix)) << c.name << " prefix " << n;
    }
  }
}

TEST(DamagedPayloadTest, TrailingBytesAreIgnored) {
  for (const Case& c : AllCases()) {
    Bytes longer = c.payload;
    longer.insert(longer.end(), {0xDE, 0xAD, 0xBE, 0xEF, 0x00});
    EXPECT_TRUE(c.decode(longer)) << c.name;
  }
}

TEST(DamagedPayloadTest, FieldsAppendedToARecordAreSkipped) {
  // A later version appends a field to ActionResult; this version still reads the list.
  Writer w;
  w.U32(2);
  for (const char* name : {"a", "b"}) {
    Writer rec;
    rec.Str(name);
    rec.U16(0);
    rec.Str("");
    rec.U64(0x1122334455667788ull);  // the "new" field
    const Bytes& rb = rec.bytes();
    w.Str(std::string_view(reinterpret_cast<const char*>(rb.data()), rb.size()));
  }
  ActionReply out;
  ASSERT_TRUE(Decode(w.bytes(), &out));
  ASSERT_EQ(out.results.size(), 2u);
  EXPECT_EQ(out.results[0].name, "a");
  EXPECT_EQ(out.results[1].name, "b");
}

TEST(DamagedPayloadTest, RecordShorterThanItsFieldsIsRefused) {
  // The record claims 3 bytes but an ActionResult needs at least 10.
  const Bytes b = {0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  ActionReply out;
  EXPECT_FALSE(Decode(b, &out));
}

TEST(DamagedPayloadTest, HugeListCountsAreRefused) {
  const Bytes huge = {0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0};
  StatusRequest sreq;
  EXPECT_FALSE(Decode(huge, &sreq));
  StatusReply srep;
  EXPECT_FALSE(Decode(huge, &srep));
  ActionRequest areq;
  EXPECT_FALSE(Decode(huge, &areq));
  ActionReply arep;
  EXPECT_FALSE(Decode(huge, &arep));

  // unknown_names count after an empty process list.
  const Bytes names = {0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0};
  EXPECT_FALSE(Decode(names, &srep));
}

TEST(DamagedPayloadTest, HugeChildCountIsRefused) {
  StatusReply m;
  m.processes.push_back(SampleProcess());
  m.processes[0].children.clear();
  Bytes b = Encode(m);
  // Layout: count(4) record_len(4) ... child_count(4) status_text(4+n) retry_in_ms(8)
  // unknown_count(4): the child count comes before the appended fields.
  const size_t appended =
      4 + m.processes[0].status_text.size() + 8 + 4 + m.processes[0].health.size();
  const size_t child_count_at = b.size() - 8 - appended;
  ASSERT_EQ(b[child_count_at + 3], 0);
  for (size_t i = 0; i < 4; ++i) b[child_count_at + i] = 0xFF;
  StatusReply out;
  EXPECT_FALSE(Decode(b, &out));
}

TEST(DamagedPayloadTest, FailedDecodeLeavesOutputUntouched) {
  StatusRequest m;
  m.names = {"keep"};
  const Bytes bad = {0, 0, 0, 2, 0, 0, 0, 1, 'x'};  // second string missing
  EXPECT_FALSE(Decode(bad, &m));
  EXPECT_EQ(m.names, std::vector<std::string>{"keep"});
}

TEST(Utf8PayloadTest, RequestStringsMustBeUtf8) {
  // A STATUS request naming "w\xFF" (not UTF-8): refused, and the decoder says why.
  const Bytes status = {0, 0, 0, 1, 0, 0, 0, 2, 'w', 0xFF};
  StatusRequest s;
  ReadError why = ReadError::kNone;
  EXPECT_FALSE(Decode(status, &s, &why));
  EXPECT_EQ(why, ReadError::kNotUtf8);

  const Bytes action = {0, 0, 0, 1, 0, 0, 0, 1, 0xC0, 0, 0, 0, 0};
  ActionRequest a;
  why = ReadError::kNone;
  EXPECT_FALSE(Decode(action, &a, &why));
  EXPECT_EQ(why, ReadError::kNotUtf8);

  const Bytes pid = {0, 0, 0, 3, 0xED, 0xA0, 0x80};  // a surrogate
  PidRequest p;
  EXPECT_FALSE(Decode(pid, &p, &why));
  EXPECT_EQ(why, ReadError::kNotUtf8);

  const Bytes hello = {0, 1, 0, 1, 0, 0, 0, 1, 0x80};
  HelloRequest h;
  EXPECT_FALSE(Decode(hello, &h, &why));
  EXPECT_EQ(why, ReadError::kNotUtf8);

  // Short payloads are told apart from bad text.
  EXPECT_FALSE(Decode(Bytes{0, 0, 0, 1, 0, 0, 0, 5, 'a', 'b'}, &s, &why));
  EXPECT_EQ(why, ReadError::kShort);
  EXPECT_FALSE(Decode(Bytes{0xFF, 0xFF, 0xFF, 0xFF}, &s, &why));
  EXPECT_EQ(why, ReadError::kCount);
}

TEST(Utf8PayloadTest, RepliesCarryOnlyUtf8) {
  // Text that came from elsewhere (a process's STATUS=, a file name) goes out with U+FFFD in
  // place of what is not UTF-8, so a client that checks its strings can read every reply.
  StatusReply m;
  ProcessInfo p;
  p.name = p.group = "web";
  p.reason = "exec /bin/\xFFx: No such file or directory";
  p.status_text = "half a \xE2\x82";
  m.processes.push_back(p);
  StatusReply out;
  ASSERT_TRUE(Decode(Encode(m), &out));
  ASSERT_EQ(out.processes.size(), 1u);
  EXPECT_EQ(out.processes[0].reason, "exec /bin/\xEF\xBF\xBDx: No such file or directory");
  EXPECT_EQ(out.processes[0].status_text, "half a \xEF\xBF\xBD");

  ErrorReply e{ErrorCode::kNotFound, "\xFF: no such process"};
  ErrorReply back;
  ASSERT_TRUE(Decode(Encode(e), &back));
  EXPECT_EQ(back.message, "\xEF\xBF\xBD: no such process");
}

TEST(Utf8PayloadTest, ARecordWithBadTextIsRefused) {
  // An ActionReply whose result names "\xFF": a reader that checks strings refuses it.
  Writer rec;
  rec.Str("\xFF");
  rec.U16(0);
  rec.Str("");
  Writer w;
  w.U32(1);
  w.Str(std::string_view(reinterpret_cast<const char*>(rec.bytes().data()), rec.bytes().size()));
  ActionReply reply;
  EXPECT_FALSE(Decode(w.bytes(), &reply));
}

TEST(DamagedPayloadTest, UnknownEnumValuesSurvive) {
  StatusReply m;
  ProcessInfo p;
  p.name = p.group = "x";
  p.state = static_cast<ProcessState>(555);
  p.exit_kind = static_cast<ExitKind>(9);
  m.processes.push_back(p);
  const StatusReply out = RoundTrip(m);
  ASSERT_EQ(out.processes.size(), 1u);
  EXPECT_EQ(static_cast<uint16_t>(out.processes[0].state), 555);
  EXPECT_STREQ(ProcessStateName(out.processes[0].state), "UNKNOWN");
  EXPECT_EQ(static_cast<uint8_t>(out.processes[0].exit_kind), 9);
}

// Whatever a decoder accepts must be a message: encoding it again and decoding that gives the
// same bytes, and (without records, which may hide skipped bytes) those bytes are a prefix of
// the input.
void CheckAccepted(const Case& c, const Bytes& input) {
  const std::optional<Bytes> again = c.reencode(input);
  if (!again) return;
  const std::optional<Bytes> twice = c.reencode(*again);
  ASSERT_TRUE(twice.has_value()) << c.name;
  EXPECT_EQ(*twice, *again) << c.name;
  EXPECT_LE(again->size(), input.size()) << c.name;
  if (!c.has_records) {
    EXPECT_TRUE(std::equal(again->begin(), again->end(), input.begin())) << c.name;
  }
}

TEST(DamagedPayloadTest, RandomGarbageNeverCrashes) {
  const std::vector<Case> cases = AllCases();
  std::mt19937 rng(424242);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> len(0, 96);
  int accepted = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    Bytes junk(len(rng));
    for (auto& b : junk) b = static_cast<uint8_t>(byte(rng));
    // Small counts and lengths reach deeper into the decoders than random ones.
    if (iter % 3 == 0 && junk.size() >= 4) junk[0] = junk[1] = junk[2] = 0;
    for (const Case& c : cases) {
      accepted += c.decode(junk) ? 1 : 0;
      CheckAccepted(c, junk);
    }
  }
  EXPECT_GT(accepted, 0);  // the generator does reach the success paths
}

TEST(DamagedPayloadTest, MutatedPayloadsNeverCrash) {
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> byte(0, 255);
  int rejected = 0;
  for (const Case& c : AllCases()) {
    std::uniform_int_distribution<size_t> pos(0, c.payload.size() - 1);
    int accepted = 0;
    for (int iter = 0; iter < 500; ++iter) {
      Bytes b = c.payload;
      b[pos(rng)] = static_cast<uint8_t>(byte(rng));
      (c.decode(b) ? accepted : rejected)++;
      CheckAccepted(c, b);
    }
    // A changed byte of a string or a number still decodes: CheckAccepted had work to do.
    EXPECT_GT(accepted, 0) << c.name;
  }
  // A changed count or length does not: the decoders' checks were reached too.
  EXPECT_GT(rejected, 0);
}

TEST(RereadReplyTest, RoundTripAndTruncation) {
  RereadReply m;
  m.changes.push_back(
      {"web", ChangeKind::kChanged, ApplyMode::kNextStart, {"command", "autorestart"}});
  m.changes.push_back({"new", ChangeKind::kAdded, ApplyMode::kLive, {}});
  std::vector<uint8_t> bytes = Encode(m);
  RereadReply out;
  ASSERT_TRUE(Decode(bytes, &out));
  ASSERT_EQ(out.changes.size(), 2u);
  EXPECT_EQ(out.changes[0].name, "web");
  EXPECT_EQ(out.changes[0].kind, ChangeKind::kChanged);
  EXPECT_EQ(out.changes[0].apply, ApplyMode::kNextStart);
  EXPECT_EQ(bytes[4 + 4 + 4 + 3 + 1], 2);  // count, record length, name "web", kind: then apply
  EXPECT_EQ(out.changes[0].keys, (std::vector<std::string>{"command", "autorestart"}));
  EXPECT_EQ(out.changes[1].kind, ChangeKind::kAdded);
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
    RereadReply partial;
    EXPECT_FALSE(Decode(prefix, &partial)) << "prefix of " << n << " bytes";
  }
}

}  // namespace
}  // namespace warden::proto
