// Request handling over real TCP: routing, answers from other threads,
// keep-alive, request timeouts, shutdown and metrics. Limits are in
// http_server_limits.test.cpp.
#include "api/http/http_server.hpp"

#include <atomic>
#include <future>
#include <thread>

#include "api/http/http_test_support.hpp"
#include "api/http/metrics_route.hpp"
#include "tests/support/eventually.hpp"

namespace wfe::api::test {

TEST_CASE("a handler's answer reaches the client with the standard headers") {
  router routes;
  routes.add("GET", "/hello", [](http_request&& req, responder respond) {
    respond(http_response::json(200, R"({"who":")" + req.query["name"] + R"("})"));
  });
  running_server srv(std::move(routes));
  client c(srv.port());

  const auto r = c.get("/hello?name=ada");
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 200);
  CHECK(r.res.body() == R"({"who":"ada"})");
  CHECK(r.header(http::field::server) == "workflow-engine");
  CHECK(r.header(http::field::content_type) == "application/json");
  CHECK(r.header(http::field::content_length) == std::to_string(r.res.body().size()));
}

TEST_CASE("the handler sees method, decoded path, query, lower-case headers and body") {
  http_request seen;
  router routes;
  routes.add("POST", "/items/{id}", [&seen](http_request&& req, responder respond) {
    seen = std::move(req);
    respond(http_response::json(201, "{}"));
  });
  running_server srv(std::move(routes));
  client c(srv.port());

  c.send(
      "POST /items/a%20b?x=1&y=two%20words HTTP/1.1\r\nHost: t\r\nX-Trace: abc\r\n"
      "Content-Length: 5\r\n\r\nhello");
  const auto r = c.read();
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 201);
  CHECK(seen.method == "POST");
  CHECK(seen.path == "/items/a b");
  CHECK(seen.params.at("id") == "a b");
  CHECK(seen.query.at("x") == "1");
  CHECK(seen.query.at("y") == "two words");
  CHECK(seen.header("x-trace") == "abc");
  CHECK(seen.body == "hello");
}

TEST_CASE("a handler may answer later from another thread") {
  parked pending;
  router routes;
  routes.add("GET", "/slow", pending.handler());
  running_server srv(std::move(routes));
  client c(srv.port());

  c.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  REQUIRE(pending.wait_for(1));
  std::thread actor([respond = pending.at(0)] {
    std::this_thread::sleep_for(20ms);
    respond(http_response::json(200, R"({"late":true})"));
  });
  const auto r = c.read();
  actor.join();
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 200);
  CHECK(r.res.body() == R"({"late":true})");
}

TEST_CASE("two requests are served one after the other on one keep-alive connection") {
  int calls = 0;
  router routes;
  routes.add("GET", "/n", [&calls](http_request&&, responder respond) {
    respond(http_response::json(200, std::to_string(++calls)));
  });
  running_server srv(std::move(routes));
  client c(srv.port());

  const auto first = c.get("/n");
  REQUIRE_FALSE(first.ec);
  CHECK(first.res.body() == "1");
  CHECK(first.res.keep_alive());
  const auto second = c.get("/n");
  REQUIRE_FALSE(second.ec);
  CHECK(second.res.body() == "2");
}

