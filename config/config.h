// The configuration model: what warden.yaml (and its includes) says, validated, with the place
// each definition came from. Built by LoadConfig (loader.cc); used by wardend and by wardenctl
// (for -c). No I/O here besides reading the files named.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace warden::config {

// Where something was written: 1-based line and column, as editors count.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
};

// One problem found in a config: printed as "FILE:LINE:COL: message" ("FILE: message" when it
// concerns the file as a whole, e.g. it cannot be read: line 0; "FILE:LINE: message" when it
// concerns a whole line, e.g. of an env file: column 0).
struct Diagnostic {
  SourceLocation where;
  std::string message;
  std::string ToString() const;
};

enum class AutoRestart { kFalse, kTrue, kUnexpected };
// How a process shows it is ready (RUNNING): startsecs elapsed; READY=1 on its NOTIFY_SOCKET; a
// newline written to fd N; 127.0.0.1:PORT accepting connections.
enum class ReadyMode { kStartsecs, kNotify, kFd, kTcp };

// Delays between restarts of a program that keeps crashing after RUNNING (`backoff:`). The
// first crash restarts at once, the n-th in a row waits initial * 2^(n-2) seconds, capped at
// max, +-jitter (a fraction); staying up reset_after seconds starts over. initial 0: no delay
// ever (supervisord's rule; `backoff: false`).
struct Backoff {
  double initial = 1.0;
  double max = 60.0;
  double reset_after = 60.0;
  double jitter = 0.1;
  bool operator==(const Backoff&) const = default;
};

// One `rlimits:` entry: a resource by its setrlimit name without RLIMIT_ ("nofile", "core",
// ...), and the value for both the soft and the hard limit (nullopt: unlimited).
struct ResourceLimit {
  std::string name;
  std::optional<uint64_t> value;
  bool operator==(const ResourceLimit&) const = default;
};

// stdout/stderr of a program. file is a path, "AUTO" (a file in warden.log_dir named after the
// process) or "NONE". merge_into_stdout is `stderr: stdout`.
// on_full: what capture does while the file refuses bytes (disk full, quota, I/O error): hold
// them and stop reading the program's pipe (the program blocks), or drop them, counted.
enum class OnFull { kBlock, kDrop };
struct LogSpec {
  std::string file = "AUTO";
  uint64_t max_bytes = 50ull * 1024 * 1024;
  int backups = 10;
  bool merge_into_stdout = false;
  OnFull on_full = OnFull::kBlock;
  bool timestamps = false;  // prefix each line with the time wardend read it
  // The stream goes to the journal as the program's own (SYSLOG_IDENTIFIER = the program's name),
  // instead of to `file`.
  bool journal = false;
};

// Who may use the control socket besides root and wardend's own user (docs/security.md): the
// users and groups of `warden.access` (every program) and `programs.X.access` (that program's
// processes; it widens the global rule). Ids are numeric: names are resolved when the config is
// loaded. `control` implies `read`.
struct AccessList {
  std::vector<uid_t> users;
  std::vector<gid_t> groups;
  bool empty() const { return users.empty() && groups.empty(); }
  bool operator==(const AccessList&) const = default;
};
struct AccessRules {
  AccessList read;     // status, pid, version, tail, events, wait, reread
  AccessList control;  // start, stop, restart, signal, update, reload, shutdown, logrotate, clear
  bool empty() const { return read.empty() && control.empty(); }
  bool operator==(const AccessRules&) const = default;
};

// One `env_file:` entry: a file of KEY=VALUE lines (config/env_file.h) read at each start.
// `-PATH` in the config makes a missing file no error (optional).
struct EnvFile {
  std::string path;  // absolute
  bool optional = false;
  SourceLocation where;  // the entry in the config
  bool operator==(const EnvFile& o) const { return path == o.path && optional == o.optional; }
};

