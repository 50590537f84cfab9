#include "ctl/shell.h"

#include <editline/readline.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <set>

#include "ctl/commands.h"
#include "ctl/dispatch.h"
#include "proto/messages.h"

namespace warden::ctl {
namespace {

constexpr const char* kPrompt = "warden> ";
constexpr int kHistoryLines = 1000;

const std::vector<std::string>& SignalWords() {
  static const std::vector<std::string> kWords = {"HUP",  "INT",  "QUIT", "KILL", "USR1",
                                                  "USR2", "TERM", "CONT", "STOP", "WINCH"};
  return kWords;
}

const std::vector<std::string>& StateWords() {
  static const std::vector<std::string> kWords = {"STOPPED",  "STARTING", "RUNNING", "BACKOFF",
                                                  "STOPPING", "EXITED",   "FATAL"};
  return kWords;
}

// The options a command takes after its name (besides what every command takes).
std::vector<std::string> OptionsOf(CommandKind kind) {
  std::vector<std::string> options = {"--help", "--json"};
  switch (kind) {
    case CommandKind::kTail:
    case CommandKind::kMaintail:
      options.insert(options.end(), {"-f", "-n", "-c", "--follow", "--lines", "--bytes"});
      break;
    case CommandKind::kLogs:
      options.insert(options.end(), {"-f", "-n", "--follow", "--lines"});
      break;
    case CommandKind::kEvents:
      options.push_back("--current");
      break;
    case CommandKind::kWait:
      options.push_back("--timeout");
      break;
    default:
      break;
  }
  return options;
}

// The words that fit argument number `index` (0 = the first after the command, options and
// their values not counted) of `kind`.
std::vector<std::string> ArgumentWords(CommandKind kind, size_t index,
                                       const std::vector<std::string>& programs, bool* files) {
  auto names_and_all = [&] {
    std::vector<std::string> words = programs;
    words.push_back("all");
    return words;
  };
  switch (kind) {
    case CommandKind::kHelp:
      if (index == 0) {
        std::vector<std::string> words;
        for (const CommandSpec& spec : Commands()) words.push_back(spec.name);
        return words;
      }
      return {};
    case CommandKind::kStatus:
    case CommandKind::kUpdate:
    case CommandKind::kLogRotate:
    case CommandKind::kEvents:
    case CommandKind::kLogs:
      return programs;
    case CommandKind::kStart:
    case CommandKind::kStop:
    case CommandKind::kRestart:
    case CommandKind::kClear:
      return names_and_all();
    case CommandKind::kSignal:
      return index == 0 ? SignalWords() : names_and_all();
    case CommandKind::kPid:
    case CommandKind::kShow:
      return index == 0 ? programs : std::vector<std::string>{};
    case CommandKind::kTail:
      if (index == 0) return programs;
      if (index == 1) return {"stdout", "stderr"};
      return {};
    case CommandKind::kWait:
      if (index == 0) return programs;
      if (index == 1) return StateWords();
      return {};
    case CommandKind::kCheck:
    case CommandKind::kImportSupervisord:
      if (files != nullptr && index == 0) *files = true;
      return {};
    case CommandKind::kVersion:
    case CommandKind::kShutdown:
    case CommandKind::kReexec:
    case CommandKind::kReread:
    case CommandKind::kAvail:
    case CommandKind::kReload:
    case CommandKind::kMaintail:
    case CommandKind::kShell:
      break;
  }
  return {};
}

// Options whose value is the next word ("-n 20"): that word is not an argument.
bool TakesValue(std::string_view option) {
  return option == "-n" || option == "-c" || option == "--lines" || option == "--bytes" ||
         option == "--timeout" || option == "-t";
}

// SplitLine that never fails: an open quote runs to the end of the line (the word being typed).
std::vector<std::string> SplitLenient(std::string_view line, bool* ends_in_blank) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < line.size()) {
        word += line[++i];
      } else {
        word += c;
      }
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
      in_word = true;
    } else {
      word += c;
      in_word = true;
    }
  }
  *ends_in_blank = !in_word;
  if (in_word) words.push_back(std::move(word));
  if (quote != 0) *ends_in_blank = false;
  return words;
}

bool IsQuit(const std::string& word) { return word == "quit" || word == "exit"; }

