// Retention of finished workflows: a shard's purge (snapshots, journal, index record and
// dead letter; the id may be started again), what it leaves alone, the messages it holds
// meanwhile, and the sweeper that purges workflows finished longer ago than
// pekko.workflow.retention.finished-after (with a controlled clock).
#include "engine/workflow/runtime/retention.hpp"

#include <atomic>
#include <future>
#include <optional>
#include <thread>

#include <doctest/doctest.h>

#include "engine/workflow/runtime/runtime_test_fixture.hpp"
#include "engine/workflow/runtime/shard_hash.hpp"
#include "tests/support/load_settings.hpp"

using namespace wfe::workflow;
using namespace wfe::workflow::runtime;
using namespace wfe::workflow::runtime::test;

namespace {

// Fails for good at its first attempt: FAILED with a dead letter.
const char* k_fails =
    R"({"name":"fails","steps":[{"name":"x","task":"fail","input":{"times":9}}]})";

wfe::persistence::persistence_id pid_of(const std::string& id) {
  return {wfe::persistence::shard_id{shard_of(id, 8)}, id};
}

std::uint64_t highest(incarnation& node, const std::string& id) {
  auto h = node.journal().highest_sequence_nr(pid_of(id));
  REQUIRE(h);
  return *h;
}

bool has_snapshots(incarnation& node, const std::string& id) {
  auto snaps = node.snapshots().list(pid_of(id));
  REQUIRE(snaps);
  return !snaps->empty();
}

store::workflow_record finished_record(incarnation& node, const std::string& id,
                                       workflow_status status) {
  std::optional<store::workflow_record> r;
  REQUIRE(eventually([&] {
    r = node.record(id);
    return r && r->status == status;
  }));
  return *r;
}

purge_result purge(incarnation& node, const std::string& id, std::uint64_t seq) {
  caf::scoped_actor self{node.sys()};
  purge_result out = wfe::persistence::fail(wfe::persistence::errc::unavailable, "no answer");
  self->request(node.parts.router.route(id), 30s, purge_workflow{id, seq})
      .receive([&](purge_result& r) { out = std::move(r); },
               [&](caf::error& e) {
                 out =
                     wfe::persistence::fail(wfe::persistence::errc::unavailable, caf::to_string(e));
               });
  return out;
}

purge_outcome::kind outcome(const purge_result& r) {
  REQUIRE_MESSAGE(r, (r ? "" : r.error().describe()));
  return r->what;
}

}  // namespace

TEST_CASE("a finished workflow is purged for good and its id starts a new workflow") {
  wfe::test::temp_dir dir;
  incarnation node(dir.path(), default_config(dir.path()));
  const std::string id = "wf-purged";
  CHECK(node.ok(id, start(id, definition(k_three_noops))).status == workflow_status::completed);
  auto rec = finished_record(node, id, workflow_status::completed);
  CHECK(rec.seq == highest(node, id));
  // snapshot-every 5: a snapshot is saved (asynchronously); the purge must delete it too.
  REQUIRE(eventually([&] { return has_snapshots(node, id); }));

  CHECK(outcome(purge(node, id, rec.seq)) == purge_outcome::kind::purged);
  CHECK(highest(node, id) == 0);
  CHECK_FALSE(has_snapshots(node, id));
  CHECK_FALSE(node.record(id).has_value());
  CHECK(node.stats().purged == 1);
  CHECK(node.metric("workflow_purged_total") == 1);
  auto gone = node.ok(id, cmd::get{});
  REQUIRE(gone.rejected);
  CHECK(gone.rejected->code == rejection_code::not_found);
  // Purging it again finds nothing and says so.
  CHECK(outcome(purge(node, id, rec.seq)) == purge_outcome::kind::gone);

  // The id starts a new workflow from sequence nr 1, without anything of the old one.
  auto again = node.ok(id, start(id, definition(k_three_noops)));
  CHECK_FALSE(again.rejected);
  CHECK(again.status == workflow_status::completed);
  CHECK(highest(node, id) == rec.seq);  // the same 11 events, written anew
  auto fresh = finished_record(node, id, workflow_status::completed);
  CHECK(fresh.created_at_ms >= rec.created_at_ms);
}

