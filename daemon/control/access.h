// Access control on the control socket: who may read and who may control what. Pure: no
// syscalls and no logging; the control server hands in the peer (SO_PEERCRED plus the groups of
// the peer's user, looked up once per connection) and a way to expand NAME arguments, and acts on
// the Decision. docs/security.md is the user-facing description.
//
// The rules:
//   - root (uid 0) and wardend's own uid may do everything.
//   - Otherwise a peer has a right on a process when its uid is in the right's `users`, or its
//     primary gid or one of its user's groups is in the right's `groups`, of `warden.access`
//     (every process) or of the process's program's `access` (that program: widens, never
//     narrows). `control` implies `read`.
//   - read:    STATUS, PID, VERSION, TAIL, EVENTS, WAIT, REREAD.
//     control: START, STOP, RESTART, SIGNAL, UPDATE, RELOAD, SHUTDOWN, LOGROTATE, CLEAR.
//     HELLO needs nothing. A message type this table does not know needs control of wardend
//     itself: a new message is refused to everyone but the trusted until it is classified here.
//   - What concerns wardend as a whole (SHUTDOWN, RELOAD, REREAD, UPDATE of everything, the
//     daemon's own log) needs the right in `warden.access`; VERSION and the daemon's pid need
//     read on anything.
//   - A request naming several processes does what it may: the refused processes get a
//     PERMISSION_DENIED result each and the others are carried out. STATUS and EVENTS show only
//     what the peer may read (EVENTS of everything, without warden.access, covers the processes
//     it may read now, not programs added later). WAIT is all or nothing. When nothing at all is
//     allowed, the request gets ERROR PERMISSION_DENIED.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "daemon/control/request.h"
#include "proto/messages.h"

namespace warden::access {

// Who is asking.
struct Peer {
  uid_t uid = 0;
  gid_t gid = 0;  // from SO_PEERCRED
  pid_t pid = 0;
  std::string user;           // the uid's passwd name; "" when there is none
  std::vector<gid_t> groups;  // the groups of that user (getgrouplist); gid always counts
  bool looked_up = false;     // user and groups are filled in

  // "uid 1000 (alice)", or "uid 1234" without a passwd entry.
  std::string Describe() const;
};

enum class Right : uint8_t { kRead, kControl };

class Policy {
 public:
  // `config` must outlive the policy (it is the supervisor's config in force).
  Policy(uid_t daemon_uid, const config::Config& config)
      : daemon_uid_(daemon_uid), config_(config) {}

  // Root and wardend's own user: never checked, nothing to look up.
  bool Trusted(const Peer& peer) const { return peer.uid == 0 || peer.uid == daemon_uid_; }
  // `right` on the processes of `program` (nullptr: wardend as a whole, warden.access only).
  bool Allows(const Peer& peer, Right right, const config::Program* program) const;
  // `right` on wardend or on at least one program.
  bool AllowsAnything(const Peer& peer, Right right) const;

  const config::Config& config() const { return config_; }

 private:
  uid_t daemon_uid_;
  const config::Config& config_;
};

// NAME arguments expanded as Supervisor::Resolve does: each process with its program.
struct Expansion {
  struct Target {
    std::string full_name;  // "web", "web:web_00"
    std::string program;    // its program's name
  };
  std::vector<Target> targets;
  std::vector<std::string> unknown;  // names that matched nothing
};
// Called with one name at a time, or with no names for "every process".
using Expander = std::function<Expansion(const std::vector<std::string>& names)>;

struct Decision {
  bool allowed = true;
  std::string message;  // !allowed: the ERROR text, e.g. "uid 1000 (alice) may not stop web"
  // Per-process refusals for the request's ActionReply (control::Request::refused).
  std::vector<proto::ActionResult> refused;
};

// Whether `peer` may make `request` (decoded), in full, in part, or not at all. In part: the
// request's names are narrowed in place to what is allowed (never to a list that would mean
// "everything" when the request did not), and the refusals are in the decision.
Decision Check(const Policy& policy, const Peer& peer, const Expander& expand,
               control::Request& request);

}  // namespace warden::access
