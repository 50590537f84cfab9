#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/diff.h"

namespace warden::config {
namespace {

// Test configs are written as R"(...)" blocks that start with a newline; drop it so that the
// first line of the block is line 1 of the file.
std::string Text(std::string_view text) {
  if (!text.empty() && text.front() == '\n') text.remove_prefix(1);
  return std::string(text);
}

std::vector<std::string> Errors(const LoadResult& result) {
  std::vector<std::string> out;
  for (const Diagnostic& d : result.errors) out.push_back(d.ToString());
  return out;
}

std::string Joined(const LoadResult& result) {
  std::string out;
  for (const std::string& line : Errors(result)) out += line + "\n";
  return out;
}

// Errors of a config given as text, named w.yaml.
std::vector<std::string> ErrorsOf(std::string_view yaml) {
  const LoadResult result = LoadConfigString(Text(yaml), "w.yaml");
  EXPECT_FALSE(result.config.has_value());
  return Errors(result);
}

Config MustLoad(std::string_view yaml, const std::string& name = "w.yaml") {
  LoadResult result = LoadConfigString(Text(yaml), name);
  EXPECT_TRUE(result.errors.empty()) << Joined(result);
  EXPECT_TRUE(result.config.has_value());
  return result.config ? std::move(*result.config) : Config{};
}

using Lines = std::vector<std::string>;

// A scratch folder, removed with everything in it at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    char pattern[] = "/tmp/warden-config-test-XXXXXX";
    const char* made = ::mkdtemp(pattern);
    EXPECT_NE(made, nullptr);
    path_ = made != nullptr ? made : "/tmp";
  }
  ~ScratchDir() {
    std::error_code ec;
    if (path_ != "/tmp") std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Write(const std::string& relative, std::string_view text) const {
    const std::filesystem::path file = std::filesystem::path(path_) / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << Text(text);
    return file.string();
  }

 private:
  std::string path_;
};

TEST(LoadConfigTest, DefaultsForAMinimalProgram) {
  const Config config = MustLoad(R"(
programs:
  web:
    command: /bin/true
)");
  EXPECT_EQ(config.path, "w.yaml");
  EXPECT_EQ(config.files, Lines{"w.yaml"});
  EXPECT_EQ(config.warden.socket, DefaultSocketPath());
  EXPECT_EQ(config.warden.socket_mode, 0600u);
  EXPECT_EQ(config.warden.socket_group, "");
  EXPECT_EQ(config.warden.log_dir, "/var/log/warden");
  EXPECT_EQ(config.warden.log_level, LogLevel::kInfo);
  EXPECT_EQ(config.warden.log_target, LogTarget::kStderr);
  EXPECT_EQ(config.warden.status_max_age, 1.0);
  ASSERT_EQ(config.programs.size(), 1u);
  const Program& p = config.programs[0];
  EXPECT_EQ(p.name, "web");
  EXPECT_EQ(p.where.file, "w.yaml");
  EXPECT_EQ(p.where.line, 2);
  EXPECT_EQ(p.where.column, 3);
  EXPECT_EQ(p.command, Lines{"/bin/true"});
  EXPECT_EQ(p.numprocs, 1);
  EXPECT_EQ(p.numprocs_start, 0);
  EXPECT_EQ(p.directory, "");
  EXPECT_TRUE(p.environment.empty());
  EXPECT_EQ(p.user, "");
  EXPECT_FALSE(p.umask.has_value());
  EXPECT_TRUE(p.autostart);
  EXPECT_EQ(p.autorestart, AutoRestart::kUnexpected);
  EXPECT_EQ(p.exitcodes, std::vector<int>{0});
  EXPECT_EQ(p.startsecs, 1.0);
  EXPECT_EQ(p.startretries, 3);
  EXPECT_EQ(p.ready, ReadyMode::kStartsecs);
  EXPECT_EQ(p.stopsignal, 15);
  EXPECT_EQ(p.stopwaitsecs, 10.0);
  EXPECT_FALSE(p.stopasgroup);
  EXPECT_FALSE(p.killasgroup);
  EXPECT_EQ(p.priority, 999);
  EXPECT_TRUE(p.depends_on.empty());
  EXPECT_EQ(p.stdout_log.file, "AUTO");
  EXPECT_EQ(p.stdout_log.max_bytes, 50u * 1024 * 1024);
  EXPECT_EQ(p.stdout_log.backups, 10);
  EXPECT_FALSE(p.stdout_log.merge_into_stdout);
  EXPECT_EQ(p.stderr_log.file, "AUTO");
  EXPECT_FALSE(p.stderr_log.merge_into_stdout);
  EXPECT_TRUE(config.groups.empty());
}

TEST(LoadConfigTest, EmptyConfigsAreValid) {
  EXPECT_TRUE(MustLoad("").programs.empty());
  EXPECT_TRUE(MustLoad("programs: {}\n").programs.empty());
  EXPECT_TRUE(MustLoad("programs:\ngroups:\ninclude:\nwarden:\n").programs.empty());
  EXPECT_TRUE(MustLoad("# nothing but a comment\n").programs.empty());
}

TEST(LoadConfigTest, ReadsEveryKey) {
  const Config config = MustLoad(R"(
warden:
  socket: /run/warden/warden.sock
  socket_mode: "0660"
  socket_group: root
  log_dir: /var/log/warden
  log_level: debug
  log_target: journald
  status_max_age: 0
programs:
  web:
    command: ["/usr/bin/python3", "-m", "http.server", "8080"]
    numprocs: 2
    numprocs_start: 1
    directory: /srv/web
    environment: {PORT: 8080, DEBUG: true, NAME: "x y", EMPTY: ""}
    user: www-data
    umask: "022"
    autostart: false
    autorestart: true
    exitcodes: [0, 2]
    startsecs: 0.5
    startretries: 5
    ready: notify
    stopsignal: SIGint
    stopwaitsecs: 2.5
    stopasgroup: true
    priority: 10
    depends_on: [db]
    stdout: {file: AUTO, max_bytes: 10KB, backups: 3}
    stderr: stdout
  db:
    command: postgres -D '/var/lib/pg data'
    stopsignal: 3
    killasgroup: yes
    autorestart: unexpected
    umask: 0
    stdout: {max_bytes: 1GB}
    stderr: {max_bytes: 0, backups: 0}
)");
  EXPECT_EQ(config.warden.socket, "/run/warden/warden.sock");
  EXPECT_EQ(config.warden.socket_mode, 0660u);
  EXPECT_EQ(config.warden.socket_group, "root");
  EXPECT_EQ(config.warden.log_level, LogLevel::kDebug);
  EXPECT_EQ(config.warden.log_target, LogTarget::kJournald);
  EXPECT_EQ(config.warden.status_max_age, 0.0);
  ASSERT_EQ(config.programs.size(), 2u);
  const Program& web = config.programs[0];  // priority 10 sorts before 999
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.command, (Lines{"/usr/bin/python3", "-m", "http.server", "8080"}));
  EXPECT_EQ(web.numprocs, 2);
  EXPECT_EQ(web.numprocs_start, 1);
  EXPECT_EQ(web.directory, "/srv/web");
  using Env = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(web.environment,
            (Env{{"PORT", "8080"}, {"DEBUG", "true"}, {"NAME", "x y"}, {"EMPTY", ""}}));
  EXPECT_EQ(web.user, "www-data");
  EXPECT_EQ(web.umask, std::optional<mode_t>(022));
  EXPECT_FALSE(web.autostart);
  EXPECT_EQ(web.autorestart, AutoRestart::kTrue);
  EXPECT_EQ(web.exitcodes, (std::vector<int>{0, 2}));
  EXPECT_EQ(web.startsecs, 0.5);
  EXPECT_EQ(web.startretries, 5);
  EXPECT_EQ(web.ready, ReadyMode::kNotify);
  EXPECT_EQ(web.stopsignal, 2);
  EXPECT_EQ(web.stopwaitsecs, 2.5);
  EXPECT_TRUE(web.stopasgroup);
  EXPECT_TRUE(web.killasgroup);  // implied by stopasgroup
  EXPECT_EQ(web.priority, 10);
  EXPECT_EQ(web.depends_on, Lines{"db"});
  EXPECT_EQ(web.stdout_log.file, "AUTO");
  EXPECT_EQ(web.stdout_log.max_bytes, 10u * 1024);
  EXPECT_EQ(web.stdout_log.backups, 3);
  EXPECT_TRUE(web.stderr_log.merge_into_stdout);

