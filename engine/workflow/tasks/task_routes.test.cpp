// The external-worker API over real HTTP: api/task_routes.cpp in front of a real
// dispatcher, served by the node's Beast server on 127.0.0.1.
#include "api/task_routes.hpp"

#include <future>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include "api/http/http_server.hpp"
#include "engine/workflow/tasks/task_test_fixture.hpp"
#include "tests/support/http_client.hpp"

using namespace wfe::workflow;
using namespace wfe::workflow::test;
namespace json = boost::json;

namespace {

class worker_api {
 public:
  explicit worker_api(task_settings s = small()) {
    f.start(s);
    wfe::api::router r;
    gateway = wfe::api::add_task_routes(
        r, {&f.system(), &f.dispatcher, 5s, s.poll_wait_max, s.max_result_bytes});
    server_ = start_local_server(std::move(r), registry);
  }
  ~worker_api() {
    server_->stop(std::chrono::steady_clock::now() + 2s);
    caf::anon_send_exit(gateway, caf::exit_reason::user_shutdown);
    gateway = nullptr;
  }

  static task_settings small() {
    task_settings s;
    s.poll_wait_default = 100ms;
    s.poll_wait_max = 5s;
    s.max_result_bytes = 1024;
    return s;
  }

  wfe::test::http_reply get(const std::string& target) {
    auto r = wfe::test::http_request(server_->bound_port(), "GET", target, "");
    REQUIRE(r);
    return *r;
  }

  wfe::test::http_reply post(const std::string& target, const std::string& body) {
    auto r = wfe::test::http_request(server_->bound_port(), "POST", target, body);
    REQUIRE(r);
    return *r;
  }

  // Polls once; the lease's token on 200.
  json::value poll(const std::string& queue, int wait_ms = 0) {
    auto r = post("/api/v1/tasks/poll", R"({"queue":")" + queue + R"(","workerId":"w1","waitMs":)" +
                                            std::to_string(wait_ms) + "}");
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  }

  // Until `n` polls are parked (workflow_task_pollers); false after a generous bound.
  bool wait_for_pollers(double n) {
    for (int i = 0; i < 2000; ++i, std::this_thread::sleep_for(5ms)) {
      for (const auto& fam : f.registry.Collect()) {
        if (fam.name == "workflow_task_pollers" && fam.metric.at(0).gauge.value == n) return true;
      }
    }
    return false;
  }

  [[nodiscard]] std::uint16_t port() const { return server_->bound_port(); }

  task_fixture f;
  prometheus::Registry registry;
  caf::actor gateway;

 private:
  std::unique_ptr<wfe::api::http_server> server_;
};

std::string error_code(const wfe::test::http_reply& r) {
  return std::string(json::parse(r.body).at("error").at("code").as_string());
}

std::string token_of(const json::value& v) { return std::string(v.at("token").as_string()); }

}  // namespace

TEST_CASE("poll hands out a queued task with every field, complete sends completed once") {
  worker_api api;
  api.f.submit("wf-1", "queue:billing", json::parse(R"({"amount":3})"), task_priority::high, 2);
  auto task = api.poll("billing");
  CHECK(task.at("workflowId") == "wf-1");
  CHECK(task.at("step") == "s");
  CHECK(task.at("attempt") == 2);
  CHECK(task.at("task") == "queue:billing");
  CHECK(task.at("input") == json::parse(R"({"amount":3})"));
  CHECK(task.at("priority") == "high");
  CHECK(task.at("heartbeatTimeoutMs") == 30000);
  CHECK(token_of(task).size() == 32);
  CHECK(api.f.next().what == kind::started);

  auto token = token_of(task);
  auto done = api.post("/api/v1/tasks/" + token + "/complete", R"({"output":{"paid":true}})");
  CHECK(done.status == 200);
  CHECK(json::parse(done.body) == json::parse(R"({"duplicate":false})"));
  auto u = api.f.next();
  CHECK(u.what == kind::completed);
  CHECK(u.workflow_id == "wf-1");
  CHECK(u.attempt == 2);
  CHECK(u.output == json::parse(R"({"paid":true})"));

  auto again = api.post("/api/v1/tasks/" + token + "/complete", R"({"output":1})");
  CHECK(again.status == 200);
  CHECK(json::parse(again.body) == json::parse(R"({"duplicate":true})"));
  auto fail_after = api.post("/api/v1/tasks/" + token + "/fail", R"({"error":"late"})");
  CHECK(json::parse(fail_after.body) == json::parse(R"({"duplicate":true})"));
  // No second update: the next one the sink sees is a later task's.
  api.f.submit("wf-next", "noop");
  auto next = api.f.next();
  CHECK(next.workflow_id == "wf-next");
  CHECK(next.what == kind::completed);  // a noop reports its start with its result
}

