#include "web/options.h"

#include <arpa/inet.h>

#include <charconv>

namespace warden::web {
namespace {

Status UsageError(std::string message) {
  return Status(ErrorCode::kInvalidArgument, std::move(message));
}

}  // namespace

Status ParseListen(std::string_view text, std::string* host, uint16_t* port) {
  const std::string example = " (ADDR:PORT, e.g. 127.0.0.1:9020 or [::1]:9020)";
  std::string_view h;
  std::string_view p;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return UsageError("--listen: '" + std::string(text) + "' is not an address and port" +
                        example);
    }
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      return UsageError("--listen: '" + std::string(text) + "' is not an address and port" +
                        example);
    }
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
  }
  if (h.empty()) {
    return UsageError("--listen: '" + std::string(text) +
                      "' names no address: give one (127.0.0.1, or 0.0.0.0 for every "
                      "interface)");
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || end != p.data() + p.size() || p.empty() || value > 65535) {
    return UsageError("--listen: '" + std::string(p) + "' is not a port (0-65535)");
  }
  *host = std::string(h);
  *port = static_cast<uint16_t>(value);
  return Status::Ok();
}

bool IsLoopback(std::string_view host) {
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  if (host == "localhost" || host.ends_with(".localhost")) return true;
  const std::string text(host);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) return v6.s6_addr[12] == 127;
  }
  return false;
}

Result<Options> ParseOptions(const std::vector<std::string>& argv) {
  Options options;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    auto value = [&](std::string_view name, std::string* out) -> Status {
      const std::string prefix = std::string(name) + "=";
      if (arg.starts_with("--") && arg.starts_with(prefix)) {
        *out = arg.substr(prefix.size());
      } else if (i + 1 < argv.size()) {
        *out = argv[++i];
      } else {
        return UsageError(arg + " needs a value");
      }
      if (out->empty()) return UsageError(std::string(name) + " needs a value");
      return Status::Ok();
    };
    auto is = [&](std::string_view short_name, std::string_view long_name) {
      return arg == short_name || arg == long_name || arg.starts_with(std::string(long_name) + "=");
    };
    Status status;
    if (arg == "-h" || arg == "--help") {
      options.help = true;
    } else if (arg == "--version") {
      options.version = true;
    } else if (is("-s", "--socket")) {
      status = value("--socket", &options.socket);
    } else if (is("-c", "--config")) {
      status = value("--config", &options.config);
    } else if (is("", "--listen")) {
      std::string listen;
      status = value("--listen", &listen);
      if (status.ok()) status = ParseListen(listen, &options.listen_host, &options.listen_port);
    } else if (is("", "--token-file")) {
      status = value("--token-file", &options.token_file);
    } else if (is("", "--password-file")) {
      status = value("--password-file", &options.password_file);
    } else if (is("", "--static-dir")) {
      status = value("--static-dir", &options.static_dir);
    } else {
      return UsageError("unknown option '" + arg + "' (see warden-web --help)");
    }
    if (!status.ok()) return status;
  }
  if (!options.socket.empty() && !options.config.empty()) {
    return UsageError("give -s SOCKET or -c WARDEN_YAML, not both");
  }
  return options;
}

std::string UsageText() {
  return "usage: warden-web [-s SOCKET | -c WARDEN_YAML] [--listen ADDR:PORT]\n"
         "                  [--token-file FILE] [--password-file FILE] [--static-dir DIR]\n"
         "\n"
         "An HTTP/JSON API, Prometheus metrics (/metrics) and a dashboard for wardend, which it\n"
         "reaches as an ordinary client of its control socket.\n"
         "\n"
         "  -s, --socket SOCKET    wardend's control socket (default: $WARDEN_SOCKET, else the\n"
         "                         config's warden.socket, else the default)\n"
         "  -c, --config FILE      take the socket from this warden.yaml\n"
         "  --listen ADDR:PORT     where to serve HTTP (default 127.0.0.1:9020; port 0: any free\n"
         "                         port, printed at start); an address other than loopback\n"
         "                         needs --token-file or --password-file\n"
         "  --token-file FILE      clients may send 'Authorization: Bearer TOKEN' (the file's\n"
         "                         one line, 16 characters or more)\n"
         "  --password-file FILE   'user:HASH' lines (crypt(3) hashes: mkpasswd -m yescrypt);\n"
         "                         clients log in with HTTP Basic authentication\n"
         "  --static-dir DIR       the dashboard's files (default: " WARDEN_WEB_STATIC_DIR
         ")\n"
         "  -h, --help             this text\n"
         "  --version              warden-web's version\n"
         "\n"
         "docs: /usr/share/doc/warden/web.md, security.md\n";
}

}  // namespace warden::web
