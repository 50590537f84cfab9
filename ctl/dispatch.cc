#include "ctl/dispatch.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "ctl/config_commands.h"
#include "ctl/event_commands.h"
#include "ctl/log_commands.h"
#include "ctl/render.h"
#include "ctl/show_render.h"

namespace warden::ctl {
namespace {

using proto::MessageType;

int FailureExit(const Status& status) {
  return status.code() == ErrorCode::kNotFound ? kExitNoSuchProcess : kExitFailure;
}

int ReportFailure(const Status& status, std::ostream& err) {
  err << "wardenctl: " << status.message() << "\n";
  return FailureExit(status);
}

int ReportMalformed(MessageType type, std::ostream& err) {
  err << "wardenctl: bad reply from wardend: malformed " << RequestName(type) << " reply\n";
  return kExitFailure;
}

void PrintJson(const nlohmann::ordered_json& value, std::ostream& out) {
  out << value.dump(2) << "\n";
}

MessageType RequestType(CommandKind kind) {
  switch (kind) {
    case CommandKind::kStatus:
      return MessageType::kStatus;
    case CommandKind::kStart:
      return MessageType::kStart;
    case CommandKind::kStop:
      return MessageType::kStop;
    case CommandKind::kRestart:
      return MessageType::kRestart;
    case CommandKind::kSignal:
      return MessageType::kSignal;
    case CommandKind::kPid:
      return MessageType::kPid;
    case CommandKind::kShow:
      return MessageType::kShow;
    case CommandKind::kVersion:
      return MessageType::kVersion;
    case CommandKind::kShutdown:
      return MessageType::kShutdown;
    case CommandKind::kReexec:
      return MessageType::kReexec;
    case CommandKind::kReread:
    case CommandKind::kAvail:
      return MessageType::kReread;
    case CommandKind::kUpdate:
      return MessageType::kUpdate;
    case CommandKind::kReload:
      return MessageType::kReload;
    case CommandKind::kTail:
    case CommandKind::kLogs:
    case CommandKind::kMaintail:
      return MessageType::kTail;
    case CommandKind::kLogRotate:
      return MessageType::kLogRotate;
    case CommandKind::kClear:
      return MessageType::kClear;
    case CommandKind::kEvents:
      return MessageType::kEvents;
    case CommandKind::kWait:
      return MessageType::kWait;
    case CommandKind::kHelp:
    case CommandKind::kCheck:
    case CommandKind::kImportSupervisord:
    case CommandKind::kShell:
      break;
  }
  return MessageType::kError;  // unreachable: help never reaches the daemon
}

// For each name that matched nothing, the nearest name wardend knows (a process, a group as
// "group:*", or "all"), on `err`: "wardenctl: did you mean 'web'?". Asks for the names only when
// a name was unknown; says nothing when wardend cannot answer.
void SuggestNames(const std::vector<std::string>& unknown, DaemonLink& daemon, std::ostream& err) {
  if (unknown.empty()) return;
  Result<std::vector<uint8_t>> payload =
      daemon.Call(MessageType::kStatus, proto::Encode(proto::StatusRequest{}));
  if (!payload.ok()) return;
  std::vector<std::string> names = {"all"};
  std::vector<std::string> none;  // the request named nothing: every process is in the reply
  if (!proto::DecodeStatusReply(
          *payload,
          [&](const proto::ProcessInfo& info) {
            if (info.group == info.name) {
              names.push_back(info.name);
              return;
            }
            names.push_back(info.group + ":" + info.name);
            names.push_back(info.group + ":*");
          },
          &none)) {
    return;
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (const std::string& name : unknown) {
    const std::string suggestion = SuggestName(name, names);
    if (!suggestion.empty()) {
      err << "wardenctl: no process is named '" << name << "' (did you mean '" << suggestion
          << "'?)\n";
    }
  }
}

int Help(const Command& command, std::ostream& out) {
  if (command.help) {
    out << CommandHelp(SpecFor(command.kind));
  } else if (!command.topic.empty()) {
    out << CommandHelp(*FindCommand(command.topic));
  } else {
    out << UsageText();
  }
  return kExitOk;
}

int Status(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err) {
  proto::StatusRequest request;
  request.names = command.names;
  Result<std::vector<uint8_t>> payload = daemon.Call(MessageType::kStatus, proto::Encode(request));
  if (!payload.ok()) return ReportFailure(payload.status(), err);
  if (command.json) {
    proto::StatusReply reply;
    if (!proto::Decode(*payload, &reply)) return ReportMalformed(MessageType::kStatus, err);
    PrintJson(StatusJson(reply.processes), out);
    // stdout stays pure JSON; the names that matched nothing are reported beside it.
    for (const std::string& name : reply.unknown_names) err << NoSuchProcessLine(name) << "\n";
    SuggestNames(reply.unknown_names, daemon, err);
    return StatusExitCode(reply);
  }
  // Text: the reply is decoded twice, one process at a time, instead of into a list of them
  // all (some 230 KB for 1000 processes, each page of it a fault): first for the name column's
  // width, the exit code and the order by name, then to print. A malformed reply is refused by
  // the first pass.
  size_t longest = 0;
  bool all_running = true;
  std::vector<std::string> unknown_names;
  std::vector<std::string> names;  // in the daemon's order
  if (!proto::DecodeStatusReply(
          *payload,
          [&](const proto::ProcessInfo& info) {
            longest = std::max(longest, FullNameSize(info));
            all_running = all_running && info.state == proto::ProcessState::kRunning;
            names.push_back(info.group == info.name ? info.name : info.group + ":" + info.name);
          },
          &unknown_names)) {
    return ReportMalformed(MessageType::kStatus, err);
  }
  // Sorted by full name, as supervisorctl lists them: rank[i] is the place of the i-th process.
  std::vector<size_t> order(names.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return names[a] < names[b]; });
  std::vector<size_t> rank(order.size());
  for (size_t place = 0; place < order.size(); ++place) rank[order[place]] = place;
  // On a terminal too narrow for supervisorctl's name column, a tight one.
  size_t width = NameColumnWidthFor(longest);
  if (command.columns > 0 && command.columns < width + 60) {
    width = TightNameColumnWidth(longest);
  }
  std::vector<std::string> lines(names.size());
  size_t next = 0;
  (void)proto::DecodeStatusReply(
      *payload,
      [&](const proto::ProcessInfo& info) {
        std::string& line = lines[rank[next++]];
        AppendStatusLine(&line, info, width, command.color);
        FitLine(&line, command.columns);
      },
      &unknown_names);
  std::string text;
  text.reserve(names.size() * (width + 80));  // the state column and a description of ~60 bytes
  for (const std::string& line : lines) {
    text += line;
    text += '\n';
  }
  for (const std::string& name : unknown_names) {
    text += NoSuchProcessLine(name);
    text += '\n';
  }
  // One write of the whole text rather than a stream insertion per line.
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.flush();
  SuggestNames(unknown_names, daemon, err);
  return StatusExitCode(!unknown_names.empty(), all_running);
}

int Action(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err) {
  const MessageType type = RequestType(command.kind);
  proto::ActionRequest request;
  request.names = command.names;
  request.signal = command.kind == CommandKind::kSignal ? command.signal : 0;
  Result<std::vector<uint8_t>> payload = daemon.Call(type, proto::Encode(request));
  if (!payload.ok()) return ReportFailure(payload.status(), err);
  proto::ActionReply reply;
  if (!proto::Decode(*payload, &reply)) return ReportMalformed(type, err);
  if (command.json) {
    PrintJson(ActionJson(command.kind, reply), out);
  } else {
    for (const std::string& line : ActionLines(command.kind, reply)) out << line << "\n";
  }
  std::vector<std::string> unknown;
  for (const proto::ActionResult& r : reply.results) {
    if (r.code == ErrorCode::kNotFound) unknown.push_back(r.name);
  }
  out.flush();
  SuggestNames(unknown, daemon, err);
  return ActionExitCode(reply);
}

// The failure of a request about one process (PID, SHOW): "NAME: ERROR (no such process)" on
// stdout with a suggestion, exit 4; anything else as a failure.
int ReportOneProcessFailure(const ::warden::Status& status, const std::string& name,
                            DaemonLink& daemon, std::ostream& out, std::ostream& err) {
  if (status.code() != ErrorCode::kNotFound || name.empty()) return ReportFailure(status, err);
  out << NoSuchProcessLine(name) << "\n";
  out.flush();
  SuggestNames({name}, daemon, err);
  return kExitNoSuchProcess;
}

int Show(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err) {
  proto::PidRequest request;
  request.name = command.names.empty() ? "" : command.names[0];
  Result<std::vector<uint8_t>> payload = daemon.Call(MessageType::kShow, proto::Encode(request));
  if (!payload.ok())
    return ReportOneProcessFailure(payload.status(), request.name, daemon, out, err);
  proto::ShowReply reply;
  if (!proto::Decode(*payload, &reply)) return ReportMalformed(MessageType::kShow, err);
  if (command.json) {
    PrintJson(ShowJson(reply), out);
  } else {
    out << ShowText(reply);
  }
  return 0;
}

int Pid(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err) {
  proto::PidRequest request;
  if (!command.names.empty()) request.name = command.names[0];
  Result<std::vector<uint8_t>> payload = daemon.Call(MessageType::kPid, proto::Encode(request));
  if (!payload.ok())
    return ReportOneProcessFailure(payload.status(), request.name, daemon, out, err);
  proto::PidReply reply;
  if (!proto::Decode(*payload, &reply)) return ReportMalformed(MessageType::kPid, err);
  if (command.json) {
    using Json = nlohmann::ordered_json;
    Json json = Json::object();
    json["name"] = request.name.empty() ? Json(nullptr) : Json(request.name);
    json["pid"] = reply.pid != 0 ? Json(reply.pid) : Json(nullptr);
    PrintJson(json, out);
  } else if (reply.pid != 0) {
    out << reply.pid << "\n";
  } else {
    // Nothing on stdout: `kill $(wardenctl pid web)` must not become `kill 0`, which signals
    // the caller's own process group.
    err << "wardenctl: " << request.name << " is not running\n";
  }
  // As supervisorctl: asking for the pid of a process that is not running is a failure.
  return reply.pid == 0 ? kExitFailure : kExitOk;
}

int Version(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err) {
  const std::string client = WARDEN_VERSION;
  Result<std::vector<uint8_t>> payload = daemon.Call(MessageType::kVersion, {});
  if (!payload.ok()) {
    if (!command.json) out << "wardenctl " << client << "\n";
    return ReportFailure(payload.status(), err);
  }
  proto::VersionReply reply;
  if (!proto::Decode(*payload, &reply)) return ReportMalformed(MessageType::kVersion, err);
  if (command.json) {
    PrintJson(nlohmann::ordered_json{{"wardenctl", client}, {"wardend", reply.version}}, out);
  } else {
    out << "wardenctl " << client << "\n";
    out << (reply.version.starts_with("wardend") ? "" : "wardend ") << reply.version << "\n";
  }
  return kExitOk;
}

int Shutdown(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err) {
  Result<std::vector<uint8_t>> payload = daemon.Call(MessageType::kShutdown, {});
  if (!payload.ok()) return ReportFailure(payload.status(), err);
  if (command.json) {
    PrintJson(nlohmann::ordered_json{{"shutdown", true}}, out);
  } else {
    out << "Shut down\n";
  }
  return kExitOk;
}

// REEXEC: wardend replies, then execve()s; this connection ends with the old image. Waits for
// that, then for the new image to answer on the same socket (docs/protocol.md, REEXEC).
int Reexec(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err) {
  Result<std::vector<uint8_t>> payload = daemon.Call(MessageType::kReexec, {});
  if (!payload.ok()) return ReportFailure(payload.status(), err);
  using Clock = std::chrono::steady_clock;
  const auto gone_by = Clock::now() + std::chrono::seconds(10);
  const auto back_by = Clock::now() + std::chrono::seconds(30);
  bool gone = false;
  while (Clock::now() < (gone ? back_by : gone_by)) {
    Result<std::vector<uint8_t>> reply = daemon.Call(MessageType::kVersion, {});
    if (!reply.ok()) {
      gone = true;  // the old image's connection ended; the next call connects to the new one
      continue;
    }
    if (gone) {
      proto::VersionReply version;
      if (!proto::Decode(*reply, &version)) return ReportMalformed(MessageType::kVersion, err);
      if (command.json) {
        PrintJson(nlohmann::ordered_json{{"reexec", true}, {"wardend", version.version}}, out);
      } else {
        out << "Re-executed: " << (version.version.starts_with("wardend") ? "" : "wardend ")
            << version.version << "\n";
      }
      return kExitOk;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the exec is under way
  }
  err << "wardenctl: reexec: "
      << (gone ? "wardend did not answer after re-executing"
               : "wardend did not re-execute (see wardenctl maintail)")
      << "\n";
  return kExitFailure;
}

}  // namespace

size_t TerminalColumns(int fd) {
  if (isatty(fd) != 1) return 0;
  winsize size{};
  if (ioctl(fd, TIOCGWINSZ, &size) != 0) return 0;
  return size.ws_col;
}

std::optional<Command> ParseOrReport(const std::vector<std::string>& words, bool json,
                                     std::ostream& err) {
  Result<Command> command = ParseCommand(words, json);
  if (command.ok()) return std::move(command).value();
  err << "wardenctl: " << command.status().message() << "\n";
  const CommandSpec* spec = words.empty() ? nullptr : FindCommand(words[0]);
  if (spec != nullptr) {
    err << "usage: wardenctl " << spec->name << (*spec->args ? " " : "") << spec->args << "\n";
  } else {
    err << "run 'wardenctl help' for the list of commands\n";
  }
  return std::nullopt;
}

bool NeedsDaemon(const Command& command) {
  // kShell connects lazily, at its first command.
  return !command.help && command.kind != CommandKind::kHelp &&
         command.kind != CommandKind::kShell && command.kind != CommandKind::kCheck &&
         command.kind != CommandKind::kImportSupervisord;
}

int Execute(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err) {
  if (command.kind == CommandKind::kCheck && !command.help) return Check(command, out, err);
  if (command.kind == CommandKind::kImportSupervisord && !command.help) {
    return ImportSupervisordCommand(command, out, err);
  }
  if (command.kind == CommandKind::kShell && !command.help) {
    // main.cc starts the shell itself; typed inside the shell, there is nothing to start.
    err << "wardenctl: already in the shell\n";
    return kExitUsage;
  }
  if (!NeedsDaemon(command)) return Help(command, out);
  switch (command.kind) {
    case CommandKind::kStatus:
      return Status(command, daemon, out, err);
    case CommandKind::kStart:
    case CommandKind::kStop:
    case CommandKind::kRestart:
    case CommandKind::kSignal:
      return Action(command, daemon, out, err);
    case CommandKind::kPid:
      return Pid(command, daemon, out, err);
    case CommandKind::kShow:
      return Show(command, daemon, out, err);
    case CommandKind::kVersion:
      return Version(command, daemon, out, err);
    case CommandKind::kShutdown:
      return Shutdown(command, daemon, out, err);
    case CommandKind::kReexec:
      return Reexec(command, daemon, out, err);
    case CommandKind::kReread:
      return Reread(command, daemon, out, err);
    case CommandKind::kAvail:
      return Avail(command, daemon, out, err);
    case CommandKind::kUpdate:
    case CommandKind::kReload:
      return Update(command, RequestType(command.kind), daemon, out, err);
    case CommandKind::kTail:
    case CommandKind::kLogs:
    case CommandKind::kMaintail:
      return Tail(command, daemon, out, err);
    case CommandKind::kLogRotate:
    case CommandKind::kClear:
      return LogAction(command, daemon, out, err);
    case CommandKind::kEvents:
      return Events(command, daemon, out, err);
    case CommandKind::kWait:
      return Wait(command, daemon, out, err);
    case CommandKind::kHelp:
    case CommandKind::kCheck:
    case CommandKind::kImportSupervisord:
    case CommandKind::kShell:
      break;
  }
  return Help(command, out);
}

int RunWords(const std::vector<std::string>& words, bool json, DaemonLink& daemon,
             std::ostream& out, std::ostream& err) {
  std::optional<Command> command = ParseOrReport(words, json, err);
  if (!command) return kExitUsage;
  return Execute(*command, daemon, out, err);
}

}  // namespace warden::ctl
