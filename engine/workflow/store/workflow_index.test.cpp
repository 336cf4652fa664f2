// The workflow index over a real RocksDB in a temp dir: records, listings by status and
// definition with cursors across pages, secondary keys after status changes, stale
// updates, dead letters, timers, counts, reopen, what an update writes (only what
// changed), the format-version wipe, and the index actor's batching.
#include "engine/workflow/store/workflow_index.hpp"

#include "engine/core/health.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <set>
#include <thread>

#include <doctest/doctest.h>
#include <prometheus/registry.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/write_batch.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "engine/workflow/store/index_codec.hpp"
#include "engine/workflow/store/store_messages.hpp"
#include "engine/workflow/store/store_metrics.hpp"
#include "tests/support/full_disk_fs.hpp"
#include "tests/support/rocksdb_files.hpp"
#include "tests/support/temp_dir.hpp"

using namespace wfe::workflow;
using namespace wfe::workflow::store;
using wfe::persistence::errc;

namespace {

workflow_record rec(std::string id, std::string def, workflow_status st, std::int64_t created,
                    std::uint64_t seq = 1) {
  return workflow_record{std::move(id), std::move(def), 1, st, "normal", created, created + 5, seq};
}

index_update upd(workflow_record r, std::vector<timer> timers = {},
                 std::optional<dead_letter_record> dl = std::nullopt) {
  return index_update{std::move(r), std::move(timers), std::move(dl)};
}

struct index_fixture {
  wfe::test::temp_dir dir;
  index_settings settings;
  std::unique_ptr<workflow_index> index;

  index_fixture() {
    settings.dir = dir.path() / "workflow-index";
    settings.list_default_limit = 3;
    settings.list_max_limit = 10;
    reopen();
  }
  void reopen() {
    index.reset();
    auto opened = workflow_index::open(settings);
    REQUIRE_MESSAGE(opened, (opened ? "" : opened.error().describe()));
    index = std::move(*opened);
  }
  void apply(std::vector<index_update> updates) {
    auto r = index->apply(updates);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().describe()));
  }
  // Every id of a listing, following the cursors page by page.
  std::vector<std::string> all_ids(list_workflows q, int* pages = nullptr) {
    std::vector<std::string> ids;
    int n = 0;
    for (;;) {
      auto page = index->list(q);
      REQUIRE_MESSAGE(page, (page ? "" : page.error().describe()));
      ++n;
      for (const auto& r : page->items) ids.push_back(r.id);
      if (page->next_cursor.empty()) break;
      REQUIRE(n < 100);
      q.cursor = page->next_cursor;
    }
    if (pages != nullptr) *pages = n;
    return ids;
  }
  // The RocksDB operations `updates` cost.
  workflow_index::io_counts io_of(std::vector<index_update> updates) {
    const auto before = index->io();
    apply(std::move(updates));
    const auto after = index->io();
    return {after.gets - before.gets, after.puts - before.puts, after.deletes - before.deletes};
  }
  // Writes raw keys into the (closed) index's RocksDB.
  void put_raw(const std::vector<std::pair<std::string, std::string>>& kvs) {
    index.reset();
    rocksdb::DB* raw = nullptr;
    rocksdb::Options o;
    REQUIRE(rocksdb::DB::Open(o, settings.dir.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    for (const auto& [k, v] : kvs) REQUIRE(db->Put(rocksdb::WriteOptions{}, k, v).ok());
    REQUIRE(db->Close().ok());
  }
  // Turns the (closed) index into format 3's layout: timer sets under "t" id, records
  // without their sets' first due time. Returns the sets moved.
  std::uint64_t to_format_3() {
    index.reset();
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(rocksdb::Options{}, settings.dir.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::WriteBatch batch;
    std::uint64_t sets = 0;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions{}));
    for (it->Seek("w"); it->Valid() && it->key().starts_with("w"); it->Next()) {
      auto key = codec::parse_timers_key(it->key().ToStringView());
      REQUIRE(key);
      const std::string id(key->id);
      REQUIRE(batch.Delete(it->key()).ok());
      REQUIRE(batch.Put(std::string(1, codec::k_timers_by_id) + id, it->value()).ok());
      std::string value;
      REQUIRE(db->Get(rocksdb::ReadOptions{}, codec::record_key(id), &value).ok());
      auto stored = codec::decode_stored(value);
      REQUIRE(stored);
      REQUIRE(stored->timers_meta);
      stored->timers_meta.reset();
      REQUIRE(batch.Put(codec::record_key(id), codec::encode(*stored)).ok());
      ++sets;
    }
    it.reset();
    REQUIRE(batch.Put("format-version", "3").ok());
    REQUIRE(db->Write(rocksdb::WriteOptions{}, &batch).ok());
    REQUIRE(db->Close().ok());
    return sets;
  }
};

void check_io(const workflow_index::io_counts& io, std::uint64_t gets, std::uint64_t puts,
              std::uint64_t deletes) {
  CHECK(io.gets == gets);
  CHECK(io.puts == puts);
  CHECK(io.deletes == deletes);
}

// wf-0..wf-9 created at 1000..1009 (even RUNNING, odd COMPLETED; definition "a" up to
// wf-5, then "b"), and wf-x of "a", RUNNING, created at 1005 like wf-5.
void add_listing_records(index_fixture& f) {
  std::vector<index_update> ups;
  for (int i = 0; i < 10; ++i) {
    const auto st = i % 2 == 0 ? workflow_status::running : workflow_status::completed;
    ups.push_back(upd(rec("wf-" + std::to_string(i), i < 6 ? "a" : "b", st, 1000 + i)));
  }
  ups.push_back(upd(rec("wf-x", "a", workflow_status::running, 1005)));
  f.apply(std::move(ups));
}

}  // namespace

TEST_CASE("records are stored, read back and survive a reopen") {
  index_fixture f;
  auto r = rec("wf-1", "order", workflow_status::running, 1000, 3);
  f.apply({upd(r)});
  auto got = f.index->record("wf-1");
  REQUIRE(got);
  REQUIRE(*got);
  CHECK(**got == r);
  auto missing = f.index->record("nope");
  REQUIRE(missing);
  CHECK_FALSE(*missing);
  CHECK_FALSE(std::filesystem::exists(f.settings.dir / "LOG"));  // info log: the node's log
  f.reopen();
  got = f.index->record("wf-1");
  REQUIRE(got);
  REQUIRE(*got);
  CHECK(**got == r);
  CHECK(f.index->stats().running == 1);
}

TEST_CASE("listings are newest first and page with cursors, filtered by status and definition") {
  index_fixture f;
  add_listing_records(f);

  int pages = 0;
  auto all = f.all_ids({}, &pages);
  CHECK(all == std::vector<std::string>{"wf-9", "wf-8", "wf-7", "wf-6", "wf-5", "wf-x", "wf-4",
                                        "wf-3", "wf-2", "wf-1", "wf-0"});
  CHECK(pages == 4);  // default limit 3
  CHECK(f.all_ids({workflow_status::running, "", 0, "", {}, {}}) ==
        std::vector<std::string>{"wf-8", "wf-6", "wf-x", "wf-4", "wf-2", "wf-0"});
  CHECK(f.all_ids({std::nullopt, "b", 0, "", {}, {}}) ==
        std::vector<std::string>{"wf-9", "wf-8", "wf-7", "wf-6"});
  CHECK(f.all_ids({workflow_status::completed, "a", 2, "", {}, {}}) ==
        std::vector<std::string>{"wf-5", "wf-3", "wf-1"});
  CHECK(f.all_ids({workflow_status::cancelled, "", 0, "", {}, {}}).empty());
  auto one = f.index->list(list_workflows{std::nullopt, "", 10, "", {}, {}});
  REQUIRE(one);
  CHECK(one->items.size() == 10);
  CHECK_FALSE(one->next_cursor.empty());
  auto exact = f.index->list(list_workflows{workflow_status::running, "", 6, "", {}, {}});
  REQUIRE(exact);
  CHECK(exact->items.size() == 6);
  CHECK(exact->next_cursor.empty());  // nothing after the last page
}

