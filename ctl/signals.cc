#include "ctl/signals.h"

#include <signal.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "base/signals.h"

namespace warden::ctl {
namespace {

std::optional<int> ParseNumber(std::string_view text) {
  int value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

bool ValidNumber(int n) { return n >= 1 && n <= SIGRTMAX; }

}  // namespace

std::optional<int> ParseSignal(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(text[0]))) {
    std::optional<int> n = ParseNumber(text);
    if (!n || !ValidNumber(*n)) return std::nullopt;
    return n;
  }
  std::string upper(text);
  std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) {
    return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  });
  std::string_view name = upper;
  if (name.starts_with("SIG")) name.remove_prefix(3);
  for (const SignalEntry& s : kSignalTable) {
    if (name == s.name) return s.number;
  }
  // Real-time signals: RTMIN, RTMIN+N, RTMAX, RTMAX-N.
  auto realtime = [&](std::string_view base, int origin, char sign) -> std::optional<int> {
    if (!name.starts_with(base)) return std::nullopt;
    std::string_view rest = name.substr(base.size());
    if (rest.empty()) return origin;
    if (rest[0] != sign) return std::nullopt;
    std::optional<int> offset = ParseNumber(rest.substr(1));
    if (!offset) return std::nullopt;
    int n = sign == '+' ? origin + *offset : origin - *offset;
    if (n < SIGRTMIN || n > SIGRTMAX) return std::nullopt;
    return n;
  };
  if (auto n = realtime("RTMIN", SIGRTMIN, '+')) return n;
  if (auto n = realtime("RTMAX", SIGRTMAX, '-')) return n;
  return std::nullopt;
}

std::string SignalName(int signal) {
  if (std::string_view name = SignalNameOf(signal); !name.empty()) {
    return "SIG" + std::string(name);
  }
  if (signal >= SIGRTMIN && signal <= SIGRTMAX) {
    if (signal == SIGRTMIN) return "SIGRTMIN";
    return "SIGRTMIN+" + std::to_string(signal - SIGRTMIN);
  }
  return "signal " + std::to_string(signal);
}

}  // namespace warden::ctl
