#include "daemon/control/log_requests.h"

#include <spdlog/spdlog.h>
#include <string>
#include <string_view>
#include <utility>

#include "daemon/logs/log_capture.h"
#include "daemon/supervisor/show.h"

namespace warden {
namespace {

using proto::MessageType;

void SendError(const control::SendFrame& send, ErrorCode code, std::string message) {
  send(MessageType::kError, proto::Encode(proto::ErrorReply{code, std::move(message)}));
}

// Sends `data` as TAIL replies of at most kMaxTailChunk bytes each (at least one reply); the
// last one says more = `more_after`.
bool SendTail(const control::SendFrame& send, const std::string& path, std::string_view data,
              bool more_after) {
  do {
    size_t n = std::min(data.size(), proto::kMaxTailChunk);
    proto::TailReply reply;
    reply.more = n < data.size() || more_after;
    reply.path = path;
    reply.data = std::string(data.substr(0, n));
    if (!send(MessageType::kTailReply, proto::Encode(reply))) return false;
    data.remove_prefix(n);
  } while (!data.empty());
  return true;
}

LogStream ToStream(proto::LogStream stream) {
  return stream == proto::LogStream::kStderr ? LogStream::kStderr : LogStream::kStdout;
}

Result<std::shared_ptr<TailSource>> SourceFor(Supervisor& supervisor,
                                              const proto::TailRequest& request) {
  if (request.name.empty()) {
    const std::shared_ptr<TailSource>& log = supervisor.logs().daemon_log();
    if (!log) return Status(ErrorCode::kNotFound, "wardend keeps no copy of its own log");
    return log;
  }
  Result<Process*> process = OneProcess(supervisor, request.name, "tail");
  if (!process.ok()) return process.status();
  Process* p = *process;
  Result<std::shared_ptr<LogSink>> sink =
      p->logs().Sink(p->program(), supervisor.config().warden.log_dir, ToStream(request.stream));
  if (!sink.ok()) return sink.status();
  return std::shared_ptr<TailSource>(*sink);
}

}  // namespace

std::shared_ptr<void> ServeTail(Supervisor& supervisor, const proto::TailRequest& request,
                                const control::SendFrame& send) {
  if (request.stream != proto::LogStream::kStdout && request.stream != proto::LogStream::kStderr) {
    SendError(send, ErrorCode::kInvalidArgument,
              "unknown stream " + std::to_string(static_cast<int>(request.stream)));
    return nullptr;
  }
  if (request.unit != proto::TailUnit::kBytes && request.unit != proto::TailUnit::kLines) {
    SendError(send, ErrorCode::kInvalidArgument,
              "unknown unit " + std::to_string(static_cast<int>(request.unit)));
    return nullptr;
  }
  Result<std::shared_ptr<TailSource>> source = SourceFor(supervisor, request);
  if (!source.ok()) {
    SendError(send, source.status().code(), source.status().message());
    return nullptr;
  }
  const TailUnit unit =
      request.unit == proto::TailUnit::kBytes ? TailUnit::kBytes : TailUnit::kLines;
  Result<std::string> data = (*source)->Tail(unit, request.count, kMaxTailBytes);
  if (!data.ok()) {
    SendError(send, data.status().code(), data.status().message());
    return nullptr;
  }
  const std::string path = (*source)->TailPath();
  if (!SendTail(send, path, *data, request.follow) || !request.follow) return nullptr;
  // Nothing can be written between the read above and this subscription: one thread.
  return (*source)->Follow(
      [send, path](std::string_view bytes) { SendTail(send, path, bytes, true); },
      [send, path] { SendTail(send, path, {}, false); });
}

namespace {

// LOGROTATE and CLEAR: `apply` to every log of every process named.
template <typename Fn>
void ForEachLog(Supervisor& supervisor, MessageType reply_type,
                const proto::LogNamesRequest& request, std::vector<proto::ActionResult> refused,
                const control::SendFrame& send, Fn apply) {
  Supervisor::Resolved resolved = supervisor.Resolve(request.names);
  proto::ActionReply reply;
  for (const std::string& name : resolved.unknown) {
    reply.results.push_back({name, ErrorCode::kNotFound, "no such process"});
  }
  for (Process* p : resolved.processes) {
    proto::ActionResult result{p->full_name(), ErrorCode::kOk, ""};
    for (LogStream stream : {LogStream::kStdout, LogStream::kStderr}) {
      if (stream == LogStream::kStderr && p->program().stderr_log.merge_into_stdout) continue;
      Result<std::shared_ptr<LogSink>> sink =
          p->logs().Sink(p->program(), supervisor.config().warden.log_dir, stream);
      Status s = sink.ok() ? apply(**sink) : sink.status();
      if (!s.ok() && s.code() != ErrorCode::kNotFound && result.code == ErrorCode::kOk) {
        result = {p->full_name(), s.code(), s.message()};
      }
    }
    reply.results.push_back(std::move(result));
  }
  for (proto::ActionResult& r : refused) reply.results.push_back(std::move(r));
  send(reply_type, proto::Encode(reply));
}

}  // namespace

void ServeLogRotate(Supervisor& supervisor, const proto::LogNamesRequest& request,
                    std::vector<proto::ActionResult> refused, const control::SendFrame& send) {
  ForEachLog(supervisor, MessageType::kLogRotateReply, request, std::move(refused), send,
             [](LogSink& sink) {
               spdlog::info("{}: reopening {}", sink.label(), sink.path());
               return sink.Reopen();
             });
}

void ServeClear(Supervisor& supervisor, const proto::LogNamesRequest& request,
                std::vector<proto::ActionResult> refused, const control::SendFrame& send) {
  ForEachLog(supervisor, MessageType::kClearReply, request, std::move(refused), send,
             [](LogSink& sink) {
               spdlog::info("{}: clearing {}", sink.label(), sink.path());
               return sink.Clear();
             });
}

}  // namespace warden
