// A minimal cpp-httplib server answering every GET with 1 KiB of JSON: measured against
// mhd_hello.cc to choose warden-web's HTTP library (docs/web.md, "The HTTP library").
#include <httplib.h>

#include <string>

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::stoi(argv[1]) : 19020;
  const std::string body = "[" + std::string(1022, ' ') + "]";
  httplib::Server server;
  server.set_tcp_nodelay(true);  // else Nagle and delayed ACKs hold each reply ~40 ms
  server.Get("/.*", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(body, "application/json");
  });
  return server.listen("127.0.0.1", port) ? 0 : 1;
}
