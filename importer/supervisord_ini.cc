#include "importer/supervisord_ini.h"

#include <algorithm>
#include <limits>

namespace warden::importer::supervisord {
namespace {

// Python's str.isspace() for the ASCII range (what configparser and int() strip).
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view Strip(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view RStrip(std::string_view s) {
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Python's int(text, base) for bases 8 and 10: surrounding whitespace, a sign, digits with single
// underscores between them, and for base 8 an optional 0o prefix.
std::optional<int64_t> PythonInt(std::string_view text, int base) {
  std::string_view s = Strip(text);
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (base == 8 && s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
    s.remove_prefix(2);
    if (!s.empty() && s.front() == '_') s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  int64_t value = 0;
  bool last_underscore = true;  // no leading underscore
  for (char c : s) {
    if (c == '_') {
      if (last_underscore) return std::nullopt;
      last_underscore = true;
      continue;
    }
    if (!IsDigit(c) || c - '0' >= base) return std::nullopt;
    last_underscore = false;
    if (value > (std::numeric_limits<int64_t>::max() - (c - '0')) / base) return std::nullopt;
    value = value * base + (c - '0');
  }
  if (last_underscore) return std::nullopt;
  return negative ? -value : value;
}

// The option line grammar of configparser (OPTCRE): KEY, then the first '=' or ':', then VALUE.
bool SplitOption(std::string_view line, std::string* key, std::string* value) {
  const size_t at = line.find_first_of("=:");
  if (at == std::string_view::npos) return false;
  *key = std::string(RStrip(line.substr(0, at)));
  *value = std::string(Strip(line.substr(at + 1)));
  return true;
}

// Where a comment starts in `line`, configparser's way: a full-line comment when the stripped
// line starts with ';' or '#'; else the first ';' or '#' at the start or after whitespace.
std::optional<size_t> CommentStart(std::string_view line) {
  const std::string_view stripped = Strip(line);
  if (!stripped.empty() && (stripped.front() == ';' || stripped.front() == '#')) return 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if ((line[i] == ';' || line[i] == '#') && (i == 0 || IsSpace(line[i - 1]))) return i;
  }
  return std::nullopt;
}

IniValue* FindValue(IniSection* section, std::string_view key) {
  for (auto& [k, v] : section->options) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// Applies a Python %-conversion's flags, width and precision to digits or text.
struct Spec {
  bool left = false;
  bool zero = false;
  bool plus = false;
  bool space = false;
  bool alternate = false;
  size_t width = 0;
  std::optional<size_t> precision;
};

std::string Pad(std::string body, const Spec& spec) {
  if (body.size() >= spec.width) return body;
  const size_t fill = spec.width - body.size();
  return spec.left ? body + std::string(fill, ' ') : std::string(fill, ' ') + body;
}

std::string FormatInteger(int64_t value, char conversion, const Spec& spec) {
  const bool negative = value < 0;
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  std::string digits;
  const unsigned base = conversion == 'o' ? 8 : (conversion == 'x' || conversion == 'X') ? 16 : 10;
  const char* alphabet = conversion == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
  do {
    digits.insert(digits.begin(), alphabet[magnitude % base]);
    magnitude /= base;
  } while (magnitude != 0);
  if (spec.precision && digits.size() < *spec.precision) {
    digits.insert(0, *spec.precision - digits.size(), '0');
  }
  std::string prefix = negative ? "-" : spec.plus ? "+" : spec.space ? " " : "";
  if (spec.alternate && base != 10)
    prefix += conversion == 'o' ? "0o" : conversion == 'X' ? "0X" : "0x";
  if (spec.zero && !spec.left && prefix.size() + digits.size() < spec.width) {
    digits.insert(0, spec.width - prefix.size() - digits.size(), '0');
  }
  return Pad(prefix + digits, spec);
}

std::string PythonRepr(std::string_view s) {
  const char quote =
      s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos ? '"' : '\'';
  std::string out(1, quote);
  for (char c : s) {
    if (c == '\\' || c == quote) out += '\\';
    out += c;
  }
  return out + quote;
}

}  // namespace

const IniValue* IniSection::Find(std::string_view key) const {
  for (const auto& [k, v] : options) {
    if (k == key) return &v;
  }
  return nullptr;
}

const IniSection* IniDocument::Find(std::string_view name) const {
  for (const IniSection& s : sections) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

IniSection* IniDocument::Find(std::string_view name) {
  for (IniSection& s : sections) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::vector<IniProblem> ParseIni(std::string_view text, const std::string& file, IniDocument* doc,
                                 std::vector<IniProblem>* repeated) {
  std::vector<IniProblem> problems;
  // Universal newlines, as Python opens text files.
  std::string normalized;
  normalized.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      normalized += '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      normalized += text[i];
    }
  }
  // The section being filled (by index: `doc->sections` grows), and the value being continued.
  constexpr size_t kNone = static_cast<size_t>(-1);
  size_t section = kNone;
  bool in_defaults = false;
  IniValue* value = nullptr;
  std::vector<std::string> value_lines;
  size_t indent_level = 0;
  auto finish_value = [&] {
    if (value == nullptr) return;
    // configparser joins the lines with '\n' and strips the trailing blank ones.
    std::string joined;
    for (size_t i = 0; i < value_lines.size(); ++i) joined += (i ? "\n" : "") + value_lines[i];
    value->text = std::string(RStrip(joined));
    value = nullptr;
    value_lines.clear();
  };
  auto current = [&]() -> IniSection* {
    if (in_defaults) return &doc->defaults;
    return section != kNone ? &doc->sections[section] : nullptr;
  };

  int line_number = 0;
  size_t pos = 0;
  while (pos <= normalized.size()) {
    size_t end = normalized.find('\n', pos);
    if (end == std::string::npos) end = normalized.size();
    const std::string_view line = std::string_view(normalized).substr(pos, end - pos);
    const bool last = end >= normalized.size();
    pos = end + 1;
    ++line_number;
    if (last && line.empty()) break;

    const std::optional<size_t> comment = CommentStart(line);
    const std::string_view content = Strip(line.substr(0, comment.value_or(line.size())));
    if (content.empty()) {
      // A blank line may sit inside a value (it is kept if the value continues after it); a
      // comment line is skipped outright.
      if (!comment && value != nullptr) value_lines.emplace_back();
      continue;
    }
    size_t indent = 0;
    while (indent < line.size() && IsSpace(line[indent])) ++indent;
    if (current() != nullptr && value != nullptr && indent > indent_level) {
      value_lines.emplace_back(content);
      continue;
    }
    finish_value();
    indent_level = indent;
    // A section header: '[', then at least one character, then the last ']' on the line.
    const size_t close = content.rfind(']');
    if (content.front() == '[' && close != std::string_view::npos && close > 1) {
      const std::string name(content.substr(1, close - 1));
      if (name == "DEFAULT") {
        in_defaults = true;
        section = kNone;
        if (doc->defaults.file.empty()) {
          doc->defaults.name = name;
          doc->defaults.file = file;
          doc->defaults.line = line_number;
        }
        continue;
      }
      in_defaults = false;
      // A section opened again (in this file or another) takes more keys: strict=False.
      section = kNone;
      for (size_t i = 0; i < doc->sections.size(); ++i) {
        if (doc->sections[i].name == name) section = i;
      }
      if (section == kNone) {
        doc->sections.push_back(IniSection{name, file, line_number, {}});
        section = doc->sections.size() - 1;
      }
      continue;
    }
    IniSection* target = current();
    if (target == nullptr) {
      // configparser stops here (MissingSectionHeaderError).
      problems.push_back({line_number, "a setting before any [section] header"});
      return problems;
    }
    std::string key;
    std::string text_value;
    if (!SplitOption(content, &key, &text_value) || key.empty()) {
      problems.push_back({line_number,
                          "cannot parse this line (not 'key = value' nor a "
                          "[section] header): " +
                              std::string(content)});
      continue;
    }
    key = Lower(key);
    IniValue* slot = FindValue(target, key);
    if (slot != nullptr) {
      if (repeated != nullptr) {
        repeated->push_back({line_number, "'" + key + "' in [" + target->name +
                                              "] is set again here; supervisord uses this later "
                                              "value (first at " +
                                              slot->file + ":" + std::to_string(slot->line) + ")"});
      }
    } else {
      target->options.emplace_back(key, IniValue{});
      slot = &target->options.back().second;
    }
    slot->file = file;
    slot->line = line_number;
    value = slot;
    value_lines.assign(1, text_value);
  }
  finish_value();
  return problems;
}

Result<std::string> PythonFormat(std::string_view text, const ExpansionLookup& lookup) {
  std::string out;
  size_t i = 0;
  const size_t n = text.size();
  auto bad = [&](const std::string& why) {
    return Result<std::string>(ErrorCode::kConfig, "badly formatted " + Quoted(text) + ": " + why);
  };
  while (i < n) {
    const char c = text[i];
    if (c != '%') {
      out += c;
      ++i;
      continue;
    }
    ++i;
    if (i >= n) return bad("a lone '%' at the end (write %% for a literal %)");
    if (text[i] == '%') {
      out += '%';
      ++i;
      continue;
    }
    if (text[i] != '(') {
      return bad("'%" + std::string(1, text[i]) +
                 "' has no (name); write %% for a literal %, or %(name)s");
    }
    // The name runs to the matching ')' (Python counts nested parentheses).
    size_t depth = 1;
    size_t j = i + 1;
    while (j < n && depth > 0) {
      if (text[j] == '(') ++depth;
      if (text[j] == ')') --depth;
      ++j;
    }
    if (depth != 0) return bad("a '%(' without its ')'");
    const std::string_view name = text.substr(i + 1, j - i - 2);
    i = j;
    Spec spec;
    for (; i < n; ++i) {
      const char f = text[i];
      if (f == '-') {
        spec.left = true;
      } else if (f == '0') {
        spec.zero = true;
      } else if (f == '+') {
        spec.plus = true;
      } else if (f == ' ') {
        spec.space = true;
      } else if (f == '#') {
        spec.alternate = true;
      } else {
        break;
      }
    }
    while (i < n && IsDigit(text[i]))
      spec.width = spec.width * 10 + static_cast<size_t>(text[i++] - '0');
    if (i < n && text[i] == '.') {
      ++i;
      size_t precision = 0;
      while (i < n && IsDigit(text[i]))
        precision = precision * 10 + static_cast<size_t>(text[i++] - '0');
      spec.precision = precision;
    }
    while (i < n && (text[i] == 'h' || text[i] == 'l' || text[i] == 'L')) ++i;
    if (i >= n)
      return bad("'%(" + std::string(name) + ")' is not followed by a conversion such as s");
    const char conversion = text[i++];
    if (conversion == '%') {
      out += '%';
      continue;
    }
    const std::optional<ExpansionValue> value = lookup(name);
    if (!value) {
      return Result<std::string>(ErrorCode::kNotFound, std::string(name));
    }
    switch (conversion) {
      case 's':
      case 'r':
      case 'a': {
        std::string body = std::holds_alternative<int64_t>(*value)
                               ? std::to_string(std::get<int64_t>(*value))
                               : std::get<std::string>(*value);
        if (conversion != 's' && std::holds_alternative<std::string>(*value)) {
          body = PythonRepr(body);
        }
        if (spec.precision && body.size() > *spec.precision) body.resize(*spec.precision);
        out += Pad(std::move(body), spec);
        break;
      }
      case 'd':
      case 'i':
      case 'u':
      case 'o':
      case 'x':
      case 'X':
        if (!std::holds_alternative<int64_t>(*value)) {
          return bad("%(" + std::string(name) + ")" + std::string(1, conversion) +
                     " needs a number, and " + std::string(name) + " is text");
        }
        out += FormatInteger(std::get<int64_t>(*value), conversion, spec);
        break;
      default:
        return bad("unsupported conversion '" + std::string(1, conversion) + "' in %(" +
                   std::string(name) + ")");
    }
  }
  return out;
}

Result<std::vector<std::string>> ShlexSplit(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  size_t i = 0;
  const size_t n = text.size();
  auto is_blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (i < n) {
    const char c = text[i];
    if (is_blank(c)) {
      if (in_word) {
        words.push_back(std::move(word));
        word.clear();
        in_word = false;
      }
      ++i;
    } else if (c == '\\') {
      if (i + 1 >= n)
        return Result<std::vector<std::string>>(ErrorCode::kConfig, "No escaped character");
      word += text[i + 1];
      in_word = true;
      i += 2;
    } else if (c == '\'' || c == '"') {
      in_word = true;
      ++i;
      bool closed = false;
      while (i < n) {
        const char d = text[i];
        if (d == c) {
          closed = true;
          ++i;
          break;
        }
        // In double quotes a backslash escapes only '"' and '\'; elsewhere it stays.
        if (c == '"' && d == '\\' && i + 1 < n && (text[i + 1] == '"' || text[i + 1] == '\\')) {
          word += text[i + 1];
          i += 2;
          continue;
        }
        word += d;
        ++i;
      }
      if (!closed)
        return Result<std::vector<std::string>>(ErrorCode::kConfig, "No closing quotation");
    } else {
      word += c;
      in_word = true;
      ++i;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseKeyValuePairs(
    std::string_view text, std::vector<std::string>* misread) {
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  // shlex.shlex(posix=True) with wordchars += '/.+-():': words, quoted strings (joined to the
  // words they touch), '#' comments to the end of the line, and every other character a token
  // of its own ('=', ',', '$', ...).
  auto is_word_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '_' || c == '/' ||
           c == '.' || c == '+' || c == '-' || c == '(' || c == ')' || c == ':' ||
           static_cast<unsigned char>(c) >= 0x80;  // Latin letters count as word characters
  };
  auto is_blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  struct Token {
    std::string text;
    bool punctuation = false;  // a character of its own, unquoted
  };
  std::vector<Token> tokens;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const char c = text[i];
    if (is_blank(c)) {
      ++i;
      continue;
    }
    if (c == '#') {
      while (i < n && text[i] != '\n') ++i;
      continue;
    }
    if (!is_word_char(c) && c != '\'' && c != '"' && c != '\\') {
      tokens.push_back({std::string(1, c), true});
      ++i;
      continue;
    }
    std::string token;
    while (i < n) {
      const char d = text[i];
      if (d == '\'' || d == '"') {
        ++i;
        bool closed = false;
        while (i < n) {
          if (text[i] == d) {
            closed = true;
            ++i;
            break;
          }
          if (d == '"' && text[i] == '\\' && i + 1 < n &&
              (text[i + 1] == '"' || text[i + 1] == '\\')) {
            ++i;
          }
          token += text[i++];
        }
        if (!closed) return Result<Pairs>(ErrorCode::kConfig, "No closing quotation");
      } else if (d == '\\') {
        if (i + 1 >= n) return Result<Pairs>(ErrorCode::kConfig, "No escaped character");
        token += text[i + 1];
        i += 2;
      } else if (is_word_char(d)) {
        token += d;
        ++i;
      } else {
        break;  // whitespace, '#' or a punctuation character ends the word
      }
    }
    tokens.push_back({std::move(token), false});
  }
  Pairs pairs;
  for (size_t t = 0; t < tokens.size(); t += 4) {
    if (t + 2 >= tokens.size() || tokens[t + 1].text != "=") {
      return Result<Pairs>(ErrorCode::kConfig,
                           "Unexpected end of key/value pairs in value " + Quoted(text));
    }
    const std::string& key = tokens[t].text;
    const std::string& value = tokens[t + 2].text;
    // supervisord takes every fourth token as the separator, whatever it is; an unquoted
    // character such as '$' or '@' thus cuts a value short and the rest is skipped, silently.
    if (misread != nullptr && tokens[t + 2].punctuation) {
      misread->push_back(key + " is read as " + Quoted(value) +
                         ": an unquoted character other than letters, digits and _/.+-(): ends "
                         "a value (quote the value)");
    }
    if (misread != nullptr && t + 3 < tokens.size() && !tokens[t + 3].punctuation) {
      misread->push_back(Quoted(tokens[t + 3].text) + " after the value of " + key +
                         " is skipped (quote the value)");
    }
    auto same =
        std::find_if(pairs.begin(), pairs.end(), [&](const auto& p) { return p.first == key; });
    if (same != pairs.end()) {
      same->second = value;
    } else {
      pairs.emplace_back(key, value);
    }
  }
  return pairs;
}

std::optional<bool> ParseBoolean(std::string_view text) {
  const std::string s = Lower(text);
  if (s == "yes" || s == "true" || s == "on" || s == "1") return true;
  if (s == "no" || s == "false" || s == "off" || s == "0") return false;
  return std::nullopt;
}

std::optional<int64_t> ParseInteger(std::string_view text) { return PythonInt(text, 10); }

std::optional<uint64_t> ParseByteSize(std::string_view text) {
  const std::string s = Lower(text);
  uint64_t multiplier = 1;
  std::string_view digits = s;
  if (s.size() >= 2) {
    const std::string_view suffix = std::string_view(s).substr(s.size() - 2);
    if (suffix == "kb") multiplier = 1024;
    if (suffix == "mb") multiplier = 1024 * 1024;
    if (suffix == "gb") multiplier = 1024ull * 1024 * 1024;
    if (multiplier != 1) digits.remove_suffix(2);
  }
  const std::optional<int64_t> number = PythonInt(digits, 10);
  if (!number || *number < 0) return std::nullopt;
  const auto value = static_cast<uint64_t>(*number);
  if (value > std::numeric_limits<uint64_t>::max() / multiplier) return std::nullopt;
  return value * multiplier;
}

std::optional<uint32_t> ParseOctal(std::string_view text) {
  const std::optional<int64_t> value = PythonInt(text, 8);
  if (!value || *value < 0 || *value > 07777) return std::nullopt;
  return static_cast<uint32_t>(*value);
}

}  // namespace warden::importer::supervisord