TEST_CASE("pipelined requests and a request split across reads are answered in order") {
  // A request that came whole is parsed from what was read with it; one cut anywhere is
  // read on from where the parse stopped.
  router routes;
  routes.add("POST", "/echo", [](http_request&& req, responder respond) {
    respond(http_response::json(200, "\"" + req.body + "\""));
  });
  running_server srv(std::move(routes));
  client c(srv.port());

  const std::string post = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: ";
  c.send(post + "3\r\n\r\none" + post + "3\r\n\r\ntwo");
  for (const auto* want : {R"("one")", R"("two")"}) {
    const auto r = c.read();
    REQUIRE_FALSE(r.ec);
    CHECK(r.res.body() == want);
  }
  const std::string split = post + "5\r\n\r\nthree";
  for (const std::size_t cut : {std::size_t{10}, post.size() + 4, split.size() - 2}) {
    c.send(split.substr(0, cut));
    std::this_thread::sleep_for(20ms);
    c.send(split.substr(cut));
    const auto r = c.read();
    REQUIRE_FALSE(r.ec);
    CHECK(r.res.body() == R"("three")");
  }
  const std::string chunked =
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nfou\r\n1\r\nr\r\n0\r\n\r\n";
  c.send(chunked + chunked.substr(0, chunked.size() - 9));
  std::this_thread::sleep_for(20ms);
  c.send(chunked.substr(chunked.size() - 9));
  for (int i = 0; i < 2; ++i) {
    const auto r = c.read();
    REQUIRE_FALSE(r.ec);
    CHECK(r.res.body() == R"("four")");
  }
}

TEST_CASE("an unknown route is answered 404 not_found in JSON") {
  router routes;
  routes.add("GET", "/health", answer(200, "{}"));
  running_server srv(std::move(routes));
  client c(srv.port());

  const auto r = c.get("/nope");
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 404);
  CHECK(r.header(http::field::content_type) == "application/json");
  CHECK(r.error_code() == "not_found");
}

TEST_CASE("a known route with the wrong method is answered 405 with an Allow header") {
  router routes;
  routes.add("GET", "/items", answer(200, "[]"));
  routes.add("POST", "/items", answer(201, "{}"));
  running_server srv(std::move(routes));
  client c(srv.port());

  c.send("DELETE /items HTTP/1.1\r\nHost: t\r\n\r\n");
  const auto r = c.read();
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 405);
  CHECK(r.error_code() == "method_not_allowed");
  CHECK(r.header(http::field::allow) == "GET, POST");
}

TEST_CASE("an answer to HEAD carries its length but no body, so the connection stays usable") {
  router routes;
  routes.add("GET", "/items", answer(200, "[1,2,3]"));
  running_server srv(std::move(routes));
  client c(srv.port());

  c.send("HEAD /items HTTP/1.1\r\nHost: t\r\n\r\n");
  const auto head = c.read(io_timeout, true);
  REQUIRE_FALSE(head.ec);
  CHECK(head.status() == 405);  // HEAD is not routed implicitly
  CHECK(head.header(http::field::allow) == "GET");
  CHECK(head.res.body().empty());
  CHECK(head.header(http::field::content_length) != "0");

  const auto next = c.get("/items");
  REQUIRE_FALSE(next.ec);
  CHECK(next.res.body() == "[1,2,3]");
}

TEST_CASE("a handler that throws is answered 500 internal_error") {
  router routes;
  routes.add("GET", "/boom", [](http_request&&, responder) { throw std::runtime_error("boom"); });
  running_server srv(std::move(routes));
  client c(srv.port());

  const auto r = c.get("/boom");
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 500);
  CHECK(r.error_code() == "internal_error");
}

namespace {

// A server whose GET /never is never answered (its responders are parked) and whose
// GET /now answers "fresh" at once, with this request timeout; one client.
struct timeout_server {
  parked pending;
  running_server srv;
  client c;

  explicit timeout_server(std::chrono::milliseconds request_timeout)
      : srv(routes(pending), limits(request_timeout)), c(srv.port()) {}

  static router routes(parked& pending) {
    router r;
    r.add("GET", "/never", pending.handler());
    r.add("GET", "/now", answer(200, R"("fresh")"));
    return r;
  }
  static http_limits limits(std::chrono::milliseconds request_timeout) {
    http_limits l;
    l.request_timeout = request_timeout;
    return l;
  }
};

}  // namespace

TEST_CASE("a handler that never answers gets 503 request_timeout and its late answer is dropped") {
  timeout_server t(200ms);
  const auto r = t.c.get("/never");
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 503);
  CHECK(r.error_code() == "request_timeout");

  // The late answer must not be taken as the answer to the next request.
  t.pending.at(0)(http_response::json(200, R"("stale")"));
  const auto next = t.c.get("/now");
  REQUIRE_FALSE(next.ec);
  CHECK(next.res.body() == R"("fresh")");
}

