// SplitCommand: the word-splitting part of the POSIX shell grammar (XCU 2.2 "Quoting" and 2.6.5
// "Field Splitting" with the default IFS), and nothing else: no parameter, command, arithmetic,
// tilde or pathname expansion, no operators, no comments. The words become argv as they are.
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace warden::config {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n'; }

// Inside double quotes a backslash keeps its special meaning only before these.
bool EscapableInDoubleQuotes(char c) {
  return c == '\\' || c == '"' || c == '$' || c == '`' || c == '\n';
}

}  // namespace

Result<std::vector<std::string>> SplitCommand(std::string_view command) {
  std::vector<std::string> words;
  std::string word;
  // A word exists once any part of it was seen, so '' and "" give an empty argument.
  bool in_word = false;
  size_t i = 0;
  const size_t n = command.size();
  while (i < n) {
    const char c = command[i];
    if (IsBlank(c)) {
      if (in_word) {
        words.push_back(std::move(word));
        word.clear();
        in_word = false;
      }
      ++i;
    } else if (c == '\\') {
      if (i + 1 >= n)
        return Result<std::vector<std::string>>(ErrorCode::kConfig,
                                                "backslash at the end of the command");
      if (command[i + 1] != '\n') {  // backslash-newline is a line continuation: both vanish
        word += command[i + 1];
        in_word = true;
      }
      i += 2;
    } else if (c == '\'') {
      const size_t close = command.find('\'', i + 1);
      if (close == std::string_view::npos) {
        return Result<std::vector<std::string>>(ErrorCode::kConfig, "unterminated single quote");
      }
      word.append(command.substr(i + 1, close - i - 1));
      in_word = true;
      i = close + 1;
    } else if (c == '"') {
      in_word = true;
      ++i;
      bool closed = false;
      while (i < n) {
        const char d = command[i];
        if (d == '"') {
          closed = true;
          ++i;
          break;
        }
        if (d == '\\' && i + 1 < n && EscapableInDoubleQuotes(command[i + 1])) {
          if (command[i + 1] != '\n') word += command[i + 1];
          i += 2;
          continue;
        }
        word += d;
        ++i;
      }
      if (!closed) {
        return Result<std::vector<std::string>>(ErrorCode::kConfig, "unterminated double quote");
      }
    } else {
      word += c;
      in_word = true;
      ++i;
    }
  }
  if (in_word) words.push_back(std::move(word));
  if (words.empty()) return Result<std::vector<std::string>>(ErrorCode::kConfig, "empty command");
  return words;
}

}  // namespace warden::config
