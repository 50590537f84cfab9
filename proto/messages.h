// The messages of protocol version 1 and their payload codecs. docs/protocol.md is the byte-by-
// byte description of every one of them; keep the two in step.
//
// Each request type has a reply type equal to (type | kReplyBit) with the same request id. Any
// request can instead be answered by kError. A decoder reads its fields in order and ignores
// bytes after the last field it knows, so later versions can append fields.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "proto/wire.h"

namespace warden::proto {

inline constexpr uint16_t kReplyBit = 0x8000;

enum class MessageType : uint16_t {
  kHello = 1,  // must be the first request on a connection
  kStatus = 2,
  kStart = 3,
  kStop = 4,
  kRestart = 5,
  kSignal = 6,
  kPid = 7,
  kVersion = 8,
  kShutdown = 9,
  kShow = 10,  // PidRequest (one process's name) -> ShowReply

  kError = 0x7FFF,  // a reply: the request failed as a whole
  kPart = 0x7FFE,   // a piece of a reply over kMaxPayload (frame.h, EncodeReplyFrames)

  kHelloReply = kHello | kReplyBit,
  kStatusReply = kStatus | kReplyBit,
  kStartReply = kStart | kReplyBit,
  kStopReply = kStop | kReplyBit,
  kRestartReply = kRestart | kReplyBit,
  kSignalReply = kSignal | kReplyBit,
  kPidReply = kPid | kReplyBit,
  kVersionReply = kVersion | kReplyBit,
  kShutdownReply = kShutdown | kReplyBit,
  kShowReply = kShow | kReplyBit,

  // Program logs (0x10-0x1F); payloads in proto/log_messages.h.
  kTail = 0x10,       // TailRequest -> one or more TailReply (a stream when following)
  kLogRotate = 0x11,  // LogNamesRequest -> ActionReply (reopen the log files)
  kClear = 0x12,      // LogNamesRequest -> ActionReply (empty the log files)
  kTailReply = kTail | kReplyBit,
  kLogRotateReply = kLogRotate | kReplyBit,
  kClearReply = kClear | kReplyBit,

  // Lifecycle (0x20-0x2F); payloads in proto/event_messages.h.
  kEvents = 0x20,  // EventsRequest -> EventsReply, then more EventsReply as states change
  kWait = 0x21,    // WaitRequest -> WaitReply once the processes are in the state (or ERROR)
  kEventsReply = kEvents | kReplyBit,
  kWaitReply = kWait | kReplyBit,

  // Configuration changes (0x30-0x3F).
  kReread = 0x30,  // empty request -> RereadReply
  kUpdate = 0x31,  // ActionRequest (names; empty = all) -> ActionReply
  kReload = 0x32,  // empty request -> ActionReply (update of everything)
  kRereadReply = kReread | kReplyBit,
  kUpdateReply = kUpdate | kReplyBit,
  kReloadReply = kReload | kReplyBit,