TEST_CASE("a creation-time range lists only the workflows created in it, paged, with any filter") {
  index_fixture f;
  add_listing_records(f);
  auto range = [&f](std::optional<workflow_status> st, std::string def, std::uint32_t limit,
                    std::optional<std::int64_t> after, std::optional<std::int64_t> before,
                    int* pages = nullptr) {
    return f.all_ids({st, std::move(def), limit, "", after, before}, pages);
  };
  // [1003, 1007): newest first, both workflows of 1005, nothing outside.
  int pages = 0;
  CHECK(range(std::nullopt, "", 2, 1003, 1007, &pages) ==
        std::vector<std::string>{"wf-6", "wf-5", "wf-x", "wf-4", "wf-3"});
  CHECK(pages == 3);  // 2 + 2 + 1, and no empty page after the range's end
  CHECK(range(std::nullopt, "", 0, 1008, std::nullopt) == std::vector<std::string>{"wf-9", "wf-8"});
  CHECK(range(std::nullopt, "", 0, std::nullopt, 1002) == std::vector<std::string>{"wf-1", "wf-0"});
  CHECK(range(workflow_status::running, "", 0, 1002, 1006) ==
        std::vector<std::string>{"wf-x", "wf-4", "wf-2"});
  CHECK(range(workflow_status::completed, "a", 0, 1000, 1004) ==
        std::vector<std::string>{"wf-3", "wf-1"});
  CHECK(range(std::nullopt, "", 0, 1005, 1005).empty());  // an empty range
  CHECK(range(std::nullopt, "", 0, 1007, 1003).empty());  // a reversed one
  CHECK(range(std::nullopt, "", 0, 2000, std::nullopt).empty());
  CHECK(range(std::nullopt, "", 0, std::nullopt, 1000).empty());
  CHECK(range(std::nullopt, "", 0, std::numeric_limits<std::int64_t>::min(),
              std::numeric_limits<std::int64_t>::min())
            .empty());
  CHECK(range(std::nullopt, "", 0, std::numeric_limits<std::int64_t>::min(), 1001) ==
        std::vector<std::string>{"wf-0"});
}

TEST_CASE("hundreds of workflows: listings, record walks and timers are complete and ordered") {
  // The index's memtables are hashed by key prefix (a record or a workflow's timers per
  // bucket, a listing per bucket, a skip list once it holds more than 256 keys): every
  // listing must still come out whole and in order, and the walks over all records and
  // all timers (total order across buckets) must see every key, before and after reopen.
  index_fixture f;
  constexpr int n = 700;
  const workflow_status statuses[] = {workflow_status::running, workflow_status::completed,
                                      workflow_status::failed};
  struct expected_wf {
    std::string id;
    std::string def;
    workflow_status st;
    std::int64_t created;
  };
  std::vector<expected_wf> all;
  std::vector<index_update> ups;
  for (int i = 0; i < n; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "w-%03d", i);
    // Creation times shuffled, so inserts land all over each listing.
    expected_wf e{id, i % 2 == 0 ? "a" : "b", statuses[i % 3], 1000 + (i * 7919) % n};
    std::vector<timer> timers;
    if (i % 3 == 0) timers.push_back(timer{5000 + i, timer_kind::retry, "s", 1});
    ups.push_back(upd(rec(e.id, e.def, e.st, e.created), std::move(timers)));
    all.push_back(std::move(e));
  }
  f.apply(std::move(ups));
  // Newest first, ties by id (no ties here: the creation times are distinct).
  auto listing = [&](std::optional<workflow_status> st, const std::string& def) {
    std::vector<const expected_wf*> sel;
    for (const auto& e : all) {
      if ((!st || e.st == *st) && (def.empty() || e.def == def)) sel.push_back(&e);
    }
    std::sort(sel.begin(), sel.end(), [](auto* x, auto* y) { return x->created > y->created; });
    std::vector<std::string> ids;
    for (const auto* e : sel) ids.push_back(e->id);
    return ids;
  };
  auto check_all = [&] {
    CHECK(f.all_ids({std::nullopt, "", 10, "", {}, {}}) == listing(std::nullopt, ""));
    for (auto st : statuses) {
      CAPTURE(static_cast<int>(st));
      CHECK(f.all_ids({st, "", 10, "", {}, {}}) == listing(st, ""));
      CHECK(f.all_ids({st, "b", 10, "", {}, {}}) == listing(st, "b"));
    }
    CHECK(f.all_ids({std::nullopt, "a", 10, "", {}, {}}) == listing(std::nullopt, "a"));
    std::set<std::string> walked;
    auto count = f.index->for_each_record([&](const workflow_record& r) {
      walked.insert(r.id);
      return true;
    });
    REQUIRE(count);
    CHECK(*count == static_cast<std::uint64_t>(n));
    CHECK(walked.size() == static_cast<std::size_t>(n));
    auto timers = f.index->load_timers();
    REQUIRE(timers);
    CHECK(timers->timers.size() == static_cast<std::size_t>((n + 2) / 3));
    for (std::size_t i = 1; i < timers->timers.size(); ++i)
      CHECK(timers->timers[i - 1].workflow_id < timers->timers[i].workflow_id);
    for (auto st : statuses) {
      auto expected = std::count_if(all.begin(), all.end(), [&](auto& e) { return e.st == st; });
      CHECK(f.index->stats().*(st == workflow_status::running     ? &index_stats::running
                               : st == workflow_status::completed ? &index_stats::completed
                                                                  : &index_stats::failed) ==
            static_cast<std::uint64_t>(expected));
    }
    CHECK(f.index->stats().workflows_with_timers == static_cast<std::uint64_t>((n + 2) / 3));
  };
  check_all();
  // Every running workflow completes: it moves between listings.
  ups.clear();
  for (auto& e : all) {
    if (e.st != workflow_status::running) continue;
    e.st = workflow_status::completed;
    ups.push_back(upd(rec(e.id, e.def, e.st, e.created, 2),
                      {timer{5000, timer_kind::retry, "s", 1}}));  // timers unchanged
  }
  f.apply(std::move(ups));
  check_all();
  f.reopen();
  check_all();
}

TEST_CASE("a cursor survives inserts and deletes between pages") {
  index_fixture f;
  for (int i = 0; i < 6; ++i)
    f.apply({upd(rec("wf-" + std::to_string(i), "a", workflow_status::running, 1000 + i))});
  auto first = f.index->list(list_workflows{std::nullopt, "", 3, "", {}, {}});
  REQUIRE(first);
  CHECK(first->items.back().id == "wf-3");
  // The last item of the page goes away, a newer one arrives: the next page goes on.
  REQUIRE(f.index->remove({"wf-3"}));
  f.apply({upd(rec("wf-new", "a", workflow_status::running, 5000))});
  auto second = f.index->list(list_workflows{std::nullopt, "", 3, first->next_cursor, {}, {}});
  REQUIRE(second);
  std::vector<std::string> ids;
  for (const auto& r : second->items) ids.push_back(r.id);
  CHECK(ids == std::vector<std::string>{"wf-2", "wf-1", "wf-0"});
}

