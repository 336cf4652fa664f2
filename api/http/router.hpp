#pragma once
// Maps (method, path pattern) to handlers. Patterns are literal segments and
// `{name}` parameters matching exactly one segment ("/api/v1/cluster/members/{address}").
// A path that matches no pattern is 404; one that matches with another method is
// 405 with an `Allow` header listing the methods that would have matched.

#include <string>
#include <string_view>
#include <vector>

#include "api/http/http_types.hpp"

namespace wfe::api {

class router {
 public:
  // `route_name` labels metrics (e.g. "/api/v1/cluster/members/{address}"); defaults
  // to the pattern.
  void add(std::string method, std::string pattern, http_handler handler);
  // Every request under `prefix` ("/api/v1/workflows": that path and "/api/v1/workflows/…",
  // any method) that no route matches goes to `handler` (metrics label "<prefix>/*").
  void add_fallback(std::string prefix, http_handler handler);

  struct match {
    const http_handler* handler = nullptr;  // null when not matched
    std::string_view pattern;               // the matched pattern (metrics label; the router's)
    unsigned status = 0;                    // 404 or 405 when not matched
    std::string allow;                      // for 405: "GET, PUT"
  };
  // Binds path parameters into req.params on success.
  [[nodiscard]] match find(http_request& req) const;

 private:
  struct route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    http_handler handler;
  };
  std::vector<route> routes_;
  struct fallback {
    std::string prefix;
    std::string label;  // prefix + "/*"
    http_handler handler;
  };
  std::vector<fallback> fallbacks_;
};

}  // namespace wfe::api
