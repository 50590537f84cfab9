// The cgroup v2 backend: where the cgroups go, their folders, and the watch of cgroup.events.
// See cgroups.h.
#include "daemon/supervisor/cgroups.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>

#include "daemon/os/cgroup.h"

namespace warden {
namespace {

// Names the folder of an undelegated wardend after its control socket: two wardends on two
// configs never share one, and a wardend started again on the same config finds the folder of
// the one before.
std::string SocketTag(const std::string& socket) {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a
  for (char c : socket) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  char text[17];
  snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return std::string("warden-") + text;
}

std::vector<std::string> SubFolders(const std::string& folder) {
  std::vector<std::string> out;
  DIR* dir = ::opendir(folder.c_str());
  if (dir == nullptr) return out;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_type == DT_DIR && entry->d_name[0] != '.') out.emplace_back(entry->d_name);
  }
  ::closedir(dir);
  return out;
}

}  // namespace

std::unique_ptr<CgroupTree> CgroupTree::Open(EventLoop& loop, const config::Settings& settings,
                                             std::string* why) {
  const std::string& configured = settings.cgroup;
  if (configured == "none") {
    *why = "warden.cgroup is none";
    return nullptr;
  }
  std::unique_ptr<CgroupTree> tree;
  if (configured != "auto") {
    const size_t slash = configured.find_last_of('/');
    const std::string parent = slash == 0 ? "/" : configured.substr(0, slash);
    if (!os::IsCgroup2(configured) && !os::IsCgroup2(parent)) {
      *why = "warden.cgroup " + configured + " is not in a cgroup2 file system";
      return nullptr;
    }
    tree.reset(new CgroupTree(loop, configured, false));
  } else {
    std::string path;
    auto own = os::OwnCgroupFolder(&path);
    if (!own.ok()) {
      *why = own.status().message();
      return nullptr;
    }
    std::string folder = own.value();
    // After a re-execution, or a restart by hand in the same cgroup, wardend is in its leaf.
    const std::string leaf = "/supervisor";
    if (folder.size() > leaf.size() &&
        folder.compare(folder.size() - leaf.size(), leaf.size(), leaf) == 0 &&
        os::CgroupDelegated(folder.substr(0, folder.size() - leaf.size()))) {
      folder.resize(folder.size() - leaf.size());
    }
    if (os::CgroupDelegated(folder)) {
      tree.reset(new CgroupTree(loop, folder, false));
      // Processes live in leaves only (once a controller is enabled below a cgroup): wardend
      // leaves the unit's own cgroup to its programs' folders and its own leaf.
      const std::string self = folder + leaf;
      Status moved = os::MakeCgroup(self);
      if (moved.ok()) moved = os::MoveToCgroup(self, 0);
      if (!moved.ok()) {
        *why = "cannot move wardend into " + self + ": " + moved.message();
        return nullptr;
      }
    } else if (path == "/") {
      tree.reset(new CgroupTree(loop, folder + "/" + SocketTag(settings.socket), true));
    } else {
      *why = "wardend's cgroup " + path +
             " is not delegated to it (Delegate=yes in its systemd unit) and warden.cgroup "
             "names no folder";
      return nullptr;
    }
  }
  if (Status started = tree->Start(); !started.ok()) {
    *why = started.message();
    return nullptr;
  }
  return tree;
}

CgroupTree::CgroupTree(EventLoop& loop, std::string base, bool made_base)
    : loop_(loop), base_(std::move(base)), made_base_(made_base) {}

CgroupTree::~CgroupTree() {
  loop_.CancelTimer(delivery_timer_);
  if (inotify_) loop_.Remove(inotify_.get());
}

Status CgroupTree::Start() {
  Status made = os::MakeCgroup(base_);
  if (made.ok()) made = os::MakeCgroup(base_ + "/programs");
  if (!made.ok()) return made;
  // What the kernel offers below BASE, for the programs' folders: memory.current and
  // memory.max, cpu.stat's figures, pids. Where BASE holds processes itself (a folder given by
  // warden.cgroup that something runs in) the kernel refuses, and the folders go without.
  os::EnableControllers(base_, {"memory", "cpu", "pids"});
  os::EnableControllers(base_ + "/programs", {"memory", "cpu", "pids"});
  inotify_.reset(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify_) return Status(ErrorCode::kInternal, std::string("inotify: ") + strerror(errno));
  return loop_.Add(inotify_.get(), EPOLLIN, EventLoop::kPrioritySignals,
                   [this](uint32_t) { OnInotify(); });
}

std::string CgroupTree::FolderOf(const config::ProcessName& name) const {
  return base_ + "/programs/" + os::CgroupFolderName(name.group, name.name);
}

Result<UniqueFd> CgroupTree::Prepare(const std::string& folder, bool* made) {
  const bool new_folder = ::mkdir(folder.c_str(), 0755) == 0;
  if (!new_folder && errno != EEXIST) {
    return Status(ErrorCode::kInternal, "mkdir " + folder + ": " + strerror(errno));
  }
  if (made != nullptr) *made = new_folder;
  UniqueFd fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Status(ErrorCode::kInternal, "open " + folder + ": " + strerror(errno));
  return fd;
}

