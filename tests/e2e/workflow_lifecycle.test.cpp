// End-to-end workflow lifecycles over HTTP against the real binary (issue #4):
// define -> start -> complete with a contiguous history, retries, exhausted retries ->
// dead letter -> retry -> complete, cancel, signals, idempotent starts, and the list
// with its filters and pagination.

#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/eventually.hpp"
#include "tests/support/node.hpp"
#include "tests/support/workflow_api.hpp"

using namespace wfe::test;
namespace json = boost::json;

namespace {

std::size_t count(const std::vector<std::string>& v, const std::string& x) {
  return static_cast<std::size_t>(std::count(v.begin(), v.end(), x));
}

// Index of the first event of `type` about `step` in the history; -1 if none.
int find_event(const json::array& events, const std::string& type, const std::string& step) {
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i].as_object();
    if (e.at("type") != json::value(type)) continue;
    const auto* s = e.at("data").as_object().if_contains("step");
    if (step.empty() || (s != nullptr && *s == json::value(step))) return static_cast<int>(i);
  }
  return -1;
}

const json::object& step_of(const json::object& wf, const std::string& name) {
  for (const auto& s : wf.at("steps").as_array()) {
    if (s.at("name") == json::value(name)) return s.as_object();
  }
  FAIL("no step " << name);
  static json::object none;
  return none;
}

// Waits (bounded) until the list `target` holds `n` items; returns them.
std::vector<json::object> wait_list(const workflow_api& api, const std::string& target,
                                    std::size_t n, int* pages = nullptr) {
  std::vector<json::object> items;
  for (int i = 0; i < 200; ++i) {
    items = api.list_all(target, pages);
    if (items.size() >= n) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return items;
}

// Defines `name`: one step "get", an `http` task calling `url`; `input_more` goes on in
// its input object, `step_more` in the step.
void define_http(workflow_api& api, const std::string& name, const std::string& url,
                 const std::string& input_more = "", const std::string& step_more = "") {
  api.define(name, R"([{"name":"get","task":"http","input":{"url":")" + url + "\"" + input_more +
                       "}" + step_more + "}]");
}

// Accepts one connection on 127.0.0.1, reads the request and never answers; notes when
// the client closes the connection (a read of 0 bytes). Blocking reads time out after
// 30 s so the test never hangs.
class silent_server {
 public:
  silent_server() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 4) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      timeval tv{30, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      char buf[4096];
      ssize_t n = 0;
      while ((n = ::recv(c, buf, sizeof buf, 0)) > 0) got_request_ = true;
      if (n == 0) closed_by_client_ = true;
      ::close(c);
    });
  }
  ~silent_server() {
    ::shutdown(fd_, SHUT_RDWR);  // ends a pending accept
    thread_.join();
    ::close(fd_);
  }
  silent_server(const silent_server&) = delete;
  silent_server& operator=(const silent_server&) = delete;

  [[nodiscard]] std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/slow";
  }
  [[nodiscard]] bool got_request() const { return got_request_; }
  [[nodiscard]] bool closed_by_client() const { return closed_by_client_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> got_request_{false};
  std::atomic<bool> closed_by_client_{false};
  std::thread thread_;
};

}  // namespace