TEST_CASE("each request on a kept-alive connection gets its own full request_timeout") {
  // The deadline's timer is not re-armed per request: a request that comes after an
  // answered one must still wait its whole timeout, not the remainder of the first one's.
  timeout_server t(400ms);
  REQUIRE(t.c.get("/now").status() == 200);
  std::this_thread::sleep_for(250ms);
  for (int i = 0; i < 2; ++i) {  // and again once the timer fired for the first of them
    const auto asked = std::chrono::steady_clock::now();
    const auto r = t.c.get("/never");
    const auto waited = std::chrono::steady_clock::now() - asked;
    REQUIRE_FALSE(r.ec);
    CHECK(r.status() == 503);
    CHECK(r.error_code() == "request_timeout");
    CHECK(waited >= 400ms);
  }
}

TEST_CASE("a client that stalls inside its headers is disconnected") {
  router routes;
  routes.add("GET", "/", answer(200, "{}"));
  http_limits limits;
  limits.header_read_timeout = 200ms;
  running_server srv(std::move(routes), limits);
  client c(srv.port());

  c.send("GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ");
  CHECK(closed_by_server(c.wait_closed()));
}

TEST_CASE("an idle keep-alive connection is closed after idle_timeout") {
  router routes;
  routes.add("GET", "/", answer(200, "{}"));
  http_limits limits;
  limits.idle_timeout = 200ms;
  running_server srv(std::move(routes), limits);
  client c(srv.port());

  REQUIRE(c.get("/").status() == 200);
  CHECK(closed_by_server(c.wait_closed()));
}

TEST_CASE("stop_accepting refuses new connections while an in-flight request completes") {
  parked pending;
  router routes;
  routes.add("GET", "/work", pending.handler());
  running_server srv(std::move(routes));
  client c(srv.port());

  c.send("GET /work HTTP/1.1\r\nHost: t\r\n\r\n");
  REQUIRE(pending.wait_for(1));
  srv.server->stop_accepting();
  CHECK_FALSE(client::can_connect(srv.port()));

  pending.at(0)(http_response::json(200, R"("done")"));
  const auto r = c.read();
  REQUIRE_FALSE(r.ec);
  CHECK(r.res.body() == R"("done")");
  CHECK(r.header(http::field::connection) == "close");
  CHECK(closed_by_server(c.wait_closed()));
  CHECK(srv.server->stop(std::chrono::steady_clock::now() + io_timeout));
}

TEST_CASE("stop_accepting closes idle keep-alive connections at once") {
  router routes;
  routes.add("GET", "/", answer(200, "{}"));
  running_server srv(std::move(routes));  // default idle_timeout: 60 s
  client c(srv.port());

  REQUIRE(c.get("/").status() == 200);
  srv.server->stop_accepting();
  CHECK(closed_by_server(c.wait_closed()));
}

TEST_CASE("stop reports a request that did not finish before the deadline and closes it") {
  parked pending;
  router routes;
  routes.add("GET", "/stuck", pending.handler());
  running_server srv(std::move(routes));
  client c(srv.port());

  c.send("GET /stuck HTTP/1.1\r\nHost: t\r\n\r\n");
  REQUIRE(pending.wait_for(1));
  CHECK_FALSE(srv.server->stop(std::chrono::steady_clock::now() + 100ms));
  CHECK(closed_by_server(c.wait_closed()));
  pending.at(0)(http_response::json(200, "{}"));  // after stop: silently dropped
  CHECK(srv.server->stop(std::chrono::steady_clock::now()) == false);  // result is kept
}

TEST_CASE("start reports an address that is already in use") {
  running_server first{router{}};
  http_server_config cfg;
  cfg.interface = "127.0.0.1";
  cfg.port = first.port();
  prometheus::Registry registry;
  const auto second = http_server::start(cfg, router{}, registry);
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error() ==
        "cannot bind 127.0.0.1:" + std::to_string(first.port()) + ": Address already in use");
}

