// Durability of workflows in the real binary (issue #4): kill -9 while a step sleeps
// and while a retry backoff is pending, restart on the same directories, and the
// workflows finish with no request touching them; kill -9 under concurrent starts, and
// every acknowledged start is found and completes; an online backup, a wiped data dir
// and a restore bring back every workflow, its history, the definitions and the list.

#include <doctest/doctest.h>

#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/eventually.hpp"
#include "tests/support/node.hpp"
#include "tests/support/rocksdb_files.hpp"
#include "tests/support/workflow_api.hpp"

using namespace wfe::test;
namespace json = boost::json;

namespace {

std::vector<std::string> data_dirs(const temp_dir& d) {
  return {"-Dpekko.persistence.journal.rocksdb.dir=" + (d.path() / "data" / "journal").string(),
          "-Dpekko.persistence.snapshot-store.rocksdb.dir=" +
              (d.path() / "data" / "snapshots").string()};
}

// Waits (bounded) until the index lists `id` with `status`, without touching the entity.
bool listed_with_status(const workflow_api& api, const std::string& id, const std::string& status,
                        std::chrono::seconds timeout) {
  return eventually(
      [&] {
        auto r =
            http_request(api.port(), "GET", "/api/v1/workflows?status=" + status + "&limit=1000");
        if (!r || r->status != 200) return false;
        auto page = json_of(*r);
        for (const auto& w : page.at("items").as_array()) {
          if (w.at("id") == json::value(id)) return true;
        }
        return false;
      },
      timeout);
}

// The guide's backup, as it writes it: `tar -czf journal.tar.gz /var/lib/pekko/journal/`
// (here the test's absolute data dir; tar drops the leading '/'). Returns tar's exit
// status (1 when a file changed while it read it: the WAL of a running node).
int tar_journal(const temp_dir& d) {
  auto pack = "tar -czf " + (d.path() / "journal.tar.gz").string() + " " +
              (d.path() / "data" / "journal").string() + "/ 2>/dev/null";
  return std::system(pack.c_str());
}

// The guide's restore, as it writes it: `tar -xzf journal.tar.gz -C /var/lib/pekko/` over
// the stopped node's data dir. That puts the journal at <data>/<data>/journal; the node
// moves it into place at start (persistence/backup.hpp, adopt_extracted_copy).
void restore_journal_tar(const temp_dir& d) {
  auto unpack = "tar -xzf " + (d.path() / "journal.tar.gz").string() + " -C " +
                (d.path() / "data").string() + "/";
  REQUIRE(std::system(unpack.c_str()) == 0);
}

// Waits (bounded) until no entity is active (all passivated), then past the index's
// update-linger, and kills the node with SIGKILL.
void passivate_then_kill9(node& n) {
  CHECK(eventually(
      [&] {
        auto m = n.metrics();
        return m && m->body.find("\nworkflow_entities_active 0\n") != std::string::npos;
      },
      std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  n.proc().signal(SIGKILL);
  REQUIRE(n.proc().wait(std::chrono::seconds(10)) == 128 + SIGKILL);
}

const json::value& step_status(const json::object& wf, const std::string& step) {
  for (const auto& s : wf.at("steps").as_array()) {
    if (s.at("name") == json::value(step)) return s.at("status");
  }
  static json::value none;
  return none;
}

}  // namespace

TEST_CASE("kill -9 mid-workflow, restart on the same dirs: workflows complete untouched") {
  temp_dir data;
  // The systemd unit's log file (JSON lines by default): the guide's `grep … | jq` below.
  auto log_file = (data.path() / "application.log").string();
  auto args = data_dirs(data);
  args.push_back("-Dpekko.workflow.logging.file=" + log_file);
  {
    node n(args);
    REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
    workflow_api api(n.http_port());
    api.define("sleepy", R"([{"name":"a","task":"noop"},
        {"name":"nap","task":"sleep","input":{"ms":1500},"dependsOn":["a"]},
        {"name":"z","task":"noop","dependsOn":["nap"]}])");
    api.define("backoff", R"([{"name":"try","task":"fail","input":{"times":1},
        "retry":{"maxAttempts":3,"initialIntervalMs":2500,"backoffCoefficient":1.0,"maxIntervalMs":2500}}])");
    api.started("wf-sleep", "sleepy");
    api.started("wf-backoff", "backoff");
    // Wait until the sleep runs and the retry timer is pending, then kill -9.
    bool sleeping = false;
    bool waiting = false;
    eventually(
        [&] {
          sleeping = step_status(api.workflow("wf-sleep"), "nap") == "RUNNING";
          waiting = step_status(api.workflow("wf-backoff"), "try") == "RETRY_WAIT";
          return sleeping && waiting;
        },
        std::chrono::seconds(10), std::chrono::milliseconds(20));
    REQUIRE(sleeping);
    REQUIRE(waiting);
    // Past the index's update-linger (20 ms): the records are current when the node dies,
    // so only their "task in flight" flag can make the restart wake wf-sleep (a record
    // behind the journal is woken anyway). `nap` sleeps 1.5 s: it is still running.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    n.proc().signal(SIGKILL);
    REQUIRE(n.proc().wait(std::chrono::seconds(10)) == 128 + SIGKILL);
  }
  node n(args);
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  // Only the list (the index) is read until both are done: nothing touches the entities.
  CHECK(listed_with_status(api, "wf-sleep", "COMPLETED", std::chrono::seconds(20)));
  CHECK(listed_with_status(api, "wf-backoff", "COMPLETED", std::chrono::seconds(20)));
  CHECK(api.status("wf-sleep") == "COMPLETED");
  CHECK(api.status("wf-backoff") == "COMPLETED");
  auto types = api.event_types("wf-backoff");  // contiguous seq across the crash
  CHECK(types.back() == "WorkflowCompleted");
  CHECK(api.event_types("wf-sleep").back() == "WorkflowCompleted");
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);

  // The guide's "查看故障转移": the workflow whose step was running when the node died
  // failed over to the restarted node; the one asleep on its retry timer had nothing in
  // flight and did not.
  int status = -1;
  auto failovers = shell_output("grep \"workflow_failover\" " + log_file, status);
  CHECK(status == 0);
  std::vector<json::object> events;
  std::istringstream lines(failovers);
  for (std::string line; std::getline(lines, line);) {
    events.push_back(json::parse(line).as_object());
  }
  REQUIRE(events.size() == 1);
  CHECK(events[0].at("event") == "workflow_failover");
  CHECK(events[0].at("workflow") == "wf-sleep");
  CHECK(events[0].at("definition") == "sleepy");
  CHECK(events[0].at("steps") == "nap (attempt 1, RUNNING)");
  // "查看集群事件": `grep "CLUSTER_EVENT" application.log | jq` — each incarnation's MemberUp.
  auto cluster = shell_output("grep \"CLUSTER_EVENT\" " + log_file + " | jq", status);
  CHECK(status == 0);
  std::size_t up = 0;
  for (auto p = cluster.find(R"("type": "MemberUp")"); p != std::string::npos;
       p = cluster.find(R"("type": "MemberUp")", p + 1)) {
    ++up;
  }
  CHECK(up == 2);
}

