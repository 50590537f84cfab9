// cgroup v2 files and their parsers. See cgroup.h.
#include "daemon/os/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "base/unique_fd.h"

namespace warden::os {
namespace {

// Splits at `sep`, keeping empty pieces.
std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(sep, start);
    out.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  for (std::string_view line : Split(text, '\n')) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// mountinfo's escapes: \040 (space), \011 (tab), \012 (newline), \134 (backslash).
std::string Unescape(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const std::string_view digits = field.substr(i + 1, 3);
      if (digits.size() == 3 && digits.find_first_not_of("01234567") == std::string_view::npos) {
        out.push_back(
            static_cast<char>((digits[0] - '0') * 64 + (digits[1] - '0') * 8 + (digits[2] - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

std::optional<uint64_t> ParseU64(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

std::string Join(const std::string& folder, const char* file) { return folder + "/" + file; }

// The whole of a small file; nullopt when unreadable.
std::optional<std::string> ReadSmallFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string out;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

Status WriteFile(const std::string& path, std::string_view text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return Status(ErrorCode::kInternal, path + ": " + std::strerror(errno));
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return Status(ErrorCode::kInternal, "write " + path + ": " + std::strerror(errno));
  }
  return Status();
}

}  // namespace

std::optional<std::string> ParseUnifiedCgroup(std::string_view proc_cgroup) {
  for (std::string_view line : Lines(proc_cgroup)) {
    if (line.rfind("0::", 0) == 0) return std::string(line.substr(3));
  }
  return std::nullopt;
}

std::optional<Cgroup2Mount> ParseCgroup2Mount(std::string_view mountinfo) {
  // 40 22 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
  // The optional fields between field 6 and " - " vary in number: the type is the first field
  // after the separator.
  for (std::string_view line : Lines(mountinfo)) {
    const size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    const std::vector<std::string_view> after = Split(line.substr(dash + 3), ' ');
    if (after.empty() || after[0] != "cgroup2") continue;
    const std::vector<std::string_view> before = Split(line.substr(0, dash), ' ');
    if (before.size() < 5) continue;
    return Cgroup2Mount{Unescape(before[3]), Unescape(before[4])};
  }
  return std::nullopt;
}

std::optional<std::string> CgroupFolder(const Cgroup2Mount& mount, const std::string& cgroup_path) {
  if (cgroup_path.empty() || cgroup_path[0] != '/') return std::nullopt;
  std::string relative;
  if (mount.root == "/") {
    relative = cgroup_path;
  } else if (cgroup_path == mount.root) {
    relative = "/";
  } else if (cgroup_path.rfind(mount.root + "/", 0) == 0) {
    relative = cgroup_path.substr(mount.root.size());
  } else {
    return std::nullopt;  // a part of the hierarchy this mount does not show
  }
  // A path from /proc is the kernel's own, but never trust one to climb out of the mount.
  for (std::string_view piece : Split(relative, '/')) {
    if (piece == "..") return std::nullopt;
  }
  if (relative == "/") return mount.mount_point;
  std::string folder = mount.mount_point;
  if (!folder.empty() && folder.back() == '/') folder.pop_back();
  return folder + relative;
}

std::optional<CgroupEvents> ParseCgroupEvents(std::string_view text) {
  std::optional<CgroupEvents> out;
  bool frozen = false;
  for (std::string_view line : Lines(text)) {
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, space);
    const std::string_view value = line.substr(space + 1);
    if (key == "populated") {
      if (!out) out = CgroupEvents{};
      out->populated = value == "1";
    } else if (key == "frozen") {
      frozen = value == "1";
    }
  }
  if (out) out->frozen = frozen;
  return out;
}

std::vector<int> ParseCgroupProcs(std::string_view text) {
  std::vector<int> out;
  for (std::string_view line : Lines(text)) {
    auto value = ParseU64(line);
    if (value && *value > 0 && *value <= 0x7fffffff) out.push_back(static_cast<int>(*value));
  }
  return out;
}

std::optional<uint64_t> ParseCpuUsageUsec(std::string_view cpu_stat) {
  for (std::string_view line : Lines(cpu_stat)) {
    if (line.rfind("usage_usec ", 0) == 0) return ParseU64(line.substr(11));
  }
  return std::nullopt;
}

std::optional<CgroupMemoryEvents> ParseMemoryEvents(std::string_view text) {
  CgroupMemoryEvents out;
  bool high = false;
  for (std::string_view line : Lines(text)) {
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, space);
    auto value = ParseU64(line.substr(space + 1));
    if (!value) continue;
    if (key == "high") {
      out.high = *value;
      high = true;
    } else if (key == "max") {
      out.max = *value;
    } else if (key == "oom") {
      out.oom = *value;
    } else if (key == "oom_kill") {
      out.oom_kill = *value;
    }
  }
  if (!high) return std::nullopt;
  return out;
}

bool HasController(std::string_view controllers, std::string_view controller) {
  for (std::string_view word : Split(controllers, ' ')) {
    while (!word.empty() && (word.back() == '\n' || word.back() == ' ')) word.remove_suffix(1);
    if (word == controller) return true;
  }
  return false;
}

std::string CgroupFolderName(const std::string& group, const std::string& name) {
  auto escape = [](const std::string& text) {
    static const char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char ch : text) {
      const auto c = static_cast<unsigned char>(ch);
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-') {
        out.push_back(static_cast<char>(c));
      } else {
        out.push_back('%');
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
      }
    }
    return out;
  };
  std::string folder =
      group == name || group.empty() ? escape(name) : escape(group) + "." + escape(name);
  // Kernel files are named CONTROLLER.KEY (cgroup.procs, memory.max, ...): a group named like a
  // controller could ask for one of them.
  static const char* const kPrefixes[] = {"cgroup", "cpu",     "cpuset",    "memory",
                                          "io",     "pids",    "rdma",      "hugetlb",
                                          "misc",   "freezer", "perf_event"};
  const std::string first = folder.substr(0, folder.find('.'));
  bool reserved = folder.empty() || folder[0] == '_';
  for (const char* prefix : kPrefixes) reserved = reserved || first == prefix;
  if (reserved) folder.insert(0, "_");
  return folder;
}

Result<std::string> OwnCgroupFolder(std::string* cgroup_path) {
  auto cgroup = ReadSmallFile("/proc/self/cgroup");
  if (!cgroup) return Status(ErrorCode::kNotFound, "/proc/self/cgroup is not readable");
  auto path = ParseUnifiedCgroup(*cgroup);
  if (!path)
    return Status(ErrorCode::kNotFound, "no cgroup2 hierarchy (/proc/self/cgroup has no 0:: line)");
  if (cgroup_path != nullptr) *cgroup_path = *path;
  auto mountinfo = ReadSmallFile("/proc/self/mountinfo");
  if (!mountinfo) return Status(ErrorCode::kNotFound, "/proc/self/mountinfo is not readable");
  auto mount = ParseCgroup2Mount(*mountinfo);
  if (!mount) return Status(ErrorCode::kNotFound, "no cgroup2 file system is mounted");
  auto folder = CgroupFolder(*mount, *path);
  if (!folder) {
    return Status(
        ErrorCode::kNotFound,
        "wardend's cgroup " + *path + " is not under the cgroup2 mount " + mount->mount_point);
  }
  return *folder;
}

Status MakeCgroup(const std::string& folder) {
  if (::mkdir(folder.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status(ErrorCode::kInternal, "mkdir " + folder + ": " + std::strerror(errno));
  }
  return Status();
}

Status RemoveCgroup(const std::string& folder) {
  if (::rmdir(folder.c_str()) != 0 && errno != ENOENT) {
    return Status(ErrorCode::kInternal, "rmdir " + folder + ": " + std::strerror(errno));
  }
  return Status();
}

std::optional<CgroupEvents> ReadCgroupEvents(const std::string& folder) {
  auto text = ReadSmallFile(Join(folder, "cgroup.events"));
  if (!text) return std::nullopt;
  return ParseCgroupEvents(*text);
}

std::vector<int> ReadCgroupProcs(const std::string& folder) {
  auto text = ReadSmallFile(Join(folder, "cgroup.procs"));
  if (!text) return {};
  return ParseCgroupProcs(*text);
}

std::vector<int> ReadCgroupProcsDeep(const std::string& folder) {
  std::vector<int> out = ReadCgroupProcs(folder);
  DIR* dir = ::opendir(folder.c_str());
  if (dir == nullptr) return out;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_type != DT_DIR || entry->d_name[0] == '.') continue;
    std::vector<int> below = ReadCgroupProcsDeep(Join(folder, entry->d_name));
    out.insert(out.end(), below.begin(), below.end());
  }
  ::closedir(dir);
  return out;
}

Status MoveToCgroup(const std::string& folder, int pid) {
  return WriteFile(Join(folder, "cgroup.procs"), std::to_string(pid));
}

Status SetCgroupMemoryMax(const std::string& folder, uint64_t bytes) {
  return WriteFile(Join(folder, "memory.max"), bytes == 0 ? "max" : std::to_string(bytes));
}

Status SetCgroupMemoryHigh(const std::string& folder, uint64_t bytes) {
  return WriteFile(Join(folder, "memory.high"), bytes == 0 ? "max" : std::to_string(bytes));
}

std::optional<CgroupMemoryEvents> ReadCgroupMemoryEvents(const std::string& folder) {
  auto text = ReadSmallFile(Join(folder, "memory.events"));
  if (!text) return std::nullopt;
  return ParseMemoryEvents(*text);
}

Status KillCgroup(const std::string& folder) {
  const std::string kill_file = Join(folder, "cgroup.kill");
  if (::access(kill_file.c_str(), W_OK) == 0) return WriteFile(kill_file, "1");
  for (int pid : ReadCgroupProcsDeep(folder)) ::kill(pid, SIGKILL);
  return Status();
}

std::optional<uint64_t> ReadCgroupCpuUsec(const std::string& folder) {
  auto text = ReadSmallFile(Join(folder, "cpu.stat"));
  if (!text) return std::nullopt;
  return ParseCpuUsageUsec(*text);
}

std::optional<uint64_t> ReadCgroupMemoryCurrent(const std::string& folder) {
  auto text = ReadSmallFile(Join(folder, "memory.current"));
  if (!text) return std::nullopt;
  std::string_view value = *text;
  while (!value.empty() && value.back() == '\n') value.remove_suffix(1);
  return ParseU64(value);
}

bool CgroupHasController(const std::string& folder, std::string_view controller) {
  auto text = ReadSmallFile(Join(folder, "cgroup.controllers"));
  return text && HasController(*text, controller);
}

bool CgroupEnables(const std::string& folder, std::string_view controller) {
  auto text = ReadSmallFile(Join(folder, "cgroup.subtree_control"));
  return text && HasController(*text, controller);
}

void EnableControllers(const std::string& folder,
                       const std::vector<std::string_view>& controllers) {
  for (std::string_view controller : controllers) {
    if (!CgroupHasController(folder, controller) || CgroupEnables(folder, controller)) continue;
    (void)WriteFile(Join(folder, "cgroup.subtree_control"), "+" + std::string(controller));
  }
}

std::string ProcessCommand(int pid) {
  auto text = ReadSmallFile("/proc/" + std::to_string(pid) + "/comm");
  if (!text) return "";
  while (!text->empty() && text->back() == '\n') text->pop_back();
  return *text;
}

bool CgroupDelegated(const std::string& folder) {
  for (const char* name : {"trusted.delegate", "user.delegate"}) {
    char value[8] = {};
    const ssize_t n = ::getxattr(folder.c_str(), name, value, sizeof value - 1);
    if (n > 0 && value[0] == '1') return true;
  }
  return false;
}

bool IsCgroup2(const std::string& folder) {
  struct statfs fs {};
  return ::statfs(folder.c_str(), &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

}  // namespace warden::os
