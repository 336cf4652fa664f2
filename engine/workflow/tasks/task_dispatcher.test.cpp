#include "engine/workflow/tasks/task_dispatcher.hpp"

#include <atomic>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "api/http/http_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "engine/workflow/tasks/task_test_fixture.hpp"

using namespace wfe::workflow;
using namespace wfe::workflow::test;
namespace json = boost::json;

namespace {

// Waits (bounded) until `pred` holds; no timing assertion, only a liveness bound.
template <class Pred>
bool eventually(Pred pred) {
  for (auto end = std::chrono::steady_clock::now() + k_wait; std::chrono::steady_clock::now() < end;
       std::this_thread::sleep_for(5ms)) {
    if (pred()) return true;
  }
  return pred();
}

}  // namespace

TEST_CASE("noop: completed with {} at once, its start reported with the result") {
  task_fixture f;
  f.start({});
  f.submit("wf-1", "noop");
  auto c = f.next();
  CHECK(c.what == kind::completed);
  CHECK(c.workflow_id == "wf-1");
  CHECK(c.step == "s");
  CHECK(c.attempt == 1);
  CHECK(c.started);  // no separate `started`: one journal write for both
  CHECK(c.output == json::object{});
}

TEST_CASE("sleep: its start is reported before it finishes, not again with the result") {
  task_fixture f;
  f.start({});
  f.submit("wf-1", "sleep", json::object{{"ms", 20}});
  auto s = f.next();
  CHECK(s.what == kind::started);
  CHECK(s.workflow_id == "wf-1");
  auto c = f.next();
  CHECK(c.what == kind::completed);
  CHECK_FALSE(c.started);
}

TEST_CASE("fail {times:2}: attempts 1 and 2 fail with error type fail, attempt 3 completes") {
  task_fixture f;
  f.start({});
  for (std::uint32_t attempt = 1; attempt <= 3; ++attempt) {
    f.submit("wf", "fail", json::parse(R"({"times":2})"), task_priority::normal, attempt);
    auto u = f.next_result();
    CHECK(u.attempt == attempt);
    if (attempt <= 2) {
      CHECK(u.what == kind::failed);
      CHECK(u.error_type == "fail");
    } else {
      CHECK(u.what == kind::completed);
    }
  }
}

TEST_CASE("sleep completes after its timer, bad input fails as invalid_input") {
  task_fixture f;
  f.start({});
  f.submit("wf-sleep", "sleep", json::parse(R"({"ms":30})"));
  auto u = f.next_result();
  CHECK(u.what == kind::completed);
  CHECK(u.workflow_id == "wf-sleep");
  f.submit("wf-bad", "sleep", json::parse(R"({"ms":"soon"})"));
  auto bad = f.next_result();
  CHECK(bad.what == kind::failed);
  CHECK(bad.error_type == "invalid_input");
}

TEST_CASE("an unknown task type fails at once without starting") {
  task_fixture f;
  f.start({});
  f.submit("wf", "teleport");
  auto u = f.next();
  CHECK(u.what == kind::failed);
  CHECK(u.error_type == "unknown_task");
  f.submit("wf", "queue:bad name");
  auto q = f.next();
  CHECK(q.what == kind::failed);
  CHECK(q.error_type == "invalid_input");
}

TEST_CASE("C++ handlers: output, context, failures and exceptions") {
  task_fixture f;
  f.handlers->register_handler("charge", [](const json::value& in, const task_context& ctx) {
    return task_result::success(json::object{
        {"amount", in.at("amount")}, {"attempt", ctx.attempt}, {"workflow", ctx.workflow_id}});
  });
  f.handlers->register_handler("decline", [](const json::value&, const task_context&) {
    return task_result::failure("card_declined", "no money");
  });
  f.handlers->register_handler("explode",
                               [](const json::value&, const task_context&) -> task_result {
                                 throw std::runtime_error("kaboom");
                               });
  f.start({});
  f.submit("wf-c", "charge", json::parse(R"({"amount":5})"), task_priority::high, 4);
  auto ok = f.next_result();
  CHECK(ok.what == kind::completed);
  CHECK(ok.output == json::parse(R"({"amount":5,"attempt":4,"workflow":"wf-c"})"));
  f.submit("wf-d", "decline");
  auto no = f.next_result();
  CHECK(no.what == kind::failed);
  CHECK(no.error_type == "card_declined");
  CHECK(no.message == "no money");
  f.submit("wf-e", "explode");
  auto ex = f.next_result();
  CHECK(ex.what == kind::failed);
  CHECK(ex.error_type == "handler_exception");
  CHECK(ex.message == "kaboom");
}