  const Program& db = config.programs[1];
  EXPECT_EQ(db.command, (Lines{"postgres", "-D", "/var/lib/pg data"}));
  EXPECT_EQ(db.stopsignal, 3);
  EXPECT_FALSE(db.stopasgroup);
  EXPECT_TRUE(db.killasgroup);
  EXPECT_EQ(db.autorestart, AutoRestart::kUnexpected);
  EXPECT_EQ(db.umask, std::optional<mode_t>(0));
  EXPECT_EQ(db.stdout_log.max_bytes, 1024u * 1024 * 1024);
  EXPECT_EQ(db.stderr_log.max_bytes, 0u);
  EXPECT_EQ(db.stderr_log.backups, 0);
  EXPECT_FALSE(db.stderr_log.merge_into_stdout);
}

TEST(LoadConfigTest, SizesSignalsAndOctalModes) {
  const Config config = MustLoad(R"(
warden:
  socket_mode: 600
programs:
  a: {command: x, stopsignal: TERM, stdout: {max_bytes: 1234}}
  b: {command: x, stopsignal: SIGHUP, stdout: {max_bytes: "50 mb"}}
  c: {command: x, stopsignal: usr2, stdout: {max_bytes: 2MB}}
  d: {command: x, stopsignal: 9, stdout: {max_bytes: 3kb}}
  e: {command: x, stopsignal: KILL, autorestart: off, umask: "0077"}
)");
  EXPECT_EQ(config.warden.socket_mode, 0600u);
  ASSERT_EQ(config.programs.size(), 5u);
  EXPECT_EQ(config.programs[0].stopsignal, 15);
  EXPECT_EQ(config.programs[0].stdout_log.max_bytes, 1234u);
  EXPECT_EQ(config.programs[1].stopsignal, 1);
  EXPECT_EQ(config.programs[1].stdout_log.max_bytes, 50u * 1024 * 1024);
  EXPECT_EQ(config.programs[2].stopsignal, 12);
  EXPECT_EQ(config.programs[2].stdout_log.max_bytes, 2u * 1024 * 1024);
  EXPECT_EQ(config.programs[3].stopsignal, 9);
  EXPECT_EQ(config.programs[3].stdout_log.max_bytes, 3u * 1024);
  EXPECT_EQ(config.programs[4].stopsignal, 9);
  EXPECT_EQ(config.programs[4].autorestart, AutoRestart::kFalse);
  EXPECT_EQ(config.programs[4].umask, std::optional<mode_t>(077));
}

