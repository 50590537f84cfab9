#include "config/values.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <csignal>
#include <limits>
#include <vector>

#include "base/signals.h"

namespace warden::config::internal {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

constexpr int kMaxSignal = 64;  // SIGRTMAX on Linux

template <typename Candidates>
std::string SuggestFrom(std::string_view word, const Candidates& candidates) {
  // Short words tolerate one edit, longer ones two: "usr" -> "user", "autorestrat" ->
  // "autorestart", but not "ab" -> "db".
  std::string best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (const auto& candidate : candidates) {
    const std::string_view c(candidate);
    const size_t limit = std::min(c.size(), word.size()) <= 3 ? 1 : 2;
    const size_t d = EditDistance(word, c);
    if (d <= limit && d < best_distance) {
      best_distance = d;
      best = std::string(c);
    }
  }
  return best;
}

std::string Wrap(const std::string& suggestion) {
  return suggestion.empty() ? std::string() : " (did you mean '" + suggestion + "'?)";
}

}  // namespace

std::optional<int64_t> ParseInteger(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<double> ParseNumber(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  double value = 0;
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::general);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<uint64_t> ParseSize(std::string_view text) {
  const std::string upper = Upper(text);
  std::string_view rest(upper);
  uint64_t multiplier = 1;
  struct Suffix {
    std::string_view text;
    uint64_t multiplier;
  };
  // Longest first: "MB" before "B" would matter, "M" is tried after "MB" and "MIB".
  constexpr Suffix kSuffixes[] = {
      {"KIB", 1024ull}, {"MIB", 1024ull * 1024}, {"GIB", 1024ull * 1024 * 1024},
      {"KB", 1024ull},  {"MB", 1024ull * 1024},  {"GB", 1024ull * 1024 * 1024},
      {"K", 1024ull},   {"M", 1024ull * 1024},   {"G", 1024ull * 1024 * 1024}};
  for (const Suffix& s : kSuffixes) {
    if (rest.size() > s.text.size() && rest.ends_with(s.text)) {
      rest.remove_suffix(s.text.size());
      multiplier = s.multiplier;
      while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
      break;
    }
  }
  if (rest.empty() || rest.front() == '-' || rest.front() == '+') return std::nullopt;
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
  if (ec != std::errc()) return std::nullopt;
  if (value > std::numeric_limits<uint64_t>::max() / multiplier) return std::nullopt;
  uint64_t bytes = value * multiplier;
  const std::string_view fraction = rest.substr(static_cast<size_t>(end - rest.data()));
  if (fraction.empty()) return bytes;
  // "1.5G": a fraction of a unit, rounded down to whole bytes; plain bytes have none.
  if (multiplier == 1 || fraction.size() < 2 || fraction.front() != '.') return std::nullopt;
  uint64_t part = 0;
  uint64_t scale = 1;
  for (char c : fraction.substr(1)) {
    if (c < '0' || c > '9') return std::nullopt;
    if (scale < 1000000000ull) {  // nine digits are more than a byte of a GB
      part = part * 10 + static_cast<uint64_t>(c - '0');
      scale *= 10;
    }
  }
  const uint64_t extra = part * multiplier / scale;  // part < scale <= 1e9, multiplier <= 2^30
  if (bytes > std::numeric_limits<uint64_t>::max() - extra) return std::nullopt;
  return bytes + extra;
}

std::optional<uint64_t> ParseOctal(std::string_view text) {
  if (text.empty() || text.size() > 12) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return std::nullopt;
    value = value * 8 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

std::optional<bool> ParseBool(std::string_view text) {
  for (std::string_view yes : {"true", "yes", "on"}) {
    if (EqualsIgnoreCase(text, yes)) return true;
  }
  for (std::string_view no : {"false", "no", "off"}) {
    if (EqualsIgnoreCase(text, no)) return false;
  }
  return std::nullopt;
}

std::optional<int> ParseSignal(std::string_view text) {
  if (const auto number = ParseInteger(text)) {
    if (*number >= 1 && *number <= kMaxSignal) return static_cast<int>(*number);
    return std::nullopt;
  }
  if (text.size() > 3 && EqualsIgnoreCase(text.substr(0, 3), "SIG")) text.remove_prefix(3);
  for (const SignalEntry& s : kSignalTable) {
    if (EqualsIgnoreCase(text, s.name)) return s.number;
  }
  return std::nullopt;
}

bool IsValidName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

size_t EditDistance(std::string_view a, std::string_view b) {
  // Three rows of the classic table are enough for the transposition rule.
  std::vector<size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = Lower(a[i - 1]) == Lower(b[j - 1]) ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && Lower(a[i - 1]) == Lower(b[j - 2]) &&
          Lower(a[i - 2]) == Lower(b[j - 1])) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::string Suggest(std::string_view word, std::span<const std::string_view> candidates) {
  return SuggestFrom(word, candidates);
}
std::string Suggest(std::string_view word, std::span<const std::string> candidates) {
  return SuggestFrom(word, candidates);
}
std::string DidYouMean(std::string_view word, std::span<const std::string_view> candidates) {
  return Wrap(Suggest(word, candidates));
}
std::string DidYouMean(std::string_view word, std::span<const std::string> candidates) {
  return Wrap(Suggest(word, candidates));
}

}  // namespace warden::config::internal
