// A full external task queue parks the refused tasks instead of rejecting them, and
// wakes them one per freed slot (issue #4, engine/workflow/tasks/parking_lot.hpp),
// against the real binary: 50 workflows on a queue that holds 5 all complete, with
// no task refused.

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/node.hpp"
#include "tests/support/workflow_api.hpp"

using namespace wfe::test;
namespace json = boost::json;

namespace {

// The value of an unlabelled metric in Prometheus text format; -1 when absent.
double metric_value(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

}  // namespace

TEST_CASE("a full external queue parks its tasks: 50 workflows through a queue of 5") {
  node n({"-Dpekko.workflow.tasks.max-queued=5"});
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  api.define("backlog", R"([{"name":"work","task":"queue:q"}])");

  constexpr int k_workflows = 50;
  for (int i = 0; i < k_workflows; ++i) api.started("wf-b" + std::to_string(i), "backlog");

  // One worker drains the queue; every task is handed out once and completed.
  std::set<std::string> handed_out;
  for (int polls = 0; handed_out.size() < k_workflows && polls < 10 * k_workflows; ++polls) {
    auto task = api.poll("q", 1000);
    if (!task) continue;
    auto id = std::string(task->at("workflowId").as_string());
    CHECK_MESSAGE(handed_out.insert(id).second, "handed out twice: " << id);
    CHECK(task->at("attempt") == 1);
    auto done =
        api.post("/api/v1/tasks/" + std::string(task->at("token").as_string()) + "/complete",
                 std::string(R"({"output":{"ok":true}})"));
    REQUIRE_MESSAGE(done.status == 200, done.body);
  }
  REQUIRE(handed_out.size() == k_workflows);
  for (int i = 0; i < k_workflows; ++i) {
    auto id = "wf-b" + std::to_string(i);
    CHECK_MESSAGE(api.wait_status(id, "COMPLETED") == "COMPLETED", id);
  }

  // Parked and woken, never refused (a refusal would have meant the delayed resubmit).
  auto m = n.metrics();
  REQUIRE(m);
  CHECK(m->body.find("outcome=\"rejected\"") == std::string::npos);
  CHECK(metric_value(m->body, "workflow_task_wakes_total") == k_workflows - 5);
  CHECK(metric_value(m->body, "workflow_task_wake_expired_total") == 0);
}

// Admission control: when the local task backlog is full (every priority queue of the
// worker pool holds max-queued tasks), a start is refused with 429 `overloaded` and a
// Retry-After before anything is persisted; once the backlog drains, starts succeed.
TEST_CASE("a full local task backlog refuses starts with 429 and persists nothing") {
  node n({"-Dpekko.workflow.max-workers=1", "-Dpekko.workflow.tasks.max-queued=1"});
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  api.define("slow", R"([{"name":"nap","task":"sleep","input":{"ms":300}}])");

  // One worker sleeps, one task per priority queue waits: the backlog holds 3. Start
  // until the node refuses (the dispatch of accepted starts is asynchronous).
  std::optional<http_reply> refused;
  std::string refused_id;
  int accepted = 0;
  for (int i = 0; i < 200 && !refused; ++i) {
    auto id = "wf-o" + std::to_string(i);
    auto r = api.start(id, "slow", json::object{},
                       i % 3 == 0 ? "high" : (i % 3 == 1 ? "normal" : "low"));
    if (r.status == 201) {
      ++accepted;
    } else {
      refused = r;
      refused_id = id;
    }
  }
  REQUIRE_MESSAGE(refused, "200 starts were all accepted");
  CHECK(accepted >= 3);
  CHECK(check_error(refused, 429) == "overloaded");
  CHECK(refused->headers.count("retry-after") == 1);
  // Nothing of the refused start was persisted.
  check_error(http_request(n.http_port(), "GET", "/api/v1/workflows/" + refused_id), 404);
  check_error(http_request(n.http_port(), "GET", "/api/v1/workflows/" + refused_id + "/history"),
              404);
  // The backlog drains (1 worker, 300 ms each) and the same id then starts.
  std::optional<http_reply> later;
  for (int i = 0; i < 200; ++i) {
    later = api.start(refused_id, "slow");
    if (later->status != 429) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(later);
  CHECK_MESSAGE(later->status == 201, later->status << " " << later->body);
}
