// The log messages of protocol version 1 (types 0x0010-0x001F): TAIL (also `maintail`, with an
// empty name), LOGROTATE and CLEAR. docs/protocol.md, "Logs", is their byte-by-byte description.
//
// TAIL is answered by one or more TAIL replies with the request's id. Each says whether more
// follow (`more`); a plain tail ends with a reply whose `more` is 0, a `tail -f` keeps sending
// replies with `more` = 1 for as long as the connection is open. The client ends a follow by
// closing the connection.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/messages.h"

namespace warden::proto {

enum class LogStream : uint8_t { kStdout = 1, kStderr = 2 };
enum class TailUnit : uint8_t { kBytes = 0, kLines = 1 };

struct TailRequest {
  std::string name;                       // a process name; empty: wardend's own log
  LogStream stream = LogStream::kStdout;  // ignored for wardend's own log
  TailUnit unit = TailUnit::kLines;
  uint64_t count = 10;  // how many bytes or lines from the end; 0: none (useful with follow)
  bool follow = false;  // keep streaming what is written from now on
};

struct TailReply {
  bool more = false;  // another TAIL reply with this request id follows
  std::string path;   // the file read; empty for wardend's in-memory log
  std::string data;   // raw bytes, not necessarily UTF-8 or whole lines
};

// LOGROTATE and CLEAR: the NAME arguments; empty means every process. Answered by ActionReply.
struct LogNamesRequest {
  std::vector<std::string> names;
};

// A TAIL reply's data never exceeds this, so a frame stays far below kMaxPayload.
inline constexpr size_t kMaxTailChunk = 512 * 1024;

std::vector<uint8_t> Encode(const TailRequest& m);
std::vector<uint8_t> Encode(const TailReply& m);
std::vector<uint8_t> Encode(const LogNamesRequest& m);

bool Decode(const std::vector<uint8_t>& payload, TailRequest* m, ReadError* why = nullptr);
bool Decode(const std::vector<uint8_t>& payload, TailReply* m);
bool Decode(const std::vector<uint8_t>& payload, LogNamesRequest* m, ReadError* why = nullptr);

}  // namespace warden::proto
