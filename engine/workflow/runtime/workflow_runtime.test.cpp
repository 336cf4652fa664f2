// Workflows end to end inside the runtime (real dispatcher, index, timer service and
// RocksDB journal): completion, retries, dead letters, and restarts that continue
// without any request touching the workflow.
#include "engine/workflow/runtime/workflow_runtime.hpp"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iterator>
#include <optional>
#include <string_view>
#include <thread>

#include <doctest/doctest.h>

#include <rocksdb/db.h>

#include "engine/core/logging.hpp"
#include "engine/workflow/runtime/runtime_test_fixture.hpp"
#include "engine/workflow/runtime/shard_hash.hpp"
#include "engine/workflow/store/index_codec.hpp"
#include "engine/workflow/tasks/task_messages.hpp"
#include "engine/workflow/workflow_codec.hpp"
#include "tests/support/cancellable_handler.hpp"
#include "tests/support/load_settings.hpp"

using namespace wfe::workflow;
using namespace wfe::workflow::runtime;
using namespace wfe::workflow::runtime::test;
namespace json = boost::json;

namespace {

using wfe::workflow::runtime::shard_of;

bool indexed_as(incarnation& node, const std::string& id, workflow_status s) {
  return eventually([&] {
    auto r = node.record(id);
    return r && r->status == s;
  });
}

// The workflow's journaled events, by type name.
std::vector<std::string> history_types(incarnation& node, const std::string& id) {
  const wfe::persistence::persistence_id pid{wfe::persistence::shard_id{shard_of(id, 8)}, id};
  std::vector<std::string> types;
  auto n = node.journal().replay(pid, 1, UINT64_MAX, UINT64_MAX, [&](const auto& e) {
    auto d = decode_event(e.manifest, e.payload, node.parts.definitions.get());
    types.emplace_back(d ? event_type_name(d->body) : "undecodable");
  });
  CHECK(n.has_value());
  return types;
}

// workflow_tasks_total summed over task types: the tasks the dispatcher finished or
// refused, only those of `outcome` when one is given.
double tasks_total(incarnation& node, std::string_view outcome = {}) {
  double n = 0;
  for (const auto& fam : node.registry().Collect()) {
    if (fam.name != "workflow_tasks_total") continue;
    for (const auto& m : fam.metric) {
      const bool counted =
          outcome.empty() || std::any_of(m.label.begin(), m.label.end(), [&](const auto& l) {
            return l.name == "outcome" && l.value == outcome;
          });
      if (counted) n += m.counter.value;
    }
  }
  return n;
}

const std::vector<std::string> k_three_noops_history{
    "WorkflowStarted", "StepScheduled", "StepStarted",      "StepCompleted",
    "StepScheduled",   "StepStarted",   "StepCompleted",    "StepScheduled",
    "StepStarted",     "StepCompleted", "WorkflowCompleted"};

}  // namespace

TEST_CASE("inline-noop off: a 3-step noop workflow runs to COMPLETED through the real dispatcher") {
  wfe::test::temp_dir dir;
  auto c = default_config(dir.path());
  c.runtime.inline_noop = false;
  incarnation node(dir.path(), c);
  auto r = node.ok("wf-3", start("wf-3", definition(k_three_noops)));
  CHECK_FALSE(r.rejected);
  CHECK(r.status == workflow_status::running);
  REQUIRE(indexed_as(node, "wf-3", workflow_status::completed));
  auto s = node.state("wf-3");
  CHECK(s.status == workflow_status::completed);
  for (const auto& st : s.steps) {
    CHECK(st.status == step_status::completed);
    CHECK(st.attempts == 1);
  }
  auto rec = node.record("wf-3");
  REQUIRE(rec);
  CHECK(rec->definition == "three");
  CHECK(rec->version == 1);
  CHECK(tasks_total(node) == 3.0);
  CHECK(history_types(node, "wf-3") == k_three_noops_history);
}

