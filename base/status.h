// Errors as values (after leveldb's Status): a small code shared by every layer and by the
// protocol's error reply, plus a human message. Nothing reachable from the daemon's event loop
// throws; functions that can fail return Status or Result<T>.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace warden {

// Wire-stable: these numbers travel in ERROR replies and per-process results. Append only.
enum class ErrorCode : uint16_t {
  kOk = 0,
  kInvalidArgument = 1,      // malformed request or bad value
  kNotFound = 2,             // no such process or group
  kAlreadyStarted = 3,       // start of a process that is already running
  kNotRunning = 4,           // stop/signal of a process that is not running
  kSpawnError = 5,           // the program could not be started
  kAbnormalTermination = 6,  // it started but did not stay up
  kProtocol = 7,             // bad magic, version or frame
  kUnknownMessage = 8,       // a message type this daemon does not know
  kTooLarge = 9,             // declared length over the limit
  kBusy = 10,                // too many clients or a cap reached
  kShuttingDown = 11,        // the daemon is shutting down
  kPermissionDenied = 12,    // the peer may not do this
  kIo = 13,                  // an operating-system call failed
  kConfig = 14,              // the configuration is invalid
  kTimeout = 15,             // an operation did not finish in time
  kInternal = 16,
};

std::string_view ErrorCodeName(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return {}; }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// A value or a Status that says why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT
  Result(ErrorCode code, std::string message) : v_(Status(code, std::move(message))) {}

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

inline std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "ok";
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kNotFound:
      return "no such process";
    case ErrorCode::kAlreadyStarted:
      return "already started";
    case ErrorCode::kNotRunning:
      return "not running";
    case ErrorCode::kSpawnError:
      return "spawn error";
    case ErrorCode::kAbnormalTermination:
      return "abnormal termination";
    case ErrorCode::kProtocol:
      return "protocol error";
    case ErrorCode::kUnknownMessage:
      return "unknown message type";
    case ErrorCode::kTooLarge:
      return "message too large";
    case ErrorCode::kBusy:
      return "busy";
    case ErrorCode::kShuttingDown:
      return "shutting down";
    case ErrorCode::kPermissionDenied:
      return "permission denied";
    case ErrorCode::kIo:
      return "i/o error";
    case ErrorCode::kConfig:
      return "invalid configuration";
    case ErrorCode::kTimeout:
      return "timed out";
    case ErrorCode::kInternal:
      return "internal error";
  }
  return "unknown error";
}

}  // namespace warden
