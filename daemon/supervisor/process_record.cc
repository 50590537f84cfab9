// The record of the processes tracked through /proc. See process_record.h.
#include "daemon/supervisor/process_record.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <unordered_map>

namespace warden {
namespace {

constexpr std::string_view kHeader = "# warden process record, boot ";
constexpr size_t kSlack = 32;  // lines beyond twice the live ones before a rewrite

template <typename T>
bool ParseNumber(std::string_view* rest, T* out) {
  while (!rest->empty() && rest->front() == ' ') rest->remove_prefix(1);
  const char* begin = rest->data();
  const char* end = begin + rest->size();
  auto [ptr, ec] = std::from_chars(begin, end, *out);
  if (ec != std::errc() || ptr == begin) return false;
  rest->remove_prefix(static_cast<size_t>(ptr - begin));
  return rest->empty() || rest->front() == ' ';
}

bool Dead(const os::ProcStat& p) { return p.state == 'Z' || p.state == 'X'; }

}  // namespace

ParsedRecord ParseRecord(std::string_view text) {
  ParsedRecord out;
  std::map<std::pair<int, uint64_t>, size_t> index;  // -> out.live position
  std::vector<bool> removed;
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    if (newline == std::string_view::npos) break;  // cut short: not written whole
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline + 1);
    ++out.lines;
    if (line.substr(0, kHeader.size()) == kHeader) {
      out.boot = std::string(line.substr(kHeader.size()));
      continue;
    }
    if (line.size() < 2 || line[1] != ' ' || (line[0] != '+' && line[0] != '-')) continue;
    const bool add = line[0] == '+';
    std::string_view rest = line.substr(1);
    int pid = 0;
    uint64_t start = 0;
    if (!ParseNumber(&rest, &pid) || !ParseNumber(&rest, &start) || pid <= 0) continue;
    const std::pair<int, uint64_t> key{pid, start};
    if (!add) {
      if (auto it = index.find(key); it != index.end()) {
        removed[it->second] = true;
        index.erase(it);
      }
      continue;
    }
    if (rest.size() < 2 || index.count(key) != 0) continue;
    index[key] = out.live.size();
    out.live.push_back({pid, start, std::string(rest.substr(1))});
    removed.push_back(false);
  }
  size_t kept = 0;
  for (size_t i = 0; i < out.live.size(); ++i) {
    if (removed[i]) continue;
    if (kept != i) out.live[kept] = std::move(out.live[i]);
    ++kept;
  }
  out.live.resize(kept);
  return out;
}

std::string FormatRecordHeader(const std::string& boot) {
  return std::string(kHeader) + (boot.empty() ? "-" : boot) + "\n";
}

std::string FormatAdded(const RecordEntry& entry) {
  return "+ " + std::to_string(entry.pid) + " " + std::to_string(entry.start_ticks) + " " +
         entry.name + "\n";
}

std::string FormatRemoved(int pid, uint64_t start_ticks) {
  return "- " + std::to_string(pid) + " " + std::to_string(start_ticks) + "\n";
}

std::vector<RecordedLeftovers> FindRecordedLeftovers(const std::vector<RecordEntry>& entries,
                                                     const std::vector<os::ProcStat>& snapshot,
                                                     int self) {
  std::unordered_map<int, std::vector<const RecordEntry*>> recorded;  // pid -> entries
  for (const RecordEntry& e : entries) recorded[e.pid].push_back(&e);
  std::unordered_map<int, size_t> at;                     // pid -> snapshot index
  std::unordered_map<int, std::vector<size_t>> children;  // ppid -> snapshot indexes
  for (size_t i = 0; i < snapshot.size(); ++i) {
    at[snapshot[i].pid] = i;
    children[snapshot[i].ppid].push_back(i);
  }
  std::vector<const RecordEntry*> owner(snapshot.size(), nullptr);

  // 1. The recorded processes still alive: same pid, same start.
  for (size_t i = 0; i < snapshot.size(); ++i) {
    auto it = recorded.find(snapshot[i].pid);
    if (it == recorded.end()) continue;
    for (const RecordEntry* e : it->second) {
      if (e->start_ticks == snapshot[i].start_ticks) owner[i] = e;
    }
  }
  // 2. Their sessions and process groups: a session or group id is the pid of the process that
  // made it, and the kernel gives that pid to no other process while the session or group has
  // members. A member started after the recorded process, whose leader is gone or is that
  // process, is in that process's session (the leader's pid given again to a new leader would
  // show a different start).
  auto session_owner = [&](const os::ProcStat& p) -> const RecordEntry* {
    const RecordEntry* best = nullptr;
    for (int id : {p.session, p.pgrp}) {
      auto it = recorded.find(id);
      if (it == recorded.end()) continue;
      auto leader = at.find(id);
      for (const RecordEntry* e : it->second) {
        if (p.start_ticks < e->start_ticks) continue;
        if (leader != at.end() && snapshot[leader->second].start_ticks != e->start_ticks) continue;
        if (best == nullptr || e->start_ticks > best->start_ticks) best = e;
      }
    }
    return best;
  };
  for (size_t i = 0; i < snapshot.size(); ++i) {
    if (owner[i] == nullptr) owner[i] = session_owner(snapshot[i]);
  }
  // 3. Descendants of those, breadth-first.
  std::vector<size_t> queue;
  for (size_t i = 0; i < snapshot.size(); ++i) {
    if (owner[i] != nullptr) queue.push_back(i);
  }
  for (size_t q = 0; q < queue.size(); ++q) {
    auto kids = children.find(snapshot[queue[q]].pid);
    if (kids == children.end()) continue;
    for (size_t k : kids->second) {
      if (owner[k] != nullptr || snapshot[k].pid == snapshot[queue[q]].pid) continue;
      owner[k] = owner[queue[q]];
      queue.push_back(k);
    }
  }

  std::map<std::string, std::vector<os::ProcStat>> by_name;
  for (size_t i = 0; i < snapshot.size(); ++i) {
    if (owner[i] == nullptr || snapshot[i].pid == self || Dead(snapshot[i])) continue;
    by_name[owner[i]->name].push_back(snapshot[i]);
  }
  std::vector<RecordedLeftovers> out;
  for (auto& [name, processes] : by_name) {
    std::sort(processes.begin(), processes.end(),
              [](const os::ProcStat& a, const os::ProcStat& b) { return a.pid < b.pid; });
    out.push_back({name, std::move(processes)});
  }
  return out;
}

