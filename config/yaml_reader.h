// Private to config/: reading one parsed YAML document of warden.yaml with positions. Every
// reader reports what is wrong with a node into the shared error list (at the node, 1-based) and
// returns nothing, so a whole file is checked in one pass and every problem is reported.
// No yaml-cpp exception escapes these functions: they only look at node types and scalars.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"

namespace warden::config::internal {

// One key: value pair of a YAML map, its key known to be a string.
struct Entry {
  std::string key;
  YAML::Node value;
  SourceLocation key_where;
  SourceLocation value_where;  // the value, or the key when the value has no position (null)
};

// A string with the place it was written, e.g. one element of depends_on.
struct Located {
  std::string text;
  SourceLocation where;
};

class FileReader {
 public:
  FileReader(std::string path, std::vector<Diagnostic>* errors)
      : path_(std::move(path)), errors_(errors) {}

  const std::string& path() const { return path_; }
  // The node's position, or `fallback` when yaml-cpp has none for it.
  SourceLocation Where(const YAML::Node& node, const SourceLocation& fallback) const;
  void Error(const SourceLocation& where, std::string message) const;

  enum class Duplicates {
    kReport,  // a key written twice is an error; the first one wins
    kVisit,   // the caller sees every entry and judges (program and group names)
  };
  // Calls `visit` for each entry of `map` in file order. Keys that are not strings are reported;
  // `what` names the map in messages ("program 'web'", "'warden'"). A null `map` is an empty map;
  // anything else that is not a map is reported as "<what> must be a map" at `where`.
  void ForEachEntry(const YAML::Node& map, const SourceLocation& where, std::string_view what,
                    const std::function<void(const Entry&)>& visit,
                    Duplicates duplicates = Duplicates::kReport) const;
  // "unknown key 'k' <where_text> (did you mean 'x'?)", where_text being e.g. "in program 'web'".
  void UnknownKey(const Entry& entry, std::string_view where_text,
                  std::span<const std::string_view> known) const;

  // Typed values. Messages name the key: "'numprocs' must be an integer".
  std::optional<std::string> String(const Entry& entry) const;
  std::optional<std::string> NonEmptyString(const Entry& entry) const;
  std::optional<int64_t> Integer(const Entry& entry, int64_t min, int64_t max) const;
  std::optional<double> Seconds(const Entry& entry) const;
  std::optional<bool> Bool(const Entry& entry) const;
  std::optional<uint64_t> Size(const Entry& entry) const;
  std::optional<uint64_t> Octal(const Entry& entry, uint64_t max) const;
  std::optional<int> Signal(const Entry& entry) const;
  // One of `choices` (exactly as written); returns its index.
  std::optional<size_t> Choice(const Entry& entry, std::span<const std::string_view> choices) const;
  // A list of strings; a single string is a list of one.
  std::optional<std::vector<Located>> StringList(const Entry& entry) const;

 private:
  std::optional<std::string> Scalar(const Entry& entry, std::string_view expected) const;

  std::string path_;
  std::vector<Diagnostic>* errors_;
};

// Longest sensible duration (a year): keeps timers far from overflow.
constexpr double kMaxSeconds = 365.0 * 24 * 3600;

}  // namespace warden::config::internal