// `healthcheck:` of a program: a check run every `interval` seconds while the process is RUNNING;
// `retries` failures in a row restart it (daemon/supervisor/health.h). Docker's defaults.
enum class HealthKind { kNone, kExec, kHttp, kTcp };
struct HttpUrl {
  std::string host;  // an IP address literal (IPv6 without brackets); "localhost" is 127.0.0.1
  int port = 80;
  std::string path = "/";  // with the query, as written
  bool operator==(const HttpUrl&) const = default;
};
// "http://HOST[:PORT][/PATH]" with HOST an IPv4 address, [IPv6] or localhost (no name lookups:
// they would block wardend). Errors say what is wrong.
Result<HttpUrl> ParseHttpUrl(std::string_view url);
struct HealthCheck {
  HealthKind kind = HealthKind::kNone;
  std::vector<std::string> command;  // kExec: argv, run as the program's user
  std::string url;                   // kHttp: as written
  HttpUrl http;                      // kHttp: parsed
  int port = 0;                      // kTcp: 127.0.0.1:PORT
  double interval = 30;
  double timeout = 30;
  int retries = 3;
  double start_period = 0;
  // What the check looks at, for messages: "http://127.0.0.1:8080/health", "tcp port 5432",
  // "exec pg_isready".
  std::string Target() const;
  bool operator==(const HealthCheck&) const = default;
};

struct Program {
  std::string name;
  SourceLocation where;              // the program's key
  std::vector<std::string> command;  // argv; command[0] is a path or a name looked up in PATH
  int numprocs = 1;
  int numprocs_start = 0;
  std::string directory;  // empty: wardend's working directory
  std::vector<std::pair<std::string, std::string>> environment;  // in file order
  std::vector<EnvFile> env_files;  // read at each start, under `environment`
  std::string user;                // empty: wardend's user
  std::string group;               // empty: the user's primary group (or wardend's)
  std::optional<mode_t> umask;     // empty: inherit
  bool autostart = true;
  AutoRestart autorestart = AutoRestart::kUnexpected;
  std::vector<int> exitcodes = {0};
  double startsecs = 1.0;
  int startretries = 3;
  ReadyMode ready = ReadyMode::kStartsecs;
  int ready_fd = 0;             // ready: fd:N
  int ready_port = 0;           // ready: {tcp: PORT}
  double ready_timeout = 60.0;  // seconds to wait for notify/fd/tcp readiness; 0: forever
  Backoff backoff;
  double fatal_retry = 0;  // seconds in FATAL before it is started again; 0: it stays FATAL
  // Run when a process of this program goes FATAL (before warden.on_fatal), with
  // WARDEN_PROCESS, WARDEN_STATE, WARDEN_EXIT_STATUS and WARDEN_REASON set; empty: none.
  std::vector<std::string> on_fatal;
  HealthCheck healthcheck;
  // ready: notify only: WATCHDOG=1 must come at least this often (seconds), else the process is
  // restarted; 0: no watchdog. The process gets WATCHDOG_USEC and WATCHDOG_PID.
  double watchdog_sec = 0;
  std::vector<ResourceLimit> rlimits;  // in file order
  bool keep_orphans = false;           // leave processes the main process left behind alone
  int stopsignal = 15;                 // SIGTERM
  double stopwaitsecs = 10.0;
  bool stopasgroup = false;
  bool killasgroup = false;  // forced true when stopasgroup is true (as supervisord)
  int priority = 999;
  std::vector<std::string> depends_on;
  LogSpec stdout_log;
  LogSpec stderr_log;
  AccessRules access;  // widens warden.access for this program's processes
  // Restart the program gracefully when its processes together (main process and every process
  // it started that wardend tracks) use more than this many bytes; 0: no limit. Checked every
  // warden.memory_check_interval (daemon/supervisor/memory_watch.h).
  uint64_t memory_limit = 0;
  // A hard cap the kernel enforces (cgroup v2 memory.max) where the memory controller is
  // available; 0: none. CheckHost says when it cannot be enforced on this host.
  uint64_t memory_max = 0;
  // Where these keys were written, for CheckHost's messages (`where` when not written).
  struct Places {
    SourceLocation command, directory, user, group, memory_max;
  } places;
};

