#include "ctl/event_commands.h"

#include <time.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ctl/render.h"

namespace warden::ctl {
namespace {

using proto::MessageType;

Status UsageError(std::string message) {
  return Status(ErrorCode::kInvalidArgument, std::move(message));
}

// Local time with milliseconds: "2026-11-27 19:35:47.475".
std::string LocalTime(int64_t unix_ms) {
  const time_t seconds = static_cast<time_t>(unix_ms / 1000);
  tm local{};
  localtime_r(&seconds, &local);
  char buf[64];
  const size_t n = strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &local);
  std::snprintf(buf + n, sizeof buf - n, ".%03d", static_cast<int>(unix_ms % 1000));
  return buf;
}

}  // namespace

bool IsEventCommand(CommandKind kind) {
  return kind == CommandKind::kEvents || kind == CommandKind::kWait;
}

bool ParseEventOption(const std::vector<std::string>& words, size_t* i, Command* command,
                      Status* error) {
  const std::string_view arg = words[*i];
  if (command->kind == CommandKind::kEvents && arg == "--current") {
    command->events_current = true;
    return true;
  }
  if (command->kind != CommandKind::kWait) return false;
  std::string_view value;
  if (arg == "--timeout" || arg == "-t") {
    if (*i + 1 >= words.size()) {
      *error = UsageError(std::string(arg) + " needs a number of seconds");
      return true;
    }
    value = words[++*i];
  } else if (arg.starts_with("--timeout=")) {
    value = arg.substr(10);
  } else {
    return false;
  }
  double seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || !std::isfinite(seconds) ||
      seconds < 0 || seconds > 4294967.0) {
    *error = UsageError("--timeout: '" + std::string(value) + "' is not a number of seconds");
    return true;
  }
  command->wait_timeout_ms = static_cast<uint32_t>(std::lround(seconds * 1000.0));
  if (seconds > 0 && command->wait_timeout_ms == 0) command->wait_timeout_ms = 1;
  return true;
}

Status FinishEventCommand(Command* command, std::vector<std::string> args) {
  if (command->kind == CommandKind::kEvents) {
    command->names = std::move(args);
    return Status::Ok();
  }
  if (args.size() != 2) return UsageError("wait: takes a process name and a state");
  auto state = proto::ParseProcessState(args[1]);
  if (!state) {
    return UsageError("wait: unknown state '" + args[1] +
                      "' (STOPPED, STARTING, RUNNING, BACKOFF, STOPPING, EXITED, FATAL)");
  }
  command->names = {args[0]};
  command->wait_state = static_cast<uint16_t>(*state);
  return Status::Ok();
}

std::string EventLine(const proto::StateEvent& e) {
  std::string line = LocalTime(e.time_ms) + " " + e.process + " " +
                     proto::ProcessStateName(e.from) + " -> " + proto::ProcessStateName(e.to);
  if (e.pid != 0) line += " pid " + std::to_string(e.pid);
  if (!e.reason.empty()) line += " (" + e.reason + ")";
  return line;
}

std::string EventJson(const proto::StateEvent& e) {
  nlohmann::ordered_json json = {
      {"time", static_cast<double>(e.time_ms) / 1000.0},
      {"process", e.process},
      {"from", proto::ProcessStateName(e.from)},
      {"to", proto::ProcessStateName(e.to)},
      {"pid", e.pid != 0 ? nlohmann::ordered_json(e.pid) : nlohmann::ordered_json(nullptr)},
      {"reason", e.reason},
  };
  return json.dump();
}

int Events(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err) {
  proto::EventsRequest request;
  request.names = command.names;
  bool subscribed = false;
  bool malformed = false;
  Status status = daemon.Stream(MessageType::kEvents, proto::Encode(request),
                                [&](const std::vector<uint8_t>& payload) {
                                  proto::EventsReply reply;
                                  if (!proto::Decode(payload, &reply)) {
                                    malformed = true;
                                    return false;
                                  }
                                  subscribed = true;
                                  // The states now (from == to) only with --current; then the
                                  // changes.
                                  if (reply.snapshot && !command.events_current) return true;
                                  for (const proto::StateEvent& e : reply.events) {
                                    out << (command.json ? EventJson(e) : EventLine(e)) << "\n";
                                  }
                                  out.flush();
                                  return static_cast<bool>(out);  // stdout closed (| head): stop
                                });
  if (malformed) {
    err << "wardenctl: bad reply from wardend: malformed events reply\n";
    return kExitFailure;
  }
  if (!status.ok()) {
    // wardend going away ends the stream; that is no failure of `events`.
    if (subscribed && status.code() == ErrorCode::kIo) return kExitOk;
    if (status.code() == ErrorCode::kNotFound) {
      err << "wardenctl: events: " << status.message() << "\n";
      return kExitNoSuchProcess;
    }
    err << "wardenctl: " << status.message() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

int Wait(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err) {
  proto::WaitRequest request;
  request.names = command.names;
  request.state = static_cast<proto::ProcessState>(command.wait_state);
  request.timeout_ms = command.wait_timeout_ms;
  Result<std::vector<uint8_t>> payload = daemon.Call(MessageType::kWait, proto::Encode(request));
  if (!payload.ok()) {
    const Status& s = payload.status();
    if (s.code() == ErrorCode::kNotFound) {
      out << NoSuchProcessLine(command.names.at(0)) << "\n";
      return kExitNoSuchProcess;
    }
    err << "wardenctl: " << s.message() << "\n";
    return kExitFailure;
  }
  proto::WaitReply reply;
  if (!proto::Decode(*payload, &reply)) {
    err << "wardenctl: bad reply from wardend: malformed wait reply\n";
    return kExitFailure;
  }
  if (command.json) {
    nlohmann::ordered_json array = nlohmann::ordered_json::array();
    for (const proto::StateEvent& e : reply.processes) {
      array.push_back(nlohmann::ordered_json::parse(EventJson(e)));
    }
    out << array.dump(2) << "\n";
  } else {
    for (const proto::StateEvent& e : reply.processes) {
      out << e.process << ": " << proto::ProcessStateName(e.to) << "\n";
    }
  }
  return kExitOk;
}

}  // namespace warden::ctl
