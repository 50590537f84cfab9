// LoadConfigFile / LoadConfigString: read the main file, then its includes depth-first (each
// pattern's matches in byte order), collecting every problem instead of stopping at the first.
// Every file read goes into Config::sources, with its text; LoadConfigSources reads them from
// there instead of the disk. yaml-cpp throws; nothing thrown here gets past LoadConfig*.
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "base/unique_fd.h"
#include "config/config.h"
#include "config/diff.h"
#include "config/loader_internal.h"
#include "config/yaml_reader.h"

namespace warden::config {
namespace internal {

std::string ResolvePath(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

}  // namespace internal

namespace {

using internal::Entry;
using internal::FileReader;
using internal::GroupDraft;
using internal::Located;
using internal::ProgramDraft;

constexpr std::array<std::string_view, 4> kTopLevelKeys = {"warden", "include", "programs",
                                                           "groups"};
constexpr std::array<std::string_view, 11> kWardenKeys = {"socket",
                                                          "socket_mode",
                                                          "socket_group",
                                                          "log_dir",
                                                          "log_level",
                                                          "log_target",
                                                          "access",
                                                          "status_max_age",
                                                          "on_fatal",
                                                          "exit_on_fatal",
                                                          "memory_check_interval"};
// A shorter memory check would cost a /proc read of every limited program's processes many
// times a second, for little.
constexpr double kMinMemoryCheckInterval = 0.1;
constexpr std::array<std::string_view, 5> kLogLevels = {"trace", "debug", "info", "warn", "error"};
constexpr std::array<std::string_view, 2> kLogTargets = {"stderr", "journald"};

// A config file larger than this is a mistake (a log file named by a glob, say), not a config.
constexpr off_t kMaxFileSize = 16 * 1024 * 1024;

// The whole file, or why not (strerror text).
std::optional<std::string> ReadWholeFile(const std::string& path, std::string* why) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    *why = std::strerror(errno);
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    *why = std::strerror(errno);
    return std::nullopt;
  }
  if (S_ISDIR(st.st_mode)) {
    *why = std::strerror(EISDIR);
    return std::nullopt;
  }
  if (st.st_size > kMaxFileSize) {
    *why = "file is larger than 16 MiB";
    return std::nullopt;
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *why = std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > static_cast<size_t>(kMaxFileSize)) {
      *why = "file is larger than 16 MiB";
      return std::nullopt;
    }
  }
  return text;
}

// The absolute folder of `path`, the base for relative paths written in it.
std::string AbsoluteDir(const std::string& path) {
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  if (ec) absolute = path;
  return absolute.lexically_normal().parent_path().string();
}

// The identity of a file for include-cycle checks: its real path when it exists.
std::string Canonical(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) != nullptr) return resolved;
  return path;
}

bool HasGlobMagic(std::string_view pattern) {
  return pattern.find_first_of("*?[") != std::string_view::npos;
}

// The folder part of an include pattern is a path, not a pattern: "/srv/a[1]/" means itself.
std::string EscapeGlob(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// Counts document starts; nothing else.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) second_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  std::optional<YAML::Mark> second() const {
    return documents_ >= 2 ? std::optional<YAML::Mark>(second_) : std::nullopt;
  }

 private:
  int documents_ = 0;
  YAML::Mark second_;
};

// Where a second YAML document starts, if there is one. Not YAML::LoadAll: yaml-cpp 0.7 loops
// forever, allocating, on some malformed input (a lone ","), where this asks for two documents
// at most.
std::optional<YAML::Mark> SecondDocument(const std::string& text) {
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  DocumentCounter counter;
  if (parser.HandleNextDocument(counter)) parser.HandleNextDocument(counter);
  return counter.second();
}

// The first line (1-based) that opens a supervisord INI section at its start ("[supervisord]",
// "[program:web]"), or 0: a supervisord.conf given where warden YAML belongs.
int SupervisordSectionLine(std::string_view text) {
  static constexpr std::array<std::string_view, 10> kSections = {"[supervisord]",
                                                                 "[supervisorctl]",
                                                                 "[unix_http_server]",
                                                                 "[inet_http_server]",
                                                                 "[include]",
                                                                 "[program:",
                                                                 "[group:",
                                                                 "[eventlistener:",
                                                                 "[fcgi-program:",
                                                                 "[rpcinterface:"};
  int number = 0;
  size_t start = 0;
  while (start < text.size()) {
    ++number;
    const size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line = text.substr(start, end - start);
    for (std::string_view section : kSections) {
      if (line.starts_with(section) && line.find(']') != std::string_view::npos) return number;
    }
    start = end + 1;
  }
  return 0;
}

