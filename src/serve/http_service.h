#pragma once
// An HTTP server (cpp-httplib, Debian's libcpp-httplib) listening on a
// background thread: what `serve`, `live --metrics-port` and `live --web`
// share. Internal to src/serve and the CLI; not part of the public API
// because it exposes httplib's types.

#include <httplib.h>

#include <string>
#include <thread>

namespace inferlab {

/// Owns one httplib::Server and the thread that runs it. Register handlers on
/// server() before start(). stop() (also run by the destructor) ends listening
/// and joins the thread. Not thread-safe itself; httplib runs handlers on its
/// own worker threads.
class HttpService {
 public:
  HttpService() = default;
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;
  ~HttpService();

  /// The server, to register routes on before start().
  httplib::Server& server() { return server_; }

  /// Binds `host:port` (port 0 picks a free port) and starts serving in the
  /// background. Returns the bound port. Throws Error (kBadInput) naming the
  /// port when it is in use or not bindable, so the CLI exits 2.
  int start(const std::string& host, int port, const std::string& what);

  /// Stops serving and joins the thread; idempotent.
  void stop();

  /// The port bound by start(), 0 before.
  int port() const { return port_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace inferlab
