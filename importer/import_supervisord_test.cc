#include "importer/import_supervisord.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "config/config.h"
#include "config/expand.h"

namespace warden::importer {
namespace {

using Words = std::vector<std::string>;
using Pairs = std::vector<std::pair<std::string, std::string>>;
using Severity = ImportMessage::Severity;

// Files, environment and node name in memory.
struct FakeSystem {
  std::map<std::string, std::string> files;
  std::map<std::string, std::string, std::less<>> env = {{"HOME", "/root"},
                                                         {"PATH", "/usr/bin:/bin"}};

  ImportHost Host() const {
    ImportHost host;
    host.read_file = [this](const std::string& path) -> Result<std::string> {
      auto it = files.find(path);
      if (it == files.end()) return Status(ErrorCode::kIo, "No such file or directory");
      return it->second;
    };
    host.glob = [this](const std::string& pattern) {
      std::vector<std::string> matches;
      for (const auto& [path, text] : files) {
        if (::fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME | FNM_PERIOD) == 0) {
          matches.push_back(path);
        }
      }
      std::reverse(matches.begin(), matches.end());  // any order: the importer sorts
      return matches;
    };
    host.getenv = [this](std::string_view name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    host.host_node_name = "node1";
    host.cwd = "/etc/supervisor";
    return host;
  }
};

struct Converted {
  ImportResult result;
  config::Config config;