TEST_CASE("define, start, complete: history seq 1..n contiguous with the documented events") {
  node n;
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());

  CHECK(api.define("order", R"([{"name":"a","task":"noop"},
      {"name":"b","task":"sleep","input":{"ms":50},"dependsOn":["a"]},
      {"name":"c","task":"noop","dependsOn":["a"]},
      {"name":"d","task":"noop","dependsOn":["b","c"]}])") == 1);
  // A changed definition is a new version; an identical re-post is not.
  CHECK(api.define("order2", R"([{"name":"a","task":"noop"}])") == 1);
  REQUIRE(api.start("wf-v1", "order2").status == 201);  // runs version 1...
  CHECK(api.define("order2", R"([{"name":"a","task":"noop"},{"name":"b","task":"noop"}])") == 2);
  REQUIRE(api.start("wf-v2", "order2").status == 201);  // ...later starts run version 2
  CHECK(api.workflow("wf-v1").at("version") == 1);
  CHECK(api.workflow("wf-v2").at("version") == 2);
  auto def = api.get("/api/v1/workflow-definitions/order2");
  CHECK(def.status == 200);
  CHECK(json_of(def).at("version") == 2);
  CHECK(json_of(def).at("steps").as_array().size() == 2);

  auto r = api.start("wf-1", "order", json::object{{"customer", "c-7"}}, "high");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  auto started = json_of(r).as_object();
  CHECK(started.at("id") == "wf-1");
  CHECK(started.at("status").is_string());

  CHECK(api.wait_status("wf-1", "COMPLETED") == "COMPLETED");
  auto wf = api.workflow("wf-1");
  CHECK(wf.at("definition") == "order");
  CHECK(wf.at("version") == 1);
  CHECK(wf.at("createdAt").is_string());
  CHECK(wf.at("updatedAt").is_string());
  REQUIRE(wf.at("steps").as_array().size() == 4);
  for (const auto& s : wf.at("steps").as_array()) {
    CHECK(s.at("status") == "COMPLETED");
    CHECK(s.at("attempts") == 1);
  }

  auto types = api.event_types("wf-1");
  REQUIRE(!types.empty());
  CHECK(types.front() == "WorkflowStarted");
  CHECK(types.back() == "WorkflowCompleted");
  CHECK(count(types, "StepScheduled") == 4);
  CHECK(count(types, "StepCompleted") == 4);
  CHECK(count(types, "WorkflowCompleted") == 1);
  auto events = api.history("wf-1");
  CHECK(events[0].at("data").at("input").at("customer") == "c-7");
  // d runs only after both b and c completed.
  CHECK(find_event(events, "StepCompleted", "b") < find_event(events, "StepScheduled", "d"));
  CHECK(find_event(events, "StepCompleted", "c") < find_event(events, "StepScheduled", "d"));
  CHECK(find_event(events, "StepCompleted", "a") < find_event(events, "StepScheduled", "b"));

  // Idempotent start: the same id answers 409 with the current status, nothing appended.
  auto again = api.start("wf-1", "order");
  CHECK(check_error(again, 409) == "already_exists");
  CHECK(json_of(again).at("error").at("status") == "COMPLETED");
  CHECK(api.history("wf-1").size() == events.size());

  // A start without an id gets a generated one.
  auto anon = api.start("", "order2");
  REQUIRE(anon.status == 201);
  auto anon_id = std::string(json_of(anon).at("id").as_string());
  CHECK(!anon_id.empty());
  CHECK(api.wait_status(anon_id, "COMPLETED") == "COMPLETED");
  CHECK(api.workflow(anon_id).at("version") == 2);
}

TEST_CASE("retries: a step failing twice with maxAttempts 3 completes and the history shows them") {
  node n;
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  api.define("flaky", R"([{"name":"pay","task":"fail","input":{"times":2},
      "retry":{"maxAttempts":3,"initialIntervalMs":20,"backoffCoefficient":2.0,"maxIntervalMs":100}}])");
  api.started("wf-r", "flaky");
  CHECK(api.wait_status("wf-r", "COMPLETED") == "COMPLETED");
  CHECK(step_of(api.workflow("wf-r"), "pay").at("attempts") == 3);
  auto types = api.event_types("wf-r");
  CHECK(count(types, "StepFailed") == 2);
  CHECK(count(types, "StepRetryScheduled") == 2);
  CHECK(count(types, "StepCompleted") == 1);
  auto events = api.history("wf-r");
  auto retry = find_event(events, "StepRetryScheduled", "pay");
  REQUIRE(retry >= 0);
  CHECK(events[static_cast<std::size_t>(retry)].at("data").at("delayMs") == 20);
}

