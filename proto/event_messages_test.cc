#include "proto/event_messages.h"

#include <gtest/gtest.h>

namespace warden::proto {
namespace {

using Bytes = std::vector<uint8_t>;

StateEvent Sample() {
  StateEvent e;
  e.time_ms = 1700000000123;
  e.process = "web:web_00";
  e.from = ProcessState::kStarting;
  e.to = ProcessState::kRunning;
  e.pid = 4242;
  e.reason = "";
  return e;
}

void ExpectSame(const StateEvent& a, const StateEvent& b) {
  EXPECT_EQ(a.time_ms, b.time_ms);
  EXPECT_EQ(a.process, b.process);
  EXPECT_EQ(a.from, b.from);
  EXPECT_EQ(a.to, b.to);
  EXPECT_EQ(a.pid, b.pid);
  EXPECT_EQ(a.reason, b.reason);
}

TEST(EventMessagesTest, EventsReplyLayout) {
  EventsReply m;
  m.snapshot = true;
  StateEvent e;
  e.time_ms = 2;
  e.process = "a";
  e.from = ProcessState::kRunning;
  e.to = ProcessState::kExited;
  e.pid = 7;
  e.reason = "x";
  m.events.push_back(e);
  EXPECT_EQ(Encode(m), (Bytes{
                           1,                       // snapshot
                           0, 0, 0, 1,              // event count
                           0, 0, 0, 26,             // record length
                           0, 0, 0, 0, 0, 0, 0, 2,  // time_ms
                           0, 0, 0, 1, 'a',         // process
                           0, 20,                   // from RUNNING
                           0, 100,                  // to EXITED
                           0, 0, 0, 7,              // pid
                           0, 0, 0, 1, 'x',         // reason
                       }));
}

TEST(EventMessagesTest, WaitRequestLayout) {
  WaitRequest m;
  m.names = {"web"};
  m.state = ProcessState::kStopped;
  m.timeout_ms = 1500;
  EXPECT_EQ(Encode(m), (Bytes{0, 0, 0, 1, 0, 0, 0, 3, 'w', 'e', 'b',  // names
                              0, 0,                                  // STOPPED
                              0, 0, 0x05, 0xDC}));                   // 1500 ms
}

TEST(EventMessagesTest, RoundTrips) {
  EventsRequest req;
  req.names = {"all", "web:*"};
  EventsRequest req2;
  ASSERT_TRUE(Decode(Encode(req), &req2));
  EXPECT_EQ(req2.names, req.names);

  EventsReply reply;
  reply.events = {Sample(), Sample()};
  reply.events[1].reason = "exit status 1";
  EventsReply reply2;
  ASSERT_TRUE(Decode(Encode(reply), &reply2));
  EXPECT_FALSE(reply2.snapshot);
  ASSERT_EQ(reply2.events.size(), 2u);
  ExpectSame(reply2.events[0], reply.events[0]);
  ExpectSame(reply2.events[1], reply.events[1]);

  WaitRequest wait;
  wait.names = {"db"};
  wait.state = ProcessState::kFatal;
  wait.timeout_ms = 0;
  WaitRequest wait2;
  ASSERT_TRUE(Decode(Encode(wait), &wait2));
  EXPECT_EQ(wait2.names, wait.names);
  EXPECT_EQ(wait2.state, ProcessState::kFatal);

  WaitReply done;
  done.processes = {Sample()};
  WaitReply done2;
  ASSERT_TRUE(Decode(Encode(done), &done2));
  ASSERT_EQ(done2.processes.size(), 1u);
  ExpectSame(done2.processes[0], done.processes[0]);
}

TEST(EventMessagesTest, TruncatedPayloadsAreRefusedEverywhere) {
  EventsReply reply;
  reply.events = {Sample()};
  const Bytes full = Encode(reply);
  for (size_t n = 0; n < full.size(); ++n) {
    EventsReply out;
    EXPECT_FALSE(Decode(Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n)), &out))
        << n;
  }
  WaitRequest wait;
  wait.names = {"x"};
  const Bytes w = Encode(wait);
  for (size_t n = 0; n < w.size(); ++n) {
    WaitRequest out;
    EXPECT_FALSE(Decode(Bytes(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(n)), &out)) << n;
  }
}

TEST(EventMessagesTest, FieldsAppendedToARecordAreSkipped) {
  EventsReply reply;
  reply.events = {Sample(), Sample()};
  Bytes b = Encode(reply);
  // Grow the first record by two bytes, as a later version appending a field would.
  const size_t len_at = 1 + 4;
  b[len_at + 3] = static_cast<uint8_t>(b[len_at + 3] + 2);
  const size_t record_end = len_at + 4 + (b[len_at + 3] - 2u);
  b.insert(b.begin() + static_cast<std::ptrdiff_t>(record_end), {0xAB, 0xCD});
  EventsReply out;
  ASSERT_TRUE(Decode(b, &out));
  ASSERT_EQ(out.events.size(), 2u);
  ExpectSame(out.events[1], Sample());
}

TEST(EventMessagesTest, HugeCountIsRefusedBeforeAllocating) {
  Bytes b = {0, 0xFF, 0xFF, 0xFF, 0xFF};
  EventsReply out;
  EXPECT_FALSE(Decode(b, &out));
}

TEST(EventMessagesTest, StateNames) {
  EXPECT_EQ(ParseProcessState("running"), ProcessState::kRunning);
  EXPECT_EQ(ParseProcessState("FATAL"), ProcessState::kFatal);
  EXPECT_EQ(ParseProcessState("Stopped"), ProcessState::kStopped);
  EXPECT_FALSE(ParseProcessState("RUN"));
  EXPECT_FALSE(ParseProcessState(""));
  EXPECT_TRUE(IsKnownState(ProcessState::kBackoff));
  EXPECT_FALSE(IsKnownState(static_cast<ProcessState>(7)));
}

TEST(EventMessages, RequestNamesMustBeUtf8) {
  const Bytes events = {0, 0, 0, 1, 0, 0, 0, 1, 0xFF};
  EventsRequest e;
  ReadError why = ReadError::kNone;
  EXPECT_FALSE(Decode(events, &e, &why));
  EXPECT_EQ(why, ReadError::kNotUtf8);
  const Bytes wait = {0, 0, 0, 1, 0, 0, 0, 1, 0xFF, 0, 20, 0, 0, 0, 0};
  WaitRequest w;
  EXPECT_FALSE(Decode(wait, &w, &why));
  EXPECT_EQ(why, ReadError::kNotUtf8);
}

}  // namespace
}  // namespace warden::proto
