#pragma once
// Plain request/response values exchanged between the Beast server and route
// handlers. No Beast or Asio types here: handlers and the actors behind them never
// see the I/O layer.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace wfe::api {

struct http_request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // raw request target, e.g. "/api/v1/workflows?limit=10"
  std::string path;    // percent-decoded path without the query
  std::unordered_map<std::string, std::string> query;    // decoded query parameters
  std::unordered_map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::chrono::steady_clock::time_point received_at;

  // Path parameters bound by the router, e.g. {"address": "pekko://sys@h:2551"}.
  std::unordered_map<std::string, std::string> params;

  [[nodiscard]] std::string_view header(std::string_view lower_name) const;
};

// Splits an origin-form request target ("/path?query") into its percent-decoded path
// and, when `query` is given, its decoded parameters (the first of a repeated name
// wins); false for a malformed target. A target of plain path characters only (no
// '%', no '?': every workflow start) is its own path, without Boost.URL's parser.
[[nodiscard]] bool parse_target(std::string_view target, std::string& path,
                                std::unordered_map<std::string, std::string>* query = nullptr);

struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  // {"error":{"code":code,"message":message}} with the given status.
  static http_response error(unsigned status, std::string_view code, std::string_view message);
  // A JSON body (already serialized) with the given status.
  static http_response json(unsigned status, std::string body);
};

// Completes one request. May be called from any thread (an actor's, typically), at
// most once; calls after the first, or after the request timed out, are ignored.
// Cheap to copy.
class responder {
 public:
  using fn = std::function<void(http_response)>;
  responder() = default;
  explicit responder(std::shared_ptr<fn> f)
      : f_(std::move(f)), called_(std::make_shared<std::atomic<bool>>(false)) {}
  void operator()(http_response r) const;

 private:
  std::shared_ptr<fn> f_;
  // Shared by every copy: the first call wins, whichever thread makes it.
  std::shared_ptr<std::atomic<bool>> called_;
};

// A route handler: must not block; it answers through `respond`, now or later.
using http_handler = std::function<void(http_request&& req, responder respond)>;

}  // namespace wfe::api
