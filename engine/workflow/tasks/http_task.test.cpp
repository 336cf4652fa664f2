// The built-in `http` task through the dispatcher, against real servers on 127.0.0.1:
// the node's Beast server, a TLS server (tests/data/tls) and a raw Asio server for
// connections a server drops.
#include "engine/workflow/tasks/http_task.hpp"

#include <atomic>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <doctest/doctest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "api/http/http_server.hpp"
#include "engine/workflow/tasks/task_test_fixture.hpp"
#include "tests/support/temp_dir.hpp"

using namespace wfe::workflow;
using namespace wfe::workflow::test;
namespace json = boost::json;

namespace {

// A redirect to `location` with `status`.
wfe::api::http_handler redirect(unsigned status, std::string location) {
  return [status, location](wfe::api::http_request&&, wfe::api::responder respond) {
    wfe::api::http_response res;
    res.status = status;
    res.headers.emplace_back("Location", location);
    respond(std::move(res));
  };
}

struct target_server {
  explicit target_server(wfe::api::http_limits limits = {}) {
    wfe::api::router r;
    r.add("GET", "/ok", [](wfe::api::http_request&&, wfe::api::responder respond) {
      respond(wfe::api::http_response::json(200, R"({"a":1})"));
    });
    for (const char* method : {"GET", "POST", "PUT"}) {
      r.add(method, "/echo", [](wfe::api::http_request&& req, wfe::api::responder respond) {
        wfe::api::http_response res;
        res.content_type = "text/plain";
        res.body = req.method + " " + req.body;
        respond(std::move(res));
      });
    }
    r.add("GET", "/together", [this](wfe::api::http_request&&, wfe::api::responder respond) {
      std::vector<wfe::api::responder> all;
      {
        std::lock_guard lock(m);
        together.push_back(std::move(respond));
        if (together.size() < 3) return;  // answered when the third arrives
        all.swap(together);
      }
      for (auto& a : all) a(wfe::api::http_response::json(200, "{}"));
    });
    r.add("GET", "/headers", [](wfe::api::http_request&& req, wfe::api::responder respond) {
      json::object o;
      for (const char* h : {"x-token", "authorization", "cookie", "content-type", "user-agent"}) {
        auto v = req.header(h);
        o[h] = v.empty() ? json::value(nullptr) : json::value(json::string(v));
      }
      respond(wfe::api::http_response::json(200, json::serialize(o)));
    });
    r.add("GET", "/to-headers", redirect(302, "/headers"));
    r.add("GET", "/answers-headers", [](wfe::api::http_request&&, wfe::api::responder respond) {
      auto res = wfe::api::http_response::json(201, "{}");
      res.headers.emplace_back("Location", "/things/7");
      res.headers.emplace_back("X-Multi", "1");
      res.headers.emplace_back("x-multi", "2");
      respond(std::move(res));
    });
    r.add("GET", "/short-keep-alive", [](wfe::api::http_request&&, wfe::api::responder respond) {
      auto res = wfe::api::http_response::json(200, "{}");
      res.headers.emplace_back("Keep-Alive", "timeout=1");  // less a second of margin: 0
      respond(std::move(res));
    });
    r.add("GET", "/to-ok", redirect(301, "/ok"));  // relative
    r.add("POST", "/see-other", redirect(303, "echo"));  // relative to the path
    r.add("POST", "/found", redirect(302, "/echo"));
    r.add("PUT", "/found", redirect(302, "/echo"));
    r.add("POST", "/temporary", redirect(307, "/echo"));
    r.add("GET", "/loop", redirect(302, "/loop"));
    r.add("GET", "/to-ftp", redirect(302, "ftp://127.0.0.1/x"));
    r.add("GET", "/no-location", [](wfe::api::http_request&&, wfe::api::responder respond) {
      wfe::api::http_response res;
      res.status = 302;
      respond(std::move(res));
    });
    r.add("GET", "/boom", [](wfe::api::http_request&&, wfe::api::responder respond) {
      respond(wfe::api::http_response::error(500, "boom", "server error"));
    });
    r.add("GET", "/big", [](wfe::api::http_request&&, wfe::api::responder respond) {
      respond(wfe::api::http_response::json(200, "\"" + std::string(5000, 'x') + "\""));
    });
    r.add("GET", "/big-error", [](wfe::api::http_request&&, wfe::api::responder respond) {
      respond(wfe::api::http_response::json(502, "\"" + std::string(5000, 'e') + "\""));
    });
    r.add("GET", "/slow", [this](wfe::api::http_request&&, wfe::api::responder respond) {
      std::lock_guard lock(m);
      parked.push_back(std::move(respond));  // answered only at teardown
    });
    server = start_local_server(std::move(r), registry, limits);
  }
  ~target_server() {
    server->stop_accepting();
    {
      std::lock_guard lock(m);
      for (auto& r : parked) r(wfe::api::http_response::json(200, "{}"));
    }
    server->stop(std::chrono::steady_clock::now() + 2s);
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server->bound_port()) + path;
  }
  // Connections open on the server's side (its http_connections_active gauge).
  double connections() {
    for (const auto& fam : registry.Collect()) {
      if (fam.name == "http_connections_active" && !fam.metric.empty()) {
        return fam.metric.front().gauge.value;
      }
    }
    return -1;
  }

