// The routing seam with real actors and a real RocksDB journal: shard choice and
// persistence ids, passivation after idle and transparent restart, the active-entity
// limit, rejections answered without persisting.
#include "engine/workflow/runtime/workflow_region.hpp"

#include <algorithm>
#include <future>
#include <optional>

#include <doctest/doctest.h>
#include <caf/scoped_actor.hpp>

#include "engine/workflow/runtime/runtime_test_fixture.hpp"
#include "engine/workflow/runtime/shard_hash.hpp"
#include "engine/workflow/task_protocol.hpp"
#include "tests/support/load_settings.hpp"

using namespace wfe::workflow;
using namespace wfe::workflow::runtime;
using namespace wfe::workflow::runtime::test;
using wfe::persistence::persistence_id;
using wfe::persistence::shard_id;

namespace {

const char* k_one_noop = R"({"name":"one","steps":[{"name":"a","task":"noop"}]})";

// Starts a 1-step noop workflow and waits until the index has it COMPLETED.
void start_completed(incarnation& node, const std::string& id) {
  CHECK_FALSE(node.ok(id, start(id, definition(k_one_noop))).rejected);
  REQUIRE(eventually([&] {
    auto r = node.record(id);
    return r && r->status == workflow_status::completed;
  }));
}

}  // namespace

TEST_CASE("the region routes an id to shard_of(id) and journals it under {shard, id}") {
  wfe::test::temp_dir dir;
  incarnation node(dir.path(), default_config(dir.path()));
  for (std::string id : {"wf-1", "order-42", "x"}) {
    auto r = node.ok(id, start(id, definition(k_one_noop)));
    CHECK_FALSE(r.rejected);
    CHECK(r.id == id);
    auto shard = shard_of(id, 8);
    auto highest = node.journal().highest_sequence_nr(persistence_id{shard_id{shard}, id});
    REQUIRE(highest);
    CHECK(*highest >= 1);
    auto other = node.journal().highest_sequence_nr(persistence_id{shard_id{(shard + 1) % 8}, id});
    REQUIRE(other);
    CHECK(*other == 0);
  }
}

TEST_CASE("a shard refuses a message for an id of another shard and persists nothing") {
  wfe::test::temp_dir dir;
  incarnation node(dir.path(), default_config(dir.path()));
  const std::string id = "order-42";
  const auto home = shard_of(id, 8);
  std::string other = "o";  // an id of another shard: its shard actor is the wrong one
  while (shard_of(other, 8) == home) other += "o";
  caf::scoped_actor self{node.sys()};
  entity_reply out = wfe::persistence::fail(wfe::persistence::errc::unavailable, "no answer");
  self->request(node.parts.router.route(other), 20s,
                entity_envelope{id, start(id, definition(k_one_noop))})
      .receive([&](entity_reply& r) { out = std::move(r); }, [](caf::error&) {});
  REQUIRE_FALSE(out);
  CHECK(out.error().message.find("misrouted") != std::string::npos);
  for (std::uint32_t shard = 0; shard < 8; ++shard) {
    auto highest = node.journal().highest_sequence_nr(persistence_id{shard_id{shard}, id});
    REQUIRE(highest);
    CHECK(*highest == 0);
  }
  // Routed by its id, the same start goes through.
  CHECK_FALSE(node.ok(id, start(id, definition(k_one_noop))).rejected);
}

TEST_CASE("rejected commands are answered and persist nothing") {
  wfe::test::temp_dir dir;
  incarnation node(dir.path(), default_config(dir.path()));
  auto missing = node.ok("nobody", cmd::signal{"go", nullptr});
  REQUIRE(missing.rejected);
  CHECK(missing.rejected->code == rejection_code::not_found);
  auto pid = persistence_id{shard_id{shard_of("nobody", 8)}, "nobody"};
  CHECK(*node.journal().highest_sequence_nr(pid) == 0);

  CHECK_FALSE(node.ok("dup", start("dup", definition(k_one_noop))).rejected);
  auto again = node.ok("dup", start("dup", definition(k_one_noop)));
  REQUIRE(again.rejected);
  CHECK(again.rejected->code == rejection_code::already_exists);
}

TEST_CASE("a command sent with a reply callback is answered through it, like a request") {
  wfe::test::temp_dir dir;
  incarnation node(dir.path(), default_config(dir.path()));
  auto started = node.call("cb-1", start("cb-1", definition(k_one_noop)));
  REQUIRE(started);
  CHECK_FALSE(started->rejected);
  CHECK(started->id == "cb-1");
  auto again = node.call("cb-1", start("cb-1", definition(k_one_noop)));
  REQUIRE(again);
  REQUIRE(again->rejected);
  CHECK(again->rejected->code == rejection_code::already_exists);
  auto missing = node.call("cb-none", cmd::signal{"go", nullptr});
  REQUIRE(missing);
  REQUIRE(missing->rejected);
  CHECK(missing->rejected->code == rejection_code::not_found);
  // The request path sees what the callback path wrote.
  CHECK(node.state("cb-1").id == "cb-1");
}

