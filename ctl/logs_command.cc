#include "ctl/logs_command.h"

#include <errno.h>
#include <poll.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctl/render.h"
#include "proto/event_messages.h"
#include "proto/log_messages.h"

namespace warden::ctl {
namespace {

using proto::MessageType;

const char* StreamWord(proto::LogStream stream) {
  return stream == proto::LogStream::kStderr ? "stderr" : "stdout";
}

// One TAIL stream: a process's stdout or stderr, on a connection of its own.
struct Source {
  std::string process;
  size_t index = 0;  // the process's place, for its colour
  proto::LogStream stream = proto::LogStream::kStdout;
  std::optional<Client> client;
  std::string partial;  // the bytes of a line not finished yet
  bool done = false;
};

// Writes lines, prefixed (text) or as JSON objects, flushing each batch.
class Printer {
 public:
  Printer(std::ostream& out, bool json, bool color, size_t width)
      : out_(out), json_(json), color_(color), width_(width) {}

  // Appends the whole lines of `data` to the source's partial line and prints them.
  void Data(Source& source, std::string_view data) {
    source.partial.append(data);
    size_t start = 0;
    for (size_t nl; (nl = source.partial.find('\n', start)) != std::string::npos; start = nl + 1) {
      Line(source.process, source.index, StreamWord(source.stream),
           std::string_view(source.partial).substr(start, nl - start));
    }
    source.partial.erase(0, start);
  }
  // What is left of a stream that ended without a newline.
  void Flush(Source& source) {
    if (!source.partial.empty())
      Line(source.process, source.index, StreamWord(source.stream), source.partial);
    source.partial.clear();
  }
  void Event(const std::string& process, size_t index, const proto::StateEvent& event) {
    if (json_) {
      nlohmann::ordered_json o = {{"process", process},
                                  {"stream", "event"},
                                  {"line", LifecycleText(event.to, event.pid, event.reason)},
                                  {"state", proto::ProcessStateName(event.to)},
                                  {"pid", event.pid == 0 ? nlohmann::ordered_json(nullptr)
                                                         : nlohmann::ordered_json(event.pid)},
                                  {"reason", event.reason}};
      Write(o);
      return;
    }
    Line(process, index, "event", LifecycleText(event.to, event.pid, event.reason));
  }
  void Commit() { out_.flush(); }

 private:
  void Line(const std::string& process, size_t index, const char* stream, std::string_view text) {
    if (json_) {
      Write({{"process", process}, {"stream", stream}, {"line", text}});
      return;
    }
    std::string line = LinePrefix(process, width_, color_, index);
    line.append(text);
    line.push_back('\n');
    out_.write(line.data(), static_cast<std::streamsize>(line.size()));
  }
  void Write(const nlohmann::ordered_json& o) {
    // Program output need not be UTF-8: invalid bytes become U+FFFD rather than an exception.
    out_ << o.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  }