  // wardend itself (0x40-0x4F).
  kReexec = 0x40,  // empty request -> empty REEXEC reply, then wardend re-executes (reexec.h)
  kReexecReply = kReexec | kReplyBit,
};

// Supervisor states, numbered as supervisord numbers them.
enum class ProcessState : uint16_t {
  kStopped = 0,
  kStarting = 10,
  kRunning = 20,
  kBackoff = 30,
  kStopping = 40,
  kExited = 100,
  kFatal = 200,
  kUnknown = 1000,
};
const char* ProcessStateName(ProcessState state);  // "RUNNING", ...

// --- Hello ---------------------------------------------------------------------------------
struct HelloRequest {
  uint16_t min_version = 1;
  uint16_t max_version = 1;
  std::string client;  // free text, e.g. "wardenctl 0.1.0"
};
struct HelloReply {
  uint16_t version = 1;  // the version this connection speaks from now on
  std::string server;    // e.g. "wardend 0.1.0"
  uint32_t daemon_pid = 0;
};

// --- Error ---------------------------------------------------------------------------------
struct ErrorReply {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

// --- Status --------------------------------------------------------------------------------
// names: NAME arguments as the user typed them ("web", "web:*", "web:web_00", "all"); empty
// means every process.
struct StatusRequest {
  std::vector<std::string> names;
};

struct ChildProcess {
  int32_t pid = 0;
  uint8_t kernel_state = 0;  // letter from /proc/PID/stat field 3, 0 when unknown
};

enum class ExitKind : uint8_t { kNone = 0, kExited = 1, kSignaled = 2 };

struct ProcessInfo {
  std::string name;   // process name (web, or web_00 for numprocs > 1)
  std::string group;  // group name (== name for a lone program)
  ProcessState state = ProcessState::kStopped;
  int32_t pid = 0;                       // 0 when no process
  uint8_t kernel_state = 0;              // 0 when no process or unreadable
  int64_t start_time_ms = 0;             // Unix ms of the last spawn, 0 never
  int64_t stop_time_ms = 0;              // Unix ms of the last exit, 0 never
  uint64_t uptime_ms = 0;                // time since spawn while the process lives
  uint32_t restarts = 0;                 // spawns after the first one
  ExitKind exit_kind = ExitKind::kNone;  // how the last process ended
  int32_t exit_value = 0;                // exit code, or signal number
  std::string reason;        // why it is not running: spawn error, "Exited too quickly", ...
  uint64_t cpu_time_ms = 0;  // user + system CPU of the main process
  uint64_t rss_bytes = 0;    // resident set of the main process
  std::vector<ChildProcess> children;  // descendants of the main process, zombies included
  // Appended to the record later than the fields above (absent from older daemons: then
  // empty / 0; docs/protocol.md, section 1).
  std::string status_text;   // the last STATUS= the process sent (ready: notify), while it lives
  uint64_t retry_in_ms = 0;  // BACKOFF: time until the next start attempt
  // RUNNING with a healthcheck: "starting", "healthy", "unhealthy 1/3: DETAIL"; else empty.
  std::string health;