TEST_CASE("listings without a status merge every status in order, each workflow once") {
  index_fixture f;
  const workflow_status statuses[] = {workflow_status::running, workflow_status::completed,
                                      workflow_status::failed, workflow_status::cancelled};
  std::vector<index_update> ups;
  std::vector<std::string> newest_first;
  for (int i = 0; i < 12; ++i) {
    ups.push_back(upd(rec("wf-" + std::to_string(i), "d", statuses[(i * 7) % 4], 1000 + i)));
    newest_first.insert(newest_first.begin(), "wf-" + std::to_string(i));
  }
  f.apply(std::move(ups));
  CHECK(f.all_ids({}) == newest_first);
  CHECK(f.all_ids({std::nullopt, "d", 0, "", {}, {}}) == newest_first);
  CHECK(f.all_ids({std::nullopt, "other", 0, "", {}, {}}).empty());
  // Workflows change status between pages: still each one exactly once, in order.
  auto first = f.index->list(list_workflows{std::nullopt, "", 4, "", {}, {}});
  REQUIRE(first);
  REQUIRE(first->items.size() == 4);
  f.apply({upd(rec("wf-11", "d", workflow_status::cancelled, 1011, 2)),  // already listed
           upd(rec("wf-5", "d", workflow_status::completed, 1005, 2)),   // not yet listed
           upd(rec("wf-2", "d", workflow_status::failed, 1002, 2))});
  std::vector<std::string> ids;
  for (const auto& r : first->items) ids.push_back(r.id);
  auto rest = f.all_ids({std::nullopt, "", 4, first->next_cursor, {}, {}});
  ids.insert(ids.end(), rest.begin(), rest.end());
  CHECK(ids == newest_first);
  // A cursor of the merged listing is not one of a status listing.
  auto foreign =
      f.index->list(list_workflows{workflow_status::running, "", 4, first->next_cursor, {}, {}});
  REQUIRE_FALSE(foreign);
  CHECK(foreign.error().code == errc::invalid_argument);
}

TEST_CASE("bad cursors and limits are invalid_argument, never a crash") {
  index_fixture f;
  for (int i = 0; i < 5; ++i)
    f.apply({upd(rec("wf-" + std::to_string(i), "a", workflow_status::running, 1000 + i))});
  auto page = f.index->list(list_workflows{std::nullopt, "", 2, "", {}, {}});
  REQUIRE(page);
  for (const std::string& bad :
       std::vector<std::string>{"zz", "abc", "00", "ffffffff", std::string(64, 'g')}) {
    auto r = f.index->list(list_workflows{std::nullopt, "", 2, bad, {}, {}});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::invalid_argument);
  }
  // A cursor of another listing is refused.
  auto other =
      f.index->list(list_workflows{workflow_status::running, "", 2, page->next_cursor, {}, {}});
  REQUIRE_FALSE(other);
  CHECK(other.error().code == errc::invalid_argument);
  auto too_many = f.index->list(list_workflows{std::nullopt, "", 11, "", {}, {}});
  REQUIRE_FALSE(too_many);
  CHECK(too_many.error().code == errc::invalid_argument);
  CHECK(too_many.error().message.find("10") != std::string::npos);
  auto bad_def = f.index->list(list_workflows{std::nullopt, "a b", 0, "", {}, {}});
  REQUIRE_FALSE(bad_def);
  CHECK(bad_def.error().code == errc::invalid_argument);
  auto dl = f.index->list(list_dead_letters{0, "nothex", "", ""});
  REQUIRE_FALSE(dl);
  CHECK(dl.error().code == errc::invalid_argument);
}

TEST_CASE("the expired listing: finished before the cutoff, oldest last, a bounded read per page") {
  index_fixture f;
  auto late = rec("late-finish", "a", workflow_status::completed, 150, 4);
  late.updated_at_ms = 5000;  // created long ago, finished after the cutoff
  f.apply({upd(rec("old-done", "a", workflow_status::completed, 100, 3)),
           upd(rec("old-failed", "b", workflow_status::failed, 200, 5)),
           upd(rec("old-cancel", "a", workflow_status::cancelled, 300, 2)),
           upd(rec("old-running", "a", workflow_status::running, 50)), upd(late),
           upd(rec("new-done", "a", workflow_status::completed, 2000))});
  auto ids_of = [](const workflow_page& page) {
    std::vector<std::string> ids;
    for (const auto& r : page.items) ids.push_back(r.id);
    return ids;
  };
  auto all = f.index->list(list_expired{1000, 10, 100, ""});
  REQUIRE_MESSAGE(all, (all ? "" : all.error().describe()));
  CHECK(ids_of(*all) == std::vector<std::string>{"old-cancel", "old-failed", "old-done"});
  CHECK(all->next_cursor.empty());
  CHECK(all->items[1].seq == 5);  // the record, with the seq the purge checks
  CHECK(all->items[1].status == workflow_status::failed);

  // One per page, and a page reads at most max_scan records: the third looks at
  // late-finish only (not expired) and hands on a cursor.
  std::vector<std::vector<std::string>> pages;
  std::string cursor;
  for (int n = 0; n < 10; ++n) {
    auto page = f.index->list(list_expired{1000, 1, 1, cursor});
    REQUIRE_MESSAGE(page, (page ? "" : page.error().describe()));
    pages.push_back(ids_of(*page));
    cursor = page->next_cursor;
    if (cursor.empty()) break;
  }
  CHECK(pages ==
        std::vector<std::vector<std::string>>{{"old-cancel"}, {"old-failed"}, {}, {"old-done"}});

  // A later cutoff takes in what finished since.
  auto later = f.index->list(list_expired{6000, 10, 100, ""});
  REQUIRE(later);
  CHECK(ids_of(*later) == std::vector<std::string>{"new-done", "old-cancel", "old-failed",
                                                   "late-finish", "old-done"});

  // Removed workflows are gone from it and from the counts.
  REQUIRE(f.index->remove({"old-cancel", "old-done"}));
  auto after = f.index->list(list_expired{1000, 10, 100, ""});
  REQUIRE(after);
  CHECK(ids_of(*after) == std::vector<std::string>{"old-failed"});
  CHECK(f.index->stats().completed == 2);
  CHECK(f.index->stats().cancelled == 0);

  for (auto bad : {list_expired{1000, 0, 10, ""}, list_expired{1000, 5, 4, ""},
                   list_expired{1000, 10001, 20000, ""}, list_expired{1000, 1, 1, "zz"}}) {
    auto r = f.index->list(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::invalid_argument);
  }
}

TEST_CASE("a status change moves the workflow between the status listings and counts") {
  index_fixture f;
  f.apply({upd(rec("wf-1", "a", workflow_status::running, 1000, 1)),
           upd(rec("wf-2", "a", workflow_status::running, 1001, 1))});
  CHECK(f.index->stats().running == 2);
  // Two updates of one workflow in one batch: the second sees the first.
  f.apply({upd(rec("wf-1", "a", workflow_status::failed, 1000, 4)),
           upd(rec("wf-1", "a", workflow_status::completed, 1000, 5))});
  CHECK(f.all_ids({workflow_status::running, "", 0, "", {}, {}}) ==
        std::vector<std::string>{"wf-2"});
  CHECK(f.all_ids({workflow_status::failed, "", 0, "", {}, {}}).empty());
  CHECK(f.all_ids({workflow_status::completed, "a", 0, "", {}, {}}) ==
        std::vector<std::string>{"wf-1"});
  CHECK(f.all_ids({}) == std::vector<std::string>{"wf-2", "wf-1"});
  auto s = f.index->stats();
  CHECK(s.running == 1);
  CHECK(s.completed == 1);
  CHECK(s.failed == 0);
  // Counts are recomputed from the keys on open: the same numbers.
  f.reopen();
  CHECK(f.index->stats().running == 1);
  CHECK(f.index->stats().completed == 1);
  CHECK(f.index->stats().failed == 0);
}

