// One run of the simulation. A step is one of:
//   - a client request (start, stop, restart, signal, status, update) from an idle client;
//   - an edit of the config file (programs added, removed or changed; sometimes invalid);
//   - the clock moved to the next timer or simulated exit (sometimes only part of the way),
//     with the exits and timers that are then due;
//   - the SIGCHLD path: Supervisor::ReapChildren (only while there are zombies; time does not
//     pass while there are);
//   - a crash of a random live process, from outside;
//   - a re-execution (`wardenctl reexec`): the state through its bytes into a new supervisor.
// As EventLoop::Run does after every source, each step ends with the posted callbacks; then every
// invariant is checked. After the random steps, clients stop asking and the run drains until every
// request has its answer, then shuts down.
#include "daemon/sim/simulation.h"

#include <fcntl.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "config/config.h"
#include "daemon/control/control_server.h"
#include "daemon/os/event_loop.h"
#include "daemon/reexec/state_codec.h"
#include "daemon/sim/invariants.h"
#include "daemon/sim/sim_system.h"
#include "daemon/supervisor/supervisor.h"
#include "proto/frame.h"
#include "proto/messages.h"

namespace warden::sim {
namespace {

using TimePoint = EventLoop::TimePoint;

constexpr int kPrograms = 6;  // p0 .. p5
constexpr int kClients = 4;
constexpr size_t kDrainSteps = 5000;

std::chrono::nanoseconds Seconds(double s) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(s));
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : " ") + n;
  return "[" + out + "]";
}

class Simulation {
 public:
  explicit Simulation(const Options& options)
      : options_(options),
        random_(options.seed),
        system_(options.seed ^ 0x9e3779b97f4a7c15ULL,
                [this](const std::string& line) { Log(line); }) {}

  ~Simulation() {
    supervisor_.reset();
    EventLoop::SetSimulatedClock(nullptr);
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }

  Outcome Run();

 private:
  // --- the schedule ---
  void Log(const std::string& line);
  void Hash(const std::string& line) {  // FNV-1a
    for (char c : line) hash_ = (hash_ ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  }
  void Step(const char* what);
  bool Fail(const std::string& problem);
  bool Check();
  bool RandomStep();
  bool DriveUntil(const std::function<bool()>& done, const char* phase);

  // --- the actions ---
  void ClientRequest(int client);
  void EditConfig();
  void Advance();
  void Reap();
  void RunReadySources();
  void Crash();
  void Reexec();

  // --- the clients' connections ---
  void Connect();        // a server for supervisor_ and a session per client, each past its HELLO
  void StartShutdown();  // what the server's SHUTDOWN asks for, as wardend's Daemon does
  void Send(int client, uint64_t request, proto::MessageType type, std::vector<uint8_t> payload);
  void OnReplyBytes(int client, const std::vector<uint8_t>& bytes);

  // --- requests ---
  uint64_t Open(int client, const std::string& what, bool job);
  void Answer(uint64_t request);
  std::vector<std::string> RandomNames();
  std::string ConfigText();
  void WriteConfig(const std::string& text);

  double Uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(random_); }
  size_t Below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(random_() % n); }
  double SimSeconds() const { return std::chrono::duration<double>(now_ - start_).count(); }

  Options options_;
  std::mt19937_64 random_;
  Outcome outcome_;
  size_t step_ = 0;
  std::deque<std::pair<size_t, std::string>> trace_;  // the recent steps' lines
  uint64_t hash_ = 1469598103934665603ULL;
  std::string failure_;  // found inside a callback; reported after the step

  const TimePoint start_ = TimePoint(std::chrono::hours(1000));
  TimePoint now_ = start_;
  std::string dir_;
  std::string config_path_;
  // The record of tracked processes: a simulated file (SimSystem), never on disk.
  std::string RecordPath() const { return dir_ + "/warden.sock.procs"; }
  size_t generation_ = 0;

  struct Request {
    int client = 0;
    std::string what;
    bool job = false;  // a request the supervisor makes a job of
    int answers = 0;
    bool dropped = false;  // its connection ended with a re-execution: no answer is due
  };
  std::map<uint64_t, Request> requests_;
  uint64_t next_request_ = 0;
  uint64_t busy_[kClients] = {};  // the request each client waits for; 0 when idle
  size_t in_flight_ = 0;
  size_t jobs_in_flight_ = 0;
  // memory_limit: the check interval of this run (fixed: an update keeps it), and since when
  // each process has had the limit it has now (process id -> limit, since), for CheckMemory.
  double memory_interval_ = 1;
  TimePoint watch_since_ = start_;  // the supervisor's memory watch began (start, reexec)
  std::map<uint64_t, std::pair<uint64_t, TimePoint>> limit_since_;
  std::set<uint64_t> known_;      // ids of processes seen alive
  std::set<uint64_t> destroyed_;  // ids of processes seen gone

  SimSystem system_;
  // A re-execution replaces the loop and the supervisor, as the new image does.
  std::unique_ptr<EventLoop> loop_ = std::make_unique<EventLoop>();
  std::unique_ptr<Supervisor> supervisor_;
  // The control server the clients talk to, each through a local session (no socket): requests
  // go in as frames and the replies come out as frames, through the real decoding, access
  // check, dispatch table and wire conversion.
  std::unique_ptr<ControlServer> server_;  // destroyed before the supervisor it serves
  bool shutdown_started_ = false;
  bool shut_ = false;  // the supervisor's shutdown is done
  std::shared_ptr<void> session_[kClients];
  proto::FrameDecoder replies_[kClients];
};