TEST_CASE("a purge leaves a workflow alone when its journal moved on, and takes its dead letter") {
  wfe::test::temp_dir dir;
  incarnation node(dir.path(), default_config(dir.path()));
  const std::string id = "wf-failed";
  CHECK(node.ok(id, start(id, definition(k_fails))).status == workflow_status::running);
  auto rec = finished_record(node, id, workflow_status::failed);
  REQUIRE(eventually([&] { return node.dead_letter(id).has_value(); }));

  REQUIRE(eventually([&] { return has_snapshots(node, id); }));
  // The index's view is older than the journal (the seq it gives is not the highest).
  CHECK(outcome(purge(node, id, rec.seq - 1)) == purge_outcome::kind::changed);
  CHECK(highest(node, id) == rec.seq);
  CHECK(has_snapshots(node, id));  // nothing deleted
  CHECK(node.record(id).has_value());
  CHECK(node.state(id).status == workflow_status::failed);  // recovers as before

  // The entity is active now (the get above): an idle one is passivated for the purge.
  CHECK(outcome(purge(node, id, rec.seq)) == purge_outcome::kind::purged);
  CHECK(highest(node, id) == 0);
  CHECK_FALSE(node.dead_letter(id).has_value());
  CHECK_FALSE(node.record(id).has_value());
}

TEST_CASE("messages for a workflow being purged wait for the purge, then find it gone") {
  wfe::test::temp_dir dir;
  incarnation node(dir.path(), default_config(dir.path()));
  const std::string id = "wf-held";
  node.ok(id, start(id, definition(k_three_noops)));
  auto rec = finished_record(node, id, workflow_status::completed);
  const auto shard = node.parts.router.route(id);
  // Both from one sender to one shard: the get arrives while the purge runs (it waits
  // for the journal). Handled then, it would recover the COMPLETED workflow.
  auto purged_p = std::make_shared<std::promise<purge_result>>();
  auto got_p = std::make_shared<std::promise<entity_reply>>();
  auto purged_f = purged_p->get_future();
  auto got_f = got_p->get_future();
  node.sys().spawn([=, seq = rec.seq](caf::event_based_actor* a) {
    a->request(shard, 30s, purge_workflow{id, seq}).then([purged_p](purge_result& r) {
      purged_p->set_value(std::move(r));
    });
    a->request(shard, 30s, entity_envelope{id, cmd::get{}}).then([got_p](entity_reply& r) {
      got_p->set_value(std::move(r));
    });
  });
  REQUIRE(purged_f.wait_for(30s) == std::future_status::ready);
  REQUIRE(got_f.wait_for(30s) == std::future_status::ready);
  std::optional<purge_result> purged = purged_f.get();
  std::optional<entity_reply> got = got_f.get();
  REQUIRE(purged);
  CHECK(outcome(*purged) == purge_outcome::kind::purged);
  REQUIRE(got);
  REQUIRE(*got);
  REQUIRE((*got)->rejected);
  CHECK((*got)->rejected->code == rejection_code::not_found);
}

TEST_CASE("retention purges finished workflows once older than finished-after, not running ones") {
  wfe::test::temp_dir dir;
  auto c = default_config(dir.path());
  auto now = std::make_shared<std::atomic<std::int64_t>>(1'800'000'000'000);
  c.clock = [now] { return now->load(); };
  c.runtime.retention_finished_after = std::chrono::hours(1);
  c.runtime.retention_sweep_interval = 20ms;
  c.runtime.retention_batch_size = 2;  // several pages per pass
  incarnation node(dir.path(), c);
  REQUIRE(node.parts.retention);
  std::vector<std::string> done;
  for (int i = 0; i < 5; ++i) {
    done.push_back("wf-done-" + std::to_string(i));
    node.ok(done.back(), start(done.back(), definition(k_three_noops)));
  }
  // RUNNING, waiting an hour for its retry.
  const std::string running = "wf-running";
  node.ok(running,
          start(running, definition(R"({"name":"retrying","steps":[{"name":"x","task":"fail",
              "input":{"times":9},"retry":{"maxAttempts":5,"initialIntervalMs":7200000}}]})")));
  for (const auto& id : done) finished_record(node, id, workflow_status::completed);
  REQUIRE(eventually([&] {
    auto r = node.record(running);
    return r && !r->tasks_in_flight;
  }));

  std::this_thread::sleep_for(300ms);  // ~15 sweeps: nothing is an hour old yet
  CHECK(node.stats().purged == 0);
  for (const auto& id : done) CHECK(node.record(id).has_value());

  now->fetch_add(std::chrono::milliseconds(std::chrono::hours(1)).count() + 1);
  REQUIRE(eventually([&] { return node.stats().purged == 5; }));
  for (const auto& id : done) {
    CHECK_FALSE(node.record(id).has_value());
    CHECK(highest(node, id) == 0);
  }
  auto r = node.record(running);
  REQUIRE(r);
  CHECK(r->status == workflow_status::running);
  CHECK(highest(node, running) == r->seq);
}