  prometheus::Registry registry;
  std::mutex m;
  std::vector<wfe::api::responder> parked;
  std::vector<wfe::api::responder> together;
  std::unique_ptr<wfe::api::http_server> server;
};

task_update run_http(task_fixture& f, const json::value& input) {
  f.submit("wf-http", "http", input);
  return f.next_result();
}

}  // namespace

TEST_CASE("http: 200 with a JSON body completes with status and parsed body") {
  target_server t;
  task_fixture f;
  f.start({});
  auto u = run_http(f, {{"url", t.url("/ok")}});
  REQUIRE(u.what == kind::completed);
  CHECK(u.output == json::parse(R"({"status":200,"body":{"a":1}})"));
  auto e = run_http(f, {{"url", t.url("/echo")}, {"method", "POST"}, {"body", "hello"}});
  REQUIRE(e.what == kind::completed);
  CHECK(e.output.at("body") == "POST hello");
}

TEST_CASE("http: 5xx and 4xx fail with their error types") {
  target_server t;
  task_fixture f;
  f.start({});
  auto five = run_http(f, {{"url", t.url("/boom")}});
  CHECK(five.what == kind::failed);
  CHECK(five.error_type == "http_5xx");
  auto four = run_http(f, {{"url", t.url("/nothing-here")}});
  CHECK(four.what == kind::failed);
  CHECK(four.error_type == "http_4xx");
}

TEST_CASE("http: a failure keeps the first max-failure-body-size bytes of a long body") {
  target_server t;
  task_fixture f;
  task_settings s;
  s.http_max_failure_body_bytes = 100;
  f.start(s);
  auto u = run_http(f, {{"url", t.url("/big-error")}});
  REQUIRE(u.what == kind::failed);
  CHECK(u.error_type == "http_5xx");
  CHECK(u.output.at("body") == json::value("\"" + std::string(99, 'e')));
  CHECK(u.output.at("bodyTruncated") == true);
  CHECK(u.output.at("bodyBytes") == 5002);
  auto ok = run_http(f, {{"url", t.url("/big")}});  // a success keeps its whole body
  REQUIRE(ok.what == kind::completed);
  CHECK(ok.output.at("body").as_string().size() == 5000);
}

TEST_CASE("http: a server that does not answer in timeoutMs fails as http_timeout") {
  target_server t;
  task_fixture f;
  f.start({});
  auto u = run_http(f, {{"url", t.url("/slow")}, {"timeoutMs", 200}});
  CHECK(u.what == kind::failed);
  CHECK(u.error_type == "http_timeout");
}