TEST_CASE("dispatch order is high > normal > low, weighted 4:2:1, low not starved") {
  task_fixture f;
  gate g;
  std::mutex m;
  std::string order;
  register_gate(*f.handlers, g);
  f.handlers->register_handler("record", [&](const json::value&, const task_context& ctx) {
    std::lock_guard lock(m);
    order += ctx.workflow_id;
    return task_result::success();
  });
  task_settings s;
  s.max_workers = 1;  // one at a time: the execution order is the dispatch order
  f.start(s);
  f.submit("gate", "gate", {}, task_priority::high);  // holds the only worker
  for (int i = 0; i < 8; ++i) f.submit("L", "record", {}, task_priority::low);
  for (int i = 0; i < 8; ++i) f.submit("H", "record", {}, task_priority::high);
  for (int i = 0; i < 4; ++i) f.submit("N", "record", {}, task_priority::normal);
  REQUIRE(eventually([&] { return f.load->local_queued == 20; }));
  g.open();
  int done = 0;
  while (done < 21) done += f.next_result().what == kind::completed ? 1 : 0;
  // The gate used one high credit of the first round (4 H, 2 N, 1 L per round).
  CHECK(order == "HHHNNLHHHHNNLHLLLLLL");
}

TEST_CASE("at most max-workers local tasks execute at once") {
  task_fixture f;
  gate g;
  std::atomic<int> current{0};
  std::atomic<int> peak{0};
  f.handlers->register_handler("busy", [&](const json::value&, const task_context&) {
    int now = ++current;
    for (int p = peak; now > p && !peak.compare_exchange_weak(p, now);) {
    }
    g.wait();
    --current;
    return task_result::success();
  });
  task_settings s;
  s.max_workers = 3;
  f.start(s);
  for (int i = 0; i < 12; ++i) f.submit("wf-" + std::to_string(i), "busy");
  REQUIRE(eventually([&] { return current == 3; }));
  // Give a broken bound the chance to start a fourth.
  std::this_thread::sleep_for(100ms);
  CHECK(current == 3);
  CHECK(f.load->running == 3);
  CHECK(f.load->local_queued == 9);
  CHECK(f.load->local_capacity == 3 * s.max_queued);
  g.open();
  int done = 0;
  while (done < 12) done += f.next_result().what == kind::completed ? 1 : 0;
  CHECK(peak == 3);
  CHECK(eventually([&] { return f.load->running == 0 && f.load->queued == 0; }));
}

TEST_CASE("with parking off (max-parked 0), a full priority queue answers rejected") {
  task_fixture f;
  gate g;
  register_gate(*f.handlers, g);
  task_settings s;
  s.max_workers = 1;
  s.max_queued = 2;
  s.max_parked = 0;
  f.start(s);
  f.submit("gate", "gate");
  CHECK(f.next().what == kind::started);
  f.submit("n1", "noop");
  f.submit("n2", "noop");
  f.submit("n3", "noop");
  auto r = f.next();
  CHECK(r.what == kind::rejected);
  CHECK(r.workflow_id == "n3");
  CHECK(r.message.find("normal priority queue") != std::string::npos);
  CHECK(r.message.find("parking lot") == std::string::npos);
  f.submit("l1", "noop", {}, task_priority::low);
  // External queues are bounded the same way.
  f.submit("q1", "queue:jobs");
  f.submit("q2", "queue:jobs");
  f.submit("q3", "queue:jobs");
  auto rq = f.next();
  CHECK(rq.what == kind::rejected);
  CHECK(rq.workflow_id == "q3");
  g.open();
  std::vector<std::string> completed;
  while (completed.size() < 4) {
    auto u = f.next();
    CHECK(u.what != kind::rejected);
    if (u.what == kind::completed) completed.push_back(u.workflow_id);
  }
  // gate took a normal credit: n1 uses the last one, then low, then a new round.
  CHECK(completed == std::vector<std::string>{"gate", "n1", "l1", "n2"});
}