TEST_CASE("retention is off by default and reads a duration or off") {
  auto [defaults, none] = wfe::test::read_settings<runtime_settings>("");
  CHECK(none.empty());
  CHECK(defaults.retention_finished_after.count() == 0);
  CHECK(defaults.retention_sweep_interval == 60s);
  CHECK(defaults.retention_batch_size == 256);
  CHECK(defaults.retention_max_concurrent_purges == 32);
  CHECK(runtime_settings{}.retention_max_concurrent_purges == 32);
  CHECK(defaults.retention_archive_dir.empty());
  CHECK(defaults.retention_archive_max_file_bytes == 64ull << 20);
  CHECK(defaults.retention_archive_max_bytes == 10ull << 30);
  CHECK(defaults.retention_archive_list_max_bytes == 64ull << 20);
  CHECK(defaults.retention_archive_max_events == 100'000);
  auto [on, ok] = wfe::test::read_settings<runtime_settings>(
      "pekko.workflow.retention.finished-after = 30d\n"
      "pekko.workflow.retention.sweep-interval = 5m\n"
      "pekko.workflow.retention.batch-size = 100\n"
      "pekko.workflow.retention.max-concurrent-purges = 3\n"
      "pekko.workflow.retention.archive-dir = \"/var/lib/wfe/archive\"\n"
      "pekko.workflow.retention.archive-max-file-bytes = 16MiB\n"
      "pekko.workflow.retention.archive-max-bytes = 2GiB\n"
      "pekko.workflow.retention.archive-list-max-bytes = 1MiB\n"
      "pekko.workflow.retention.archive-max-events = 500\n");
  CHECK(ok.empty());
  CHECK(on.retention_archive_max_events == 500);
  CHECK(on.retention_archive_list_max_bytes == 1ull << 20);
  CHECK(on.retention_archive_dir == "/var/lib/wfe/archive");
  CHECK(on.retention_archive_max_file_bytes == 16ull << 20);
  CHECK(on.retention_archive_max_bytes == 2ull << 30);
  CHECK(on.retention_finished_after == std::chrono::hours(24 * 30));
  CHECK(on.retention_sweep_interval == std::chrono::minutes(5));
  CHECK(on.retention_batch_size == 100);
  CHECK(on.retention_max_concurrent_purges == 3);
  auto [bad, refused] = wfe::test::read_settings<runtime_settings>(
      "pekko.workflow.retention.finished-after = soon\n"
      "pekko.workflow.retention.batch-size = 0\n"
      "pekko.workflow.retention.max-concurrent-purges = 0\n"
      "pekko.workflow.retention.archive-max-bytes = 1KiB\n"
      "pekko.workflow.retention.archive-list-max-bytes = 1KiB\n"
      "pekko.workflow.retention.archive-max-events = 0\n");
  CHECK(refused.find("pekko.workflow.retention.finished-after") != std::string::npos);
  CHECK(refused.find("pekko.workflow.retention.batch-size") != std::string::npos);
  CHECK(refused.find("pekko.workflow.retention.max-concurrent-purges") != std::string::npos);
  CHECK(refused.find("pekko.workflow.retention.archive-max-bytes") != std::string::npos);
  CHECK(refused.find("pekko.workflow.retention.archive-list-max-bytes") != std::string::npos);
  CHECK(refused.find("pekko.workflow.retention.archive-max-events") != std::string::npos);
  CHECK(refused.find("node.conf:1") != std::string::npos);

  wfe::test::temp_dir dir;
  incarnation node(dir.path(), default_config(dir.path()));
  CHECK_FALSE(node.parts.retention);
}