TEST_CASE("idle entities are passivated and restart transparently with their state") {
  wfe::test::temp_dir dir;
  auto cfg = default_config(dir.path());
  cfg.runtime.passivate_idle_after = 50ms;
  incarnation node(dir.path(), cfg);
  start_completed(node, "p-1");
  REQUIRE(eventually([&] { return node.stats().passivated >= 1 && node.stats().active == 0; }));
  const auto idle = node.stats().shard_entities;  // per shard, as GET /api/v1/cluster/shards
  REQUIRE(idle.size() == 8);
  CHECK(std::count(idle.begin(), idle.end(), 0u) == 8);
  auto s = node.state("p-1");  // a new incarnation of the entity, recovered
  CHECK(s.status == workflow_status::completed);
  REQUIRE(s.find_step("a"));
  CHECK(s.find_step("a")->status == step_status::completed);
  CHECK(node.stats().active >= 1);
  CHECK(node.stats().shard_entities.at(shard_of("p-1", 8)) == 1);
  // metrics
  auto families = node.registry().Collect();
  bool saw = false;
  for (const auto& f : families) {
    if (f.name == "workflow_entities_passivated_total") {
      saw = true;
      CHECK(f.metric.at(0).counter.value >= 1);
    }
  }
  CHECK(saw);
}

TEST_CASE("beyond max-active-entities the least recently used entities are passivated") {
  wfe::test::temp_dir dir;
  auto cfg = default_config(dir.path());
  cfg.runtime.number_of_shards = 1;
  cfg.runtime.max_active_entities = 3;
  incarnation node(dir.path(), cfg);
  for (int i = 0; i < 10; ++i) {
    auto id = "lim-" + std::to_string(i);
    CHECK(node.ok(id, cmd::cancel{}).rejected.has_value());  // not found, still spawned
  }
  REQUIRE(eventually([&] { return node.stats().active <= 3; }));
  CHECK(node.stats().passivated >= 7);
}

TEST_CASE("a start of an id that exists in the journal conflicts, recovers and answers 409") {
  wfe::test::temp_dir dir;
  auto pid = persistence_id{shard_id{shard_of("again", 8)}, "again"};
  std::uint64_t before = 0;
  {
    incarnation node(dir.path(), default_config(dir.path()));
    CHECK_FALSE(node.ok("again", start("again", definition(k_one_noop))).rejected);
    REQUIRE(eventually([&] {
      auto r = node.record("again");
      return r && r->status == workflow_status::completed;
    }));
    before = *node.journal().highest_sequence_nr(pid);
  }
  incarnation node(dir.path(), default_config(dir.path()));
  // The fresh entity writes optimistically; the journal refuses (sequence conflict).
  auto r = node.ok("again", start("again", definition(k_one_noop)));
  REQUIRE(r.rejected);
  CHECK(r.rejected->code == rejection_code::already_exists);
  CHECK(r.status == workflow_status::completed);
  CHECK(*node.journal().highest_sequence_nr(pid) == before);  // nothing persisted
  auto s = node.state("again");  // the entity recovered and keeps serving
  CHECK(s.status == workflow_status::completed);
  CHECK(s.find_step("a")->status == step_status::completed);
}

TEST_CASE("an entity whose recovery fails is forgotten, its shard and neighbours go on") {
  // Entities are hosted by their shard actor: a failing one must not take the shard
  // (or the other entities in it) down, and its next command must try a fresh
  // incarnation instead of finding a dead one.
  wfe::test::temp_dir dir;
  auto cfg = default_config(dir.path());
  cfg.runtime.number_of_shards = 1;  // every id in one shard
  incarnation node(dir.path(), cfg);
  CHECK_FALSE(node.ok("neighbour", start("neighbour", definition(k_one_noop))).rejected);
  const auto bad = persistence_id{shard_id{0}, "broken"};
  REQUIRE(node.journal()
              .write(bad, {wfe::persistence::event{1, "not-a-workflow-event", "?", "w", 0}})
              .has_value());
  auto active_before = node.stats().active;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto r = node.ask("broken", cmd::get{});
    REQUIRE_FALSE(r.has_value());
    // A fresh recovery each time (a dead incarnation would answer "has stopped").
    CHECK(r.error().code == wfe::persistence::errc::corruption);
    CHECK(r.error().message.find("broken@shard-0") != std::string::npos);
  }
  // The failed ones are not counted. The shard answers the failure first and then forgets
  // the entity (in the same handler, on its own thread): the count catches up right after
  // the answer (once read between the two under load by ctest -j2).
  CHECK(eventually([&] { return node.stats().active == active_before; }));
  CHECK(node.state("neighbour").id == "neighbour");
  CHECK_FALSE(node.ok("after", start("after", definition(k_one_noop))).rejected);
}