TEST_CASE("http: a step timeout shorter than timeoutMs ends the request a grace period after it") {
  // The entity fails the attempt at its step timeout; the request must not hold a
  // worker slot for its own 60 s after that (each retry would take another slot).
  target_server t;
  task_fixture f;
  f.start({});
  f.submit("wf-http", "http", {{"url", t.url("/slow")}, {"timeoutMs", 60'000}},
           task_priority::normal, 1, 100);
  auto u = f.next_result();  // within k_wait (10 s), far below 60 s
  CHECK(u.what == kind::failed);
  CHECK(u.error_type == "http_timeout");
}

TEST_CASE("http: a body over the cap fails, refused connections and bad URLs fail clearly") {
  target_server t;
  task_fixture f;
  task_settings s;
  s.http_max_response_bytes = 1000;
  f.start(s);
  auto big = run_http(f, {{"url", t.url("/big")}});
  CHECK(big.what == kind::failed);
  CHECK(big.error_type == "http_response_too_large");
  // A port nobody listens on (the server's, after it stopped, would race: use port 1).
  auto refused = run_http(f, {{"url", "http://127.0.0.1:1/"}});
  CHECK(refused.what == kind::failed);
  CHECK(refused.error_type == "http_error");
  auto ftp = run_http(f, {{"url", "ftp://127.0.0.1/"}});
  CHECK(ftp.what == kind::failed);
  CHECK(ftp.error_type == "invalid_input");
  auto bad = run_http(f, {{"url", "::not a url::"}});
  CHECK(bad.error_type == "invalid_input");
}

TEST_CASE("http redirects: relative Locations are followed, 303 and 301/302 of a POST turn GET") {
  target_server t;
  task_fixture f;
  f.start({});
  auto moved = run_http(f, {{"url", t.url("/to-ok")}});
  REQUIRE(moved.what == kind::completed);
  CHECK(moved.output == json::parse(R"({"status":200,"body":{"a":1}})"));
  auto see = run_http(f, {{"url", t.url("/see-other")}, {"method", "POST"}, {"body", "x"}});
  REQUIRE(see.what == kind::completed);
  CHECK(see.output.at("body") == "GET ");  // body dropped
  auto found = run_http(f, {{"url", t.url("/found")}, {"method", "POST"}, {"body", "x"}});
  CHECK(found.output.at("body") == "GET ");
  auto put = run_http(f, {{"url", t.url("/found")}, {"method", "PUT"}, {"body", "x"}});
  CHECK(put.output.at("body") == "PUT x");  // 302 keeps other methods and their body
  auto temp = run_http(f, {{"url", t.url("/temporary")}, {"method", "POST"}, {"body", "x"}});
  CHECK(temp.output.at("body") == "POST x");  // 307 keeps method and body
  // Opting out, or a 3xx without Location: the 3xx completes the task.
  auto off = run_http(f, {{"url", t.url("/to-ok")}, {"followRedirects", false}});
  REQUIRE(off.what == kind::completed);
  CHECK(off.output.at("status") == 301);
  auto bare = run_http(f, {{"url", t.url("/no-location")}});
  REQUIRE(bare.what == kind::completed);
  CHECK(bare.output.at("status") == 302);
  auto bad = run_http(f, {{"url", t.url("/to-ok")}, {"followRedirects", "yes"}});
  CHECK(bad.error_type == "invalid_input");
}

TEST_CASE("http redirects: across servers, bounded, and never to another scheme than http(s)") {
  target_server t;
  target_server other;
  task_fixture f;
  task_settings s;
  s.http_max_redirects = 3;
  f.start(s);
  // An absolute Location on another server.
  {
    wfe::api::router r;
    r.add("GET", "/away", redirect(308, other.url("/ok")));
    prometheus::Registry reg;
    auto hop = start_local_server(std::move(r), reg);
    auto u = run_http(f, {{"url", "http://127.0.0.1:" + std::to_string(hop->bound_port()) +
                                      "/away"}});
    REQUIRE(u.what == kind::completed);
    CHECK(u.output == json::parse(R"({"status":200,"body":{"a":1}})"));
    hop->stop(std::chrono::steady_clock::now() + 2s);
  }
  auto loop = run_http(f, {{"url", t.url("/loop")}});
  CHECK(loop.what == kind::failed);
  CHECK(loop.error_type == "http_too_many_redirects");
  CHECK(loop.message.find("max-redirects") != std::string::npos);
  auto ftp = run_http(f, {{"url", t.url("/to-ftp")}});
  CHECK(ftp.what == kind::failed);
  CHECK(ftp.error_type == "http_error");
  CHECK(ftp.message.find("ftp://127.0.0.1/x") != std::string::npos);
}

TEST_CASE("http redirects: max-redirects 0 follows none") {
  target_server t;
  task_fixture f;
  task_settings s;
  s.http_max_redirects = 0;
  f.start(s);
  auto u = run_http(f, {{"url", t.url("/to-ok")}});
  REQUIRE(u.what == kind::completed);
  CHECK(u.output.at("status") == 301);
}

TEST_CASE("http headers: sent as given, Content-Type and User-Agent replace the defaults") {
  target_server t;
  task_fixture f;
  f.start({});
  auto u = run_http(f, {{"url", t.url("/headers")},
                        {"headers", {{"X-Token", "abc def"},
                                     {"Authorization", "Bearer s3cr3t"},
                                     {"Content-Type", "application/vnd.x+json"},
                                     {"User-Agent", "billing/2"}}}});
  REQUIRE(u.what == kind::completed);
  CHECK(u.output.at("body") == json::parse(R"({"x-token":"abc def","authorization":"Bearer s3cr3t",
      "cookie":null,"content-type":"application/vnd.x+json","user-agent":"billing/2"})"));
}

TEST_CASE("http headers: reserved names, bad names or values and oversize sets are refused") {
  task_fixture f;
  task_settings s;
  s.http_max_request_headers_bytes = 32;
  f.start(s);
  const std::string url = "http://127.0.0.1:1/";
  auto refused = [&](json::object headers, const std::string& expect) {
    auto u = run_http(f, {{"url", url}, {"headers", std::move(headers)}});
    CHECK(u.what == kind::failed);
    CHECK(u.error_type == "invalid_input");
    CHECK_MESSAGE(u.message.find(expect) != std::string::npos, u.message);
  };
  refused({{"Content-Length", "5"}}, "Content-Length");
  refused({{"transfer-encoding", "chunked"}}, "transfer-encoding");
  refused({{"Host", "evil"}}, "Host");
  refused({{"bad name", "x"}}, "bad name");
  refused({{"X-Split", "a\r\nInjected: 1"}}, "control character");
  refused({{"X-Number", 7}}, "must be a string");
  refused({{"X-Long", std::string(40, 'v')}}, "max-request-headers-size");
  auto not_object = run_http(f, {{"url", url}, {"headers", json::array{"a"}}});
  CHECK(not_object.error_type == "invalid_input");
}

TEST_CASE("http headers: the response's are in the result when responseHeaders is true") {
  target_server t;
  task_fixture f;
  f.start({});
  auto plain = run_http(f, {{"url", t.url("/answers-headers")}});
  REQUIRE(plain.what == kind::completed);
  CHECK_FALSE(plain.output.as_object().contains("headers"));  // not asked for
  auto u = run_http(f, {{"url", t.url("/answers-headers")}, {"responseHeaders", true}});
  REQUIRE(u.what == kind::completed);
  CHECK(u.output.at("status") == 201);
  const auto& h = u.output.at("headers").as_object();
  CHECK(h.at("location") == "/things/7");  // names in lower case
  CHECK(h.at("x-multi") == "1, 2");        // a repeated header joined
  CHECK(h.at("content-type").as_string().starts_with("application/json"));
  auto failed = run_http(f, {{"url", t.url("/boom")}, {"responseHeaders", true}});
  CHECK(failed.what == kind::failed);
  CHECK(failed.output.at("status") == 500);
  CHECK(failed.output.as_object().contains("headers"));
  auto bad = run_http(f, {{"url", t.url("/ok")}, {"responseHeaders", "yes"}});
  CHECK(bad.what == kind::failed);
  CHECK(bad.error_type == "invalid_input");
}

TEST_CASE("http headers: credentials follow a redirect only to the same origin") {
  target_server t;
  target_server other;
  task_fixture f;
  f.start({});
  const json::object creds{{"Authorization", "Bearer s3cr3t"}, {"Cookie", "k=v"}, {"X-Token", "t"}};
  auto same = run_http(f, {{"url", t.url("/to-headers")}, {"headers", creds}});
  REQUIRE(same.what == kind::completed);
  CHECK(same.output.at("body").at("authorization") == "Bearer s3cr3t");
  CHECK(same.output.at("body").at("cookie") == "k=v");
  wfe::api::router r;
  r.add("GET", "/away", redirect(307, other.url("/headers")));
  prometheus::Registry reg;
  auto hop = start_local_server(std::move(r), reg);
  auto across = run_http(
      f, {{"url", "http://127.0.0.1:" + std::to_string(hop->bound_port()) + "/away"},
          {"headers", creds}});
  REQUIRE(across.what == kind::completed);
  CHECK(across.output.at("body").at("authorization").is_null());
  CHECK(across.output.at("body").at("cookie").is_null());
  CHECK(across.output.at("body").at("x-token") == "t");
  hop->stop(std::chrono::steady_clock::now() + 2s);
}

// -- keep-alive connections ----------------------------------------------------------

TEST_CASE("http keep-alive: sequential requests to one server share one connection") {
  target_server t;
  task_fixture f;
  f.start({});
  for (int i = 0; i < 3; ++i) {
    auto u = run_http(f, {{"url", t.url(i == 1 ? "/to-ok" : "/ok")}});
    REQUIRE(u.what == kind::completed);
  }
  // Four requests (one redirect), one connection: without reuse there would be four
  // (each kept in the pool) or, closed, none.
  CHECK(t.connections() == 1);
}

TEST_CASE("http keep-alive: the pool keeps at most max-idle-per-host and max-idle") {
  for (auto [per_host, total, kept] : {std::tuple{2U, 256U, 2.0}, std::tuple{8U, 1U, 1.0}}) {
    CAPTURE(per_host);
    CAPTURE(total);
    target_server t;
    task_fixture f;
    task_settings s;
    s.http_pool_max_idle_per_host = per_host;
    s.http_pool_max_idle = total;
    f.start(s);
    // Three requests in flight at once (the server answers when all three arrived):
    // three connections, of which the pool keeps `kept`.
    for (int i = 0; i < 3; ++i) f.submit("wf-" + std::to_string(i), "http", {{"url", t.url("/together")}});
    for (int i = 0; i < 3; ++i) REQUIRE(f.next_result().what == kind::completed);
    CHECK(eventually([&] { return t.connections() == kept; }));
    CHECK(t.connections() == kept);
  }
}

TEST_CASE("http keep-alive: an idle connection is closed after pool.idle-timeout") {
  target_server t;
  task_fixture f;
  task_settings s;
  s.http_pool_idle_timeout = 200ms;
  f.start(s);
  REQUIRE(run_http(f, {{"url", t.url("/ok")}}).what == kind::completed);
  CHECK(t.connections() == 1);
  CHECK(eventually([&] { return t.connections() == 0; }));
}

TEST_CASE("http keep-alive: a server's Keep-Alive timeout shortens the idle time") {
  target_server t;
  task_fixture f;
  task_settings s;
  s.http_pool_idle_timeout = std::chrono::minutes(1);
  f.start(s);
  REQUIRE(run_http(f, {{"url", t.url("/ok")}}).what == kind::completed);
  CHECK(t.connections() == 1);  // kept: the pool's minute
  REQUIRE(run_http(f, {{"url", t.url("/short-keep-alive")}}).what == kind::completed);
  // timeout=1 leaves no time after the margin: closed instead of kept for a minute.
  CHECK(eventually([&] { return t.connections() == 0; }));
}

TEST_CASE("http keep-alive: max-idle-per-host 0 sends Connection: close and keeps nothing") {
  target_server t;
  task_fixture f;
  task_settings s;
  s.http_pool_max_idle_per_host = 0;
  f.start(s);
  for (int i = 0; i < 3; ++i) REQUIRE(run_http(f, {{"url", t.url("/ok")}}).what == kind::completed);
  CHECK(eventually([&] { return t.connections() == 0; }));
}

TEST_CASE("http keep-alive: a connection the server closed while idle is not reused") {
  wfe::api::http_limits limits;
  limits.idle_timeout = 100ms;  // the server closes before the pool would
  target_server t(limits);
  task_fixture f;
  f.start({});
  REQUIRE(run_http(f, {{"url", t.url("/ok")}}).what == kind::completed);
  REQUIRE(eventually([&] { return t.connections() == 0; }));
  auto u = run_http(f, {{"url", t.url("/echo")}, {"method", "POST"}, {"body", "again"}});
  REQUIRE(u.what == kind::completed);  // a POST: it could not have been retried
  CHECK(u.output.at("body") == "POST again");
}

namespace {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;

// A plain HTTP/1.1 server on raw Asio, for connections a well-behaved server never
// leaves in this state. `drop_second`: answers the first request of every connection
// 200 (keep-alive) and drops the connection, unanswered, when the second arrives: what
// a client sees when a server closes an idle connection just as the request is sent.
// `trailing_junk`: answers every request 200 (keep-alive) followed by bytes that belong
// to no response. `silent`: reads a request, never answers, and counts the connections
// the client closed.
class raw_server {
 public:
  enum class mode : std::uint8_t { drop_second, trailing_junk, silent };
  explicit raw_server(mode m) : mode_(m), acceptor_(io_, {net::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~raw_server() {
    io_.stop();
    thread_.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/x";
  }
  int accepted() const { return accepted_.load(); }
  int dropped() const { return dropped_.load(); }
  int unanswered() const { return unanswered_.load(); }  // requests read in `silent` mode
  int closed_by_client() const { return closed_.load(); }

 private:
  using tcp = net::ip::tcp;
  struct conn {
    explicit conn(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    boost::beast::flat_buffer buffer;
    bhttp::request<bhttp::string_body> req;
    int answered = 0;
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      ++accepted_;
      serve(std::make_shared<conn>(std::move(s)));
      accept();
    });
  }

  void serve(const std::shared_ptr<conn>& c) {
    c->req = {};
    bhttp::async_read(c->socket, c->buffer, c->req, [this, c](boost::system::error_code rec,
                                                            std::size_t) {
      if (rec) return;
      if (mode_ == mode::silent) {
        ++unanswered_;
        static char byte = 0;
        c->socket.async_read_some(net::buffer(&byte, 1),
                                  [this, c](boost::system::error_code ec, std::size_t) {
                                    if (ec) ++closed_;
                                  });
        return;
      }
      if (mode_ == mode::drop_second && c->answered == 1) {
        ++dropped_;
        boost::system::error_code ignored;
        c->socket.close(ignored);
        return;
      }
      ++c->answered;
      // One write, so the junk arrives with the response.
      static constexpr std::string_view ok =
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n"
          "{\"first\":true}";
      static constexpr std::string_view with_junk =
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n"
          "{\"first\":true}junk";
      const auto& out = mode_ == mode::trailing_junk ? with_junk : ok;
      net::async_write(c->socket, net::buffer(out.data(), out.size()),
                       [this, c](boost::system::error_code wec, std::size_t) {
                         if (!wec) serve(c);
                       });
    });
  }

  mode mode_;
  net::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<int> accepted_{0};
  std::atomic<int> dropped_{0};
  std::atomic<int> unanswered_{0};
  std::atomic<int> closed_{0};
  std::thread thread_;
};

}  // namespace

TEST_CASE("http: an abandoned request closes its connection and gives its slot back") {
  // Before, a cancelled workflow's request ran to its own end (here 60 s), holding a
  // worker slot and the server's connection all along.
  raw_server server(raw_server::mode::silent);
  task_fixture f;
  f.handlers->register_handler(
      "quick", [](const json::value&, const task_context&) { return task_result::success(); });
  task_settings s;
  s.max_workers = 1;
  f.start(s);
  f.submit("wf-http", "http", {{"url", server.url()}, {"timeoutMs", 60'000}});
  auto started = f.next();
  CHECK(started.what == kind::started);
  REQUIRE(eventually([&] { return server.unanswered() == 1; }));
  caf::anon_send(f.dispatcher, task_abandon{"wf-http", "s", 1});
  REQUIRE(eventually([&] { return server.closed_by_client() == 1; }));  // the server saw it go
  f.submit("wf-quick", "quick");  // runs once the request gave its slot back
  auto u = f.next_result();
  CHECK(u.workflow_id == "wf-quick");  // no answer for wf-http before it
  CHECK(u.what == kind::completed);
  CHECK_FALSE(f.try_next(100ms));
}

TEST_CASE("http keep-alive: a reused connection dropped unanswered is retried unless POST") {
  raw_server d(raw_server::mode::drop_second);
  task_fixture f;
  f.start({});
  REQUIRE(run_http(f, {{"url", d.url()}}).what == kind::completed);
  // A GET on the pooled connection is dropped, then sent again on a new connection.
  auto get = run_http(f, {{"url", d.url()}});
  REQUIRE(get.what == kind::completed);
  CHECK(get.output == json::parse(R"({"status":200,"body":{"first":true}})"));
  CHECK(d.accepted() == 2);
  CHECK(d.dropped() == 1);
  // A POST may have been processed: it fails (its step's retry policy decides).
  auto post = run_http(f, {{"url", d.url()}, {"method", "POST"}, {"body", "x"}});
  CHECK(post.what == kind::failed);
  CHECK(post.error_type == "http_error");
  CHECK(d.accepted() == 2);
  CHECK(d.dropped() == 2);
}

TEST_CASE("http keep-alive: a connection with bytes beyond the response is not reused") {
  raw_server junk(raw_server::mode::trailing_junk);
  task_fixture f;
  f.start({});
  for (int i = 0; i < 2; ++i) {
    auto u = run_http(f, {{"url", junk.url()}});
    REQUIRE(u.what == kind::completed);
    CHECK(u.output == json::parse(R"({"status":200,"body":{"first":true}})"));
  }
  CHECK(junk.accepted() == 2);
}

namespace {

namespace ssl = boost::asio::ssl;

// A TLS server on `address` whose certificate (tests/data/tls/server.pem, for the IP
// address 127.0.0.1 only) is signed by the test CA tests/data/tls/ca.pem. Answers every
// request (keep-alive) 200 {"tls":true}, or 302 to `location` when one is given. With
// `client_ca`, a client must present a certificate of that CA.
class tls_target {
 public:
  explicit tls_target(const std::string& address = "127.0.0.1", std::string location = {},
                      const std::string& client_ca = {})
      : acceptor_(io_, {net::ip::make_address(address), 0}), location_(std::move(location)) {
    ctx_.use_certificate_chain_file(std::string(WFE_SOURCE_DIR) + "/tests/data/tls/server.pem");
    ctx_.use_private_key_file(std::string(WFE_SOURCE_DIR) + "/tests/data/tls/server.key",
                              ssl::context::pem);
    if (!client_ca.empty()) {
      ctx_.load_verify_file(client_ca);
      ctx_.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~tls_target() {
    io_.stop();
    thread_.join();
  }
  std::string url() const {
    const auto ep = acceptor_.local_endpoint();
    return "https://" + ep.address().to_string() + ":" + std::to_string(ep.port()) + "/x";
  }
  int handshakes_ok() const { return ok_.load(); }
  int requests() const { return requests_.load(); }

 private:
  using tcp = net::ip::tcp;
  using stream = ssl::stream<tcp::socket>;

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      auto st = std::make_shared<stream>(std::move(s), ctx_);
      st->async_handshake(ssl::stream_base::server, [this, st](boost::system::error_code hec) {
        if (hec) return;  // the client refused the certificate
        ++ok_;
        serve(st, std::make_shared<boost::beast::flat_buffer>());
      });
      accept();
    });
  }

  // Answers the connection's requests one after the other (keep-alive).
  void serve(const std::shared_ptr<stream>& st,
             const std::shared_ptr<boost::beast::flat_buffer>& buf) {
    auto req = std::make_shared<bhttp::request<bhttp::string_body>>();
    bhttp::async_read(*st, *buf, *req, [this, st, buf, req](boost::system::error_code rec,
                                                            std::size_t) {
      if (rec) return;
      ++requests_;
      auto res = std::make_shared<bhttp::response<bhttp::string_body>>(bhttp::status::ok, 11);
      if (!location_.empty()) {
        res->result(bhttp::status::found);
        res->set(bhttp::field::location, location_);
      }
      res->set(bhttp::field::content_type, "application/json");
      res->body() = R"({"tls":true})";
      res->prepare_payload();
      bhttp::async_write(*st, *res, [this, st, buf, res](boost::system::error_code wec,
                                                         std::size_t) {
        if (!wec) serve(st, buf);
      });
    });
  }

  net::io_context io_;
  ssl::context ctx_{ssl::context::tls_server};
  tcp::acceptor acceptor_;
  std::string location_;
  std::atomic<int> ok_{0};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

}  // namespace

TEST_CASE("http over TLS: a certificate of a trusted CA for the host completes") {
  tls_target t;
  task_fixture f;
  task_settings s;
  s.http_ca_file = std::string(WFE_SOURCE_DIR) + "/tests/data/tls/ca.pem";
  f.start(s);
  auto u = run_http(f, {{"url", t.url()}});
  REQUIRE(u.what == kind::completed);
  CHECK(u.output == json::parse(R"({"status":200,"body":{"tls":true}})"));
  CHECK(t.handshakes_ok() == 1);
}

TEST_CASE("http over TLS: sequential requests reuse one connection, one handshake") {
  tls_target t;
  task_fixture f;
  task_settings s;
  s.http_ca_file = std::string(WFE_SOURCE_DIR) + "/tests/data/tls/ca.pem";
  f.start(s);
  for (int i = 0; i < 3; ++i) REQUIRE(run_http(f, {{"url", t.url()}}).what == kind::completed);
  CHECK(t.requests() == 3);
  CHECK(t.handshakes_ok() == 1);
}

TEST_CASE("http over TLS: an untrusted certificate or another host's fails the handshake") {
  tls_target t;
  tls_target other("127.0.0.2");  // serves the certificate for 127.0.0.1
  {
    task_fixture f;
    f.start({});  // the system's CAs only: the test CA is not among them
    auto u = run_http(f, {{"url", t.url()}});
    CHECK(u.what == kind::failed);
    CHECK(u.error_type == "http_error");
    CHECK(u.message.find("TLS handshake") != std::string::npos);
    CHECK(u.message.find("certificate verify failed") != std::string::npos);
  }
  {
    task_fixture f;
    task_settings s;
    s.http_ca_file = std::string(WFE_SOURCE_DIR) + "/tests/data/tls/ca.pem";
    f.start(s);
    // Trusted CA, but the certificate names 127.0.0.1, not 127.0.0.2.
    auto u = run_http(f, {{"url", other.url()}});
    CHECK(u.what == kind::failed);
    CHECK(u.error_type == "http_error");
    CHECK(u.message.find("TLS handshake") != std::string::npos);
  }
  CHECK(t.handshakes_ok() == 0);
  CHECK(other.handshakes_ok() == 0);
}

TEST_CASE("http over TLS: a ca-file that holds no certificate fails the task, naming it") {
  wfe::test::temp_dir dir;
  const auto bogus = (dir.path() / "not-a-ca.pem").string();
  { std::ofstream(bogus) << "not a certificate\n"; }
  task_fixture f;
  task_settings s;
  s.http_ca_file = bogus;
  f.start(s);
  auto u = run_http(f, {{"url", "https://127.0.0.1:1/"}});
  CHECK(u.what == kind::failed);
  CHECK(u.error_type == "http_error");
  CHECK(u.message.find(bogus) != std::string::npos);
}

TEST_CASE("http over TLS: a redirect from https:// to http:// is refused") {
  target_server plain;
  tls_target t("127.0.0.1", plain.url("/ok"));
  task_fixture f;
  task_settings s;
  s.http_ca_file = std::string(WFE_SOURCE_DIR) + "/tests/data/tls/ca.pem";
  f.start(s);
  auto u = run_http(f, {{"url", t.url()}});
  CHECK(u.what == kind::failed);
  CHECK(u.error_type == "http_redirect_refused");
  CHECK(u.message.find(plain.url("/ok")) != std::string::npos);
}

TEST_CASE("http over TLS: a server requiring a client certificate gets the configured one") {
  const std::string dir = std::string(WFE_SOURCE_DIR) + "/tests/data/tls/";
  tls_target t("127.0.0.1", {}, dir + "client-ca.pem");
  {
    task_fixture f;
    task_settings s;
    s.http_ca_file = dir + "ca.pem";
    f.start(s);
    auto u = run_http(f, {{"url", t.url()}});  // no client certificate configured
    CHECK(u.what == kind::failed);
    CHECK(u.error_type == "http_error");
  }
  CHECK(t.handshakes_ok() == 0);
  task_fixture f;
  task_settings s;
  s.http_ca_file = dir + "ca.pem";
  s.http_client_cert_file = dir + "client.pem";
  s.http_client_key_file = dir + "client.key";
  f.start(s);
  auto u = run_http(f, {{"url", t.url()}});
  REQUIRE(u.what == kind::completed);
  CHECK(u.output == json::parse(R"({"status":200,"body":{"tls":true}})"));
  CHECK(t.handshakes_ok() == 1);
}

TEST_CASE("http over TLS: a client key that is not PEM fails the task, naming it") {
  wfe::test::temp_dir tmp;
  const auto bogus = (tmp.path() / "client.key").string();
  { std::ofstream(bogus) << "not a key\n"; }
  task_fixture f;
  task_settings s;
  s.http_client_cert_file = std::string(WFE_SOURCE_DIR) + "/tests/data/tls/client.pem";
  s.http_client_key_file = bogus;
  f.start(s);
  auto u = run_http(f, {{"url", "https://127.0.0.1:1/"}});
  CHECK(u.what == kind::failed);
  CHECK(u.error_type == "http_error");
  CHECK(u.message.find(bogus) != std::string::npos);
}
