#include "daemon/os/event_loop.h"

#include <cxxabi.h>
#include <malloc.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

namespace warden {
namespace {

// Runs one piece of the loop's work. Memory running out inside it ends that piece of work,
// not wardend: the loop goes on with the next event (docs/design.md, "When memory runs out").
// The message is written without allocating.
template <typename Fn>
void Guarded(Fn&& work) {
  try {
    work();
  } catch (const std::bad_alloc&) {
    static constexpr char kMessage[] =
        "wardend: out of memory: one event's work was abandoned; supervision goes on\n";
    ssize_t ignored = write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    (void)ignored;
  }
}

}  // namespace

Status EventLoop::Init() {
  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return Status(ErrorCode::kIo, std::string("epoll_create1: ") + strerror(errno));
  timer_fd_.reset(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!timer_fd_) return Status(ErrorCode::kIo, std::string("timerfd_create: ") + strerror(errno));
  return Add(timer_fd_.get(), EPOLLIN, kPriorityTimers, [this](uint32_t) {
    uint64_t expirations;
    while (read(timer_fd_.get(), &expirations, sizeof expirations) > 0) {
    }
    armed_.reset();
    RunDueTimers();
  });
}

const std::shared_ptr<EventLoop::Source>* EventLoop::Find(uint64_t token) const {
  const auto fd = static_cast<size_t>(token & 0xffffffffu);
  if (fd >= by_fd_.size() || !by_fd_[fd] || by_fd_[fd]->token != token) return nullptr;
  return &by_fd_[fd];
}

Status EventLoop::Add(int fd, uint32_t events, int priority, FdCallback callback) {
  if (fd < 0) return Status(ErrorCode::kIo, "epoll_ctl add: " + std::string(strerror(EBADF)));
  const uint64_t token = (uint64_t{next_generation_++} << 32) | static_cast<uint32_t>(fd);
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  if (epoll_ && epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    return Status(ErrorCode::kIo, std::string("epoll_ctl add: ") + strerror(errno));
  }
  const auto slot = static_cast<size_t>(fd);
  if (slot >= by_fd_.size()) by_fd_.resize(slot + 1);  // the vector grows geometrically
  by_fd_[slot] = std::make_shared<Source>(Source{fd, priority, token, std::move(callback), events});
  return Status::Ok();
}

Status EventLoop::Modify(int fd, uint32_t events) {
  const auto slot = static_cast<size_t>(fd);
  if (fd < 0 || slot >= by_fd_.size() || !by_fd_[slot]) {
    return Status(ErrorCode::kInternal, "fd not watched");
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = by_fd_[slot]->token;
  if (epoll_ && epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) {
    return Status(ErrorCode::kIo, std::string("epoll_ctl mod: ") + strerror(errno));
  }
  by_fd_[slot]->events = events;
  return Status::Ok();
}

void EventLoop::Remove(int fd) {
  const auto slot = static_cast<size_t>(fd);
  if (fd < 0 || slot >= by_fd_.size() || !by_fd_[slot]) return;
  if (epoll_) epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  by_fd_[slot].reset();
}

EventLoop::TimerId EventLoop::AddTimer(TimePoint deadline, TimerCallback callback) {
  TimerId id = next_timer_id_++;
  timers_.emplace(std::make_pair(deadline, id), std::move(callback));
  timer_deadline_[id] = deadline;
  if (!armed_ || deadline < *armed_) RearmTimerFd();
  return id;
}

void EventLoop::CancelTimer(TimerId id) {
  auto it = timer_deadline_.find(id);
  if (it == timer_deadline_.end()) return;
  timers_.erase({it->second, id});
  timer_deadline_.erase(it);
  // The timerfd may stay armed for a deadline that is gone: it then wakes once, finds nothing
  // due and re-arms for what is left. Cheaper than a syscall per cancel.
}

void EventLoop::RearmTimerFd() {
  if (!timer_fd_) return;  // driven by hand (no Init): the driver runs the timers
  itimerspec spec{};
  if (timers_.empty()) {
    armed_.reset();
  } else {
    TimePoint deadline = timers_.begin()->first.first;
    auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
    if (ns <= 0) ns = 1;  // 0 would disarm
    spec.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
    spec.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
    armed_ = deadline;
  }
  timerfd_settime(timer_fd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
}

void EventLoop::RunDueTimers() {
  const TimePoint now = Now();
  // The budget is real time: the simulation's clock does not move while its timers run.
  const bool budgeted = simulated_now_ == nullptr;
  const TimePoint began = budgeted ? Clock::now() : TimePoint{};
  bool first = true;
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    if (!first && budgeted && Clock::now() - began >= kTimersPerWakeup) break;
    first = false;
    auto node = timers_.extract(timers_.begin());
    timer_deadline_.erase(node.key().second);
    const TimePoint handler_began = turn_.on ? Clock::now() : TimePoint{};
    Guarded([&] { node.mapped()(); });  // may add or cancel timers
    RunPosted();
    if (turn_.on) {
      ++turn_.timers;
      NoteHandler(handler_began, node.mapped().target_type());
    }
  }
  // What is left is due already: the timerfd, armed in the past, wakes the loop again at once.
  RearmTimerFd();
}

void EventLoop::NoteHandler(TimePoint began, const std::type_info& type) {
  const Clock::duration took = Clock::now() - began;
  if (took > turn_.longest) {
    turn_.longest = took;
    turn_.longest_type = &type;
  }
}

void EventLoop::EndTurn() {
  if (!turn_.on) return;
  turn_.on = false;
  const Clock::duration took = Clock::now() - turn_.began;
  if (took <= kSlowTurn) return;
  std::string name = "?";
  if (turn_.longest_type != nullptr) {
    int status = 0;
    char* demangled = abi::__cxa_demangle(turn_.longest_type->name(), nullptr, nullptr, &status);
    name = status == 0 && demangled != nullptr ? demangled : turn_.longest_type->name();
    std::free(demangled);
  }
  using Ms = std::chrono::duration<double, std::milli>;
  spdlog::debug("event loop: a turn took {:.1f} ms ({} sources, {} timers); longest {:.1f} ms: {}",
                Ms(took).count(), turn_.sources, turn_.timers, Ms(turn_.longest).count(), name);
}

void EventLoop::RunPosted() {
  // A task may post more. One that throws has been taken off the queue: the rest still run.
  bool done = false;
  while (!done)
    Guarded([&] {
      posted_.RunAll();
      done = true;
    });
}

static_assert(EPOLLIN == POLLIN && EPOLLOUT == POLLOUT && EPOLLERR == POLLERR &&
              EPOLLHUP == POLLHUP && EPOLLPRI == POLLPRI && EPOLLRDHUP == POLLRDHUP);

size_t EventLoop::RunReadySources() {
  std::vector<pollfd> polled;
  std::vector<uint64_t> tokens;
  for (const auto& source : by_fd_) {
    if (!source) continue;
    // EPOLLIN, EPOLLOUT, EPOLLERR and EPOLLHUP have poll's values.
    polled.push_back({source->fd, static_cast<short>(source->events & 0xffff), 0});
    tokens.push_back(source->token);
  }
  if (polled.empty() || poll(polled.data(), polled.size(), 0) <= 0) return 0;
  struct Ready {
    int priority;
    uint64_t token;
    uint32_t events;
  };
  std::vector<Ready> ready;
  for (size_t i = 0; i < polled.size(); ++i) {
    if (polled[i].revents == 0) continue;
    ready.push_back({by_fd_[static_cast<size_t>(polled[i].fd)]->priority, tokens[i],
                     static_cast<uint32_t>(static_cast<unsigned short>(polled[i].revents))});
  }
  std::stable_sort(ready.begin(), ready.end(),
                   [](const Ready& a, const Ready& b) { return a.priority < b.priority; });
  size_t ran = 0;
  for (const Ready& r : ready) {
    const std::shared_ptr<Source>* source = Find(r.token);
    if (source == nullptr) continue;  // removed by a callback before it
    std::shared_ptr<Source> keep = *source;
    Guarded([&] { keep->callback(r.events); });
    RunPosted();
    ++ran;
  }
  return ran;
}

void EventLoop::Run() {
  RunPosted();
  running_ = true;
  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  struct Ready {
    int priority;
    uint64_t key;
    uint32_t events;
  };
  std::vector<Ready> ready;
  while (running_) {
    int n = epoll_wait(epoll_.get(), events, kMaxEvents, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // EBADF/EINVAL: a programming error; nothing sensible is left to wait on
    }
    ready.clear();
    for (int i = 0; i < n; ++i) {
      const std::shared_ptr<Source>* source = Find(events[i].data.u64);
      if (source == nullptr) continue;
      ready.push_back({(*source)->priority, events[i].data.u64, events[i].events});
    }
    std::stable_sort(ready.begin(), ready.end(),
                     [](const Ready& a, const Ready& b) { return a.priority < b.priority; });
    turn_ = TurnWatch{};
    turn_.on = spdlog::should_log(spdlog::level::debug);
    if (turn_.on) turn_.began = Clock::now();
    for (const Ready& r : ready) {
      // A callback earlier in this batch may have removed this source.
      const std::shared_ptr<Source>* source = Find(r.key);
      if (source == nullptr) continue;
      std::shared_ptr<Source> keep = *source;
      const TimePoint handler_began = turn_.on ? Clock::now() : TimePoint{};
      Guarded([&] { keep->callback(r.events); });
      RunPosted();
      // The timerfd's callback is no handler of its own: RunDueTimers notes each timer.
      if (turn_.on && keep->fd != timer_fd_.get()) {
        ++turn_.sources;
        NoteHandler(handler_began, keep->callback.target_type());
      }
      if (!running_) break;
    }
    EndTurn();
  }
}

void EventLoop::TrimAfter() {
  last_heavy_ = Now();
  if (trim_timer_ == 0) ArmTrim(last_heavy_ + kTrimQuiet);
}

void EventLoop::ArmTrim(TimePoint at) {
  trim_timer_ = AddTimer(at, [this] {
    trim_timer_ = 0;
    if (Now() - last_heavy_ < kTrimQuiet) {
      ArmTrim(last_heavy_ + kTrimQuiet);  // more came since: wait for it to stop
      return;
    }
    malloc_trim(0);
  });
}

}  // namespace warden