TEST_CASE("the metrics route shows requests by server, method, route and status") {
  auto registry = std::make_shared<prometheus::Registry>();
  router routes;
  routes.add("GET", "/items/{id}", answer(200, "{}"));
  add_metrics_route(routes, registry);
  http_server_config cfg;
  cfg.name = "api";
  cfg.interface = "127.0.0.1";
  cfg.port = 0;
  auto server = http_server::start(cfg, std::move(routes), *registry);
  REQUIRE(server.has_value());
  client c((*server)->bound_port());

  REQUIRE(c.get("/items/1").status() == 200);
  REQUIRE(c.get("/items/2").status() == 200);
  REQUIRE(c.get("/missing").status() == 404);
  const auto r = c.get("/metrics");
  REQUIRE(r.status() == 200);
  CHECK(r.header(http::field::content_type) == "text/plain; version=0.0.4; charset=utf-8");
  const auto& body = r.res.body();
  CHECK(
      body.find(
          R"(http_requests_total{method="GET",route="/items/{id}",server="api",status="200"} 2)") !=
      std::string::npos);
  CHECK(body.find(
            R"(http_requests_total{method="GET",route="unmatched",server="api",status="404"} 1)") !=
        std::string::npos);
  CHECK(body.find(R"(http_request_duration_seconds_count{route="/items/{id}",server="api"} 2)") !=
        std::string::npos);
  CHECK(body.find(R"(http_connections_active{server="api"} 1)") != std::string::npos);
}

TEST_CASE("two servers can register their metrics into one registry") {
  auto registry = std::make_shared<prometheus::Registry>();
  http_server_config cfg;
  cfg.interface = "127.0.0.1";
  cfg.port = 0;
  cfg.name = "api";
  router api_routes;
  api_routes.add("GET", "/a", answer(200, "{}"));
  auto api = http_server::start(cfg, std::move(api_routes), *registry);
  cfg.name = "metrics";
  router metrics_routes;
  add_metrics_route(metrics_routes, registry);
  auto metrics = http_server::start(cfg, std::move(metrics_routes), *registry);
  REQUIRE(api.has_value());
  REQUIRE(metrics.has_value());

  client a((*api)->bound_port());
  REQUIRE(a.get("/a").status() == 200);
  client m((*metrics)->bound_port());
  const auto r = m.get("/metrics");
  REQUIRE(r.status() == 200);
  CHECK(r.res.body().find(R"(route="/a",server="api",status="200"} 1)") != std::string::npos);
  CHECK(r.res.body().find(R"(http_connections_active{server="metrics"} 1)") != std::string::npos);
}


// The response is serialized by hand (http_connection.cpp, serialize_response): the
// cases Beast's serializer used to decide.
TEST_CASE("HTTP/1.0 answers: closed unless the client asked for keep-alive") {
  router routes;
  routes.add("GET", "/", [](http_request&&, responder respond) {
    auto r = http_response::json(201, R"({"ok":true})");
    r.headers.emplace_back("Location", "/x/1");
    respond(std::move(r));
  });
  running_server srv(std::move(routes));
  {
    client c(srv.port());
    c.send("GET / HTTP/1.0\r\nHost: t\r\n\r\n");
    const auto r = c.read();
    REQUIRE_FALSE(r.ec);
    CHECK(r.res.version() == 10);
    CHECK(r.status() == 201);
    CHECK(r.res.reason() == "Created");
    CHECK(r.header(http::field::location) == "/x/1");
    CHECK(r.header(http::field::connection) == "close");
    CHECK(r.header(http::field::content_length) == "11");
    CHECK(r.res.body() == R"({"ok":true})");
    CHECK(closed_by_server(c.wait_closed()));
  }
  client c(srv.port());
  c.send("GET / HTTP/1.0\r\nHost: t\r\nConnection: keep-alive\r\n\r\n");
  const auto first = c.read();
  REQUIRE_FALSE(first.ec);
  CHECK(first.header(http::field::connection) == "keep-alive");
  c.send("GET / HTTP/1.0\r\nHost: t\r\nConnection: keep-alive\r\n\r\n");
  const auto second = c.read();  // the same connection still serves
  REQUIRE_FALSE(second.ec);
  CHECK(second.status() == 201);
}