TEST_CASE("a result its workflow could not record answers 503 unavailable, and the retry counts") {
  worker_api api;
  api.f.submit("wf-1", "queue:billing");
  auto token = token_of(api.poll("billing"));
  api.f.results->set(recording::mode::refuse);
  auto refused = api.post("/api/v1/tasks/" + token + "/complete", R"({"output":1})");
  CHECK(refused.status == 503);
  CHECK(error_code(refused) == "unavailable");
  CHECK(refused.headers["retry-after"] == "1");
  CHECK(json::parse(refused.body).at("error").at("message").as_string().find("journal refused") !=
        std::string_view::npos);
  CHECK(api.f.next_result().what == kind::completed);
  api.f.results->set(recording::mode::record);
  auto retried = api.post("/api/v1/tasks/" + token + "/complete", R"({"output":1})");
  CHECK(retried.status == 200);
  CHECK(json::parse(retried.body) == json::parse(R"({"duplicate":false})"));
  CHECK(api.f.next_result().what == kind::completed);
}

TEST_CASE("fail sends failed with the worker's error type and nonRetryable") {
  worker_api api;
  api.f.submit("wf-2", "queue:q");
  auto token = token_of(api.poll("q"));
  CHECK(api.f.next().what == kind::started);
  auto r = api.post("/api/v1/tasks/" + token + "/fail",
                    R"({"error":"card declined","errorType":"declined","nonRetryable":true})");
  CHECK(r.status == 200);
  auto u = api.f.next();
  CHECK(u.what == kind::failed);
  CHECK(u.error_type == "declined");
  CHECK(u.message == "card declined");
  CHECK(u.non_retryable);
  CHECK(u.output.is_null());  // no details given
  api.f.submit("wf-4", "queue:q");
  auto t4 = token_of(api.poll("q"));
  CHECK(api.f.next().what == kind::started);
  CHECK(api.post("/api/v1/tasks/" + t4 + "/fail",
                 R"({"error":"declined","details":{"code":51,"why":["limit"]}})")
            .status == 200);
  auto u4 = api.f.next();
  CHECK(u4.what == kind::failed);
  CHECK(u4.output == json::parse(R"({"code":51,"why":["limit"]})"));  // the worker's details
  api.f.submit("wf-3", "queue:q");
  auto t3 = token_of(api.poll("q"));
  CHECK(api.f.next().what == kind::started);
  CHECK(api.post("/api/v1/tasks/" + t3 + "/fail", R"({"error":"x"})").status == 200);
  auto u3 = api.f.next();
  CHECK(u3.error_type == "external");
  CHECK_FALSE(u3.non_retryable);
}

TEST_CASE("GET /api/v1/tasks/queues shows what waits and runs per queue and in the local pool") {
  worker_api api;
  auto report = [&api] {
    auto r = api.get("/api/v1/tasks/queues");
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  };
  const auto zeros = json::parse(R"({"high":0,"normal":0,"low":0})");
  auto empty = report();
  CHECK(empty.at("queues").as_array().empty());
  CHECK(empty.at("local").at("queued") == zeros);
  CHECK(empty.at("local").at("running") == 0);
  CHECK(empty.at("waitingForAQueue") == 0);

  api.f.submit("wf-1", "queue:billing", {}, task_priority::high);
  api.f.submit("wf-2", "queue:billing");
  api.f.submit("wf-3", "queue:billing");
  api.f.submit("wf-4", "queue:audit", {}, task_priority::low);
  REQUIRE(token_of(api.poll("billing")).size() == 32);            // takes wf-1, the high one
  api.f.submit("wf-s", "sleep", json::parse(R"({"ms":20000})"));  // runs locally
  REQUIRE(eventually([&] { return report().at("local").at("running") == 1; }));
  auto r = report();
  const auto& queues = r.at("queues").as_array();
  REQUIRE(queues.size() == 2);
  CHECK(queues[0].at("name") == "audit");  // by name
  CHECK(queues[0].at("queued") == json::parse(R"({"high":0,"normal":0,"low":1})"));
  CHECK(queues[0].at("leases") == 0);
  const auto& billing = queues[1];
  CHECK(billing.at("name") == "billing");
  CHECK(billing.at("queued") == json::parse(R"({"high":0,"normal":2,"low":0})"));
  CHECK(billing.at("parked") == zeros);
  CHECK(billing.at("leases") == 1);
  CHECK(billing.at("pollers") == 0);

  auto one = api.get("/api/v1/tasks/queues/billing");
  REQUIRE(one.status == 200);
  CHECK(json::parse(one.body) == billing);
  auto idle = api.get("/api/v1/tasks/queues/nobody-polls-this");
  REQUIRE(idle.status == 200);
  CHECK(json::parse(idle.body).at("queued") == zeros);
  auto bad = api.get("/api/v1/tasks/queues/bad%20name");
  CHECK(bad.status == 400);
  CHECK(error_code(bad) == "invalid_queue");
}