TEST_CASE("an update older than the indexed one is ignored") {
  index_fixture f;
  f.apply({upd(rec("wf-1", "a", workflow_status::completed, 1000, 7))});
  auto applied = f.index->apply({upd(rec("wf-1", "a", workflow_status::running, 1000, 6))});
  REQUIRE(applied);
  CHECK(*applied == 0);
  CHECK((*f.index->record("wf-1"))->status == workflow_status::completed);
  CHECK(f.all_ids({workflow_status::running, "", 0, "", {}, {}}).empty());
}

TEST_CASE("updates with invalid ids are skipped, the rest of the batch is written") {
  index_fixture f;
  auto applied = f.index->apply({upd(rec("bad id", "a", workflow_status::running, 1)),
                                 upd(rec("wf-1", "a/b", workflow_status::running, 1)),
                                 upd(rec("wf-2", "a", workflow_status::running, 1))});
  REQUIRE(applied);
  CHECK(*applied == 1);
  CHECK(f.all_ids({}) == std::vector<std::string>{"wf-2"});
}

TEST_CASE("dead letters: one per failed workflow, listed by id, cleared on retry") {
  index_fixture f;
  for (int i = 0; i < 5; ++i) {
    const auto id = "wf-" + std::to_string(i);
    f.apply({upd(rec(id, "a", workflow_status::failed, 1000 + i, 3), {},
                 dead_letter_record{"", "", "pay", "boom " + std::to_string(i), 3, 2000 + i})});
  }
  auto got = f.index->dead_letter("wf-2");
  REQUIRE(got);
  REQUIRE(*got);
  CHECK((*got)->id == "wf-2");
  CHECK((*got)->workflow_id == "wf-2");
  CHECK((*got)->step == "pay");
  CHECK((*got)->error == "boom 2");
  CHECK((*got)->attempts == 3);
  CHECK(f.index->stats().dead_letters == 5);

  std::vector<std::string> ids;
  list_dead_letters q{2, "", "", ""};
  for (int pages = 0; pages < 10; ++pages) {
    auto page = f.index->list(q);
    REQUIRE(page);
    for (const auto& d : page->items) ids.push_back(d.id);
    if (page->next_cursor.empty()) break;
    q.cursor = page->next_cursor;
  }
  CHECK(ids == std::vector<std::string>{"wf-0", "wf-1", "wf-2", "wf-3", "wf-4"});

  // Retried: running again, no dead letter.
  f.apply({upd(rec("wf-2", "a", workflow_status::running, 1002, 4))});
  got = f.index->dead_letter("wf-2");
  REQUIRE(got);
  CHECK_FALSE(*got);
  CHECK(f.index->stats().dead_letters == 4);
  f.reopen();
  CHECK(f.index->stats().dead_letters == 4);
}

TEST_CASE("timers are replaced per workflow and loaded back") {
  index_fixture f;
  const timer t1{5000, timer_kind::retry, "a", 2};
  const timer t2{9000, timer_kind::workflow_timeout, "", 0};
  const timer t3{7000, timer_kind::step_timeout, "b", 1};
  f.apply({upd(rec("wf-1", "a", workflow_status::running, 1), {t1, t2}),
           upd(rec("wf-2", "a", workflow_status::running, 1), {t3})});
  f.apply({upd(rec("wf-2", "a", workflow_status::completed, 1, 2), {})});
  f.reopen();
  auto loaded = f.index->load_timers();
  REQUIRE(loaded);
  REQUIRE(loaded->timers.size() == 1);
  CHECK(loaded->timers[0].workflow_id == "wf-1");
  CHECK(loaded->timers[0].timers == std::vector<timer>{t1, t2});
  CHECK(f.index->stats().workflows_with_timers == 1);
}

// The timer service holds at most max-timers: loading more at start only to drop them
// there would make start-up memory grow with the index.
TEST_CASE("load_timers returns at most max_timers: whole sets, those due first") {
  index_fixture f;
  auto t = [](std::int64_t due) { return timer{due, timer_kind::retry, "a", 1}; };
  f.apply({upd(rec("wf-a", "a", workflow_status::running, 1), {t(9000)}),
           upd(rec("wf-b", "a", workflow_status::running, 1), {t(3000), t(8000)}),
           upd(rec("wf-c", "a", workflow_status::running, 1), {t(1000)}),
           upd(rec("wf-d", "a", workflow_status::running, 1), {t(5000)})});
  auto all = f.index->load_timers(100);
  REQUIRE(all);
  CHECK(all->timers.size() == 4);
  CHECK(all->dropped == 0);
  CHECK(all->dropped_first_due == std::numeric_limits<std::int64_t>::max());
  // 3 timers: wf-c (1000) and wf-b (3000, 8000) are due first; wf-d and wf-a are not loaded.
  auto three = f.index->load_timers(3);
  REQUIRE(three);
  REQUIRE(three->timers.size() == 2);
  CHECK(three->timers[0].workflow_id == "wf-b");  // id order, as without a bound
  CHECK(three->timers[0].timers.size() == 2);
  CHECK(three->timers[1].workflow_id == "wf-c");
  CHECK(three->dropped == 2);
  CHECK(three->dropped_first_due == 5000);  // wf-d's: the timer service reloads from there
  auto one = f.index->load_timers(1);
  REQUIRE(one);
  REQUIRE(one->timers.size() == 1);
  CHECK(one->timers[0].workflow_id == "wf-c");
  CHECK(one->dropped == 4);
  CHECK(one->dropped_first_due == 3000);
}

// The sets are read in the order of their first due time ("w" keys) and the read stops at
// the first set that does not fit: the sets due later are not read at all (a damaged one
// among them is not even noticed), so a read costs what it loads, not what the index holds.
TEST_CASE("load_timers reads the sets due first and stops at the first that does not fit") {
  index_fixture f;
  auto t = [](std::int64_t due) { return timer{due, timer_kind::retry, "a", 1}; };
  f.apply({upd(rec("wf-a", "a", workflow_status::running, 1), {t(2000)}),
           upd(rec("wf-b", "a", workflow_status::running, 1), {t(7000), t(3000), t(9000)}),
           upd(rec("wf-c", "a", workflow_status::running, 1), {t(4000)}),
           upd(rec("wf-n", "a", workflow_status::running, 1), {t(-50)}),  // before 1970
           upd(rec("wf-z", "a", workflow_status::running, 1), {t(8000)})});
  f.put_raw({{codec::timers_key(8000, "wf-z"), "damaged"}});
  f.reopen();
  // 2 timers: wf-n (-50) and wf-a (2000); wf-b (3000, 3 timers) does not fit, and wf-c,
  // though it would, is due after it: the read stops there.
  auto two = f.index->load_timers(2);
  REQUIRE(two);
  REQUIRE(two->timers.size() == 2);
  CHECK(two->timers[0].workflow_id == "wf-a");
  CHECK(two->timers[1].workflow_id == "wf-n");
  CHECK(two->dropped == 4);  // every readable timer the index holds besides those two
  CHECK(two->dropped_first_due == 3000);
  CHECK(two->damaged.empty());  // wf-z was never read
  auto all = f.index->load_timers(100);
  REQUIRE(all);
  CHECK(all->timers.size() == 4);
  CHECK(all->dropped == 0);
  CHECK(all->damaged == std::vector<std::string>{"wf-z"});
  // A set due earlier after an update moves ahead; a cleared one is gone.
  f.apply({upd(rec("wf-c", "a", workflow_status::running, 1, 2), {t(-100)}),
           upd(rec("wf-n", "a", workflow_status::completed, 1, 2), {})});
  auto one = f.index->load_timers(1);
  REQUIRE(one);
  REQUIRE(one->timers.size() == 1);
  CHECK(one->timers[0].workflow_id == "wf-c");
  CHECK(one->dropped_first_due == 2000);
  CHECK(one->dropped == 4);
}