void Simulation::Log(const std::string& line) {
  Hash(line);
  if (options_.verbose) std::printf("  %s\n", line.c_str());
  trace_.emplace_back(step_, "    " + line);
  while (!trace_.empty() && trace_.front().first + options_.tail < step_) trace_.pop_front();
}

void Simulation::Step(const char* what) {
  ++step_;
  char head[64];
  std::snprintf(head, sizeof head, "#%zu t=%.3f ", step_, SimSeconds());
  const std::string line = head + std::string(what);
  Hash(line);
  if (options_.verbose) std::printf("%s\n", line.c_str());
  trace_.emplace_back(step_, line);
  while (!trace_.empty() && trace_.front().first + options_.tail < step_) trace_.pop_front();
}

bool Simulation::Fail(const std::string& problem) {
  if (!outcome_.ok) return false;
  outcome_.ok = false;
  outcome_.failure = "step " + std::to_string(step_) + ": " + problem;
  return false;
}

uint64_t Simulation::Open(int client, const std::string& what, bool job) {
  const uint64_t id = ++next_request_;
  requests_[id] = Request{client, what, job, 0};
  busy_[client] = id;
  ++in_flight_;
  if (job) ++jobs_in_flight_;
  ++outcome_.requests;
  Step(("client " + std::to_string(client) + ": #r" + std::to_string(id) + " " + what).c_str());
  return id;
}

void Simulation::Answer(uint64_t id) {
  Request& r = requests_.at(id);
  if (r.dropped) return;  // the old image answers into a connection that is gone
  if (++r.answers > 1) {
    if (failure_.empty())
      failure_ = "request #r" + std::to_string(id) + " (" + r.what + ") answered twice";
    return;
  }
  Log("answer #r" + std::to_string(id));
  busy_[r.client] = 0;
  --in_flight_;
  if (r.job) --jobs_in_flight_;
}

bool Simulation::Check() {
  loop_->RunPosted();  // as the real loop does after every source
  if (!failure_.empty()) return Fail(failure_);
  // Processes that are gone since the last step.
  std::set<uint64_t> present;
  for (const auto& p : supervisor_->processes()) present.insert(p->id());
  for (uint64_t id : known_) {
    if (!present.count(id)) destroyed_.insert(id);
  }
  known_ = std::move(present);
  if (auto problem = CheckProcesses(*supervisor_, system_)) return Fail(*problem);
  if (auto problem = CheckJobs(*supervisor_, destroyed_, jobs_in_flight_)) return Fail(*problem);
  if (auto problem = CheckRecord(*supervisor_, system_)) return Fail(*problem);
  for (const auto& p : supervisor_->processes()) {
    auto [it, added] = limit_since_.try_emplace(p->id(), p->program().memory_limit, now_);
    if (!added && it->second.first != p->program().memory_limit) {
      it->second = {p->program().memory_limit, now_};  // an update changed it (at most now)
    }
  }
  const auto since = [this](const Process& p) {
    auto it = limit_since_.find(p.id());
    const TimePoint limit = it == limit_since_.end() ? now_ : it->second.second;
    return std::max(limit, watch_since_);
  };
  if (auto problem = CheckMemory(*supervisor_, system_, now_, Seconds(memory_interval_), since)) {
    return Fail(*problem);
  }
  return true;
}

