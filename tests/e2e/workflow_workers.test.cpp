// External workers over HTTP against the real binary (issue #4): poll -> complete,
// poll -> fail -> retried, heartbeats, duplicate completions ignored, unknown tokens,
// the long poll that ends with 204, and a worker's lease across a node restart.

#include <doctest/doctest.h>

#include <csignal>
#include <map>

#include "tests/support/eventually.hpp"
#include "tests/support/node.hpp"
#include "tests/support/workflow_api.hpp"

using namespace wfe::test;
namespace json = boost::json;

TEST_CASE("external worker round trip: poll, heartbeat, complete, fail and retry") {
  node n;
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());

  // Nothing queued: the long poll waits waitMs and answers 204.
  CHECK_FALSE(api.poll("idle", 300).has_value());

  api.define("billing", R"([{"name":"charge","task":"queue:payments","input":{"currency":"EUR"},
      "retry":{"maxAttempts":3,"initialIntervalMs":20,"backoffCoefficient":1.0,"maxIntervalMs":20}},
      {"name":"done","task":"noop","dependsOn":["charge"]}])");

  // poll -> complete
  api.started("wf-w1", "billing", json::object{{"amount", 5}});
  auto task = api.poll_task("payments");
  CHECK(task.at("workflowId") == "wf-w1");
  CHECK(task.at("step") == "charge");
  CHECK(task.at("attempt") == 1);
  CHECK(task.at("task") == "queue:payments");
  CHECK(task.at("input").at("currency") == "EUR");
  auto token = std::string(task.at("token").as_string());
  REQUIRE(!token.empty());
  auto hb = api.post("/api/v1/tasks/" + token + "/heartbeat", std::string());
  CHECK_MESSAGE(hb.status == 200, hb.body);
  auto done = api.post("/api/v1/tasks/" + token + "/complete",
                       json::value(json::object{{"output", {{"receipt", "r-1"}}}}));
  REQUIRE_MESSAGE(done.status == 200, done.body);
  CHECK(json_of(done).at("duplicate") == false);
  // A duplicate completion is acknowledged and ignored: the first output stays.
  auto dup = api.post("/api/v1/tasks/" + token + "/complete",
                      json::value(json::object{{"output", {{"receipt", "r-2"}}}}));
  CHECK_MESSAGE(dup.status == 200, dup.body);
  CHECK(json_of(dup).at("duplicate") == true);
  CHECK(api.wait_status("wf-w1", "COMPLETED") == "COMPLETED");
  auto wf = api.workflow("wf-w1");
  CHECK(wf.at("steps").at(0).at("output").at("receipt") == "r-1");
  CHECK(wf.at("steps").at(0).at("attempts") == 1);

  // poll -> fail -> the retry is polled as attempt 2 -> complete
  api.started("wf-w2", "billing");
  auto first = api.poll_task("payments");
  CHECK(first.at("workflowId") == "wf-w2");
  auto failed = api.post("/api/v1/tasks/" + std::string(first.at("token").as_string()) + "/fail",
                         json::value(json::object{{"error", "card declined"},
                                                  {"errorType", "Declined"},
                                                  {"details", {{"declineCode", 51}}}}));
  REQUIRE_MESSAGE(failed.status == 200, failed.body);
  auto second = api.poll_task("payments");
  CHECK(second.at("workflowId") == "wf-w2");
  CHECK(second.at("attempt") == 2);
  CHECK(second.at("token") != first.at("token"));
  // The first attempt's token is spent.
  auto late = api.post("/api/v1/tasks/" + std::string(first.at("token").as_string()) + "/complete",
                       std::string(R"({"output":1})"));
  CHECK((late.status == 404 || (late.status == 200 && json_of(late).at("duplicate") == true)));
  REQUIRE(api.post("/api/v1/tasks/" + std::string(second.at("token").as_string()) + "/complete",
                   std::string(R"({"output":{"ok":true}})"))
              .status == 200);
  CHECK(api.wait_status("wf-w2", "COMPLETED") == "COMPLETED");
  auto events = api.history("wf-w2");
  bool saw_failure = false;
  for (const auto& e : events) {
    if (e.at("type") == "StepFailed") {
      saw_failure = true;
      CHECK(e.at("data").at("errorType") == "Declined");
      CHECK(e.at("data").at("details").at("declineCode") == 51);  // the worker's details
    }
  }
  CHECK(saw_failure);
  CHECK(api.workflow("wf-w2").at("steps").at(0).at("attempts") == 2);

  // Unknown tokens: 404 with the error shape, for every verb.
  const std::string unknown = "0123456789abcdef0123456789abcdef";
  CHECK(check_error(api.post("/api/v1/tasks/" + unknown + "/complete", std::string("{}")), 404) ==
        "task_not_found");
  CHECK(check_error(api.post("/api/v1/tasks/" + unknown + "/fail", std::string(R"({"error":"x"})")),
                    404) == "task_not_found");
  CHECK(check_error(api.post("/api/v1/tasks/" + unknown + "/heartbeat", std::string()), 404) ==
        "task_not_found");
  // Nothing left on the queue.
  CHECK_FALSE(api.poll("payments", 100).has_value());
}