// Runs one line. Returns the exit status; sets *leave on quit/exit.
int RunLine(const std::string& line, const ShellOptions& options, DaemonLink& daemon,
            std::ostream& out, std::ostream& err, bool* leave) {
  std::optional<std::vector<std::string>> words = SplitLine(line);
  if (!words) {
    err << "wardenctl: unterminated quote\n";
    return kExitUsage;
  }
  if (words->empty()) return kExitOk;
  if (IsQuit((*words)[0])) {
    *leave = true;
    return kExitOk;
  }
  std::optional<Command> command = ParseOrReport(*words, options.json, err);
  if (!command) return kExitUsage;
  command->color = options.color;
  command->columns = options.fit_terminal ? TerminalColumns(STDOUT_FILENO) : 0;
  if (command->kind == CommandKind::kCheck && command->names.empty() && !command->help) {
    command->names.push_back(options.check_config);
  }
  if (command->kind == CommandKind::kHelp && command->topic.empty() && !command->help) {
    out << "Type a command without 'wardenctl' (status, start web, help stop, ...); TAB "
           "completes,\nquit, exit or Ctrl-D leaves.\n\n";
  }
  daemon.DropIfClosed();  // wardend may have restarted while the prompt waited
  return Execute(*command, daemon, out, err);
}

// ---- libedit glue -------------------------------------------------------------------------
// libedit's completion hooks are plain C function pointers with no user data, so the shell that
// is reading a line is reached through this pointer; it is set only inside RunInteractive.
DaemonLink* g_completion_daemon = nullptr;
std::vector<std::string> g_matches;

// Ctrl-C: at the prompt it drops the line; during a command it ends the wait for wardend
// (Client::SetInterruptFlag), so `tail -f` returns to the prompt instead of leaving the shell.
volatile std::sig_atomic_t g_interrupted = 0;
void OnInterrupt(int /*signal*/) { g_interrupted = 1; }

// One byte of the terminal, or -1 at EOF, on an error, or once Ctrl-C was pressed.
int ReadByte(int fd) {
  for (;;) {
    if (g_interrupted != 0) return -1;
    unsigned char byte;
    ssize_t n = ::read(fd, &byte, 1);
    if (n == 1) return byte;
    if (n < 0 && errno == EINTR) continue;  // the check above decides
    return -1;
  }
}

// libedit's key reader (rl_getc_function): its own retries a read that a signal interrupted, so
// Ctrl-C would not end the line. Returns one character, decoded from UTF-8 (libedit takes the
// value as a wchar_t), or -1 to end the line.
int ReadKey(FILE* in) {
  const int fd = fileno(in);
  int lead = ReadByte(fd);
  if (lead < 0x80) return lead;  // ASCII, or -1
  int more = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
  int value = lead & (0x3F >> more);
  for (int i = 0; i < more; ++i) {
    int next = ReadByte(fd);
    if (next < 0) return -1;
    value = (value << 6) | (next & 0x3F);
  }
  return value;
}

char* NextMatch(const char* /*text*/, int state) {
  static size_t next = 0;
  if (state == 0) next = 0;
  if (next >= g_matches.size()) return nullptr;
  return strdup(g_matches[next++].c_str());  // libedit frees it
}

char** Complete(const char* text, int /*start*/, int end) {
  rl_attempted_completion_over = 1;  // no file-name fallback unless asked for below
  std::string before(rl_line_buffer, static_cast<size_t>(std::max(end, 0)));
  bool files = false;
  // Ask wardend only when a program name could come next: the command word never needs it.
  bool blank = false;
  std::vector<std::string> words = SplitLenient(before, &blank);
  std::vector<std::string> programs;
  if ((words.size() > 1 || (words.size() == 1 && blank)) && g_completion_daemon != nullptr) {
    programs = FetchProgramNames(*g_completion_daemon);
  }
  g_matches = CompleteLine(before, programs, &files);
  if (files) {
    rl_attempted_completion_over = 0;
    return nullptr;
  }
  if (g_matches.empty()) return nullptr;
  return rl_completion_matches(text, NextMatch);
}

