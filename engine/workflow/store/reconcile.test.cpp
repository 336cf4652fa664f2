// Reconciliation of the workflow index with a real RocksDB journal: an index behind the
// journal, a missing/empty index (after a restore), RUNNING workflows, stale records,
// the reserved registry id, and batching of the result.
#include <algorithm>

#include <doctest/doctest.h>

#include "engine/workflow/store/definition_registry.hpp"
#include "engine/workflow/store/workflow_index.hpp"
#include "persistence/rocksdb_journal.hpp"
#include "tests/support/temp_dir.hpp"

using namespace wfe::workflow;
using namespace wfe::workflow::store;
using namespace wfe::persistence;

namespace {

struct reconcile_fixture {
  wfe::test::temp_dir dir;
  std::unique_ptr<rocksdb_journal> journal;
  index_settings settings;
  std::unique_ptr<workflow_index> index;

  reconcile_fixture() {
    auto j = rocksdb_journal::open(
        rocksdb_journal_config{.dir = dir.path() / "journal", .fsync = false});
    REQUIRE_MESSAGE(j, (j ? "" : j.error().describe()));
    journal = std::move(*j);
    settings.dir = dir.path() / "workflow-index";
    open_index();
  }
  void open_index() {
    index.reset();
    auto i = workflow_index::open(settings);
    REQUIRE_MESSAGE(i, (i ? "" : i.error().describe()));
    index = std::move(*i);
  }
  // Appends `n` events to the stream of `id` (shard 3: any shard works).
  void write(const std::string& id, std::uint64_t n, std::uint32_t shard = 3) {
    const persistence_id pid{shard_id{shard}, id};
    auto highest = journal->highest_sequence_nr(pid);
    REQUIRE(highest);
    std::vector<wfe::persistence::event> events;
    for (std::uint64_t i = 1; i <= n; ++i)
      events.push_back(wfe::persistence::event{*highest + i, "m", "payload", "writer", 1});
    REQUIRE(journal->write(pid, std::move(events)));
  }
  void indexed(const std::string& id, workflow_status st, std::uint64_t seq,
               bool tasks_in_flight = true) {
    REQUIRE(index->apply({index_update{
        workflow_record{id, "d", 1, st, "normal", 1, 2, seq, tasks_in_flight}, {}, std::nullopt}}));
  }
  std::vector<std::string> run(reconcile_report* report = nullptr, std::uint32_t batch = 1000,
                               int* batches = nullptr) {
    std::vector<std::string> ids;
    int n = 0;
    auto r = reconcile(*journal, *index, batch, [&](std::vector<std::string>&& b) {
      CHECK(b.size() <= batch);
      ++n;
      ids.insert(ids.end(), b.begin(), b.end());
    });
    REQUIRE_MESSAGE(r, (r ? "" : r.error().describe()));
    if (report != nullptr) *report = *r;
    if (batches != nullptr) *batches = n;
    std::sort(ids.begin(), ids.end());
    return ids;
  }
};

}  // namespace

TEST_CASE("workflows whose journal is ahead of the index, missing, or RUNNING need recovery") {
  reconcile_fixture f;
  f.write("wf-behind", 5);
  f.write("wf-missing", 2);
  f.write("wf-running", 3);
  f.write("wf-done", 4);
  f.write("wf-failed", 6, 7);
  f.indexed("wf-behind", workflow_status::completed, 4);  // the last update was lost
  f.indexed("wf-running", workflow_status::running, 3);
  f.indexed("wf-done", workflow_status::completed, 4);
  f.indexed("wf-failed", workflow_status::failed, 6);
  reconcile_report report;
  CHECK(f.run(&report) == std::vector<std::string>{"wf-behind", "wf-missing", "wf-running"});
  CHECK(report.journal_workflows == 5);
  CHECK(report.missing == 1);
  CHECK(report.behind == 1);
  CHECK(report.running == 1);
  CHECK(report.removed == 0);
  CHECK(report.needs_recovery == 3);
}