int CgroupTree::AddWatch(const std::string& folder, const char* file, uint64_t id) {
  const int wd = inotify_add_watch(inotify_.get(), (folder + "/" + file).c_str(), IN_MODIFY);
  if (wd < 0) {
    spdlog::warn("inotify {}/{}: {}", folder, file, strerror(errno));
  } else {
    id_of_[wd] = id;
  }
  return wd;
}

void CgroupTree::Watch(const std::string& folder, uint64_t id) {
  if (const int wd = AddWatch(folder, "cgroup.events", id); wd >= 0) watch_of_[folder] = wd;
}

void CgroupTree::WatchMemory(const std::string& folder, uint64_t id) {
  if (const int wd = AddWatch(folder, "memory.events", id); wd >= 0) {
    memory_watch_of_[folder] = wd;
    memory_folder_of_[wd] = folder;
  }
}

void CgroupTree::Unwatch(const std::string& folder) {
  if (auto memory = memory_watch_of_.find(folder); memory != memory_watch_of_.end()) {
    inotify_rm_watch(inotify_.get(), memory->second);
    id_of_.erase(memory->second);
    memory_folder_of_.erase(memory->second);
    memory_watch_of_.erase(memory);
  }
  auto it = watch_of_.find(folder);
  if (it == watch_of_.end()) return;
  inotify_rm_watch(inotify_.get(), it->second);
  id_of_.erase(it->second);
  watch_of_.erase(it);
}

void CgroupTree::OnInotify() {
  alignas(inotify_event) char buffer[4096];
  std::set<uint64_t> memory_changed;
  while (true) {
    const ssize_t n = ::read(inotify_.get(), buffer, sizeof buffer);
    if (n <= 0) break;
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      auto it = id_of_.find(event->wd);
      if (it == id_of_.end()) continue;
      if (auto memory = memory_folder_of_.find(event->wd); memory != memory_folder_of_.end()) {
        memory_changed.insert(it->second);
        if (event->mask & IN_IGNORED) {  // the folder is gone
          memory_watch_of_.erase(memory->second);
          memory_folder_of_.erase(memory);
          id_of_.erase(it);
        }
        continue;
      }
      if (undelivered_set_.insert(it->second).second) undelivered_.push_back(it->second);
      if (event->mask & IN_IGNORED) {  // the folder is gone
        for (auto w = watch_of_.begin(); w != watch_of_.end(); ++w) {
          if (w->second == event->wd) {
            watch_of_.erase(w);
            break;
          }
        }
        id_of_.erase(it);
      }
    }
  }
  if (on_memory_) {
    for (uint64_t id : memory_changed) on_memory_(id);
  }
  DeliverChanges();
}

void CgroupTree::DeliverChanges() {
  loop_.CancelTimer(delivery_timer_);
  delivery_timer_ = 0;
  const EventLoop::TimePoint began = EventLoop::Now();
  bool first = true;
  while (!undelivered_.empty()) {
    if (!first && EventLoop::Now() - began >= kDeliveryPerTurn) {
      delivery_timer_ = loop_.AddTimer(EventLoop::Now(), [this] {
        delivery_timer_ = 0;
        DeliverChanges();
      });
      return;
    }
    first = false;
    const uint64_t id = undelivered_.front();
    undelivered_.pop_front();
    undelivered_set_.erase(id);
    if (on_change_) on_change_(id);
  }
}

std::vector<CgroupTree::Populated> CgroupTree::FindPopulated() const {
  std::vector<Populated> out;
  const std::string programs = base_ + "/programs";
  for (const std::string& name : SubFolders(programs)) {
    const std::string folder = programs + "/" + name;
    auto events = os::ReadCgroupEvents(folder);
    if (!events || !events->populated) continue;
    out.push_back({folder, name, os::ReadCgroupProcsDeep(folder)});
  }
  return out;
}

bool CgroupTree::WaitEmpty(const std::vector<std::string>& folders, int timeout_ms) {
  UniqueFd fd(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  for (const std::string& folder : folders) {
    if (fd) inotify_add_watch(fd.get(), (folder + "/cgroup.events").c_str(), IN_MODIFY);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    bool empty = true;
    for (const std::string& folder : folders) {
      auto events = os::ReadCgroupEvents(folder);
      if (events && events->populated) empty = false;
    }
    if (empty) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0 || !fd) return false;
    pollfd p{fd.get(), POLLIN, 0};
    (void)::poll(&p, 1, static_cast<int>(left));
    char drain[4096];
    while (::read(fd.get(), drain, sizeof drain) > 0) {
    }
  }
}

void CgroupTree::RemoveEmpty() {
  const std::string programs = base_ + "/programs";
  for (const std::string& name : SubFolders(programs)) {
    (void)os::RemoveCgroup(programs + "/" + name);  // EBUSY while populated: kept
  }
  (void)os::RemoveCgroup(programs);
  if (made_base_) (void)os::RemoveCgroup(base_);
}

}  // namespace warden
