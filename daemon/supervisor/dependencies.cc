// The depends_on graph and the start rule. See dependencies.h for the rules.
#include "daemon/supervisor/dependencies.h"

#include <algorithm>
#include <deque>
#include <map>
#include <utility>

namespace warden {

DependencyGraph::DependencyGraph(std::vector<Program> programs) : programs_(std::move(programs)) {
  const size_t n = programs_.size();
  for (size_t i = 0; i < n; ++i) index_.emplace(programs_[i].name, i);
  deps_.resize(n);
  dependents_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    for (const std::string& dep : programs_[i].depends_on) {
      const size_t d = Index(dep);
      if (d == n || d == i) continue;
      if (std::find(deps_[i].begin(), deps_[i].end(), d) != deps_[i].end()) continue;
      deps_[i].push_back(d);
      dependents_[d].push_back(i);
    }
  }

  // A topological order, dependencies first (Kahn). Programs on a cycle (impossible after the
  // config checks) are appended at the end in index order, so every program gets a tier.
  std::vector<size_t> order;
  order.reserve(n);
  std::vector<size_t> missing(n);
  std::deque<size_t> ready;
  for (size_t i = 0; i < n; ++i) {
    missing[i] = deps_[i].size();
    if (missing[i] == 0) ready.push_back(i);
  }
  std::vector<bool> placed(n, false);
  while (!ready.empty()) {
    const size_t i = ready.front();
    ready.pop_front();
    order.push_back(i);
    placed[i] = true;
    for (size_t e : dependents_[i]) {
      if (--missing[e] == 0) ready.push_back(e);
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (!placed[i]) order.push_back(i);
  }

  std::vector<int> depth(n, 0);
  for (size_t i : order) {
    for (size_t d : deps_[i]) {
      if (placed[d] && placed[i]) depth[i] = std::max(depth[i], depth[d] + 1);
    }
  }
  std::vector<int> effective(n);
  for (size_t i = 0; i < n; ++i) effective[i] = programs_[i].priority;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {  // dependents first
    for (size_t e : dependents_[*it]) effective[*it] = std::min(effective[*it], effective[e]);
  }
  std::map<std::pair<int, int>, int> ranks;
  for (size_t i = 0; i < n; ++i) ranks.emplace(std::make_pair(effective[i], depth[i]), 0);
  int rank = 0;
  for (auto& [key, value] : ranks) value = rank++;
  tier_.resize(n);
  for (size_t i = 0; i < n; ++i) tier_[i] = ranks[{effective[i], depth[i]}];
}

size_t DependencyGraph::Index(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? programs_.size() : it->second;
}

int DependencyGraph::Tier(std::string_view program) const {
  const size_t i = Index(program);
  return i == programs_.size() ? 0 : tier_[i];
}

const std::vector<std::string>& DependencyGraph::DependsOn(std::string_view program) const {
  static const std::vector<std::string> kNone;
  const size_t i = Index(program);
  if (i == programs_.size()) return kNone;
  return programs_[i].depends_on;
}

std::vector<std::string> DependencyGraph::Requirements(std::string_view program) const {
  const size_t start = Index(program);
  if (start == programs_.size()) return {};
  std::vector<bool> seen(programs_.size(), false);
  std::vector<size_t> found;
  std::vector<size_t> stack{start};
  seen[start] = true;
  while (!stack.empty()) {
    const size_t i = stack.back();
    stack.pop_back();
    for (size_t d : deps_[i]) {
      if (seen[d]) continue;
      seen[d] = true;
      found.push_back(d);
      stack.push_back(d);
    }
  }
  std::sort(found.begin(), found.end(), [&](size_t a, size_t b) { return tier_[a] < tier_[b]; });
  std::vector<std::string> out;
  for (size_t i : found) out.push_back(programs_[i].name);
  return out;
}

std::vector<std::string> DependencyGraph::Dependents(std::string_view program) const {
  const size_t start = Index(program);
  if (start == programs_.size()) return {};
  std::vector<bool> seen(programs_.size(), false);
  std::vector<size_t> stack{start};
  std::vector<std::string> out;
  seen[start] = true;
  while (!stack.empty()) {
    const size_t i = stack.back();
    stack.pop_back();
    for (size_t e : dependents_[i]) {
      if (seen[e]) continue;
      seen[e] = true;
      out.push_back(programs_[e].name);
      stack.push_back(e);
    }
  }
  return out;
}

StartVerdict JudgeStart(const std::vector<DependencyState>& deps) {
  std::vector<std::string> waiting;
  for (const DependencyState& d : deps) {
    // A dependency whose own start is pending will be started: whatever it shows now is stale.
    if (d.start_pending) {
      if (std::find(waiting.begin(), waiting.end(), d.name) == waiting.end()) {
        waiting.push_back(d.name);
      }
      continue;
    }
    switch (d.state) {
      case core::State::kRunning:
        continue;
      case core::State::kFatal:
        return {StartVerdict::kFail,
                "dependency " + d.name + " is FATAL" + (d.reason.empty() ? "" : ": " + d.reason)};
      case core::State::kStopped:
      case core::State::kExited:
      case core::State::kUnknown:
        return {StartVerdict::kFail, "dependency " + d.name + " is " + core::StateName(d.state) +
                                         (d.reason.empty() ? "" : ": " + d.reason)};
      case core::State::kStarting:
      case core::State::kBackoff:
        if (d.ran_since_request) continue;  // up once since; restarting on its own now
        break;
      case core::State::kStopping:
        break;
    }
    if (std::find(waiting.begin(), waiting.end(), d.name) == waiting.end()) {
      waiting.push_back(d.name);
    }
  }
  if (waiting.empty()) return {StartVerdict::kGo, ""};
  std::string reason = "waiting for ";
  for (size_t i = 0; i < waiting.size(); ++i) reason += (i ? ", " : "") + waiting[i];
  return {StartVerdict::kWait, reason};
}

}  // namespace warden