TEST_CASE("a non-retryable failure from a worker fails the workflow into the dead letters") {
  node n;
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  api.define("strict", R"([{"name":"check","task":"queue:checks",
      "retry":{"maxAttempts":5,"initialIntervalMs":20,"nonRetryable":["Fraud"]}}])");
  api.started("wf-nr", "strict");
  auto t = api.poll_task("checks");
  REQUIRE(api.post("/api/v1/tasks/" + std::string(t.at("token").as_string()) + "/fail",
                   std::string(R"({"error":"stolen card","errorType":"Fraud",)"
                               R"("details":{"rule":"velocity"}})"))
              .status == 200);
  CHECK(api.wait_status("wf-nr", "FAILED") == "FAILED");
  auto failed = api.workflow("wf-nr");
  CHECK(failed.at("failure").at("step") == "check");
  CHECK(failed.at("steps").at(0).at("errorDetails").at("rule") == "velocity");
  CHECK_FALSE(api.poll("checks", 100).has_value());

  // The worker itself can say an error is final, whatever its type.
  api.started("wf-nr2", "strict");
  auto t2 = api.poll_task("checks");
  REQUIRE(
      api.post("/api/v1/tasks/" + std::string(t2.at("token").as_string()) + "/fail",
               std::string(R"({"error":"bad input","errorType":"Invalid","nonRetryable":true})"))
          .status == 200);
  CHECK(api.wait_status("wf-nr2", "FAILED") == "FAILED");
  CHECK(api.workflow("wf-nr2").at("steps").at(0).at("attempts") == 1);
  CHECK_FALSE(api.poll("checks", 100).has_value());
}

TEST_CASE("a worker that stops heartbeating loses its task and the step is retried") {
  node n({"-Dpekko.workflow.tasks.heartbeat-timeout=300ms"});
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  api.define("lease", R"([{"name":"job","task":"queue:jobs",
      "retry":{"maxAttempts":3,"initialIntervalMs":10,"backoffCoefficient":1.0,"maxIntervalMs":10}}])");
  api.started("wf-hb", "lease");
  auto lost = api.poll_task("jobs", "silent-worker");
  CHECK(lost.at("attempt") == 1);
  CHECK(lost.at("heartbeatTimeoutMs") == 300);
  // The silent worker never heartbeats: the next poll (bounded) gets attempt 2.
  auto retried = api.poll_task("jobs", "live-worker");
  CHECK(retried.at("workflowId") == "wf-hb");
  CHECK(retried.at("attempt") == 2);
  // The lost lease's token is dead.
  auto late = api.post("/api/v1/tasks/" + std::string(lost.at("token").as_string()) + "/complete",
                       std::string(R"({"output":"late"})"));
  CHECK((late.status == 404 || (late.status == 200 && json_of(late).at("duplicate") == true)));
  REQUIRE(api.post("/api/v1/tasks/" + std::string(retried.at("token").as_string()) + "/complete",
                   std::string(R"({"output":"ok"})"))
              .status == 200);
  CHECK(api.wait_status("wf-hb", "COMPLETED") == "COMPLETED");
  auto wf = api.workflow("wf-hb");
  CHECK(wf.at("steps").at(0).at("output") == "ok");
  bool timed_out = false;
  for (const auto& e : api.history("wf-hb")) {
    if (e.at("type") == "StepFailed" && e.at("data").at("errorType") == "heartbeat_timeout") {
      timed_out = true;
    }
  }
  CHECK(timed_out);
}

