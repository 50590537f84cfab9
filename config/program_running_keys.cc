// Reading the keys of how a program runs: ready, backoff, rlimits, and the check of
// ${VAR} references. docs/configuration.md is the reference for each key.
#include <array>
#include <string>
#include <string_view>

#include "config/expand.h"
#include "config/loader_internal.h"
#include "config/values.h"

namespace warden::config::internal {
namespace {

constexpr std::array<std::string_view, 4> kBackoffKeys = {"initial", "max", "reset_after",
                                                          "jitter"};
// setrlimit(2) resources by their names without RLIMIT_, lower case.
constexpr std::array<std::string_view, 16> kResources = {
    "as",   "core",   "cpu",   "data", "fsize",  "locks",  "memlock",    "msgqueue",
    "nice", "nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack",
};
constexpr int64_t kMaxReadyFd = 1023;

std::string Quote(std::string_view text) { return "'" + std::string(text) + "'"; }

constexpr std::string_view kReadyExpected =
    "'ready' must be startsecs, notify, fd:N (N from 3 to 1023) or a map {tcp: PORT}";

}  // namespace

std::span<const std::string_view> BackoffKeys() { return kBackoffKeys; }

void ReadReady(const FileReader& reader, const Entry& entry, Program* program) {
  if (entry.value.IsMap()) {
    bool any = false;
    reader.ForEachEntry(entry.value, entry.value_where, "'ready'", [&](const Entry& e) {
      if (e.key != "tcp") {
        static constexpr std::array<std::string_view, 1> kKeys = {"tcp"};
        reader.UnknownKey(e, "in 'ready'", kKeys);
        return;
      }
      any = true;
      if (auto port = reader.Integer(e, 1, 65535)) {
        program->ready = ReadyMode::kTcp;
        program->ready_port = static_cast<int>(*port);
      }
    });
    if (!any) reader.Error(entry.value_where, std::string(kReadyExpected));
    return;
  }
  if (!entry.value.IsScalar()) {
    reader.Error(entry.value_where, std::string(kReadyExpected));
    return;
  }
  const std::string& text = entry.value.Scalar();
  if (text == "startsecs") {
    program->ready = ReadyMode::kStartsecs;
    return;
  }
  if (text == "notify") {
    program->ready = ReadyMode::kNotify;
    return;
  }
  if (text.rfind("fd:", 0) == 0) {
    const auto fd = ParseInteger(std::string_view(text).substr(3));
    if (fd && *fd >= 3 && *fd <= kMaxReadyFd) {
      program->ready = ReadyMode::kFd;
      program->ready_fd = static_cast<int>(*fd);
      return;
    }
  }
  if (text.rfind("tcp:", 0) == 0) {
    const auto port = ParseInteger(std::string_view(text).substr(4));
    if (port && *port >= 1 && *port <= 65535) {
      program->ready = ReadyMode::kTcp;
      program->ready_port = static_cast<int>(*port);
      return;
    }
  }
  static constexpr std::array<std::string_view, 2> kWords = {"startsecs", "notify"};
  reader.Error(entry.value_where, std::string(kReadyExpected) + DidYouMean(text, kWords));
}

void ReadBackoff(const FileReader& reader, const Entry& entry, Program* program) {
  if (entry.value.IsScalar()) {
    if (auto enabled = ParseBool(entry.value.Scalar()); enabled && !*enabled) {
      program->backoff.initial = 0;  // supervisord's rule: every crash restarts at once
      return;
    }
    reader.Error(entry.value_where,
                 "'backoff' must be a map such as {initial: 1, max: 60, reset_after: 60, "
                 "jitter: 0.1}, or false");
    return;
  }
  Backoff b = program->backoff;
  bool ok = true;
  reader.ForEachEntry(entry.value, entry.value_where, "'backoff'", [&](const Entry& e) {
    if (e.key == "initial") {
      if (auto v = reader.Seconds(e))
        b.initial = *v;
      else
        ok = false;
    } else if (e.key == "max") {
      if (auto v = reader.Seconds(e))
        b.max = *v;
      else
        ok = false;
    } else if (e.key == "reset_after") {
      if (auto v = reader.Seconds(e))
        b.reset_after = *v;
      else
        ok = false;
    } else if (e.key == "jitter") {
      const auto v = e.value.IsScalar() ? ParseNumber(e.value.Scalar()) : std::nullopt;
      if (!v || *v < 0 || *v > 1) {
        reader.Error(e.value_where, "'jitter' must be a number from 0 to 1 (a fraction)");
        ok = false;
      } else {
        b.jitter = *v;
      }
    } else {
      reader.UnknownKey(e, "in 'backoff'", kBackoffKeys);
    }
  });
  if (ok && b.max < b.initial) {
    reader.Error(entry.value_where, "'backoff': 'max' must be at least 'initial'");
    return;
  }
  if (ok) program->backoff = b;
}

void ReadRlimits(const FileReader& reader, const Entry& entry, Program* program) {
  reader.ForEachEntry(entry.value, entry.value_where, "'rlimits'", [&](const Entry& e) {
    bool known = false;
    for (std::string_view r : kResources) known = known || e.key == r;
    if (!known) {
      reader.UnknownKey(e, "in 'rlimits' (resources are setrlimit's, without RLIMIT_)", kResources);
      return;
    }
    if (e.value.IsScalar() && (e.value.Scalar() == "unlimited" || e.value.Scalar() == "infinity")) {
      program->rlimits.push_back({e.key, std::nullopt});
      return;
    }
    const auto value = e.value.IsScalar() ? ParseSize(e.value.Scalar()) : std::nullopt;
    if (!value) {
      reader.Error(e.value_where, Quote(e.key) +
                                      " must be a number (sizes may use KB, MB or GB) or "
                                      "unlimited");
      return;
    }
    program->rlimits.push_back({e.key, *value});
  });
}

void CheckExpansions(const FileReader& reader, const SourceLocation& where, std::string_view what,
                     const std::vector<std::string>& texts) {
  for (const std::string& text : texts) {
    auto expanded = ExpandVariables(text, [](std::string_view) { return std::nullopt; });
    if (!expanded.ok()) {
      reader.Error(where, std::string(what) + ": " + expanded.status().message());
      return;
    }
  }
}

}  // namespace warden::config::internal