TEST_CASE("an empty queue answers 204 after waitMs, a parked poll gets a task that arrives") {
  worker_api api;
  auto empty = api.post("/api/v1/tasks/poll", R"({"queue":"idle","waitMs":50})");
  CHECK(empty.status == 204);
  CHECK(empty.body.empty());
  auto now = api.post("/api/v1/tasks/poll", R"({"queue":"idle","waitMs":0})");
  CHECK(now.status == 204);

  auto parked = std::async(std::launch::async, [&] {
    return api.post("/api/v1/tasks/poll", R"({"queue":"later","waitMs":5000})");
  });
  REQUIRE(api.wait_for_pollers(1));
  api.f.submit("wf-late", "queue:later");
  auto r = parked.get();
  CHECK(r.status == 200);
  CHECK(json::parse(r.body).at("workflowId") == "wf-late");
  CHECK(api.f.next().what == kind::started);
}

TEST_CASE("more parked polls than max-pollers-per-queue answer 429 too_many_pollers") {
  auto s = worker_api::small();
  s.max_pollers_per_queue = 1;
  worker_api api(s);
  auto parked = std::async(std::launch::async, [&] {
    return api.post("/api/v1/tasks/poll", R"({"queue":"busy","waitMs":5000})");
  });
  REQUIRE(api.wait_for_pollers(1));
  auto second = api.post("/api/v1/tasks/poll", R"({"queue":"busy","waitMs":10})");
  CHECK(second.status == 429);
  CHECK(error_code(second) == "too_many_pollers");
  api.f.submit("wf", "queue:busy");  // releases the parked poll
  CHECK(parked.get().status == 200);
}

// A worker learns from its heartbeat that its task's answer is no longer wanted (the
// entity sent task_abandon: step timed out, workflow cancelled or failed), as Temporal's
// activity heartbeat reports a cancel. Before, it worked on to the end.
TEST_CASE("a heartbeat of an abandoned task answers cancelRequested") {
  worker_api api(worker_api::small());
  api.f.submit("wf-ab", "queue:ab");
  auto token = token_of(api.poll("ab"));
  CHECK(api.f.next().what == kind::started);
  caf::anon_send(api.f.dispatcher, task_abandon{"wf-ab", "s", 1});
  CHECK(eventually([&] {
    auto hb = api.post("/api/v1/tasks/" + token + "/heartbeat", "");
    return hb.status == 200 && json::parse(hb.body) == json::parse(R"({"cancelRequested":true})");
  }));
  // Its answer is still taken (and ignored by the entity): the lease ends.
  CHECK(
      api.post("/api/v1/tasks/" + token + "/fail", R"({"error":"stopped","message":"x"})").status ==
      200);
  CHECK(api.post("/api/v1/tasks/" + token + "/heartbeat", "").status == 404);
}

TEST_CASE("heartbeats keep a lease alive, without them it expires as heartbeat_timeout") {
  auto s = worker_api::small();
  s.heartbeat_timeout = 600ms;
  worker_api api(s);
  api.f.submit("wf-hb", "queue:hb");
  auto token = token_of(api.poll("hb"));
  CHECK(api.f.next().what == kind::started);
  for (int i = 0; i < 15; ++i) {  // 1.5 s > the timeout, heartbeating every 100 ms
    auto hb = api.post("/api/v1/tasks/" + token + "/heartbeat", "");
    CHECK(hb.status == 200);
    CHECK(json::parse(hb.body) == json::parse(R"({"cancelRequested":false})"));
    std::this_thread::sleep_for(100ms);
  }
  auto done = api.post("/api/v1/tasks/" + token + "/complete", "");
  CHECK(done.status == 200);
  CHECK(json::parse(done.body) == json::parse(R"({"duplicate":false})"));
  auto u = api.f.next();
  CHECK(u.what == kind::completed);
  CHECK(u.output == json::object{});

  api.f.submit("wf-lost", "queue:hb", {}, task_priority::normal, 7);
  auto lost = token_of(api.poll("hb"));
  CHECK(api.f.next().what == kind::started);
  auto expired = api.f.next();  // no heartbeat: the dispatcher gives up on the worker
  CHECK(expired.what == kind::failed);
  CHECK(expired.workflow_id == "wf-lost");
  CHECK(expired.attempt == 7);
  CHECK(expired.error_type == "heartbeat_timeout");
  auto late = api.post("/api/v1/tasks/" + lost + "/complete", R"({"output":1})");
  CHECK(late.status == 404);
  CHECK(error_code(late) == "task_not_found");
  CHECK(api.post("/api/v1/tasks/" + lost + "/heartbeat", "").status == 404);
}