// The timer service holds at most max-timers; the rest wait in the index and are read
// back as room frees. Before, a workflow whose timer did not fit stayed RUNNING until a
// request touched it (scripts/probes/probe_timer_overflow.py).
TEST_CASE(
    "more workflows waiting on timers than max-timers: after kill -9 all complete untouched") {
  temp_dir data;
  auto flags = data_dirs(data);
  flags.emplace_back("-Dpekko.workflow.timers.max-timers=3");
  flags.emplace_back("-Dpekko.workflow.timers.reload-interval=100ms");
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back("wf-t" + std::to_string(i));
  {
    node n(flags);
    REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
    workflow_api api(n.http_port());
    api.define("later", R"([{"name":"try","task":"fail","input":{"times":1},
        "retry":{"maxAttempts":2,"initialIntervalMs":2500}}])");
    for (const auto& id : ids) api.started(id, "later");
    REQUIRE(eventually(
        [&] {
          return std::all_of(ids.begin(), ids.end(), [&](const auto& id) {
            return step_status(api.workflow(id), "try") == "RETRY_WAIT";
          });
        },
        std::chrono::seconds(10), std::chrono::milliseconds(20)));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // past the index's linger
    n.proc().signal(SIGKILL);
    REQUIRE(n.proc().wait(std::chrono::seconds(10)) == 128 + SIGKILL);
  }
  node n(flags);
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  // Through the list only: nothing touches the entities.
  for (const auto& id : ids) {
    CHECK_MESSAGE(listed_with_status(api, id, "COMPLETED", std::chrono::seconds(30)), id);
  }
  auto m = n.metrics();
  REQUIRE(m);
  CHECK(m->body.find("workflow_timers_overflowed 0") != std::string::npos);
  CHECK(m->body.find("workflow_timers_reloaded_total 0\n") == std::string::npos);
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);
}