  std::string FullName() const { return group == name ? name : group + ":" + name; }
};

struct StatusReply {
  std::vector<ProcessInfo> processes;
  std::vector<std::string> unknown_names;  // requested names that matched nothing
};

// --- Start / Stop / Restart / Signal ---------------------------------------------------------
// The daemon answers when the outcome is known: start when the process is RUNNING (or failed),
// stop when it is STOPPED.
struct ActionRequest {
  std::vector<std::string> names;
  int32_t signal = 0;  // kSignal only; 0 elsewhere
};

struct ActionResult {
  std::string name;  // full name (group:name or name), or the requested name if unknown
  ErrorCode code = ErrorCode::kOk;
  std::string message;  // empty when ok; otherwise why
};

struct ActionReply {
  std::vector<ActionResult> results;
};

// --- Pid -----------------------------------------------------------------------------------
struct PidRequest {
  std::string name;  // empty: the daemon's own pid
};
struct PidReply {
  int32_t pid = 0;  // 0: the process is not running
};

// --- Show ----------------------------------------------------------------------------------
// One process in detail (wardenctl show): its status, its definition as configured, its log
// files and their last lines. The request is a PidRequest naming one process.
struct LogFileInfo {
  std::string stream;  // "stdout" or "stderr"
  std::string path;    // the file, or where it goes ("journal", "NONE", "/dev/stdout")
  int64_t size = -1;   // bytes; -1 when there is no such file
};
struct ShowReply {
  ProcessInfo process;
  std::vector<std::string> command;
  std::string directory;                 // as configured; empty: wardend's own
  std::string user;                      // as configured; empty: wardend's own
  std::vector<std::string> environment;  // KEY=VALUE as configured, in file order
  std::vector<std::string> env_files;    // env_file paths, "-PATH" when optional
  std::vector<LogFileInfo> logs;
  std::string readiness;    // "startsecs 1s", "notify", "fd:3", "tcp port 8080"
  std::string healthcheck;  // "http://... every 30s, timeout 30s, 3 retries"; empty: none
  double watchdog_sec = 0;  // 0: none
  std::vector<std::string> stdout_tail;  // the last lines of each log (at most 10)
  std::vector<std::string> stderr_tail;
};

// --- Version, Shutdown have empty requests ---------------------------------------------------
struct VersionReply {
  std::string version;
};

// --- Reread ---------------------------------------------------------------------------------
// One program whose definition differs between the config in force and the file on disk.
enum class ChangeKind : uint8_t { kAdded = 1, kRemoved = 2, kChanged = 3 };
// How an UPDATE now would apply a change: what it would report for the program.
enum class ApplyMode : uint8_t {
  kLive = 0,       // supervision keys only: the running processes take them at once
  kRestart = 1,    // process-shaping keys, and some of its processes run: they are restarted
  kNextStart = 2,  // process-shaping keys, and none of its processes runs: at the next start
};
struct ConfigChange {
  std::string name;  // program name
  ChangeKind kind = ChangeKind::kChanged;
  ApplyMode apply = ApplyMode::kLive;  // kChanged; kLive for the other kinds
  std::vector<std::string> keys;       // kChanged: the keys that differ
};
struct RereadReply {
  std::vector<ConfigChange> changes;
};

// Payload codecs. Encode* returns the payload (without header); a string that is not UTF-8 is
// sent with U+FFFD in place of its ill-formed bytes. Decode* returns false when the payload is
// too short, a count is impossible or a string is not UTF-8; trailing bytes are ignored. The
// request decoders also say why (*why), for the daemon's INVALID_ARGUMENT message.
std::vector<uint8_t> Encode(const HelloRequest& m);
std::vector<uint8_t> Encode(const HelloReply& m);
std::vector<uint8_t> Encode(const ErrorReply& m);
std::vector<uint8_t> Encode(const StatusRequest& m);
std::vector<uint8_t> Encode(const StatusReply& m);
std::vector<uint8_t> Encode(const ActionRequest& m);
std::vector<uint8_t> Encode(const ActionReply& m);
std::vector<uint8_t> Encode(const PidRequest& m);
std::vector<uint8_t> Encode(const PidReply& m);
std::vector<uint8_t> Encode(const VersionReply& m);
std::vector<uint8_t> Encode(const RereadReply& m);
std::vector<uint8_t> Encode(const ShowReply& m);

bool Decode(const std::vector<uint8_t>& payload, HelloRequest* m, ReadError* why = nullptr);
bool Decode(const std::vector<uint8_t>& payload, HelloReply* m);
bool Decode(const std::vector<uint8_t>& payload, ErrorReply* m);
bool Decode(const std::vector<uint8_t>& payload, StatusRequest* m, ReadError* why = nullptr);
bool Decode(const std::vector<uint8_t>& payload, StatusReply* m);
// StatusReply one process at a time, for a reader that need not hold them all: calls
// on_process for each in order with one ProcessInfo reused between calls, then fills
// *unknown_names. False for a payload Decode would refuse (possibly after some calls).
bool DecodeStatusReply(const std::vector<uint8_t>& payload,
                       const std::function<void(const ProcessInfo&)>& on_process,
                       std::vector<std::string>* unknown_names);
bool Decode(const std::vector<uint8_t>& payload, ActionRequest* m, ReadError* why = nullptr);
bool Decode(const std::vector<uint8_t>& payload, ActionReply* m);
bool Decode(const std::vector<uint8_t>& payload, PidRequest* m, ReadError* why = nullptr);
bool Decode(const std::vector<uint8_t>& payload, PidReply* m);
bool Decode(const std::vector<uint8_t>& payload, VersionReply* m);
bool Decode(const std::vector<uint8_t>& payload, RereadReply* m);
bool Decode(const std::vector<uint8_t>& payload, ShowReply* m);

}  // namespace warden::proto