// --- the file ------------------------------------------------------------------------------------

ProcessRecord::ProcessRecord(os::System& system, std::string path)
    : system_(system), path_(std::move(path)), boot_(Boot()) {}

std::string ProcessRecord::Boot() const {
  auto text = system_.ReadFile("/proc/sys/kernel/random/boot_id");
  if (!text) return "";
  std::string boot = *text;
  while (!boot.empty() && (boot.back() == '\n' || boot.back() == ' ')) boot.pop_back();
  return boot;
}

std::vector<RecordEntry> ProcessRecord::Read() const {
  auto text = system_.ReadFile(path_);
  if (!text) return {};
  ParsedRecord parsed = ParseRecord(*text);
  const std::string boot = boot_.empty() ? "-" : boot_;
  if (parsed.boot != boot) {
    spdlog::info("{} was written before the last boot: its processes are gone", path_);
    return {};
  }
  return std::move(parsed.live);
}

void ProcessRecord::Reset(const std::vector<RecordEntry>& entries) {
  started_ = true;
  live_.clear();
  for (const RecordEntry& e : entries) live_[{e.pid, e.start_ticks}] = e.name;
  Rewrite();
}

void ProcessRecord::Resume() {
  started_ = true;
  live_.clear();
  append_fd_.reset();
  auto text = system_.ReadFile(path_);
  if (!text) {
    Rewrite();
    return;
  }
  ParsedRecord parsed = ParseRecord(*text);
  for (RecordEntry& e : parsed.live) live_[{e.pid, e.start_ticks}] = std::move(e.name);
  lines_ = parsed.lines;
  if (!text->empty() && text->back() != '\n') stale_ = true;  // a cut line: rewrite first
}

void ProcessRecord::Add(int pid, uint64_t start_ticks, const std::string& name) {
  if (!started_) return;
  auto [it, added] = live_.try_emplace({pid, start_ticks}, name);
  if (!added) return;
  Append(FormatAdded({pid, start_ticks, name}));
}

void ProcessRecord::Remove(int pid, uint64_t start_ticks) {
  if (!started_) return;
  if (live_.erase({pid, start_ticks}) == 0) return;
  Append(FormatRemoved(pid, start_ticks));
}

void ProcessRecord::Append(const std::string& line) {
  if (stale_ || lines_ + 1 > 2 * live_.size() + kSlack) {
    Rewrite();
    return;
  }
  if (!append_fd_) append_fd_ = system_.OpenAppend(path_);
  Status appended =
      append_fd_ ? system_.AppendTo(append_fd_.get(), path_, line)
                 : Status(ErrorCode::kInternal, "open " + path_ + ": " + std::strerror(errno));
  if (!appended.ok()) {
    spdlog::warn("{}: {}; rewriting it at the next change", path_, appended.message());
    append_fd_.reset();
    stale_ = true;
    return;
  }
  ++lines_;
}

void ProcessRecord::Rewrite() {
  std::string text = FormatRecordHeader(boot_);
  for (const auto& [key, name] : live_) text += FormatAdded({key.first, key.second, name});
  append_fd_.reset();  // it stands for the file being replaced
  if (Status written = system_.ReplaceFile(path_, text); !written.ok()) {
    if (!stale_) spdlog::warn("{}: {}", path_, written.message());
    stale_ = true;
    return;
  }
  stale_ = false;
  lines_ = live_.size() + 1;
}

std::vector<RecordEntry> ProcessRecord::Entries() const {
  std::vector<RecordEntry> out;
  out.reserve(live_.size());
  for (const auto& [key, name] : live_) out.push_back({key.first, key.second, name});
  return out;
}

void ProcessRecord::Finish() {
  if (!started_) return;
  for (auto it = live_.begin(); it != live_.end();) {
    auto now = system_.ReadProcStat(it->first.first);
    const bool alive = now && now->start_ticks == it->first.second && !Dead(*now);
    it = alive ? std::next(it) : live_.erase(it);
  }
  append_fd_.reset();
  if (live_.empty()) {
    system_.RemoveFile(path_);
    return;
  }
  Rewrite();
}

}  // namespace warden