TEST_CASE("exhausted retries: FAILED, a dead letter, retry (202) continues the count, COMPLETED") {
  node n;
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  // fail times 3 with 2 attempts per run: attempts 1, 2 fail (FAILED); after the retry
  // attempt 3 fails and attempt 4 succeeds, because `times` counts over the whole life.
  api.define("doomed", R"([{"name":"a","task":"noop"},
      {"name":"ship","task":"fail","input":{"times":3},"dependsOn":["a"],
       "retry":{"maxAttempts":2,"initialIntervalMs":20,"backoffCoefficient":1.0,"maxIntervalMs":20}}])");
  api.started("wf-d", "doomed");
  CHECK(api.wait_status("wf-d", "FAILED") == "FAILED");
  auto wf = api.workflow("wf-d");
  CHECK(step_of(wf, "ship").at("attempts") == 2);
  CHECK(step_of(wf, "a").at("status") == "COMPLETED");
  CHECK(api.event_types("wf-d").back() == "WorkflowFailed");

  std::vector<json::object> dead;
  for (int i = 0; i < 100 && dead.empty(); ++i) {
    dead = api.list_all("/api/v1/dead-letters?limit=10");
    if (dead.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].at("workflowId") == "wf-d");
  CHECK(dead[0].at("step") == "ship");
  CHECK(dead[0].at("attempts") == 2);
  CHECK(dead[0].at("error").is_string());
  auto dl_id = std::string(dead[0].at("id").as_string());

  // A failed workflow refuses signals (finished) but takes the dead-letter retry.
  CHECK(check_error(api.post("/api/v1/workflows/wf-d/signals/poke", std::string("{}")), 409) ==
        "workflow_finished");
  auto retry = api.post("/api/v1/dead-letters/" + dl_id + "/retry", std::string());
  CHECK_MESSAGE(retry.status == 202, retry.body);
  CHECK(api.wait_status("wf-d", "COMPLETED") == "COMPLETED");
  CHECK(step_of(api.workflow("wf-d"), "ship").at("attempts") == 4);
  auto types = api.event_types("wf-d");
  CHECK(count(types, "WorkflowFailed") == 1);
  CHECK(types.back() == "WorkflowCompleted");
  // The dead letter is resolved: not listed, and a second retry is a 404.
  CHECK(api.list_all("/api/v1/dead-letters?limit=10").empty());
  CHECK(check_error(api.post("/api/v1/dead-letters/" + dl_id + "/retry", std::string()), 404) ==
        "dead_letter_not_found");
}

TEST_CASE("cancel and signals") {
  node n;
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  api.define("long", R"([{"name":"wait","task":"sleep","input":{"ms":60000}}])");
  api.define("approval", R"([{"name":"review","task":"queue:reviewers"}])");

  // Signal: recorded in history and state, the workflow keeps running.
  api.started("wf-s", "approval");
  auto sig = api.post("/api/v1/workflows/wf-s/signals/approved",
                      json::value(json::object{{"by", "alice"}}));
  REQUIRE_MESSAGE(sig.status == 200, sig.body);
  CHECK(json_of(sig).at("id") == "wf-s");
  CHECK(json_of(sig).at("status") == "RUNNING");
  auto empty_sig = api.post("/api/v1/workflows/wf-s/signals/nudge", std::string());
  CHECK_MESSAGE(empty_sig.status == 200, empty_sig.body);
  auto wf = api.workflow("wf-s");
  CHECK(wf.at("status") == "RUNNING");
  REQUIRE(wf.at("signals").as_array().size() == 2);
  CHECK(wf.at("signals").at(0).at("name") == "approved");
  auto events = api.history("wf-s");
  auto at = find_event(events, "SignalReceived", "");
  REQUIRE(at >= 0);
  CHECK(events[static_cast<std::size_t>(at)].at("data").at("name") == "approved");
  CHECK(events[static_cast<std::size_t>(at)].at("data").at("payload").at("by") == "alice");

  // Cancel: CANCELLED with the reason, unfinished steps cancelled, then 409s.
  api.started("wf-c", "long");
  auto c = api.post("/api/v1/workflows/wf-c/cancel",
                    json::value(json::object{{"reason", "customer asked"}}));
  REQUIRE_MESSAGE(c.status == 200, c.body);
  CHECK(json_of(c).at("status") == "CANCELLED");
  auto cancelled = api.workflow("wf-c");
  CHECK(cancelled.at("status") == "CANCELLED");
  CHECK(cancelled.at("cancelReason") == "customer asked");
  CHECK(step_of(cancelled, "wait").at("status") == "CANCELLED");
  auto types = api.event_types("wf-c");
  CHECK(types.back() == "WorkflowCancelled");
  auto twice = api.post("/api/v1/workflows/wf-c/cancel", std::string());
  CHECK(check_error(twice, 409) == "workflow_finished");
  CHECK(json_of(twice).at("error").at("status") == "CANCELLED");
  CHECK(check_error(api.post("/api/v1/workflows/wf-c/signals/late", std::string("1")), 409) ==
        "workflow_finished");
  CHECK(api.event_types("wf-c").size() == types.size());
  // Cancel without a body works too.
  api.started("wf-c2", "long");
  CHECK(api.post("/api/v1/workflows/wf-c2/cancel", std::string()).status == 200);
}

