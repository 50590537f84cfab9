// Reading `healthcheck:` and `watchdog_sec` of a program (docs/configuration.md), and the URL of
// an http check. What runs the checks is daemon/supervisor/health.h.
#include <arpa/inet.h>

#include <array>
#include <string>
#include <string_view>

#include "config/loader_internal.h"
#include "config/values.h"

namespace warden::config {

Result<HttpUrl> ParseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Status(ErrorCode::kInvalidArgument,
                  url.substr(0, 8) == "https://"
                      ? "https is not supported (use http:// on a local address)"
                      : "must start with http://");
  }
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find_first_of("/?");
  HttpUrl parsed;
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    parsed.path = std::string(rest.substr(slash));
    if (parsed.path.front() == '?') parsed.path.insert(0, "/");
  }
  for (char c : parsed.path) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return Status(ErrorCode::kInvalidArgument, "the path must not contain spaces or controls");
    }
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Status(ErrorCode::kInvalidArgument, "unterminated [ in the address");
    }
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Status(ErrorCode::kInvalidArgument, "bad address");
      port = after.substr(1);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return Status(ErrorCode::kInvalidArgument, "no host");
  if (authority.find('@') != std::string_view::npos) {
    return Status(ErrorCode::kInvalidArgument, "user names in the URL are not supported");
  }
  if (!port.empty() || authority.back() == ':') {
    const auto number = internal::ParseInteger(port);
    if (!number || *number < 1 || *number > 65535) {
      return Status(ErrorCode::kInvalidArgument, "the port must be from 1 to 65535");
    }
    parsed.port = static_cast<int>(*number);
  }
  if (host == "localhost") {
    parsed.host = "127.0.0.1";
    return parsed;
  }
  parsed.host = std::string(host);
  unsigned char addr[16];
  if (inet_pton(AF_INET, parsed.host.c_str(), addr) != 1 &&
      inet_pton(AF_INET6, parsed.host.c_str(), addr) != 1) {
    return Status(ErrorCode::kInvalidArgument,
                  "the host must be an IP address or localhost, not a name to look up "
                  "(wardend never waits for DNS): " +
                      parsed.host);
  }
  return parsed;
}

std::string HealthCheck::Target() const {
  switch (kind) {
    case HealthKind::kNone:
      return "";
    case HealthKind::kExec:
      return "exec " + (command.empty() ? std::string() : command.front());
    case HealthKind::kHttp:
      return url;
    case HealthKind::kTcp:
      return "tcp port " + std::to_string(port);
  }
  return "";
}

namespace internal {
namespace {

constexpr std::array<std::string_view, 7> kHealthKeys = {
    "exec", "http", "tcp", "interval", "timeout", "retries", "start_period"};
constexpr std::string_view kHealthExpected =
    "'healthcheck' must be a map with one of exec: COMMAND, http: URL or tcp: PORT (and "
    "interval, timeout, retries, start_period)";

}  // namespace

std::span<const std::string_view> HealthCheckKeys() { return kHealthKeys; }

void ReadHealthCheck(const FileReader& reader, const Entry& entry, Program* program) {
  if (!entry.value.IsMap()) {
    reader.Error(entry.value_where, std::string(kHealthExpected));
    return;
  }
  HealthCheck check;
  int kinds = 0;
  bool ok = true;
  reader.ForEachEntry(entry.value, entry.value_where, "'healthcheck'", [&](const Entry& e) {
    if (e.key == "exec") {
      ++kinds;
      check.kind = HealthKind::kExec;
      if (auto words = ReadCommandWords(reader, e)) {
        check.command = std::move(*words);
      } else {
        ok = false;
      }
    } else if (e.key == "http") {
      ++kinds;
      check.kind = HealthKind::kHttp;
      auto url = reader.NonEmptyString(e);
      if (!url) {
        ok = false;
        return;
      }
      auto parsed = ParseHttpUrl(*url);
      if (!parsed.ok()) {
        reader.Error(e.value_where, "'http': " + parsed.status().message() +
                                        " (e.g. http://127.0.0.1:8080/health)");
        ok = false;
        return;
      }
      check.url = *url;
      check.http = std::move(parsed).value();
    } else if (e.key == "tcp") {
      ++kinds;
      check.kind = HealthKind::kTcp;
      if (auto port = reader.Integer(e, 1, 65535)) {
        check.port = static_cast<int>(*port);
      } else {
        ok = false;
      }
    } else if (e.key == "interval" || e.key == "timeout") {
      auto v = reader.Seconds(e);
      if (v && *v < 0.01) {
        reader.Error(e.value_where, "'" + e.key + "' must be at least 0.01 seconds");
        v.reset();
      }
      if (!v) {
        ok = false;
      } else if (e.key == "interval") {
        check.interval = *v;
      } else {
        check.timeout = *v;
      }
    } else if (e.key == "retries") {
      if (auto v = reader.Integer(e, 1, 1000000)) {
        check.retries = static_cast<int>(*v);
      } else {
        ok = false;
      }
    } else if (e.key == "start_period") {
      if (auto v = reader.Seconds(e)) {
        check.start_period = *v;
      } else {
        ok = false;
      }
    } else {
      reader.UnknownKey(e, "in 'healthcheck'", kHealthKeys);
      ok = false;
    }
  });
  if (kinds != 1) {
    reader.Error(entry.value_where,
                 kinds == 0 ? std::string(kHealthExpected)
                            : "'healthcheck' takes one of exec, http and tcp, not several");
    return;
  }
  if (ok) program->healthcheck = std::move(check);
}

}  // namespace internal
}  // namespace warden::config