TEST_CASE("inline-noop: a noop workflow completes in the write of its start, same history") {
  wfe::test::temp_dir dir;
  incarnation node(dir.path(), default_config(dir.path()));
  auto r = node.ok("wf-3", start("wf-3", definition(k_three_noops)));
  CHECK_FALSE(r.rejected);
  // Answered after the write that holds the whole run: nothing is left to happen.
  CHECK(r.status == workflow_status::completed);
  CHECK(history_types(node, "wf-3") == k_three_noops_history);
  auto s = node.state("wf-3");
  for (const auto& st : s.steps) {
    CHECK(st.status == step_status::completed);
    CHECK(st.attempts == 1);
    CHECK(st.output == boost::json::object{});
  }
  REQUIRE(indexed_as(node, "wf-3", workflow_status::completed));
  CHECK(tasks_total(node) == 0.0);

  // A noop after a dispatched step runs in the write of that step's completion.
  auto mixed = definition(R"({"name":"mixed","steps":[{"name":"nap","task":"sleep",
      "input":{"ms":1}},{"name":"z","task":"noop","dependsOn":["nap"]}]})");
  CHECK(node.ok("wf-m", start("wf-m", mixed)).status == workflow_status::running);
  REQUIRE(indexed_as(node, "wf-m", workflow_status::completed));
  CHECK(history_types(node, "wf-m") ==
        std::vector<std::string>{"WorkflowStarted", "StepScheduled", "StepStarted", "StepCompleted",
                                 "StepScheduled", "StepStarted", "StepCompleted",
                                 "WorkflowCompleted"});
  CHECK(tasks_total(node) == 1.0);
}

// tasks.start-report-delay through the region: a step's start is reported late (or
// with its result) and still journaled dated when the attempt began.
TEST_CASE("a dispatched step's late start report is journaled dated when the attempt began") {
  wfe::test::temp_dir dir;
  auto c = default_config(dir.path());
  c.tasks.start_report_delay = 150ms;
  incarnation node(dir.path(), c);
  auto def = definition(R"({"name":"naps","steps":[{"name":"long","task":"sleep",
      "input":{"ms":500}},{"name":"short","task":"sleep","input":{"ms":0},"dependsOn":["long"]}]})");
  CHECK(node.ok("wf-n", start("wf-n", def)).status == workflow_status::running);
  REQUIRE(indexed_as(node, "wf-n", workflow_status::completed));
  const wfe::persistence::persistence_id pid{wfe::persistence::shard_id{shard_of("wf-n", 8)},
                                             "wf-n"};
  std::vector<std::pair<std::string, std::int64_t>> evs;  // type, at_ms
  auto n = node.journal().replay(pid, 1, UINT64_MAX, UINT64_MAX, [&](const auto& e) {
    auto d = decode_event(e.manifest, e.payload, node.parts.definitions.get());
    REQUIRE(d);
    evs.emplace_back(event_type_name(d->body), d->at_ms);
  });
  REQUIRE(n.has_value());
  std::vector<std::string> types;
  for (const auto& e : evs) types.push_back(e.first);
  REQUIRE(types == std::vector<std::string>{"WorkflowStarted", "StepScheduled", "StepStarted",
                                            "StepCompleted", "StepScheduled", "StepStarted",
                                            "StepCompleted", "WorkflowCompleted"});
  for (std::size_t i = 1; i < evs.size(); ++i) CHECK(evs[i - 1].second <= evs[i].second);
  // The 500 ms sleep's start was reported ~150 ms after it began, dated at its beginning:
  // its StepStarted is about 500 ms before its StepCompleted, not ~350.
  CHECK(evs[3].second - evs[2].second >= 480);
}