// --- the config -------------------------------------------------------------------------------

std::string Simulation::ConfigText() {
  static const char* const kProfiles[] = {"runs",         "runs",      "exits",      "crashes",
                                          "ignores-term", "slow-stop", "spawn-error"};
  static const char* const kRestart[] = {"true", "false", "unexpected"};
  ++generation_;
  std::string text = "programs:\n";
  std::vector<std::string> present;
  for (int i = 0; i < kPrograms; ++i) {
    if (Uniform() < 0.25) continue;
    const std::string name = "p" + std::to_string(i);
    const char* profile = kProfiles[Below(std::size(kProfiles))];
    if (std::string(profile) == "spawn-error" && Uniform() < 0.5) profile = "runs";
    char seconds[16];
    std::snprintf(seconds, sizeof seconds, "%.1f", 0.5 + 4 * Uniform());
    text += "  " + name + ":\n";
    text += "    command: /bin/sh sim " + std::string(profile) + " " + seconds + "\n";
    if (Uniform() < 0.3) text += "    numprocs: " + std::to_string(2 + Below(2)) + "\n";
    text += std::string("    autostart: ") + (Uniform() < 0.7 ? "true" : "false") + "\n";
    text += std::string("    autorestart: ") + kRestart[Below(3)] + "\n";
    text += "    startsecs: " + std::to_string(Below(3)) + "\n";
    text += "    startretries: " + std::to_string(Below(4)) + "\n";
    text += std::string("    stopwaitsecs: ") + (Uniform() < 0.5 ? "1" : "3") + "\n";
    if (Uniform() < 0.3) text += "    priority: " + std::to_string(Below(3) * 100) + "\n";
    if (Uniform() < 0.4) {
      static const char* const kLimits[] = {"4M", "8M", "16M"};
      text += std::string("    memory_limit: ") + kLimits[Below(3)] + "\n";
    }
    std::vector<std::string> deps;
    for (const auto& other : present) {
      if (Uniform() < 0.3) deps.push_back(other);
    }
    if (!deps.empty()) {
      text += "    depends_on: [";
      for (size_t d = 0; d < deps.size(); ++d) text += (d ? ", " : "") + deps[d];
      text += "]\n";
    }
    if (Uniform() < 0.3) {
      static const char* const kTimeouts[] = {"0", "1", "3"};
      text += std::string("    ready: ") + (Uniform() < 0.5 ? "notify" : "fd:3") + "\n";
      text += std::string("    ready_timeout: ") + kTimeouts[Below(3)] + "\n";
    }
    text += "    stdout: {file: NONE}\n    stderr: {file: NONE}\n";
    present.push_back(name);
  }
  if (present.empty()) text += "  {}\n";
  return text;
}

// The scratch folder's name differs from run to run: it stays out of the schedule (and its hash).
void Simulation::WriteConfig(const std::string& programs) {
  std::ofstream out(config_path_, std::ios::trunc);
  out << "warden:\n  socket: " << dir_ << "/warden.sock\n  log_dir: " << dir_
      << "/logs\n  log_level: " << (options_.verbose ? "debug" : "error")
      << "\n  memory_check_interval: " << memory_interval_ << "\n"
      << programs;
}

void Simulation::EditConfig() {
  if (Uniform() < 0.05) {
    Step("edit config: invalid");
    WriteConfig("programs:\n  broken: {command: 12, numprocs: -1}\n");
    return;
  }
  std::string text = ConfigText();
  Step(("edit config: generation " + std::to_string(generation_)).c_str());
  Log(text);
  WriteConfig(text);
}

// --- requests -----------------------------------------------------------------------------------

std::vector<std::string> Simulation::RandomNames() {
  std::vector<std::string> names;
  const size_t count = 1 + Below(3);
  for (size_t i = 0; i < count; ++i) {
    const std::string p = "p" + std::to_string(Below(kPrograms));
    switch (Below(8)) {
      case 0:
        names.push_back("all");
        break;
      case 1:
        names.push_back(p + ":*");
        break;
      case 2:
        names.push_back(p + ":" + p + "_0" + std::to_string(Below(3)));
        break;
      case 3:
        names.push_back("nosuch");
        break;
      default:
        names.push_back(p);
        break;
    }
  }
  return names;
}

