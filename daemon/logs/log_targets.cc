// wardend's own log targets. See log_targets.h.
#include "daemon/logs/log_targets.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace warden {
namespace {

constexpr size_t kLogFileMaxBytes = 10 * 1024 * 1024;
constexpr size_t kLogFileBackups = 5;

// "%*" in a pattern: the line's syslog priority.
class PriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const char digit = static_cast<char>('0' + JournalPriority(msg.level));
    dest.push_back(digit);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<PriorityFlag>();
  }
};

void AppendField(std::string* out, std::string_view key, std::string_view value) {
  out->append(key);
  if (value.find('\n') == std::string_view::npos) {
    out->push_back('=');
    out->append(value);
  } else {
    out->push_back('\n');
    uint64_t size = value.size();
    for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((size >> (8 * i)) & 0xff));
    out->append(value);
  }
  out->push_back('\n');
}

}  // namespace

bool StderrIsJournal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  struct stat st {};
  if (fstat(STDERR_FILENO, &st) != 0) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  return dev == st.st_dev && ino == st.st_ino;
}

int JournalPriority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return 7;
    case spdlog::level::info:
      return 6;
    case spdlog::level::warn:
      return 4;
    case spdlog::level::err:
      return 3;
    case spdlog::level::critical:
      return 2;
    default:
      return 6;
  }
}

std::string_view ProgramOfLine(std::string_view message) {
  const size_t colon = message.find(": ");
  if (colon == 0 || colon == std::string_view::npos) return {};
  std::string_view name = message.substr(0, colon);
  if (name.find_first_of(" \t\n") != std::string_view::npos) return {};
  return name;
}

std::string JournalEntry(int priority, std::string_view identifier, std::string_view message) {
  std::string out;
  out.reserve(message.size() + 96);
  AppendField(&out, "PRIORITY", std::to_string(priority));
  AppendField(&out, "SYSLOG_IDENTIFIER", identifier);
  if (auto program = ProgramOfLine(message); !program.empty()) {
    AppendField(&out, "WARDEN_PROGRAM", program);
  }
  AppendField(&out, "MESSAGE", message);
  return out;
}

JournalSink::JournalSink(std::string socket_path) {
  if (socket_path.size() >= sizeof addr_.sun_path) return;  // no socket: every line is dropped
  addr_.sun_family = AF_UNIX;
  std::memcpy(addr_.sun_path, socket_path.data(), socket_path.size());
  fd_ = UniqueFd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
}

void JournalSink::sink_it_(const spdlog::details::log_msg& msg) {
  if (!fd_) {
    ++dropped_;
    return;
  }
  const std::string entry = JournalEntry(JournalPriority(msg.level), "wardend",
                                         std::string_view(msg.payload.data(), msg.payload.size()));
  ssize_t n;
  do {
    n = sendto(fd_.get(), entry.data(), entry.size(), MSG_NOSIGNAL,
               reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_);
  } while (n < 0 && errno == EINTR);
  // No journal, a full queue, an entry too big for a datagram: the line is lost, not waited
  // for (the maintail copy keeps it).
  if (n < 0) ++dropped_;
}

Result<UniqueFd> OpenJournalStream(std::string_view identifier, int priority,
                                   std::string socket_path) {
  if (socket_path.empty()) {
    const char* native = std::getenv("WARDEN_JOURNAL_SOCKET");
    if (native != nullptr && *native != '\0') {
      socket_path = std::string(native);
      const size_t slash = socket_path.rfind('/');
      socket_path = (slash == std::string::npos ? std::string(".") : socket_path.substr(0, slash)) +
                    "/stdout";
    } else {
      socket_path = kJournalStdoutSocket;
    }
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    return Result<UniqueFd>(ErrorCode::kInvalidArgument, socket_path + ": path too long");
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  // Non-blocking while wardend talks to it: a journald with a full backlog refuses (EAGAIN)
  // rather than holding the loop; the header fits any socket buffer.
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Result<UniqueFd>(ErrorCode::kIo, std::string("socket: ") + strerror(errno));
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return Result<UniqueFd>(ErrorCode::kIo,
                            "connect " + socket_path + ": " + std::string(strerror(errno)));
  }
  // identifier, unit id (none), priority, level prefix, forward to syslog, kmsg, console.
  std::string header(identifier);
  header += "\n\n" + std::to_string(priority) + "\n1\n0\n0\n0\n";
  size_t sent = 0;
  while (sent < header.size()) {
    const ssize_t n = send(fd.get(), header.data() + sent, header.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Result<UniqueFd>(ErrorCode::kIo,
                              "send to " + socket_path + ": " + std::string(strerror(errno)));
    }
    sent += static_cast<size_t>(n);
  }
  shutdown(fd.get(), SHUT_RD);  // journald never writes back
  // The program gets it blocking, as a pipe: a slow journal makes it wait, as under systemd.
  const int flags = fcntl(fd.get(), F_GETFL);
  if (flags < 0 || fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return Result<UniqueFd>(ErrorCode::kIo, std::string("fcntl: ") + strerror(errno));
  }
  return fd;
}

Result<std::shared_ptr<spdlog::logger>> MakeDaemonLogger(const config::Settings& settings) {
  switch (settings.log_target) {
    case config::LogTarget::kJournald: {
      const char* path = std::getenv("WARDEN_JOURNAL_SOCKET");
      auto sink = std::make_shared<JournalSink>(
          path != nullptr && *path != '\0' ? std::string(path) : std::string(JournalSink::kSocket));
      return std::make_shared<spdlog::logger>("wardend", std::move(sink));
    }
    case config::LogTarget::kFile: {
      try {
        auto sink = std::make_shared<spdlog::sinks::rotating_file_sink_st>(
            settings.log_file, kLogFileMaxBytes, kLogFileBackups);
        auto logger = std::make_shared<spdlog::logger>("wardend", std::move(sink));
        logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %-5l %v");
        logger->flush_on(spdlog::level::trace);
        return logger;
      } catch (const spdlog::spdlog_ex& e) {
        return Status(ErrorCode::kIo, "log_target " + settings.log_file + ": " + e.what());
      }
    }
    case config::LogTarget::kStderr:
      break;
  }
  auto logger = std::make_shared<spdlog::logger>("wardend",
                                                 std::make_shared<spdlog::sinks::stderr_sink_st>());
  if (StderrIsJournal()) {
    // The journal adds its own timestamps; "<N>" carries the syslog priority.
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<PriorityFlag>('*').set_pattern("<%*>%v");
    logger->set_formatter(std::move(formatter));
  } else {
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  }
  return logger;
}

}  // namespace warden
