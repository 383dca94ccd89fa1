#include "serve/http_service.h"

#include <chrono>

#include "inferlab/error.h"

namespace inferlab {

HttpService::~HttpService() { stop(); }

int HttpService::start(const std::string& host, int port, const std::string& what) {
  if (port < 0 || port > 65535) {
    throw Error(what + ": port " + std::to_string(port) + " is out of range (0-65535)");
  }
  // httplib's default socket options add SO_REUSEPORT, which lets a second
  // process bind a port already served and silently share its traffic; keep
  // only SO_REUSEADDR so "port in use" is an error, as a user expects.
  server_.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // Headers and body go out in separate writes: with Nagle's algorithm the
  // body then waits for the client's delayed ACK (~40 ms a response on Linux).
  server_.set_tcp_nodelay(true);
  if (port == 0) {
    port_ = server_.bind_to_any_port(host);
    if (port_ <= 0) throw Error(what + ": could not bind any port on " + host);
  } else {
    if (!server_.bind_to_port(host, port)) {
      throw Error(what + ": port " + std::to_string(port) + " on " + host + " is in use or cannot be bound");
    }
    port_ = port;
  }
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  // httplib 0.11 has no wait_until_ready(): poll is_running(), bounded so a
  // listener that failed at once cannot hang the caller.
  for (int i = 0; i < 5000 && !server_.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return port_;
}

void HttpService::stop() {
  if (thread_.joinable()) {
    server_.stop();
    thread_.join();
  }
}

}  // namespace inferlab