void Simulation::ClientRequest(int client) {
  const std::vector<std::string> names = RandomNames();
  const size_t verb = Below(100);
  using proto::MessageType;
  if (verb < 66) {
    const MessageType type = verb < 22   ? MessageType::kStart
                             : verb < 44 ? MessageType::kStop
                                         : MessageType::kRestart;
    const char* what = verb < 22 ? "start " : verb < 44 ? "stop " : "restart ";
    const uint64_t id = Open(client, what + Join(names), true);
    Send(client, id, type, proto::Encode(proto::ActionRequest{names, 0}));
  } else if (verb < 74) {
    static const int kSignals[] = {SIGHUP, SIGUSR1, SIGTERM, SIGKILL};
    const int signal = kSignals[Below(std::size(kSignals))];
    const uint64_t id = Open(client, "signal " + os::SignalName(signal) + " " + Join(names), false);
    Send(client, id, MessageType::kSignal, proto::Encode(proto::ActionRequest{names, signal}));
  } else if (verb < 86) {
    const uint64_t id = Open(client, "status " + Join(names), false);
    Send(client, id, MessageType::kStatus, proto::Encode(proto::StatusRequest{names}));
  } else {
    std::vector<std::string> programs;
    if (Uniform() < 0.3) {
      for (const auto& n : names) {
        if (n != "all" && n.find(':') == std::string::npos) programs.push_back(n);
      }
    }
    const uint64_t id = Open(client, "update " + Join(programs), true);
    Send(client, id, MessageType::kUpdate, proto::Encode(proto::ActionRequest{programs, 0}));
  }
}

// --- the clients' connections --------------------------------------------------------------------

void Simulation::Connect() {
  server_ = std::make_unique<ControlServer>(*loop_, *supervisor_, [this] { StartShutdown(); });
  for (int c = 0; c < kClients; ++c) {
    replies_[c] = proto::FrameDecoder();
    access::Peer root;  // uid 0: every right, no lookup
    root.pid = 1000 + c;
    session_[c] = server_->OpenLocal(
        root, [this, c](const std::vector<uint8_t>& bytes) { OnReplyBytes(c, bytes); });
    server_->Feed(session_[c], proto::EncodeFrame(static_cast<uint16_t>(proto::MessageType::kHello),
                                                  0, proto::Encode(proto::HelloRequest{})));
  }
}

void Simulation::StartShutdown() {
  if (shutdown_started_) return;
  shutdown_started_ = true;
  ++jobs_in_flight_;  // the shutdown is a job too
  supervisor_->Shutdown([this] {
    if (shut_ && failure_.empty()) failure_ = "shutdown finished twice";
    if (!shut_) --jobs_in_flight_;
    shut_ = true;
  });
}

void Simulation::Send(int client, uint64_t request, proto::MessageType type,
                      std::vector<uint8_t> payload) {
  server_->Feed(session_[client], proto::EncodeFrame(static_cast<uint16_t>(type),
                                                     static_cast<uint32_t>(request), payload));
}

// Every reply frame the server sends a client: one per request (the HELLO's is id 0), of the
// request's reply type or ERROR, for the request the client waits for.
void Simulation::OnReplyBytes(int client, const std::vector<uint8_t>& bytes) {
  replies_[client].Feed(bytes.data(), bytes.size());
  proto::Frame frame;
  ::warden::Status error;
  while (true) {
    const auto outcome = replies_[client].Next(&frame, &error);
    if (outcome == proto::FrameDecoder::Outcome::kNeedMore) return;
    if (outcome == proto::FrameDecoder::Outcome::kError) {
      if (failure_.empty()) failure_ = "client " + std::to_string(client) + ": " + error.message();
      return;
    }
    const uint64_t id = frame.header.request_id;
    const auto type = static_cast<proto::MessageType>(frame.header.type);
    if (id == 0) {
      if (type != proto::MessageType::kHelloReply && failure_.empty()) {
        failure_ = "client " + std::to_string(client) + ": HELLO not answered with HELLO";
      }
      continue;
    }
    if (busy_[client] != id) {
      if (failure_.empty()) {
        failure_ = "client " + std::to_string(client) + " got a reply for #r" + std::to_string(id) +
                   ", which it does not wait for";
      }
      continue;
    }
    if (type == proto::MessageType::kError) {
      proto::ErrorReply e;
      (void)proto::Decode(frame.payload, &e);
      // The code only: a message may name the scratch folder, which differs from run to run
      // (the trace of a seed must not).
      Log("#r" + std::to_string(id) + ": ERROR " + std::string(ErrorCodeName(e.code)));
    } else if (type == proto::MessageType::kStatusReply) {
      proto::StatusReply status;
      if (!proto::Decode(frame.payload, &status) && failure_.empty()) {
        failure_ = "a STATUS reply does not decode";
      }
      for (const auto& info : status.processes) {
        if (info.pid != 0 && !system_.processes().count(static_cast<int>(info.pid))) {
          if (failure_.empty())
            failure_ = "status shows pid " + std::to_string(info.pid) + ", gone";
        }
      }
    }
    Answer(id);
  }
}