TEST_CASE("a message that reaches a shard before the runtime links waits for them") {
  // At start-up the timer service fires the overdue timers it loaded before the region
  // has its links. An entity started then kept a context without dispatcher, timers and
  // index: its StepScheduled was persisted, no task was dispatched, and the workflow
  // stayed RUNNING for good. Here a start arrives first; once the links are in, its
  // task must reach the dispatcher and its record the index.
  wfe::test::temp_dir dir;
  caf::actor_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  auto opened = wfe::persistence::rocksdb_journal::open({.dir = dir.path() / "journal"}, nullptr);
  REQUIRE(opened);
  std::shared_ptr<wfe::persistence::rocksdb_journal> journal = std::move(*opened);
  auto journal_actor = wfe::persistence::spawn_journal_actor(sys, {journal, nullptr, nullptr}, {});
  runtime_settings settings;
  settings.number_of_shards = 8;
  region_deps deps;
  deps.journal = &journal_actor;
  deps.entity.request_timeout = 10s;
  auto region = spawn_workflow_region(sys, settings, deps);
  struct stop_at_exit {  // also when a REQUIRE fails: the actor system waits for both
    caf::actor a, b;
    ~stop_at_exit() {
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
    }
  } stop{region.actor, journal_actor};

  const std::string id = "early";
  auto answer = std::make_shared<std::promise<entity_reply>>();
  auto got = answer->get_future();
  caf::anon_send(region.actor,
                 entity_envelope{id,
                                 start(id, definition(R"({"name":"s","steps":[
                                     {"name":"a","task":"sleep","input":{"ms":1}}]})")),
                                 [answer](entity_reply r) { answer->set_value(std::move(r)); }});
  caf::scoped_actor dispatcher{sys};
  caf::scoped_actor timers{sys};
  caf::scoped_actor index{sys};
  caf::scoped_actor self{sys};
  bool linked = false;
  self->request(region.actor, 10s, runtime_links{dispatcher, timers, index})
      .receive([&](std::uint32_t shards) { linked = shards == 8; }, [](caf::error&) {});
  REQUIRE(linked);
  REQUIRE(got.wait_for(20s) == std::future_status::ready);
  auto r = got.get();
  REQUIRE(r);
  CHECK_FALSE(r->rejected);

  std::optional<wfe::workflow::task_request> task;
  dispatcher->receive([&](wfe::workflow::task_request& t) { task = std::move(t); },
                      caf::after(std::chrono::seconds(10)) >> [] {});
  REQUIRE(task);
  CHECK(task->workflow_id == id);
  CHECK(task->step == "a");
  CHECK(task->attempt == 1);
  std::optional<store::index_update> update;
  index->receive([&](store::index_update& u) { update = std::move(u); },
                 caf::after(std::chrono::seconds(10)) >> [] {});
  REQUIRE(update);
  CHECK(update->record.id == id);
  CHECK(update->record.status == workflow_status::running);
}

TEST_CASE("shards hosted on a loop answer from it, and from the scheduler once detached") {
  wfe::test::temp_dir dir;
  incarnation node(dir.path(), default_config(dir.path()), /*shards_on_loop=*/true);
  auto started = node.call("loop-1", start("loop-1", definition(k_one_noop)));
  REQUIRE(started);
  CHECK_FALSE(started->rejected);

  // While the loop is held its shards handle nothing: the answer waits for the loop.
  auto start_held = [&node](wfe::test::loop_gate& gate, std::string id) {
    gate.hold(node.loop());
    auto held = std::async(std::launch::async, [&node, id = std::move(id)] {
      return node.call(id, start(id, definition(k_one_noop)));
    });
    CHECK(held.wait_for(300ms) == std::future_status::timeout);
    return held;
  };
  {
    wfe::test::loop_gate gate;
    auto held = start_held(gate, "loop-2");
    gate.release.set_value();
    auto r = held.get();
    REQUIRE(r);
    CHECK_FALSE(r->rejected);
  }
  // Detached while held: the queued shard goes to the scheduler and answers anyway.
  {
    wfe::test::loop_gate gate;
    auto held = start_held(gate, "loop-3");
    node.shard_dispatcher().detach();
    auto r = held.get();
    REQUIRE(r);
    CHECK_FALSE(r->rejected);
    gate.release.set_value();
  }
  for (const char* id : {"loop-1", "loop-2", "loop-3"}) {
    REQUIRE(eventually([&] {
      auto rec = node.record(id);
      return rec && rec->status == workflow_status::completed;
    }));
  }
  CHECK(node.state("loop-2").status == workflow_status::completed);
}

