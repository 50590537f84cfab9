// One client of the control socket, as the server (control_server.cc) and the request handlers
// (handlers.cc) see it.
#pragma once

#include <sys/epoll.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <unordered_set>
#include <vector>

#include "base/unique_fd.h"
#include "daemon/control/access.h"
#include "daemon/control/control_server.h"
#include "daemon/os/event_loop.h"
#include "proto/frame.h"

namespace warden {

struct ControlServer::Connection {
  UniqueFd fd;
  proto::FrameDecoder decoder;
  std::vector<uint8_t> out;  // queued reply bytes
  size_t out_pos = 0;
  bool hello_done = false;
  bool closing = false;  // close once `out` is flushed
  bool closed = false;
  bool want_write = false;
  bool paused = false;  // complete requests wait in `decoder`: not reading until they are served
  uint32_t interest = EPOLLIN;  // what the loop watches the fd for
  EventLoop::TimerId frame_timer = 0;
  EventLoop::TimerId resume_timer = 0;  // the next turn of a paused connection
  pid_t peer_pid = 0;
  uid_t peer_uid = 0;
  access::Peer peer;  // SO_PEERCRED; its user and groups are looked up at the first check
  // Requests are numbered as they are served. Those answered with an error because memory ran
  // out while serving them are kept here: a reply their operation still sends later is dropped
  // (one reply per request).
  uint64_t served = 0;
  std::unordered_set<uint64_t> abandoned;
  bool Abandoned(uint64_t serial) { return !abandoned.empty() && abandoned.erase(serial) > 0; }
  ControlServer::FrameSink sink;  // a local client's (OpenLocal): every reply frame, in order
  std::vector<std::shared_ptr<void>> streams;  // `tail -f` subscriptions; end with the connection
  // Held by every reply still to come (ReplyLater): the connection is busy while use_count > 1.
  std::shared_ptr<char> awaited = std::make_shared<char>();
  EventLoop::TimePoint last_active{};  // the latest byte read or written
};

}  // namespace warden