int RunInteractive(const ShellOptions& options, DaemonLink& daemon, std::ostream& out,
                   std::ostream& err) {
  rl_readline_name = "wardenctl";  // ~/.editrc lines prefixed "wardenctl:" apply
  // Only blanks end a word: "webapps:*" and "web:web_00" complete as one word.
  static char kBreaks[] = " \t\n";
  rl_basic_word_break_characters = kBreaks;
  rl_completer_word_break_characters = kBreaks;
  rl_attempted_completion_function = Complete;
  rl_getc_function = ReadKey;
  g_completion_daemon = &daemon;

  using_history();
  stifle_history(kHistoryLines);
  if (!options.history_path.empty()) {
    // $XDG_STATE_HOME may not exist yet (the XDG spec says to create it, 0700).
    std::string dir = options.history_path.substr(0, options.history_path.rfind('/'));
    if (!dir.empty()) ::mkdir(dir.c_str(), 0700);
    read_history(options.history_path.c_str());
  }

  struct sigaction interrupt {};
  interrupt.sa_handler = OnInterrupt;
  sigemptyset(&interrupt.sa_mask);
  interrupt.sa_flags = 0;  // no SA_RESTART: a blocking wait must see EINTR
  struct sigaction previous {};
  sigaction(SIGINT, &interrupt, &previous);
  Client::SetInterruptFlag(&g_interrupted);

  out << "wardenctl " WARDEN_VERSION ": type 'help' for the commands, 'quit' to leave.\n";
  out.flush();
  std::string last;
  for (;;) {
    g_interrupted = 0;
    char* raw = readline(kPrompt);
    if (raw == nullptr && g_interrupted != 0) {  // Ctrl-C at the prompt: a fresh line
      out << "\n";
      out.flush();
      continue;
    }
    if (raw == nullptr) {  // EOF (Ctrl-D)
      out << "\n";
      break;
    }
    std::string line(raw);
    std::free(raw);
    if (line.find_first_not_of(" \t") != std::string::npos && line != last) {
      add_history(line.c_str());
      last = line;
      if (!options.history_path.empty()) write_history(options.history_path.c_str());
    }
    bool leave = false;
    RunLine(line, options, daemon, out, err, &leave);
    out.flush();
    err.flush();
    if (leave) break;
  }
  Client::SetInterruptFlag(nullptr);
  sigaction(SIGINT, &previous, nullptr);
  g_completion_daemon = nullptr;
  return kExitOk;
}

}  // namespace

std::optional<std::vector<std::string>> SplitLine(std::string_view line) {
  // An open quote is the only thing SplitLenient forgives that a typed command must not have.
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"') {
        ++i;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '\\') {
      ++i;
    }
  }
  if (quote != 0) return std::nullopt;
  bool blank = false;
  return SplitLenient(line, &blank);
}

std::vector<std::string> CompleteLine(std::string_view before_cursor,
                                      const std::vector<std::string>& programs, bool* files) {
  if (files != nullptr) *files = false;
  bool blank = false;
  std::vector<std::string> words = SplitLenient(before_cursor, &blank);
  std::string current;
  if (!blank && !words.empty()) {
    current = std::move(words.back());
    words.pop_back();
  }

  std::vector<std::string> candidates;
  if (words.empty()) {
    for (const CommandSpec& spec : Commands()) candidates.push_back(spec.name);
    candidates.insert(candidates.end(), {"quit", "exit"});
  } else if (const CommandSpec* spec = FindCommand(words[0]); spec != nullptr) {
    if (current.starts_with("-")) {
      candidates = OptionsOf(spec->kind);
    } else {
      // Count the arguments before this one, skipping options and the values they take.
      size_t index = 0;
      for (size_t i = 1; i < words.size(); ++i) {
        if (words[i].size() > 1 && words[i][0] == '-') {
          if (TakesValue(words[i])) ++i;
          continue;
        }
        ++index;
      }
      bool after_value_option = words.size() > 1 && TakesValue(words.back());
      if (!after_value_option) candidates = ArgumentWords(spec->kind, index, programs, files);
    }
  }

  std::set<std::string> matches;
  for (std::string& word : candidates) {
    if (word.starts_with(current)) matches.insert(std::move(word));
  }
  return {matches.begin(), matches.end()};
}

std::vector<std::string> FetchProgramNames(DaemonLink& daemon) {
  daemon.DropIfClosed();
  Result<std::vector<uint8_t>> payload =
      daemon.Call(proto::MessageType::kStatus, proto::Encode(proto::StatusRequest{}));
  if (!payload.ok()) return {};
  proto::StatusReply reply;
  if (!proto::Decode(*payload, &reply)) return {};
  std::vector<std::string> names;
  std::set<std::string> groups;
  for (const proto::ProcessInfo& info : reply.processes) {
    names.push_back(info.FullName());
    if (info.group != info.name) groups.insert(info.group);
  }
  for (const std::string& group : groups) names.push_back(group + ":*");
  return names;
}

std::string HistoryPath(const char* xdg_state_home, const char* home) {
  if (xdg_state_home != nullptr && xdg_state_home[0] == '/') {
    return std::string(xdg_state_home) + "/wardenctl_history";
  }
  if (home != nullptr && home[0] != '\0') return std::string(home) + "/.wardenctl_history";
  return "";
}

int RunShell(const ShellOptions& options, DaemonLink& daemon, std::istream& in, std::ostream& out,
             std::ostream& err) {
  if (options.interactive) return RunInteractive(options, daemon, out, err);
  int status = kExitOk;
  std::string line;
  while (std::getline(in, line)) {
    bool leave = false;
    int line_status = RunLine(line, options, daemon, out, err, &leave);
    out.flush();
    if (leave) break;  // quit keeps the status of the command before it
    if (line.find_first_not_of(" \t") != std::string::npos) status = line_status;
  }
  return status;
}

}  // namespace warden::ctl