// A worker's complete is acknowledged once the workflow has journaled what it decided:
// right after the 200 (here: the dispatcher's ok), the journal already holds it.
TEST_CASE("an external worker's completion is acknowledged after its events are journaled") {
  wfe::test::temp_dir dir;
  incarnation node(dir.path(), default_config(dir.path()));
  auto def = definition(R"({"name":"ext","steps":[{"name":"a","task":"queue:acks"}]})");
  CHECK(node.ok("wf-x", start("wf-x", def)).status == workflow_status::running);
  caf::scoped_actor self{node.sys()};
  poll_reply task;
  REQUIRE(wfe::test::eventually(
      [&] {
        self->request(node.parts.dispatcher, 5s, task_poll_atom::value,
                      external_poll{"acks", "w", 0})
            .receive([&](poll_reply& r) { task = std::move(r); }, [](caf::error&) {});
        return task.what == poll_reply::status::task;
      },
      10s, 10ms));
  auto got = token_reply::status::not_found;
  self->request(node.parts.dispatcher, 10s, task_complete_atom::value, task.token,
                external_completion{boost::json::object{{"n", 1}}})
      .receive([&](token_reply& r) { got = r.what; }, [](caf::error&) {});
  REQUIRE(got == token_reply::status::ok);
  // No waiting: the acknowledgement came after the write.
  CHECK(history_types(node, "wf-x") == std::vector<std::string>{"WorkflowStarted", "StepScheduled",
                                                                "StepStarted", "StepCompleted",
                                                                "WorkflowCompleted"});
}

TEST_CASE("fail {times:2} with retries completes on the third attempt") {
  wfe::test::temp_dir dir;
  incarnation node(dir.path(), default_config(dir.path()));
  auto d = definition(R"({"name":"flaky","steps":[{"name":"a","task":"fail","input":{"times":2},
      "retry":{"maxAttempts":3,"initialIntervalMs":10,"maxIntervalMs":20}}]})");
  CHECK_FALSE(node.ok("wf-f", start("wf-f", d)).rejected);
  REQUIRE(indexed_as(node, "wf-f", workflow_status::completed));
  auto s = node.state("wf-f");
  CHECK(s.find_step("a")->attempts == 3);
}

TEST_CASE("exhausted retries -> FAILED + dead letter -> retry -> COMPLETED") {
  wfe::test::temp_dir dir;
  incarnation node(dir.path(), default_config(dir.path()));
  auto d = definition(R"({"name":"dl","steps":[{"name":"a","task":"noop"},
      {"name":"b","task":"fail","input":{"times":2},"dependsOn":["a"],
       "retry":{"maxAttempts":2,"initialIntervalMs":10}}]})");
  CHECK_FALSE(node.ok("wf-d", start("wf-d", d)).rejected);
  REQUIRE(indexed_as(node, "wf-d", workflow_status::failed));
  REQUIRE(eventually([&] { return node.dead_letter("wf-d").has_value(); }));
  auto letter = node.dead_letter("wf-d");
  CHECK(letter->workflow_id == "wf-d");
  CHECK(letter->step == "b");
  CHECK(letter->attempts == 2);

  auto retried = node.ok("wf-d", cmd::retry_from_dead_letter{});
  CHECK_FALSE(retried.rejected);
  REQUIRE(indexed_as(node, "wf-d", workflow_status::completed));
  CHECK(eventually([&] { return !node.dead_letter("wf-d").has_value(); }));
  CHECK(node.state("wf-d").find_step("b")->attempts == 3);
}

TEST_CASE("signals and cancel reach the entity, a cancelled workflow refuses commands") {
  wfe::test::temp_dir dir;
  incarnation node(dir.path(), default_config(dir.path()));
  auto d =
      definition(R"({"name":"wait","steps":[{"name":"a","task":"sleep","input":{"ms":60000}}]})");
  CHECK_FALSE(node.ok("wf-c", start("wf-c", d)).rejected);
  CHECK_FALSE(node.ok("wf-c", cmd::signal{"hello", boost::json::value(1)}).rejected);
  auto c = node.ok("wf-c", cmd::cancel{"test"});
  CHECK_FALSE(c.rejected);
  CHECK(c.status == workflow_status::cancelled);
  REQUIRE(indexed_as(node, "wf-c", workflow_status::cancelled));
  auto late = node.ok("wf-c", cmd::signal{"again", nullptr});
  REQUIRE(late.rejected);
  CHECK(late.rejected->code == rejection_code::finished);
  CHECK(node.state("wf-c").signals.size() == 1);
}