// --- time, exits, reaping -----------------------------------------------------------------------

void Simulation::Advance() {
  // A child's exit wakes wardend at once (signalfd, before timers): time does not pass while a
  // zombie waits. Requests may still come between an exit and its reaping.
  if (system_.zombies() > 0) return Reap();
  std::optional<TimePoint> next = loop_->NextDeadline();
  if (auto exit = system_.NextExit(); exit && (!next || *exit < *next)) next = exit;
  if (auto ready = system_.NextReady(); ready && (!next || *ready < *next)) next = ready;
  if (!next) {
    now_ += Seconds(0.1 + 5 * Uniform());
  } else if (*next > now_) {
    // Mostly all the way to the next event; sometimes part of it (requests land in between).
    now_ = Uniform() < 0.8 ? *next : now_ + (*next - now_) / 2;
  }
  char line[64];
  std::snprintf(line, sizeof line, "advance to t=%.3f", SimSeconds());
  Step(line);
  system_.ExitDue();
  loop_->RunDueTimers();
  system_.ReadyDue();
  RunReadySources();
}

void Simulation::Reap() {
  Step("SIGCHLD: reap");
  supervisor_->ReapChildren();
  RunReadySources();  // a pipe's end, seen in the same wakeup as the exit
}

// What the real loop's epoll_wait would return now: the readiness pipes and notify sockets with
// something to read (a report, or the end of a process that never reported).
void Simulation::RunReadySources() {
  if (const size_t ran = loop_->RunReadySources(); ran > 0) {
    Log("readiness sources: " + std::to_string(ran));
  }
}

void Simulation::Crash() {
  std::vector<int> live;
  for (const auto& [pid, p] : system_.processes()) {
    if (!p.zombie) live.push_back(pid);
  }
  if (live.empty()) return Advance();
  const int pid = live[Below(live.size())];
  const core::ExitStatus status =
      Uniform() < 0.5 ? core::ExitStatus{true, SIGKILL} : core::ExitStatus{false, 1};
  Step(("crash pid " + std::to_string(pid)).c_str());
  system_.Crash(pid, status);
}

bool Simulation::RandomStep() {
  std::vector<int> idle;
  for (int c = 0; c < kClients; ++c) {
    if (busy_[c] == 0) idle.push_back(c);
  }
  const bool zombies = system_.zombies() > 0;
  // Weights: request, edit, advance, reap, crash.
  const size_t w_request = idle.empty() ? 0 : 30;
  const size_t w_edit = 3;
  const size_t w_advance = 35;
  const size_t w_reap = zombies ? 30 : 0;
  const size_t w_crash = 2;
  const size_t w_reexec = 1;
  size_t pick = Below(w_request + w_edit + w_advance + w_reap + w_crash + w_reexec);
  if (pick < w_request) {
    ClientRequest(idle[Below(idle.size())]);
  } else if ((pick -= w_request) < w_edit) {
    EditConfig();
  } else if ((pick -= w_edit) < w_advance) {
    Advance();
  } else if ((pick -= w_advance) < w_reap) {
    Reap();
  } else if ((pick -= w_reap) < w_crash) {
    Crash();
  } else {
    Reexec();
  }
  return Check();
}

