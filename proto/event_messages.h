// The lifecycle messages of protocol version 1 (types 0x0020-0x002F): EVENTS, a subscription to
// state changes, and WAIT, which answers once processes are in a given state. docs/protocol.md,
// "Events", is their byte-by-byte description.
//
// EVENTS is answered by one or more EVENTS replies with the request's id, as TAIL is: the first
// (`snapshot` = 1) gives the state each process is in now (from == to), every later one
// (`snapshot` = 0) carries state changes as they happen, for as long as the connection is open.
// The client ends the stream by closing the connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/messages.h"

namespace warden::proto {

// One state change of one process (or, in a snapshot, its state now: from == to).
struct StateEvent {
  int64_t time_ms = 0;  // Unix time in ms when it happened
  std::string process;  // full name: "web", "webapps:web_00"
  ProcessState from = ProcessState::kStopped;
  ProcessState to = ProcessState::kStopped;
  int32_t pid = 0;     // the process in the new state, or the one that just ended; 0: none
  std::string reason;  // why (exit status, spawn error, "Stopped", ...); may be empty
};

// NAME arguments as STATUS takes them; empty: every process, including ones added later.
struct EventsRequest {
  std::vector<std::string> names;
};

struct EventsReply {
  bool snapshot = false;  // the first reply: the current state of each process covered
  std::vector<StateEvent> events;
};

// Waits until every process `names` matches is in `state` at once. timeout_ms 0: no timeout.
// Answered by WaitReply (the processes, now in the state), or ERROR NOT_FOUND (a name matches
// nothing), TIMEOUT, INVALID_ARGUMENT (a state number that does not exist).
struct WaitRequest {
  std::vector<std::string> names;
  ProcessState state = ProcessState::kRunning;
  uint32_t timeout_ms = 0;
};

struct WaitReply {
  std::vector<StateEvent> processes;  // from == to == the state waited for
};

std::vector<uint8_t> Encode(const EventsRequest& m);
std::vector<uint8_t> Encode(const EventsReply& m);
std::vector<uint8_t> Encode(const WaitRequest& m);
std::vector<uint8_t> Encode(const WaitReply& m);

bool Decode(const std::vector<uint8_t>& payload, EventsRequest* m, ReadError* why = nullptr);
bool Decode(const std::vector<uint8_t>& payload, EventsReply* m);
bool Decode(const std::vector<uint8_t>& payload, WaitRequest* m, ReadError* why = nullptr);
bool Decode(const std::vector<uint8_t>& payload, WaitReply* m);

// Whether `state` is one of the states this version names.
bool IsKnownState(ProcessState state);
// "RUNNING" (any case) -> kRunning; nullopt for anything else.
std::optional<ProcessState> ParseProcessState(std::string_view name);

}  // namespace warden::proto
