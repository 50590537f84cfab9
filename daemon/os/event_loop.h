// One thread, one epoll. Sources are fds with a callback and a priority; timers come from one
// ordered deadline structure behind a single timerfd, so with no timer due the loop sleeps in
// epoll_wait with no timeout at all (zero wakeups when idle).
//
// Within one wakeup the ready sources run in priority order (lower first): the daemon gives
// signals (child exits) priority 0, timers 1 and control connections 2, so a child's exit is
// always seen before a command that refers to it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <typeinfo>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "base/unique_fd.h"
#include "daemon/os/task_queue.h"

namespace warden {

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  using FdCallback = std::function<void(uint32_t events)>;
  using TimerCallback = std::function<void()>;
  using TimerId = uint64_t;

  static constexpr int kPrioritySignals = 0;
  static constexpr int kPriorityTimers = 1;
  static constexpr int kPriorityIo = 2;

  EventLoop() = default;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  Status Init();

  // Watches fd for `events` (EPOLLIN, EPOLLOUT, ...). The loop does not own the fd; Remove it
  // before closing it. Callbacks may add, modify and remove sources, their own included.
  Status Add(int fd, uint32_t events, int priority, FdCallback callback);
  Status Modify(int fd, uint32_t events);
  void Remove(int fd);

  // Calls `callback` once at `deadline`. Cancel is a no-op for a timer that fired or was
  // cancelled, so holders may cancel unconditionally.
  TimerId AddTimer(TimePoint deadline, TimerCallback callback);
  void CancelTimer(TimerId id);
  size_t pending_timers() const { return timers_.size(); }

  // Runs `fn` after the callback that is running now returns (before the next source). Used to
  // keep state-machine notifications out of the machine's own call stack.
  template <typename F>
  void Post(F&& fn) {
    posted_.Push(std::forward<F>(fn));
  }

  // Gives the heap's free pages back to the system (malloc_trim) once such work has stopped for
  // kTrimQuiet: for work that allocated much and freed it (a big reply, a start of many
  // programs), so that the daemon's footprint follows what it keeps, not its peaks. Not after
  // each piece of it: a client asking for status again and again would fault the same pages
  // back in every time (on a VM, most of a reused status's cost). One timer per quiet spell;
  // none while idle.
  static constexpr std::chrono::milliseconds kTrimQuiet{500};
  void TrimAfter();

  // Runs until Stop() is called.
  void Run();

  // Due timers run in one wakeup for at most this long (the first always runs): the rest wait
  // for the next wakeup, after the signals and fds ready by then. 10,000 deadlines that fall
  // due together (stop-wait-secs after a stop of all, the start-secs checks) are then served
  // in slices, as launches and reaps are, instead of holding the control socket for as long as
  // they all take. Measured on the real clock only: the simulation's clock stands still while
  // it runs timers, so it runs all that are due, as before.
  static constexpr std::chrono::milliseconds kTimersPerWakeup{5};

  // With wardend's log at debug level, a turn of the loop (one wakeup: its signals, timers and
  // fds, and what they posted) that takes longer than this is logged with the handler that
  // took longest ("event loop: a turn took 85 ms (2 sources, 40 timers); longest 80 ms:
  // warden::Supervisor::ReapChildren()::{lambda()#1}"): the way to find what holds the control
  // socket (docs/design.md, "Never blocked by a client").
  static constexpr std::chrono::milliseconds kSlowTurn{20};
  void Stop() { running_ = false; }

  // The time: the monotonic clock, unless a deterministic simulation (daemon/sim) installed its
  // own (SetSimulatedClock: the time point it advances by hand; null again for the real one).
  // Process-wide because every part of the daemon asks it; the real path costs one load and a
  // branch more than Clock::now().
  static TimePoint Now() { return simulated_now_ != nullptr ? *simulated_now_ : Clock::now(); }
  static void SetSimulatedClock(const TimePoint* now) { simulated_now_ = now; }

  // Driving the loop by hand, without Init or Run (the simulation): no fd is watched and no
  // timerfd is armed; the driver asks for the earliest deadline, moves its clock there and
  // runs what is due, each timer followed by the posted callbacks (as Run does after every
  // source). RunPosted runs what the driver's own calls posted.
  std::optional<TimePoint> NextDeadline() const {
    if (timers_.empty()) return std::nullopt;
    return timers_.begin()->first.first;
  }
  void RunDueTimers();
  void RunPosted();
  bool has_posted() const { return !posted_.empty(); }
  // Driven by hand, fds are still watched (Add, Modify, Remove keep their books), and this runs
  // the callbacks of those that are ready now: one poll(2) without waiting, then each ready
  // source in priority order (then by fd), each followed by the posted callbacks, as Run does.
  // How many ran.
  size_t RunReadySources();

 private:
  struct Source {
    int fd;
    int priority;
    uint64_t token;  // the epoll data: the fd, and which Add of it (stale events are dropped)
    FdCallback callback;
    uint32_t events;  // what it is watched for (RunReadySources polls for it)
  };
  // The source `token` names, if it is still watched; null otherwise.
  const std::shared_ptr<Source>* Find(uint64_t token) const;
  struct Timer {
    TimePoint deadline;
    TimerCallback callback;
  };

  void RearmTimerFd();

  // The turn being watched for slowness (kSlowTurn), while the log is at debug level. Each
  // handler (a source's callback, a timer) is timed with what it posted; Note keeps the one
  // that took longest, named by its callable's type.
  struct TurnWatch {
    bool on = false;
    TimePoint began{};
    size_t sources = 0;
    size_t timers = 0;
    Clock::duration longest{};
    const std::type_info* longest_type = nullptr;
  };
  void NoteHandler(TimePoint began, const std::type_info& type);
  void EndTurn();
  TurnWatch turn_;

  UniqueFd epoll_;
  UniqueFd timer_fd_;
  bool running_ = false;
  uint32_t next_generation_ = 1;
  // Indexed by fd: one pointer per descriptor number instead of two hash nodes per source.
  std::vector<std::shared_ptr<Source>> by_fd_;
  TimerId next_timer_id_ = 1;
  std::map<std::pair<TimePoint, TimerId>, TimerCallback> timers_;
  std::unordered_map<TimerId, TimePoint> timer_deadline_;
  std::optional<TimePoint> armed_;
  TaskQueue posted_;
  TimerId trim_timer_ = 0;
  TimePoint last_heavy_{};  // the latest TrimAfter
  void ArmTrim(TimePoint at);
  inline static const TimePoint* simulated_now_ = nullptr;
};

}  // namespace warden