// `wardenctl reexec`: the supervisor's state goes through the bytes the real execve carries
// (EncodeState, DecodeState) into a new loop and a new Supervisor built from the configuration in
// force, which takes the processes over (RestoreState) with the same pids and deadlines. Refused,
// as the real one is, while removed processes are still stopping. The clients' connections end
// with the old image: their requests in flight get no answer, and that is not a loss.
void Simulation::Reexec() {
  Step("reexec");
  if (supervisor_->shutting_down() || supervisor_->removing_count() > 0 ||
      supervisor_->queued_stop_count() > 0) {
    Log("refused: busy");
    return;
  }
  DaemonState state;
  supervisor_->SaveState(&state);
  // What the control server adds (reexec.cc): the simulation has no socket, only its name.
  state.listen_fd = 3;
  state.socket_path = supervisor_->config().warden.socket;
  const std::vector<uint8_t> bytes = EncodeState(state);
  Result<DaemonState> decoded = DecodeState(bytes);
  if (!decoded.ok()) {
    failure_ = "the saved state does not decode: " + decoded.status().message();
    return;
  }
  if (EncodeState(*decoded) != bytes) {
    failure_ = "the saved state changes across encode and decode";
    return;
  }
  config::LoadResult loaded = config::LoadConfigSources(decoded->config_sources);
  if (!loaded.config) {
    failure_ = "the configuration in force cannot be built again from the state";
    return;
  }
  for (auto& [id, r] : requests_) {
    if (r.answers > 0 || r.dropped) continue;
    r.dropped = true;
    busy_[r.client] = 0;
    --in_flight_;
    if (r.job) --jobs_in_flight_;
  }
  // The execve: the old image's memory is gone, its processes are not, and neither are the fds
  // it kept (the readiness sockets and pipes, at the numbers the state names). Destroying the old
  // supervisor closes them (an execve would not), so they are copied aside and put back.
  std::vector<std::pair<int, UniqueFd>> kept;
  for (const SavedProcess& p : decoded->processes) {
    if (p.readiness_fd >= 0)
      kept.emplace_back(p.readiness_fd, UniqueFd(fcntl(p.readiness_fd, F_DUPFD_CLOEXEC, 0)));
  }
  for (auto& session : session_) session.reset();
  server_.reset();
  supervisor_.reset();
  for (const auto& [number, copy] : kept) {
    if (!copy || dup3(copy.get(), number, O_CLOEXEC) != number) {
      failure_ = "readiness fd " + std::to_string(number) + " could not be kept across the exec";
      return;
    }
  }
  loop_ = std::make_unique<EventLoop>();
  known_.clear();  // a new image numbers its processes afresh
  destroyed_.clear();
  limit_since_.clear();
  watch_since_ = now_;  // the new image's memory watch starts now
  supervisor_ = std::make_unique<Supervisor>(*loop_, std::move(*loaded.config), system_);
  // Small slices of launches, so that starts of a few programs go over several turns too.
  supervisor_->set_launches_per_turn(2);
  supervisor_->set_reaps_per_turn(2);
  supervisor_->UseRecord(RecordPath(), true);  // the record goes on across the exec
  for (const std::string& problem : supervisor_->RestoreState(*decoded)) {
    if (failure_.empty()) failure_ = "restore: " + problem;
  }
  supervisor_->RecordRestored();
  Connect();
  supervisor_->ReapChildren();  // children that exited during the exec window
  Log("re-executed with " + std::to_string(decoded->processes.size()) + " processes");
  RunReadySources();  // reports written during the exec window
}

// Moves time and reaps, and nothing else, until `done` or kDrainSteps (then a failure named
// `phase`, or just false without one).
bool Simulation::DriveUntil(const std::function<bool()>& done, const char* phase) {
  for (size_t i = 0; i < kDrainSteps; ++i) {
    if (done()) return true;
    if (system_.zombies() > 0) {
      Reap();
    } else {
      Advance();
    }
    if (!Check()) return false;
  }
  if (done()) return true;
  if (phase == nullptr) return false;  // the caller has a way out
  return Fail(std::string(phase) + ": still not done after " + std::to_string(kDrainSteps) +
              " steps");
}