// The promise behind every 201: an acknowledged start is durable and reachable. Eight
// clients start workflows of three definitions (a noop, a chain with a sleep, a step
// that fails once and retries), one start in three pinned to a version (those go through
// the gateway, as do the first starts after a restart, before the HTTP threads know the
// latest versions); the node is killed with SIGKILL mid-load, twice, and restarted at
// once into the next round's load. At the end every acknowledged id answers GET, completes
// with a contiguous history and is listed as COMPLETED under its definition.
TEST_CASE(
    "kill -9 under concurrent starts, twice: every acknowledged start is found and completes") {
  temp_dir data;
  const std::vector<std::string> defs{"ack-one", "ack-chain", "ack-retry"};
  std::map<std::string, std::string> acked;  // id -> definition
  std::mutex acked_mutex;
  for (int round = 0; round < 2; ++round) {
    node n(data_dirs(data));
    REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
    workflow_api api(n.http_port());
    if (round == 0) {
      api.define("ack-one", R"([{"name":"a","task":"noop"}])");
      api.define("ack-chain", R"([{"name":"a","task":"noop"},
          {"name":"b","task":"sleep","input":{"ms":5},"dependsOn":["a"]},
          {"name":"c","task":"noop","dependsOn":["b"]}])");
      api.define("ack-retry", R"([{"name":"a","task":"fail","input":{"times":1},
          "retry":{"maxAttempts":3,"initialIntervalMs":100,"backoffCoefficient":1.0,"maxIntervalMs":100}}])");
    }
    std::atomic<bool> stop{false};
    std::atomic<int> round_acked{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 8; ++t) {
      clients.emplace_back([&, t, port = n.http_port()] {
        for (int i = 0; !stop.load(); ++i) {
          const auto id =
              "r" + std::to_string(round) + "-c" + std::to_string(t) + "-" + std::to_string(i);
          const auto& def = defs[static_cast<std::size_t>(i + t) % defs.size()];
          auto body = R"({"id":")" + id + R"(","definition":")" + def + '"' +
                      (i % 3 == 0 ? R"(,"version":1})" : "}");
          auto r = http_request(port, "POST", "/api/v1/workflows", body);
          if (!r) {  // the node is gone
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            continue;
          }
          if (r->status == 201) {
            std::scoped_lock lock(acked_mutex);
            acked.emplace(id, def);
            ++round_acked;
          }
        }
      });
    }
    eventually([&] { return round_acked.load() >= 300; }, std::chrono::seconds(20),
               std::chrono::milliseconds(5));
    n.proc().signal(SIGKILL);
    const auto killed = n.proc().wait(std::chrono::seconds(10));
    stop = true;
    for (auto& c : clients) c.join();
    REQUIRE(killed == 128 + SIGKILL);
    REQUIRE(round_acked.load() >= 300);
  }
  node n(data_dirs(data));
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  std::size_t lost = 0;
  // One deadline for all: a workflow stuck for good costs one wait, not one per id.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (const auto& [id, def] : acked) {
    auto r = api.get("/api/v1/workflows/" + id);
    if (r.status != 200) {
      if (++lost <= 5)
        FAIL_CHECK("acknowledged " << id << " (" << def << "): " << r.status << " " << r.body);
      continue;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    CHECK_MESSAGE(api.wait_status(id, "COMPLETED", std::max(left, std::chrono::milliseconds(0))) ==
                      "COMPLETED",
                  id << " (" << def << ")");
    auto types = api.event_types(id);  // CHECKs seq 1..n
    CHECK(types.front() == "WorkflowStarted");
    CHECK(types.back() == "WorkflowCompleted");
  }
  CHECK_MESSAGE(lost == 0, lost << " of " << acked.size() << " acknowledged starts not found");
  for (const auto& def : defs) {
    std::set<std::string> listed;
    for (const auto& w :
         api.list_all("/api/v1/workflows?status=COMPLETED&definition=" + def + "&limit=500")) {
      listed.emplace(w.at("id").as_string());
    }
    std::size_t missing = 0;
    for (const auto& [id, d] : acked) missing += d == def && listed.count(id) == 0 ? 1 : 0;
    CHECK_MESSAGE(missing == 0, missing << " acknowledged " << def << " workflows not listed");
  }
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);
}

