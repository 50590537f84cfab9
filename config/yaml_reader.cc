#include "config/yaml_reader.h"

#include <cstdio>
#include <limits>
#include <map>

#include "config/values.h"

namespace warden::config::internal {
namespace {

std::string Quote(std::string_view key) { return "'" + std::string(key) + "'"; }

std::string JoinChoices(std::span<const std::string_view> choices) {
  std::string out;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) out += i + 1 == choices.size() ? " or " : ", ";
    out += choices[i];
  }
  return out;
}

std::string FormatNumber(double value) {
  std::string text = std::to_string(value);
  while (!text.empty() && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

}  // namespace

SourceLocation FileReader::Where(const YAML::Node& node, const SourceLocation& fallback) const {
  if (!node.IsDefined() || node.IsNull()) return fallback;
  const YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0 || mark.column < 0) return fallback;
  return SourceLocation{path_, mark.line + 1, mark.column + 1};
}

void FileReader::Error(const SourceLocation& where, std::string message) const {
  errors_->push_back(Diagnostic{where, std::move(message)});
}

void FileReader::ForEachEntry(const YAML::Node& map, const SourceLocation& where,
                              std::string_view what, const std::function<void(const Entry&)>& visit,
                              Duplicates duplicates) const {
  if (!map.IsDefined() || map.IsNull()) return;
  if (!map.IsMap()) {
    Error(Where(map, where), std::string(what) + " must be a map");
    return;
  }
  // yaml-cpp keeps every entry of a map, duplicates included; it is up to us to notice them.
  std::map<std::string, SourceLocation, std::less<>> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    // The iterator hands out a temporary pair: copy the nodes (they are handles) out of it.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    const SourceLocation key_where = Where(key, Where(map, where));
    if (!key.IsScalar()) {
      Error(key_where, "keys in " + std::string(what) + " must be strings");
      continue;
    }
    Entry entry{key.Scalar(), value, key_where, Where(value, key_where)};
    if (entry.key == "<<") {
      Error(key_where, "YAML merge keys ('<<') are not supported");
      continue;
    }
    const auto [first, inserted] = seen.emplace(entry.key, key_where);
    if (!inserted && duplicates == Duplicates::kReport) {
      Error(key_where, "duplicate key " + Quote(entry.key) + " in " + std::string(what) +
                           " (first at line " + std::to_string(first->second.line) + ")");
      continue;
    }
    visit(entry);
  }
}

void FileReader::UnknownKey(const Entry& entry, std::string_view where_text,
                            std::span<const std::string_view> known) const {
  Error(entry.key_where, "unknown key " + Quote(entry.key) + " " + std::string(where_text) +
                             DidYouMean(entry.key, known));
}

std::optional<std::string> FileReader::Scalar(const Entry& entry, std::string_view expected) const {
  if (entry.value.IsScalar()) return entry.value.Scalar();
  Error(entry.value_where, Quote(entry.key) + " must be " + std::string(expected));
  return std::nullopt;
}

std::optional<std::string> FileReader::String(const Entry& entry) const {
  return Scalar(entry, "a string");
}

std::optional<std::string> FileReader::NonEmptyString(const Entry& entry) const {
  auto text = String(entry);
  if (text && text->empty()) {
    Error(entry.value_where, Quote(entry.key) + " must not be empty");
    return std::nullopt;
  }
  return text;
}

std::optional<int64_t> FileReader::Integer(const Entry& entry, int64_t min, int64_t max) const {
  const auto text = Scalar(entry, "an integer");
  if (!text) return std::nullopt;
  const auto value = ParseInteger(*text);
  if (!value) {
    Error(entry.value_where, Quote(entry.key) + " must be an integer");
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    std::string range;
    if (max == std::numeric_limits<int>::max()) {
      range = "at least " + std::to_string(min);
    } else {
      range = "between " + std::to_string(min) + " and " + std::to_string(max);
    }
    Error(entry.value_where, Quote(entry.key) + " must be " + range);
    return std::nullopt;
  }
  return value;
}

std::optional<double> FileReader::Seconds(const Entry& entry) const {
  const auto text = Scalar(entry, "a number of seconds");
  if (!text) return std::nullopt;
  const auto value = ParseNumber(*text);
  if (!value) {
    Error(entry.value_where, Quote(entry.key) + " must be a number of seconds");
    return std::nullopt;
  }
  if (*value < 0 || *value > kMaxSeconds) {
    Error(entry.value_where,
          Quote(entry.key) + " must be between 0 and " + FormatNumber(kMaxSeconds) + " seconds");
    return std::nullopt;
  }
  return value;
}

std::optional<bool> FileReader::Bool(const Entry& entry) const {
  const auto text = Scalar(entry, "true or false");
  if (!text) return std::nullopt;
  const auto value = ParseBool(*text);
  if (!value) Error(entry.value_where, Quote(entry.key) + " must be true or false");
  return value;
}

std::optional<uint64_t> FileReader::Size(const Entry& entry) const {
  constexpr std::string_view kExpected =
      "a size in bytes, or a number with K, M or G (200M, 1.5G, 50MB)";
  const auto text = Scalar(entry, kExpected);
  if (!text) return std::nullopt;
  const auto value = ParseSize(*text);
  if (!value) Error(entry.value_where, Quote(entry.key) + " must be " + std::string(kExpected));
  return value;
}

std::optional<uint64_t> FileReader::Octal(const Entry& entry, uint64_t max) const {
  const auto text = Scalar(entry, "an octal number such as \"0600\"");
  if (!text) return std::nullopt;
  const auto value = ParseOctal(*text);
  if (!value || *value > max) {
    char example[8];
    std::snprintf(example, sizeof example, "%04llo", static_cast<unsigned long long>(max));
    Error(entry.value_where, Quote(entry.key) + " must be an octal number from 0 to " + example);
    return std::nullopt;
  }
  return value;
}

std::optional<int> FileReader::Signal(const Entry& entry) const {
  constexpr std::string_view kExpected = "a signal name such as TERM, or a number";
  const auto text = Scalar(entry, kExpected);
  if (!text) return std::nullopt;
  const auto value = ParseSignal(*text);
  if (!value) Error(entry.value_where, Quote(entry.key) + " must be " + std::string(kExpected));
  return value;
}

std::optional<size_t> FileReader::Choice(const Entry& entry,
                                         std::span<const std::string_view> choices) const {
  const std::string expected = JoinChoices(choices);
  const auto text = Scalar(entry, expected);
  if (!text) return std::nullopt;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (*text == choices[i]) return i;
  }
  Error(entry.value_where, Quote(entry.key) + " must be " + expected + DidYouMean(*text, choices));
  return std::nullopt;
}

std::optional<std::vector<Located>> FileReader::StringList(const Entry& entry) const {
  std::vector<Located> out;
  if (entry.value.IsScalar()) {
    out.push_back({entry.value.Scalar(), entry.value_where});
    return out;
  }
  if (!entry.value.IsSequence()) {
    Error(entry.value_where, Quote(entry.key) + " must be a list of strings");
    return std::nullopt;
  }
  bool ok = true;
  for (const YAML::Node& item : entry.value) {
    const SourceLocation where = Where(item, entry.value_where);
    if (!item.IsScalar()) {
      Error(where, Quote(entry.key) + " must be a list of strings");
      ok = false;
      continue;
    }
    out.push_back({item.Scalar(), where});
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace warden::config::internal
