#include "api/http/router.hpp"

#include <doctest/doctest.h>

namespace wfe::api {
namespace {

http_request request(std::string method, std::string target) {
  http_request r;
  r.method = std::move(method);
  r.target = std::move(target);
  return r;
}

// A handler that records which route ran, so a test can tell handlers apart.
http_handler tag(std::string* out, std::string name) {
  return [out, name = std::move(name)](http_request&&, responder) { *out = name; };
}

}  // namespace

TEST_CASE("a literal pattern matches exactly its path and reports the pattern") {
  std::string called;
  router r;
  r.add("GET", "/health", tag(&called, "health"));
  r.add("GET", "/health/ready", tag(&called, "ready"));

  auto req = request("GET", "/health/ready?verbose=1");
  const auto m = r.find(req);
  REQUIRE(m.handler != nullptr);
  CHECK(m.pattern == "/health/ready");
  (*m.handler)(std::move(req), responder{});
  CHECK(called == "ready");
}

TEST_CASE("a parameter binds one percent-decoded segment") {
  std::string called;
  router r;
  r.add("DELETE", "/api/v1/cluster/members/{address}", tag(&called, "leave"));

  auto req = request("DELETE", "/api/v1/cluster/members/pekko%3A%2F%2Fsys%40h%3A2551");
  const auto m = r.find(req);
  REQUIRE(m.handler != nullptr);
  CHECK(m.pattern == "/api/v1/cluster/members/{address}");
  CHECK(req.params.at("address") == "pekko://sys@h:2551");
}

TEST_CASE("several parameters bind independently") {
  std::string called;
  router r;
  r.add("GET", "/a/{x}/b/{y}", tag(&called, "ab"));
  auto req = request("GET", "/a/one/b/two%20three");
  REQUIRE(r.find(req).handler != nullptr);
  CHECK(req.params.at("x") == "one");
  CHECK(req.params.at("y") == "two three");
}

TEST_CASE("a literal segment matches its percent-encoded spelling") {
  std::string called;
  router r;
  r.add("POST", "/api/v1/workflows", tag(&called, "start"));
  r.add("POST", "/api/v1/workflows/{id}/cancel", tag(&called, "cancel"));
  // The pattern a request is routed to ("" when none), and the request after routing.
  const auto routed = [&](std::string target, http_request& req) {
    req = request("POST", std::move(target));
    const auto m = r.find(req);
    return m.handler == nullptr ? std::string() : std::string(m.pattern);
  };
  http_request req;
  CHECK(routed("/api/v1/%77orkflows", req) == "/api/v1/workflows");
  CHECK(req.params.empty());
  CHECK(routed("/api/v1/workflows/a%2Fb/%63ancel", req) == "/api/v1/workflows/{id}/cancel");
  CHECK(req.params.at("id") == "a/b");
  CHECK(routed("/api/v1/%77orkflow", req).empty());
  CHECK(r.find(req).status == 404);
}

TEST_CASE("a parameter never matches more than one segment or an empty one") {
  std::string called;
  router r;
  r.add("GET", "/members/{address}", tag(&called, "m"));
  auto two = request("GET", "/members/a/b");
  CHECK(r.find(two).status == 404);
  auto empty = request("GET", "/members/");
  CHECK(r.find(empty).status == 404);
}

TEST_CASE("an unknown path is 404 without an Allow list") {
  std::string called;
  router r;
  r.add("GET", "/health", tag(&called, "health"));
  auto req = request("GET", "/nope");
  const auto m = r.find(req);
  CHECK(m.handler == nullptr);
  CHECK(m.status == 404);
  CHECK(m.allow.empty());
}

TEST_CASE("a trailing slash is a different path") {
  std::string called;
  router r;
  r.add("GET", "/health", tag(&called, "health"));
  auto req = request("GET", "/health/");
  CHECK(r.find(req).status == 404);
}

TEST_CASE("a known path with another method is 405 listing the allowed methods") {
  std::string called;
  router r;
  r.add("GET", "/items/{id}", tag(&called, "get"));
  r.add("PUT", "/items/{id}", tag(&called, "put"));
  r.add("GET", "/items/{id}", tag(&called, "duplicate"));  // listed once
  r.add("POST", "/other", tag(&called, "other"));

  auto req = request("DELETE", "/items/7");
  const auto m = r.find(req);
  CHECK(m.handler == nullptr);
  CHECK(m.status == 405);
  CHECK(m.allow == "GET, PUT");
  CHECK(req.params.empty());
}

TEST_CASE("the first matching route wins over a later one with the same method") {
  std::string called;
  router r;
  r.add("GET", "/items/special", tag(&called, "literal"));
  r.add("GET", "/items/{id}", tag(&called, "param"));
  auto req = request("GET", "/items/special");
  const auto m = r.find(req);
  REQUIRE(m.handler != nullptr);
  (*m.handler)(std::move(req), responder{});
  CHECK(called == "literal");
}

TEST_CASE("a fallback takes what no route matches under its prefix, and nothing else") {
  std::string called;
  router r;
  r.add("GET", "/api/v1/workflows-stats", tag(&called, "stats"));
  r.add("GET", "/health", tag(&called, "health"));
  r.add_fallback("/api/v1/workflows", tag(&called, "fallback"));
  for (const char* target : {"/api/v1/workflows", "/api/v1/workflows?status=RUNNING",
                             "/api/v1/workflows/wf-1", "/api/v1/workflows/wf-1/signals/go"}) {
    INFO(target);
    auto req = request("POST", target);
    const auto m = r.find(req);
    REQUIRE(m.handler != nullptr);
    CHECK(m.pattern == "/api/v1/workflows/*");
    called.clear();
    (*m.handler)(std::move(req), responder{});
    CHECK(called == "fallback");
  }
  auto other = request("GET", "/api/v1/workflows-stats");  // a route, not under the prefix
  auto m = r.find(other);
  REQUIRE(m.handler != nullptr);
  CHECK(m.pattern == "/api/v1/workflows-stats");
  auto near = request("GET", "/api/v1/workflowsx");
  CHECK(r.find(near).status == 404);
  auto wrong_method = request("POST", "/health");  // 405 stays 405
  CHECK(r.find(wrong_method).status == 405);
}

TEST_CASE("a request without a raw target is routed by its decoded path") {
  std::string called;
  router r;
  r.add("GET", "/x/{v}", tag(&called, "x"));
  http_request req;
  req.method = "GET";
  req.path = "/x/hello world";
  REQUIRE(r.find(req).handler != nullptr);
  CHECK(req.params.at("v") == "hello world");
}

}  // namespace wfe::api