// The deployment guide's backup and restore, word for word: `tar -czf` of the journal
// directory while the node runs (daily), and to restore, stop, extract the journal's tar
// alone and start — the snapshot store and the workflow index stay as they were, newer
// than the journal. Every workflow comes back as the journal had it: no snapshot of the
// lost events is loaded (they are dropped), the list shows the journal's statuses (index
// records ahead of the journal are replaced), and the workflows go on.
TEST_CASE(
    "the guide's restore: a running node's journal tar, restored alone, brings every workflow "
    "back") {
  temp_dir data;
  auto args = data_dirs(data);
  args.push_back("-Dpekko.workflow.event-sourcing.snapshot-every=3");
  const int n_workflows = 12;
  auto id = [](int i) { return "g-" + std::to_string(i); };
  std::map<std::string, std::size_t> events_at_backup;
  {
    node n(args);
    REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
    workflow_api api(n.http_port());
    api.define("guide", R"([{"name":"work","task":"queue:guide"},
        {"name":"after","task":"noop","dependsOn":["work"]}])");
    for (int i = 0; i < n_workflows; ++i) {
      api.started(id(i), "guide");
      for (int k = 0; k < 4; ++k)  // WorkflowStarted, StepScheduled + 4 signals: a snapshot at 3
        REQUIRE(api.post("/api/v1/workflows/" + id(i) + "/signals/s", std::string("{}")).status ==
                200);
    }
    for (int i = 0; i < n_workflows; ++i) events_at_backup[id(i)] = api.history(id(i)).size();
    const int packed = tar_journal(data);
    REQUIRE((packed == 0 || WEXITSTATUS(packed) == 1));
    // After the backup: more snapshots, and every workflow completed by a worker.
    for (int i = 0; i < n_workflows; ++i) {
      for (int k = 0; k < 6; ++k)
        REQUIRE(api.post("/api/v1/workflows/" + id(i) + "/signals/s", std::string("{}")).status ==
                200);
    }
    for (int i = 0; i < n_workflows; ++i) {
      auto task = api.poll_task("guide");
      auto token = std::string(task.at("token").as_string());
      REQUIRE(api.post("/api/v1/tasks/" + token + "/complete", std::string(R"({"output":{}})"))
                  .status == 200);
    }
    for (int i = 0; i < n_workflows; ++i)
      REQUIRE(api.wait_status(id(i), "COMPLETED") == "COMPLETED");
    n.proc().signal(SIGTERM);
    REQUIRE(n.proc().wait(std::chrono::seconds(40)) == 0);
  }
  restore_journal_tar(data);  // the guide's restore
  node n(args);
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  CHECK(n.proc().stdout_text().find("moved the store found at") != std::string::npos);
  workflow_api api(n.http_port());
  for (int i = 0; i < n_workflows; ++i) {
    CAPTURE(id(i));
    auto r = api.get("/api/v1/workflows/" + id(i));
    REQUIRE_MESSAGE(r.status == 200, r.body);
    CHECK(json_of(r).at("status") == "RUNNING");
    CHECK(json_of(r).at("signals").as_array().size() == 4);
    CHECK(api.event_types(id(i)).size() == events_at_backup[id(i)]);  // seq 1..n
  }
  // The list says what the journal says, not what the kept index knew.
  CHECK(eventually(
      [&] {
        return api.list_all("/api/v1/workflows?status=RUNNING&definition=guide").size() ==
               static_cast<std::size_t>(n_workflows);
      },
      std::chrono::seconds(10)));
  CHECK(api.list_all("/api/v1/workflows?status=COMPLETED&definition=guide").empty());
  // And they go on: signals, then the work again, to COMPLETED.
  for (int i = 0; i < n_workflows; ++i)
    CHECK(api.post("/api/v1/workflows/" + id(i) + "/signals/s", std::string("{}")).status == 200);
  for (int i = 0; i < n_workflows; ++i) {
    auto task = api.poll_task("guide");
    auto token = std::string(task.at("token").as_string());
    CHECK(
        api.post("/api/v1/tasks/" + token + "/complete", std::string(R"({"output":{}})")).status ==
        200);
  }
  for (int i = 0; i < n_workflows; ++i) {
    CHECK(api.wait_status(id(i), "COMPLETED") == "COMPLETED");
    CHECK(api.event_types(id(i)).back() == "WorkflowCompleted");
  }
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);
}