TEST_CASE("list workflows by status and definition, paginated with a cursor") {
  node n;
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  api.define("parked", R"([{"name":"w","task":"queue:nobody"}])");
  api.define("quick", R"([{"name":"a","task":"noop"}])");
  std::set<std::string> running;
  for (int i = 0; i < 7; ++i) {
    auto id = "p-" + std::to_string(i);
    api.started(id, "parked");
    running.insert(id);
  }
  for (int i = 0; i < 3; ++i) {
    auto id = "q-" + std::to_string(i);
    api.started(id, "quick");
    CHECK(api.wait_status(id, "COMPLETED") == "COMPLETED");
  }

  int pages = 0;
  auto items =
      wait_list(api, "/api/v1/workflows?status=RUNNING&definition=parked&limit=3", 7, &pages);
  CHECK(items.size() == 7);
  CHECK(pages >= 3);
  std::set<std::string> seen;
  for (const auto& i : items) {
    CHECK(i.at("status") == "RUNNING");
    CHECK(i.at("definition") == "parked");
    CHECK(i.at("createdAt").is_string());
    seen.insert(std::string(i.at("id").as_string()));
  }
  CHECK(seen == running);  // every one exactly once across pages
  auto first = api.get("/api/v1/workflows?status=RUNNING&limit=3");
  REQUIRE(first.status == 200);
  CHECK(json_of(first).at("items").as_array().size() == 3);
  CHECK(json_of(first).at("nextCursor").is_string());

  auto done = wait_list(api, "/api/v1/workflows?status=COMPLETED&limit=2", 3);
  CHECK(done.size() == 3);
  for (const auto& i : done) CHECK(i.at("definition") == "quick");
  CHECK(wait_list(api, "/api/v1/workflows?limit=4", 10).size() == 10);
  CHECK(api.list_all("/api/v1/workflows?status=FAILED").empty());

  // Cancelling one moves it between the status lists.
  REQUIRE(api.post("/api/v1/workflows/p-0/cancel", std::string()).status == 200);
  CHECK(wait_list(api, "/api/v1/workflows?status=CANCELLED", 1).size() == 1);
  std::vector<json::object> still;
  for (int i = 0; i < 100; ++i) {
    still = api.list_all("/api/v1/workflows?status=RUNNING&definition=parked&limit=5");
    if (still.size() == 6) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(still.size() == 6);
}

TEST_CASE("the built-in http task calls a URL, an unreachable one fails the step") {
  node n;
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  auto url = "http://127.0.0.1:" + std::to_string(n.http_port()) + "/health";
  define_http(api, "call", url, R"(,"method":"GET","timeoutMs":5000)");
  api.started("wf-http", "call");
  CHECK(api.wait_status("wf-http", "COMPLETED") == "COMPLETED");
  auto out = api.workflow("wf-http").at("steps").at(0).at("output");
  CHECK(json::serialize(out).find("200") != std::string::npos);  // the status it got

  auto closed = "http://127.0.0.1:" + std::to_string(free_port()) + "/";
  define_http(api, "call-closed", closed, R"(,"method":"GET","timeoutMs":1000)");
  api.started("wf-http-closed", "call-closed");
  CHECK(api.wait_status("wf-http-closed", "FAILED") == "FAILED");
  auto wf = api.workflow("wf-http-closed");
  CHECK(wf.at("failure").at("step") == "get");
  CHECK(!wf.at("failure").at("error").as_string().empty());
}

TEST_CASE("an http step's 4xx body is kept, and cancelling a workflow closes its request") {
  node n;
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  // The node's own API answers 404 with an error body: the failure keeps it.
  auto missing = "http://127.0.0.1:" + std::to_string(n.http_port()) + "/api/v1/workflows/nope";
  define_http(api, "call-missing", missing, "", R"(,"retry":{"maxAttempts":1})");
  api.started("wf-404", "call-missing");
  CHECK(api.wait_status("wf-404", "FAILED") == "FAILED");
  const auto failed = api.workflow("wf-404");
  const auto& step = step_of(failed, "get");
  CHECK(step.at("errorType") == "http_4xx");
  CHECK(step.at("errorDetails").at("status") == 404);
  CHECK(step.at("errorDetails").at("body").at("error").at("code") == "workflow_not_found");

  // A request in flight when its workflow is cancelled is closed, not left to run for
  // its own timeout (60 s here).
  silent_server server;
  define_http(api, "call-slow", server.url(), R"(,"timeoutMs":60000)");
  api.started("wf-slow", "call-slow");
  REQUIRE(eventually([&] { return server.got_request(); }, std::chrono::seconds(10),
                     std::chrono::milliseconds(20)));
  auto c = api.post("/api/v1/workflows/wf-slow/cancel", std::string("{}"));
  REQUIRE_MESSAGE(c.status == 200, c.body);
  CHECK(eventually([&] { return server.closed_by_client(); }, std::chrono::seconds(10),
                   std::chrono::milliseconds(20)));
}

// An http step's input takes the workflow's data through placeholders
// (engine/workflow/placeholders.hpp): here the node's own API is the service — the first
// step starts a workflow named after the start's input, the second reads it back by the
// id the first one's response gave.
TEST_CASE("an http step's placeholders carry the workflow's input and an earlier step's output") {
  node n;
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  const auto base = "http://127.0.0.1:" + std::to_string(n.http_port()) + "/api/v1/workflows";
  api.define("leaf", R"([{"name":"a","task":"noop"}])");
  api.define("spawner", R"([{"name":"make","task":"http","input":{"url":")" + base +
                            R"(","method":"POST","body":{"id":"child-${workflow.input.n}",
        "definition":"leaf","input":"${workflow.input}"}}},
      {"name":"check","task":"http","dependsOn":["make"],
       "input":{"url":")" + base + R"(/${steps.make.output.body.id}"}}])");
  api.started("wf-parent", "spawner", json::object{{"n", 7}, {"tag", "a b"}});
  CHECK(api.wait_status("wf-parent", "COMPLETED") == "COMPLETED");
  const auto child = api.workflow("child-7");
  CHECK(child.at("input") == json::object{{"n", 7}, {"tag", "a b"}});  // the value, not text
  const auto parent = api.workflow("wf-parent");
  CHECK(step_of(parent, "check").at("output").at("body").at("id") == "child-7");

  // A placeholder naming nothing at run time fails the step, naming it.
  api.started("wf-no-n", "spawner", json::object{{"tag", "x"}});
  CHECK(api.wait_status("wf-no-n", "FAILED") == "FAILED");
  const auto no_n = api.workflow("wf-no-n");
  const auto& make = step_of(no_n, "make");
  CHECK(make.at("errorType") == "invalid_input");
  CHECK(make.at("error").as_string().find("${workflow.input.n} names nothing") !=
        std::string::npos);

  // One naming a step outside its dependsOn is refused with the definition: 400.
  auto bad = api.post("/api/v1/workflow-definitions",
                      std::string(R"({"name":"stranger","steps":[{"name":"a","task":"noop"},
      {"name":"b","task":"http","input":{"url":"http://127.0.0.1:9/${steps.a.output}"}}]})"));
  CHECK(check_error(bad, 400) == "invalid_request");
  CHECK(bad.body.find("not in this step's dependsOn") != std::string::npos);
}

