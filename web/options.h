// warden-web's command line, parsed into values. Pure: no I/O.
//
//   warden-web [-s SOCKET | -c WARDEN_YAML] [--listen ADDR:PORT] [--token-file FILE]
//              [--password-file FILE] [--static-dir DIR]
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace warden::web {

inline constexpr const char* kDefaultListen = "127.0.0.1:9020";

struct Options {
  std::string socket;  // -s/--socket; empty: $WARDEN_SOCKET, the config's, the default
  std::string config;  // -c/--config
  std::string listen_host = "127.0.0.1";  // without brackets for IPv6
  uint16_t listen_port = 9020;
  std::string token_file;     // --token-file
  std::string password_file;  // --password-file
  std::string static_dir;     // --static-dir; empty: the installed dashboard
  bool help = false;
  bool version = false;
};

// argv[0] is skipped. A usage error is kInvalidArgument with a message ready to print after
// "warden-web: ".
Result<Options> ParseOptions(const std::vector<std::string>& argv);

// "127.0.0.1:9020", "[::1]:9020", "0.0.0.0:80" -> host and port (0: any free port). ":9020" is
// refused: say which address (0.0.0.0 or ::) to listen on.
Status ParseListen(std::string_view text, std::string* host, uint16_t* port);

// Whether `host` (an address as --listen takes it, or a Host header's name) can only be
// reached from this machine: 127.0.0.0/8, ::1, "localhost".
bool IsLoopback(std::string_view host);

std::string UsageText();

}  // namespace warden::web