// A heterogeneous group from the `groups:` section.
struct Group {
  std::string name;
  SourceLocation where;
  std::vector<std::string> programs;
};

std::string DefaultLogDir();  // $LOGS_DIRECTORY under systemd, else /var/log/warden

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };
// Where wardend's own log goes: stderr (with journal priority prefixes when $JOURNAL_STREAM says
// stderr is the journal), structured entries sent to journald directly, or a rotated file
// (daemon/logs/log_targets.h).
enum class LogTarget { kStderr, kJournald, kFile };
// What wardend does with the processes an earlier wardend on the same config left running
// (warden.on_leftovers): kill them before starting anything, or leave them and not start the
// programs whose processes they are.
enum class OnLeftovers { kKill, kLeave };

struct Settings {
  std::string socket;  // resolved: DefaultSocketPath() when not given
  mode_t socket_mode = 0600;
  std::string socket_group;  // empty: wardend's group
  std::string log_dir = DefaultLogDir();
  LogLevel log_level = LogLevel::kInfo;
  LogTarget log_target = LogTarget::kStderr;  // warden.log_target: stderr | journald | PATH
  std::string log_file;                       // kFile: the path, resolved
  AccessRules access;                         // warden.access: for every program
  // How long a whole status may reuse the kernel facts (/proc) it read, while nothing wardend
  // sees changes; 0: read them for every status.
  double status_max_age = 1.0;
  std::vector<std::string> on_fatal;  // run when any process goes FATAL (after its own)
  bool exit_on_fatal = false;         // shut down, exiting 1, when any process goes FATAL
  // warden.cgroup: where each process gets its cgroup. "auto" (found: a delegated systemd
  // cgroup, or a folder below the cgroup wardend runs in when that is the root), "none" (the
  // /proc tracking), or the folder of a cgroup2 file system to create them under.
  std::string cgroup = "auto";
  OnLeftovers on_leftovers = OnLeftovers::kKill;
  // How often the memory of programs with a memory_limit is measured (seconds, > 0). The timer
  // runs only while such a program has a live process.
  double memory_check_interval = 10.0;
};

// One file the loader read, and the text it read.
struct SourceFile {
  std::string path;  // as read: the main file as given, an include as its pattern matched it
  std::string text;
  // Not read: `path` is the same file as `same_as`, read before under that path (reached
  // through a symlink or another spelling), and was skipped. text is empty then.
  std::string same_as;
  bool operator==(const SourceFile&) const = default;
};

// What a configuration in force was built from, so that it can be built again identically
// without the disk (LoadConfigSources; wardend's re-execution carries it across execve): the
// files of the load wardend started with, then the files of every `update` applied on top of it
// since the last one of everything (config::Merge), with the programs it was limited to.
struct ConfigSources {
  struct Update {
    std::vector<SourceFile> files;
    std::vector<std::string> only;  // empty: every program (then it is the only update kept)
    bool operator==(const Update&) const = default;
  };
  std::vector<SourceFile> files;  // files[0] is the main file; empty: not known
  std::vector<Update> updates;
  bool operator==(const ConfigSources&) const = default;
};

struct Config {
  std::string path;  // the main file, as given
  Settings warden;
  std::vector<Program> programs;   // sorted by (priority, name)
  std::vector<Group> groups;       // in file order
  std::vector<std::string> files;  // the main file, then included files, as read
  ConfigSources sources;           // what this configuration was built from

  const Program* FindProgram(std::string_view name) const;
};