// Retention and DELETE on the binary: finished workflows are deleted for good (journal,
// snapshots, index record), nothing brings them back after kill -9, the RUNNING one
// stays, and a deleted id starts a new workflow.
TEST_CASE("retention and DELETE: finished workflows go for good, also across kill -9") {
  temp_dir data;
  auto flags = data_dirs(data);
  flags.emplace_back("-Dpekko.workflow.event-sourcing.snapshot-every=2");
  auto first = flags;
  first.emplace_back("-Dpekko.workflow.retention.finished-after=2s");
  first.emplace_back("-Dpekko.workflow.retention.sweep-interval=200ms");
  first.emplace_back("-Dpekko.workflow.retention.batch-size=2");
  {
    node n(first);
    REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
    workflow_api api(n.http_port());
    api.define("quick",
               R"([{"name":"a","task":"noop"},{"name":"b","task":"noop","dependsOn":["a"]}])");
    api.define("waits", R"([{"name":"x","task":"fail","input":{"times":9},
        "retry":{"maxAttempts":3,"initialIntervalMs":3600000}}])");
    api.started("wf-keep", "waits");
    for (const auto* id : {"wf-del", "wf-old-0", "wf-old-1", "wf-old-2", "wf-old-3"}) {
      api.started(id, "quick");
      REQUIRE(api.wait_status(id, "COMPLETED") == "COMPLETED");
    }
    auto deleted = http_request(n.http_port(), "DELETE", "/api/v1/workflows/wf-del");
    REQUIRE(deleted);
    CHECK(deleted->status == 204);
    check_error(http_request(n.http_port(), "GET", "/api/v1/workflows/wf-del"), 404);
    check_error(http_request(n.http_port(), "DELETE", "/api/v1/workflows/wf-keep"), 409);
    // The others once they are 2 s old (pages of 2: the sweeper goes on while full).
    CHECK(eventually([&] { return api.list_all("/api/v1/workflows?status=COMPLETED").empty(); },
                     std::chrono::seconds(20)));
    for (const auto* id : {"wf-old-0", "wf-old-3"}) {
      check_error(http_request(n.http_port(), "GET", std::string("/api/v1/workflows/") + id), 404);
      check_error(
          http_request(n.http_port(), "GET", std::string("/api/v1/workflows/") + id + "/history"),
          404);
    }
    auto metrics = http_request(n.metrics_port(), "GET", "/metrics");
    REQUIRE(metrics);
    CHECK(metrics->body.find("workflow_purged_total 5") != std::string::npos);
    CHECK(api.status("wf-keep") == "RUNNING");
    n.proc().signal(SIGKILL);
    REQUIRE(n.proc().wait(std::chrono::seconds(10)) == 128 + SIGKILL);
  }
  // Restarted with a retention too long for anything here: reconciliation brings none
  // of them back, and the sweeper stops with the node.
  flags.emplace_back("-Dpekko.workflow.retention.finished-after=1h");
  flags.emplace_back("-Dpekko.workflow.retention.sweep-interval=100ms");
  node n(flags);
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  CHECK(api.list_all("/api/v1/workflows?status=COMPLETED").empty());
  auto all = api.list_all("/api/v1/workflows");
  REQUIRE(all.size() == 1);
  CHECK(all[0].at("id") == "wf-keep");
  check_error(http_request(n.http_port(), "GET", "/api/v1/workflows/wf-old-1"), 404);
  CHECK(api.status("wf-keep") == "RUNNING");
  // The deleted id starts a new workflow, with a history of its own from seq 1.
  api.started("wf-del", "quick");
  REQUIRE(api.wait_status("wf-del", "COMPLETED") == "COMPLETED");
  auto types = api.event_types("wf-del");
  REQUIRE_FALSE(types.empty());
  CHECK(types.front() == "WorkflowStarted");
  CHECK(std::count(types.begin(), types.end(), "WorkflowStarted") == 1);
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);
}

// A deleted id started again has a second journal; the guide's restore (the journal's
// tar alone, the snapshot store as it is) must bring back the first workflow, never with
// the second one's snapshot (taken at a sequence nr the restored journal also has).
TEST_CASE("the guide's restore after a DELETE and a new workflow of the id: the old one comes back") {
  temp_dir data;
  auto args = data_dirs(data);
  args.push_back("-Dpekko.workflow.event-sourcing.snapshot-every=3");
  auto signal = [](const workflow_api& api, const std::string& name) {
    REQUIRE(api.post("/api/v1/workflows/g-x/signals/" + name, std::string("{}")).status == 200);
  };
  auto stop = [](node& n) {
    n.proc().signal(SIGTERM);
    REQUIRE(n.proc().wait(std::chrono::seconds(40)) == 0);
  };
  {
    node n(args);
    REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
    workflow_api api(n.http_port());
    api.define("guide", R"([{"name":"work","task":"queue:guide"}])");
    api.started("g-x", "guide");
    for (int k = 0; k < 4; ++k) signal(api, "old");  // seq 6: snapshots at 3 and 6
    stop(n);
  }
  REQUIRE(tar_journal(data) == 0);
  {
    node n(args);
    REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
    workflow_api api(n.http_port());
    REQUIRE(api.post("/api/v1/workflows/g-x/cancel", std::string("{}")).status == 200);
    REQUIRE(listed_with_status(api, "g-x", "CANCELLED", std::chrono::seconds(10)));
    auto deleted = http_request(n.http_port(), "DELETE", "/api/v1/workflows/g-x");
    REQUIRE(deleted);
    REQUIRE(deleted->status == 204);
    api.started("g-x", "guide");
    for (int k = 0; k < 5; ++k) signal(api, "new");  // seq 7: its own snapshots at 3 and 6
    CHECK(api.workflow("g-x").at("signals").as_array().size() == 5);
    stop(n);
  }
  restore_journal_tar(data);
  node n(args);
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  auto wf = api.workflow("g-x");
  CHECK(wf.at("status") == "RUNNING");
  const auto& signals = wf.at("signals").as_array();
  REQUIRE(signals.size() == 4);
  for (const auto& sg : signals) CHECK(sg.at("name") == "old");
  CHECK(api.event_types("g-x").size() == 6);
  CHECK(n.proc().stdout_text().find("is not of this journal") != std::string::npos);
  signal(api, "after");  // and it goes on from its own state
  CHECK(api.workflow("g-x").at("signals").as_array().size() == 5);
  stop(n);
}