  const config::Program& Program(std::string_view name) const {
    const config::Program* p = config.FindProgram(name);
    if (p == nullptr) {
      ADD_FAILURE() << "no program " << name << " in:\n" << result.yaml;
      static const config::Program kNone;
      return kNone;
    }
    return *p;
  }
  // The messages of one severity, as printed.
  std::vector<std::string> Messages(Severity severity) const {
    std::vector<std::string> out;
    for (const ImportMessage& m : result.messages) {
      if (m.severity == severity) out.push_back(m.ToString());
    }
    return out;
  }
  bool Says(Severity severity, std::string_view where, std::string_view text) const {
    for (const std::string& m : Messages(severity)) {
      if (m.starts_with(where) && m.find(text) != std::string::npos) return true;
    }
    return false;
  }
  std::vector<std::string> FullNames(std::string_view program) const {
    std::vector<std::string> names;
    for (const config::ProcessName& n : config::ExpandProcessNames(config, Program(program))) {
      names.push_back(n.FullName());
    }
    return names;
  }
};

std::string AllMessages(const ImportResult& r) {
  std::string out;
  for (const ImportMessage& m : r.messages) out += m.ToString() + "\n";
  return out;
}

// Converts `path` and loads the output with warden's own loader, which must accept it.
Converted Convert(const FakeSystem& system, const std::string& path) {
  Converted c;
  c.result = ImportSupervisord(path, system.Host());
  config::LoadResult loaded = config::LoadConfigString(c.result.yaml, "/etc/warden/warden.yaml");
  std::string errors;
  for (const auto& d : loaded.errors) errors += d.ToString() + "\n";
  EXPECT_TRUE(loaded.config.has_value()) << errors << "--- output:\n" << c.result.yaml;
  if (loaded.config) c.config = *loaded.config;
  return c;
}

// Debian's stock supervisord.conf, plus two conf.d files as a Django shop would write them.
FakeSystem DebianSystem() {
  FakeSystem s;
  s.files["/etc/supervisor/supervisord.conf"] = R"(; supervisor config file

[unix_http_server]
file=/var/run/supervisor.sock   ; (the path to the socket file)
chmod=0700                       ; sockef file mode (default 0700)

[supervisord]
logfile=/var/log/supervisor/supervisord.log ; (main log file;default $CWD/supervisord.log)
pidfile=/var/run/supervisord.pid ; (supervisord pidfile;default supervisord.pid)
childlogdir=/var/log/supervisor            ; ('AUTO' child log dir, default $TEMP)

; the below section must remain in the config file for RPC
; (supervisorctl/web interface) to work, additional interfaces may be
; added by defining them in separate rpcinterface: sections
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix:///var/run/supervisor.sock ; use a unix:// URL  for a unix socket

; The [include] section can just contain the "files" setting.  This
; setting can list multiple files (separated by whitespace or
; newlines).  It can also contain wildcards.  The filenames are
; interpreted as relative to this file.  Included files *cannot*
; include files themselves.

[include]
files = /etc/supervisor/conf.d/*.conf
)";
  s.files["/etc/supervisor/conf.d/myapp.conf"] = R"([program:myapp]
command=/srv/myapp/venv/bin/gunicorn myapp.wsgi:application --workers 3 --bind unix:/run/myapp.sock
directory=/srv/myapp
user=myapp
autostart=true
autorestart=true
startsecs=10
stopsignal=QUIT
stopwaitsecs=30
stopasgroup=true
redirect_stderr=true
stdout_logfile=/var/log/myapp/gunicorn.log
stdout_logfile_maxbytes=20MB
stdout_logfile_backups=5
environment=DJANGO_SETTINGS_MODULE="myapp.settings.production",LANG="en_US.UTF-8",
    PATH="/srv/myapp/venv/bin:%(ENV_PATH)s"
)";
  s.files["/etc/supervisor/conf.d/celery.conf"] = R"(; Celery workers
[program:celery]
command=/srv/myapp/venv/bin/celery -A myapp worker --loglevel=INFO -n worker%(process_num)d@%%h
process_name=%(program_name)s_%(process_num)02d
numprocs=2
directory=/srv/myapp
user=myapp
stdout_logfile=/var/log/celery/%(program_name)s_%(process_num)02d.log
stderr_logfile=/var/log/celery/%(program_name)s_%(process_num)02d.err
autostart=true
autorestart=true
startsecs=10
stopwaitsecs = 600
killasgroup=true
priority=1000

[program:celerybeat]
command=/srv/myapp/venv/bin/celery -A myapp beat --loglevel=INFO
directory=/srv/myapp
user=myapp
stdout_logfile=/var/log/celery/beat.log
redirect_stderr=true
autostart=true
autorestart=true
startsecs=10
priority=999

[group:myapp-workers]
programs=celery,celerybeat
)";
  return s;
}

TEST(ImportSupervisordTest, DebianLayoutWithIncludes) {
  const FakeSystem system = DebianSystem();
  const Converted c = Convert(system, "supervisord.conf");  // relative to /etc/supervisor
  EXPECT_TRUE(c.result.ok()) << AllMessages(c.result);
  EXPECT_EQ(c.config.warden.socket, "/var/run/supervisor.sock");
  EXPECT_EQ(c.config.warden.socket_mode, 0700u);
  EXPECT_EQ(c.config.warden.log_dir, "/var/log/supervisor");

  const config::Program& app = c.Program("myapp");
  EXPECT_EQ(app.command, (Words{"/srv/myapp/venv/bin/gunicorn", "myapp.wsgi:application",
                                "--workers", "3", "--bind", "unix:/run/myapp.sock"}));
  EXPECT_EQ(app.directory, "/srv/myapp");
  EXPECT_EQ(app.user, "myapp");
  EXPECT_EQ(app.autorestart, config::AutoRestart::kTrue);
  EXPECT_EQ(app.startsecs, 10.0);
  EXPECT_EQ(app.stopsignal, 3);  // QUIT
  EXPECT_EQ(app.stopwaitsecs, 30.0);
  EXPECT_TRUE(app.stopasgroup);
  EXPECT_TRUE(app.killasgroup);
  EXPECT_TRUE(app.stderr_log.merge_into_stdout);
  EXPECT_EQ(app.stdout_log.file, "/var/log/myapp/gunicorn.log");
  EXPECT_EQ(app.stdout_log.max_bytes, 20u << 20);
  EXPECT_EQ(app.stdout_log.backups, 5);
  EXPECT_EQ(app.environment, (Pairs{{"DJANGO_SETTINGS_MODULE", "myapp.settings.production"},
                                    {"LANG", "en_US.UTF-8"},
                                    {"PATH", "/srv/myapp/venv/bin:${PATH}"}}));
  EXPECT_EQ(c.FullNames("myapp"), (Words{"myapp"}));

  // celery's command differs per process (-n worker0@, worker1@), so each process is a program
  // of its own, in the [group:] it was in: the names stay myapp-workers:celery_00, ...
  EXPECT_EQ(c.Program("celery_00").command,
            (Words{"/srv/myapp/venv/bin/celery", "-A", "myapp", "worker", "--loglevel=INFO", "-n",
                   "worker0@%h"}));
  EXPECT_EQ(c.Program("celery_01").command.back(), "worker1@%h");
  EXPECT_EQ(c.Program("celery_01").stdout_log.file, "/var/log/celery/celery_01.log");
  EXPECT_EQ(c.Program("celery_01").stderr_log.file, "/var/log/celery/celery_01.err");
  EXPECT_EQ(c.Program("celery_01").priority, 1000);
  EXPECT_TRUE(c.Program("celery_01").killasgroup);
  EXPECT_FALSE(c.Program("celery_01").stopasgroup);
  EXPECT_EQ(c.FullNames("celery_00"), (Words{"myapp-workers:celery_00"}));
  EXPECT_EQ(c.FullNames("celerybeat"), (Words{"myapp-workers:celerybeat"}));
  ASSERT_EQ(c.config.groups.size(), 1u);
  EXPECT_EQ(c.config.groups[0].programs, (Words{"celery_00", "celery_01", "celerybeat"}));

  // What does not map is listed with its place; the standard boilerplate is not.
  EXPECT_TRUE(c.Says(Severity::kWarning, "supervisord.conf:8:", "logfile"));
  EXPECT_TRUE(c.Says(Severity::kWarning, "supervisord.conf:9:", "pidfile"));
  EXPECT_EQ(c.Messages(Severity::kWarning).size(), 2u) << AllMessages(c.result);
  EXPECT_TRUE(c.Says(Severity::kNote,
                     "/etc/supervisor/conf.d/myapp.conf:15:", "%(ENV_PATH)s written as ${PATH}"));
  EXPECT_TRUE(c.Says(Severity::kNote, "/etc/supervisor/conf.d/celery.conf:2:", "celery_00"));
  // Messages come by file (main first, then the includes in order), then by line.
  ASSERT_FALSE(c.result.messages.empty());
  EXPECT_EQ(c.result.messages.front().file, "supervisord.conf");
  EXPECT_EQ(c.result.messages.back().file, "/etc/supervisor/conf.d/myapp.conf");
  // Each program says where it came from.
  EXPECT_NE(c.result.yaml.find("# [program:myapp] from /etc/supervisor/conf.d/myapp.conf:1"),
            std::string::npos);
  EXPECT_EQ(c.result.programs, 4);
  EXPECT_EQ(c.result.groups, 1);
}

// The [program:x] example of supervisord's configuration.rst, every key.
TEST(ImportSupervisordTest, DocumentationProgramExample) {
  FakeSystem system;
  system.files["/etc/supervisord.conf"] = R"([program:cat]
command=/bin/cat
process_name=%(program_name)s
numprocs=1
directory=/tmp
umask=022
priority=999
autostart=true
autorestart=true
startsecs=10
startretries=3
exitcodes=0,2
stopsignal=TERM
stopwaitsecs=10
user=chrism
redirect_stderr=false
stdout_logfile=/a/path
stdout_logfile_maxbytes=1MB
stdout_logfile_backups=10
stdout_capture_maxbytes=1MB
stderr_logfile=/a/path
stderr_logfile_maxbytes=1MB
stderr_logfile_backups=10
stderr_capture_maxbytes=1MB
environment=A="1",B="2"
serverurl=AUTO
)";
  const Converted c = Convert(system, "/etc/supervisord.conf");
  EXPECT_TRUE(c.result.ok()) << AllMessages(c.result);
  const config::Program& cat = c.Program("cat");
  EXPECT_EQ(cat.command, Words{"/bin/cat"});
  EXPECT_EQ(cat.numprocs, 1);
  EXPECT_EQ(cat.directory, "/tmp");
  ASSERT_TRUE(cat.umask.has_value());
  EXPECT_EQ(*cat.umask, 022u);
  EXPECT_EQ(cat.priority, 999);
  EXPECT_TRUE(cat.autostart);
  EXPECT_EQ(cat.autorestart, config::AutoRestart::kTrue);
  EXPECT_EQ(cat.startsecs, 10.0);
  EXPECT_EQ(cat.startretries, 3);
  EXPECT_EQ(cat.exitcodes, (std::vector<int>{0, 2}));
  EXPECT_EQ(cat.stopsignal, 15);
  EXPECT_EQ(cat.user, "chrism");
  EXPECT_FALSE(cat.stderr_log.merge_into_stdout);
  EXPECT_EQ(cat.stdout_log.file, "/a/path");
  EXPECT_EQ(cat.stdout_log.max_bytes, 1u << 20);
  EXPECT_EQ(cat.stderr_log.file, "/a/path");
  EXPECT_EQ(cat.stderr_log.backups, 10);
  EXPECT_EQ(cat.environment, (Pairs{{"A", "1"}, {"B", "2"}}));
  // Capture mode does not exist in warden: both are listed, at their lines.
  EXPECT_TRUE(c.Says(Severity::kWarning, "/etc/supervisord.conf:20:", "stdout_capture_maxbytes"));
  EXPECT_TRUE(c.Says(Severity::kWarning, "/etc/supervisord.conf:24:", "stderr_capture_maxbytes"));
  EXPECT_EQ(c.Messages(Severity::kWarning).size(), 2u) << AllMessages(c.result);
  // ... and written beside the program in the output too.
  EXPECT_NE(c.result.yaml.find("  # warning: [program:cat] stdout_capture_maxbytes"),
            std::string::npos);
}

// A container entrypoint: nodaemon, logs to the container's stdout, ENV_ settings.
TEST(ImportSupervisordTest, DockerStyleConfig) {
  FakeSystem system;
  system.env["APP_PORT"] = "8080";
  system.files["/app/supervisord.conf"] = R"([supervisord]
nodaemon=true
logfile=/dev/stdout
logfile_maxbytes=0
loglevel=warn
user=root

[program:nginx]
command=nginx -g 'daemon off;'
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0
stderr_logfile=/dev/stderr
stderr_logfile_maxbytes=0
autorestart=true

[program:php-fpm]
command=php-fpm8.2 -F -d listen=127.0.0.1:%(ENV_APP_PORT)s
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0
redirect_stderr=true
autorestart=true
priority=5
)";
  const Converted c = Convert(system, "/app/supervisord.conf");
  EXPECT_TRUE(c.result.ok()) << AllMessages(c.result);
  EXPECT_EQ(c.config.warden.log_level, config::LogLevel::kWarn);
  const config::Program& nginx = c.Program("nginx");
  EXPECT_EQ(nginx.command, (Words{"nginx", "-g", "daemon off;"}));
  EXPECT_EQ(nginx.stdout_log.file, "/dev/stdout");
  EXPECT_EQ(nginx.stdout_log.max_bytes, 0u);
  EXPECT_EQ(nginx.stderr_log.file, "/dev/stderr");
  const config::Program& php = c.Program("php-fpm");
  // wardend expands ${APP_PORT} when it starts the program, as supervisord did when it started.
  EXPECT_EQ(php.command, (Words{"php-fpm8.2", "-F", "-d", "listen=127.0.0.1:${APP_PORT}"}));
  EXPECT_TRUE(php.stderr_log.merge_into_stdout);
  EXPECT_EQ(php.priority, 5);
  // logfile=/dev/stdout is what wardend does anyway; its maxbytes and user are not converted.
  EXPECT_FALSE(c.Says(Severity::kWarning, "/app/supervisord.conf:3:", "logfile"));
  EXPECT_TRUE(c.Says(Severity::kWarning, "/app/supervisord.conf:4:", "logfile_maxbytes"));
  EXPECT_TRUE(c.Says(Severity::kWarning, "/app/supervisord.conf:6:", "user"));
  EXPECT_TRUE(c.Says(Severity::kNote, "/app/supervisord.conf:17:", "written as ${APP_PORT}"));
}

// Laravel's documented queue worker: warden's own naming, so one program with numprocs.
TEST(ImportSupervisordTest, NumprocsWithDefaultNamingStaysOneProgram) {
  FakeSystem system;
  system.files["/etc/supervisor/conf.d/laravel-worker.conf"] = R"([program:laravel-worker]
process_name=%(program_name)s_%(process_num)02d
command=php /home/forge/app.com/artisan queue:work sqs --sleep=3 --tries=3 --max-time=3600
autostart=true
autorestart=true
stopasgroup=true
killasgroup=true
user=forge
numprocs=8
numprocs_start=2
redirect_stderr=true
stdout_logfile=/home/forge/app.com/worker.log
stopwaitsecs=3600
)";
  const Converted c = Convert(system, "/etc/supervisor/conf.d/laravel-worker.conf");
  EXPECT_TRUE(c.result.ok()) << AllMessages(c.result);
  EXPECT_TRUE(c.result.messages.empty()) << AllMessages(c.result);
  const config::Program& w = c.Program("laravel-worker");
  EXPECT_EQ(w.numprocs, 8);
  EXPECT_EQ(w.numprocs_start, 2);
  EXPECT_EQ(w.stopwaitsecs, 3600.0);
  const Words names = c.FullNames("laravel-worker");
  ASSERT_EQ(names.size(), 8u);
  EXPECT_EQ(names.front(), "laravel-worker:laravel-worker_02");
  EXPECT_EQ(names.back(), "laravel-worker:laravel-worker_09");
}

TEST(ImportSupervisordTest, OtherProcessNamesKeepSupervisordsNames) {
  FakeSystem system;
  system.files["/s.conf"] = R"([program:api]
command=/usr/bin/api --shard %(process_num)s --of %(numprocs)d
process_name=%(program_name)s-%(process_num)d
numprocs=2

[program:single]
command=/usr/bin/single
process_name=%(program_name)s_%(process_num)02d

[program:web]
command=/usr/bin/web --name %(group_name)s/%(program_name)s on %(host_node_name)s
[group:front]
programs=web
)";
  const Converted c = Convert(system, "/s.conf");
  EXPECT_TRUE(c.result.ok()) << AllMessages(c.result);
  EXPECT_EQ(c.FullNames("api-0"), Words{"api:api-0"});
  EXPECT_EQ(c.FullNames("api-1"), Words{"api:api-1"});
  EXPECT_EQ(c.Program("api-1").command, (Words{"/usr/bin/api", "--shard", "1", "--of", "2"}));
  // numprocs=1 with the numbered pattern: supervisord names it single:single_00.
  EXPECT_EQ(c.FullNames("single_00"), Words{"single:single_00"});
  EXPECT_TRUE(c.Says(Severity::kNote, "/s.conf:6:", "process_name is not warden's naming"));
  EXPECT_EQ(c.Program("web").command,
            (Words{"/usr/bin/web", "--name", "front/web", "on", "node1"}));
  EXPECT_EQ(c.FullNames("web"), Words{"front:web"});
}

// The environment-variable example of configuration.rst.
TEST(ImportSupervisordTest, EnvironmentVariableInterpolation) {
  FakeSystem system;
  system.env = {{"MYSUPERVISOR_BASEDIR", "/opt/sv"},
                {"MYSUPERVISOR_LOGFILE", "sv.log"},
                {"MYSUPERVISOR_LOGFILE_MAXBYTES", "1MB"},
                {"USER", "chrism"},
                {"CAT_OPTZ", "z"},
                {"CAT_NUMPROCS", "1"},
                {"CAT_DIR", "/tmp/cat"}};
  system.files["/etc/supervisord.conf"] = R"([supervisord]
logfile = %(ENV_MYSUPERVISOR_BASEDIR)s/%(ENV_MYSUPERVISOR_LOGFILE)s
logfile_maxbytes = %(ENV_MYSUPERVISOR_LOGFILE_MAXBYTES)s
logfile_backups=10
loglevel = info
pidfile = %(ENV_MYSUPERVISOR_BASEDIR)s/supervisor.pid
nodaemon = false
minfds = 1024
minprocs = 200
umask = 022
user = %(ENV_USER)s

[program:cat]
command=/bin/cat -x -y --optz=%(ENV_CAT_OPTZ)s
process_name=%(program_name)s
numprocs=%(ENV_CAT_NUMPROCS)s
directory=%(ENV_CAT_DIR)s
umask=022
priority=999
autostart=true
autorestart=true
exitcodes=0,2
user=%(ENV_USER)s
redirect_stderr=false
stopwaitsecs=10
)";
  Converted c = Convert(system, "/etc/supervisord.conf");
  EXPECT_TRUE(c.result.ok()) << AllMessages(c.result);
  const config::Program& cat = c.Program("cat");
  // In the command: a reference wardend expands; elsewhere (warden expands nothing there): the
  // value of this environment, fixed.
  EXPECT_EQ(cat.command, (Words{"/bin/cat", "-x", "-y", "--optz=${CAT_OPTZ}"}));
  EXPECT_EQ(cat.directory, "/tmp/cat");
  EXPECT_EQ(cat.user, "chrism");
  EXPECT_EQ(cat.exitcodes, (std::vector<int>{0, 2}));
  EXPECT_TRUE(c.Says(Severity::kNote, "/etc/supervisord.conf:14:", "written as ${CAT_OPTZ}"));
  EXPECT_TRUE(c.Says(Severity::kNote, "/etc/supervisord.conf:17:",
                     "replaced with $CAT_DIR of this environment (\"/tmp/cat\")"));
  for (const char* key : {"logfile=", "logfile_maxbytes", "logfile_backups", "pidfile", "minfds",
                          "minprocs", "umask", "user"}) {
    EXPECT_TRUE(
        c.Says(Severity::kWarning, "/etc/supervisord.conf:", std::string("[supervisord] ") + key))
        << key << "\n"
        << AllMessages(c.result);
  }
  EXPECT_TRUE(c.Says(Severity::kNote, "/etc/supervisord.conf:7:", "never daemonizes"));

  // supervisord refuses to start when a variable is not set. Where the value must be fixed now,
  // that is an error; in a command it stays a reference, with a warning.
  system.env.erase("CAT_OPTZ");
  system.env.erase("CAT_DIR");
  const ImportResult missing = ImportSupervisord("/etc/supervisord.conf", system.Host());
  EXPECT_FALSE(missing.ok());
  bool error = false;
  bool warning = false;
  for (const ImportMessage& m : missing.messages) {
    error = error || (m.severity == Severity::kError && m.line == 17 &&
                      m.message.find("$CAT_DIR is not set") != std::string::npos);
    warning = warning || (m.severity == Severity::kWarning && m.line == 14 &&
                          m.message.find("$CAT_OPTZ is not set") != std::string::npos);
  }
  EXPECT_TRUE(error) << AllMessages(missing);
  EXPECT_TRUE(warning) << AllMessages(missing);
}

TEST(ImportSupervisordTest, WhatCannotBeConvertedIsListed) {
  FakeSystem system;
  system.files["/etc/supervisord.conf"] = R"([inet_http_server]
port = 127.0.0.1:9001
username = user
password = 123

[unix_http_server]
file=%(here)s/supervisor.sock
chmod=0770
chown=nobody:staff
username=user
password=123

[supervisorctl]
serverurl=http://127.0.0.1:9001
prompt=mysupervisor

[program:app]
command=/usr/bin/app
stdout_syslog=true
stderr_events_enabled=true
serverurl=unix:///tmp/other.sock
autorestrat=true

[fcgi-program:php]
command=/usr/bin/php-cgi
socket=unix:///var/run/supervisor/%(program_name)s.sock

[eventlistener:memmon]
command=memmon -a 200MB -m bob@example.com
events=TICK_60

[rpcinterface:another]
supervisor.rpcinterface_factory = my.package:make_another_rpcinterface

[ctlplugin:serialrestart]
supervisor.ctl_factory = supervisorserialrestart.controllerplugin:make_serialrestart_controllerplugin

[group:mixed]
programs=app,php

[something-else]
key=value
)";
  const Converted c = Convert(system, "/etc/supervisord.conf");
  EXPECT_TRUE(c.result.ok()) << AllMessages(c.result);
  EXPECT_EQ(c.config.warden.socket, "/etc/supervisor.sock");  // %(here)s
  EXPECT_EQ(c.config.warden.socket_mode, 0770u);
  EXPECT_EQ(c.config.warden.socket_group, "staff");
  EXPECT_EQ(c.Program("app").command, Words{"/usr/bin/app"});
  EXPECT_EQ(c.FullNames("app"), Words{"mixed:app"});
  const std::vector<std::pair<int, std::string>> expected = {
      {1, "[inet_http_server]"},
      {9, "chown"},
      {10, "username"},
      {11, "password"},
      {14, "serverurl"},
      {15, "prompt"},
      {19, "stdout_syslog"},
      {20, "stderr_events_enabled"},
      {21, "serverurl"},
      {22, "autorestrat"},
      {24, "[fcgi-program:php]"},
      {29, "not converted: -m bob@example.com"},
      {32, "[rpcinterface:another]"},
      {35, "[ctlplugin:serialrestart]"},
      {39, "'php' is an [fcgi-program]"},
      {41, "[something-else]"}};
  for (const auto& [line, text] : expected) {
    EXPECT_TRUE(
        c.Says(Severity::kWarning, "/etc/supervisord.conf:" + std::to_string(line) + ":", text))
        << line << " " << text << "\n"
        << AllMessages(c.result);
  }
  EXPECT_EQ(c.Messages(Severity::kWarning).size(), expected.size()) << AllMessages(c.result);
}

TEST(ImportSupervisordTest, MemmonBecomesMemoryLimit) {
  FakeSystem system;
  system.files["/etc/supervisord.conf"] = R"([program:web]
command=/usr/bin/web

[program:worker]
command=/usr/bin/worker

[program:api]
command=/usr/bin/api

[program:other]
command=/usr/bin/other

[group:backend]
programs=worker,api

[eventlistener:memmon]
command=memmon -p web=200MB -g backend=1GB --program=backend:api=512MB -a 2GB -c -u 60
events=TICK_60
)";
  const Converted c = Convert(system, "/etc/supervisord.conf");
  EXPECT_TRUE(c.result.ok()) << AllMessages(c.result);
  EXPECT_EQ(c.Program("web").memory_limit, 200ull << 20);
  EXPECT_EQ(c.Program("worker").memory_limit, 1ull << 30);  // its group's
  EXPECT_EQ(c.Program("api").memory_limit, 512ull << 20);   // group:name wins over the group
  EXPECT_EQ(c.Program("other").memory_limit, 2ull << 30);   // -a: any other
  EXPECT_TRUE(c.Says(Severity::kNote,
                     "/etc/supervisord.conf:17:", "converted to the programs' memory_limit"))
      << AllMessages(c.result);
  EXPECT_TRUE(c.Says(Severity::kWarning, "/etc/supervisord.conf:17:", "not converted: -u 60"))
      << AllMessages(c.result);
  EXPECT_EQ(c.Messages(Severity::kWarning).size(), 1u) << AllMessages(c.result);

  system.files["/etc/supervisord.conf"] = R"([program:web]
command=/usr/bin/web
[eventlistener:memmon]
command=/usr/local/bin/memmon -p web=lots
events=TICK_60
)";
  const Converted bad = Convert(system, "/etc/supervisord.conf");
  EXPECT_TRUE(bad.Says(Severity::kError, "/etc/supervisord.conf:4:", "'lots' is not a size"))
      << AllMessages(bad.result);
}

TEST(ImportSupervisordTest, AStateListenerPointsAtOnFatal) {
  FakeSystem system;
  system.files["/etc/supervisord.conf"] = R"([program:app]
command=/usr/bin/app

[eventlistener:fatalmail]
command=fatalmailbatch --toEmail=ops@example.com
events=PROCESS_STATE_FATAL,TICK_60
)";
  const Converted c = Convert(system, "/etc/supervisord.conf");
  EXPECT_TRUE(c.Says(Severity::kWarning, "/etc/supervisord.conf:4:", "on_fatal: [COMMAND...]"))
      << AllMessages(c.result);
}

TEST(ImportSupervisordTest, HttpokBecomesAHealthCheck) {
  FakeSystem system;
  system.files["/etc/supervisord.conf"] = R"([program:web]
command=/usr/bin/web

[program:other]
command=/usr/bin/other

[eventlistener:httpok]
command=httpok -p web -t 5 http://127.0.0.1:8080/health
events=TICK_5

[eventlistener:remote]
command=httpok -p other http://example.com/
events=TICK_60
)";
  const Converted c = Convert(system, "/etc/supervisord.conf");
  const config::HealthCheck& h = c.Program("web").healthcheck;
  EXPECT_EQ(h.kind, config::HealthKind::kHttp) << c.result.yaml;
  EXPECT_EQ(h.url, "http://127.0.0.1:8080/health");
  EXPECT_EQ(h.interval, 5);
  EXPECT_EQ(h.timeout, 5);
  EXPECT_EQ(h.retries, 1);
  EXPECT_TRUE(c.Says(Severity::kNote, "/etc/supervisord.conf:8:", "httpok became"))
      << AllMessages(c.result);
  // A URL wardend would have to look up stays an unsupported listener.
  EXPECT_EQ(c.Program("other").healthcheck.kind, config::HealthKind::kNone);
  EXPECT_TRUE(c.Says(Severity::kWarning, "/etc/supervisord.conf:11:", "event listeners"))
      << AllMessages(c.result);
}

TEST(ImportSupervisordTest, CommandsKeepSupervisordsWords) {
  FakeSystem system;
  system.files["/c.conf"] = R"([program:inline]
command=/bin/sh -c "echo a;b" ; everything after ' ;' is a comment
[program:escaped]
command=/bin/sh -c "echo \$HOME"
[program:multiline]
command=/usr/bin/java
    -Xmx512m
    -jar /opt/app.jar
[program:percent]
command=/bin/date +%%Y-%%m-%%d
[PROGRAM:upper]
Command=/bin/true
)";
  const Converted c = Convert(system, "/c.conf");
  EXPECT_TRUE(c.result.ok()) << AllMessages(c.result);
  EXPECT_EQ(c.Program("inline").command, (Words{"/bin/sh", "-c", "echo a;b"}));
  // shlex keeps the backslash of \$ in double quotes, a shell would not: written as a list.
  EXPECT_EQ(c.Program("escaped").command, (Words{"/bin/sh", "-c", "echo \\$HOME"}));
  EXPECT_TRUE(c.Says(Severity::kNote, "/c.conf:4:", "list of words"));
  EXPECT_EQ(c.Program("multiline").command,
            (Words{"/usr/bin/java", "-Xmx512m", "-jar", "/opt/app.jar"}));
  EXPECT_NE(c.result.yaml.find("command: \"/usr/bin/java -Xmx512m -jar /opt/app.jar\""),
            std::string::npos);
  EXPECT_EQ(c.Program("percent").command, (Words{"/bin/date", "+%Y-%m-%d"}));
  // [PROGRAM:upper] is not a program section: supervisord matches "program:" exactly.
  EXPECT_EQ(c.config.FindProgram("upper"), nullptr);
  EXPECT_TRUE(c.Says(Severity::kWarning, "/c.conf:11:", "unknown section"));
}

// What wardend will run, after its own ${...} expansion, is what supervisord ran.
TEST(ImportSupervisordTest, DollarsMeanWhatTheyMeantToSupervisord) {
  FakeSystem system;
  system.env["X"] = "val";
  system.files["/d.conf"] = R"([program:sh]
command=/bin/sh -c 'echo ${HOME} $$%(ENV_X)s %(ENV_X)s $${'
environment=A="${B}",C="x%(ENV_X)sy",D="$PATH"
)";
  const Converted c = Convert(system, "/d.conf");
  EXPECT_TRUE(c.result.ok()) << AllMessages(c.result);
  const config::Program& sh = c.Program("sh");
  ASSERT_EQ(sh.command.size(), 3u);
  auto wardend = [&](const std::string& text) {
    Result<std::string> expanded =
        config::ExpandVariables(text, [&](std::string_view name) -> std::optional<std::string> {
          auto it = system.env.find(name);
          if (it == system.env.end()) return std::nullopt;
          return it->second;
        });
    EXPECT_TRUE(expanded.ok()) << text;
    return expanded.ok() ? *expanded : "";
  };
  EXPECT_EQ(wardend(sh.command[2]), "echo ${HOME} $$val val $${");
  EXPECT_EQ(sh.environment.size(), 3u);
  EXPECT_EQ(wardend(sh.environment[0].second), "${B}");
  EXPECT_EQ(wardend(sh.environment[1].second), "xvaly");
  EXPECT_EQ(sh.environment[1].second, "x${X}y");  // a reference, not the value
  EXPECT_EQ(wardend(sh.environment[2].second), "$PATH");
  EXPECT_TRUE(c.Says(Severity::kNote, "/d.conf:3:", "the value of D keeps its '$'"));
}

// supervisord expands %(ENV_X)s into the command line, then splits the line with shlex: a
// value with blanks is several arguments, quotes in it quote. The words expected here are what
// supervisord 4.2.5 (Debian 12) passed to a program that printed its argv, for the same
// command and environment.
TEST(ImportSupervisordTest, EnvironmentValuesAreSplitAsSupervisordSplitsThem) {
  FakeSystem system;
  system.env["WORKER_OPTS"] = "--concurrency=4 --loglevel=INFO";
  system.env["QUOTED"] = "'a b' \"c d\" e\\ f";
  system.env["PLAIN"] = "/srv/app";
  system.files["/w.conf"] = R"([program:celery]
command=celery worker %(ENV_WORKER_OPTS)s --x=%(ENV_QUOTED)s --dir=%(ENV_PLAIN)s
)";
  const Converted c = Convert(system, "/w.conf");
  EXPECT_TRUE(c.result.ok()) << AllMessages(c.result);
  EXPECT_EQ(c.Program("celery").command,
            (Words{"celery", "worker", "--concurrency=4", "--loglevel=INFO", "--x=a b", "c d",
                   "e f", "--dir=${PLAIN}"}));
  EXPECT_TRUE(c.Says(Severity::kNote, "/w.conf:2:", "%(ENV_WORKER_OPTS)s is 2 words"))
      << AllMessages(c.result);
  EXPECT_TRUE(c.Says(Severity::kNote, "/w.conf:2:", "%(ENV_QUOTED)s is 3 words"));
  // A value of one plain word stays a reference that wardend expands when it starts.
  EXPECT_FALSE(c.Says(Severity::kNote, "/w.conf:2:", "%(ENV_PLAIN)s is"));
}

// supervisor_stdout's documented setup: the programs' output goes to the listener as
// PROCESS_LOG events, their files are NONE. warden has no listener: each program says so.
TEST(ImportSupervisordTest, OutputForwardedByAnEventListenerIsNotLostInSilence) {
  FakeSystem system;
  system.files["/l.conf"] = R"([program:app]
command=/bin/app
stdout_events_enabled=true
stderr_events_enabled=true
stdout_logfile=NONE
stderr_logfile=NONE

[program:quiet]
command=/bin/quiet
stdout_logfile=NONE
redirect_stderr=true

[eventlistener:stdout]
command = supervisor_stdout
buffer_size = 100
events = PROCESS_LOG
result_handler = supervisor_stdout:event_handler
)";
  const Converted c = Convert(system, "/l.conf");
  EXPECT_TRUE(c.result.ok()) << AllMessages(c.result);
  EXPECT_TRUE(c.Says(Severity::kWarning, "/l.conf:5:",
                     "[program:app] stdout_logfile=NONE: the program's stdout went out through "
                     "an [eventlistener]"))
      << AllMessages(c.result);
  EXPECT_TRUE(c.Says(Severity::kWarning, "/l.conf:5:", "{file: /dev/stdout, max_bytes: 0}"));
  EXPECT_TRUE(c.Says(Severity::kWarning, "/l.conf:6:", "stderr_logfile=NONE"));
  EXPECT_TRUE(c.Says(Severity::kWarning, "/l.conf:10:", "[program:quiet] stdout_logfile=NONE"));
  // Its stderr goes with its stdout: one message, not two.
  EXPECT_FALSE(c.Says(Severity::kWarning, "/l.conf:11:", "stderr"));
  // Said in the YAML too, on the program.
  EXPECT_NE(c.result.yaml.find("stdout_logfile=NONE: the program's stdout"), std::string::npos)
      << c.result.yaml;
}

TEST(ImportSupervisordTest, SupervisordEnvironmentGoesToEveryProgram) {
  FakeSystem system;
  system.files["/e.conf"] = R"([supervisord]
environment=TZ="UTC",SHARED=from-supervisord

[program:a]
command=/bin/a --tz %(ENV_TZ)s
environment=
    SHARED="from-a",
    EXTRA="x,y"

[program:b]
command=/bin/b
directory=%(ENV_HOME)s
)";
  const Converted c = Convert(system, "/e.conf");
  EXPECT_TRUE(c.result.ok()) << AllMessages(c.result);
  EXPECT_EQ(c.Program("a").environment,
            (Pairs{{"TZ", "UTC"}, {"SHARED", "from-a"}, {"EXTRA", "x,y"}}));
  EXPECT_EQ(c.Program("a").command, (Words{"/bin/a", "--tz", "UTC"}));
  EXPECT_EQ(c.Program("b").environment, (Pairs{{"TZ", "UTC"}, {"SHARED", "from-supervisord"}}));
  EXPECT_EQ(c.Program("b").directory, "/root");
  // Only the value taken from the conversion's environment is noted, not TZ.
  EXPECT_FALSE(c.Says(Severity::kNote, "/e.conf:5:", "ENV_TZ"));
  EXPECT_TRUE(c.Says(Severity::kNote, "/e.conf:12:", "$HOME"));
}

TEST(ImportSupervisordTest, ErrorsSupervisordWouldRefuse) {
  FakeSystem system;
  system.files["/bad.conf"] = R"([program:nocommand]
directory=/tmp

[program:kill]
command=/bin/x
stopasgroup=true
killasgroup=false

[program:many]
command=/bin/y
numprocs=3

[program:badvalue]
command=/bin/z
startsecs=soon

[program:good]
command=/bin/good

[group:g]
programs=good,ghost
)";
  const Converted c = Convert(system, "/bad.conf");
  EXPECT_FALSE(c.result.ok());
  EXPECT_TRUE(c.Says(Severity::kError, "/bad.conf:1:", "has no command"));
  EXPECT_TRUE(c.Says(Severity::kError, "/bad.conf:7:", "killasgroup=false"));
  EXPECT_TRUE(c.Says(Severity::kError, "/bad.conf:9:", "%(process_num)"));
  EXPECT_TRUE(c.Says(Severity::kError, "/bad.conf:15:", "'soon' is not an integer"));
  EXPECT_TRUE(c.Says(Severity::kError, "/bad.conf:21:", "no [program:ghost]"));
  // What could be converted still is, and loads.
  EXPECT_EQ(c.Program("good").command, Words{"/bin/good"});
  EXPECT_EQ(c.config.FindProgram("nocommand"), nullptr);
  EXPECT_EQ(c.config.FindProgram("many"), nullptr);
}

TEST(ImportSupervisordTest, IncludesAsSupervisordReadsThem) {
  FakeSystem system;
  system.files["/etc/sv/main.conf"] = R"([include]
files = conf.d/*.conf extra/single.ini nothing/*.conf
[program:main]
command=%(here)s/bin/main
)";
  system.files["/etc/sv/conf.d/20-b.conf"] = "[program:b]\ncommand=%(here)s/b\n";
  system.files["/etc/sv/conf.d/10-a.conf"] =
      "[program:a]\ncommand=/bin/a\n[include]\nfiles=/etc/other/*.conf\n";
  system.files["/etc/sv/conf.d/.hidden.conf"] = "[program:hidden]\ncommand=/bin/h\n";
  system.files["/etc/sv/extra/single.ini"] = "[program:main]\nuser=override\n";
  system.files["/etc/other/x.conf"] = "[program:never]\ncommand=/bin/never\n";
  const Converted c = Convert(system, "/etc/sv/main.conf");
  EXPECT_TRUE(c.result.ok()) << AllMessages(c.result);
  EXPECT_EQ(c.Program("main").command, Words{"/etc/sv/bin/main"});
  EXPECT_EQ(c.Program("main").user, "override");                 // sections merge across files
  EXPECT_EQ(c.Program("b").command, Words{"/etc/sv/conf.d/b"});  // its own file's %(here)s
  EXPECT_EQ(c.Program("a").command, Words{"/bin/a"});
  EXPECT_EQ(c.config.FindProgram("hidden"), nullptr);
  EXPECT_EQ(c.config.FindProgram("never"), nullptr);
  EXPECT_TRUE(c.Says(Severity::kWarning, "/etc/sv/conf.d/10-a.conf:3:", "nested includes"));
  EXPECT_TRUE(c.Says(Severity::kNote, "/etc/sv/main.conf:2:", "no file matches"));
  // Included files in sorted order: a before b.
  EXPECT_LT(c.result.yaml.find("  a:"), c.result.yaml.find("  b:"));
}

TEST(ImportSupervisordTest, NamesWardenCannotTakeAndOutputItWouldNotLoad) {
  FakeSystem system;
  system.files["/n.conf"] = R"([program:my@app]
command=/bin/app
[program:quiet]
command=/bin/quiet
numprocs=0
redirect_stderr=true
[group:front end]
programs=my@app
[program:named]
command=/bin/named %(group_name)s
[group:g+1]
programs=named
)";
  Converted c = Convert(system, "/n.conf");
  EXPECT_FALSE(c.result.ok()) << AllMessages(c.result);  // the blank in [group:front end]
  EXPECT_EQ(c.Program("my_app").command, Words{"/bin/app"});
  EXPECT_TRUE(c.Says(Severity::kWarning, "/n.conf:1:", "renamed 'my_app'"));
  EXPECT_TRUE(c.Says(Severity::kWarning, "/n.conf:3:", "numprocs=0"));
  // supervisord refuses a blank in a group name; warden takes no '+', so it is renamed.
  EXPECT_TRUE(c.Says(Severity::kError, "/n.conf:7:", "invalid group name"));
  EXPECT_TRUE(c.Says(Severity::kWarning, "/n.conf:11:", "renamed 'g_1'"));
  EXPECT_EQ(c.FullNames("named"), Words{"g_1:named"});
  EXPECT_EQ(c.Program("named").command, (Words{"/bin/named", "g+1"}));  // supervisord's name

  // A [group:web] holding program web and another: fine for supervisord, not for warden. The
  // importer checks its output with warden's loader and reports what it would reject.
  system.files["/g.conf"] =
      "[program:web]\ncommand=/bin/web\n[program:api]\ncommand=/bin/api\n"
      "[group:web]\nprograms=web,api\n";
  const ImportResult r = ImportSupervisord("/g.conf", system.Host());
  EXPECT_FALSE(r.ok());
  EXPECT_NE(AllMessages(r).find("does not load in warden"), std::string::npos) << AllMessages(r);
}

TEST(ImportSupervisordTest, UnreadableFile) {
  FakeSystem system;
  const ImportResult r = ImportSupervisord("/nope.conf", system.Host());
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.yaml.empty());
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].ToString(), "/nope.conf: error: cannot read: No such file or directory");
}

TEST(ImportSupervisordTest, DefaultSectionAppliesToPrograms) {
  FakeSystem system;
  system.files["/d.conf"] =
      "[DEFAULT]\nautorestart=true\nstartsecs=0\n"
      "[program:a]\ncommand=/bin/a\n[program:b]\ncommand=/bin/b\n"
      "startsecs=5\n";
  const Converted c = Convert(system, "/d.conf");
  EXPECT_TRUE(c.result.ok()) << AllMessages(c.result);
  EXPECT_EQ(c.Program("a").autorestart, config::AutoRestart::kTrue);
  EXPECT_EQ(c.Program("a").startsecs, 0.0);
  EXPECT_EQ(c.Program("b").startsecs, 5.0);
}

}  // namespace
}  // namespace warden::importer
