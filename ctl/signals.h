// Signal names as users type them and as status lines print them. Linux numbering; the names are
// the kernel's (TERM, HUP, ...) without the SIG prefix, as supervisord's stopsignal takes them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace warden::ctl {

// "TERM", "SIGTERM", "term", "15", "RTMIN+2" -> the signal number; nullopt for anything that is
// not a signal (including 0, which would only probe for the process).
std::optional<int> ParseSignal(std::string_view text);

// 15 -> "SIGTERM", 36 -> "SIGRTMIN+2" (glibc numbering), 99 -> "signal 99".
std::string SignalName(int signal);

}  // namespace warden::ctl
