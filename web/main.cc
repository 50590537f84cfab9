// warden-web: an HTTP/JSON API, Prometheus metrics and a dashboard for wardend, served as an
// ordinary client of its control socket (docs/web.md).
#include <signal.h>

#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "ctl/client.h"
#include "web/auth.h"
#include "web/options.h"
#include "web/server.h"

using namespace warden;

int main(int argc, char** argv) {
  Result<web::Options> options = web::ParseOptions(std::vector<std::string>(argv, argv + argc));
  if (!options.ok()) {
    std::cerr << "warden-web: " << options.status().message() << "\n";
    return 2;
  }
  if (options->help) {
    std::cout << web::UsageText();
    return 0;
  }
  if (options->version) {
    std::cout << "warden-web " WARDEN_VERSION "\n";
    return 0;
  }
  Result<std::string> socket =
      ctl::ResolveSocketPath(options->socket, options->config, std::cerr, "warden-web");
  if (!socket.ok()) {
    std::cerr << "warden-web: " << socket.status().message() << "\n";
    return 1;
  }
  Result<web::Auth> auth = web::Auth::Load(options->token_file, options->password_file);
  if (!auth.ok()) {
    std::cerr << "warden-web: " << auth.status().message() << "\n";
    return 1;
  }
  if (!auth->enabled() && !web::IsLoopback(options->listen_host)) {
    std::cerr << "warden-web: refusing to listen on " << options->listen_host << ":"
              << options->listen_port
              << " without authentication: anyone who can reach it could stop your programs. "
                 "Give --token-file FILE and/or --password-file FILE (docs/security.md), or "
                 "listen on 127.0.0.1\n";
    return 2;
  }

  // Signals: SIGTERM and SIGINT stop the server (on a thread of their own, with sigwait); the
  // mask is set before any thread starts so that every thread inherits it. SIGPIPE: a client
  // that went away is an error return, not a death.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  web::ServerConfig config;
  config.socket = *socket;
  config.static_dir = options->static_dir.empty() ? WARDEN_WEB_STATIC_DIR : options->static_dir;
  config.auth = std::move(auth).value();
  config.listen_host = options->listen_host;
  config.listen_port = options->listen_port;
  const bool with_auth = config.auth.enabled();
  web::WebServer server(std::move(config));
  if (Status bound = server.Bind(); !bound.ok()) {
    std::cerr << "warden-web: " << bound.message() << "\n";
    return 1;
  }
  std::cerr << "warden-web: serving http://"
            << (options->listen_host.find(':') != std::string::npos
                    ? "[" + options->listen_host + "]"
                    : options->listen_host)
            << ":" << server.port() << "/ for wardend on " << *socket
            << (with_auth ? " (authentication required)" : " (no authentication: loopback only)")
            << std::endl;

  std::thread stopper([&server, stop_signals] {
    int received = 0;
    sigwait(&stop_signals, &received);
    server.Stop();
  });
  server.Run();
  // Run returned without a signal (it cannot, short of an error): let the stopper go.
  pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  return 0;
}
