// ${VAR} expansion in command words and environment values. Pure text functions, used by the
// loader (to report a malformed reference at its place) and by wardend (to expand at spawn
// time, against the environment the program will get).
//
// The forms, as a POSIX shell reads them:
//   ${NAME}            the variable's value; "" when it is not set
//   ${NAME:-default}   the value, or `default` (taken as written) when unset or empty
//   $${                a literal "${" (the escape)
// Any other '$' is kept as it is, so "$HOME" and "$$" reach a shell command unchanged. NAME is
// [A-Za-z_][A-Za-z0-9_]*.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace warden::config {

using VariableLookup = std::function<std::optional<std::string>(std::string_view name)>;

// The expanded text, or kInvalidArgument naming the problem ("unterminated ${", "bad variable
// name 'A-B' in ${A-B}").
Result<std::string> ExpandVariables(std::string_view text, const VariableLookup& lookup);

}  // namespace warden::config