TEST_CASE("after a restart a workflow waiting on a retry timer continues by itself") {
  wfe::test::temp_dir dir;
  auto d = definition(R"({"name":"later","steps":[{"name":"a","task":"fail","input":{"times":1},
      "retry":{"maxAttempts":2,"initialIntervalMs":300}},{"name":"b","task":"noop","dependsOn":["a"]}]})");
  {
    incarnation node(dir.path(), default_config(dir.path()));
    CHECK_FALSE(node.ok("wf-r", start("wf-r", d)).rejected);
    REQUIRE(eventually([&] {
      auto s = node.state("wf-r");
      return s.find_step("a")->status == step_status::retry_wait;
    }));
  }  // the whole runtime stops; RocksDB closes
  incarnation again(dir.path(), default_config(dir.path()));
  // Not even woken at start (no task in flight): the timer, loaded from the index, wakes
  // it. Only the index is asked: nothing touches the entity.
  CHECK(again.parts.to_wake == 0);
  REQUIRE(indexed_as(again, "wf-r", workflow_status::completed));
  CHECK(again.state("wf-r").find_step("a")->attempts == 2);
}

// Waking every RUNNING workflow at start recovered each one waiting for a timer days
// away too: a restart cost a recovery per such workflow (100k+ of them kept the node busy
// for seconds and filled max-active-entities). Only those with a task in flight (lost
// with the dispatcher's memory) need it.
TEST_CASE("a restart wakes only the RUNNING workflows with a task in flight") {
  wfe::test::temp_dir dir;
  auto waits = definition(R"({"name":"waits","steps":[{"name":"a","task":"fail",
      "input":{"times":1},"retry":{"maxAttempts":2,"initialIntervalMs":3600000}}]})");
  auto queued = definition(R"({"name":"queued","steps":[{"name":"a","task":"queue:nobody"}]})");
  {
    incarnation node(dir.path(), default_config(dir.path()));
    CHECK_FALSE(node.ok("wf-idle", start("wf-idle", waits)).rejected);
    CHECK_FALSE(node.ok("wf-busy", start("wf-busy", queued)).rejected);
    REQUIRE(eventually([&] {
      auto idle = node.record("wf-idle");
      auto busy = node.record("wf-busy");
      return idle && busy && !idle->tasks_in_flight && busy->tasks_in_flight;
    }));
    CHECK(node.state("wf-idle").find_step("a")->status == step_status::retry_wait);
  }
  incarnation again(dir.path(), default_config(dir.path()));
  CHECK(again.parts.to_wake == 1);
  // The busy one is recovered by itself and its task queued again...
  REQUIRE(eventually([&] { return again.stats().active == 1; }));
  // ...the idle one recovers when asked, as it was.
  auto s = again.state("wf-idle");
  CHECK(s.status == workflow_status::running);
  CHECK(s.find_step("a")->status == step_status::retry_wait);
  CHECK(s.timers.size() == 1);
}

