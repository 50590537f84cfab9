// Helpers the supervisor's operations share (supervisor.cc, operations.cc, update.cc): what
// counts as stopped, and the gathering of one outcome per process into one answer.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "daemon/supervisor/supervisor.h"

namespace warden::outcomes {

inline bool IsStoppedState(core::State s) {
  return s == core::State::kStopped || s == core::State::kExited || s == core::State::kFatal ||
         s == core::State::kUnknown;
}

inline ActionOutcome Ok(const std::string& name) { return {name, ErrorCode::kOk, ""}; }

// Collects one result per slot and calls done when the last one is in.
struct Gather {
  std::vector<ActionOutcome> results;
  size_t remaining = 0;
  Supervisor::ResultsCallback done;
  void Put(size_t slot, ActionOutcome r) {
    results[slot] = std::move(r);
    Release();
  }
  // Drops one count without a result (a hold taken while operations are being set up).
  void Release() {
    if (--remaining == 0 && done) {
      auto callback = std::move(done);
      done = nullptr;
      callback(std::move(results));
    }
  }
};

}  // namespace warden::outcomes