// A timer step waiting until a time its workflow's input gives (a placeholder): it
// completes once that time passed; a value that is no time fails the workflow into the
// dead letters, naming it.
TEST_CASE("a timer step waits until the time its workflow's input names") {
  node n;
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  api.define("remind", R"([{"name":"wait","task":"timer","input":{"until":"${workflow.input.at}"}},
      {"name":"done","task":"noop","dependsOn":["wait"]}])");
  const auto at = std::chrono::system_clock::now() + std::chrono::milliseconds(1500);
  const auto at_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  const std::time_t secs = at_ms / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  const std::string iso =
      std::string(text) + "." + std::to_string(1000 + at_ms % 1000).substr(1) + "Z";
  api.started("wf-at", "remind", json::object{{"at", iso}});
  const auto waiting = api.workflow("wf-at");
  CHECK(step_of(waiting, "wait").at("status") == "RUNNING");
  CHECK(step_of(waiting, "wait").at("wakesAt").as_string() == iso);
  CHECK(api.wait_status("wf-at", "COMPLETED") == "COMPLETED");
  const auto events = api.history("wf-at");
  const auto done = find_event(events, "StepCompleted", "wait");
  REQUIRE(done >= 0);
  CHECK(events[static_cast<std::size_t>(done)].at("at").as_string() >= iso);

  api.started("wf-soon", "remind", json::object{{"at", "soon"}});
  CHECK(api.wait_status("wf-soon", "FAILED") == "FAILED");
  const auto failed = api.workflow("wf-soon");
  CHECK(step_of(failed, "wait").at("errorType") == "invalid_input");
  CHECK(step_of(failed, "wait").at("error").as_string().find("RFC 3339") != std::string::npos);
  CHECK(wait_list(api, "/api/v1/dead-letters?limit=10", 1).size() == 1);
}

