#pragma once
// An asynchronous HTTP/1.1 server on Boost.Beast: keep-alive, a bounded number of
// connections, limits on URI, headers and body, header-read/idle/request timeouts,
// JSON errors for everything that goes wrong, request metrics. Runs on its own
// io_context threads; handlers are called on those threads and must not block.
//
// Shutdown is in two steps so the node can drain: stop_accepting() closes the
// listener and makes keep-alive connections close after their current response;
// stop(deadline) waits for in-flight requests up to the deadline, then closes all.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/http/router.hpp"
#include "engine/core/expected.hpp"

namespace prometheus {
class Registry;
}

namespace wfe::api {

struct http_limits {
  std::size_t max_connections = 1024;                     // more are accepted and closed at once
  std::size_t max_uri_bytes = 2048;                       // longer request target -> 414
  std::size_t max_header_bytes = 8192;                    // larger header block -> 431
  std::uint64_t max_body_bytes = 8ull << 20;              // larger body -> 413
  std::chrono::milliseconds header_read_timeout{10'000};  // first byte to end of headers
  std::chrono::milliseconds idle_timeout{60'000};         // keep-alive connection idle
  std::chrono::milliseconds request_timeout{20'000};      // handler must answer -> else 503
};

class auth_source;
class server_tls;

struct http_server_config {
  std::string name = "http";  // metrics label `server` and log context
  std::string interface = "0.0.0.0";
  std::uint16_t port = 8080;  // 0 = pick a free port (see bound_port())
  std::size_t io_threads = 1;
  http_limits limits;
  // Null: no authentication. Else every request but the public paths needs a token
  // (401 before routing: bearer_auth.hpp).
  std::shared_ptr<auth_source> auth;
  // Null: plain HTTP. Else HTTPS only (server_tls.hpp).
  std::shared_ptr<server_tls> tls;
};

class http_server {
 public:
  // Binds and starts serving. Error text names the address on failure (e.g. port in use).
  static core::expected<std::unique_ptr<http_server>, std::string> start(
      http_server_config cfg, router routes, prometheus::Registry& metrics);

  virtual ~http_server() = default;
  [[nodiscard]] virtual std::uint16_t bound_port() const = 0;
  virtual void stop_accepting() = 0;
  // Returns true when every in-flight request finished before the deadline.
  virtual bool stop(std::chrono::steady_clock::time_point deadline) = 0;

  // Runs `fn` on an io thread later (never inline); thread-safe. After stop() nothing
  // posted runs any more. With `after_stop` (set once, before any stop) the owner learns
  // when that is: it is called by stop() once no io thread runs, also from the
  // destructor (core::loop_dispatcher hands its actors back to CAF's scheduler there).
  virtual void post(std::function<void()> fn) = 0;
  virtual void after_stop(std::function<void()> fn) = 0;
};

}  // namespace wfe::api