TEST_CASE("an up-to-date RUNNING workflow without a task in flight is left asleep") {
  reconcile_fixture f;
  f.write("wf-busy", 3);
  f.write("wf-idle", 4);
  f.write("wf-idle-behind", 5);
  f.indexed("wf-busy", workflow_status::running, 3, true);
  f.indexed("wf-idle", workflow_status::running, 4, false);         // e.g. waits for a retry timer
  f.indexed("wf-idle-behind", workflow_status::running, 4, false);  // its last update was lost
  reconcile_report report;
  CHECK(f.run(&report) == std::vector<std::string>{"wf-busy", "wf-idle-behind"});
  CHECK(report.running == 2);
  CHECK(report.running_idle == 1);
  CHECK(report.behind == 1);
  CHECK(report.needs_recovery == 2);
  // The flag survives a reopen of the index (it is in the stored record).
  f.open_index();
  CHECK(f.run() == std::vector<std::string>{"wf-busy", "wf-idle-behind"});
}

TEST_CASE("records ahead of the journal (a journal restored alone) are replaced by a recovery") {
  reconcile_fixture f;
  f.write("wf-restored", 3);  // the older journal: 3 events
  f.write("wf-same", 4);
  // The kept index knew 7 events of wf-restored: FAILED, a dead letter and a timer.
  REQUIRE(f.index->apply({index_update{
      workflow_record{"wf-restored", "d", 1, workflow_status::failed, "normal", 1, 2, 7},
      {timer{5, timer_kind::retry, "a", 1}},
      dead_letter_record{"", "", "a", "e", 1, 1}}}));
  f.indexed("wf-same", workflow_status::completed, 4);
  reconcile_report report;
  CHECK(f.run(&report) == std::vector<std::string>{"wf-restored"});
  CHECK(report.ahead == 1);
  CHECK(report.needs_recovery == 1);
  auto rec = f.index->record("wf-restored");
  REQUIRE(rec);
  CHECK_FALSE(*rec);  // gone: the recovered entity indexes what the journal says
  CHECK(f.index->stats().failed == 0);
  CHECK(f.index->stats().dead_letters == 0);
  CHECK(f.index->stats().workflows_with_timers == 0);
  // Its next update (seq 4) is taken, where the old record would have dropped it as stale.
  f.indexed("wf-restored", workflow_status::running, 4);
  REQUIRE(f.index->record("wf-restored"));
  CHECK((*f.index->record("wf-restored"))->status == workflow_status::running);
  REQUIRE(*f.index->record("wf-same"));
}

TEST_CASE("a missing or empty index (after a restore) recovers every workflow in the journal") {
  reconcile_fixture f;
  for (int i = 0; i < 25; ++i) f.write("wf-" + std::to_string(i), 1 + i % 3, i % 5);
  f.index.reset();
  std::filesystem::remove_all(f.settings.dir);
  f.open_index();
  reconcile_report report;
  int batches = 0;
  auto ids = f.run(&report, 10, &batches);
  CHECK(ids.size() == 25);
  CHECK(report.missing == 25);
  CHECK(batches == 3);  // 10 + 10 + 5
}

TEST_CASE("index records the journal does not have are removed, the registry id is skipped") {
  reconcile_fixture f;
  f.write("wf-1", 1);
  const auto registry = definitions_persistence_id();
  REQUIRE(f.journal->write(registry, {wfe::persistence::event{1, "m", "p", "w", 1}}));
  f.indexed("wf-1", workflow_status::completed, 1);
  f.indexed("wf-ghost", workflow_status::running, 9);
  REQUIRE(f.index->apply({index_update{
      workflow_record{"wf-ghost2", "d", 1, workflow_status::failed, "normal", 1, 2, 1},
      {timer{5, timer_kind::retry, "a", 1}},
      dead_letter_record{"", "", "a", "e", 1, 1}}}));
  reconcile_report report;
  CHECK(f.run(&report).empty());
  CHECK(report.journal_workflows == 1);
  CHECK(report.removed == 2);
  auto ghost = f.index->record("wf-ghost");
  REQUIRE(ghost);
  CHECK_FALSE(*ghost);
  CHECK(f.index->stats().running == 0);
  CHECK(f.index->stats().failed == 0);
  CHECK(f.index->stats().dead_letters == 0);
  CHECK(f.index->stats().workflows_with_timers == 0);
  auto timers = f.index->load_timers();
  REQUIRE(timers);
  CHECK(timers->timers.empty());
}