// Retention with an archive on the real binary: each expired workflow's history is in the
// archive (equal to what GET .../history showed) before it is gone, and the node still
// stops cleanly on SIGTERM (a handle kept to the detached archiver once made the actor
// system wait for it forever).
TEST_CASE(
    "retention archives each workflow's history before deleting it, it reads back, and the node "
    "stops") {
  temp_dir archive_dir;
  const auto archive = archive_dir.path() / "archive";
  node n({"-Dpekko.workflow.retention.finished-after=1500ms",
          "-Dpekko.workflow.retention.sweep-interval=200ms",
          "-Dpekko.workflow.retention.archive-dir=" + archive.string()});
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  api.define("kept", R"([{"name":"a","task":"noop"},{"name":"b","task":"sleep","input":{"ms":5},
      "dependsOn":["a"]}])");
  std::map<std::string, json::array> histories;
  for (int i = 0; i < 5; ++i) {
    const auto id = "arch-" + std::to_string(i);
    api.started(id, "kept", json::object{{"n", i}});
    REQUIRE(api.wait_status(id, "COMPLETED") == "COMPLETED");
    histories[id] = api.history(id);
  }
  std::map<std::string, json::object> archived;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (archived.size() < histories.size() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    archived.clear();
    std::error_code ec;
    for (const auto& f : std::filesystem::directory_iterator(archive, ec)) {
      if (f.path().extension() != ".jsonl") continue;
      std::istringstream lines(read_file(f.path()));
      for (std::string l; std::getline(lines, l);) {
        auto o = json::parse(l).as_object();
        archived[std::string(o.at("id").as_string())] = o;
      }
    }
  }
  REQUIRE(archived.size() == histories.size());
  for (const auto& [id, events] : histories) {
    CAPTURE(id);
    CHECK(archived.at(id).at("events").as_array() == events);
    CHECK(archived.at(id).at("status") == "COMPLETED");
    // Gone once archived (the purge follows the archive's synced write).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while ((status = api.get("/api/v1/workflows/" + id).status) != 404 &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(status == 404);
    // The 404 of a node with an archive says where a deleted workflow may be.
    CHECK(api.get("/api/v1/workflows/" + id).body.find("/api/v1/archived-workflows/" + id) !=
          std::string::npos);
    // Read back through the API: the archived record and the same events.
    auto back = api.get("/api/v1/archived-workflows/" + id);
    REQUIRE(back.status == 200);
    auto o = json::parse(back.body).as_object();
    CHECK(o.at("events").as_array() == events);
    CHECK(o.at("status") == "COMPLETED");
    CHECK(o.at("definition") == "kept");
    CHECK(o.contains("archivedAt"));
    CHECK_FALSE(o.contains("nextFrom"));
  }
  // Paged as .../history is.
  auto page = json::parse(api.get("/api/v1/archived-workflows/arch-3?from=2&limit=2").body);
  const auto& page_events = page.at("events").as_array();
  REQUIRE(page_events.size() == 2);
  CHECK(page_events[0].at("seq") == 2);
  CHECK(page_events[1].at("seq") == 3);
  CHECK(page.at("nextFrom") == 4);
  // Listed in the order archived (a sweep's page is archived in the index's order).
  auto listed =
      json::parse(api.get("/api/v1/archived-workflows?status=COMPLETED&definition=kept").body);
  std::set<std::string> listed_ids;
  for (const auto& i : listed.at("items").as_array()) listed_ids.emplace(i.at("id").as_string());
  CHECK(listed_ids.size() == histories.size());
  for (const auto& [id, events] : histories) CHECK(listed_ids.contains(id));
  CHECK(json::parse(api.get("/api/v1/archived-workflows?status=FAILED").body)
            .at("items")
            .as_array()
            .empty());
  CHECK(api.get("/api/v1/archived-workflows?cursor=nope").status == 400);
  CHECK(api.get("/api/v1/archived-workflows?status=DONE").status == 400);
  auto none = api.get("/api/v1/archived-workflows/never-ran");
  CHECK(none.status == 404);
  CHECK(json::parse(none.body).at("error").at("code") == "workflow_not_found");
  CHECK(api.get("/api/v1/archived-workflows/a%20b").status == 400);
  CHECK(api.get("/api/v1/archived-workflows/arch-1?limit=0").status == 400);
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);

  // Another node given the archive with retention off reads it (and archives nothing).
  node reader({"-Dpekko.workflow.retention.archive-dir=" + archive.string()});
  REQUIRE_MESSAGE(reader.wait_started(), reader.proc().stdout_text());
  workflow_api reader_api(reader.http_port());
  auto again = reader_api.get("/api/v1/archived-workflows/arch-0");
  REQUIRE(again.status == 200);
  CHECK(json::parse(again.body).at("events").as_array() == histories.at("arch-0"));
  // Without an archive, the 404 says why.
  node plain;
  REQUIRE_MESSAGE(plain.wait_started(), plain.proc().stdout_text());
  auto no_archive = workflow_api(plain.http_port()).get("/api/v1/archived-workflows/arch-0");
  CHECK(no_archive.status == 404);
  CHECK(no_archive.body.find("archive-dir is not set") != std::string::npos);
}