// A workflow left asleep relies on its timers in the index; if they do not decode, the
// start-up recovers it (which writes them again) instead of losing its retry for good.
TEST_CASE("a sleeping workflow whose timers in the index are damaged is recovered at start") {
  wfe::test::temp_dir dir;
  auto waits = definition(R"({"name":"waits","steps":[{"name":"a","task":"fail",
      "input":{"times":1},"retry":{"maxAttempts":2,"initialIntervalMs":3600000}}]})");
  const auto config = default_config(dir.path());
  {
    incarnation node(dir.path(), config);
    CHECK_FALSE(node.ok("wf-t", start("wf-t", waits)).rejected);
    REQUIRE(eventually([&] {
      auto r = node.record("wf-t");
      return r && !r->tasks_in_flight;
    }));
  }
  {
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(rocksdb::Options{}, config.store.index.dir.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string key;  // the set's key names its first due time
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions{}));
    for (it->Seek("w"); it->Valid() && it->key().starts_with("w"); it->Next()) {
      auto k = store::codec::parse_timers_key(it->key().ToStringView());
      if (k && k->id == "wf-t") key = it->key().ToString();
    }
    it.reset();
    REQUIRE_FALSE(key.empty());
    REQUIRE(db->Put(rocksdb::WriteOptions{}, key, "damaged").ok());
    REQUIRE(db->Close().ok());
  }
  incarnation again(dir.path(), config);
  CHECK(again.parts.to_wake == 1);
  // Recovered by itself, its retry timer is held again (no request touched it).
  REQUIRE(eventually([&] {
    caf::scoped_actor self{again.sys()};
    std::uint64_t pending = 0;
    self->request(again.parts.timers, 10s, store::get_timer_stats{})
        .receive([&](const store::timer_stats& s) { pending = s.pending; }, [](caf::error&) {});
    return pending == 1;
  }));
}

// The timer service holds at most max-timers; the rest stay in the index and are read
// back as room frees. Before, a workflow whose timers did not fit waited until something
// else recovered it.
TEST_CASE("more waiting workflows than max-timers: after a restart every one completes") {
  wfe::test::temp_dir dir;
  auto d = definition(R"({"name":"later","steps":[{"name":"a","task":"fail","input":{"times":1},
      "retry":{"maxAttempts":2,"initialIntervalMs":2000}},{"name":"b","task":"noop","dependsOn":["a"]}]})");
  auto config = default_config(dir.path());
  config.store.timers.max_timers = 2;
  config.store.timers.reload_interval = 50ms;
  const std::vector<std::string> ids{"wf-1", "wf-2", "wf-3", "wf-4", "wf-5", "wf-6", "wf-7"};
  {
    incarnation node(dir.path(), config);
    // Five of seven do not fit while they wait: they rely on the index already.
    for (const auto& id : ids) CHECK_FALSE(node.ok(id, start(id, d)).rejected);
    REQUIRE(eventually([&] {
      return std::all_of(ids.begin(), ids.end(), [&](const auto& id) {
        auto r = node.record(id);
        return r && (r->status == workflow_status::completed || !r->tasks_in_flight);
      });
    }));
  }
  incarnation again(dir.path(), config);
  CHECK(again.parts.to_wake == 0);
  for (const auto& id : ids) REQUIRE(indexed_as(again, id, workflow_status::completed));
  caf::scoped_actor self{again.sys()};
  self->request(again.parts.timers, 10s, store::get_timer_stats{})
      .receive(
          [&](const store::timer_stats& s) {
            CHECK(s.reloads >= 1);
            CHECK_FALSE(s.overflowed);
            CHECK(s.pending == 0);
          },
          [](caf::error& e) { FAIL(caf::to_string(e)); });
}

// Cancelling a workflow tells the dispatcher: its running C++ handler is asked to stop
// (task_context::cancelled) instead of running to its end.
TEST_CASE("cancelling a workflow cancels its running C++ handler") {
  wfe::test::temp_dir dir;
  auto config = default_config(dir.path());
  config.handlers = std::make_shared<task_handlers>();
  wfe::test::cancellable_handler long_one;
  config.handlers->register_handler("long", long_one.fn());
  const auto d =
      definition(R"({"name":"long","steps":[{"name":"a","task":"long"}]})", config.handlers.get());
  incarnation node(dir.path(), config);
  CHECK_FALSE(node.ok("wf-l", start("wf-l", d)).rejected);
  REQUIRE(eventually([&] { return long_one.running->load(); }));
  CHECK(node.ok("wf-l", cmd::cancel{"test"}).status == workflow_status::cancelled);
  CHECK(eventually([&] { return long_one.saw_cancel->load(); }));
}

