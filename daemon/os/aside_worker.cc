#include "daemon/os/aside_worker.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace warden {

AsideWorker::~AsideWorker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    queue_.clear();
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (event_fd_) loop_.Remove(event_fd_.get());
}

Status AsideWorker::Start() {
  UniqueFd fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!fd) return Status(ErrorCode::kIo, std::string("eventfd: ") + std::strerror(errno));
  Status added =
      loop_.Add(fd.get(), EPOLLIN, EventLoop::kPriorityTimers, [this](uint32_t) { OnDone(); });
  if (!added.ok()) return added;
  event_fd_ = std::move(fd);
  return Status::Ok();
}

void AsideWorker::Run(std::function<void()> work, std::function<void()> done) {
  if (!event_fd_) {
    work();
    done();
    return;
  }
  ++pending_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back({std::move(work), std::move(done)});
    if (!thread_.joinable()) thread_ = std::thread([this] { ThreadMain(); });
  }
  wake_.notify_one();
}

void AsideWorker::ThreadMain() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Item item = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    item.work();
    item.work = nullptr;  // what it captured goes here, not on the loop
    lock.lock();
    ready_.push_back(std::move(item.done));
    const uint64_t one = 1;
    // Cannot fail short of a counter at 2^64 - 1: the loop reads it down at every wakeup.
    (void)!::write(event_fd_.get(), &one, sizeof one);
  }
}

void AsideWorker::OnDone() {
  uint64_t count;
  while (::read(event_fd_.get(), &count, sizeof count) < 0 && errno == EINTR) {
  }
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ready.swap(ready_);
  }
  for (auto& done : ready) {
    --pending_;
    done();
  }
}

}  // namespace warden