// Format 3 kept each timer set under its workflow id ("t" id), and records without the
// set's first due time: at open, the sets move to their due-ordered keys and the records
// gain the time; a damaged set goes first, so the start-up finds it and recovers its
// workflow.
TEST_CASE("an index of format 3 has its timers moved into due order at open") {
  index_fixture f;
  auto t = [](std::int64_t due) { return timer{due, timer_kind::retry, "a", 1}; };
  f.apply({upd(rec("wf-1", "a", workflow_status::running, 1), {t(6000), t(5000)}),
           upd(rec("wf-2", "a", workflow_status::running, 1), {t(1000)}),
           upd(rec("wf-3", "a", workflow_status::running, 1), {t(3000)}),
           upd(rec("wf-4", "a", workflow_status::running, 1), {t(4000)}),
           upd(rec("wf-5", "a", workflow_status::completed, 1))});
  REQUIRE(f.to_format_3() == 4);
  f.put_raw({{std::string(1, codec::k_timers_by_id) + "wf-4", "damaged"}});
  f.reopen();
  CHECK(f.index->stats().running == 4);  // kept, not wiped
  CHECK(f.index->stats().completed == 1);
  CHECK(f.index->stats().workflows_with_timers == 4);
  auto two = f.index->load_timers(3);
  REQUIRE(two);
  CHECK(two->damaged == std::vector<std::string>{"wf-4"});
  REQUIRE(two->timers.size() == 2);
  CHECK(two->timers[0].workflow_id == "wf-2");
  CHECK(two->timers[1].workflow_id == "wf-3");
  CHECK(two->dropped >= 2);
  CHECK(two->dropped_first_due == 5000);
  // The records name their sets' keys again: an update moves one without looking for it.
  check_io(f.io_of({upd(rec("wf-1", "a", workflow_status::running, 1, 2), {t(500)})}), 1, 2, 1);
  check_io(f.io_of({upd(rec("wf-4", "a", workflow_status::running, 1, 2), {t(9000)})}), 1, 2, 1);
  auto first = f.index->load_timers(1);
  REQUIRE(first);
  REQUIRE(first->timers.size() == 1);
  CHECK(first->timers[0].workflow_id == "wf-1");
  CHECK(first->dropped_first_due == 1000);
  CHECK(first->damaged.empty());
  f.reopen();  // format 4 now: nothing moved twice
  auto all = f.index->load_timers(100);
  REQUIRE(all);
  REQUIRE(all->timers.size() == 4);
  CHECK(all->timers[0].timers == std::vector<timer>{t(500)});
  CHECK(all->timers[3].timers == std::vector<timer>{t(9000)});
  CHECK(f.index->stats().workflows_with_timers == 4);
}

TEST_CASE("an update writes only what changed") {
  index_fixture f;
  // New: the record and its 2 secondary keys (by status, by status and definition), after
  // one Get.
  check_io(f.io_of({upd(rec("wf-1", "a", workflow_status::running, 1000, 1))}), 1, 3, 0);
  // RUNNING -> COMPLETED: both secondary keys move.
  check_io(f.io_of({upd(rec("wf-1", "a", workflow_status::completed, 1000, 2))}), 1, 3, 2);
  CHECK(f.all_ids({workflow_status::completed, "a", 0, "", {}, {}}) ==
        std::vector<std::string>{"wf-1"});
  CHECK(f.all_ids({workflow_status::running, "", 0, "", {}, {}}).empty());
  CHECK(f.all_ids({std::nullopt, "a", 0, "", {}, {}}) == std::vector<std::string>{"wf-1"});
  // The same update again (a recovering entity re-sends it): applied, nothing written.
  auto again = f.index->apply({upd(rec("wf-1", "a", workflow_status::completed, 1000, 2))});
  REQUIRE(again);
  CHECK(*again == 1);
  CHECK(f.index->io().puts == 6);
  CHECK(f.index->stats().completed == 1);
  CHECK(f.index->stats().updates == 3);
  // A newer seq with the same status: the record only.
  check_io(f.io_of({upd(rec("wf-1", "a", workflow_status::completed, 1000, 3))}), 1, 1, 0);
  // Without a definition: 1 secondary key; two updates of one id in one batch: one Get.
  check_io(f.io_of({upd(rec("wf-2", "", workflow_status::running, 2000, 1)),
                    upd(rec("wf-2", "", workflow_status::failed, 2000, 2))}),
           1, 4, 1);
  CHECK(f.all_ids({workflow_status::failed, "", 0, "", {}, {}}) ==
        std::vector<std::string>{"wf-2"});
  CHECK(f.all_ids({}) == std::vector<std::string>{"wf-2", "wf-1"});
}

namespace {

// Every dead letter a filtered listing gives, page by page; `pages`: how many pages.
std::vector<std::string> dead_letter_ids(index_fixture& f, list_dead_letters q, int& pages) {
  std::vector<std::string> ids;
  for (pages = 1; pages <= 100; ++pages) {
    auto page = f.index->list(q);
    REQUIRE_MESSAGE(page, (page ? "" : page.error().describe()));
    CHECK(page->items.size() <= q.limit);
    for (const auto& d : page->items) ids.push_back(d.id);
    if (page->next_cursor.empty()) break;
    q.cursor = page->next_cursor;
  }
  return ids;
}

}  // namespace

TEST_CASE("dead letters filtered by definition and step, a bounded scan per page") {
  index_fixture f;
  f.settings.list_max_scan = 4;
  f.reopen();
  // wf-0..wf-9: definitions a (even) and b (odd); step "pay" for 0-5, "ship" for 6-9.
  for (int i = 0; i < 10; ++i) {
    const auto id = "wf-" + std::to_string(i);
    f.apply({upd(rec(id, i % 2 == 0 ? "a" : "b", workflow_status::failed, 1000 + i, 3), {},
                 dead_letter_record{"", "", i < 6 ? "pay" : "ship", "boom", 3, 2000 + i})});
  }
  // A running workflow of "a" has no dead letter and is not in the FAILED listing.
  f.apply({upd(rec("wf-r", "a", workflow_status::running, 1100))});
  int pages = 0;
  // By step: the dead letters in id order, 6-9 skipped.
  auto pay = dead_letter_ids(f, list_dead_letters{2, "", "", "pay"}, pages);
  CHECK(pay == std::vector<std::string>{"wf-0", "wf-1", "wf-2", "wf-3", "wf-4", "wf-5"});
  CHECK(pages == 4);  // 2 + 2 + 2, then wf-6..9 looked at: none
  // At most 4 looked at per page: the first page of "ship" ends empty, with a cursor.
  auto first_ship = f.index->list(list_dead_letters{3, "", "", "ship"});
  REQUIRE(first_ship);
  CHECK(first_ship->items.empty());
  CHECK_FALSE(first_ship->next_cursor.empty());
  auto ship = dead_letter_ids(f, list_dead_letters{3, "", "", "ship"}, pages);
  CHECK(ship == std::vector<std::string>{"wf-6", "wf-7", "wf-8", "wf-9"});
  CHECK(pages == 3);  // wf-0..3 (none), wf-4..7 (6, 7), wf-8..9
  // By definition: its FAILED workflows, newest started first.
  auto a = dead_letter_ids(f, list_dead_letters{10, "", "a", ""}, pages);
  CHECK(a == std::vector<std::string>{"wf-8", "wf-6", "wf-4", "wf-2", "wf-0"});
  // Both.
  auto b_ship = dead_letter_ids(f, list_dead_letters{10, "", "b", "ship"}, pages);
  CHECK(b_ship == std::vector<std::string>{"wf-9", "wf-7"});
  CHECK(dead_letter_ids(f, list_dead_letters{10, "", "c", ""}, pages).empty());
  // A retried workflow (running again) drops out of both listings.
  f.apply({upd(rec("wf-8", "a", workflow_status::running, 1008, 4))});
  a = dead_letter_ids(f, list_dead_letters{10, "", "a", ""}, pages);
  CHECK(a == std::vector<std::string>{"wf-6", "wf-4", "wf-2", "wf-0"});
  // Unfiltered pages are not bounded by list-max-scan.
  auto all = f.index->list(list_dead_letters{9, "", "", ""});
  REQUIRE(all);
  CHECK(all->items.size() == 9);
  // Bad filters and a cursor of another listing are refused.
  CHECK_FALSE(f.index->list(list_dead_letters{1, "", "a b", ""}));
  CHECK_FALSE(f.index->list(list_dead_letters{1, "", "", std::string(300, 's')}));
  auto first = f.index->list(list_dead_letters{1, "", "", ""});
  REQUIRE(first);
  REQUIRE_FALSE(first->next_cursor.empty());
  CHECK_FALSE(f.index->list(list_dead_letters{1, first->next_cursor, "a", ""}));
}

