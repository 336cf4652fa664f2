// Bearer-token checks over real TCP: decided from the request's head, before any body.
#include <atomic>

#include "api/http/bearer_auth.hpp"
#include "api/http/http_server.hpp"
#include "api/http/http_test_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace wfe::api::test {

namespace {

const std::string k_admin = "0123456789abcdef0123456789abcdef";
const std::string k_read = "fedcba9876543210fedcba9876543210";

struct auth_server {
  wfe::test::temp_dir dir;
  std::atomic<int> calls{0};
  std::optional<running_server> srv;

  auth_server() {
    auto auth =
        auth_source::open(dir.write("tokens", k_admin + "\n" + k_read + " read\n"), {"/health"});
    REQUIRE_MESSAGE(auth, (auth ? "" : auth.error()));
    router routes;
    auto h = [this](http_request&& req, responder respond) {
      calls.fetch_add(1);
      respond(http_response::json(200, std::to_string(req.body.size())));
    };
    routes.add("POST", "/api/v1/workflows", h);
    routes.add("POST", "/health", h);
    srv.emplace(std::move(routes), http_limits{}, "test", std::move(auth).value());
  }
  [[nodiscard]] std::uint16_t port() const { return srv->port(); }
};

std::string post_head(std::string_view target, std::string_view extra, std::size_t length) {
  return "POST " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra) +
         "Content-Length: " + std::to_string(length) + "\r\n\r\n";
}

}  // namespace

TEST_CASE("no token: 401 from the headers alone, the announced body never awaited") {
  auth_server s;
  client c(s.port());
  // The 100 MB body is never sent: before reading it the server must already know.
  c.send(post_head("/api/v1/workflows", "", 100'000'000));
  const auto r = c.read();
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 401);
  CHECK(r.error_code() == "unauthorized");
  CHECK(r.header(http::field::www_authenticate) == R"(Bearer realm="workflow-engine")");
  CHECK(r.header(http::field::connection) == "close");  // the unread body ends the connection
  CHECK(closed_by_server(c.wait_closed()));
  CHECK(s.calls.load() == 0);
}

TEST_CASE("no token and Expect 100-continue: 401 instead of 100 Continue") {
  auth_server s;
  client c(s.port());
  c.send(post_head("/api/v1/workflows", "Expect: 100-continue\r\n", 5));
  const auto r = c.read();
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 401);
  CHECK(s.calls.load() == 0);
}

TEST_CASE("a role that may not: 403 from the headers, the body never awaited") {
  auth_server s;
  client c(s.port());
  c.send(post_head("/api/v1/workflows", "Authorization: Bearer " + k_read + "\r\n", 100'000'000));
  const auto r = c.read();
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 403);
  CHECK(r.error_code() == "forbidden");
  CHECK(s.calls.load() == 0);
}

TEST_CASE("two Authorization fields are no token, even when one of them is valid") {
  auth_server s;
  client c(s.port());
  c.send(post_head(
      "/api/v1/workflows",
      "Authorization: Bearer " + k_admin + "\r\nAuthorization: Bearer " + k_admin + "\r\n", 0));
  const auto r = c.read();
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 401);
  CHECK(s.calls.load() == 0);
}

TEST_CASE("a known token gets its 100 Continue and its body read, a public path needs none") {
  auth_server s;
  client c(s.port());
  c.send(post_head("/api/v1/workflows",
                   "Authorization: Bearer " + k_admin + "\r\nExpect: 100-continue\r\n", 3));
  const auto interim = c.read();
  REQUIRE_FALSE(interim.ec);
  CHECK(interim.status() == 100);
  c.send("abc");
  const auto r = c.read();
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 200);
  CHECK(r.res.body() == "3");

  // Same connection (kept alive), a public path without a token.
  c.send(post_head("/health", "", 2) + "xy");
  const auto open = c.read();
  REQUIRE_FALSE(open.ec);
  CHECK(open.status() == 200);
  CHECK(open.res.body() == "2");
  CHECK(s.calls.load() == 2);
}

TEST_CASE("a refused request without a body keeps its connection") {
  auth_server s;
  client c(s.port());
  const auto first = c.get("/api/v1/workflows");
  REQUIRE_FALSE(first.ec);
  CHECK(first.status() == 401);
  CHECK(first.header(http::field::connection) != "close");
  const auto second = c.get("/api/v1/workflows", "Authorization: Bearer " + k_admin + "\r\n");
  REQUIRE_FALSE(second.ec);
  CHECK(second.status() == 405);  // authenticated, then routed: only POST is there
}

TEST_CASE("a malformed target: 401 without a token, its body unread, and 400 with one") {
  auth_server s;
  client c(s.port());
  c.send(post_head("/api/v1/%zz", "", 100'000));
  const auto r = c.read();
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 401);
  client known(s.port());
  const auto bad = known.get("/api/v1/%zz", "Authorization: Bearer " + k_admin + "\r\n");
  REQUIRE_FALSE(bad.ec);
  CHECK(bad.status() == 400);
  CHECK(s.calls.load() == 0);
}

}  // namespace wfe::api::test
