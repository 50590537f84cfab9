// Private to config/: the scalar grammars of warden.yaml (integers, seconds, sizes, octal modes,
// booleans, signals, names) as pure functions of text, and the "did you mean" helper. Each
// returns nothing when the text is not of its kind; range checks belong to the caller.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace warden::config::internal {

// Decimal, optional sign: "42", "-1". Not "1.0", "0x10" or "1e3".
std::optional<int64_t> ParseInteger(std::string_view text);
// A finite decimal number: "1", "0.5", "2.", "1e2". Not "inf" or "nan".
std::optional<double> ParseNumber(std::string_view text);
// Bytes, or a number with K, M or G (also KB/MB/GB and KiB/MiB/GiB; 1024-based, any case,
// optional space): "50MB", "200M", "512K"; a number with a unit may have a fraction: "1.5G".
std::optional<uint64_t> ParseSize(std::string_view text);
// Octal digits only, with or without leading zeros: "0600", "600", "022".
std::optional<uint64_t> ParseOctal(std::string_view text);
// true/false, yes/no, on/off in any case (YAML 1.1 and supervisord both accept these).
std::optional<bool> ParseBool(std::string_view text);
// A signal name with or without "SIG" in any case ("TERM", "SIGterm"), or a number 1..64.
std::optional<int> ParseSignal(std::string_view text);
// Process, program and group names: [A-Za-z0-9_.-]+.
bool IsValidName(std::string_view name);

// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), ASCII-case-blind.
size_t EditDistance(std::string_view a, std::string_view b);
// The candidate closest to `word` when it is close enough to be a likely typo, else "".
std::string Suggest(std::string_view word, std::span<const std::string_view> candidates);
std::string Suggest(std::string_view word, std::span<const std::string> candidates);
// " (did you mean 'x'?)" or "".
std::string DidYouMean(std::string_view word, std::span<const std::string_view> candidates);
std::string DidYouMean(std::string_view word, std::span<const std::string> candidates);

}  // namespace warden::config::internal