TEST_CASE("online backup, wipe, restore: every workflow, its history and the list intact") {
  temp_dir data;
  temp_dir backups;
  temp_dir logs;
  std::map<std::string, std::string> state_before;    // id -> GET body
  std::map<std::string, std::string> history_before;  // id -> history body
  std::string list_before;
  const std::vector<std::string> ids{"wf-done-1", "wf-done-2", "wf-parked", "wf-failed",
                                     "wf-cancelled"};
  {
    node n(data_dirs(data));
    REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
    workflow_api api(n.http_port());
    api.define("quick",
               R"([{"name":"a","task":"noop"},{"name":"b","task":"noop","dependsOn":["a"]}])");
    api.define("parked", R"([{"name":"w","task":"queue:nobody"}])");
    api.define("broken", R"([{"name":"f","task":"fail","input":{"times":5}}])");
    api.started("wf-done-1", "quick");
    api.started("wf-done-2", "quick", json::object{{"n", 2}});
    api.started("wf-parked", "parked");
    api.started("wf-failed", "broken");
    api.started("wf-cancelled", "parked");
    REQUIRE(api.post("/api/v1/workflows/wf-parked/signals/hello", std::string("{}")).status == 200);
    REQUIRE(api.post("/api/v1/workflows/wf-cancelled/cancel", std::string()).status == 200);
    CHECK(api.wait_status("wf-done-1", "COMPLETED") == "COMPLETED");
    CHECK(api.wait_status("wf-done-2", "COMPLETED") == "COMPLETED");
    CHECK(api.wait_status("wf-failed", "FAILED") == "FAILED");
    for (const auto& id : ids) {
      state_before[id] = api.get("/api/v1/workflows/" + id).body;
      history_before[id] = api.get("/api/v1/workflows/" + id + "/history").body;
    }
    list_before = api.get("/api/v1/workflows?limit=100").body;
    auto b = api.post("/api/v1/admin/backup",
                      json::value(json::object{{"dir", backups.path().string()}}));
    REQUIRE_MESSAGE(b.status == 201, b.body);
    n.proc().signal(SIGTERM);
    REQUIRE(n.proc().wait(std::chrono::seconds(40)) == 0);
  }
  // Lose the whole data directory (journal, snapshots, the derived index).
  std::filesystem::remove_all(data.path() / "data");
  auto restore = data_dirs(data);
  restore.insert(restore.begin(), {"restore", "--from", backups.path().string()});
  {
    process p(WFE_BINARY, restore, logs.path());
    auto code = p.wait(std::chrono::seconds(60));
    REQUIRE_MESSAGE(code == 0, (p.stdout_text() + p.stderr_text()));
  }
  node n(data_dirs(data));
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  for (const auto& id : ids) {
    CAPTURE(id);
    CHECK(api.get("/api/v1/workflows/" + id).body == state_before[id]);
    CHECK(api.get("/api/v1/workflows/" + id + "/history").body == history_before[id]);
  }
  // The definitions are back (the same versions), and the list is rebuilt.
  auto def = api.get("/api/v1/workflow-definitions/quick");
  CHECK(def.status == 200);
  CHECK(json_of(def).at("version") == 1);
  std::string list_after;
  for (int i = 0; i < 100; ++i) {
    list_after = api.get("/api/v1/workflows?limit=100").body;
    if (list_after == list_before) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(list_after == list_before);
  // The restored node still works: the parked workflow takes its task.
  auto t = api.poll_task("nobody");
  CHECK(t.at("workflowId") == "wf-parked");
  REQUIRE(api.post("/api/v1/tasks/" + std::string(t.at("token").as_string()) + "/complete",
                   std::string(R"({"output":1})"))
              .status == 200);
  CHECK(api.wait_status("wf-parked", "COMPLETED") == "COMPLETED");
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);
}

