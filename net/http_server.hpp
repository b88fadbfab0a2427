// A small HTTP/1.1 server (Boost.Beast) that serves routes registered by path: Prometheus
// scrapes /metrics today; the CLI, HTTP ingress and dashboard of later issues add theirs.
//
// Lifecycle: start() binds and starts one I/O thread; stop() (or the destructor) closes the
// listener and every connection and joins the thread. The runtime owns it, starts it after the
// broker and stops it first. Concurrency: route() may be called at any time from any thread;
// handlers run on the I/O thread, one request at a time, so a handler that blocks (a metrics
// snapshot asks actors, ~0.1 ms per request) delays the next request, never an actor. Not
// for bulk traffic; idle connections are closed after 30 s.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/expected.hpp>

namespace herald::net {

struct http_request {
  std::string method;  ///< GET, POST, ...
  std::string path;    ///< the target without the query
  std::string query;   ///< after '?', undecoded; empty without one
  std::string body;
};

struct http_response {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using http_handler = std::function<http_response(const http_request&)>;

class http_server {
 public:
  /// Binds `address`:`port` (port 0: an ephemeral port, see port()) and starts serving.
  /// Errors: invalid_config, naming the address and the system's reason (not an IP address,
  /// port taken, no permission).
  static caf::expected<std::unique_ptr<http_server>> start(const std::string& address,
                                                           uint16_t port);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Serves `method` `path` (exact match) with `h`, replacing an earlier route.
  void route(const std::string& method, const std::string& path, http_handler h);
  /// The bound port.
  uint16_t port() const;
  /// Closes everything and joins the I/O thread. Idempotent.
  void stop();

  struct impl;

 private:
  explicit http_server(std::shared_ptr<impl> p);
  std::shared_ptr<impl> impl_;  // shared with the I/O handlers in flight
};

}  // namespace herald::net