// A C++ handler sees what its workflow knows: the start's input and the outputs of the
// steps it depends on (task_context).
TEST_CASE("a C++ handler receives the workflow's input and its dependencies' outputs") {
  wfe::test::temp_dir dir;
  auto config = default_config(dir.path());
  config.handlers = std::make_shared<task_handlers>();
  config.handlers->register_handler("make", [](const json::value&, const task_context&) {
    return task_result::success(json::object{{"v", 7}});
  });
  config.handlers->register_handler("echo", [](const json::value& input, const task_context& ctx) {
    return task_result::success(
        json::object{{"input", input},
                     {"workflowInput", *ctx.workflow_input},
                     {"fromA", ctx.output_of("a") ? *ctx.output_of("a") : json::value("missing")},
                     {"others", ctx.dependency_outputs.size()},
                     {"notADependency", ctx.output_of("c") == nullptr}});
  });
  const auto d = definition(R"({"name":"flow","steps":[{"name":"a","task":"make"},
      {"name":"c","task":"make"},
      {"name":"b","task":"echo","input":{"static":true},"dependsOn":["a"]}]})",
                            config.handlers.get());
  incarnation node(dir.path(), config);
  auto st = start("wf-f", d);
  st.input = json::object{{"orderId", 42}};
  CHECK_FALSE(node.ok("wf-f", std::move(st)).rejected);
  REQUIRE(eventually([&] { return node.state("wf-f").status == workflow_status::completed; }));
  const auto out = node.state("wf-f").find_step("b")->output;
  CHECK(out->at("input").at("static") == true);
  CHECK(out->at("workflowInput").at("orderId") == 42);
  CHECK(out->at("fromA").at("v") == 7);
  CHECK(out->at("others") == 1);
  CHECK(out->at("notADependency") == true);
}

TEST_CASE("a journaled start names its definition: a restart resolves it from the registry") {
  wfe::test::temp_dir dir;
  wfe::test::temp_dir elsewhere;
  const auto waits = definition(R"({"name":"waits","steps":[{"name":"a","task":"fail",
      "input":{"times":1},"retry":{"maxAttempts":2,"initialIntervalMs":3600000}},
      {"name":"b","task":"noop","dependsOn":["a"]}]})");
  const wfe::persistence::persistence_id pid{wfe::persistence::shard_id{shard_of("wf-n", 8)},
                                             "wf-n"};
  std::vector<wfe::persistence::event> events;
  {
    incarnation node(dir.path(), default_config(dir.path()));
    CHECK_FALSE(node.ok("wf-n", start("wf-n", waits)).rejected);
    REQUIRE(eventually(
        [&] { return node.state("wf-n").find_step("a")->status == step_status::retry_wait; }));
    REQUIRE(node.journal().replay(pid, 1, UINT64_MAX, UINT64_MAX,
                                  [&](const auto& e) { events.push_back(e); }));
  }
  REQUIRE_FALSE(events.empty());
  CHECK(events.front().manifest == k_event_manifest);
  CHECK(events.front().payload.find("dependsOn") == std::string::npos);  // named, not copied
  {
    incarnation again(dir.path(), default_config(dir.path()));
    auto s = again.state("wf-n");  // recovered: the definition comes from the registry
    CHECK(s.definition->steps.size() == 2);
    CHECK(s.find_step("a")->status == step_status::retry_wait);
    CHECK_FALSE(again.ok("wf-n", cmd::cancel{}).rejected);
  }
  // The same events in a journal without the registry's: the workflow does not recover,
  // and the error names the definition (never a workflow without steps).
  {
    auto j =
        wfe::persistence::rocksdb_journal::open({.dir = elsewhere.path() / "journal"}, nullptr);
    REQUIRE(j);
    REQUIRE((*j)->write(pid, events));
  }
  incarnation lost(elsewhere.path(), default_config(elsewhere.path()));
  auto r = lost.ask("wf-n", cmd::get{});
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("definition 'waits' version 1 is not in this node's "
                               "definition registry") != std::string::npos);
}

