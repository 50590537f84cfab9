// The bytes of the state a wardend image hands to the next one across execve (the DaemonState
// of daemon/supervisor/saved_state.h; `wardenctl reexec`, reexec.h).
//
// Encoded with proto/wire.h (big-endian, field by field): the magic "WRDS", kStateVersion (u32),
// the body, nothing after it. An image writes kStateVersion and reads every version of
// kReadableStateVersions (`wardend --state-version` prints them); the old image re-executes a
// binary only when the version it writes is among them. Decoding checks every length and
// rejects truncated, oversized or trailing input.
//
// Version 1: no config sources (the new image loads the config file named by config_path).
// Version 2: + config_sources, the configuration in force as the files it was built from;
//            + SavedProcess::start_after_stop.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "daemon/supervisor/saved_state.h"

namespace warden {

inline constexpr uint32_t kStateMagic = 0x57524453;  // "WRDS"
inline constexpr uint32_t kStateVersion = 2;
inline constexpr uint32_t kReadableStateVersions[] = {1, 2};
// "1 2": what `wardend --state-version` prints.
std::string ReadableStateVersions();

// `version`: kStateVersion, or an older one of kReadableStateVersions (for tests: what an older
// wardend wrote), leaving out what it did not have.
std::vector<uint8_t> EncodeState(const DaemonState& state, uint32_t version = kStateVersion);
// kInvalidArgument with what is wrong: bad magic, a version this image cannot read ("state
// version 7, this wardend reads 1 2"), truncated or trailing bytes, impossible values.
Result<DaemonState> DecodeState(const std::vector<uint8_t>& bytes);

}  // namespace warden