TEST_CASE("shard-dispatcher settings: on the HTTP io threads by default, or the scheduler") {
  auto [defaults, none] = wfe::test::read_settings<runtime_settings>("");
  CHECK(none.empty());
  CHECK(defaults.shards_on_http_io);
  CHECK(defaults.shard_dispatcher_throughput == 64);
  auto [set, ok] = wfe::test::read_settings<runtime_settings>(
      "pekko.workflow.runtime.shard-dispatcher = default\n"
      "pekko.workflow.runtime.shard-dispatcher-throughput = 5\n");
  CHECK(ok.empty());
  CHECK_FALSE(set.shards_on_http_io);
  CHECK(set.shard_dispatcher_throughput == 5);
  auto [bad, refused] = wfe::test::read_settings<runtime_settings>(
      "pekko.workflow.runtime.shard-dispatcher = io\n"
      "pekko.workflow.runtime.shard-dispatcher-throughput = 0\n");
  CHECK(refused.find("node.conf:1") != std::string::npos);
  CHECK(refused.find("pekko.workflow.runtime.shard-dispatcher:") != std::string::npos);
  CHECK(refused.find("node.conf:2") != std::string::npos);
  CHECK(refused.find("pekko.workflow.runtime.shard-dispatcher-throughput") != std::string::npos);
}

TEST_CASE("finished workflows are passivated after passivate-finished-after, running ones stay") {
  wfe::test::temp_dir dir;
  auto cfg = default_config(dir.path());  // idle entities stay for an hour
  cfg.runtime.passivate_finished_after = 50ms;
  incarnation node(dir.path(), cfg);
  auto waits = definition(
      R"({"name":"waits","steps":[{"name":"t","task":"timer","input":{"ms":3600000}}]})");
  CHECK_FALSE(node.ok("fin-1", start("fin-1", definition(k_one_noop))).rejected);
  CHECK_FALSE(node.ok("run-1", start("run-1", waits)).rejected);
  // Only the finished one goes: the running one is not finished, and not idle long enough.
  REQUIRE(eventually([&] { return node.stats().passivated == 1 && node.stats().active == 1; }));
  CHECK(node.stats().shard_entities.at(shard_of("run-1", 8)) == 1);
  CHECK(node.state("run-1").status == workflow_status::running);
  // Read again, the finished one is recovered, answers as it was, and goes again.
  auto s = node.state("fin-1");
  CHECK(s.status == workflow_status::completed);
  REQUIRE(s.find_step("a"));
  CHECK(s.find_step("a")->status == step_status::completed);
  REQUIRE(eventually([&] { return node.stats().passivated == 2 && node.stats().active == 1; }));
  // A cancelled (finished) workflow goes too.
  CHECK(node.ok("run-1", cmd::cancel{"done"}).status == workflow_status::cancelled);
  REQUIRE(eventually([&] { return node.stats().passivated == 3 && node.stats().active == 0; }));
}

TEST_CASE("with passivate-finished-after off a finished workflow stays until it is idle") {
  wfe::test::temp_dir dir;
  auto cfg = default_config(dir.path());
  cfg.runtime.passivate_finished_after = 0ms;
  cfg.runtime.passivate_idle_after = 400ms;
  incarnation node(dir.path(), cfg);
  start_completed(node, "fin-2");
  // Ticks every 100 ms (idle / 4): several pass before the entity is idle for 400 ms.
  std::this_thread::sleep_for(150ms);
  CHECK(node.stats().active == 1);
  CHECK(node.stats().passivated == 0);
  REQUIRE(eventually([&] { return node.stats().passivated == 1 && node.stats().active == 0; }));
}

TEST_CASE("passivate-finished-after: 5 s by default, a duration or off, refused otherwise") {
  auto [defaults, none] = wfe::test::read_settings<runtime_settings>("");
  CHECK(none.empty());
  CHECK(defaults.passivate_finished_after == 5s);
  auto [set, ok] = wfe::test::read_settings<runtime_settings>(
      "pekko.workflow.runtime.passivate-finished-after = 250ms\n");
  CHECK(ok.empty());
  CHECK(set.passivate_finished_after == 250ms);
  auto [off, ok_off] = wfe::test::read_settings<runtime_settings>(
      "pekko.workflow.runtime.passivate-finished-after = off\n");
  CHECK(ok_off.empty());
  CHECK(off.passivate_finished_after == 0ms);
  auto [bad, refused] = wfe::test::read_settings<runtime_settings>(
      "pekko.workflow.runtime.passivate-finished-after = soon\n");
  CHECK(refused.find("node.conf:1") != std::string::npos);
  CHECK(refused.find("pekko.workflow.runtime.passivate-finished-after") != std::string::npos);
}