// One key bounds the writeback of all three RocksDB stores of a node (they share its
// disk): pekko.persistence.journal.rocksdb.bytes-per-sync reaches the journal, the
// snapshot store and the workflow index, as their OPTIONS files say.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)  // a sanitizer's runtime
// must be the first library: no LD_PRELOAD shim in front of it
TEST_CASE("a disk that fails the journal's WAL writes: 5xx, /health DOWN, a restart recovers all") {
  if (!std::filesystem::exists("/proc/self/fd")) {  // the shim tells files by their fd's link
    MESSAGE("skipped: no /proc here");
    return;
  }
  temp_dir data;
  const auto trigger = data.path() / "fail-wal-writes";
  const auto journal_dir = data.path() / "data" / "journal";
  const std::vector<std::string> env{"LD_PRELOAD=" WFE_EIO_SHIM,
                                     "WFE_TEST_EIO_TRIGGER=" + trigger.string(),
                                     "WFE_TEST_EIO_DIR=" + journal_dir.string()};
  const auto args = data_dirs(data);
  {
    node n(args, env);
    REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
    workflow_api api(n.http_port());
    api.define("d", R"([{"name":"a","task":"noop"}])");
    api.started("wf-before", "d");
    CHECK(api.get("/health").status == 200);

    std::FILE* f = std::fopen(trigger.c_str(), "w");  // the disk fails from now on
    REQUIRE(f != nullptr);
    std::fclose(f);
    auto failed = api.start("wf-failed", "d");
    CHECK_MESSAGE(failed.status >= 500, failed.body);
    CHECK_MESSAGE(failed.body.find("IO error") != std::string::npos, failed.body);
    std::filesystem::remove(trigger);  // the disk answers again, but RocksDB stays stopped
    // The next write asks RocksDB to resume; it refuses after a failed WAL write (a fatal
    // error until the store is reopened): the node says so on /health for its liveness
    // probe, and refuses starts with a 5xx meanwhile — nothing acknowledged that is not
    // durable.
    bool down = false;
    eventually(
        [&] {
          (void)api.start("wf-after", "d");
          auto h = api.get("/health");
          down = h.status == 503;
          return down;
        },
        std::chrono::seconds(10), std::chrono::milliseconds(100));
    REQUIRE(down);
    auto h = json_of(api.get("/health"));
    CHECK(h.at("status") == "DOWN");
    const auto& item = h.at("down").as_array().at(0);
    CHECK(item.at("component") == "journal");
    CHECK(item.at("reason").as_string().find("restart the node") != std::string::npos);
    CHECK(api.start("wf-after-2", "d").status >= 500);
    CHECK(api.status("wf-before") == "COMPLETED");  // reads go on
    CHECK(n.proc().stdout_text().find("GET /health is DOWN: journal stopped") != std::string::npos);
    n.proc().signal(SIGTERM);
    CHECK(n.proc().wait(std::chrono::seconds(40)).has_value());
  }
  // What a liveness probe's restart does: the node opens the journal again and writes.
  node n(args, env);
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  CHECK(api.get("/health").status == 200);
  CHECK(api.status("wf-before") == "COMPLETED");
  CHECK(api.get("/api/v1/workflows/wf-failed").status == 404);  // refused, not half-written
  api.started("wf-restarted", "d");
  CHECK(api.wait_status("wf-restarted", "COMPLETED") == "COMPLETED");
}
#endif

TEST_CASE("bytes-per-sync reaches the journal, the snapshot store and the workflow index") {
  temp_dir data;
  auto args = data_dirs(data);
  args.emplace_back("-Dpekko.persistence.journal.rocksdb.bytes-per-sync=2MiB");
  node n(args);
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  for (const auto* store : {"journal", "snapshots", "workflow-index"}) {
    CAPTURE(store);
    const auto options = rocksdb_options_file(data.path() / "data" / store);
    CHECK(rocksdb_option_is(options, "bytes_per_sync", "2097152"));
    CHECK(rocksdb_option_is(options, "strict_bytes_per_sync", "true"));
  }
}

