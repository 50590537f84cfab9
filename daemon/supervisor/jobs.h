// Jobs: the control operations in flight. Every request that acts on processes (start, stop,
// restart, update, shutdown) is a job from the moment the supervisor accepts it until its one
// reply. A job names the processes it concerns by their id (Process::id(), never reused within
// one wardend), not by pointer: an `update` may remove a process while a job waits for it, and
// whoever holds an id looks it up again on every use. The rules for conflicts are in
// docs/design.md ("Jobs").
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace warden {

enum class JobKind : uint8_t { kStart, kStop, kRestart, kUpdate, kShutdown };

const char* JobKindName(JobKind kind);

class JobTable {
 public:
  using Id = uint64_t;

  struct Job {
    Id id = 0;
    JobKind kind = JobKind::kStart;
    std::vector<uint64_t> processes;  // the ids of the processes it concerns, while they exist
  };

  // A new job; its id is never reused.
  Id Open(JobKind kind, std::vector<uint64_t> processes = {});
  // Ends job `id`: true the first time, false if it had ended already (a second completion,
  // which callers must not pass on).
  bool Close(Id id);
  // A process is gone (removed by an update): no job refers to it any longer.
  void Forget(uint64_t process);

  size_t size() const { return jobs_.size(); }
  bool empty() const { return jobs_.empty(); }
  const std::map<Id, Job>& jobs() const { return jobs_; }
  // Whether any open job still refers to process `process`.
  bool Refers(uint64_t process) const;

  // Wraps `done` so that it runs once, when job `id` closes; a second call is dropped.
  template <typename... Args>
  std::function<void(Args...)> Completion(Id id, std::function<void(Args...)> done) {
    return [this, id, done = std::move(done)](Args... args) {
      if (!Close(id)) return;
      if (done) done(std::forward<Args>(args)...);
    };
  }

 private:
  std::map<Id, Job> jobs_;
  Id next_ = 0;
};

}  // namespace warden
