#include "ctl/log_commands.h"

#include <charconv>
#include <string_view>
#include <tuple>

#include <nlohmann/json.hpp>

#include "ctl/logs_command.h"
#include "ctl/render.h"
#include "proto/log_messages.h"

namespace warden::ctl {
namespace {

using proto::MessageType;

Status UsageError(std::string message) {
  return Status(ErrorCode::kInvalidArgument, std::move(message));
}

bool ParseCount(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

bool IsLogCommand(CommandKind kind) {
  return kind == CommandKind::kTail || kind == CommandKind::kLogs ||
         kind == CommandKind::kMaintail || kind == CommandKind::kLogRotate ||
         kind == CommandKind::kClear;
}

bool ParseLogOption(const std::vector<std::string>& words, size_t* i, Command* command,
                    Status* error) {
  if (command->kind != CommandKind::kTail && command->kind != CommandKind::kMaintail &&
      command->kind != CommandKind::kLogs) {
    return false;
  }
  const std::string_view arg = words[*i];
  if (arg == "-f" || arg == "--follow") {
    command->follow = true;
    return true;
  }
  // -n N, -nN, --lines N, --lines=N; the same for -c / --bytes.
  for (const auto& [short_name, long_name, bytes] :
       {std::tuple{"-n", "--lines", false}, std::tuple{"-c", "--bytes", true}}) {
    std::string_view value;
    const std::string_view s(short_name), l(long_name);
    if (arg == s || arg == l) {
      if (*i + 1 >= words.size()) {
        *error = UsageError(std::string(arg) + " needs a number");
        return true;
      }
      value = words[++*i];
    } else if (arg.starts_with(s) && !arg.starts_with("--")) {
      value = arg.substr(2);
    } else if (arg.starts_with(std::string(l) + "=")) {
      value = arg.substr(l.size() + 1);
    } else {
      continue;
    }
    if (bytes && command->kind == CommandKind::kLogs) {
      *error = UsageError("counts lines only (-n N), not bytes");
      return true;
    }
    if (!ParseCount(value, &command->tail_count)) {
      *error = UsageError(std::string(s) + ": '" + std::string(value) + "' is not a number of " +
                          (bytes ? "bytes" : "lines"));
      return true;
    }
    command->tail_bytes = bytes;
    return true;
  }
  return false;
}

Status FinishLogCommand(Command* command, std::vector<std::string> args) {
  switch (command->kind) {
    case CommandKind::kTail:
      if (args.empty()) return UsageError("tail: no process name given");
      if (args.size() > 2) return UsageError("tail: takes one process name and a stream");
      if (args.size() == 2) {
        if (args[1] != "stdout" && args[1] != "stderr") {
          return UsageError("tail: the stream is stdout or stderr, not '" + args[1] + "'");
        }
        command->stream = args[1];
      }
      command->names = {args[0]};
      break;
    case CommandKind::kMaintail:
      if (!args.empty()) return UsageError("maintail: takes no process name");
      break;
    case CommandKind::kLogs:
      command->names = std::move(args);
      break;
    case CommandKind::kClear:
      if (args.empty())
        return UsageError("clear: no process name given (use 'all' for every process)");
      command->names = std::move(args);
      break;
    case CommandKind::kLogRotate:
      command->names = std::move(args);
      break;
    default:
      break;
  }
  return Status::Ok();
}

int Tail(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err) {
  if (command.kind == CommandKind::kLogs) return Logs(command, daemon, out, err);
  // tail -f marks each new start of the process in the stream.
  if (command.kind == CommandKind::kTail && command.follow) {
    return FollowWithMarkers(command, daemon, out, err);
  }
  proto::TailRequest request;
  if (command.kind == CommandKind::kTail) request.name = command.names.at(0);
  request.stream =
      command.stream == "stderr" ? proto::LogStream::kStderr : proto::LogStream::kStdout;
  request.unit = command.tail_bytes ? proto::TailUnit::kBytes : proto::TailUnit::kLines;
  request.count = command.tail_count;
  request.follow = command.follow;
  bool malformed = false;
  Status status = daemon.Stream(
      MessageType::kTail, proto::Encode(request), [&](const std::vector<uint8_t>& payload) {
        proto::TailReply reply;
        if (!proto::Decode(payload, &reply)) {
          malformed = true;
          return false;
        }
        out.write(reply.data.data(), static_cast<std::streamsize>(reply.data.size()));
        out.flush();  // -f: a line is shown when it is written
        return reply.more;
      });
  if (malformed) {
    err << "wardenctl: bad reply from wardend: malformed tail reply\n";
    return kExitFailure;
  }
  if (!status.ok()) {
    if (status.code() == ErrorCode::kNotFound && !request.name.empty()) {
      // "web: ERROR (no such process)", or the reason a known process has no such log.
      if (status.message() == request.name + ": no such process") {
        out << NoSuchProcessLine(request.name) << "\n";
        return kExitNoSuchProcess;
      }
    }
    err << "wardenctl: " << status.message() << "\n";
    return status.code() == ErrorCode::kNotFound ? kExitNoSuchProcess : kExitFailure;
  }
  return kExitOk;
}

int LogAction(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err) {
  const MessageType type =
      command.kind == CommandKind::kClear ? MessageType::kClear : MessageType::kLogRotate;
  Result<std::vector<uint8_t>> payload =
      daemon.Call(type, proto::Encode(proto::LogNamesRequest{command.names}));
  if (!payload.ok()) {
    err << "wardenctl: " << payload.status().message() << "\n";
    return kExitFailure;
  }
  proto::ActionReply reply;
  if (!proto::Decode(*payload, &reply)) {
    err << "wardenctl: bad reply from wardend: malformed " << RequestName(type) << " reply\n";
    return kExitFailure;
  }
  if (command.json) {
    out << ActionJson(command.kind, reply).dump(2) << "\n";
  } else {
    for (const std::string& line : ActionLines(command.kind, reply)) out << line << "\n";
  }
  return ActionExitCode(reply);
}

}  // namespace warden::ctl
