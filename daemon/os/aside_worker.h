// AsideWorker: slow, self-contained work done off the loop's thread, its result handed back to
// the loop.
//
// Reading a configuration of 10,000 programs takes wardend about a second (yaml-cpp, the
// checks of each program); done in the loop, `wardenctl reread` or `update` would hold the
// control socket and every child's exit for that long. The work given here must touch nothing
// the loop touches (it gets its inputs by value and fills a result that only `done` reads):
// `work` runs on the worker's thread, then `done` runs on the loop's thread, from the loop,
// in the order the work was handed over (one thread, one queue). Like BackgroundCloser's, the
// thread starts on first use and inherits the loop thread's blocked signal mask (every signal
// goes to the signalfd).
//
// Without Start (a loop driven by hand: the simulation, unit tests), `work` and `done` run at
// once, in the caller: the supervisor behaves as it did before the worker existed.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "base/status.h"
#include "base/unique_fd.h"
#include "daemon/os/event_loop.h"

namespace warden {

class AsideWorker {
 public:
  explicit AsideWorker(EventLoop& loop) : loop_(loop) {}
  // Waits for the work under way (not for what is queued behind it, which is dropped with its
  // `done`), then joins the thread.
  ~AsideWorker();
  AsideWorker(const AsideWorker&) = delete;
  AsideWorker& operator=(const AsideWorker&) = delete;

  // Makes the eventfd that wakes the loop when work is done, and watches it (priority: the
  // loop's timers'). Needs an Init'ed loop.
  Status Start();
  bool started() const { return static_cast<bool>(event_fd_); }

  void Run(std::function<void()> work, std::function<void()> done);

  // Work handed over and not yet done (its `done` not yet run).
  size_t pending() const { return pending_; }

 private:
  struct Item {
    std::function<void()> work;
    std::function<void()> done;
  };
  void ThreadMain();
  void OnDone();

  EventLoop& loop_;
  UniqueFd event_fd_;
  size_t pending_ = 0;  // loop thread only

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Item> queue_;                    // to do
  std::vector<std::function<void()>> ready_;  // done's whose work is done, in order
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace warden
