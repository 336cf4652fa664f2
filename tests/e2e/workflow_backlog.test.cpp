// A full external task queue parks the refused tasks instead of rejecting them, and
// wakes them one per freed slot (issue #4, engine/workflow/tasks/parking_lot.hpp),
// against the real binary: 50 workflows on a queue that holds 5 all complete, with
// no task refused.

#include <doctest/doctest.h>

#include <set>
#include <sstream>

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
