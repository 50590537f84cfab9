#include "daemon/logs/log_file.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include <spdlog/spdlog.h>
#include "daemon/os/os.h"

namespace warden {
namespace {

constexpr int kOpenFlags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
constexpr mode_t kFileMode = 0640;
constexpr size_t kTailBlock = 64 * 1024;

std::string Backup(const std::string& path, int n) { return path + "." + std::to_string(n); }

Status ErrnoStatus(const std::string& what, int error) {
  return Status(ErrorCode::kIo, what + ": " + std::strerror(error));
}

}  // namespace

LogFile::LogFile(Options options) : options_(std::move(options)) {}

void LogFile::SetLimits(uint64_t max_bytes, int backups) {
  options_.max_bytes = max_bytes;
  options_.backups = std::max(backups, 0);
}

Status LogFile::Open() {
  UniqueFd fd(open(options_.path.c_str(), kOpenFlags, kFileMode));
  if (!fd) return ErrnoStatus("open " + options_.path, errno);
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return ErrnoStatus("fstat " + options_.path, errno);
  regular_ = S_ISREG(st.st_mode);
  if (!regular_) {
    // Only streams care: regular files ignore O_NONBLOCK, and a FIFO needed it to open at all.
    fcntl(fd.get(), F_SETFL, fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
  }
  size_ = regular_ ? static_cast<uint64_t>(st.st_size) : 0;
  fd_ = std::move(fd);
  need_fresh_ = false;
  deferred_ = false;
  return Status::Ok();
}

void LogFile::CloseUntilWritten() {
  if (!fd_ || !regular_) return;
  Release(std::move(fd_));
  need_fresh_ = false;  // the path is what the next write opens, whatever the old fd was
  deferred_ = true;
}

bool LogFile::Undefer() {
  if (!deferred_) return true;
  if (int e = OpenFresh(); e != 0) {
    errno = e;
    return false;
  }
  deferred_ = false;
  return true;
}

Status LogFile::Reopen() {
  if (deferred_) {
    // Nothing is held: check that the path opens, and keep not holding it.
    if (Status s = Open(); !s.ok()) {
      deferred_ = true;
      return s;
    }
    CloseUntilWritten();
    return Status::Ok();
  }
  LogFile fresh(options_);
  if (Status s = fresh.Open(); !s.ok()) return s;
  Release(std::move(fd_));  // perhaps deleted by whoever rotated it: freeing it takes a while
  fd_ = std::move(fresh.fd_);
  regular_ = fresh.regular_;
  size_ = fresh.size_;
  need_fresh_ = false;
  return Status::Ok();
}

bool LogFile::SyncSize() {
  struct stat st {};
  if (fstat(fd_.get(), &st) != 0) return false;
  size_ = static_cast<uint64_t>(st.st_size);
  unlinked_ = st.st_nlink == 0;
  return true;
}

bool LogFile::SyncSizeOrReopen() {
  if (!SyncSize()) return false;
  if (!unlinked_) return true;
  // FILE (or its whole folder) was deleted under us: what is written would be lost, and
  // rotating would fail. Start a new FILE, folder included.
  if (int e = OpenFresh(); e != 0) {
    errno = e;
    return false;
  }
  return true;
}

size_t LogFile::Room() const {
  if (options_.max_bytes == 0) return SIZE_MAX;
  if (size_ >= options_.max_bytes) return 0;
  return static_cast<size_t>(std::min<uint64_t>(options_.max_bytes - size_, SIZE_MAX));
}

void LogFile::Release(UniqueFd fd) {
  if (closer_) {
    closer_->Close(std::move(fd));
  } else {
    fd.reset();
  }
}

int LogFile::Remove(const std::string& path) {
  // Hold the file open across the unlink so that freeing it happens in the closer's close.
  UniqueFd held(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return errno;
  Release(std::move(held));
  return 0;
}

int LogFile::StartOver() {
  if (unlink(options_.path.c_str()) != 0 && errno != ENOENT) {
    // A folder we may not write to: empty the file in place instead (and pay for it here).
    if (ftruncate(fd_.get(), 0) != 0) return errno;
    size_ = 0;
    return 0;
  }
  need_fresh_ = true;
  return OpenFresh();
}

int LogFile::OpenFresh() {
  UniqueFd fd(open(options_.path.c_str(), kOpenFlags, kFileMode));
  if (!fd && errno == ENOENT) {
    // The folder was removed: make it again, as at start.
    const size_t slash = options_.path.rfind('/');
    if (slash != std::string::npos && slash > 0) {
      const std::string folder = options_.path.substr(0, slash);
      if (Status made = os::MakeDirs(folder); !made.ok()) {
        spdlog::error("log folder {} was removed and cannot be made again: {}", folder,
                      made.message());
        return ENOENT;
      }
      fd.reset(open(options_.path.c_str(), kOpenFlags, kFileMode));
      if (fd)
        spdlog::warn("log folder {} was removed: made it again for {}", folder, options_.path);
    }
  }
  if (!fd) return errno;
  Release(std::move(fd_));
  fd_ = std::move(fd);
  need_fresh_ = false;
  // Normally empty; if something else created the file meanwhile, write after its bytes.
  if (!SyncSize()) return errno;
  return 0;
}

int LogFile::Rotate() {
  if (options_.backups <= 0) {
    if (int e = StartOver(); e != 0) return e;
    ++rotations_;
    return 0;
  }
  // The oldest backup goes first, and each rename then targets a free name: renaming over an
  // existing file makes ext4 (auto_da_alloc) flush the renamed file's data before returning,
  // tens of milliseconds for a big log, and freeing the old one would cost as much again.
  if (int e = Remove(Backup(options_.path, options_.backups)); e != 0) return e;
  for (int i = options_.backups - 1; i >= 1; --i) {
    if (rename(Backup(options_.path, i).c_str(), Backup(options_.path, i + 1).c_str()) != 0 &&
        errno != ENOENT) {
      return errno;
    }
  }
  // ENOENT: FILE was removed behind our back; its bytes are gone either way, start a new one.
  if (rename(options_.path.c_str(), Backup(options_.path, 1).c_str()) != 0 && errno != ENOENT) {
    return errno;
  }
  need_fresh_ = true;  // from here on the open descriptor is FILE.1 and must not grow
  ++rotations_;
  return OpenFresh();
}

LogFile::WriteResult LogFile::Write(std::string_view data) {
  WriteResult result;
  if (!Undefer()) {
    result.error = errno;
    return result;
  }
  if (!fd_) {
    result.error = EBADF;
    return result;
  }
  if (!regular_) {
    while (result.written < data.size()) {
      ssize_t n = write(fd_.get(), data.data() + result.written, data.size() - result.written);
      if (n < 0) {
        if (errno == EINTR) continue;
        result.error = errno;
        return result;
      }
      result.written += static_cast<size_t>(n);
    }
    return result;
  }
  if (need_fresh_) {
    if (int e = OpenFresh(); e != 0) {
      result.error = e;
      return result;
    }
  }
  if (!SyncSizeOrReopen()) {
    result.error = errno;
    return result;
  }
  while (result.written < data.size()) {
    size_t room = Room();
    if (room == 0) {
      if (int e = Rotate(); e != 0) {
        result.error = e;
        return result;
      }
      continue;
    }
    size_t chunk = std::min(room, data.size() - result.written);
    ssize_t n = pwrite(fd_.get(), data.data() + result.written, chunk, static_cast<off_t>(size_));
    if (n < 0) {
      if (errno == EINTR) continue;
      result.error = errno;
      return result;
    }
    if (n == 0) {
      result.error = EIO;
      return result;
    }
    result.written += static_cast<size_t>(n);
    size_ += static_cast<uint64_t>(n);
  }
  return result;
}

ssize_t LogFile::SpliceFrom(int pipe_fd, size_t max) {
  if (deferred_) {
    // Not held: open it only for bytes. A pipe readable with nothing in it is at its end (its
    // writers are gone), which needs no file: a program killed and restarted at once would
    // otherwise get its log file back for a pipe that only said goodbye.
    int available = 0;
    if (ioctl(pipe_fd, FIONREAD, &available) == 0 && available == 0) {
      pollfd p{pipe_fd, POLLIN, 0};
      if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) != 0 && (p.revents & POLLIN) == 0) {
        return 0;
      }
      errno = EAGAIN;  // bytes may be on their way: the next readiness brings them
      return -1;
    }
  }
  if (!Undefer()) return -1;
  if (!fd_ || !regular_) {
    errno = fd_ ? EINVAL : EBADF;
    return -1;
  }
  if (need_fresh_) {
    if (int e = OpenFresh(); e != 0) {
      errno = e;
      return -1;
    }
  }
  if (!SyncSizeOrReopen()) return -1;
  if (Room() == 0) {
    // Rotate only for a byte that is really there, so a stream that ends exactly on a boundary
    // leaves a full FILE rather than a full FILE.1 and an empty FILE.
    pollfd pfd{pipe_fd, POLLIN, 0};
    int ready;
    do {
      ready = poll(&pfd, 1, 0);
    } while (ready < 0 && errno == EINTR);
    if (ready < 0) return -1;
    if (!(pfd.revents & POLLIN)) {
      if (pfd.revents & (POLLHUP | POLLERR)) return 0;
      errno = EAGAIN;
      return -1;
    }
    if (int e = Rotate(); e != 0) {
      errno = e;
      return -1;
    }
  }
  size_t len = std::min(max, Room());
  loff_t offset = static_cast<loff_t>(size_);
  ssize_t n;
  do {
    n = splice(pipe_fd, nullptr, fd_.get(), &offset, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  } while (n < 0 && errno == EINTR);
  if (n > 0) size_ += static_cast<uint64_t>(n);
  return n;
}

Status LogFile::Clear() {
  if (!Undefer()) return ErrnoStatus("open " + options_.path, errno);
  if (!fd_) return Status(ErrorCode::kIo, options_.path + " is not open");
  if (!regular_) return Status::Ok();
  if (need_fresh_) {
    if (int e = OpenFresh(); e != 0) return ErrnoStatus("open " + options_.path, e);
  }
  if (int e = StartOver(); e != 0) return ErrnoStatus("empty " + options_.path, e);
  for (int i = 1; i <= options_.backups; ++i) {
    std::string backup = Backup(options_.path, i);
    if (int e = Remove(backup); e != 0) return ErrnoStatus("remove " + backup, e);
  }
  return Status::Ok();
}

std::vector<std::string> LogFile::Files() const {
  std::vector<std::string> files;
  for (int i = options_.backups; i >= 1; --i) files.push_back(Backup(options_.path, i));
  files.push_back(options_.path);
  return files;
}

// ---------------------------------------------------------------------------------------------
// Tail

namespace {

struct TailPart {
  UniqueFd fd;
  uint64_t size = 0;
};

// Reads [offset, offset + n) of the concatenation of `parts`.
Status ReadAt(const std::vector<TailPart>& parts, uint64_t offset, size_t n, std::string* out) {
  out->resize(n);
  size_t done = 0;
  uint64_t base = 0;
  for (const TailPart& part : parts) {
    if (done == n) break;
    uint64_t at = offset + done;
    if (at >= base + part.size) {
      base += part.size;
      continue;
    }
    size_t want = static_cast<size_t>(std::min<uint64_t>(n - done, base + part.size - at));
    while (want > 0) {
      ssize_t r = pread(part.fd.get(), out->data() + done, want, static_cast<off_t>(at - base));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return ErrnoStatus("read", errno);
      if (r == 0) break;  // the file shrank since fstat: return what there is
      done += static_cast<size_t>(r);
      at += static_cast<uint64_t>(r);
      want -= static_cast<size_t>(r);
    }
    base += part.size;
  }
  out->resize(done);
  return Status::Ok();
}

}  // namespace

Result<std::string> ReadTail(const std::vector<std::string>& files, TailUnit unit, uint64_t count,
                             size_t cap) {
  std::vector<TailPart> parts;
  uint64_t total = 0;
  for (const std::string& file : files) {
    UniqueFd fd(open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) {
      if (errno == ENOENT) continue;
      return ErrnoStatus("open " + file, errno);
    }
    struct stat st {};
    if (fstat(fd.get(), &st) != 0) return ErrnoStatus("fstat " + file, errno);
    if (!S_ISREG(st.st_mode)) {
      return Status(ErrorCode::kInvalidArgument, file + " is not a regular file");
    }
    parts.push_back({std::move(fd), static_cast<uint64_t>(st.st_size)});
    total += static_cast<uint64_t>(st.st_size);
  }
  if (count == 0 || total == 0) return std::string();

  uint64_t limit = std::min<uint64_t>(total, cap);
  if (unit == TailUnit::kBytes) limit = std::min(limit, count);
  const uint64_t floor = total - limit;
  uint64_t start = floor;
  uint64_t pos = total;
  uint64_t newlines = 0;
  std::vector<std::string> blocks;  // newest first
  while (pos > floor) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kTailBlock, pos - floor));
    pos -= n;
    std::string block;
    if (Status s = ReadAt(parts, pos, n, &block); !s.ok()) return s;
    bool found = false;
    if (unit == TailUnit::kLines) {
      for (size_t i = block.size(); i-- > 0;) {
        // The stream's very last byte, when a newline, ends the last line: it separates nothing.
        if (block[i] != '\n' || pos + i == total - 1) continue;
        if (++newlines == count) {
          start = pos + i + 1;
          found = true;
          break;
        }
      }
    }
    blocks.push_back(std::move(block));
    if (found) break;
  }
  std::string out;
  out.reserve(static_cast<size_t>(total - pos));
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) out += *it;
  return out.substr(static_cast<size_t>(start - pos));
}

std::string_view TailOf(std::string_view text, TailUnit unit, uint64_t count) {
  if (count == 0) return {};
  if (unit == TailUnit::kBytes) {
    return count >= text.size() ? text : text.substr(text.size() - static_cast<size_t>(count));
  }
  uint64_t newlines = 0;
  for (size_t i = text.size(); i-- > 0;) {
    if (text[i] != '\n' || i == text.size() - 1) continue;
    if (++newlines == count) return text.substr(i + 1);
  }
  return text;
}

}  // namespace warden
