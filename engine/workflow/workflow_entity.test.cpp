// The workflow model inside the real event-sourced actor (memory journal): persisted,
// recovered after a restart, and rejections answered without persisting.
#include "engine/workflow/workflow_entity.hpp"

#include <atomic>

#include <doctest/doctest.h>
#include <boost/json.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "persistence/memory_journal.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::persistence::result<wfe::workflow::workflow_reply>)

using namespace wfe::workflow;
using wfe::persistence::ask_entity_blocking;
using wfe::persistence::eventsourced_config;
using wfe::persistence::eventsourced_deps;
using wfe::persistence::memory_journal;
using wfe::persistence::persistence_id;
using wfe::persistence::shard_id;
using wfe::persistence::spawn_eventsourced;
using wfe::persistence::spawn_journal_actor;
using namespace std::chrono_literals;

namespace {

workflow_definition two_steps() {
  auto d = parse_definition(R"({"name":"d","steps":[{"name":"a","task":"noop"},
      {"name":"b","task":"noop","dependsOn":["a"]}]})",
                            builtin_task_types());
  REQUIRE(d);
  d->version = 1;
  return *d;
}

struct entity_fixture {
  std::shared_ptr<memory_journal> store = std::make_shared<memory_journal>();
  std::atomic<std::int64_t> clock{5000};
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  eventsourced_deps deps;
  eventsourced_config es{.request_timeout = 10s, .replay_batch_size = 2, .snapshot_every = 0};
  const persistence_id pid{shard_id{1}, "wf-1"};
  // What the registry holds: a recovering workflow resolves its definition here.
  std::shared_ptr<definition_catalog> definitions = [] {
    auto c = std::make_shared<definition_catalog>();
    c->put(definition_ref(two_steps()));
    return c;
  }();

  entity_fixture() { deps.journal = spawn_journal_actor(sys, {store, nullptr, nullptr}, {}); }
  ~entity_fixture() { caf::anon_send_exit(deps.journal, caf::exit_reason::user_shutdown); }

  caf::actor spawn() {
    return spawn_eventsourced(
        sys, workflow_entity_model{[this] { return clock.load(); }, definitions}, pid, deps, es);
  }
  workflow_reply ask(const caf::actor& entity, command c) {
    auto r = ask_entity_blocking<workflow_entity_model>(sys, entity, 10s, std::move(c));
    REQUIRE(r);
    return *r;
  }
};

}  // namespace

TEST_CASE("a workflow entity persists its events and recovers them after a restart") {
  entity_fixture f;
  auto e = f.spawn();
  auto started = f.ask(e, cmd::start{"wf-1", two_steps(), {}, "normal", 0});
  CHECK_FALSE(started.rejected);
  CHECK(started.status == workflow_status::running);
  f.clock = 6000;
  CHECK_FALSE(f.ask(e, cmd::task_completed{"a", 1, boost::json::value("A")}).rejected);
  auto again = f.ask(e, cmd::start{"wf-1", two_steps(), {}, "normal", 0});
  REQUIRE(again.rejected);
  CHECK(again.rejected->code == rejection_code::already_exists);
  CHECK(again.status == workflow_status::running);
  caf::anon_send_exit(e, caf::exit_reason::user_shutdown);

  auto revived = f.spawn();
  auto got = f.ask(revived, cmd::get{});
  REQUIRE(got.state);
  CHECK(got.state->id == "wf-1");
  CHECK(got.state->find_step("a")->output == boost::json::value("A"));
  CHECK(got.state->find_step("b")->status == step_status::scheduled);
  CHECK(got.state->updated_at_ms == 6000);
  auto highest = f.store->highest_sequence_nr(f.pid);
  REQUIRE(highest);
  CHECK(*highest == 4);  // started, scheduled a, completed a, scheduled b
  caf::anon_send_exit(revived, caf::exit_reason::user_shutdown);
}
