// Env files in systemd's EnvironmentFile= syntax. See env_file.h.
#include "config/env_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.h"

namespace warden::config {
namespace {

// An env file larger than this is surely not one (a log, a binary named by mistake).
constexpr size_t kMaxEnvFileBytes = 1 << 20;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

bool ValidKey(std::string_view key) {
  if (key.empty() || (key[0] >= '0' && key[0] <= '9')) return false;
  for (char c : key) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

// Reads the file whole, at most kMaxEnvFileBytes; the error is errno (EFBIG when too large).
Result<std::string> ReadSmallFile(const std::string& path, int* error) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) {
    *error = errno;
    return Result<std::string>(ErrorCode::kIo, std::strerror(errno));
  }
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = errno;
      return Result<std::string>(ErrorCode::kIo, std::strerror(errno));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxEnvFileBytes) {
      *error = EFBIG;
      return Result<std::string>(ErrorCode::kIo, "larger than 1 MiB");
    }
  }
  return text;
}

}  // namespace

EnvFileParse ParseEnvFile(std::string_view text) {
  EnvFileParse result;
  size_t pos = 0;
  int line = 0;
  // The next physical line, without its newline; false at the end of the text.
  auto next_line = [&](std::string_view* out) {
    if (pos >= text.size()) return false;
    const size_t end = text.find('\n', pos);
    const size_t stop = end == std::string_view::npos ? text.size() : end;
    *out = text.substr(pos, stop - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    ++line;
    return true;
  };
  std::string_view raw;
  while (next_line(&raw)) {
    const int first_line = line;
    size_t i = 0;
    while (i < raw.size() && IsSpace(raw[i])) ++i;
    if (i == raw.size() || raw[i] == '#' || raw[i] == ';') continue;
    const size_t eq = raw.find('=', i);
    if (eq == std::string_view::npos) {
      result.errors.push_back({first_line, "expected KEY=VALUE"});
      continue;
    }
    std::string_view key = raw.substr(i, eq - i);
    while (!key.empty() && IsSpace(key.back())) key.remove_suffix(1);
    if (!ValidKey(key)) {
      result.errors.push_back(
          {first_line, "invalid variable name '" + std::string(key) +
                           "' (letters, digits and _, not starting with a digit)"});
      continue;
    }
    size_t v = eq + 1;
    while (v < raw.size() && IsSpace(raw[v])) ++v;
    std::string value;
    bool bad = false;
    if (v < raw.size() && (raw[v] == '"' || raw[v] == '\'')) {
      const char quote = raw[v];
      std::string_view rest = raw.substr(v + 1);
      bool closed = false;
      // A quoted value may span lines; walk it to its closing quote.
      for (;;) {
        size_t k = 0;
        for (; k < rest.size(); ++k) {
          const char c = rest[k];
          if (c == quote) {
            closed = true;
            break;
          }
          if (quote == '"' && c == '\\' && k + 1 < rest.size()) {
            const char n = rest[k + 1];
            if (n == '"' || n == '\\' || n == '$' || n == '`') {
              value += n;
              ++k;
              continue;
            }
          }
          if (quote == '"' && c == '\\' && k + 1 == rest.size()) break;  // continuation
          value += c;
        }
        if (closed) {
          std::string_view after = rest.substr(k + 1);
          while (!after.empty() && IsSpace(after.front())) after.remove_prefix(1);
          if (!after.empty() && after.front() != '#' && after.front() != ';') {
            result.errors.push_back({first_line, "unexpected text after the closing quote"});
            bad = true;
          }
          break;
        }
        const bool continued = quote == '"' && !rest.empty() && rest.back() == '\\';
        if (!continued) value += '\n';
        if (!next_line(&rest)) break;
      }
      if (!closed && !bad) {
        result.errors.push_back({first_line, std::string("unterminated ") +
                                                 (quote == '"' ? "double" : "single") + " quote"});
        bad = true;
      }
    } else {
      std::string_view rest = raw.substr(v);
      for (;;) {
        while (!rest.empty() && IsSpace(rest.back())) rest.remove_suffix(1);
        if (!rest.empty() && rest.back() == '\\') {
          rest.remove_suffix(1);
          value += rest;
          if (!next_line(&rest)) break;
          continue;
        }
        value += rest;
        break;
      }
    }
    if (!bad) result.assignments.emplace_back(std::string(key), std::move(value));
  }
  return result;
}

Result<EnvAssignments> ReadEnvFiles(const std::vector<EnvFile>& files) {
  EnvAssignments all;
  for (const EnvFile& file : files) {
    int error = 0;
    auto text = ReadSmallFile(file.path, &error);
    if (!text.ok()) {
      if (file.optional && error == ENOENT) continue;
      return Result<EnvAssignments>(ErrorCode::kIo, file.path + ": " + text.status().message());
    }
    EnvFileParse parsed = ParseEnvFile(*text);
    if (!parsed.errors.empty()) {
      const EnvFileError& e = parsed.errors.front();
      return Result<EnvAssignments>(ErrorCode::kConfig,
                                    file.path + ":" + std::to_string(e.line) + ": " + e.message);
    }
    for (auto& assignment : parsed.assignments) all.push_back(std::move(assignment));
  }
  return all;
}

std::vector<Diagnostic> CheckEnvFiles(const Config& config) {
  std::vector<Diagnostic> problems;
  for (const Program& program : config.programs) {
    for (const EnvFile& file : program.env_files) {
      int error = 0;
      auto text = ReadSmallFile(file.path, &error);
      if (!text.ok()) {
        if (file.optional && error == ENOENT) continue;
        problems.push_back({file.where, "env_file '" + file.path + "' of program '" + program.name +
                                            "': " + text.status().message()});
        continue;
      }
      for (const EnvFileError& e : ParseEnvFile(*text).errors) {
        problems.push_back({{file.path, e.line, 0}, e.message});
      }
    }
  }
  return problems;
}

}  // namespace warden::config