TEST_CASE("a 204 answer carries no body, even if the handler gave one") {
  router routes;
  routes.add("POST", "/", [](http_request&&, responder respond) {
    auto r = http_response::json(204, R"("ignored")");
    respond(std::move(r));
  });
  routes.add("GET", "/next", answer(200, R"("next")"));
  running_server srv(std::move(routes));
  client c(srv.port());
  c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
  const auto r = c.read();
  REQUIRE_FALSE(r.ec);
  CHECK(r.status() == 204);
  CHECK(r.res.body().empty());
  const auto next = c.get("/next");  // nothing stray on the connection
  REQUIRE_FALSE(next.ec);
  CHECK(next.res.body() == R"("next")");
}

TEST_CASE(
    "post runs work on an io thread, after a stop nothing posted runs and after_stop ran once") {
  running_server srv{router{}};
  std::promise<std::thread::id> ran;
  srv.server->post([&ran] { ran.set_value(std::this_thread::get_id()); });
  auto ran_on = ran.get_future();
  REQUIRE(ran_on.wait_for(5s) == std::future_status::ready);
  CHECK(ran_on.get() != std::this_thread::get_id());

  std::atomic<int> after_stop{0};
  std::atomic<bool> late{false};
  srv.server->after_stop([&after_stop, &late] {
    CHECK_FALSE(late.load());
    ++after_stop;
  });
  CHECK(after_stop == 0);
  CHECK(srv.server->stop(std::chrono::steady_clock::now() + 1s));
  CHECK(after_stop == 1);
  srv.server->post([&late] { late = true; });
  std::this_thread::sleep_for(50ms);
  srv.server.reset();  // the destructor does not stop (nor call after_stop) again
  CHECK(after_stop == 1);
  CHECK_FALSE(late);
}

TEST_CASE("an io thread held by a handler shows in http_io_loop_lag_seconds") {
  router routes;
  routes.add("GET", "/hold", [](http_request&&, responder respond) {
    std::this_thread::sleep_for(400ms);  // holds the only io thread, as a slow handler would
    respond(http_response::json(200, "{}"));
  });
  auto registry = std::make_shared<prometheus::Registry>();
  http_server_config cfg;
  cfg.name = "lag";
  cfg.interface = "127.0.0.1";
  cfg.port = 0;
  cfg.io_threads = 1;
  auto started = http_server::start(std::move(cfg), std::move(routes), *registry);
  REQUIRE(started.has_value());
  auto lag = [&registry] {
    for (const auto& f : registry->Collect()) {
      if (f.name != "http_io_loop_lag_seconds") continue;
      for (const auto& m : f.metric) {
        if (!m.label.empty() && m.label.at(0).value == "lag") return m.histogram;
      }
    }
    FAIL("no http_io_loop_lag_seconds{server=lag}");
    return prometheus::ClientMetric::Histogram{};
  };
  REQUIRE(wfe::test::eventually([&] { return lag().sample_count >= 1; }, 5s, 10ms));

  client c((*started)->bound_port());
  CHECK(c.get("/hold").status() == 200);
  // The timer due during the hold (at most 100 ms into it) fired after it: >= 300 ms late.
  REQUIRE(wfe::test::eventually([&] { return lag().sample_sum >= 0.1; }, 5s, 10ms));
  const auto h = lag();
  REQUIRE_FALSE(h.bucket.empty());
  CHECK(h.bucket.back().cumulative_count == h.sample_count);
  bool some_over_100ms = false;
  for (const auto& b : h.bucket) {
    if (b.upper_bound == 0.1) some_over_100ms = b.cumulative_count < h.sample_count;
  }
  CHECK(some_over_100ms);
}

}  // namespace wfe::api::test
