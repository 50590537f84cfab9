// The parts of supervisord's configuration grammar that `wardenctl import-supervisord` needs,
// reproduced from what supervisord 4.x does with them (supervisor/options.py, datatypes.py):
//
//  - the INI file as Python 3's configparser.RawConfigParser reads it with supervisord's
//    settings (inline_comment_prefixes=(';', '#'), strict=False): `;` and `#` start a comment at
//    the start of a line or after whitespace; keys are case-insensitive (lowercased), section
//    names are not; `=` or `:` separates key and value; a line indented deeper than its key
//    continues the value; a section or key given twice merges, the later value winning;
//  - `%(name)s` expansions, which are Python's `text % mapping`;
//  - `command=`, split as shlex.split(posix=True);
//  - `environment=KEY="val",KEY2=val2`, parsed as dict_of_key_value_pairs.
//
// Pure: no I/O; text in, values or errors out.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/status.h"

namespace warden::importer::supervisord {

// One `key = value` as read: the value with continuation lines joined by '\n', and where the key
// was written.
struct IniValue {
  std::string text;
  std::string file;
  int line = 0;
};

struct IniSection {
  std::string name;  // "program:web", as written between the brackets
  std::string file;  // where the section was first opened
  int line = 0;
  std::vector<std::pair<std::string, IniValue>> options;  // lowercased keys, first-seen order

  const IniValue* Find(std::string_view key) const;
};

// Every file read so far, merged as supervisord's parser merges them.
struct IniDocument {
  std::vector<IniSection> sections;  // in the order first seen; [DEFAULT] is not among them
  IniSection defaults;               // [DEFAULT]: a fallback for every section's keys

  const IniSection* Find(std::string_view name) const;
  IniSection* Find(std::string_view name);
};

struct IniProblem {
  int line = 0;
  std::string message;
};

// Reads `text` (the contents of `file`) into `doc`, as RawConfigParser.read() would. Lines the
// parser rejects are returned (configparser gathers them and fails at the end; supervisord then
// refuses to start); the rest of the file is still read. A key given twice in one section keeps
// the later value and is reported in `repeated` (supervisord says nothing about it).
std::vector<IniProblem> ParseIni(std::string_view text, const std::string& file, IniDocument* doc,
                                 std::vector<IniProblem>* repeated = nullptr);

// What a %(name)X may refer to: a string or an integer (process_num, numprocs).
using ExpansionValue = std::variant<std::string, int64_t>;
using ExpansionLookup = std::function<std::optional<ExpansionValue>(std::string_view name)>;

// Python's `text % mapping` for the forms supervisord configs use: %(name)s, %(name)d,
// %(name)02d, %(name)-10s, ... (flags -+ #0, width, precision; conversions s r a d i u o x X) and
// %% for a literal %. An unknown name, a % without a (name), or a number conversion of a string
// is an error, as it is for supervisord ("cannot be expanded" / "is badly formatted"): an unknown
// name is kNotFound with the name as the message, anything else kConfig with the reason.
Result<std::string> PythonFormat(std::string_view text, const ExpansionLookup& lookup);

// shlex.split(text) with posix=True and no comments: how supervisord turns `command` into argv.
Result<std::vector<std::string>> ShlexSplit(std::string_view text);

// supervisord's dict_of_key_value_pairs: KEY=val,KEY2="v,2" (shlex-tokenized; quotes allow any
// character; a repeated key keeps its first place and takes the later value). supervisord reads
// some unquoted values differently from how they look (PATH=$PATH:/x is PATH="$"); the result is
// what supervisord reads, and `misread` (if given) says where that differs from the text.
Result<std::vector<std::pair<std::string, std::string>>> ParseKeyValuePairs(
    std::string_view text, std::vector<std::string>* misread = nullptr);

// supervisord's value types. Each returns nothing when the text is not of its kind.
std::optional<bool> ParseBoolean(std::string_view text);  // true/false yes/no on/off 1/0
std::optional<int64_t> ParseInteger(std::string_view text);
std::optional<uint64_t> ParseByteSize(std::string_view text);  // 1024, 10KB, 50MB, 1GB
std::optional<uint32_t> ParseOctal(std::string_view text);     // int(text, 8): 022, 0o22

}  // namespace warden::importer::supervisord