TEST_CASE("unchanged timers and dead letters are not rewritten") {
  index_fixture f;
  const timer t1{5000, timer_kind::workflow_timeout, "", 0};
  const timer t2{3000, timer_kind::step_timeout, "pay", 1};
  check_io(f.io_of({upd(rec("wf-1", "a", workflow_status::running, 1000, 1), {t1})}), 1, 4, 0);
  // Same timers in a later batch: the equal hash is confirmed by reading them; not rewritten.
  check_io(f.io_of({upd(rec("wf-1", "a", workflow_status::running, 1000, 2), {t1})}), 2, 1, 0);
  // Changed timers: written without reading them; due earlier, so under another key (the
  // record names the old one by its first due time).
  check_io(f.io_of({upd(rec("wf-1", "a", workflow_status::running, 1000, 3), {t1, t2})}), 1, 2, 1);
  // Back and forth in one batch: each change written, the unchanged one not, no extra Get.
  check_io(f.io_of({upd(rec("wf-1", "a", workflow_status::running, 1000, 4), {t1}),
                    upd(rec("wf-1", "a", workflow_status::running, 1000, 5), {t1}),
                    upd(rec("wf-1", "a", workflow_status::running, 1000, 6), {t2})}),
           1, 5, 2);
  auto loaded = f.index->load_timers();
  REQUIRE(loaded);
  REQUIRE(loaded->timers.size() == 1);
  CHECK(loaded->timers[0].timers == std::vector<timer>{t2});
  CHECK(f.index->stats().workflows_with_timers == 1);

  const dead_letter_record dl{"", "", "pay", "boom", 3, 2000};
  // Failed with a dead letter: timers deleted, dead letter written.
  check_io(f.io_of({upd(rec("wf-1", "a", workflow_status::failed, 1000, 7), {}, dl)}), 1, 4, 3);
  CHECK(f.index->stats().dead_letters == 1);
  CHECK(f.index->stats().workflows_with_timers == 0);
  // Re-sent (recovery): nothing written; a changed error text is written.
  check_io(f.io_of({upd(rec("wf-1", "a", workflow_status::failed, 1000, 7), {}, dl)}), 2, 0, 0);
  auto changed = dl;
  changed.error = "boom!";
  check_io(f.io_of({upd(rec("wf-1", "a", workflow_status::failed, 1000, 8), {}, changed)}), 1, 2,
           0);
  auto got = f.index->dead_letter("wf-1");
  REQUIRE(got);
  REQUIRE(*got);
  CHECK((*got)->error == "boom!");
  CHECK(f.index->stats().dead_letters == 1);
  f.reopen();
  CHECK(f.index->stats().dead_letters == 1);
  CHECK(f.index->stats().workflows_with_timers == 0);
  // remove() deletes what the record says exists.
  const auto before = f.index->io();
  auto removed = f.index->remove({"wf-1"});
  REQUIRE(removed);
  CHECK(*removed == 1);
  CHECK(f.index->io().deletes - before.deletes == 4);  // 2 secondary, dead letter, record
  CHECK(f.index->stats().dead_letters == 0);
  CHECK(f.index->stats().failed == 0);
}

TEST_CASE("a damaged record is replaced and its timers and dead letter are still found") {
  index_fixture f;
  f.apply({upd(rec("wf-1", "a", workflow_status::running, 1000, 1),
               {{5000, timer_kind::retry, "a", 1}})});
  f.put_raw({{codec::record_key("wf-1"), "garbage"}});
  f.reopen();
  CHECK(f.index->stats().workflows_with_timers == 1);
  auto damaged = f.index->record("wf-1");
  REQUIRE_FALSE(damaged);
  CHECK(damaged.error().code == errc::corruption);
  // The next update reads the dead letter's existence directly (2 Gets), looks for the
  // timers among all sets (the record named their key) and clears them.
  check_io(f.io_of({upd(rec("wf-1", "a", workflow_status::completed, 1000, 2))}), 2, 3, 1);
  CHECK(f.index->stats().workflows_with_timers == 0);
  auto loaded = f.index->load_timers();
  REQUIRE(loaded);
  CHECK(loaded->timers.empty());
  CHECK((*f.index->record("wf-1"))->status == workflow_status::completed);
}

TEST_CASE("an index of a previous format is wiped at open, an unknown format is refused") {
  for (const std::string old_format : {"1", "2"}) {  // format 3 is migrated (below)
    CAPTURE(old_format);
    index_fixture f;
    f.apply({upd(rec("wf-1", "a", workflow_status::running, 1000, 1),
                 {{5000, timer_kind::retry, "a", 1}})});
    f.put_raw({{"format-version", old_format}});
    f.reopen();  // wiped: reconcile() will find wf-1 missing and the runtime recovers it
    CHECK(f.index->stats().running == 0);
    CHECK(f.index->stats().workflows_with_timers == 0);
    auto gone = f.index->record("wf-1");
    REQUIRE(gone);
    CHECK_FALSE(*gone);
    f.apply({upd(rec("wf-2", "a", workflow_status::running, 1000, 1))});
    f.reopen();  // the current format is kept
    CHECK(f.index->stats().running == 1);

    f.put_raw({{"format-version", "99"}});
    auto refused = workflow_index::open(f.settings);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == errc::corruption);
    CHECK(refused.error().message.find("delete the directory") != std::string::npos);
  }
}