TEST_CASE("after a restart a scheduled/running task is dispatched again") {
  wfe::test::temp_dir dir;
  auto d = definition(R"({"name":"slow","steps":[{"name":"a","task":"sleep","input":{"ms":200}},
      {"name":"b","task":"noop","dependsOn":["a"]}]})");
  {
    incarnation node(dir.path(), default_config(dir.path()));
    CHECK_FALSE(node.ok("wf-s", start("wf-s", d)).rejected);
  }  // stops while `a` sleeps (or before it started): the dispatcher loses it
  incarnation again(dir.path(), default_config(dir.path()));
  REQUIRE(indexed_as(again, "wf-s", workflow_status::completed));
  CHECK(again.state("wf-s").status == workflow_status::completed);
}

// A restart that finds steps in flight is a failover of their workflows: counted, and
// logged as "workflow_failover" events up to failover-log-limit (then one line says so).
// A workflow waiting on a timer had nothing in flight: neither.
TEST_CASE(
    "a restart counts and logs (up to its limit) the workflows resumed with steps in flight") {
  wfe::test::temp_dir dir;
  auto d =
      definition(R"({"name":"long","steps":[{"name":"a","task":"sleep","input":{"ms":60000}}]})");
  auto waits = definition(R"({"name":"waits","steps":[{"name":"t","task":"fail","input":{"times":1},
      "retry":{"maxAttempts":2,"initialIntervalMs":3600000,"backoffCoefficient":1.0,"maxIntervalMs":3600000}}]})");
  {
    incarnation node(dir.path(), default_config(dir.path()));
    for (const char* id : {"wf-1", "wf-2", "wf-3"}) CHECK_FALSE(node.ok(id, start(id, d)).rejected);
    CHECK_FALSE(node.ok("wf-t", start("wf-t", waits)).rejected);
    REQUIRE(eventually([&] {
      return node.state("wf-t").find_step("t")->status == step_status::retry_wait &&
             node.state("wf-3").find_step("a")->status == step_status::running;
    }));
    // Past the index's update linger: the records say which have a task in flight.
    REQUIRE(eventually([&] {
      auto r = node.record("wf-t");
      return r && !r->tasks_in_flight;
    }));
  }  // stops while the three sleep: the dispatcher loses their tasks
  wfe::core::logging_settings log;
  log.file = (dir.path() / "app.log").string();
  REQUIRE(wfe::core::init_logging(log).empty());
  auto config = default_config(dir.path());
  config.runtime.failover_log_limit = 2;
  {
    incarnation again(dir.path(), config);
    auto failovers = [&] { return again.metric("workflow_failovers_total"); };
    REQUIRE(eventually([&] { return failovers() == 3; }));
    CHECK(again.state("wf-t").find_step("t")->status == step_status::retry_wait);  // recovers it
    std::this_thread::sleep_for(100ms);
    CHECK(failovers() == 3);
  }
  wfe::core::init_logging(wfe::core::logging_settings{});
  std::ifstream in(dir.path() / "app.log");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t events = 0;
  for (auto p = text.find(R"("event":"workflow_failover")"); p != std::string::npos;
       p = text.find(R"("event":"workflow_failover")", p + 1)) {
    ++events;
  }
  CHECK(events == 2);
  CHECK(text.find(R"x("steps":"a (attempt 1, RUNNING)")x") != std::string::npos);
  CHECK(text.find("wf-t") == std::string::npos);
  CHECK(text.find("more than 2 workflows resumed with steps in flight") != std::string::npos);
}

