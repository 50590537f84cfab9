#include "daemon/os/background_closer.h"

#include <unistd.h>

namespace warden {

BackgroundCloser::~BackgroundCloser() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  for (int fd : queue_) ::close(fd);  // never started, or raced with the stop
}

void BackgroundCloser::Close(UniqueFd fd) {
  if (!fd) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(fd.release());
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  }
  wake_.notify_one();
}

void BackgroundCloser::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return queue_.empty() && in_flight_ == 0; });
}

void BackgroundCloser::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() && stopping_) return;
    std::vector<int> batch;
    batch.swap(queue_);
    in_flight_ = batch.size();
    lock.unlock();
    for (int fd : batch) ::close(fd);
    lock.lock();
    in_flight_ = 0;
    idle_.notify_all();
  }
}

}  // namespace warden