// One process of a program: numprocs > 1 gives program_00, program_01, ... (numprocs_start
// shifts the numbers). group is the `groups:` entry the program is in, else the program name.
// FullName() is "group:name", or just "name" when group == name (supervisorctl's namespec).
struct ProcessName {
  std::string group;
  std::string name;
  std::string FullName() const { return group == name ? name : group + ":" + name; }
};
std::vector<ProcessName> ExpandProcessNames(const Config& config, const Program& program);

struct LoadResult {
  std::optional<Config> config;    // set if and only if errors is empty
  std::vector<Diagnostic> errors;  // every problem found, in file order
  // warden.socket as the main file sets it (DefaultSocketPath() when it does not), known even
  // when other parts of the configuration are wrong: `wardenctl -c` needs nothing else. nullopt
  // when the main file cannot be read or parsed, or its `warden` section or `socket` is wrong.
  std::optional<std::string> socket;
};

// What a configuration asks of the host it runs on, beyond what loading checks: every program's
// `user` and `group` exist (errors: wardend would start the program only to see it FATAL), its
// command is found (on PATH when it has no '/') and its `directory` exists (warnings: they may
// appear before the program starts). `wardend --check` and `wardenctl check` run it; wardend
// itself does not refuse to start over it, a program that cannot start goes FATAL with why.
struct HostCheck {
  std::vector<Diagnostic> errors;
  std::vector<Diagnostic> warnings;  // printed as "FILE:LINE:COL: warning: ..."
};
HostCheck CheckHost(const Config& config);

// Why `memory_max` cannot be enforced on this host ("" when it can): the cgroup v2 hierarchy
// wardend runs in must exist and offer the memory controller (its cgroup.controllers lists
// "memory"). Names the file or controller that is missing. Read-only.
std::string MemoryMaxUnavailable();
// The same for a wardend with these settings: with `cgroup: none` processes are tracked through
// /proc and have no cgroup to cap, whatever the host offers.
std::string MemoryMaxUnavailable(const Settings& settings);

// Every key the loader accepts, as a path: "warden.socket", "programs.NAME.command",
// "programs.NAME.stdout.file", "programs.NAME.backoff.initial", "warden.access.read.users", ...
// (so that the documentation can be checked against it).
std::vector<std::string> AcceptedKeys();

// Reads, validates and resolves the config at `path` with its includes. Never throws.
LoadResult LoadConfigFile(const std::string& path);
// The same for text already in memory; `name` stands for the file in diagnostics and is the base
// for relative includes.
LoadResult LoadConfigString(std::string_view yaml, const std::string& name);

// Builds a configuration again from its sources (Config::sources) alone: every file is looked up
// among them, not on disk, and include patterns match their paths (as glob(3) matched the
// files); then the updates are merged on top (config::Merge). The same sources give the same
// configuration, whatever the files on disk say now. Never throws.
LoadResult LoadConfigSources(const ConfigSources& sources);

// Splits a command string into words as a POSIX shell would (quotes, backslashes, whitespace),
// without expansions of any kind. Errors name the problem (e.g. "unterminated quote").
Result<std::vector<std::string>> SplitCommand(std::string_view command);

// $RUNTIME_DIRECTORY/warden.sock under systemd; else /run/warden/warden.sock for root;
// $XDG_RUNTIME_DIR/warden/warden.sock otherwise (or /tmp/warden-UID/warden.sock when
// XDG_RUNTIME_DIR is unset).
std::string DefaultSocketPath();

constexpr const char* kDefaultConfigPath = "/etc/warden/warden.yaml";

// The defaults follow the directories systemd hands a service (RuntimeDirectory=,
// LogsDirectory=, ConfigurationDirectory=) when it sets them:
// $RUNTIME_DIRECTORY/warden.sock comes first in DefaultSocketPath();
// DefaultLogDir() is $LOGS_DIRECTORY, else /var/log/warden;
// DefaultConfigPath() is $CONFIGURATION_DIRECTORY/warden.yaml, else kDefaultConfigPath.
std::string DefaultConfigPath();

}  // namespace warden::config
