// LogFile: one program log on disk, always written at its end and rotated by size.
//
// Rotation follows supervisord: with max_bytes > 0, a write that would take FILE past max_bytes
// fills FILE up to exactly max_bytes, then renames FILE.N-1 -> FILE.N, ..., FILE.1 -> FILE.2,
// FILE -> FILE.1, opens a new empty FILE and writes the rest there (N = backups; what was FILE.N
// is overwritten by the rename). Every rotated file therefore holds exactly max_bytes bytes and
// FILE.N ... FILE.1 FILE, concatenated, is exactly the end of the byte stream written: nothing
// lost or written twice at a boundary, and no regard for lines (binary-safe). The rotation runs
// when the byte that does not fit arrives, so a full FILE stays full until then.
// backups == 0: FILE is truncated and starts over instead. max_bytes == 0: never rotated.
//
// Writes go at the file's current end as fstat(2) reports it before each call, through pwrite(2)
// or splice(2) with an explicit offset: splice refuses O_APPEND files, and re-reading the size
// means a file truncated behind our back (logrotate's copytruncate) never grows a hole.
//
// A path that is not a regular file (/dev/stdout, a FIFO, a terminal) is a "stream": written
// with plain write(2) on a non-blocking descriptor (EAGAIN is an error the caller retries),
// never rotated, never cleared, and it cannot be tailed.
//
// Deleting a file frees its pages when its last descriptor closes, which costs about 1 ms per
// MB; given a BackgroundCloser, LogFile holds the files it deletes (the oldest backup a rotation
// renames over, a FILE that starts over, cleared files) open and lets that thread close them.
//
// Nothing here blocks on anything but the disk, logs, or knows about the event loop.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/unique_fd.h"
#include "daemon/os/background_closer.h"

namespace warden {

class LogFile {
 public:
  struct Options {
    std::string path;
    uint64_t max_bytes = 0;  // 0: never rotate
    int backups = 0;         // rotated files kept: FILE.1 ... FILE.backups
  };

  explicit LogFile(Options options);
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  // Opens (creating it, mode 0640) the file for writing at its end. The file stays open until
  // Reopen or destruction.
  Status Open();
  bool is_open() const { return fd_.valid() || deferred_; }
  // Gives the descriptor of a regular file back until something is written, cleared or
  // reopened (Open checked that the path opens): a program that writes nothing costs wardend
  // no fd for its log. A stream (/dev/stdout, a FIFO) keeps its descriptor.
  void CloseUntilWritten();
  // Whether a descriptor is held now (false while deferred).
  bool holds_fd() const { return fd_.valid(); }
  // A regular file: rotated, tailed, and fed with splice. False for /dev/stdout and friends.
  bool regular() const { return regular_; }
  const std::string& path() const { return options_.path; }
  const Options& options() const { return options_; }
  // New limits apply from the next write; the path cannot change (a new path is a new LogFile).
  void SetLimits(uint64_t max_bytes, int backups);
  // Where the descriptors of deleted files go to be closed; null: closed here.
  void set_closer(std::shared_ptr<BackgroundCloser> closer) { closer_ = std::move(closer); }

  struct WriteResult {
    size_t written = 0;  // bytes of the input now in the files, from its start
    int error = 0;       // errno of the failure that stopped the write, 0 when all is written
  };
  // Writes `data` at the end, rotating as needed. On a failure (ENOSPC, EDQUOT, EIO, a failed
  // rotation, EAGAIN on a stream...) data[0, written) is in the files and the rest is not.
  WriteResult Write(std::string_view data);

  // Moves up to `max` bytes from the non-blocking pipe `pipe_fd` into the file with splice(2),
  // rotating first if the file is full (regular files only). Returns the bytes moved; 0 when the
  // pipe has no writer left and is empty (EOF); -1 with errno set otherwise: EAGAIN when the
  // pipe is empty, any other value is the file's failure, and the pipe keeps every byte that
  // did not reach the file.
  ssize_t SpliceFrom(int pipe_fd, size_t max);

  // Closes and opens the path again (for external rotators: after a rename the new file is
  // created). When the path cannot be opened the old descriptor stays in use.
  Status Reopen();
  // Empties FILE (truncate) and removes FILE.1 ... FILE.backups.
  Status Clear();
  // FILE.backups ... FILE.1, FILE: every file that may hold the stream's end, oldest first.
  std::vector<std::string> Files() const;

  // The size of FILE as last seen (after the last write or open).
  uint64_t size() const { return size_; }
  // Rotations done since construction.
  uint64_t rotations() const { return rotations_; }

 private:
  // Renames the backups and opens a new FILE (or truncates FILE when backups == 0). On failure
  // returns an errno and leaves the stream ready to retry: a FILE already renamed away is
  // re-opened by the next call before anything is written.
  int Rotate();
  // Opens a new FILE (after FILE was renamed away or unlinked) in place of the open one.
  int OpenFresh();
  // Replaces FILE by a new empty one; the old one is closed by the closer. errno or 0.
  int StartOver();
  // Removes `path`, which is closed by the closer when it was a file. errno or 0 (ENOENT: 0).
  int Remove(const std::string& path);
  void Release(UniqueFd fd);
  // Opens a deferred file again (CloseUntilWritten); false (errno set) when it cannot.
  bool Undefer();
  // Re-reads FILE's size; false (errno set) when fstat fails.
  bool SyncSize();
  // SyncSize, and a fresh FILE (and folder) when the open one was deleted.
  bool SyncSizeOrReopen();
  // Bytes FILE can take before it must rotate; SIZE_MAX when it never rotates.
  size_t Room() const;

  Options options_;
  std::shared_ptr<BackgroundCloser> closer_;
  UniqueFd fd_;
  bool regular_ = true;
  bool need_fresh_ = false;  // FILE was renamed to FILE.1 but no new FILE is open yet
  bool unlinked_ = false;    // the open FILE was deleted (as the last SyncSize saw)
  bool deferred_ = false;    // closed by CloseUntilWritten: the next write opens the path
  uint64_t size_ = 0;
  uint64_t rotations_ = 0;
};

enum class TailUnit : uint8_t { kBytes = 0, kLines = 1 };

// The last `count` bytes or lines of the stream stored in `files` (oldest first, as
// LogFile::Files gives them; missing files are skipped), but never more than `cap` bytes (the
// newest ones). Lines end with '\n'; an unterminated last line counts as a line. Reads backwards
// in blocks, so the cost follows what is returned, not the files' size.
Result<std::string> ReadTail(const std::vector<std::string>& files, TailUnit unit, uint64_t count,
                             size_t cap);

// The last `count` lines (or bytes) of `text`; the in-memory counterpart of ReadTail.
std::string_view TailOf(std::string_view text, TailUnit unit, uint64_t count);

}  // namespace warden
