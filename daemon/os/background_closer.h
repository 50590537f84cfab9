// BackgroundCloser: closes file descriptors on a helper thread.
//
// The last close of a deleted file frees its page cache and blocks, and it costs about a
// millisecond per megabyte: rotating a 100 MB log over its oldest backup, or starting a full
// log over, would stall the event loop for tens of milliseconds. So LogFile keeps a descriptor
// to such a file while it renames over (or unlinks) it, and hands the descriptor here. This is
// one of wardend's two helper threads (the other: AsideWorker), and it does nothing but close(2);
// it starts on first use and inherits the loop thread's blocked signal mask.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "base/unique_fd.h"

namespace warden {

class BackgroundCloser {
 public:
  BackgroundCloser() = default;
  // Closes whatever is still queued, then joins the thread.
  ~BackgroundCloser();
  BackgroundCloser(const BackgroundCloser&) = delete;
  BackgroundCloser& operator=(const BackgroundCloser&) = delete;

  void Close(UniqueFd fd);

  // Waits until every descriptor handed over so far is closed (tests).
  void Flush();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::vector<int> queue_;
  size_t in_flight_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace warden
