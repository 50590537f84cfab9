#include "daemon/control/access.h"

#include <algorithm>
#include <set>
#include <string_view>

#include "proto/event_messages.h"
#include "proto/log_messages.h"

namespace warden::access {
namespace {

using proto::MessageType;

// What a message asks for, and of what.
enum class Scope : uint8_t {
  kNone,        // HELLO, and types the daemon answers as unknown messages (replies, ERROR)
  kDaemon,      // wardend as a whole: warden.access only
  kAnything,    // the right anywhere (global or on any one program)
  kProcesses,   // the processes its NAME list expands to, each on its own
  kAllNamed,    // the processes its NAME list expands to, all of them or nothing (WAIT)
  kOneProcess,  // one process by name (PID, TAIL); the empty name means wardend itself
  kPrograms,    // program and group names (UPDATE); none means everything
};

struct Requirement {
  Scope scope;
  Right right;
  const char* verb;  // "may not <verb> <names>"
};

// Every message type, on purpose without a default: adding a type to MessageType makes the
// compiler point here (-Wswitch), and until it is classified the fallback below refuses it to
// everyone but the trusted.
std::optional<Requirement> Classify(MessageType type) {
  switch (type) {
    case MessageType::kHello:
      return Requirement{Scope::kNone, Right::kRead, ""};
    case MessageType::kStatus:
      return Requirement{Scope::kProcesses, Right::kRead, "read the status of"};
    case MessageType::kPid:
      return Requirement{Scope::kOneProcess, Right::kRead, "read the pid of"};
    case MessageType::kVersion:
      return Requirement{Scope::kAnything, Right::kRead, "ask wardend its version"};
    case MessageType::kTail:
      return Requirement{Scope::kOneProcess, Right::kRead, "read the log of"};
    case MessageType::kShow:
      return Requirement{Scope::kOneProcess, Right::kRead, "show"};
    case MessageType::kEvents:
      return Requirement{Scope::kProcesses, Right::kRead, "watch the events of"};
    case MessageType::kWait:
      return Requirement{Scope::kAllNamed, Right::kRead, "wait for"};
    case MessageType::kReread:
      return Requirement{Scope::kDaemon, Right::kRead, "reread the configuration"};
    case MessageType::kStart:
      return Requirement{Scope::kProcesses, Right::kControl, "start"};
    case MessageType::kStop:
      return Requirement{Scope::kProcesses, Right::kControl, "stop"};
    case MessageType::kRestart:
      return Requirement{Scope::kProcesses, Right::kControl, "restart"};
    case MessageType::kSignal:
      return Requirement{Scope::kProcesses, Right::kControl, "signal"};
    case MessageType::kLogRotate:
      return Requirement{Scope::kProcesses, Right::kControl, "reopen the logs of"};
    case MessageType::kClear:
      return Requirement{Scope::kProcesses, Right::kControl, "clear the logs of"};
    case MessageType::kUpdate:
      return Requirement{Scope::kPrograms, Right::kControl, "update"};
    case MessageType::kReload:
      return Requirement{Scope::kDaemon, Right::kControl, "reload the configuration"};
    case MessageType::kShutdown:
      return Requirement{Scope::kDaemon, Right::kControl, "shut down wardend"};
    case MessageType::kReexec:
      return Requirement{Scope::kDaemon, Right::kControl, "re-execute wardend"};
    // Not requests: the server answers them UNKNOWN_MESSAGE.
    case MessageType::kError:
    case MessageType::kPart:
    case MessageType::kHelloReply:
    case MessageType::kStatusReply:
    case MessageType::kStartReply:
    case MessageType::kStopReply:
    case MessageType::kRestartReply:
    case MessageType::kSignalReply:
    case MessageType::kPidReply:
    case MessageType::kVersionReply:
    case MessageType::kShutdownReply:
    case MessageType::kTailReply:
    case MessageType::kShowReply:
    case MessageType::kLogRotateReply:
    case MessageType::kClearReply:
    case MessageType::kEventsReply:
    case MessageType::kWaitReply:
    case MessageType::kRereadReply:
    case MessageType::kUpdateReply:
    case MessageType::kReloadReply:
    case MessageType::kReexecReply:
      return Requirement{Scope::kNone, Right::kRead, ""};
  }
  return std::nullopt;
}

bool Contains(const std::vector<uint32_t>& ids, uint32_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

bool InList(const Peer& peer, const config::AccessList& list) {
  if (Contains(list.users, peer.uid) || Contains(list.groups, peer.gid)) return true;
  return std::any_of(peer.groups.begin(), peer.groups.end(),
                     [&](gid_t g) { return Contains(list.groups, g); });
}

bool Grants(const config::AccessRules& rules, const Peer& peer, Right right) {
  return InList(peer, rules.control) || (right == Right::kRead && InList(peer, rules.read));
}

// "web", "web and api", "web, api, db and 4 more".
std::string JoinNames(const std::vector<std::string>& names) {
  constexpr size_t kShown = 3;
  std::string out;
  const size_t shown = std::min(names.size(), kShown);
  for (size_t i = 0; i < shown; ++i) {
    if (i > 0) out += (i + 1 == shown && names.size() <= kShown) ? " and " : ", ";
    out += names[i];
  }
  if (names.size() > kShown) out += " and " + std::to_string(names.size() - kShown) + " more";
  return out;
}

std::string Refusal(const Peer& peer, const char* verb, const std::string& what) {
  return peer.Describe() + " may not " + verb + (what.empty() ? "" : " " + what);
}

Decision Deny(std::string message) {
  Decision d;
  d.allowed = false;
  d.message = std::move(message);
  return d;
}

// Splits what the names reach into allowed and refused processes. A name all of whose processes
// are allowed is kept as written (so `all` and `group:*` keep their meaning); a name with some
// refused processes is replaced by its allowed processes' full names.
Decision CheckProcesses(const Policy& policy, const Peer& peer, const Expander& expand,
                        MessageType type, const Requirement& req,
                        std::vector<std::string>& requested) {
  // No names means every process: checked as one name that stands for all of them.
  std::vector<std::optional<std::string>> names;
  if (requested.empty()) names.push_back(std::nullopt);
  for (const std::string& name : requested) names.emplace_back(name);

  std::vector<std::string> kept;
  std::vector<std::string> kept_all;  // every allowed process, by full name
  std::vector<std::string> refused;
  std::set<std::string, std::less<>> allowed_seen, refused_seen;
  bool any_refused = false;
  for (const auto& name : names) {
    const Expansion e = expand(name ? std::vector<std::string>{*name} : std::vector<std::string>{});
    std::vector<const Expansion::Target*> ok;
    size_t bad = 0;
    for (const Expansion::Target& t : e.targets) {
      if (policy.Allows(peer, req.right, policy.config().FindProgram(t.program))) {
        ok.push_back(&t);
        kept_all.push_back(t.full_name);
      } else {
        ++bad;
        if (refused_seen.insert(t.full_name).second) refused.push_back(t.full_name);
      }
    }
    if (bad == 0) {
      // Nothing refused (or nothing matched: the handler reports the unknown name).
      if (name) kept.push_back(*name);
      continue;
    }
    any_refused = true;
    for (const Expansion::Target* t : ok) {
      if (allowed_seen.insert(t->full_name).second) kept.push_back(t->full_name);
    }
  }
  // EVENTS of everything also covers programs added later, which only warden.access covers:
  // without it, the peer watches the processes it may read now, by name.
  if (type == MessageType::kEvents && requested.empty() && !any_refused &&
      !policy.Allows(peer, req.right, nullptr)) {
    if (kept_all.empty()) return Deny(Refusal(peer, req.verb, "every process"));
    requested = std::move(kept_all);
    return {};
  }
  if (!any_refused) return {};  // the request as it is
  if (kept.empty() || req.scope == Scope::kAllNamed) {
    return Deny(Refusal(peer, req.verb, JoinNames(refused)));
  }

  requested = std::move(kept);
  Decision d;
  // STATUS and EVENTS simply do not show them; the others answer with an ActionReply.
  if (type != MessageType::kStatus && type != MessageType::kEvents) {
    for (const std::string& full_name : refused) {
      d.refused.push_back(
          {full_name, ErrorCode::kPermissionDenied, Refusal(peer, req.verb, full_name)});
    }
  }
  return d;
}

Decision CheckOneProcess(const Policy& policy, const Peer& peer, const Expander& expand,
                         MessageType type, const Requirement& req, const std::string& name) {
  if (type == MessageType::kShow && name.empty()) return {};  // answered "no such process"
  if (type == MessageType::kPid) {
    // The daemon's own pid is no secret to anyone who may read anything.
    if (name.empty()) {
      if (policy.AllowsAnything(peer, req.right)) return {};
      return Deny(Refusal(peer, "read the pid of", "wardend"));
    }
  } else {
    // wardend's own log speaks of every program.
    if (name.empty()) {
      if (policy.Allows(peer, req.right, nullptr)) return {};
      return Deny(Refusal(peer, "read the log of", "wardend"));
    }
  }
  const Expansion e = expand({name});
  for (const Expansion::Target& t : e.targets) {
    if (!policy.Allows(peer, req.right, policy.config().FindProgram(t.program))) {
      return Deny(Refusal(peer, req.verb, t.full_name));
    }
  }
  return {};
}

Decision CheckPrograms(const Policy& policy, const Peer& peer, const Requirement& req,
                       std::vector<std::string>& requested) {
  if (requested.empty()) {
    if (policy.Allows(peer, req.right, nullptr)) return {};
    return Deny(Refusal(peer, req.verb, "every program"));
  }
  const config::Config& config = policy.config();
  std::vector<std::string> kept, refused;
  for (const std::string& name : requested) {
    if (const config::Program* program = config.FindProgram(name)) {
      (policy.Allows(peer, req.right, program) ? kept : refused).push_back(name);
      continue;
    }
    const auto group = std::find_if(config.groups.begin(), config.groups.end(),
                                    [&](const config::Group& g) { return g.name == name; });
    if (group == config.groups.end()) {
      // Not in the config in force (a program being added, or a typo): only a rule that covers
      // every program covers it.
      (policy.Allows(peer, req.right, nullptr) ? kept : refused).push_back(name);
      continue;
    }
    std::vector<std::string> members_ok;
    bool all_ok = true;
    for (const std::string& member : group->programs) {
      if (policy.Allows(peer, req.right, config.FindProgram(member))) {
        members_ok.push_back(member);
      } else {
        all_ok = false;
        refused.push_back(member);
      }
    }
    if (all_ok) {
      kept.push_back(name);
    } else {
      kept.insert(kept.end(), members_ok.begin(), members_ok.end());
    }
  }
  if (refused.empty()) return {};
  if (kept.empty()) return Deny(Refusal(peer, req.verb, JoinNames(refused)));
  requested = std::move(kept);
  Decision d;
  for (const std::string& name : refused) {
    d.refused.push_back({name, ErrorCode::kPermissionDenied, Refusal(peer, req.verb, name)});
  }
  return d;
}

}  // namespace

std::string Peer::Describe() const {
  std::string out = "uid " + std::to_string(uid);
  if (!user.empty()) out += " (" + user + ")";
  return out;
}

bool Policy::Allows(const Peer& peer, Right right, const config::Program* program) const {
  if (Trusted(peer)) return true;
  if (Grants(config_.warden.access, peer, right)) return true;
  return program != nullptr && Grants(program->access, peer, right);
}

bool Policy::AllowsAnything(const Peer& peer, Right right) const {
  if (Allows(peer, right, nullptr)) return true;
  return std::any_of(config_.programs.begin(), config_.programs.end(),
                     [&](const config::Program& p) { return Grants(p.access, peer, right); });
}

Decision Check(const Policy& policy, const Peer& peer, const Expander& expand,
               control::Request& request) {
  if (policy.Trusted(peer)) return {};
  const MessageType message_type = request.type;
  const auto type = static_cast<uint16_t>(message_type);
  const std::optional<Requirement> req = Classify(message_type);
  if (!req) {
    // A type this table does not know: what it would do is unknown, so only control of wardend
    // itself covers it. (The trusted, and such peers, get UNKNOWN_MESSAGE when the server does
    // not know it either.)
    if (policy.Allows(peer, Right::kControl, nullptr)) return {};
    return Deny(peer.Describe() + " may not send message type " + std::to_string(type));
  }
  switch (req->scope) {
    case Scope::kNone:
      return {};
    case Scope::kDaemon:
      if (policy.Allows(peer, req->right, nullptr)) return {};
      return Deny(Refusal(peer, req->verb, ""));
    case Scope::kAnything:
      if (policy.AllowsAnything(peer, req->right)) return {};
      return Deny(Refusal(peer, req->verb, ""));
    case Scope::kProcesses:
    case Scope::kAllNamed:
      if (std::vector<std::string>* names = request.names()) {
        return CheckProcesses(policy, peer, expand, message_type, *req, *names);
      }
      break;
    case Scope::kOneProcess:
      if (const std::string* name = request.name()) {
        return CheckOneProcess(policy, peer, expand, message_type, *req, *name);
      }
      break;
    case Scope::kPrograms:
      if (std::vector<std::string>* names = request.names()) {
        return CheckPrograms(policy, peer, *req, *names);
      }
      break;
  }
  return Deny(Refusal(peer, req->verb, ""));
}

}  // namespace warden::access
