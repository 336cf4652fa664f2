#pragma once
// Test-only helpers for the http_server tests: a started server with its own
// registry, a tiny Beast client over real TCP, and a place to park responders.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "api/http/http_server.hpp"

namespace wfe::api::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

// Generous: only reached when something is broken, never on the happy path.
inline constexpr std::chrono::milliseconds io_timeout{10'000};

struct reply {
  beast::error_code ec;  // set when no complete response arrived
  http::response<http::string_body> res;

  [[nodiscard]] unsigned status() const { return res.result_int(); }
  [[nodiscard]] std::string header(http::field f) const { return std::string(res[f]); }
  [[nodiscard]] std::string error_code() const {
    const auto v = boost::json::parse(res.body());
    return std::string(v.at("error").at("code").as_string());
  }
};

class client {
 public:
  explicit client(std::uint16_t port) : stream_(ioc_) {
    stream_.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }

  void send(std::string_view raw) { net::write(stream_.socket(), net::buffer(raw)); }

  // head: the request was HEAD, so the response has no body whatever it announces.
  reply read(std::chrono::milliseconds timeout = io_timeout, bool head = false) {
    reply r;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    parser.skip(head);
    stream_.expires_after(timeout);
    http::async_read(stream_, buffer_, parser,
                     [&](beast::error_code ec, std::size_t) { r.ec = ec; });
    run();
    if (!r.ec) r.res = parser.release();
    return r;
  }

  reply get(std::string_view target, std::string_view extra_headers = "") {
    send("GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra_headers) +
         "\r\n");
    return read();
  }

  // Reads until the server closes the connection. eof or reset mean the server
  // closed it; beast::error::timeout means it did not within `timeout`.
  beast::error_code wait_closed(std::chrono::milliseconds timeout = io_timeout) {
    beast::error_code result;
    stream_.expires_after(timeout);
    read_until_error(result);
    run();
    return result;
  }

  static bool can_connect(std::uint16_t port) {
    net::io_context ioc;
    net::ip::tcp::socket s(ioc);
    beast::error_code ec;
    s.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
    return !ec;
  }

 private:
  void run() {
    ioc_.restart();
    ioc_.run();
  }
  void read_until_error(beast::error_code& result) {
    stream_.async_read_some(net::buffer(scratch_),
                            [this, &result](beast::error_code ec, std::size_t) {
                              if (ec) {
                                result = ec;
                                return;
                              }
                              read_until_error(result);
                            });
  }

  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::array<char, 4096> scratch_{};
};

inline bool closed_by_server(const beast::error_code& ec) {
  return ec == net::error::eof || ec == net::error::connection_reset;
}

// Handlers park their responders here; the test answers them when it wants to.
class parked {
 public:
  http_handler handler() {
    return [this](http_request&& req, responder respond) {
      const std::lock_guard lock(mu_);
      targets_.push_back(req.target);
      responders_.push_back(std::move(respond));
      cv_.notify_all();
    };
  }
  // Waits until `n` requests arrived; false if they did not within io_timeout.
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, io_timeout, [&] { return responders_.size() >= n; });
  }
  responder at(std::size_t i) {
    const std::lock_guard lock(mu_);
    return responders_.at(i);
  }
  std::size_t count() {
    const std::lock_guard lock(mu_);
    return responders_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> targets_;
  std::vector<responder> responders_;
};

inline http_handler answer(unsigned status, std::string body) {
  return [status, body = std::move(body)](http_request&&, responder respond) {
    respond(http_response::json(status, body));
  };
}

struct running_server {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<http_server> server;

  explicit running_server(router routes, http_limits limits = {}, std::string name = "test",
                          std::shared_ptr<auth_source> auth = nullptr) {
    http_server_config cfg;
    cfg.name = std::move(name);
    cfg.interface = "127.0.0.1";
    cfg.port = 0;
    cfg.io_threads = 2;
    cfg.limits = limits;
    cfg.auth = std::move(auth);
    auto started = http_server::start(std::move(cfg), std::move(routes), *registry);
    REQUIRE_MESSAGE(started.has_value(), (started ? std::string() : started.error()));
    server = std::move(started).value();
  }
  [[nodiscard]] std::uint16_t port() const { return server->bound_port(); }
  [[nodiscard]] std::string metrics_text() const {
    return prometheus::TextSerializer().Serialize(registry->Collect());
  }
};

}  // namespace wfe::api::test
