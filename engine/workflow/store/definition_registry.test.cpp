// The definition registry over a real RocksDB journal and snapshot store: versioning,
// idempotent re-posts, bounds, lookups, and recovery after a restart (also from a
// snapshot with the events deleted).
#include "engine/workflow/store/definition_registry.hpp"

#include <doctest/doctest.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "engine/workflow/store/store_messages.hpp"
#include "persistence/eventsourced.hpp"
#include "persistence/rocksdb_journal.hpp"
#include "persistence/snapshot_store.hpp"
#include "tests/support/temp_dir.hpp"

using namespace wfe::workflow;
using namespace wfe::workflow::store;
using namespace wfe::persistence;
using namespace std::chrono_literals;

namespace {

// One "node": an actor system with a RocksDB journal and snapshot store in `dir`, and the
// registry. Destroying it stops everything and closes the stores (a restart).
struct registry_node {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  eventsourced_deps deps;
  caf::actor registry;
  std::shared_ptr<rocksdb_journal> journal;
  std::shared_ptr<definition_catalog> catalog = std::make_shared<definition_catalog>();

  registry_node(const std::filesystem::path& dir, definition_settings settings,
                eventsourced_config es = {.request_timeout = 10s, .snapshot_every = 0}) {
    auto j = rocksdb_journal::open({.dir = dir / "journal", .fsync = false});
    REQUIRE_MESSAGE(j, (j ? "" : j.error().describe()));
    journal = std::move(*j);
    auto s = rocksdb_snapshot_store::open({.dir = dir / "snapshots", .fsync = false});
    REQUIRE_MESSAGE(s, (s ? "" : s.error().describe()));
    deps.journal = spawn_journal_actor(sys, {journal, nullptr, nullptr}, {});
    deps.snapshots = spawn_snapshot_store_actor(sys, std::move(*s));
    registry = spawn_definition_registry(sys, deps, es, settings, nullptr, catalog);
  }
  ~registry_node() {
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(deps.journal, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(deps.snapshots, caf::exit_reason::user_shutdown);
  }

  // Asks the registry; the answer's value (the test fails on an error or no answer).
  template <class Result, class Msg>
  auto ask(Msg msg) {
    caf::scoped_actor self{sys};
    std::optional<std::remove_cvref_t<decltype(*std::declval<Result&>())>> out;
    self->request(registry, 10s, std::move(msg))
        .receive(
            [&](Result& r) {
              REQUIRE_MESSAGE(r, (r ? "" : r.error().describe()));
              out = std::move(*r);
            },
            [&](caf::error& e) { FAIL(caf::to_string(e)); });
    REQUIRE(out);
    return std::move(*out);
  }
  definition_registered reg(const workflow_definition& d) {
    return ask<register_result>(register_definition{d});
  }
  std::optional<workflow_definition> get(const std::string& name, std::uint32_t version = 0) {
    return ask<definition_lookup>(get_definition{name, version});
  }
  definition_page list(std::uint32_t limit, const std::string& after = "") {
    return ask<definition_page_result>(list_definitions{limit, after});
  }
};

workflow_definition def(const std::string& name, const std::string& second_task = "noop") {
  auto d = parse_definition(R"({"name":")" + name + R"(","steps":[{"name":"a","task":"noop"},
      {"name":"b","task":")" + second_task +
                                R"(","dependsOn":["a"]}]})",
                            builtin_task_types());
  REQUIRE_MESSAGE(d, (d ? "" : d.error().message));
  return *d;
}

}  // namespace

TEST_CASE("a changed definition gets the next version, an unchanged one is idempotent") {
  wfe::test::temp_dir dir;
  registry_node n(dir.path(), {});
  auto v1 = n.reg(def("order"));
  CHECK(v1.name == "order");
  CHECK(v1.version == 1);
  CHECK(v1.created);
  CHECK_FALSE(v1.rejected);
  auto again = n.reg(def("order"));
  CHECK(again.version == 1);
  CHECK_FALSE(again.created);
  auto v2 = n.reg(def("order", "sleep"));
  CHECK(v2.version == 2);
  CHECK(v2.created);
  auto back = n.reg(def("order"));  // back to v1's steps: still a change from v2
  CHECK(back.version == 3);
  CHECK(n.reg(def("other")).version == 1);

  auto latest = n.get("order");
  REQUIRE(latest);
  CHECK(latest->version == 3);
  CHECK(latest->steps == def("order").steps);
  auto first = n.get("order", 2);
  REQUIRE(first);
  CHECK(first->version == 2);
  CHECK(first->steps[1].task == "sleep");
  CHECK_FALSE(n.get("order", 4));
  CHECK_FALSE(n.get("nope"));
  // Nothing but real changes reached the journal.
  auto highest = n.journal->highest_sequence_nr(definitions_persistence_id());
  REQUIRE(highest);
  CHECK(*highest == 4);
}

