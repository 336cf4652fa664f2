// rehome_misplaced_workflows against a real RocksDB journal and the real runtime: a
// workflow journaled under the wrong shard (as builds before 9867fb9 wrote it) is moved at
// start and found, with the same history; a half-done move is continued; an id whose own
// shard holds another workflow is left alone.
#include "engine/workflow/runtime/rehome.hpp"

#include <map>

#include <doctest/doctest.h>

#include "engine/workflow/runtime/runtime_test_fixture.hpp"
#include "engine/workflow/runtime/shard_hash.hpp"
#include "engine/workflow/store/definition_registry.hpp"

using namespace wfe::workflow;
using namespace wfe::workflow::runtime;
using namespace wfe::workflow::runtime::test;
using journal_event = wfe::persistence::event;
using wfe::persistence::persistence_id;
using wfe::persistence::shard_id;

namespace {

const char* k_noop = R"({"name":"one","steps":[{"name":"a","task":"noop"}]})";
// Stays RUNNING: its step fails once and waits an hour for the retry.
const char* k_waits = R"({"name":"waits","steps":[{"name":"a","task":"fail","input":{"times":1},
    "retry":{"maxAttempts":2,"initialIntervalMs":3600000,"backoffCoefficient":1,"maxIntervalMs":3600000}}]})";

const std::string k_registry = "$registry";

persistence_id home_of(const std::string& id) { return {shard_id{shard_of(id, 8)}, id}; }
// Where builds before 9867fb9 put starts through the gateway: shard_of("").
persistence_id elsewhere(const std::string& id) {
  REQUIRE(shard_of(id, 8) != shard_of("", 8));
  return {shard_id{shard_of("", 8)}, id};
}

std::vector<journal_event> events_of(wfe::persistence::journal& j, const persistence_id& pid) {
  std::vector<journal_event> out;
  auto r =
      j.replay(pid, 1, UINT64_MAX, UINT64_MAX, [&](const journal_event& e) { out.push_back(e); });
  REQUIRE(r);
  return out;
}

// Runs the workflows in a first node and returns their events, as journaled.
std::map<std::string, std::vector<journal_event>> journaled(
    const std::vector<std::pair<std::string, const char*>>& workflows) {
  wfe::test::temp_dir dir;
  incarnation node(dir.path(), default_config(dir.path()));
  std::map<std::string, std::vector<journal_event>> out;
  for (const auto& [id, def] : workflows) {
    REQUIRE_FALSE(node.ok(id, start(id, definition(def))).rejected);
    REQUIRE(eventually([&] { return events_of(node.journal(), home_of(id)).size() >= 5; }, 10s));
    out[id] = events_of(node.journal(), home_of(id));
  }
  // The definitions the starts name (a node resolves them from its registry).
  out[k_registry] = events_of(node.journal(), wfe::workflow::store::definitions_persistence_id());
  return out;
}

void write(const std::filesystem::path& dir, const persistence_id& pid,
           std::vector<journal_event> events) {
  auto j = wfe::persistence::rocksdb_journal::open({.dir = dir / "journal"}, nullptr);
  REQUIRE(j);
  REQUIRE((*j)->write(pid, std::move(events)));
}

}  // namespace

TEST_CASE("a workflow journaled under another shard is moved to its own at start and found") {
  auto runs = journaled({{"moved-done", k_noop}, {"moved-waits", k_waits}, {"half", k_noop}});
  wfe::test::temp_dir dir;
  write(dir.path(), wfe::workflow::store::definitions_persistence_id(), runs[k_registry]);
  write(dir.path(), elsewhere("moved-done"), runs["moved-done"]);
  write(dir.path(), elsewhere("moved-waits"), runs["moved-waits"]);
  // A move that stopped after copying the first two events (a crash during a start).
  write(dir.path(), elsewhere("half"), runs["half"]);
  write(dir.path(), home_of("half"), {runs["half"].begin(), runs["half"].begin() + 2});
  {
    incarnation node(dir.path(), default_config(dir.path()));
    for (const std::string id : {"moved-done", "moved-waits", "half"}) {
      CAPTURE(id);
      CHECK(events_of(node.journal(), home_of(id)) == runs[id]);  // same events, same seqs
      CHECK(events_of(node.journal(), elsewhere(id)).empty());    // gone from the wrong shard
    }
    CHECK(node.state("moved-done").status == workflow_status::completed);
    CHECK(node.state("half").status == workflow_status::completed);
    auto waiting = node.state("moved-waits");
    CHECK(waiting.status == workflow_status::running);
    // The moved workflow takes commands under its own shard, like any other.
    CHECK_FALSE(node.ok("moved-waits", cmd::cancel{}).rejected);
    CHECK(node.state("moved-waits").status == workflow_status::cancelled);
  }
  // Nothing is moved twice: a restart finds the wrong shard's events deleted.
  incarnation again(dir.path(), default_config(dir.path()));
  auto report = rehome_misplaced_workflows(again.journal(), 8, 1000);
  REQUIRE(report);
  CHECK(report->moved == 0);
  CHECK(events_of(again.journal(), home_of("moved-done")) == runs["moved-done"]);
}

TEST_CASE("a misplaced workflow whose id was started again in its own shard is left alone") {
  auto runs = journaled({{"first", k_waits}, {"second", k_noop}});
  wfe::test::temp_dir dir;
  write(dir.path(), elsewhere("twin"), runs["first"]);
  write(dir.path(), home_of("twin"), runs["second"]);
  auto j = wfe::persistence::rocksdb_journal::open({.dir = dir.path() / "journal"}, nullptr);
  REQUIRE(j);
  auto report = rehome_misplaced_workflows(**j, 8, 2);
  REQUIRE(report);
  CHECK(report->moved == 0);
  CHECK(report->conflicts == 1);
  CHECK(events_of(**j, home_of("twin")) == runs["second"]);
  CHECK(events_of(**j, elsewhere("twin")) == runs["first"]);
}

TEST_CASE(
    "only workflow events in shard_of(\"\") are candidates: other shards and other data stay") {
  auto runs = journaled({{"w", k_noop}});
  wfe::test::temp_dir dir;
  const persistence_id third{
      shard_id{(shard_of("w", 8) + 1) % 8 == shard_of("", 8) ? (shard_of("w", 8) + 2) % 8
                                                             : (shard_of("w", 8) + 1) % 8},
      "w"};
  write(dir.path(), third, runs["w"]);  // a workflow in a third shard: not the bug's
  const persistence_id plain = elsewhere("plain-data");
  write(dir.path(), plain, {journal_event{1, "Evt", "payload", "test", 0}});  // not a workflow's
  auto j = wfe::persistence::rocksdb_journal::open({.dir = dir.path() / "journal"}, nullptr);
  REQUIRE(j);
  auto report = rehome_misplaced_workflows(**j, 8, 1000);
  REQUIRE(report);
  CHECK(report->moved == 0);
  CHECK(events_of(**j, third) == runs["w"]);
  CHECK(events_of(**j, plain).size() == 1);
  CHECK(events_of(**j, home_of("w")).empty());
  CHECK(events_of(**j, home_of("plain-data")).empty());
}