// A signal step ({"task":"signal","input":{"name":…}}) runs nothing: the workflow waits
// for the signal with no task in flight, so it passivates and a kill -9 loses nothing and
// fails nothing over; the signal, sent after the restart, completes the step with its
// payload.
TEST_CASE("a signal step waits through passivation and kill -9, then its signal completes it") {
  temp_dir data;
  auto log_file = (data.path() / "application.log").string();
  auto args = data_dirs(data);
  args.push_back("-Dpekko.workflow.logging.file=" + log_file);
  args.push_back("-Dpekko.cluster.sharding.passivate-idle-entity-after=300ms");
  {
    node n(args);
    REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
    workflow_api api(n.http_port());
    api.define("approval", R"([{"name":"approve","task":"signal","input":{"name":"approved"},
        "timeoutMs":600000},{"name":"ship","task":"noop","dependsOn":["approve"]}])");
    api.started("wf-appr", "approval");
    auto wf = api.workflow("wf-appr");
    CHECK(wf.at("status") == "RUNNING");
    CHECK(step_status(wf, "approve") == "RUNNING");
    CHECK(step_status(wf, "ship") == "PENDING");
    // Passivated while it waits (a step with a task in flight would keep it alive).
    passivate_then_kill9(n);
  }
  node n(args);
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  const auto waiting = api.workflow("wf-appr");
  for (const auto& s : waiting.at("steps").as_array()) {
    if (s.at("name") != "approve") continue;
    CHECK(s.at("status") == "RUNNING");
    CHECK(s.at("awaitingSignal") == "approved");
  }
  auto sig = api.post("/api/v1/workflows/wf-appr/signals/approved",
                      json::value(json::object{{"by", "ann"}}));
  REQUIRE_MESSAGE(sig.status == 200, sig.body);
  CHECK(json_of(sig).at("status") == "COMPLETED");  // ship is a noop: done in the same write
  auto wf = api.workflow("wf-appr");
  CHECK(wf.at("status") == "COMPLETED");
  for (const auto& s : wf.at("steps").as_array()) {
    if (s.at("name") != "approve") continue;
    CHECK(s.at("output").at("by") == "ann");
    CHECK_FALSE(s.as_object().contains("awaitingSignal"));
  }
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);
  int status = -1;
  shell_output("grep -q \"workflow_failover\" " + log_file, status);
  CHECK(status != 0);  // nothing was in flight
}

namespace {

// Milliseconds since the epoch of a history time ("2026-12-06T17:08:09.581Z").
std::int64_t epoch_ms(const json::value& at) {
  std::tm tm{};
  int ms = 0;
  const std::string s(at.as_string());
  REQUIRE(std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                      &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) == 7);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}

}  // namespace

// A timer step ({"task":"timer","input":{"ms":…}}) is a durable wait, not a task: it holds
// no worker slot (with one worker, two workflows waiting ten minutes do not hold up a
// sleep), the workflow passivates while it waits, and after kill -9 it completes when
// its timer is due, started once, with no request touching it and nothing failed over.
TEST_CASE("a timer step holds no worker slot, passivates, and completes untouched after kill -9") {
  temp_dir data;
  auto log_file = (data.path() / "application.log").string();
  auto args = data_dirs(data);
  args.push_back("-Dpekko.workflow.logging.file=" + log_file);
  args.push_back("-Dpekko.cluster.sharding.passivate-idle-entity-after=300ms");
  args.push_back("-Dpekko.workflow.max-workers=1");
  {
    node n(args);
    REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
    workflow_api api(n.http_port());
    api.define("long", R"([{"name":"wait","task":"timer","input":{"ms":600000}}])");
    api.define("quick", R"([{"name":"s","task":"sleep","input":{"ms":0}}])");
    api.define("later", R"([{"name":"wait","task":"timer","input":{"ms":2500}},
        {"name":"after","task":"noop","dependsOn":["wait"]}])");
    api.started("wf-long-1", "long");
    api.started("wf-long-2", "long");
    api.started("wf-quick", "quick");
    CHECK(api.wait_status("wf-quick", "COMPLETED") == "COMPLETED");
    api.started("wf-later", "later");
    const auto wf = api.workflow("wf-later");
    const auto& wait = wf.at("steps").as_array().at(0).as_object();
    CHECK(wait.at("status") == "RUNNING");
    const auto started = api.history("wf-later").at(2).as_object();  // Started, Scheduled, …
    REQUIRE(started.at("type") == "StepStarted");
    CHECK(epoch_ms(wait.at("wakesAt")) == epoch_ms(started.at("at")) + 2500);
    passivate_then_kill9(n);
  }
  node n(args);
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  CHECK(listed_with_status(api, "wf-later", "COMPLETED", std::chrono::seconds(20)));
  const auto events = api.history("wf-later");
  std::int64_t started_at = 0;
  std::int64_t completed_at = 0;
  int starts = 0;
  for (const auto& e : events) {
    if (e.at("data").as_object().if_contains("step") == nullptr ||
        e.at("data").at("step") != "wait") {
      continue;
    }
    if (e.at("type") == "StepStarted") {
      ++starts;
      started_at = epoch_ms(e.at("at"));
    }
    if (e.at("type") == "StepCompleted") completed_at = epoch_ms(e.at("at"));
  }
  CHECK(starts == 1);  // not started over by the restart
  CHECK(completed_at >= started_at + 2500);
  CHECK(api.event_types("wf-later").back() == "WorkflowCompleted");
  CHECK(api.status("wf-long-1") == "RUNNING");
  n.proc().signal(SIGTERM);
  CHECK(n.proc().wait(std::chrono::seconds(40)) == 0);
  int status = -1;
  shell_output("grep -q \"workflow_failover\" " + log_file, status);
  CHECK(status != 0);  // nothing was in flight
}