// -- the http built-in against a real Beast server on 127.0.0.1 --------------------

namespace {

struct target_server {
  target_server() {
    wfe::api::router r;
    r.add("GET", "/ok", [](wfe::api::http_request&&, wfe::api::responder respond) {
      respond(wfe::api::http_response::json(200, R"({"a":1})"));
    });
    r.add("POST", "/echo", [](wfe::api::http_request&& req, wfe::api::responder respond) {
      wfe::api::http_response res;
      res.content_type = "text/plain";
      res.body = req.method + " " + req.body;
      respond(std::move(res));
    });
    r.add("GET", "/boom", [](wfe::api::http_request&&, wfe::api::responder respond) {
      respond(wfe::api::http_response::error(500, "boom", "server error"));
    });
    r.add("GET", "/big", [](wfe::api::http_request&&, wfe::api::responder respond) {
      respond(wfe::api::http_response::json(200, "\"" + std::string(5000, 'x') + "\""));
    });
    r.add("GET", "/slow", [this](wfe::api::http_request&&, wfe::api::responder respond) {
      std::lock_guard lock(m);
      parked.push_back(std::move(respond));  // answered only at teardown
    });
    server = start_local_server(std::move(r), registry);
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

  prometheus::Registry registry;
  std::mutex m;
  std::vector<wfe::api::responder> parked;
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

TEST_CASE("http: a server that does not answer in timeoutMs fails as http_timeout") {
  target_server t;
  task_fixture f;
  f.start({});
  auto u = run_http(f, {{"url", t.url("/slow")}, {"timeoutMs", 200}});
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

TEST_CASE("metrics: queued, running, totals and task seconds are exported") {
  task_fixture f;
  f.start({});
  f.submit("wf", "noop");
  CHECK(f.next_result().what == kind::completed);
  f.submit("wf", "fail", json::parse(R"({"times":1})"));
  CHECK(f.next_result().what == kind::failed);
  bool total = false;
  bool seconds = false;
  for (const auto& fam : f.registry.Collect()) {
    if (fam.name == "workflow_tasks_total") {
      for (const auto& m : fam.metric) {
        if (m.label.size() == 2 && m.label[0].value == "failed" && m.label[1].value == "fail")
          total = m.counter.value == 1;
      }
    }
    if (fam.name == "workflow_task_seconds") seconds = fam.metric.at(0).histogram.sample_count == 2;
  }
  CHECK(total);
  CHECK(seconds);
}

namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace bhttp = boost::beast::http;

// A TLS server on `address` whose certificate (tests/data/tls/server.pem, for the IP
// address 127.0.0.1 only) is signed by the test CA tests/data/tls/ca.pem. Answers every
// request 200 {"tls":true}.
class tls_target {
 public:
  explicit tls_target(const std::string& address = "127.0.0.1")
      : acceptor_(io_, {net::ip::make_address(address), 0}) {
    ctx_.use_certificate_chain_file(std::string(WFE_SOURCE_DIR) + "/tests/data/tls/server.pem");
    ctx_.use_private_key_file(std::string(WFE_SOURCE_DIR) + "/tests/data/tls/server.key",
                              ssl::context::pem);
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
        auto buf = std::make_shared<boost::beast::flat_buffer>();
        auto req = std::make_shared<bhttp::request<bhttp::string_body>>();
        bhttp::async_read(*st, *buf, *req, [st, buf, req](boost::system::error_code rec, std::size_t) {
          if (rec) return;
          auto res = std::make_shared<bhttp::response<bhttp::string_body>>(bhttp::status::ok, 11);
          res->set(bhttp::field::content_type, "application/json");
          res->body() = R"({"tls":true})";
          res->prepare_payload();
          bhttp::async_write(*st, *res, [st, res](boost::system::error_code, std::size_t) {
            boost::system::error_code ignored;
            st->lowest_layer().close(ignored);
          });
        });
      });
      accept();
    });
  }

  net::io_context io_;
  ssl::context ctx_{ssl::context::tls_server};
  tcp::acceptor acceptor_;
  std::atomic<int> ok_{0};
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