  std::ostream& out_;
  bool json_;
  bool color_;
  size_t width_;
};

// Waits (forever, or until Ctrl-C in the shell) until one of `fds` is readable; returns the
// poll results, or nullopt when interrupted.
std::optional<std::vector<pollfd>> WaitReadable(const std::vector<int>& fds) {
  std::vector<pollfd> pfds;
  for (int fd : fds) pfds.push_back({fd, POLLIN, 0});
  for (;;) {
    if (Client::Interrupted()) return std::nullopt;
    const int ready = ::poll(pfds.data(), pfds.size(), -1);
    if (ready >= 0) return pfds;
    if (errno != EINTR) return pfds;  // reported by the reads that follow
  }
}

// Reads `client`'s stream until on_reply has seen one reply (or the stream failed/ended).
Result<bool> ReadFirstReply(Client& client, const Client::OnReply& on_reply) {
  bool seen = false;
  for (;;) {
    if (!WaitReadable({client.fd()})) return Status(ErrorCode::kIo, "interrupted");
    Result<bool> more = client.ReadStream([&](const std::vector<uint8_t>& payload) {
      seen = true;
      return on_reply(payload);
    });
    if (!more.ok() || !*more || seen) return more;
  }
}

}  // namespace

std::string LifecycleText(proto::ProcessState to, int pid, const std::string& reason) {
  std::string text;
  if (to == proto::ProcessState::kStarting) {
    text = "started";
  } else if (to == proto::ProcessState::kFatal) {
    text = "FATAL";
  } else {
    text = proto::ProcessStateName(to);
    std::transform(text.begin(), text.end(), text.begin(),
                   [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  }
  if (pid != 0 && (to == proto::ProcessState::kStarting || to == proto::ProcessState::kRunning)) {
    text += ", pid " + std::to_string(pid);
  }
  if (!reason.empty() && to != proto::ProcessState::kStopped) text += ": " + reason;
  return text;
}

std::string LinePrefix(const std::string& name, size_t width, bool color, size_t color_index) {
  static constexpr const char* kColors[] = {"\033[36m", "\033[33m", "\033[32m",
                                            "\033[35m", "\033[34m", "\033[31m"};
  std::string prefix;
  if (color) prefix += kColors[color_index % 6];
  prefix += name;
  if (color) prefix += "\033[0m";
  if (name.size() < width) prefix.append(width - name.size(), ' ');
  prefix += " | ";
  return prefix;
}

int Logs(const Command& command, DaemonLink& daemon, std::ostream& out, std::ostream& err) {
  // Which processes: as status resolves the names.
  proto::StatusRequest status_request;
  status_request.names = command.names;
  Result<std::vector<uint8_t>> payload =
      daemon.Call(MessageType::kStatus, proto::Encode(status_request));
  if (!payload.ok()) {
    err << "wardenctl: " << payload.status().message() << "\n";
    return kExitFailure;
  }
  proto::StatusReply reply;
  if (!proto::Decode(*payload, &reply)) {
    err << "wardenctl: bad reply from wardend: malformed status reply\n";
    return kExitFailure;
  }
  for (const std::string& name : reply.unknown_names) out << NoSuchProcessLine(name) << "\n";
  if (!reply.unknown_names.empty()) return kExitNoSuchProcess;

  std::vector<std::string> names;
  for (const proto::ProcessInfo& info : reply.processes) {
    names.push_back(info.group == info.name ? info.name : info.group + ":" + info.name);
  }
  std::sort(names.begin(), names.end());
  std::map<std::string, size_t, std::less<>> index;
  size_t width = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    index.emplace(names[i], i);
    width = std::max(width, names[i].size());
  }
  Printer printer(out, command.json, command.color, width);

  // The last lines of each stream, process by process; stdout first, so that a stderr sent
  // into the stdout log (the same file) is the one left out.
  std::vector<Source> sources;
  std::set<std::string, std::less<>> paths;
  for (size_t i = 0; i < names.size(); ++i) {
    for (proto::LogStream stream : {proto::LogStream::kStdout, proto::LogStream::kStderr}) {
      Source source;
      source.process = names[i];
      source.index = i;
      source.stream = stream;
      Result<Client> client = daemon.Connect();
      if (!client.ok()) {
        err << "wardenctl: " << client.status().message() << "\n";
        return kExitFailure;
      }
      source.client.emplace(std::move(client).value());
      proto::TailRequest request;
      request.name = names[i];
      request.stream = stream;
      request.unit = proto::TailUnit::kLines;
      request.count = command.tail_count;
      request.follow = command.follow;
      Status sent = source.client->StartStream(MessageType::kTail, proto::Encode(request));
      if (!sent.ok()) {
        err << "wardenctl: " << sent.message() << "\n";
        return kExitFailure;
      }
      bool duplicate = false;
      bool malformed = false;
      auto on_reply = [&](const std::vector<uint8_t>& bytes) {
        proto::TailReply tail;
        if (!proto::Decode(bytes, &tail)) {
          malformed = true;
          return false;
        }
        if (!tail.path.empty() && !paths.insert(tail.path).second) {
          duplicate = true;
          return false;
        }
        printer.Data(source, tail.data);
        return tail.more;
      };
      Result<bool> more = ReadFirstReply(*source.client, on_reply);
      // Not logged (file: NONE, /dev/stdout, journal): nothing to show for this stream.
      if (!more.ok() && more.status().code() == ErrorCode::kNotFound) continue;
      if (!more.ok() || malformed) {
        err << "wardenctl: "
            << (malformed ? std::string("bad reply from wardend: malformed tail reply")
                          : more.status().message())
            << "\n";
        return kExitFailure;
      }
      if (duplicate) continue;
      // Without -f the stream ends after its lines (one reply or several).
      while (*more && !command.follow) {
        if (!WaitReadable({source.client->fd()})) {
          err << "wardenctl: interrupted\n";
          return kExitFailure;
        }
        more = source.client->ReadStream(on_reply);
        if (!more.ok()) {
          err << "wardenctl: " << more.status().message() << "\n";
          return kExitFailure;
        }
      }
      if (!*more) {
        printer.Flush(source);
        continue;
      }
      sources.push_back(std::move(source));
    }
  }
  printer.Commit();
  if (!command.follow) return kExitOk;

  // Then everything as it comes, with the lifecycle lines.
  Result<Client> events = daemon.Connect();
  if (!events.ok()) {
    err << "wardenctl: " << events.status().message() << "\n";
    return kExitFailure;
  }
  proto::EventsRequest events_request;
  events_request.names = command.names;
  if (Status sent = events->StartStream(MessageType::kEvents, proto::Encode(events_request));
      !sent.ok()) {
    err << "wardenctl: " << sent.message() << "\n";
    return kExitFailure;
  }
  auto on_events = [&](const std::vector<uint8_t>& bytes) {
    proto::EventsReply events_reply;
    if (!proto::Decode(bytes, &events_reply)) return false;
    if (events_reply.snapshot) return true;  // the state as of now: not news
    for (const proto::StateEvent& event : events_reply.events) {
      auto it = index.find(event.process);
      printer.Event(event.process, it == index.end() ? names.size() : it->second, event);
    }
    return true;
  };
  for (;;) {
    std::vector<int> fds = {events->fd()};
    std::vector<Source*> polled;
    for (Source& source : sources) {
      if (source.done) continue;
      fds.push_back(source.client->fd());
      polled.push_back(&source);
    }
    std::optional<std::vector<pollfd>> ready = WaitReadable(fds);
    if (!ready) {  // Ctrl-C in the shell, as tail -f
      printer.Commit();
      err << "wardenctl: interrupted\n";
      return kExitFailure;
    }
    // Lifecycle lines first: a restart's marker comes before what the new process wrote.
    if ((*ready)[0].revents != 0) {
      Result<bool> more = events->ReadStream(on_events);
      if (!more.ok() || !*more) {
        printer.Commit();
        err << "wardenctl: "
            << (more.ok() ? std::string("bad reply from wardend: malformed events reply")
                          : more.status().message())
            << "\n";
        return kExitFailure;
      }
    }
    for (size_t i = 0; i < polled.size(); ++i) {
      if ((*ready)[i + 1].revents == 0) continue;
      Source& source = *polled[i];
      Result<bool> more = source.client->ReadStream([&](const std::vector<uint8_t>& bytes) {
        proto::TailReply tail;
        if (!proto::Decode(bytes, &tail)) return false;
        printer.Data(source, tail.data);
        return tail.more;
      });
      if (!more.ok()) {
        printer.Commit();
        err << "wardenctl: " << more.status().message() << "\n";
        return kExitFailure;
      }
      if (!*more) {
        printer.Flush(source);
        source.done = true;
      }
    }
    printer.Commit();
  }
}

int FollowWithMarkers(const Command& command, DaemonLink& daemon, std::ostream& out,
                      std::ostream& err) {
  const std::string& name = command.names.at(0);
  auto report = [&](const Status& status) {
    if (status.code() == ErrorCode::kNotFound && status.message() == name + ": no such process") {
      out << NoSuchProcessLine(name) << "\n";
      return kExitNoSuchProcess;
    }
    err << "wardenctl: " << status.message() << "\n";
    return status.code() == ErrorCode::kNotFound ? kExitNoSuchProcess : kExitFailure;
  };
  Result<Client> tail = daemon.Connect();
  if (!tail.ok()) return report(tail.status());
  proto::TailRequest request;
  request.name = name;
  request.stream =
      command.stream == "stderr" ? proto::LogStream::kStderr : proto::LogStream::kStdout;
  request.unit = command.tail_bytes ? proto::TailUnit::kBytes : proto::TailUnit::kLines;
  request.count = command.tail_count;
  request.follow = true;
  if (Status s = tail->StartStream(MessageType::kTail, proto::Encode(request)); !s.ok()) {
    return report(s);
  }
  bool at_line_start = true;
  auto on_tail = [&](const std::vector<uint8_t>& bytes) {
    proto::TailReply reply;
    if (!proto::Decode(bytes, &reply)) return false;
    out.write(reply.data.data(), static_cast<std::streamsize>(reply.data.size()));
    if (!reply.data.empty()) at_line_start = reply.data.back() == '\n';
    return reply.more;
  };
  // The lines there are now (or the error: no such process, not logged) come first.
  Result<bool> more = ReadFirstReply(*tail, on_tail);
  out.flush();
  if (!more.ok()) return report(more.status());
  if (!*more) return kExitOk;

  Result<Client> events = daemon.Connect();
  if (!events.ok()) return report(events.status());
  proto::EventsRequest events_request;
  events_request.names = {name};
  if (Status s = events->StartStream(MessageType::kEvents, proto::Encode(events_request));
      !s.ok()) {
    return report(s);
  }
  auto on_events = [&](const std::vector<uint8_t>& bytes) {
    proto::EventsReply reply;
    if (!proto::Decode(bytes, &reply)) return false;
    if (reply.snapshot) return true;
    for (const proto::StateEvent& event : reply.events) {
      if (event.to != proto::ProcessState::kStarting) continue;
      if (!at_line_start) out << "\n";
      out << "==> " << event.process << ": " << LifecycleText(event.to, event.pid, event.reason)
          << " <==\n";
      at_line_start = true;
    }
    return true;
  };
  for (;;) {
    std::optional<std::vector<pollfd>> ready = WaitReadable({events->fd(), tail->fd()});
    if (!ready) return report(Status(ErrorCode::kIo, "interrupted"));
    if ((*ready)[0].revents != 0) {
      Result<bool> ok = events->ReadStream(on_events);
      if (!ok.ok()) return report(ok.status());
    }
    if ((*ready)[1].revents != 0) {
      more = tail->ReadStream(on_tail);
      if (!more.ok()) return report(more.status());
      if (!*more) return kExitOk;
    }
    out.flush();
  }
}

}  // namespace warden::ctl