TEST_CASE("an external queue hands out high before normal before low priority tasks") {
  node n;
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  api.define("prio", R"([{"name":"t","task":"queue:prio"}])");
  for (const auto& [id, priority] : std::vector<std::pair<std::string, std::string>>{
           {"wf-low", "low"}, {"wf-normal", "normal"}, {"wf-high", "high"}}) {
    auto r = api.start(id, "prio", json::object{}, priority);
    REQUIRE_MESSAGE(r.status == 201, r.body);
    CHECK(json_of(r).at("priority") == json::value(priority));
  }
  // Every step is queued (SCHEDULED) before the first poll.
  for (const auto* id : {"wf-low", "wf-normal", "wf-high"}) {
    std::string st;
    for (int i = 0; i < 200 && st != "SCHEDULED"; ++i) {
      st = std::string(api.workflow(id).at("steps").at(0).at("status").as_string());
      if (st != "SCHEDULED") std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(st == "SCHEDULED");
  }
  std::vector<std::string> order;
  for (int i = 0; i < 3; ++i) {
    auto t = api.poll_task("prio");
    order.emplace_back(t.at("workflowId").as_string());
    CHECK(t.at("priority").is_string());
  }
  CHECK(order == std::vector<std::string>{"wf-high", "wf-normal", "wf-low"});
}

TEST_CASE("a worker's task outlives a node restart: its heartbeat and completion still count") {
  temp_dir data;
  const std::vector<std::string> dirs{
      "-Dpekko.persistence.journal.rocksdb.dir=" + (data.path() / "journal").string(),
      "-Dpekko.persistence.snapshot-store.rocksdb.dir=" + (data.path() / "snapshots").string()};
  boost::json::object task;
  {
    node n(dirs);
    REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
    workflow_api api(n.http_port());
    api.define("long-job", R"([{"name":"render","task":"queue:render"},
        {"name":"publish","task":"noop","dependsOn":["render"]}])");
    api.started("wf-restart", "long-job");
    task = api.poll_task("render", "worker-1");
    CHECK(task.at("attempt") == 1);
    n.proc().signal(SIGKILL);  // the worker keeps working meanwhile
    REQUIRE(n.proc().wait(std::chrono::seconds(10)) == 128 + SIGKILL);
  }
  node n(dirs);
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  const std::string token(task.at("token").as_string());
  // Recovery queues the step's attempt again; the worker's heartbeat takes it back
  // (bounded wait: the restarted node wakes the workflow by itself).
  CHECK(eventually(
      [&] {
        return api.post("/api/v1/tasks/" + token + "/heartbeat", std::string()).status == 200;
      },
      std::chrono::seconds(20), std::chrono::milliseconds(50)));
  CHECK_FALSE(api.poll("render", 0).has_value());  // not handed to a second worker
  auto done =
      api.post("/api/v1/tasks/" + token + "/complete", std::string(R"({"output":{"frames":24}})"));
  REQUIRE_MESSAGE(done.status == 200, done.body);
  CHECK(json_of(done).at("duplicate") == false);
  CHECK(api.wait_status("wf-restart", "COMPLETED") == "COMPLETED");
  auto wf = api.workflow("wf-restart");
  CHECK(wf.at("steps").at(0).at("output").at("frames") == 24);
  CHECK(wf.at("steps").at(0).at("attempts") == 1);  // the worker's attempt, not a second
  // Once the interrupted workflows are woken, a token without a task is 404 again (503
  // `recovering` only meanwhile).
  CHECK(eventually(
      [&] {
        return api.post("/api/v1/tasks/0123456789abcdef0123456789abcdef/heartbeat", std::string())
                   .status == 404;
      },
      std::chrono::seconds(20), std::chrono::milliseconds(50)));
}

// Data flows into a step: its task carries the workflow's start input and the outputs of
// the steps it depends on (by name), besides its own static input.
TEST_CASE(
    "a worker's task carries the workflow's input and the outputs of the steps it depends on") {
  node n;
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  api.define("order", R"([{"name":"reserve","task":"queue:stock"},
      {"name":"price","task":"queue:stock"},
      {"name":"charge","task":"queue:payments","input":{"currency":"EUR"},
       "dependsOn":["price","reserve"]}])");
  api.started("wf-data", "order", json::object{{"orderId", 42}, {"items", json::array{"a", "b"}}});

  // The first steps: the start's input, no dependencies.
  std::map<std::string, json::object> first;
  for (int i = 0; i < 2; ++i) {
    auto t = api.poll_task("stock");
    CHECK(t.at("workflowInput").at("orderId") == 42);
    CHECK(t.at("dependencyOutputs").as_object().empty());
    first[std::string(t.at("step").as_string())] = t;
  }
  REQUIRE(first.size() == 2);
  for (const auto& [step, t] : first) {
    auto r = api.post("/api/v1/tasks/" + std::string(t.at("token").as_string()) + "/complete",
                      json::value(json::object{{"output", {{"from", step}, {"n", step.size()}}}}));
    REQUIRE_MESSAGE(r.status == 200, r.body);
  }
  auto charge = api.poll_task("payments");
  CHECK(charge.at("step") == "charge");
  CHECK(charge.at("input").at("currency") == "EUR");
  CHECK(charge.at("workflowInput").at("items").at(1) == "b");
  const auto& outs = charge.at("dependencyOutputs").as_object();
  CHECK(outs.size() == 2);
  CHECK(outs.at("reserve").at("from") == "reserve");
  CHECK(outs.at("price").at("n") == 5);
  REQUIRE(api.post("/api/v1/tasks/" + std::string(charge.at("token").as_string()) + "/complete",
                   std::string(R"({"output":{}})"))
              .status == 200);
  CHECK(api.wait_status("wf-data", "COMPLETED") == "COMPLETED");

  // Started without an input: {} (as GET shows it).
  auto r = api.start("wf-none", "order", json::value(nullptr));
  REQUIRE_MESSAGE(r.status == 201, r.body);
  CHECK(api.poll_task("stock").at("workflowInput") == json::object{});
}