TEST_CASE("the codec refuses damaged values instead of misreading them") {
  const auto r = rec("wf-1", "a", workflow_status::cancelled, -5, 9);
  auto bytes = codec::encode(codec::stored_record{r, std::nullopt, std::nullopt});
  CHECK(codec::decode_record(bytes) == r);
  CHECK_FALSE(codec::decode_record(bytes.substr(0, bytes.size() - 1)));
  CHECK_FALSE(codec::decode_record(bytes + "x"));
  CHECK_FALSE(codec::decode_record(""));
  const codec::stored_record full{r, 7, 0xFFFF'FFFF'FFFF'FFFFULL};
  bytes = codec::encode(full);
  CHECK(codec::decode_stored(bytes) == full);
  CHECK_FALSE(codec::decode_stored(bytes.substr(0, bytes.size() - 8)));  // timers hash cut
  bytes = codec::encode(codec::stored_record{r, std::nullopt, std::nullopt});
  CHECK(bytes.back() == 0);  // no flag: a task in flight, as in records written before the flag
  CHECK(codec::decode_record(bytes)->tasks_in_flight);
  bytes.back() = 8;  // an unknown flag
  CHECK_FALSE(codec::decode_stored(bytes));
  auto idle = r;
  idle.tasks_in_flight = false;
  bytes = codec::encode(codec::stored_record{idle, 7, std::nullopt});
  CHECK(codec::decode_record(bytes) == idle);
  CHECK(codec::decode_stored(bytes)->dead_letter_hash == 7u);
  bytes[0] = 1;  // the format without flags and hashes (wiped at open, never decoded)
  CHECK_FALSE(codec::decode_stored(bytes));
  auto t = codec::encode(std::vector<timer>{{1, timer_kind::retry, "s", 1}});
  CHECK(codec::decode_timers(t));
  t[13] = 9;  // the kind byte: 1 format + 4 count + 8 due
  CHECK_FALSE(codec::decode_timers(t));
  CHECK(codec::from_hex(codec::to_hex(std::string("\x00\xff\x10", 3))) ==
        std::string("\x00\xff\x10", 3));
}

TEST_CASE("a second open of a held index is refused as locked") {
  index_fixture f;
  auto second = workflow_index::open(f.settings);
  REQUIRE_FALSE(second);
  CHECK(second.error().code == errc::locked);
}

TEST_CASE("the index actor batches queued updates and answers queries after them") {
  index_fixture f;
  std::shared_ptr<workflow_index> shared = std::move(f.index);
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto actor = spawn_workflow_index_actor(sys, shared, f.settings);
  for (int i = 0; i < 200; ++i) {
    caf::anon_send(actor,
                   upd(rec("wf-" + std::to_string(i), "a", workflow_status::running, 1000 + i)));
  }
  caf::scoped_actor self{sys};
  std::optional<workflow_page> page;
  self->request(actor, std::chrono::seconds(10),
                list_workflows{workflow_status::running, "a", 5, "", {}, {}})
      .receive(
          [&](workflow_page_result& r) {
            if (r) page = std::move(*r);
          },
          [&](caf::error& e) { FAIL(caf::to_string(e)); });
  REQUIRE(page);
  CHECK(page->items.size() == 5);
  CHECK(page->items.front().id == "wf-199");
  std::optional<index_stats> stats;
  self->request(actor, std::chrono::seconds(10), get_index_stats{})
      .receive([&](index_stats& s) { stats = s; }, [&](caf::error& e) { FAIL(caf::to_string(e)); });
  REQUIRE(stats);
  CHECK(stats->running == 200);
  CHECK(stats->updates == 200);
  CHECK(stats->batches >= 1);
  CHECK(stats->batches <= 200);
  std::optional<bool> bad_cursor;
  self->request(actor, std::chrono::seconds(10), list_workflows{std::nullopt, "", 5, "xyz", {}, {}})
      .receive(
          [&](workflow_page_result& r) {
            bad_cursor = !r && r.error().code == errc::invalid_argument;
          },
          [&](caf::error& e) { FAIL(caf::to_string(e)); });
  CHECK(bad_cursor == true);
  bool answered = false;
  self->request(actor, std::chrono::seconds(10), get_dead_letter{"wf-1"})
      .receive([&](dead_letter_lookup& r) { answered = r.has_value() && !r->has_value(); },
               [&](caf::error& e) { FAIL(caf::to_string(e)); });
  CHECK(answered);
  self->send_exit(actor, caf::exit_reason::user_shutdown);
}

namespace {

index_stats stats_of(caf::actor_system& sys, const caf::actor& actor) {
  caf::scoped_actor self{sys};
  index_stats out;
  self->request(actor, std::chrono::seconds(10), get_index_stats{})
      .receive([&](index_stats& s) { out = s; }, [&](caf::error& e) { FAIL(caf::to_string(e)); });
  return out;
}

// An index actor over a fresh index whose updates wait up to `linger`.
struct lingering_index {
  index_fixture f;
  std::shared_ptr<workflow_index> shared;
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> sys;
  caf::actor actor;

  explicit lingering_index(std::chrono::milliseconds linger) {
    f.settings.update_linger = linger;
    shared = std::move(f.index);
    sys.emplace(cfg);
    actor = spawn_workflow_index_actor(*sys, shared, f.settings);
  }
  ~lingering_index() {
    if (actor) caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  }
  void send(workflow_record r) { caf::anon_send(actor, upd(std::move(r))); }
  // Whether `id`'s record is in RocksDB (a direct, thread-safe read: not via the actor).
  bool written(const std::string& id) const {
    auto r = shared->record(id);
    REQUIRE(r);
    return r->has_value();
  }
  // Stops the actor (it writes what waits) and its actor system.
  void stop() {
    {
      caf::scoped_actor self{*sys};
      self->send_exit(actor, caf::exit_reason::user_shutdown);
      self->wait_for(actor);
    }
    actor = caf::actor{};
    sys.reset();
  }
};

}  // namespace

TEST_CASE("the index actor lets updates wait and writes a workflow's newest one only") {
  lingering_index x(std::chrono::seconds(30));  // only the query below writes
  x.send(rec("wf-a", "d", workflow_status::running, 1000, 2));
  x.send(rec("wf-b", "d", workflow_status::running, 1001, 2));
  x.send(rec("wf-a", "d", workflow_status::completed, 1000, 5));
  x.send(rec("wf-a", "d", workflow_status::running, 1000, 3));  // stale
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK_FALSE(x.written("wf-a"));            // still waiting in the actor
  const auto s = stats_of(*x.sys, x.actor);  // a query writes what waits first
  CHECK(s.updates == 2);                     // one per workflow
  CHECK(s.coalesced == 2);                   // wf-a's seq 2 replaced, its stale seq 3 dropped
  CHECK(s.completed == 1);
  CHECK(s.running == 1);
  auto a = x.shared->record("wf-a");
  REQUIRE(a);
  REQUIRE(a->has_value());
  CHECK((*a)->status == workflow_status::completed);
  CHECK((*a)->seq == 5);
}

TEST_CASE("coalesced index updates are counted in workflow_index_updates_coalesced_total") {
  prometheus::Registry registry;
  auto metrics = std::make_shared<store_metrics>(&registry);
  index_fixture f;
  f.index.reset();
  f.settings.update_linger = std::chrono::seconds(30);
  auto opened = workflow_index::open(f.settings, metrics);
  REQUIRE(opened);
  std::shared_ptr<workflow_index> shared = std::move(*opened);
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto actor = spawn_workflow_index_actor(sys, shared, f.settings);
  caf::anon_send(actor, upd(rec("wf-a", "d", workflow_status::running, 1000, 2)));
  caf::anon_send(actor, upd(rec("wf-a", "d", workflow_status::completed, 1000, 5)));
  caf::anon_send(actor, upd(rec("wf-b", "d", workflow_status::running, 1001, 2)));
  caf::anon_send(actor, upd(rec("wf-a", "d", workflow_status::running, 1000, 3)));  // stale
  CHECK(stats_of(sys, actor).coalesced == 2);  // after the actor took all four
  double counted = -1;
  for (const auto& family : registry.Collect()) {
    if (family.name == "workflow_index_updates_coalesced_total") {
      counted = family.metric.at(0).counter.value;
    }
  }
  CHECK(counted == 2);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST_CASE("the index actor writes a waiting update once the linger is over, unasked") {
  lingering_index x(std::chrono::milliseconds(50));
  x.send(rec("wf-a", "d", workflow_status::running, 1000, 2));
  bool written = false;
  for (int i = 0; i < 100 && !written; ++i) {  // at most 5 s; no query in between
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    written = x.written("wf-a");
  }
  CHECK(written);
}

TEST_CASE("the index actor writes waiting updates when it stops") {
  lingering_index x(std::chrono::seconds(30));
  x.send(rec("wf-a", "d", workflow_status::running, 1000, 2));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // taken, now waiting
  CHECK_FALSE(x.written("wf-a"));
  x.stop();
  CHECK(x.written("wf-a"));
}

namespace {

double counter(prometheus::Registry& registry, const std::string& name) {
  for (const auto& family : registry.Collect()) {
    if (family.name == name) return family.metric.at(0).counter.value;
  }
  return -1;
}

// An index actor over an index on a disk that can fill up, its metrics in a registry.
struct disk_index {
  wfe::test::temp_dir dir;
  std::shared_ptr<wfe::test::full_disk_fs> fs = std::make_shared<wfe::test::full_disk_fs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  prometheus::Registry registry;
  std::shared_ptr<workflow_index> shared;
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> sys;
  caf::actor actor;

  explicit disk_index(index_settings settings) {
    settings.dir = dir.path() / "workflow-index";
    settings.env = env.get();
    auto opened = workflow_index::open(settings, std::make_shared<store_metrics>(&registry));
    REQUIRE_MESSAGE(opened, (opened ? "" : opened.error().describe()));
    shared = std::move(*opened);
    sys.emplace(cfg);
    actor = spawn_workflow_index_actor(*sys, shared, settings);
  }
  ~disk_index() {
    fs->full = false;
    {
      caf::scoped_actor self{*sys};
      self->send_exit(actor, caf::exit_reason::user_shutdown);
      self->wait_for(actor);
    }
    sys.reset();
  }
  void send(workflow_record r) { caf::anon_send(actor, upd(std::move(r))); }
  std::optional<workflow_status> status(const std::string& id) const {
    auto r = shared->record(id);
    REQUIRE(r);
    return *r ? std::optional{(*r)->status} : std::nullopt;
  }
  // Waits up to 2 s for workflow_index_updates_dropped_total to reach `n`.
  bool dropped_reaches(double n) {
    for (int i = 0; i < 200; ++i) {
      if (counter(registry, "workflow_index_updates_dropped_total") >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  // Waits up to 30 s for `id` to be indexed with `st` (RocksDB clears a full disk's error
  // once its SstFileManager, which looks every 5 s, sees room again).
  bool reaches(const std::string& id, workflow_status st) const {
    for (int i = 0; i < 600; ++i) {
      if (status(id) == st) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
};

// Updates written at once, failed writes tried again after `min_ms` doubling to `max_ms`.
index_settings retrying(int min_ms, int max_ms) {
  index_settings settings;
  settings.update_linger = std::chrono::milliseconds(0);
  settings.write_retry_min_backoff = std::chrono::milliseconds(min_ms);
  settings.write_retry_max_backoff = std::chrono::milliseconds(max_ms);
  return settings;
}

}  // namespace

TEST_CASE("index writes that fail on a full disk are written again once it has room") {
  auto settings = retrying(50, 200);
  settings.health = std::make_shared<wfe::core::health>();
  disk_index x(settings);
  x.send(rec("wf-before", "d", workflow_status::running, 1000, 2));
  REQUIRE(x.reaches("wf-before", workflow_status::running));

  x.fs->full = true;
  x.send(rec("wf-a", "d", workflow_status::running, 1001, 2));
  x.send(rec("wf-b", "d", workflow_status::running, 1002, 2));
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // several tries, all failed
  CHECK(counter(x.registry, "workflow_index_write_failures_total") >= 2);
  CHECK_FALSE(x.status("wf-a"));
  CHECK(settings.health->down().empty());  // a full disk needs room, not a restart
  // What changes meanwhile replaces what waits for the disk.
  x.send(rec("wf-a", "d", workflow_status::completed, 1001, 5));
  x.send(rec("wf-before", "d", workflow_status::failed, 1000, 4));

  x.fs->full = false;  // no restart, no query: the actor's next try writes them
  CHECK(x.reaches("wf-a", workflow_status::completed));
  CHECK(x.reaches("wf-b", workflow_status::running));
  CHECK(x.reaches("wf-before", workflow_status::failed));
  CHECK(counter(x.registry, "workflow_index_updates_dropped_total") == 0);
  const auto s = stats_of(*x.sys, x.actor);
  CHECK(s.running == 1);
  CHECK(s.completed == 1);
  CHECK(s.failed == 1);
}

TEST_CASE("while index writes fail at most max-retained-updates wait, the oldest are dropped") {
  auto settings = retrying(50, 50);
  settings.max_batch_updates = 2;
  settings.max_retained_updates = 3;
  disk_index x(settings);
  x.fs->full = true;
  for (int i = 0; i < 5; ++i) {
    x.send(rec("wf-" + std::to_string(i), "d", workflow_status::running, 1000 + i, 2));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(counter(x.registry, "workflow_index_updates_dropped_total") == 2);
  x.fs->full = false;
  for (int i = 2; i < 5; ++i) CHECK(x.reaches("wf-" + std::to_string(i), workflow_status::running));
  CHECK_FALSE(x.status("wf-0"));  // dropped: the next start's reconciliation repairs them
  CHECK_FALSE(x.status("wf-1"));
}

TEST_CASE("an index write that fails other than by the disk is dropped, not tried again") {
  auto settings = retrying(20, 20);
  settings.health = std::make_shared<wfe::core::health>();
  disk_index x(settings);
  x.fs->corrupt = true;
  x.send(rec("wf-a", "d", workflow_status::running, 1000, 2));
  x.send(rec("wf-b", "d", workflow_status::running, 1001, 2));
  CHECK(x.dropped_reaches(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // ten backoffs: no retry
  CHECK(counter(x.registry, "workflow_index_write_failures_total") == 0);
  CHECK(counter(x.registry, "workflow_index_updates_dropped_total") == 2);
  x.fs->corrupt = false;
  CHECK_FALSE(x.status("wf-a"));  // dropped: the next start's reconciliation repairs them
  CHECK_FALSE(x.status("wf-b"));
  // RocksDB holds a damaged write's error (unrecoverable: Resume fails), so later updates
  // are dropped and counted too until a restart reopens the index; the actor answers on.
  x.send(rec("wf-c", "d", workflow_status::running, 1002, 2));
  CHECK(x.dropped_reaches(3));
  CHECK(counter(x.registry, "workflow_index_updates_dropped_total") == 3);
  CHECK(counter(x.registry, "workflow_index_write_failures_total") == 0);
  const auto s = stats_of(*x.sys, x.actor);
  CHECK(s.running == 0);
  // GET /health reports the index down (only a restart mends it): a liveness probe
  // restarts the node, whose start repairs the index from the journal.
  const auto down = settings.health->down();
  REQUIRE(down.size() == 1);
  CHECK(down[0].first == "workflow-index");
  CHECK(down[0].second.find("injected by full_disk_fs") != std::string::npos);
  CHECK(down[0].second.find("restart the node") != std::string::npos);
}

TEST_CASE("the index opens RocksDB with its bytes-per-sync, strict") {
  wfe::test::temp_dir dir;
  index_settings settings;
  settings.dir = dir.path() / "workflow-index";
  settings.bytes_per_sync = 3 * 1024 * 1024;
  {
    auto opened = workflow_index::open(settings);
    REQUIRE(opened);
  }
  const auto options = wfe::test::rocksdb_options_file(settings.dir);
  CHECK(wfe::test::rocksdb_option_is(options, "bytes_per_sync", "3145728"));
  CHECK(wfe::test::rocksdb_option_is(options, "strict_bytes_per_sync", "true"));
}