// The first tab in the indentation of a line up to `last_line` (1-based; 0: any line), as a
// position, or nullopt.
std::optional<std::pair<int, int>> IndentingTab(std::string_view text, int last_line) {
  int number = 0;
  size_t start = 0;
  while (start < text.size() && (last_line == 0 || number < last_line)) {
    ++number;
    const size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line = text.substr(start, end - start);
    const size_t indent = line.find_first_not_of(" \t");
    const size_t tab = line.find('\t');
    if (tab != std::string_view::npos && (indent == std::string_view::npos || tab < indent)) {
      return std::make_pair(number, static_cast<int>(tab) + 1);
    }
    start = end + 1;
  }
  return std::nullopt;
}

class Loader {
 public:
  Loader() = default;
  // Reads the files from `saved` (Config::sources of an earlier load) instead of the disk.
  explicit Loader(const std::vector<SourceFile>* saved) : saved_(saved) {}

  LoadResult LoadFile(const std::string& path) {
    config_.path = path;
    std::string why;
    const auto text = Read(path, &why);
    if (!text) {
      config_.files.push_back(path);
      errors_.push_back(Diagnostic{{path, 0, 0}, "cannot read config file: " + why});
      return Finish();
    }
    ReadFile(path, *text, /*is_main=*/true);
    return Finish();
  }

  LoadResult LoadString(std::string_view text, const std::string& name) {
    config_.path = name;
    ReadFile(name, std::string(text), /*is_main=*/true);
    return Finish();
  }

 private:
  // The whole file, from the disk or from the saved sources.
  std::optional<std::string> Read(const std::string& path, std::string* why) const {
    if (!saved_) return ReadWholeFile(path, why);
    for (const SourceFile& f : *saved_) {
      if (f.path == path && f.same_as.empty()) return f.text;
    }
    *why = "not among the saved configuration files";
    return std::nullopt;
  }

  // The identity of a file, for include cycles and files reached twice.
  std::string Identity(const std::string& path) const {
    if (!saved_) return Canonical(path);
    for (const SourceFile& f : *saved_) {
      if (f.path == path && !f.same_as.empty()) return f.same_as;
    }
    return path;
  }

  // The paths an include pattern matches, sorted; GLOB_NOMATCH, 0, or another glob(3) error.
  int Expand(const std::string& pattern, std::vector<std::string>* paths) const {
    if (saved_) {
      // As glob(3): a wildcard matches neither '/' nor a leading '.'.
      for (const SourceFile& f : *saved_) {
        if (fnmatch(pattern.c_str(), f.path.c_str(), FNM_PATHNAME | FNM_PERIOD) == 0) {
          paths->push_back(f.path);
        }
      }
      std::sort(paths->begin(), paths->end());
      paths->erase(std::unique(paths->begin(), paths->end()), paths->end());
      return paths->empty() ? GLOB_NOMATCH : 0;
    }
    glob_t matches{};
    const int rc = ::glob(pattern.c_str(), 0, nullptr, &matches);
    if (rc == 0) {
      for (size_t i = 0; i < matches.gl_pathc; ++i) paths->emplace_back(matches.gl_pathv[i]);
    }
    ::globfree(&matches);
    std::sort(paths->begin(), paths->end());
    return rc;
  }

  // Parses and reads one file, then the files it includes.
  void ReadFile(const std::string& path, const std::string& text, bool is_main) {
    config_.files.push_back(path);
    config_.sources.files.push_back({path, text, ""});
    const std::string canonical = Identity(path);
    seen_.emplace(canonical, path);
    const FileReader reader(path, &errors_);
    YAML::Node root;
    std::optional<YAML::Mark> second_document;
    try {
      root = YAML::Load(text);
      second_document = SecondDocument(text);
    } catch (const YAML::Exception& e) {
      // yaml-cpp's marks are 0-based; an error at the very end may come without one.
      const int line = e.mark.is_null() ? 0 : e.mark.line + 1;
      const int column = e.mark.is_null() ? 0 : e.mark.column + 1;
      if (SupervisordIni(reader, text)) return;
      if (const auto tab = IndentingTab(text, line)) {
        reader.Error({path, tab->first, tab->second},
                     "YAML forbids tabs for indentation: indent with spaces (" + e.msg + ")");
        return;
      }
      reader.Error({path, line, column}, "YAML syntax error: " + e.msg);
      return;
    }
    if (!root.IsNull() && !root.IsMap() && SupervisordIni(reader, text)) return;
    if (is_main) main_parsed_ = true;
    if (second_document) {
      reader.Error({path, second_document->line + 1, second_document->column + 1},
                   "a config file holds one YAML document; this is a second one");
    }
    include_stack_.push_back({canonical, path});
    std::vector<Located> includes;
    ReadDocument(reader, root, is_main, &includes);
    for (const Located& pattern : includes) Include(reader, pattern);
    include_stack_.pop_back();
  }

