// The names of the standard Linux signals, one table for the config loader, wardenctl and
// wardend. Numbers come from <csignal>; real-time signals have no fixed number and no entry.
#pragma once

#include <csignal>
#include <string_view>

namespace warden {

struct SignalEntry {
  std::string_view name;  // without "SIG"
  int number;
};

// The first entry for a number is its name; the later ones (IOT, POLL, CLD) are aliases.
inline constexpr SignalEntry kSignalTable[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},     {"BUS", SIGBUS},   {"FPE", SIGFPE},
    {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
    {"IO", SIGIO},     {"PWR", SIGPWR},       {"SYS", SIGSYS},   {"IOT", SIGABRT},
    {"POLL", SIGIO},   {"CLD", SIGCHLD},
};

// "TERM" for SIGTERM; "" when the number has no name (real-time signals, bad numbers).
constexpr std::string_view SignalNameOf(int number) {
  for (const SignalEntry& s : kSignalTable) {
    if (s.number == number) return s.name;
  }
  return {};
}

}  // namespace warden