// A step RUNNING at a recovery (it had started before a crash) is re-dispatched; when
// a full queue refuses that, the refusal must bring it back like a SCHEDULED step's.
// (Found by killing a node under load: such workflows stayed RUNNING for good.)
TEST_CASE("a refused re-dispatch of a RUNNING step is offered again") {
  // A local handler, so the re-offer runs again wherever it lands (an external
  // attempt's re-dispatch would find its live lease and be dropped: tasks/README.md).
  wfe::test::temp_dir dir;
  auto config = default_config(dir.path());
  config.handlers = std::make_shared<task_handlers>();
  wfe::test::cancellable_handler hold;  // runs until cancelled
  config.handlers->register_handler("hold", hold.fn());
  incarnation node(dir.path(), config);
  CHECK_FALSE(node.ok("wf", start("wf", definition(R"({"name":"w","steps":[{"name":"a",)"
                                                   R"("task":"hold"}]})",
                                                   config.handlers.get())))
                  .rejected);
  REQUIRE(eventually(
      [&] { return node.state("wf").find_step("a")->status == step_status::running; }, 10s));
  REQUIRE(eventually([&] { return hold.runs->load() == 1; }, 10s));
  // The dispatcher's "refused, now there is room" for attempt 1 (what follows a refused
  // re-dispatch after a recovery).
  task_update refused;
  refused.what = task_update::kind::resubmit;
  refused.workflow_id = "wf";
  refused.step = "a";
  refused.attempt = 1;
  caf::anon_send(node.parts.router.route("wf"), std::move(refused));
  CHECK(eventually([&] { return hold.runs->load() == 2; }, 10s));                  // offered again
  CHECK(node.ok("wf", cmd::cancel{"test"}).status == workflow_status::cancelled);  // ends both
}

TEST_CASE("the resubmit delay doubles per refusal of an attempt up to its max (both keys read)") {
  auto [s, errors] = wfe::test::read_settings<runtime_settings>(
      "pekko.workflow.runtime.task-resubmit-delay = 100ms\n"
      "pekko.workflow.runtime.task-resubmit-max-delay = 1s\n");
  REQUIRE(errors.empty());
  CHECK(s.resubmit_delay(0) == 100ms);
  CHECK(s.resubmit_delay(1) == 200ms);
  CHECK(s.resubmit_delay(3) == 800ms);
  CHECK(s.resubmit_delay(4) == 1s);
  CHECK(s.resubmit_delay(4'000'000'000U) == 1s);  // no overflow
  auto [defaults, none] = wfe::test::read_settings<runtime_settings>("");
  CHECK(none.empty());
  CHECK(defaults.resubmit_delay(0) == 1s);
  CHECK(defaults.resubmit_delay(10) == 30s);
  auto [bad, refused] = wfe::test::read_settings<runtime_settings>(
      "pekko.workflow.runtime.task-resubmit-delay = 2m\n");
  CHECK(refused.find("pekko.workflow.runtime.task-resubmit-delay") != std::string::npos);
  CHECK(refused.find("task-resubmit-max-delay") != std::string::npos);
}

TEST_CASE("a task refused again and again is re-offered with exponential backoff") {
  wfe::test::temp_dir dir;
  auto c = default_config(dir.path());
  c.tasks.max_queued = 1;  // one task per queue
  c.tasks.max_parked = 0;  // no parking: a refusal goes back to the workflow
  c.runtime.task_resubmit_delay = 1ms;
  c.runtime.task_resubmit_max_delay = 16ms;
  incarnation node(dir.path(), c);
  auto d = definition(R"({"name":"q","steps":[{"name":"a","task":"queue:nobody-polls"}]})");
  CHECK_FALSE(node.ok("holder", start("holder", d)).rejected);  // fills the queue
  const auto began = std::chrono::steady_clock::now();
  CHECK_FALSE(node.ok("refused", start("refused", d)).rejected);  // the start itself succeeds
  std::this_thread::sleep_for(400ms);
  const auto n = tasks_total(node, "rejected");
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - began)
                           .count();
  // Delays 1, 2, 4, 8, then 16 ms each (timers never fire early): at most 4 refusals in
  // the first 15 ms and one per 16 ms after. A fixed 1 ms (+ jitter) delay would be
  // refused ~250 times in 400 ms. A slow machine only lowers the count.
  CHECK(n >= 3);
  CHECK(n <= static_cast<double>(elapsed) / 16.0 + 6.0);
  auto s = node.state("refused");
  CHECK(s.status == workflow_status::running);
  CHECK(s.find_step("a")->status == step_status::scheduled);
}
