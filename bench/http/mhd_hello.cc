// The same server as httplib_hello.cc with libmicrohttpd (one internal epoll thread).
#include <microhttpd.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace {
std::string g_body;

MHD_Result Answer(void*, MHD_Connection* connection, const char*, const char*, const char*,
                  const char*, size_t*, void**) {
  MHD_Response* response = MHD_create_response_from_buffer(
      g_body.size(), const_cast<char*>(g_body.data()), MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header(response, "Content-Type", "application/json");
  MHD_Result ret = MHD_queue_response(connection, MHD_HTTP_OK, response);
  MHD_destroy_response(response);
  return ret;
}
}  // namespace

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::stoi(argv[1]) : 19021;
  g_body = "[" + std::string(1022, ' ') + "]";
  MHD_Daemon* daemon = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD, static_cast<uint16_t>(port),
                                        nullptr, nullptr, &Answer, nullptr, MHD_OPTION_END);
  if (daemon == nullptr) return 1;
  pause();
  MHD_stop_daemon(daemon);
  return 0;
}
