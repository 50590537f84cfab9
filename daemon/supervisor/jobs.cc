#include "daemon/supervisor/jobs.h"

#include <spdlog/spdlog.h>
#include <algorithm>

namespace warden {

const char* JobKindName(JobKind kind) {
  switch (kind) {
    case JobKind::kStart:
      return "start";
    case JobKind::kStop:
      return "stop";
    case JobKind::kRestart:
      return "restart";
    case JobKind::kUpdate:
      return "update";
    case JobKind::kShutdown:
      return "shutdown";
  }
  return "job";
}

JobTable::Id JobTable::Open(JobKind kind, std::vector<uint64_t> processes) {
  const Id id = ++next_;
  jobs_.emplace(id, Job{id, kind, std::move(processes)});
  spdlog::debug("job {}: {} of {} processes", id, JobKindName(kind), jobs_.at(id).processes.size());
  return id;
}

bool JobTable::Close(Id id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) {
    spdlog::error("job {} completed twice: the second completion is dropped", id);
    return false;
  }
  spdlog::debug("job {}: {} done", id, JobKindName(it->second.kind));
  jobs_.erase(it);
  return true;
}

void JobTable::Forget(uint64_t process) {
  for (auto& [id, job] : jobs_) {
    auto& ids = job.processes;
    ids.erase(std::remove(ids.begin(), ids.end(), process), ids.end());
  }
}

bool JobTable::Refers(uint64_t process) const {
  for (const auto& [id, job] : jobs_) {
    if (std::find(job.processes.begin(), job.processes.end(), process) != job.processes.end()) {
      return true;
    }
  }
  return false;
}

}  // namespace warden