TEST_CASE("the registered names are listed in order, a page at a time, with their latest version") {
  wfe::test::temp_dir dir;
  registry_node n(dir.path(), {});
  CHECK(n.list(10).items.empty());
  CHECK(n.list(10).next_cursor.empty());
  n.reg(def("pay"));
  n.reg(def("order"));
  n.reg(def("order", "sleep"));
  n.reg(def("audit"));
  auto first = n.list(2);
  REQUIRE(first.items.size() == 2);
  CHECK(first.items[0].name == "audit");
  CHECK(first.items[1].name == "order");
  CHECK(first.items[1].version == 2);
  CHECK(first.items[1].versions == 2);
  CHECK(first.items[1].steps == 2);
  CHECK(first.next_cursor == "order");
  auto second = n.list(2, first.next_cursor);
  REQUIRE(second.items.size() == 1);
  CHECK(second.items[0].name == "pay");
  CHECK(second.items[0].version == 1);
  CHECK(second.next_cursor.empty());
  // A page that ends exactly at the last name says so (no cursor to an empty page).
  CHECK(n.list(3).next_cursor.empty());
  CHECK(n.list(3).items.size() == 3);
  // A cursor between names (the name was never registered) goes on after it.
  auto between = n.list(5, "b");
  REQUIRE(between.items.size() == 2);
  CHECK(between.items[0].name == "order");
}

TEST_CASE("the catalog holds each version before its registration is answered") {
  wfe::test::temp_dir dir;
  registry_node n(dir.path(), {});
  CHECK(n.get("order") == std::nullopt);  // recovered, empty
  CHECK(n.catalog->size() == 0);
  n.reg(def("order"));
  auto v1 = n.catalog->find("order", 1);
  REQUIRE(v1);
  CHECK((*v1)->steps == def("order").steps);
  n.reg(def("order"));  // unchanged: no new version
  CHECK(n.catalog->size() == 1);
  n.reg(def("order", "sleep"));
  REQUIRE(n.catalog->find("order", 2));
  CHECK((*n.catalog->find("order", 2))->steps[1].task == "sleep");
  CHECK_FALSE(n.catalog->find("order", 3));
  CHECK_FALSE(n.catalog->find("other", 1));
}

TEST_CASE("max-definitions and max-versions refuse with a clear message and store nothing") {
  wfe::test::temp_dir dir;
  registry_node n(dir.path(), {.max_definitions = 2, .max_versions = 2});
  CHECK(n.reg(def("a")).created);
  CHECK(n.reg(def("b")).created);
  auto third = n.reg(def("c"));
  REQUIRE(third.rejected);
  CHECK(third.rejected->code == registry_rejection::code_t::too_many_definitions);
  CHECK(third.rejected->message.find("max-definitions") != std::string::npos);
  CHECK(n.reg(def("a", "sleep")).version == 2);
  auto too_many = n.reg(def("a", "fail"));
  REQUIRE(too_many.rejected);
  CHECK(too_many.rejected->code == registry_rejection::code_t::too_many_versions);
  CHECK(too_many.rejected->message.find("'a'") != std::string::npos);
  // An idempotent re-post at the bound is still fine.
  auto same = n.reg(def("a", "sleep"));
  CHECK_FALSE(same.rejected);
  CHECK(same.version == 2);
  CHECK_FALSE(n.get("c"));
  CHECK(*n.journal->highest_sequence_nr(definitions_persistence_id()) == 3);
}

TEST_CASE("every version is recovered from the journal after a restart") {
  wfe::test::temp_dir dir;
  {
    registry_node n(dir.path(), {});
    n.reg(def("order"));
    n.reg(def("order", "sleep"));
    n.reg(def("ship"));
  }
  registry_node n(dir.path(), {});
  auto latest = n.get("order");
  REQUIRE(latest);
  CHECK(latest->version == 2);
  // Recovered: every version is in the new node's catalog (workflows resolve from it).
  CHECK(n.catalog->size() == 3);
  REQUIRE(n.catalog->find("order", 1));
  CHECK((*n.catalog->find("order", 1))->steps[1].task == "noop");
  CHECK((*n.catalog->find("order", 2))->steps[1].task == "sleep");
  CHECK(latest->steps[1].task == "sleep");
  REQUIRE(n.get("order", 1));
  CHECK(n.get("order", 1)->steps[1].task == "noop");
  CHECK(n.get("ship")->version == 1);
  // Versions continue after the restart.
  CHECK(n.reg(def("order", "fail")).version == 3);
  CHECK_FALSE(n.reg(def("ship")).created);
}

TEST_CASE("the registry recovers from its snapshot when the events are deleted") {
  wfe::test::temp_dir dir;
  const eventsourced_config es{
      .request_timeout = 10s, .snapshot_every = 2, .delete_events_on_snapshot = true};
  {
    registry_node n(dir.path(), {}, es);
    n.reg(def("a"));
    n.reg(def("a", "sleep"));
    n.reg(def("b"));
    n.reg(def("c"));
    n.reg(def("c", "fail"));
    // Wait until the snapshot at 4 is saved: a lookup after it is answered in order.
    CHECK(n.get("c")->version == 2);
  }
  registry_node n(dir.path(), {}, es);
  CHECK(n.get("a")->version == 2);
  CHECK(n.catalog->size() == 5);  // from the snapshot
  REQUIRE(n.catalog->find("c", 2));
  CHECK((*n.catalog->find("c", 2))->steps[1].task == "fail");
  CHECK(n.get("a", 1)->steps[1].task == "noop");
  CHECK(n.get("b")->version == 1);
  CHECK(n.get("c")->version == 2);
  CHECK(n.reg(def("d")).version == 1);
}