  // Reports a supervisord.conf given as warden YAML, pointing at the importer; false when the
  // text does not look like one.
  static bool SupervisordIni(const FileReader& reader, std::string_view text) {
    const int line = SupervisordSectionLine(text);
    if (line == 0) return false;
    reader.Error({reader.path(), line, 1},
                 "this looks like a supervisord configuration (INI), not warden YAML: convert it "
                 "with 'wardenctl import-supervisord " +
                     reader.path() + " > warden.yaml'");
    return true;
  }

  void ReadDocument(const FileReader& reader, const YAML::Node& root, bool is_main,
                    std::vector<Located>* includes) {
    const std::string& path = reader.path();
    const std::string base_dir = AbsoluteDir(path);
    const SourceLocation top{path, 1, 1};
    if (!root.IsNull() && !root.IsMap()) {
      reader.Error(reader.Where(root, top),
                   "the top level must be a map with warden, include, programs and groups");
      return;
    }
    reader.ForEachEntry(root, top, "the top level", [&](const Entry& entry) {
      if (entry.key == "warden") {
        if (is_main) {
          ReadWarden(reader, entry, base_dir);
        } else {
          reader.Error(entry.key_where, "'warden' may appear only in the main config file");
        }
      } else if (entry.key == "include") {
        if (entry.value.IsNull()) return;
        if (auto patterns = reader.StringList(entry)) {
          for (Located& pattern : *patterns) {
            if (pattern.text.empty()) {
              reader.Error(pattern.where, "'include' patterns must not be empty");
            } else {
              includes->push_back(std::move(pattern));
            }
          }
        }
      } else if (entry.key == "programs") {
        reader.ForEachEntry(
            entry.value, entry.value_where, "'programs'",
            [&](const Entry& program) {
              programs_.push_back(internal::ReadProgram(reader, program, base_dir));
            },
            FileReader::Duplicates::kVisit);
      } else if (entry.key == "groups") {
        ReadGroups(reader, entry);
      } else {
        reader.UnknownKey(entry, "at the top level", kTopLevelKeys);
      }
    });
  }

  void ReadWarden(const FileReader& reader, const Entry& section, const std::string& base_dir) {
    Settings& s = config_.warden;
    const YAML::Node& value = section.value;
    if (value.IsDefined() && !value.IsNull() && !value.IsMap()) socket_bad_ = true;
    reader.ForEachEntry(section.value, section.value_where, "'warden'", [&](const Entry& e) {
      if (e.key == "socket") {
        if (auto v = reader.NonEmptyString(e)) {
          s.socket = internal::ResolvePath(base_dir, *v);
        } else {
          socket_bad_ = true;
        }
      } else if (e.key == "socket_mode") {
        if (auto v = reader.Octal(e, 0777)) s.socket_mode = static_cast<mode_t>(*v);
      } else if (e.key == "socket_group") {
        // Resolved now, as access rules are: wardend cannot bind its socket without it.
        if (auto v = reader.NonEmptyString(e)) {
          std::string why;
          if (internal::LookUp(internal::IdKind::kGroup, *v, &why)) {
            s.socket_group = *v;
          } else {
            reader.Error(e.value_where, "'socket_group' '" + *v + "': " + why);
          }
        }
      } else if (e.key == "log_dir") {
        if (auto v = reader.NonEmptyString(e)) s.log_dir = internal::ResolvePath(base_dir, *v);
      } else if (e.key == "log_level") {
        if (auto v = reader.Choice(e, kLogLevels)) s.log_level = static_cast<LogLevel>(*v);
      } else if (e.key == "log_target") {
        // stderr, journald, or a file: a path, told from a misspelt word by its '/'.
        if (auto v = reader.NonEmptyString(e)) {
          if (v->find('/') != std::string::npos) {
            s.log_target = LogTarget::kFile;
            s.log_file = internal::ResolvePath(base_dir, *v);
          } else if (auto c = reader.Choice(e, kLogTargets)) {
            s.log_target = static_cast<LogTarget>(*c);
          }
        }
      } else if (e.key == "access") {
        internal::ReadAccess(reader, e, "'warden'", &s.access);
      } else if (e.key == "status_max_age") {
        if (auto v = reader.Seconds(e)) s.status_max_age = *v;
      } else if (e.key == "on_fatal") {
        if (auto words = internal::ReadCommandWords(reader, e)) s.on_fatal = std::move(*words);
      } else if (e.key == "exit_on_fatal") {
        if (auto v = reader.Bool(e)) s.exit_on_fatal = *v;
      } else if (e.key == "memory_check_interval") {
        if (auto v = reader.Seconds(e)) {
          if (*v < kMinMemoryCheckInterval) {
            reader.Error(e.value_where, "'memory_check_interval' must be at least 0.1 seconds");
          } else {
            s.memory_check_interval = *v;
          }
        }
      } else {
        reader.UnknownKey(e, "in 'warden'", kWardenKeys);
      }
    });
  }

