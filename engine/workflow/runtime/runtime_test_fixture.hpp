#pragma once
// Test fixture of the runtime tests: one "node incarnation" = an actor system, a real
// RocksDB journal + snapshot store in a temp dir, and the whole runtime
// (start_workflow_runtime). Destroying it stops everything and waits for every actor,
// so a second incarnation on the same directory is a restart. With `shards_on_loop` the
// shards run on a loop thread of its own (core::loop_dispatcher, as on the HTTP io
// thread of a node).

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <doctest/doctest.h>
#include <prometheus/registry.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "engine/core/loop_dispatcher.hpp"
#include "engine/workflow/runtime/runtime_messages.hpp"
#include "engine/workflow/runtime/workflow_runtime.hpp"
#include "engine/workflow/store/store_messages.hpp"
#include "engine/workflow/tasks/task_handlers.hpp"
#include "persistence/journal_actor.hpp"
#include "persistence/rocksdb_journal.hpp"
#include "persistence/snapshot_store.hpp"
#include "persistence/snapshot_store_actor.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_loop.hpp"

namespace wfe::workflow::runtime::test {

using namespace std::chrono_literals;

inline runtime_config default_config(const std::filesystem::path& dir) {
  runtime_config c;
  c.runtime.number_of_shards = 8;
  c.runtime.passivate_idle_after = std::chrono::hours(1);
  c.runtime.task_resubmit_delay = 20ms;
  c.store.index.dir = dir / "index";
  c.store.timers.tick = 20ms;
  c.store.timers.redeliver_after = 2s;
  c.entity.request_timeout = 10s;
  c.entity.snapshot_every = 5;
  return c;
}

class incarnation {
 public:
  explicit incarnation(const std::filesystem::path& dir, runtime_config c,
                       bool shards_on_loop = false)
      : dir_(dir), sys_(cfg_) {  // NOLINT: registry_ is constructed first
    if (shards_on_loop) {
      loop_ = std::make_unique<wfe::test::test_loop>();
      dispatcher_ = std::make_shared<core::loop_dispatcher>(sys_, 64);
      dispatcher_->attach(
          [loop = loop_.get()](std::function<void()> fn) { loop->post(std::move(fn)); });
      c.shard_dispatcher = dispatcher_;
    }
    auto j = persistence::rocksdb_journal::open({.dir = dir / "journal"}, nullptr);
    REQUIRE(j);
    journal_ = std::move(*j);
    auto s = persistence::rocksdb_snapshot_store::open({.dir = dir / "snapshots"}, nullptr);
    REQUIRE(s);
    snapshots_ = std::move(*s);
    journal_actor_ = persistence::spawn_journal_actor(sys_, {journal_, nullptr, nullptr}, {});
    snapshot_actor_ = persistence::spawn_snapshot_store_actor(sys_, snapshots_);
    c.journal_actor = journal_actor_;
    c.snapshots = snapshot_actor_;
    c.journal = journal_;
    c.registry = &registry_;
    auto p = start_workflow_runtime(sys_, std::move(c));
    REQUIRE(p);
    parts = std::move(*p);
  }
  ~incarnation() {
    if (dispatcher_) dispatcher_->detach();  // as a node when its HTTP API stops
    stop_workflow_runtime(parts);
    // The actor system (declared after `parts`, so destroyed before it) waits for its
    // detached actors (the archiver), which live while a handle to them does.
    parts = runtime_parts{};
    caf::anon_send_exit(journal_actor_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(snapshot_actor_, caf::exit_reason::user_shutdown);
  }

  caf::actor_system& sys() { return sys_; }
  persistence::journal& journal() { return *journal_; }
  prometheus::Registry& registry() { return registry_; }
  // The value of an unlabelled counter or gauge (-1: not registered).
  double metric(const std::string& name) {
    for (const auto& fam : registry_.Collect()) {
      if (fam.name != name) continue;
      const auto& m = fam.metric.at(0);
      return fam.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
    return -1;
  }
  caf::actor& journal_actor() { return journal_actor_; }
  // With shards_on_loop: the loop and its dispatcher.
  wfe::test::test_loop& loop() { return *loop_; }
  core::loop_dispatcher& shard_dispatcher() { return *dispatcher_; }
  persistence::rocksdb_snapshot_store& snapshots() { return *snapshots_; }

  // On a node a start's definition comes from the registry (the gateway looks it up
  // there), which also puts it in the catalog recovery resolves journaled starts from.
  // Here a start's definition is registered first and the start carries the version the
  // registry gave it.
  void register_definition_of(command& c) {
    auto* s = std::get_if<cmd::start>(&c);
    if (s == nullptr) return;
    caf::scoped_actor self{sys_};
    self->request(parts.registry, 20s, store::register_definition{*s->definition})
        .receive(
            [&](store::register_result& r) {
              REQUIRE_MESSAGE(r, (r ? "" : r.error().describe()));
              REQUIRE_FALSE(r->rejected);
              auto d = *s->definition;
              d.version = r->version;
              s->definition = definition_ref(std::move(d));
            },
            [&](caf::error& e) { FAIL(caf::to_string(e)); });
  }

  entity_reply ask(const std::string& id, command c) {
    register_definition_of(c);
    caf::scoped_actor self{sys_};
    entity_reply out = persistence::fail(persistence::errc::unavailable, "no answer");
    self->request(parts.region, 20s, entity_envelope{id, std::move(c)})
        .receive([&](entity_reply& r) { out = std::move(r); },
                 [&](caf::error& e) {
                   out = persistence::fail(persistence::errc::unavailable, caf::to_string(e));
                 });
    return out;
  }
  // The same command sent with a reply callback (entity_call): the entity calls it.
  entity_reply call(const std::string& id, command c) {
    register_definition_of(c);
    auto answer = std::make_shared<std::promise<entity_reply>>();
    auto got = answer->get_future();
    caf::anon_send(parts.region, entity_envelope{id, std::move(c), [answer](entity_reply r) {
                                                   answer->set_value(std::move(r));
                                                 }});
    if (got.wait_for(20s) != std::future_status::ready) {
      return persistence::fail(persistence::errc::unavailable, "no answer");
    }
    return got.get();
  }
  workflow_reply ok(const std::string& id, command c) {
    auto r = ask(id, std::move(c));
    REQUIRE(r);
    return *r;
  }
  workflow_state state(const std::string& id) {
    auto r = ok(id, cmd::get{});
    REQUIRE(r.state);
    return *r.state;
  }
  region_stats stats() {
    caf::scoped_actor self{sys_};
    region_stats out;
    self->request(parts.region, 10s, get_region_stats{})
        .receive([&](region_stats& s) { out = s; }, [](caf::error&) {});
    return out;
  }
  // The index's record (never wakes the entity).
  std::optional<store::workflow_record> record(const std::string& id) {
    caf::scoped_actor self{sys_};
    std::optional<store::workflow_record> out;
    self->request(parts.index, 10s, store::get_workflow_record{id})
        .receive(
            [&](store::workflow_record_lookup& r) {
              if (r) out = *r;
            },
            [](caf::error&) {});
    return out;
  }
  std::optional<store::dead_letter_record> dead_letter(const std::string& id) {
    caf::scoped_actor self{sys_};
    std::optional<store::dead_letter_record> out;
    self->request(parts.index, 10s, store::get_dead_letter{id})
        .receive(
            [&](store::dead_letter_lookup& r) {
              if (r) out = *r;
            },
            [](caf::error&) {});
    return out;
  }

  runtime_parts parts;

 private:
  std::filesystem::path dir_;
  prometheus::Registry registry_;  // outlives the actor system (actors hold metrics)
  caf::actor_system_config cfg_;
  caf::actor_system sys_;
  std::shared_ptr<persistence::rocksdb_journal> journal_;
  std::shared_ptr<persistence::rocksdb_snapshot_store> snapshots_;
  caf::actor journal_actor_;
  caf::actor snapshot_actor_;
  // After the actor system: gone before it (detached in the destructor first); the loop
  // after the dispatcher, so it stops (and runs no drain of it) before the dispatcher goes.
  std::shared_ptr<core::loop_dispatcher> dispatcher_;
  std::unique_ptr<wfe::test::test_loop> loop_;
};

// Polls `pred` until it holds or a generous deadline passes (a wait, not a timing
// assertion: the test fails only if it never happens).
inline bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 20s) {
  return wfe::test::eventually(pred, limit, 10ms);
}

// Parsed as version 1; the task types known are the built-ins and those of `handlers`.
inline workflow_definition definition(const std::string& json,
                                      const task_handlers* handlers = nullptr) {
  auto d = parse_definition(json, known_task_types(handlers));
  REQUIRE(d);
  d->version = 1;
  return *d;
}

// Three noop steps a -> b -> c.
inline constexpr const char* k_three_noops =
    R"({"name":"three","steps":[{"name":"a","task":"noop"},
    {"name":"b","task":"noop","dependsOn":["a"]},{"name":"c","task":"noop","dependsOn":["b"]}]})";

inline cmd::start start(const std::string& id, workflow_definition d) {
  return cmd::start{id, std::move(d), boost::json::object{}, "normal", 0};
}

}  // namespace wfe::workflow::runtime::test