TEST_CASE("unknown tokens are 404 task_not_found") {
  worker_api api;
  for (const std::string& t : {std::string("0123456789abcdef0123456789abcdef"),
                               std::string("not-hex!"), std::string(65, 'a')}) {
    auto r = api.post("/api/v1/tasks/" + t + "/complete", "{}");
    CHECK(r.status == 404);
    CHECK(error_code(r) == "task_not_found");
    CHECK(api.post("/api/v1/tasks/" + t + "/fail", R"({"error":"x"})").status == 404);
    CHECK(api.post("/api/v1/tasks/" + t + "/heartbeat", "").status == 404);
  }
}

TEST_CASE(
    "while the node recovers interrupted workflows an unknown token is 503 recovering, then 404") {
  worker_api api;
  const std::string t = "0123456789abcdef0123456789abcdef";
  caf::anon_send(api.f.dispatcher, task_recovering_atom::value, true);
  REQUIRE(
      eventually([&] { return api.post("/api/v1/tasks/" + t + "/heartbeat", "").status == 503; }));
  auto r = api.post("/api/v1/tasks/" + t + "/complete", "{}");
  CHECK(r.status == 503);
  CHECK(error_code(r) == "recovering");
  CHECK(r.headers.count("retry-after") == 1);
  CHECK(api.post("/api/v1/tasks/" + t + "/fail", R"({"error":"x"})").status == 503);
  // A task that is there is answered as usual meanwhile.
  api.f.submit("wf-r", "queue:jobs");
  auto task = api.poll("jobs");
  CHECK(api.post("/api/v1/tasks/" + token_of(task) + "/complete", "{}").status == 200);
  CHECK(api.post("/api/v1/tasks/" + token_of(task) + "/complete", "{}").status == 200);  // dup
  caf::anon_send(api.f.dispatcher, task_recovering_atom::value, false);
  REQUIRE(
      eventually([&] { return api.post("/api/v1/tasks/" + t + "/heartbeat", "").status == 404; }));
  CHECK(error_code(api.post("/api/v1/tasks/" + t + "/complete", "{}")) == "task_not_found");
}

TEST_CASE("bad input: malformed JSON, wrong types, bad queue names, oversize bodies") {
  worker_api api;
  const std::string tok = "/api/v1/tasks/0123456789abcdef0123456789abcdef";
  struct bad_case {
    std::string target, body;
    int status;
    std::string code;
  };
  const bad_case cases[] = {
      {"/api/v1/tasks/poll", "{", 400, "invalid_json"},
      {"/api/v1/tasks/poll", "", 400, "invalid_json"},
      {"/api/v1/tasks/poll", "[]", 400, "invalid_json"},
      {"/api/v1/tasks/poll", "{}", 400, "invalid_field"},
      {"/api/v1/tasks/poll", R"({"queue":"has space"})", 400, "invalid_field"},
      {"/api/v1/tasks/poll", R"({"queue":7})", 400, "invalid_field"},
      {"/api/v1/tasks/poll", R"({"queue":"q","waitMs":-1})", 400, "invalid_field"},
      {"/api/v1/tasks/poll", R"({"queue":"q","waitMs":"5"})", 400, "invalid_field"},
      {"/api/v1/tasks/poll", R"({"queue":"q","workerId":5})", 400, "invalid_field"},
      {"/api/v1/tasks/poll", R"({"queue":")" + std::string(300, 'q') + R"("})", 400,
       "invalid_field"},
      {tok + "/complete", "{oops", 400, "invalid_json"},
      {tok + "/complete", R"({"output":")" + std::string(2000, 'x') + R"("})", 413,
       "payload_too_large"},
      {tok + "/fail", "{}", 400, "invalid_field"},
      {tok + "/fail", R"({"error":1})", 400, "invalid_field"},
      {tok + "/fail", R"({"error":"x","nonRetryable":"yes"})", 400, "invalid_field"},
      {tok + "/fail", R"({"error":"x","errorType":[]})", 400, "invalid_field"},
  };
  for (const auto& c : cases) {
    auto r = api.post(c.target, c.body);
    const std::string what = c.target + " " + c.body.substr(0, 60);
    CHECK_MESSAGE(r.status == c.status, what);
    CHECK_MESSAGE(error_code(r) == c.code, what);
  }
  auto get = wfe::test::http_request(api.port(), "GET", "/api/v1/tasks/poll");
  REQUIRE(get);
  CHECK(get->status == 405);
  // The dispatcher is still serving.
  api.f.submit("wf-ok", "queue:q");
  CHECK(api.poll("q").at("workflowId") == "wf-ok");
}