  void ReadGroups(const FileReader& reader, const Entry& section) {
    reader.ForEachEntry(
        section.value, section.value_where, "'groups'",
        [&](const Entry& e) {
          GroupDraft draft;
          draft.group.name = e.key;
          draft.group.where = e.key_where;
          if (!e.value.IsNull()) {
            auto members = reader.StringList(e);
            if (!members) return;
            draft.members = std::move(*members);
          }
          for (const Located& member : draft.members) draft.group.programs.push_back(member.text);
          groups_.push_back(std::move(draft));
        },
        FileReader::Duplicates::kVisit);
  }

  // Reads the files one include pattern names, in byte order of their paths.
  void Include(const FileReader& reader, const Located& pattern) {
    std::string full = pattern.text;
    if (full.front() != '/') {
      const std::string dir = std::filesystem::path(reader.path()).parent_path().string();
      if (!dir.empty()) full = EscapeGlob(dir) + "/" + full;
    }
    std::vector<std::string> paths;
    const int rc = Expand(full, &paths);
    if (rc == GLOB_NOMATCH) {
      // A pattern with wildcards may match nothing (an empty conf.d/); a plain name must exist.
      if (!HasGlobMagic(pattern.text)) {
        reader.Error(pattern.where, "included file '" + full + "' does not exist");
      }
      return;
    }
    if (rc != 0) {
      reader.Error(pattern.where, "cannot expand include pattern '" + pattern.text + "'");
      return;
    }
    for (const std::string& path : paths) {
      const std::string canonical = Identity(path);
      const auto on_stack =
          std::find_if(include_stack_.begin(), include_stack_.end(),
                       [&](const OpenFile& open) { return open.canonical == canonical; });
      if (on_stack != include_stack_.end()) {
        std::string chain;
        for (auto it = on_stack; it != include_stack_.end(); ++it) chain += it->path + " -> ";
        reader.Error(pattern.where, "include cycle: " + chain + path);
        continue;
      }
      // A file reached by two patterns (or two includers) is read once.
      if (auto read = seen_.find(canonical); read != seen_.end()) {
        NoteSameFile(path, read->second);
        continue;
      }
      std::string why;
      const auto text = Read(path, &why);
      if (!text) {
        reader.Error(pattern.where, "cannot read included file '" + path + "': " + why);
        continue;
      }
      ReadFile(path, *text, /*is_main=*/false);
    }
  }

  // `path` was matched but is the file read as `read_as`: the sources say so, once, so that a
  // load from them skips it too.
  void NoteSameFile(const std::string& path, const std::string& read_as) {
    if (path == read_as) return;
    auto& files = config_.sources.files;
    if (std::none_of(files.begin(), files.end(),
                     [&](const SourceFile& f) { return f.path == path; })) {
      files.push_back({path, "", read_as});
    }
  }

