// Request limits and the connection bound, over real TCP.
#include "api/http/http_server.hpp"

#include <atomic>
#include <thread>

#include "api/http/http_test_support.hpp"

namespace wfe::api::test {

namespace {

router echo_routes(std::atomic<int>* calls = nullptr) {
  router routes;
  auto h = [calls](http_request&& req, responder respond) {
    if (calls) calls->fetch_add(1);
    respond(http_response::json(200, std::to_string(req.body.size())));
  };
  routes.add("GET", "/", h);
  routes.add("POST", "/", h);
  return routes;
}

}  // namespace

TEST_CASE("a 3 KB request target is answered 414 uri_too_long") {
  running_server srv(echo_routes());  // max_uri_bytes 2048, max_header_bytes 8192
  client c(srv.port());

  const auto r = c.get("/?q=" + std::string(3000, 'x'));
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 414);
  CHECK(r.error_code() == "uri_too_long");
  CHECK(r.header(http::field::connection) == "close");
}

TEST_CASE("a request target longer than the whole header limit is still 414") {
  running_server srv(echo_routes());
  client c(srv.port());

  const auto r = c.get("/?q=" + std::string(12'000, 'x'));
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 414);
}

TEST_CASE("a 20 KB header block is answered 431 header_too_large") {
  running_server srv(echo_routes());
  client c(srv.port());

  const auto r = c.get("/", "X-Big: " + std::string(20'000, 'a') + "\r\n");
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 431);
  CHECK(r.error_code() == "header_too_large");
  CHECK(closed_by_server(c.wait_closed()));
}

TEST_CASE("a Content-Length above the body limit is answered 413 without reading the body") {
  std::atomic<int> calls{0};
  http_limits limits;
  limits.max_body_bytes = 1024;
  running_server srv(echo_routes(&calls), limits);
  client c(srv.port());

  // The body is never sent: the answer must come from the headers alone.
  c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n");
  const auto r = c.read();
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 413);
  CHECK(r.error_code() == "payload_too_large");
  CHECK(calls.load() == 0);
}

TEST_CASE("a chunked body that grows past the limit is answered 413") {
  http_limits limits;
  limits.max_body_bytes = 1024;
  running_server srv(echo_routes(), limits);
  client c(srv.port());

  c.send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" +
         std::string(0x800, 'b') + "\r\n0\r\n\r\n");
  const auto r = c.read();
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 413);
}

TEST_CASE("a body within the limit reaches the handler") {
  http_limits limits;
  limits.max_body_bytes = 1024;
  running_server srv(echo_routes(), limits);
  client c(srv.port());

  c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n" + std::string(1024, 'b'));
  const auto r = c.read();
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 200);
  CHECK(r.res.body() == "1024");
}

TEST_CASE("an Expect 100-continue request gets 100 before it sends the body") {
  running_server srv(echo_routes());
  client c(srv.port());

  c.send("POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  const auto interim = c.read();
  REQUIRE_FALSE(interim.ec);
  CHECK(interim.status() == 100);
  c.send("abc");
  const auto r = c.read();
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 200);
  CHECK(r.res.body() == "3");
}

TEST_CASE("garbage instead of a request is answered 400 bad_request") {
  running_server srv(echo_routes());
  client c(srv.port());

  c.send("this is not http\r\n\r\n");
  const auto r = c.read();
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 400);
  CHECK(r.error_code() == "bad_request");
}

TEST_CASE("connections beyond max_connections get 503 too_many_connections") {
  http_limits limits;
  limits.max_connections = 1;
  running_server srv(echo_routes(), limits);

  std::optional<client> first(std::in_place, srv.port());
  REQUIRE(first->get("/").status() == 200);  // accepted and counted

  client extra(srv.port());
  const auto r = extra.read();  // answered without sending a request
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 503);
  CHECK(r.error_code() == "too_many_connections");
  CHECK(r.header(http::field::connection) == "close");
  CHECK(srv.metrics_text().find(R"(http_connections_rejected_total{server="test"} 1)") !=
        std::string::npos);

  // Once the first one leaves, the slot is free again (the close takes a moment
  // to reach the server, hence the retries).
  first.reset();
  bool served = false;
  for (int attempt = 0; attempt < 100 && !served; ++attempt) {
    client next(srv.port());
    served = next.get("/").status() == 200;
    if (!served) std::this_thread::sleep_for(50ms);
  }
  CHECK(served);
}

}  // namespace wfe::api::test