Outcome Simulation::Run() {
  char pattern[] = "/tmp/warden-sim-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    Fail("mkdtemp failed");
    return outcome_;
  }
  dir_ = pattern;
  config_path_ = dir_ + "/warden.yaml";
  EventLoop::SetSimulatedClock(&now_);

  static const double kIntervals[] = {0.5, 1, 2};
  memory_interval_ = kIntervals[Below(std::size(kIntervals))];
  const std::string text = ConfigText();
  Step("initial config");
  Log(text);
  WriteConfig(text);
  config::LoadResult loaded = config::LoadConfigFile(config_path_);
  if (!loaded.config) {
    Fail("the initial config does not load: " + loaded.errors.front().ToString());
    return outcome_;
  }
  spdlog::set_level(options_.verbose ? spdlog::level::debug : spdlog::level::err);
  supervisor_ = std::make_unique<Supervisor>(*loop_, std::move(*loaded.config), system_);
  // Small slices of launches, so that starts of a few programs go over several turns too.
  supervisor_->set_launches_per_turn(2);
  supervisor_->set_reaps_per_turn(2);
  Connect();
  supervisor_->UseRecord(RecordPath(), false);
  supervisor_->HandleLeftovers();  // an empty record: nothing left, the record starts afresh
  supervisor_->StartAutostart();
  bool ok = Check();

  for (size_t i = 0; ok && i < options_.steps; ++i) ok = RandomStep();
  // Drain: no more requests or edits; every request in flight must get its answer.
  if (ok) {
    Step("drain");
    // A start may wait for ever, by design: its dependency is never ready and has
    // `ready_timeout: 0`. (It also did when a dependency with several instances that kept
    // crashing after RUNNING had to be RUNNING all at once: seed 1025; a dependency that was
    // RUNNING since the request now counts.) After a while the operator stops everything, which
    // must cancel such starts: a request that still has no answer after that is lost.
    if (!DriveUntil([this] { return in_flight_ == 0; }, nullptr)) {
      int idle = -1;
      for (int c = 0; c < kClients && idle < 0; ++c) {
        if (busy_[c] == 0) idle = c;
      }
      if (idle < 0) {
        ok = Fail("drain: every client still waits");
      } else {
        const uint64_t stop = Open(idle, "stop [all] (the drain waited too long)", true);
        Send(idle, stop, proto::MessageType::kStop,
             proto::Encode(proto::ActionRequest{{"all"}, 0}));
        ok = Check() && DriveUntil([this] { return in_flight_ == 0; }, "drain");
      }
    }
    if (!ok && in_flight_ > 0) {
      for (const auto& [id, r] : requests_) {
        if (r.answers == 0) {
          outcome_.failure += "; request #r" + std::to_string(id) + " (" + r.what + ") lost";
          break;
        }
      }
    }
  }
  if (ok && !supervisor_->jobs().empty()) ok = Fail("no request in flight, yet a job is open");
  // Shutdown: everything stops; nothing may be left running or unreaped.
  if (ok) {
    // `wardenctl shutdown`: answered at once; the server asks for the shutdown (StartShutdown).
    const uint64_t id = Open(0, "shutdown", false);
    Send(0, id, proto::MessageType::kShutdown, {});
    if (!shutdown_started_) ok = Fail("SHUTDOWN did not start a shutdown");
    ok = ok && Check() &&
         DriveUntil([this] { return shut_ && in_flight_ == 0 && system_.zombies() == 0; },
                    "shutdown");
    if (ok) {
      if (auto problem = CheckShutDown(*supervisor_, system_)) ok = Fail(*problem);
    }
  }
  if (ok) {
    // The processes' destruction must not answer anything again.
    for (auto& session : session_) session.reset();
    server_.reset();
    supervisor_.reset();
    if (!failure_.empty()) ok = Fail(failure_);
  }
  outcome_.steps = step_;
  outcome_.spawns = system_.spawns();
  outcome_.simulated_seconds = SimSeconds();
  outcome_.trace_hash = hash_;
  for (const auto& [step, line] : trace_) outcome_.tail.push_back(line);
  return outcome_;
}

}  // namespace

Outcome Simulate(const Options& options) {
  static const bool logger_set = [] {
    // wardend's log goes nowhere unless asked for (--verbose); the level is the config's.
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "wardend", std::make_shared<spdlog::sinks::null_sink_mt>()));
    return true;
  }();
  (void)logger_set;
  if (options.verbose) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "wardend", std::make_shared<spdlog::sinks::stdout_sink_mt>()));
  }
  Simulation simulation(options);
  return simulation.Run();
}

}  // namespace warden::sim