TEST(LoadConfigTest, LogCaptureOptions) {
  const Config config = MustLoad(R"(
programs:
  web:
    command: x
    stdout: {on_full: drop, timestamps: true}
    stderr: {on_full: block, timestamps: no}
  api:
    command: x
)");
  const Program* web = config.FindProgram("web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->stdout_log.on_full, OnFull::kDrop);
  EXPECT_TRUE(web->stdout_log.timestamps);
  EXPECT_EQ(web->stderr_log.on_full, OnFull::kBlock);
  EXPECT_FALSE(web->stderr_log.timestamps);
  const Program* api = config.FindProgram("api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->stdout_log.on_full, OnFull::kBlock);
  EXPECT_FALSE(api->stdout_log.timestamps);

  EXPECT_EQ(ErrorsOf(R"(
programs:
  web:
    command: x
    stdout: {on_full: dorp, timestamps: sometimes}
)"),
            (Lines{
                "w.yaml:4:23: 'on_full' must be block or drop (did you mean 'drop'?)",
                "w.yaml:4:41: 'timestamps' must be true or false",
            }));
}

TEST(LoadConfigTest, ProgramsAreSortedByPriorityThenName) {
  const Config config = MustLoad(R"(
programs:
  zeta: {command: x, priority: 5}
  beta: {command: x}
  alpha: {command: x}
  omega: {command: x, priority: -1}
  gamma: {command: x, priority: 5}
)");
  Lines names;
  for (const Program& p : config.programs) names.push_back(p.name);
  EXPECT_EQ(names, (Lines{"omega", "gamma", "zeta", "alpha", "beta"}));
  ASSERT_NE(config.FindProgram("beta"), nullptr);
  EXPECT_EQ(config.FindProgram("beta")->where.line, 3);
  EXPECT_EQ(config.FindProgram("nope"), nullptr);
}

TEST(LoadConfigTest, RelativePathsAreRelativeToTheConfigFolder) {
  const Config config = MustLoad(R"(
warden:
  log_dir: logs
  socket: ../run/w.sock
programs:
  web:
    command: x
    directory: srv/web
    stdout: {file: log/out.log}
    stderr: {file: /var/log/err.log}
  api:
    command: x
    stdout: {file: auto}
    stderr: {file: None}
)",
                                 "/etc/warden/warden.yaml");
  EXPECT_EQ(config.warden.log_dir, "/etc/warden/logs");
  EXPECT_EQ(config.warden.socket, "/etc/run/w.sock");
  const Program* web = config.FindProgram("web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->directory, "srv/web");  // as written: the daemon resolves it
  EXPECT_EQ(web->stdout_log.file, "/etc/warden/log/out.log");
  EXPECT_EQ(web->stderr_log.file, "/var/log/err.log");
  const Program* api = config.FindProgram("api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->stdout_log.file, "AUTO");
  EXPECT_EQ(api->stderr_log.file, "NONE");
}

TEST(LoadConfigTest, UnknownKeysAtEveryLevelWithSuggestions) {
  EXPECT_EQ(ErrorsOf(R"(
programs:
  web:
    command: /bin/true
    autorestrat: true
    stdout: {file: AUTO, maxbytes: 10}
    frobnicate: 1
warden:
  sockte: /tmp/x.sock
progams: {}
)"),
            (Lines{
                "w.yaml:4:5: unknown key 'autorestrat' in program 'web' (did you mean "
                "'autorestart'?)",
                "w.yaml:5:26: unknown key 'maxbytes' in 'stdout' of program 'web' (did you mean "
                "'max_bytes'?)",
                "w.yaml:6:5: unknown key 'frobnicate' in program 'web'",
                "w.yaml:8:3: unknown key 'sockte' in 'warden' (did you mean 'socket'?)",
                "w.yaml:9:1: unknown key 'progams' at the top level (did you mean 'programs'?)",
            }));
}

TEST(LoadConfigTest, WrongTypesAndRangesAllReportedAtTheValue) {
  EXPECT_EQ(ErrorsOf(R"(
warden:
  socket_mode: "0800"
  log_level: verbose
programs:
  web:
    command: /bin/true
    numprocs: abc
    numprocs_start: -1
    startsecs: -0.5
    stopwaitsecs: soon
    startretries: 1.5
    autostart: maybe
    autorestart: sometimes
    exitcodes: [0, 256]
    stopsignal: FOO
    ready: notfy
    umask: "999"
    environment: [A=1]
    stdout: {max_bytes: 5XB, backups: -1}
    stderr: stdin
    priority: high
    depends_on: {a: 1}
    user: ""
)"),
            (Lines{
                "w.yaml:2:16: 'socket_mode' must be an octal number from 0 to 0777",
                "w.yaml:3:14: 'log_level' must be trace, debug, info, warn or error",
                "w.yaml:7:15: 'numprocs' must be an integer",
                "w.yaml:8:21: 'numprocs_start' must be at least 0",
                "w.yaml:9:16: 'startsecs' must be between 0 and 31536000 seconds",
                "w.yaml:10:19: 'stopwaitsecs' must be a number of seconds",
                "w.yaml:11:19: 'startretries' must be an integer",
                "w.yaml:12:16: 'autostart' must be true or false",
                "w.yaml:13:18: 'autorestart' must be true, false or unexpected",
                "w.yaml:14:20: 'exitcodes' must be a list of integers from 0 to 255",
                "w.yaml:15:17: 'stopsignal' must be a signal name such as TERM, or a number",
                "w.yaml:16:12: 'ready' must be startsecs, notify, fd:N (N from 3 to 1023) or a map "
                "{tcp: PORT} (did you mean 'notify'?)",
                "w.yaml:17:12: 'umask' must be an octal number from 0 to 0777",
                "w.yaml:18:18: 'environment' of program 'web' must be a map",
                "w.yaml:19:25: 'max_bytes' must be a size in bytes, or a number with K, M or G "
                "(200M, 1.5G, 50MB)",
                "w.yaml:19:39: 'backups' must be at least 0",
                "w.yaml:20:13: 'stderr' must be a map such as {file: AUTO}, or the word stdout",
                "w.yaml:21:15: 'priority' must be an integer",
                "w.yaml:22:17: 'depends_on' must be a list of strings",
                "w.yaml:23:11: 'user' must not be empty",
            }));
}

TEST(LoadConfigTest, NumprocsRangeAndSignalRange) {
  EXPECT_EQ(ErrorsOf(R"(
programs:
  a: {command: x, numprocs: 0}
  b: {command: x, stopsignal: 0}
  c: {command: x, stopsignal: 65}
  d: {command: x, numprocs: 2, numprocs_start: 2147483647}
)"),
            (Lines{
                "w.yaml:2:29: 'numprocs' must be between 1 and 10000",
                "w.yaml:3:31: 'stopsignal' must be a signal name such as TERM, or a number",
                "w.yaml:4:31: 'stopsignal' must be a signal name such as TERM, or a number",
                "w.yaml:5:3: program 'd': 'numprocs_start' is too large",
            }));
}

TEST(LoadConfigTest, MissingOrEmptyCommand) {
  EXPECT_EQ(ErrorsOf(R"(
programs:
  a:
    numprocs: 2
  b:
    command: ""
  c:
    command: []
  d:
    command: "sleep 'x"
  e: {}
  f:
  g:
    command: {path: /bin/true}
)"),
            (Lines{
                "w.yaml:2:3: program 'a' has no 'command'",
                "w.yaml:5:14: 'command' must not be empty",
                "w.yaml:7:14: 'command' must not be empty",
                "w.yaml:9:14: 'command': unterminated single quote",
                "w.yaml:10:3: program 'e' has no 'command'",
                "w.yaml:11:3: program 'f' has no 'command'",
                "w.yaml:13:14: 'command' must be a string or a list of strings",
            }));
}

TEST(LoadConfigTest, UnknownDependsOnWithSuggestion) {
  EXPECT_EQ(ErrorsOf(R"(
programs:
  db:
    command: /bin/db
  web:
    command: /bin/web
    depends_on: [dbb, db]
  api:
    command: /bin/api
    depends_on: [cache]
)"),
            (Lines{
                "w.yaml:6:18: program 'web' depends on unknown program 'dbb' (did you mean "
                "'db'?)",
                "w.yaml:9:18: program 'api' depends on unknown program 'cache'",
            }));
}

TEST(LoadConfigTest, CircularDependsOnNamesTheCycle) {
  EXPECT_EQ(ErrorsOf(R"(
programs:
  a:
    command: x
    depends_on: [b]
  b:
    command: x
    depends_on: [c]
  c:
    command: x
    depends_on: [a]
  d:
    command: x
    depends_on: d
)"),
            (Lines{
                "w.yaml:4:18: circular dependency: a -> b -> c -> a",
                "w.yaml:13:17: circular dependency: d -> d",
            }));
}

TEST(LoadConfigTest, SharedDependenciesAreNotACycle) {
  const Config config = MustLoad(R"(
programs:
  top: {command: x, depends_on: [left, right]}
  left: {command: x, depends_on: [base]}
  right: {command: x, depends_on: [base]}
  base: {command: x}
)");
  EXPECT_EQ(config.programs.size(), 4u);
}

TEST(LoadConfigTest, DuplicateKeysAndPrograms) {
  EXPECT_EQ(ErrorsOf(R"(
programs:
  web:
    command: x
    command: y
  web:
    command: z
programs: {}
)"),
            (Lines{
                "w.yaml:4:5: duplicate key 'command' in program 'web' (first at line 3)",
                "w.yaml:5:3: program 'web' is already defined at w.yaml:2:3",
                "w.yaml:7:1: duplicate key 'programs' in the top level (first at line 1)",
            }));
}

TEST(LoadConfigTest, GroupErrors) {
  EXPECT_EQ(ErrorsOf(R"(
programs:
  web: {command: x}
  api: {command: x}
  db: {command: x}
  cache: {command: x}
groups:
  webapps: [web, api, wbe]
  backend: [api]
  db: [db]
  cache: [cache, web]
  empty: []
  bad:name: [db]
  webapps: [cache]
)"),
            (Lines{
                "w.yaml:7:23: group 'webapps' names unknown program 'wbe' (did you mean 'web'?)",
                "w.yaml:8:13: program 'api' is already in group 'webapps' (w.yaml:7:3)",
                "w.yaml:10:18: group 'cache' has the name of a program, so it may contain only "
                "that program",
                "w.yaml:11:3: group 'empty' has no programs",
                "w.yaml:12:3: invalid group name 'bad:name': use only letters, digits, '_', '.' "
                "and '-'",
                "w.yaml:12:14: program 'db' is already in group 'db' (w.yaml:9:3)",
                "w.yaml:13:3: group 'webapps' is already defined at w.yaml:7:3",
            }));
}

TEST(LoadConfigTest, InvalidProgramNames) {
  EXPECT_EQ(ErrorsOf(R"(
programs:
  "a:b": {command: x}
  web app: {command: x}
  ok-name_1.2: {command: x}
)"),
            (Lines{
                "w.yaml:2:3: invalid program name 'a:b': use only letters, digits, '_', '.' and "
                "'-'",
                "w.yaml:3:3: invalid program name 'web app': use only letters, digits, '_', '.' "
                "and '-'",
            }));
}

TEST(LoadConfigTest, ProcessNamesMustNotCollide) {
  EXPECT_EQ(ErrorsOf(R"(
programs:
  web:
    command: x
    numprocs: 2
  web_01:
    command: x
)"),
            (Lines{"w.yaml:5:3: process name 'web_01' of program 'web_01' is also a process of "
                   "program 'web' (w.yaml:2:3)"}));
}

TEST(LoadConfigTest, AllErrorsAtOnceInFileOrder) {
  // The depends_on check runs after the whole file is read, yet its error sorts by line.
  EXPECT_EQ(ErrorsOf(R"(
programs:
  web:
    depends_on: [nope]
  api:
    command: x
    numprocs: many
groups:
  g: [ghost]
)"),
            (Lines{
                "w.yaml:2:3: program 'web' has no 'command'",
                "w.yaml:3:18: program 'web' depends on unknown program 'nope'",
                "w.yaml:6:15: 'numprocs' must be an integer",
                "w.yaml:8:7: group 'g' names unknown program 'ghost'",
            }));
}

TEST(LoadConfigTest, YamlSyntaxErrorsCarryYamlCppPosition) {
  const Lines errors = ErrorsOf(R"(
programs:
  web:
    command: [a, b
  api: {command: x}
)");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "w.yaml:4:6: YAML syntax error: end of sequence flow not found");
}

TEST(LoadConfigTest, TopLevelMustBeAMapOfOneDocument) {
  EXPECT_EQ(ErrorsOf("- a\n- b\n"),
            (Lines{"w.yaml:1:1: the top level must be a map with warden, include, programs and "
                   "groups"}));
  EXPECT_EQ(ErrorsOf("programs: {}\n---\nprograms: {}\n"),
            (Lines{"w.yaml:2:1: a config file holds one YAML document; this is a second one"}));
}

TEST(LoadConfigTest, StrayFlowCommaIsAnErrorNotAHang) {
  // yaml-cpp 0.7's LoadAll never returns on this input; the loader must.
  EXPECT_EQ(ErrorsOf(",\n"),
            (Lines{"w.yaml:1:1: a config file holds one YAML document; this is a second one"}));
}

TEST(LoadConfigTest, MergeKeysAreReportedNotIgnored) {
  EXPECT_EQ(ErrorsOf(R"(
programs:
  web:
    <<: {autostart: false}
    command: x
)"),
            (Lines{"w.yaml:3:5: YAML merge keys ('<<') are not supported"}));
}

// main.yaml including `includes` (a YAML list's items), conf.d/{b,a,10}.yaml (a includes
// nested/n.yaml), conf.d/.hidden.yaml, conf.d/skip.txt and extra.yaml; returns main.yaml's path.
std::string WriteIncludeTree(const ScratchDir& dir, const std::string& includes) {
  const std::string main =
      dir.Write("main.yaml", "warden:\n  socket: run/w.sock\ninclude: [" + includes +
                                 "]\nprograms:\n  main: {command: x}\n");
  dir.Write("conf.d/b.yaml", "programs: {b: {command: x}}\n");
  dir.Write("conf.d/a.yaml", "include: [../nested/*.yaml]\nprograms: {a: {command: x}}\n");
  dir.Write("conf.d/10.yaml", "groups: {g: [a, b]}\n");
  dir.Write("conf.d/.hidden.yaml", "programs: {hidden: {command: x}}\n");
  dir.Write("conf.d/skip.txt", "this is not yaml: [\n");
  dir.Write("nested/n.yaml", "programs: {n: {command: x}}\n");
  dir.Write("extra.yaml", "programs: {extra: {command: x}}\n");
  return main;
}

TEST(LoadConfigTest, IncludesAreReadInSortedOrderAndRecursively) {
  ScratchDir dir;
  const std::string main = WriteIncludeTree(dir, R"("conf.d/*.yaml", "extra.yaml")");

  const LoadResult result = LoadConfigFile(main);
  ASSERT_TRUE(result.errors.empty()) << Joined(result);
  ASSERT_TRUE(result.config.has_value());
  const Config& config = *result.config;
  const std::string& d = dir.path();
  EXPECT_EQ(config.files,
            (Lines{main, d + "/conf.d/10.yaml", d + "/conf.d/a.yaml",
                   d + "/conf.d/../nested/n.yaml", d + "/conf.d/b.yaml", d + "/extra.yaml"}));
  EXPECT_EQ(config.warden.socket, d + "/run/w.sock");
  Lines names;
  for (const Program& p : config.programs) names.push_back(p.name);
  EXPECT_EQ(names, (Lines{"a", "b", "extra", "main", "n"}));
  EXPECT_EQ(config.FindProgram("b")->where.file, d + "/conf.d/b.yaml");
  ASSERT_EQ(config.groups.size(), 1u);
  EXPECT_EQ(config.groups[0].programs, (Lines{"a", "b"}));
  EXPECT_EQ(config.groups[0].where.file, d + "/conf.d/10.yaml");
}

TEST(LoadConfigTest, IncludeErrorsNameBothPlaces) {
  ScratchDir dir;
  const std::string main = dir.Write("main.yaml", R"(
include:
  - conf.d/*.yaml
  - missing.yaml
  - sub
programs:
  web:
    command: x
)");
  dir.Write("conf.d/a.yaml", R"(
warden:
  log_level: debug
programs:
  web:
    command: y
include: [../main.yaml]
)");
  std::filesystem::create_directories(dir.path() + "/sub");
  const std::string& d = dir.path();
  const LoadResult result = LoadConfigFile(main);
  EXPECT_FALSE(result.config.has_value());
  EXPECT_EQ(Errors(result),
            (Lines{
                main + ":3:5: included file '" + d + "/missing.yaml' does not exist",
                main + ":4:5: cannot read included file '" + d + "/sub': Is a directory",
                d + "/conf.d/a.yaml:1:1: 'warden' may appear only in the main config file",
                d + "/conf.d/a.yaml:4:3: program 'web' is already defined at " + main + ":6:3",
                d + "/conf.d/a.yaml:6:11: include cycle: " + main + " -> " + d +
                    "/conf.d/a.yaml -> " + d + "/conf.d/../main.yaml",
            }));
}

TEST(LoadConfigTest, PatternsThatMatchNothingAreFine) {
  ScratchDir dir;
  const std::string main =
      dir.Write("main.yaml", "include: [\"conf.d/*.yaml\", \"none/*.yaml\"]\nprograms: {}\n");
  std::filesystem::create_directories(dir.path() + "/conf.d");
  const LoadResult result = LoadConfigFile(main);
  EXPECT_TRUE(result.errors.empty()) << Joined(result);
  ASSERT_TRUE(result.config.has_value());
  EXPECT_EQ(result.config->files, Lines{main});
}

TEST(LoadConfigTest, AFileIncludedTwiceIsReadOnce) {
  ScratchDir dir;
  const std::string main =
      dir.Write("main.yaml", "include: [\"conf.d/*.yaml\", conf.d/a.yaml]\nprograms: {}\n");
  dir.Write("conf.d/a.yaml", "programs: {a: {command: x}}\n");
  const LoadResult result = LoadConfigFile(main);
  EXPECT_TRUE(result.errors.empty()) << Joined(result);
  ASSERT_TRUE(result.config.has_value());
  EXPECT_EQ(result.config->files.size(), 2u);
}

TEST(LoadConfigTest, TextInMemoryIncludesRelativeToItsName) {
  ScratchDir dir;
  dir.Write("conf.d/x.yaml", "programs: {x: {command: /bin/x}}\n");
  const Config config =
      MustLoad("include: [conf.d/*.yaml]\nprograms: {y: {command: /bin/y, depends_on: [x]}}\n",
               dir.path() + "/virtual.yaml");
  EXPECT_EQ(config.files, (Lines{dir.path() + "/virtual.yaml", dir.path() + "/conf.d/x.yaml"}));
  ASSERT_NE(config.FindProgram("x"), nullptr);
  EXPECT_EQ(config.FindProgram("x")->command, Lines{"/bin/x"});
}

TEST(LoadConfigTest, UnreadableMainFile) {
  ScratchDir dir;
  const std::string path = dir.path() + "/nope.yaml";
  const LoadResult result = LoadConfigFile(path);
  EXPECT_FALSE(result.config.has_value());
  EXPECT_EQ(Errors(result), Lines{path + ": cannot read config file: No such file or directory"});
}

TEST(LoadConfigTest, TheSocketIsKnownDespiteMistakesElsewhere) {
  // wardenctl -c needs warden.socket only: a typo in a program must not hide it.
  const LoadResult typo = LoadConfigString(Text(R"(
warden:
  socket: /run/w/w.sock
  log_levle: info
programs:
  web: {comand: /bin/true}
)"),
                                           "/etc/w.yaml");
  EXPECT_FALSE(typo.config.has_value());
  EXPECT_EQ(typo.socket, "/run/w/w.sock");
  EXPECT_EQ(LoadConfigString("programs: {web: {}}\n", "w.yaml").socket, DefaultSocketPath());
  EXPECT_EQ(MustLoad("warden: {socket: /a/b.sock}\n").warden.socket, "/a/b.sock");
  // Not known: the socket itself is wrong, the file is not YAML, or it cannot be read.
  EXPECT_EQ(LoadConfigString("warden: {socket: [1]}\n", "w.yaml").socket, std::nullopt);
  EXPECT_EQ(LoadConfigString("warden: 3\n", "w.yaml").socket, std::nullopt);
  EXPECT_EQ(LoadConfigString("warden: {socket: /a\n", "w.yaml").socket, std::nullopt);
  EXPECT_EQ(LoadConfigFile("/nonexistent/w.yaml").socket, std::nullopt);
}

TEST(LoadConfigTest, ASupervisordConfPointsAtTheImporter) {
  EXPECT_EQ(ErrorsOf(R"(
; supervisord.conf
[supervisord]
nodaemon=true

[program:web]
command=/usr/bin/python3 -m http.server
)"),
            Lines{"w.yaml:2:1: this looks like a supervisord configuration (INI), not warden YAML: "
                  "convert it with 'wardenctl import-supervisord w.yaml > warden.yaml'"});
  // An INI that happens to parse as YAML (a flow sequence first) is caught too.
  EXPECT_EQ(ErrorsOf("[program:web]\n"),
            Lines{"w.yaml:1:1: this looks like a supervisord configuration (INI), not warden "
                  "YAML: convert it with 'wardenctl import-supervisord w.yaml > warden.yaml'"});
}

TEST(LoadConfigTest, ATabInTheIndentationIsNamed) {
  const std::vector<std::string> errors = ErrorsOf("programs:\n  web:\n\tcommand: /bin/true\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(
      errors[0].starts_with("w.yaml:3:1: YAML forbids tabs for indentation: indent with "
                            "spaces ("))
      << errors[0];
  // A tab after the key is no indentation, and fine.
  EXPECT_EQ(MustLoad("programs:\n  web:\n    command:\t/bin/true\n").programs.size(), 1u);
}

TEST(LoadConfigTest, SupervisordKeysSuggestTheWardenForm) {
  EXPECT_EQ(ErrorsOf(R"(
programs:
  web:
    cmd: /bin/true
    stdout_logfile: /var/log/web.log
    redirect_stderr: true
    stderr_logfile_maxbytes: 1MB
    cwd: /srv
)"),
            (Lines{
                "w.yaml:2:3: program 'web' has no 'command'",
                "w.yaml:3:5: unknown key 'cmd' in program 'web' (did you mean 'command'?)",
                "w.yaml:4:5: unknown key 'stdout_logfile' in program 'web' (did you mean "
                "'stdout: {file: PATH}'?)",
                "w.yaml:5:5: unknown key 'redirect_stderr' in program 'web' (did you mean "
                "'stderr: stdout'?)",
                "w.yaml:6:5: unknown key 'stderr_logfile_maxbytes' in program 'web' (did you "
                "mean 'stderr: {max_bytes: SIZE}'?)",
                "w.yaml:7:5: unknown key 'cwd' in program 'web' (did you mean 'directory'?)",
            }));
}

TEST(LoadConfigTest, AnUnknownSocketGroupIsAnErrorAtItsValue) {
  EXPECT_EQ(ErrorsOf("warden:\n  socket_group: no-such-group-here\n"),
            Lines{"w.yaml:2:17: 'socket_group' 'no-such-group-here': no such group"});
}

TEST(LoadConfigTest, NamesTooLongForTheirLogFilesAreRefused) {
  // The AUTO log file is GROUP.PROCESS.stdout.log (PROCESS alone when it is its own group); a
  // file name holds 255 bytes.
  const std::string name(125, 'a');
  EXPECT_EQ(MustLoad("programs:\n  " + name + ": {command: /bin/true}\n").programs.size(), 1u);
  EXPECT_EQ(ErrorsOf("programs:\n  " + name + ": {command: /bin/true, numprocs: 2}\n"),
            Lines{"w.yaml:2:3: process name '" + name + ":" + name + "_00' of program '" + name +
                  "' is too long for its log file name (265 bytes with '.stdout.log'; at most "
                  "255)"});
  const std::string group(130, 'g');
  EXPECT_EQ(ErrorsOf("programs:\n  " + name + ": {command: /bin/true}\ngroups:\n  " + group +
                     ": [" + name + "]\n"),
            Lines{"w.yaml:2:3: process name '" + group + ":" + name + "' of program '" + name +
                  "' is too long for its log file name (267 bytes with '.stdout.log'; at most "
                  "255)"});
}

TEST(CheckHostTest, UsersGroupsCommandsAndFolders) {
  const Config config = MustLoad(R"(
programs:
  ok:
    command: sh -c true
    user: root
    group: root
    directory: /
  bad:
    command: /nonexistent/bin/x
    user: no-such-user-here
    group: no-such-group-here
    directory: /nonexistent/dir
  nopath:
    command: no-such-command-here --flag
  expanded:
    command: ${HOME}/bin/x
)");
  const HostCheck check = CheckHost(config);
  std::vector<std::string> errors, warnings;
  for (const Diagnostic& d : check.errors) errors.push_back(d.ToString());
  for (const Diagnostic& d : check.warnings) warnings.push_back(d.ToString());
  EXPECT_EQ(errors, (Lines{
                        "w.yaml:9:11: program 'bad': user 'no-such-user-here': no such user",
                        "w.yaml:10:12: program 'bad': group 'no-such-group-here': no such group",
                    }));
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_EQ(warnings[0],
            "w.yaml:8:14: warning: program 'bad': command '/nonexistent/bin/x' does not exist");
  EXPECT_EQ(warnings[1],
            "w.yaml:11:16: warning: program 'bad': directory '/nonexistent/dir' does not exist "
            "(yet)");
  EXPECT_TRUE(
      warnings[2].starts_with("w.yaml:13:14: warning: program 'nopath': command "
                              "'no-such-command-here' is not found on PATH ("))
      << warnings[2];
}

TEST(LoadConfigTest, SyntaxErrorInAnIncludedFileKeepsTheRest) {
  ScratchDir dir;
  const std::string main = dir.Write("main.yaml", R"(
include: ["*.inc.yaml"]
programs:
  web: {command: x, numprocs: x}
)");
  dir.Write("a.inc.yaml", "programs: {a: {command: x}\n");
  dir.Write("b.inc.yaml", "programs: {b: {commmand: x}}\n");
  const LoadResult result = LoadConfigFile(main);
  const std::string& d = dir.path();
  const Lines errors = Errors(result);
  ASSERT_EQ(errors.size(), 4u) << Joined(result);
  EXPECT_EQ(errors[0], main + ":3:31: 'numprocs' must be an integer");
  EXPECT_EQ(errors[1].rfind(d + "/a.inc.yaml:", 0), 0u) << errors[1];
  EXPECT_NE(errors[1].find("YAML syntax error"), std::string::npos) << errors[1];
  EXPECT_EQ(errors[2], d + "/b.inc.yaml:1:12: program 'b' has no 'command'");
  EXPECT_EQ(errors[3], d + "/b.inc.yaml:1:16: unknown key 'commmand' in program 'b' (did you "
                           "mean 'command'?)");
}

TEST(LoadConfigTest, ExampleAndDefaultConfigsInTheRepositoryLoad) {
  const std::string source = WARDEN_SOURCE_DIR;
  const LoadResult example = LoadConfigFile(source + "/config/example.yaml");
  EXPECT_TRUE(example.errors.empty()) << Joined(example);
  ASSERT_TRUE(example.config.has_value());
  EXPECT_GE(example.config->programs.size(), 3u);
  EXPECT_EQ(example.config->warden.socket, "/tmp/warden-demo/warden.sock");
  EXPECT_EQ(example.config->warden.log_dir, "/tmp/warden-demo/logs");
  EXPECT_FALSE(example.config->groups.empty());

  const LoadResult packaged = LoadConfigFile(source + "/config/warden.yaml");
  EXPECT_TRUE(packaged.errors.empty()) << Joined(packaged);
  ASSERT_TRUE(packaged.config.has_value());
  EXPECT_EQ(packaged.config->warden.log_dir, "/var/log/warden");
}

TEST(ExpandProcessNamesTest, NamesAndGroups) {
  const Config config = MustLoad(R"(
programs:
  web: {command: x, numprocs: 3, numprocs_start: 8}
  api: {command: x}
  solo: {command: x}
  pool: {command: x, numprocs: 2}
groups:
  webapps: [web, api]
)");
  const auto full_names = [&](const char* program) {
    Lines out;
    for (const ProcessName& n : ExpandProcessNames(config, *config.FindProgram(program))) {
      out.push_back(n.FullName());
    }
    return out;
  };
  EXPECT_EQ(full_names("web"), (Lines{"webapps:web_08", "webapps:web_09", "webapps:web_10"}));
  EXPECT_EQ(full_names("api"), Lines{"webapps:api"});
  EXPECT_EQ(full_names("solo"), Lines{"solo"});
  EXPECT_EQ(full_names("pool"), (Lines{"pool:pool_00", "pool:pool_01"}));
  const auto solo = ExpandProcessNames(config, *config.FindProgram("solo"));
  ASSERT_EQ(solo.size(), 1u);
  EXPECT_EQ(solo[0].group, "solo");
  EXPECT_EQ(solo[0].name, "solo");
}

TEST(DiagnosticTest, ToString) {
  EXPECT_EQ((Diagnostic{{"a.yaml", 3, 7}, "bad"}).ToString(), "a.yaml:3:7: bad");
  EXPECT_EQ((Diagnostic{{"a.yaml", 0, 0}, "unreadable"}).ToString(), "a.yaml: unreadable");
  EXPECT_EQ((Diagnostic{{"", 0, 0}, "plain"}).ToString(), "plain");
  EXPECT_EQ((Diagnostic{{"", 2, 5}, "nameless"}).ToString(), "2:5: nameless");
}

TEST(DefaultPathsTest, FollowSystemdDirectories) {
  ::setenv("RUNTIME_DIRECTORY", "/run/warden-x:/run/other", 1);
  ::setenv("LOGS_DIRECTORY", "/var/log/warden-x", 1);
  ::setenv("CONFIGURATION_DIRECTORY", "/etc/warden-x", 1);
  EXPECT_EQ(DefaultSocketPath(), "/run/warden-x/warden.sock");
  EXPECT_EQ(DefaultLogDir(), "/var/log/warden-x");
  EXPECT_EQ(DefaultConfigPath(), "/etc/warden-x/warden.yaml");
  LoadResult r = LoadConfigString("programs: {}\n", "/tmp/paths.yaml");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->warden.socket, "/run/warden-x/warden.sock");
  EXPECT_EQ(r.config->warden.log_dir, "/var/log/warden-x");
  ::unsetenv("RUNTIME_DIRECTORY");
  ::unsetenv("LOGS_DIRECTORY");
  ::unsetenv("CONFIGURATION_DIRECTORY");
  EXPECT_EQ(DefaultLogDir(), "/var/log/warden");
  EXPECT_EQ(DefaultConfigPath(), "/etc/warden/warden.yaml");
}

TEST(DefaultSocketPathTest, FollowsUserAndRuntimeDir) {
  if (::geteuid() == 0) {
    EXPECT_EQ(DefaultSocketPath(), "/run/warden/warden.sock");
    return;
  }
  const char* saved = std::getenv("XDG_RUNTIME_DIR");
  const std::string saved_value = saved != nullptr ? saved : "";
  ::setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
  EXPECT_EQ(DefaultSocketPath(), "/run/user/4242/warden/warden.sock");
  ::unsetenv("XDG_RUNTIME_DIR");
  EXPECT_EQ(DefaultSocketPath(), "/tmp/warden-" + std::to_string(::geteuid()) + "/warden.sock");
  if (saved != nullptr) ::setenv("XDG_RUNTIME_DIR", saved_value.c_str(), 1);
}

TEST(LoadConfigTest, LogTargetIsStderrJournaldOrAFile) {
  EXPECT_EQ(MustLoad("warden: {log_target: stderr}\n").warden.log_target, LogTarget::kStderr);
  EXPECT_EQ(MustLoad("warden: {log_target: journald}\n").warden.log_target, LogTarget::kJournald);
  const Config file = MustLoad("warden: {log_target: ./wardend.log}\n", "/etc/warden/w.yaml");
  EXPECT_EQ(file.warden.log_target, LogTarget::kFile);
  EXPECT_EQ(file.warden.log_file, "/etc/warden/wardend.log");
  EXPECT_EQ(ErrorsOf("warden: {log_target: journal}\n"),
            (Lines{"w.yaml:1:22: 'log_target' must be stderr or journald (did you mean "
                   "'journald'?)"}));
}

// --- LoadConfigSources: the configuration in force built again without the disk -----------------

TEST(LoadConfigSourcesTest, TheSameConfigWhateverTheDiskSaysNow) {
  ScratchDir dir;
  const std::string main = WriteIncludeTree(
      dir, R"("conf.d/*.yaml", "extra.yaml", "link.yaml", "conf.d/a.yaml", "conf.d/.hidden.yaml")");
  std::filesystem::create_symlink(dir.path() + "/extra.yaml", dir.path() + "/link.yaml");
  const LoadResult first = LoadConfigFile(main);
  ASSERT_TRUE(first.config.has_value()) << Joined(first);
  const Config& config = *first.config;
  // Every file read, with its text, and the one reached twice under another name.
  const std::string& d = dir.path();
  ASSERT_EQ(config.sources.files.size(), 8u);
  EXPECT_EQ(config.sources.files[0].path, main);
  EXPECT_EQ(config.sources.files[1].text, "groups: {g: [a, b]}\n");
  EXPECT_EQ(config.sources.files[6], (SourceFile{d + "/link.yaml", "", d + "/extra.yaml"}));

  // The disk changes: a file removed, one made invalid, one added, the main file rewritten.
  std::filesystem::remove(d + "/conf.d/b.yaml");
  dir.Write("nested/n.yaml", "programs: [\n");
  dir.Write("conf.d/c.yaml", "programs: {c: {command: x}}\n");
  dir.Write("main.yaml", "programs: {}\n");
  std::filesystem::remove(d + "/link.yaml");

  const LoadResult again = LoadConfigSources(config.sources);
  ASSERT_TRUE(again.config.has_value()) << Joined(again);
  EXPECT_TRUE(Diff(config, *again.config).empty());
  EXPECT_EQ(again.config->files, config.files);
  EXPECT_EQ(again.config->path, main);
  EXPECT_EQ(again.config->warden.socket, d + "/run/w.sock");
  EXPECT_EQ(again.config->FindProgram("c"), nullptr);
  // Read through its own name only, last: a wildcard matches no leading dot, as in glob(3).
  EXPECT_NE(again.config->FindProgram("hidden"), nullptr);
  ASSERT_NE(again.config->FindProgram("b"), nullptr);
  EXPECT_EQ(again.config->groups.size(), 1u);
  EXPECT_EQ(again.config->sources, config.sources);  // so it carries on to the next exec
}

TEST(LoadConfigSourcesTest, UpdatesAreAppliedAgainOnTop) {
  ScratchDir dir;
  const std::string main = dir.Write("main.yaml", R"(
warden:
  socket: first.sock
  log_level: warn
programs:
  a: {command: a1}
  b: {command: b1}
)");
  const LoadResult first = LoadConfigFile(main);
  ASSERT_TRUE(first.config.has_value()) << Joined(first);
  // `update a` (b keeps its definition), then the file changes again.
  dir.Write("main.yaml", R"(
warden:
  socket: second.sock
  log_level: debug
programs:
  a: {command: a2}
  b: {command: b2}
)");
  LoadResult second = LoadConfigFile(main);
  ASSERT_TRUE(second.config.has_value()) << Joined(second);
  const Config partial = Merge(*first.config, std::move(*second.config), {"a"});
  EXPECT_EQ(partial.FindProgram("a")->command, Lines{"a2"});
  EXPECT_EQ(partial.FindProgram("b")->command, Lines{"b1"});
  dir.Write("main.yaml", "programs: {}\n");

  LoadResult again = LoadConfigSources(partial.sources);
  ASSERT_TRUE(again.config.has_value()) << Joined(again);
  EXPECT_TRUE(Diff(partial, *again.config).empty());
  EXPECT_EQ(again.config->warden.log_level, LogLevel::kWarn);
  EXPECT_EQ(again.config->sources, partial.sources);

  // `update b`, then `update a` again: the first update of a is superseded, not kept twice.
  dir.Write("main.yaml", "programs:\n  a: {command: a3}\n  b: {command: b3}\n");
  LoadResult b_only = LoadConfigFile(main);
  ASSERT_TRUE(b_only.config.has_value()) << Joined(b_only);
  const Config with_b = Merge(partial, std::move(*b_only.config), {"b"});
  LoadResult a_again = LoadConfigFile(main);
  ASSERT_TRUE(a_again.config.has_value()) << Joined(a_again);
  const Config twice = Merge(with_b, std::move(*a_again.config), {"a"});
  ASSERT_EQ(twice.sources.updates.size(), 2u);
  EXPECT_EQ(twice.sources.updates[0].only, Lines{"b"});
  EXPECT_EQ(twice.sources.updates[1].only, Lines{"a"});
  EXPECT_EQ(twice.FindProgram("a")->command, Lines{"a3"});
  EXPECT_EQ(twice.FindProgram("b")->command, Lines{"b3"});
  LoadResult rebuilt = LoadConfigSources(twice.sources);
  ASSERT_TRUE(rebuilt.config.has_value()) << Joined(rebuilt);
  EXPECT_TRUE(Diff(twice, *rebuilt.config).empty());
  dir.Write("main.yaml", "programs: {}\n");

  // An update of everything replaces the updates before it; `warden` keeps its first socket.
  dir.Write("main.yaml", R"(
warden:
  socket: third.sock
  log_level: error
programs:
  c: {command: c3}
)");
  LoadResult third = LoadConfigFile(main);
  ASSERT_TRUE(third.config.has_value()) << Joined(third);
  const Config full = Merge(partial, std::move(*third.config), {});
  EXPECT_EQ(full.sources.updates.size(), 1u);
  EXPECT_EQ(full.warden.socket, dir.path() + "/first.sock");
  EXPECT_EQ(full.warden.log_level, LogLevel::kError);
  again = LoadConfigSources(full.sources);
  ASSERT_TRUE(again.config.has_value()) << Joined(again);
  EXPECT_TRUE(Diff(full, *again.config).empty());
  EXPECT_EQ(again.config->warden.socket, dir.path() + "/first.sock");
  EXPECT_EQ(again.config->warden.log_level, LogLevel::kError);
  ASSERT_EQ(again.config->programs.size(), 1u);
}

TEST(LoadConfigSourcesTest, AFileMissingFromTheSourcesIsAnError) {
  ConfigSources sources;
  EXPECT_FALSE(LoadConfigSources(sources).config.has_value());
  sources.files.push_back({"/nowhere/w.yaml", "include: [x.yaml]\nprograms: {}\n", ""});
  const LoadResult result = LoadConfigSources(sources);
  EXPECT_FALSE(result.config.has_value());
  EXPECT_EQ(Errors(result),
            Lines{"/nowhere/w.yaml:1:11: included file '/nowhere/x.yaml' does not exist"});
}

}  // namespace
}  // namespace warden::config

namespace warden::config {
namespace {

std::string ReadSource(const std::string& relative) {
  std::ifstream in(std::string(WARDEN_SOURCE_DIR) + "/" + relative);
  EXPECT_TRUE(in.good()) << relative;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every key the loader accepts is in warden.yaml(5) (as *key*, or a section's heading) and in
// docs/configuration.md (as `key...`): a key added to the code without its documentation fails.
TEST(DocumentationTest, EveryAcceptedKeyIsDocumented) {
  const std::string man = ReadSource("man/warden.yaml.5.scd");
  const std::string docs = ReadSource("docs/configuration.md");
  const std::vector<std::string> keys = AcceptedKeys();
  EXPECT_GT(keys.size(), 40u);
  for (const std::string& path : keys) {
    const std::string leaf = path.substr(path.rfind('.') + 1);
    std::string heading = "# " + leaf;
    std::transform(heading.begin(), heading.end(), heading.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    auto has_any = [](const std::string& text, const std::vector<std::string>& forms) {
      return std::any_of(forms.begin(), forms.end(),
                         [&](const std::string& f) { return text.find(f) != std::string::npos; });
    };
    EXPECT_TRUE(has_any(man, {"*" + leaf + "*", "*" + leaf + ":", "{" + leaf + ":",
                              ", " + leaf + ":", "_" + leaf + "_", "\n" + heading + "\n"}))
        << path << " is not in man/warden.yaml.5.scd";
    EXPECT_TRUE(has_any(docs, {"`" + leaf, "." + leaf + "`", "{" + leaf + ":"}))
        << path << " is not in docs/configuration.md";
  }
}

}  // namespace
}  // namespace warden::config
