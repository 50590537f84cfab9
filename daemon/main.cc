// wardend: reads the command line and runs the Daemon (daemon.h).
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/daemon.h"
#include "daemon/reexec/state_codec.h"

namespace {

constexpr const char* kUsage =
    "usage: wardend [-c FILE] [--check] [--version] [--log-level LEVEL]\n"
    "\n"
    "Supervises the programs named in FILE (default /etc/warden/warden.yaml) and answers\n"
    "wardenctl on the control socket. Runs in the foreground.\n"
    "\n"
    "  -c, --config FILE    configuration file\n"
    "      --check          validate the configuration (and its includes) and exit:\n"
    "                       0 when valid, 1 with every problem as FILE:LINE:COL: message\n"
    "      --log-level L    trace, debug, info, warn or error (overrides the config)\n"
    "      --version        print the version and exit\n"
    "      --state-version  print the version of the re-execution state it reads and exit\n"
    "  -h, --help           this text\n";

std::optional<int> ParseFd(std::string_view text) {
  int fd = 0;
  if (text.empty() || text.size() > 9) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    fd = fd * 10 + (c - '0');
  }
  return fd;
}

// Returns the exit status to stop with, or nullopt to go on.
std::optional<int> ParseArgs(int argc, char** argv, warden::DaemonOptions* options) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string_view name) -> std::optional<std::string> {
      if (arg.size() > name.size() && arg.substr(0, name.size()) == name &&
          arg[name.size()] == '=') {
        return std::string(arg.substr(name.size() + 1));
      }
      if (arg == name) {
        if (i + 1 >= argc) return std::nullopt;
        return std::string(argv[++i]);
      }
      return std::nullopt;
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--version") {
      std::printf("wardend %s\n", WARDEN_VERSION);
      return 0;
    } else if (arg == "--state-version") {
      std::printf("%s\n", warden::ReadableStateVersions().c_str());
      return 0;
    } else if (arg == "--restore-from" || arg == "--listen-fd") {
      auto v = value(arg);
      auto fd = v ? ParseFd(*v) : std::nullopt;
      if (!fd) {
        std::fprintf(stderr, "wardend: %s needs a file descriptor number\n", argv[i]);
        return 2;
      }
      (arg == "--restore-from" ? options->restore_fd : options->listen_fd) = *fd;
    } else if (arg == "--check") {
      options->check = true;
    } else if (arg == "-c" || arg.rfind("--config", 0) == 0) {
      auto v = value(arg == "-c" ? "-c" : "--config");
      if (!v) {
        std::fprintf(stderr, "wardend: %s needs a file\n%s", argv[i], kUsage);
        return 2;
      }
      options->config = *v;
    } else if (arg.rfind("--log-level", 0) == 0) {
      auto v = value("--log-level");
      if (!v) {
        std::fprintf(stderr, "wardend: --log-level needs a level\n");
        return 2;
      }
      options->log_level = *v;
    } else {
      std::fprintf(stderr, "wardend: unknown argument '%s'\n%s", argv[i], kUsage);
      return 2;
    }
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  warden::DaemonOptions options;
  if (auto rc = ParseArgs(argc, argv, &options)) return *rc;
  warden::Daemon daemon(std::move(options));
  return daemon.Run();
}