  LoadResult Finish() {
    internal::ValidateReferences(programs_, groups_, &errors_);
    LoadResult result;
    if (main_parsed_ && !socket_bad_) {
      result.socket = config_.warden.socket.empty() ? DefaultSocketPath() : config_.warden.socket;
    }
    if (!errors_.empty()) {
      // In file order: files as read, then line and column within each.
      std::map<std::string, size_t, std::less<>> file_order;
      for (size_t i = 0; i < config_.files.size(); ++i) file_order.emplace(config_.files[i], i);
      const auto order = [&](const Diagnostic& d) {
        const auto it = file_order.find(d.where.file);
        return std::make_tuple(it == file_order.end() ? config_.files.size() : it->second,
                               d.where.line, d.where.column);
      };
      std::stable_sort(
          errors_.begin(), errors_.end(),
          [&](const Diagnostic& a, const Diagnostic& b) { return order(a) < order(b); });
      result.errors = std::move(errors_);
      return result;
    }
    if (config_.warden.socket.empty()) config_.warden.socket = DefaultSocketPath();
    for (ProgramDraft& draft : programs_) config_.programs.push_back(std::move(draft.program));
    std::stable_sort(config_.programs.begin(), config_.programs.end(),
                     [](const Program& a, const Program& b) {
                       return std::tie(a.priority, a.name) < std::tie(b.priority, b.name);
                     });
    for (GroupDraft& draft : groups_) config_.groups.push_back(std::move(draft.group));
    result.config = std::move(config_);
    return result;
  }

  struct OpenFile {
    std::string canonical;
    std::string path;  // as shown in diagnostics
  };

  const std::vector<SourceFile>* saved_ = nullptr;
  bool main_parsed_ = false;  // the main file is YAML (whatever else is wrong with it)
  bool socket_bad_ = false;   // its warden.socket (or the section holding it) is wrong
  Config config_;
  std::vector<Diagnostic> errors_;
  std::vector<ProgramDraft> programs_;
  std::vector<GroupDraft> groups_;
  std::vector<OpenFile> include_stack_;  // the file being read and those that included it
  // Every file read: its identity (canonical path) -> the path it was read as.
  std::map<std::string, std::string, std::less<>> seen_;
};

LoadResult InternalError(const std::string& path, const char* what) {
  LoadResult result;
  result.errors.push_back(
      Diagnostic{{path, 0, 0}, std::string("internal error while reading the config: ") + what});
  return result;
}

}  // namespace

std::vector<std::string> AcceptedKeys() {
  std::vector<std::string> keys;
  for (std::string_view k : kTopLevelKeys) keys.emplace_back(k);
  auto access = [&](const std::string& prefix) {
    for (std::string_view a : internal::AccessKeys()) {
      for (std::string_view l : internal::AccessListKeys()) {
        keys.push_back(prefix + "access." + std::string(a) + "." + std::string(l));
      }
    }
  };
  for (std::string_view k : kWardenKeys) keys.push_back("warden." + std::string(k));
  access("warden.");
  for (std::string_view k : internal::ProgramKeys())
    keys.push_back("programs.NAME." + std::string(k));
  for (const char* stream : {"stdout", "stderr"}) {
    for (std::string_view k : internal::LogKeys()) {
      keys.push_back("programs.NAME." + std::string(stream) + "." + std::string(k));
    }
  }
  for (std::string_view k : internal::BackoffKeys()) {
    keys.push_back("programs.NAME.backoff." + std::string(k));
  }
  keys.push_back("programs.NAME.ready.tcp");
  for (std::string_view k : internal::HealthCheckKeys()) {
    keys.push_back("programs.NAME.healthcheck." + std::string(k));
  }
  access("programs.NAME.");
  return keys;
}

LoadResult LoadConfigFile(const std::string& path) {
  try {
    return Loader().LoadFile(path);
  } catch (const std::exception& e) {
    return InternalError(path, e.what());
  }
}

LoadResult LoadConfigString(std::string_view yaml, const std::string& name) {
  try {
    return Loader().LoadString(yaml, name);
  } catch (const std::exception& e) {
    return InternalError(name, e.what());
  }
}

LoadResult LoadConfigSources(const ConfigSources& sources) {
  const std::string main = sources.files.empty() ? "" : sources.files.front().path;
  if (main.empty()) return InternalError(main, "no saved configuration files");
  try {
    LoadResult result = Loader(&sources.files).LoadFile(main);
    for (const ConfigSources::Update& update : sources.updates) {
      if (!result.config) break;
      if (update.files.empty()) return InternalError(main, "a saved update has no files");
      LoadResult next = Loader(&update.files).LoadFile(update.files.front().path);
      if (!next.config) return next;
      result.config = Merge(*result.config, std::move(*next.config), update.only);
    }
    return result;
  } catch (const std::exception& e) {
    return InternalError(main, e.what());
  }
}

}  // namespace warden::config
