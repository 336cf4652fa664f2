// The group-commit journal actor: batching, acknowledgement only after the write,
// bounds, conflicting writers, failures reaching the requester.
#include "persistence/journal_actor.hpp"

#include <doctest/doctest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <prometheus/registry.h>
#include <rocksdb/db.h>

#include "persistence/journal_metrics.hpp"
#include "persistence/memory_journal.hpp"
#include "persistence/rocksdb_journal.hpp"
#include "tests/support/temp_dir.hpp"

using namespace wfe::persistence;
using namespace std::chrono_literals;

namespace {

constexpr timeout_ms k_timeout = 10s;

event make_event(std::uint64_t seq) { return event{seq, "e", "payload", "w", 0}; }

write_request one_event(const persistence_id& pid, std::uint64_t seq) {
  return write_request{pid, {make_event(seq)}};
}

// A journal whose writes wait until the test opens the gate, and which records the
// size of every batch it was given.
class gated_journal final : public journal {
 public:
  std::vector<result<std::uint64_t>> write_many(std::vector<write_request> requests) override {
    std::unique_lock lock(mutex_);
    batch_sizes_.push_back(requests.size());
    ++entered_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    lock.unlock();
    return inner_.write_many(std::move(requests));
  }
  result<std::uint64_t> replay(const persistence_id& pid, std::uint64_t from, std::uint64_t to,
                               std::uint64_t max, const replay_callback& f) override {
    return inner_.replay(pid, from, to, max, f);
  }
  result<std::uint64_t> highest_sequence_nr(const persistence_id& pid) override {
    return inner_.highest_sequence_nr(pid);
  }
  result<done> delete_to(const persistence_id& pid, std::uint64_t to) override {
    return inner_.delete_to(pid, to);
  }
  std::vector<result<done>> purge_many(std::vector<purge_request> requests) override {
    {
      std::scoped_lock lock(mutex_);
      purge_batch_sizes_.push_back(requests.size());
    }
    return inner_.purge_many(std::move(requests));
  }
  result<std::vector<persistence_id>> persistence_ids() override {
    return inner_.persistence_ids();
  }
  result<std::vector<persistence_id>> persistence_ids(shard_id s) override {
    return inner_.persistence_ids(s);
  }

  void open() {
    std::scoped_lock lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  bool wait_entered(std::size_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 5s, [&] { return entered_ >= n; });
  }
  std::vector<std::size_t> batch_sizes() {
    std::scoped_lock lock(mutex_);
    return batch_sizes_;
  }
  std::vector<std::size_t> purge_batch_sizes() {
    std::scoped_lock lock(mutex_);
    return purge_batch_sizes_;
  }
  // Writes straight to the journal behind the gate (the state a test starts from).
  void seed(const persistence_id& pid, std::uint64_t events) {
    for (std::uint64_t seq = 1; seq <= events; ++seq) REQUIRE(inner_.write(pid, {make_event(seq)}));
  }

 private:
  memory_journal inner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
  std::size_t entered_ = 0;
  std::vector<std::size_t> batch_sizes_;
  std::vector<std::size_t> purge_batch_sizes_;
};

struct actor_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<journal_actor_stats> stats = std::make_shared<journal_actor_stats>();
  caf::actor journal_actor;

  void start(std::shared_ptr<journal> store, journal_actor_config c = {}) {
    journal_actor = spawn_journal_actor(sys, {std::move(store), stats, nullptr}, c);
  }
  ~actor_fixture() {
    if (journal_actor) caf::anon_send_exit(journal_actor, caf::exit_reason::user_shutdown);
  }
};

// Writes event `seq` of `events` and, after its ack, the next one; reports to `done_to`.
// (Recursion through a plain function: a std::function capturing itself would keep
// itself alive forever.)
void write_from(caf::event_based_actor* self, const caf::actor& journal_actor,
                const persistence_id& pid, std::uint64_t events, const caf::actor& done_to,
                std::uint64_t seq) {
  if (seq > events) {
    self->send(done_to, true);
    self->quit();
    return;
  }
  request_write(self, journal_actor, k_timeout, one_event(pid, seq), [=](result<std::uint64_t> r) {
    if (!r || *r != seq) {
      self->send(done_to, false);
      self->quit();
      return;
    }
    write_from(self, journal_actor, pid, events, done_to, seq + 1);
  });
}

// An event-based writer that sends `events` one at a time, each after the previous ack,
// then reports to `done_to`.
void sequential_writer(caf::event_based_actor* self, caf::actor journal_actor, persistence_id pid,
                       std::uint64_t events, caf::actor done_to) {
  write_from(self, journal_actor, pid, events, done_to, 1);
}

}  // namespace

TEST_CASE_FIXTURE(actor_fixture,
                  "concurrent writers are batched into fewer synced writes than requests") {
  wfe::test::temp_dir dir;
  auto opened = rocksdb_journal::open(rocksdb_journal_config{.dir = dir.path() / "j"});
  REQUIRE(opened.has_value());
  std::shared_ptr<journal> store = std::move(opened).value();
  start(store);
  constexpr int writers = 32;
  constexpr std::uint64_t events_each = 20;
  caf::scoped_actor self{sys};
  for (int i = 0; i < writers; ++i) {
    sys.spawn(sequential_writer, journal_actor,
              persistence_id{shard_id{1}, "w-" + std::to_string(i)}, events_each, caf::actor{self});
  }
  int ok = 0;
  for (int i = 0; i < writers; ++i) {
    self->receive([&](bool success) { ok += success ? 1 : 0; },
                  caf::after(std::chrono::seconds(30)) >> [] { FAIL("writers timed out"); });
  }
  CHECK(ok == writers);
  const auto requests = stats->requests.load();
  const auto writes = stats->writes.load();
  MESSAGE(requests << " requests in " << writes << " synced writes");
  CHECK(requests == writers * events_each);
  CHECK(stats->events.load() == writers * events_each);
  CHECK(writes < requests / 2);
  for (int i = 0; i < writers; ++i) {
    const persistence_id pid{shard_id{1}, "w-" + std::to_string(i)};
    CHECK(*store->highest_sequence_nr(pid) == events_each);
  }
}

TEST_CASE_FIXTURE(actor_fixture, "a write is acknowledged only after the journal write returned") {
  auto store = std::make_shared<gated_journal>();
  start(store);
  const persistence_id pid{shard_id{1}, "p"};
  std::atomic<bool> acked{false};
  std::thread writer([&] {
    auto r = write_blocking(sys, journal_actor, k_timeout, one_event(pid, 1));
    CHECK(r.has_value());
    acked = true;
  });
  REQUIRE(store->wait_entered(1));
  std::this_thread::sleep_for(100ms);
  CHECK_FALSE(acked.load());  // the write is in progress: no acknowledgement yet
  store->open();
  writer.join();
  CHECK(acked.load());
  auto events = replay_blocking(sys, journal_actor, k_timeout, pid, 1, max_sequence_nr, 100);
  REQUIRE(events.has_value());
  CHECK(events->size() == 1);
}

TEST_CASE_FIXTURE(actor_fixture,
                  "requests arriving during a write form the next batch within its bounds") {
  auto store = std::make_shared<gated_journal>();
  start(store, journal_actor_config{.max_batch_events = 4, .max_batch_bytes = 1 << 20});
  std::vector<std::thread> writers;
  std::atomic<int> ok{0};
  auto write = [&](int i) {
    const persistence_id pid{shard_id{1}, "p-" + std::to_string(i)};
    if (write_blocking(sys, journal_actor, k_timeout, one_event(pid, 1))) ++ok;
  };
  writers.emplace_back(write, 0);
  REQUIRE(store->wait_entered(1));  // the first batch is being written...
  for (int i = 1; i <= 10; ++i) writers.emplace_back(write, i);  // ...these queue up
  std::this_thread::sleep_for(200ms);
  store->open();
  for (auto& t : writers) t.join();
  CHECK(ok == 11);
  const auto sizes = store->batch_sizes();
  MESSAGE("batch sizes: " << sizes.size());
  CHECK(sizes.front() == 1);
  for (auto n : sizes) CHECK(n <= 4);
  CHECK(sizes.size() == 4);  // 1, then 10 queued requests as 4 + 4 + 2
}

TEST_CASE_FIXTURE(actor_fixture,
                  "a read flushes pending writes of its own id only, never those of others") {
  auto store = std::make_shared<gated_journal>();
  start(store);
  std::vector<std::thread> threads;
  auto write = [&](std::string id) {
    CHECK(write_blocking(sys, journal_actor, k_timeout, one_event({shard_id{1}, id}, 1)));
  };
  std::size_t read_a = 99;
  std::size_t read_b = 99;
  auto read = [&](std::string id, std::size_t& out) {
    auto r =
        replay_blocking(sys, journal_actor, k_timeout, {shard_id{1}, id}, 1, max_sequence_nr, 100);
    REQUIRE(r.has_value());
    out = r->size();
  };
  threads.emplace_back(write, "first");
  REQUIRE(store->wait_entered(1));  // the actor is inside a write; the rest queue up in order
  auto then = [&](auto&&... args) {
    threads.emplace_back(std::forward<decltype(args)>(args)...);
    std::this_thread::sleep_for(100ms);
  };
  then(write, "b");
  then(read, "a", std::ref(read_a));  // another id: b stays pending
  then(write, "c");
  then(read, "b", std::ref(read_b));  // its own id: b and c are written first
  store->open();
  for (auto& t : threads) t.join();
  CHECK(read_a == 0);
  CHECK(read_b == 1);
  const auto sizes = store->batch_sizes();
  REQUIRE(sizes.size() == 2);
  CHECK(sizes[0] == 1);
  CHECK(sizes[1] == 2);  // b and c in one write: the read of a did not force a sync
}

TEST_CASE_FIXTURE(actor_fixture,
                  "purges waiting together share one journal purge and keep mailbox order per id") {
  auto store = std::make_shared<gated_journal>();
  start(store);
  auto pid = [](const char* id) { return persistence_id{shard_id{1}, id}; };
  for (const char* id : {"a", "b", "c"}) store->seed(pid(id), 1);
  std::vector<std::thread> threads;
  std::map<std::string, std::string> outcome;
  std::mutex outcome_mutex;
  auto note = [&](const std::string& what, bool ok, const std::string& error) {
    std::scoped_lock lock(outcome_mutex);
    outcome[what] = ok ? "ok" : error;
  };
  auto purge = [&](const char* id, std::uint64_t if_highest) {
    auto r = purge_blocking(sys, journal_actor, k_timeout, pid(id), if_highest);
    note(std::string("purge ") + id, r.has_value(),
         r ? std::string() : std::string(to_string(r.error().code)));
  };
  auto write = [&](const char* id, std::uint64_t seq) {
    auto r = write_blocking(sys, journal_actor, k_timeout, one_event(pid(id), seq));
    note(std::string("write ") + id, r.has_value(),
         r ? std::string() : std::string(to_string(r.error().code)));
  };
  threads.emplace_back(write, "first", 1);
  REQUIRE(store->wait_entered(1));  // the actor is inside a write; the rest queue up in order
  auto then = [&](auto&&... args) {
    threads.emplace_back(std::forward<decltype(args)>(args)...);
    std::this_thread::sleep_for(100ms);
  };
  then(write, "d", 1);  // pending when its purge comes: written first
  then(purge, "d", 1);
  then(purge, "a", 1);
  then(purge, "b", 1);
  then(purge, "c", 2);  // not its highest: refused, nothing deleted
  std::size_t read_b = 99;
  then([&] {  // a read of b writes the pending purges first: b has no events left
    auto r = replay_blocking(sys, journal_actor, k_timeout, pid("b"), 1, max_sequence_nr, 100);
    REQUIRE(r.has_value());
    read_b = r->size();
  });
  then(write, "a", 1);  // after a's purge: a starts again at 1
  store->open();
  for (auto& t : threads) t.join();
  CHECK(outcome == std::map<std::string, std::string>{{"write first", "ok"},
                                                      {"write d", "ok"},
                                                      {"purge d", "ok"},
                                                      {"purge a", "ok"},
                                                      {"purge b", "ok"},
                                                      {"purge c", "sequence_conflict"},
                                                      {"write a", "ok"}});
  CHECK(read_b == 0);
  // d's write, then the four purges in one journal purge, then a's new first event.
  CHECK(store->purge_batch_sizes() == std::vector<std::size_t>{4});
  CHECK(store->batch_sizes() == std::vector<std::size_t>{1, 1, 1});
  CHECK(stats->purge_writes.load() == 1);
  CHECK(*store->highest_sequence_nr(pid("a")) == 1);
  CHECK(*store->highest_sequence_nr(pid("b")) == 0);
  CHECK(*store->highest_sequence_nr(pid("c")) == 1);
  CHECK(*store->highest_sequence_nr(pid("d")) == 0);
}

TEST_CASE_FIXTURE(actor_fixture, "purges beyond max-batch-purges go into the next journal purge") {
  auto store = std::make_shared<gated_journal>();
  start(store, journal_actor_config{.max_batch_purges = 2});
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    CHECK(write_blocking(sys, journal_actor, k_timeout, one_event({shard_id{1}, "x"}, 1)));
  });
  REQUIRE(store->wait_entered(1));
  for (int i = 0; i < 5; ++i) {
    threads.emplace_back([&, i] {
      CHECK(purge_blocking(sys, journal_actor, k_timeout, {shard_id{1}, "p-" + std::to_string(i)},
                           0));
    });
  }
  std::this_thread::sleep_for(200ms);
  store->open();
  for (auto& t : threads) t.join();
  CHECK(store->purge_batch_sizes() == std::vector<std::size_t>{2, 2, 1});
}

TEST_CASE_FIXTURE(actor_fixture,
                  "the reader answers while a write is in progress, and sees it once acked") {
  auto store = std::make_shared<gated_journal>();
  start(store);
  auto reader = spawn_journal_reader(sys, store);
  const persistence_id pid{shard_id{1}, "p"};
  std::thread writer(
      [&] { CHECK(write_blocking(sys, journal_actor, k_timeout, one_event(pid, 1))); });
  REQUIRE(store->wait_entered(1));  // the journal actor is inside the write...
  // ...and the reader still answers: nothing of an unacknowledged write.
  auto before = replay_blocking(sys, reader, k_timeout, pid, 1, max_sequence_nr, 100);
  REQUIRE(before.has_value());
  CHECK(before->empty());
  store->open();
  writer.join();
  auto after = replay_blocking(sys, reader, k_timeout, pid, 1, max_sequence_nr, 100);
  REQUIRE(after.has_value());
  REQUIRE(after->size() == 1);
  CHECK(after->front().sequence_nr == 1);
  caf::anon_send_exit(reader, caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(actor_fixture, "a request larger than the batch bounds is rejected") {
  start(std::make_shared<memory_journal>(),
        journal_actor_config{.max_batch_events = 2, .max_batch_bytes = 1 << 20});
  const persistence_id pid{shard_id{1}, "p"};
  auto r = write_blocking(sys, journal_actor, k_timeout,
                          write_request{pid, {make_event(1), make_event(2), make_event(3)}});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::invalid_argument);
  CHECK(r.error().message.find("at most 2 events") != std::string::npos);
}

TEST_CASE_FIXTURE(actor_fixture, "a conflicting second writer is rejected through the actor") {
  start(std::make_shared<memory_journal>());
  const persistence_id pid{shard_id{1}, "p"};
  REQUIRE(write_blocking(sys, journal_actor, k_timeout, one_event(pid, 1)).has_value());
  auto second = write_blocking(sys, journal_actor, k_timeout, one_event(pid, 1));
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().code == errc::sequence_conflict);
  CHECK(second.error().message.find("p@shard-1") != std::string::npos);
}

TEST_CASE_FIXTURE(actor_fixture, "a stopped journal actor answers writers with unavailable") {
  start(std::make_shared<memory_journal>());
  caf::anon_send_exit(journal_actor, caf::exit_reason::user_shutdown);
  caf::scoped_actor self{sys};
  self->wait_for(journal_actor);
  auto r = write_blocking(sys, journal_actor, 1s, one_event(persistence_id{shard_id{1}, "p"}, 1));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::unavailable);
}

TEST_CASE_FIXTURE(actor_fixture, "the journal actor exports events, batch sizes and latencies") {
  prometheus::Registry registry;
  auto metrics = std::make_shared<journal_metrics>(&registry);
  journal_actor =
      spawn_journal_actor(sys, {std::make_shared<memory_journal>(), stats, metrics}, {});
  const persistence_id pid{shard_id{1}, "p"};
  REQUIRE(write_blocking(sys, journal_actor, k_timeout, one_event(pid, 1)).has_value());
  REQUIRE(write_blocking(sys, journal_actor, k_timeout,
                         write_request{pid, {make_event(2), make_event(3)}})
              .has_value());
  auto rejected = write_blocking(sys, journal_actor, k_timeout, one_event(pid, 1));
  REQUIRE_FALSE(rejected.has_value());
  auto families = registry.Collect();
  auto find = [&](const std::string& name) -> const prometheus::ClientMetric* {
    for (const auto& f : families) {
      if (f.name == name && !f.metric.empty()) return &f.metric.front();
    }
    FAIL("no metric family " << name);
    return nullptr;
  };
  CHECK(find("journal_events_persisted_total")->counter.value == 3);
  CHECK(find("journal_batch_size")->histogram.sample_count == 3);
  CHECK(find("journal_batch_size")->histogram.sample_sum == 4);
  CHECK(find("journal_sync_seconds")->histogram.sample_count == 3);
  CHECK(find("journal_write_seconds")->histogram.sample_count == 2);  // acknowledged only
  CHECK(find("journal_corruptions_total")->counter.value == 0);
}

namespace {

// Writes `request` through request_write and reports success (bool) to `to`.
void one_writer(caf::event_based_actor* self, caf::actor journal_actor, write_request request,
                bool background, caf::actor to) {
  request_write(
      self, journal_actor, 120s, std::move(request),
      [self, to](result<std::uint64_t> r) {
        self->send(to, r.has_value());
        self->quit();
      },
      background);
}

}  // namespace

TEST_CASE_FIXTURE(actor_fixture,
                  "a background write lingers and shares the sync of a foreground one") {
  // A linger far longer than the test may take: only the foreground write can end it.
  start(std::make_shared<memory_journal>(), {.background_linger = 60s});
  caf::scoped_actor self{sys};
  const persistence_id bg{shard_id{1}, "background"};
  const persistence_id fg{shard_id{1}, "foreground"};
  sys.spawn(one_writer, journal_actor, one_event(bg, 1), true, caf::actor{self});
  std::this_thread::sleep_for(200ms);  // the background write is waiting by now
  CHECK(stats->writes.load() == 0);
  sys.spawn(one_writer, journal_actor, one_event(fg, 1), false, caf::actor{self});
  int ok = 0;
  for (int i = 0; i < 2; ++i) {
    self->receive([&](bool success) { ok += success ? 1 : 0; },
                  caf::after(30s) >> [] { FAIL("the foreground write did not end the linger"); });
  }
  CHECK(ok == 2);
  CHECK(stats->writes.load() == 1);  // one sync for both
  CHECK(stats->requests.load() == 2);
}

TEST_CASE_FIXTURE(actor_fixture, "a background write alone is written once the linger is over") {
  start(std::make_shared<memory_journal>(), {.background_linger = 300ms});
  caf::scoped_actor self{sys};
  const auto sent = std::chrono::steady_clock::now();
  sys.spawn(one_writer, journal_actor, one_event(persistence_id{shard_id{1}, "alone"}, 1), true,
            caf::actor{self});
  bool ok = false;
  self->receive([&](bool success) { ok = success; },
                caf::after(30s) >> [] { FAIL("the background write was never written"); });
  CHECK(ok);
  CHECK(std::chrono::steady_clock::now() - sent >= 300ms);  // it did wait
  CHECK(stats->writes.load() == 1);
}

TEST_CASE_FIXTURE(actor_fixture, "a read of a lingering write's id writes it first") {
  auto store = std::make_shared<memory_journal>();
  start(store, {.background_linger = 60s});
  caf::scoped_actor self{sys};
  const persistence_id pid{shard_id{1}, "read-me"};
  sys.spawn(one_writer, journal_actor, one_event(pid, 1), true, caf::actor{self});
  std::this_thread::sleep_for(200ms);
  auto events = replay_blocking(sys, journal_actor, 30s, pid, 1, max_sequence_nr, 10);
  REQUIRE(events.has_value());
  CHECK(events->size() == 1);
  bool ok = false;
  self->receive([&](bool success) { ok = success; },
                caf::after(30s) >> [] { FAIL("the write was not acknowledged"); });
  CHECK(ok);
}

TEST_CASE_FIXTURE(actor_fixture,
                  "a write taken after its requester's timeout is refused unwritten") {
  auto store = std::make_shared<gated_journal>();
  start(store);
  const persistence_id blocker{shard_id{1}, "blocker"}, late{shard_id{1}, "late"},
      patient{shard_id{1}, "patient"};
  std::thread first(
      [&] { CHECK(write_blocking(sys, journal_actor, k_timeout, one_event(blocker, 1))); });
  REQUIRE(store->wait_entered(1));  // the journal is inside a write; the next two queue up
  caf::scoped_actor waiter{sys};
  auto send_write = [&](const persistence_id& pid, timeout_ms timeout) {
    sys.spawn([ja = journal_actor, pid, timeout,
               to = caf::actor{waiter}](caf::event_based_actor* self) {
      request_write(self, ja, timeout, one_event(pid, 1), [self, to, pid](result<std::uint64_t> r) {
        self->send(to, pid.id(),
                   r ? std::string("ok")
                     : std::to_string(static_cast<int>(r.error().code)) + " " + r.error().message);
      });
    });
  };
  send_write(late, 50ms);
  send_write(patient, k_timeout);
  std::this_thread::sleep_for(300ms);  // well past the late write's timeout
  store->open();
  first.join();
  std::map<std::string, std::string> answers;
  for (int i = 0; i < 2; ++i) {
    waiter->receive([&](const std::string& id, const std::string& r) { answers[id] = r; },
                    caf::after(10s) >> [] { FAIL("no answer from the journal"); });
  }
  // Answered by the journal itself (not a CAF timeout): a definite "not written".
  CHECK(answers["late"] ==
        std::to_string(static_cast<int>(errc::unavailable)) + " journal write of " +
            late.describe() +
            " waited longer than its request timeout for the journal; not written");
  CHECK(answers["patient"] == "ok");
  CHECK(stats->expired.load() == 1);
  CHECK(store->highest_sequence_nr(late).value() == 0);
  CHECK(store->highest_sequence_nr(patient).value() == 1);
}

TEST_CASE_FIXTURE(actor_fixture,
                  "the journal actor deletes kept files whose time is over, idle or not") {
  using namespace std::chrono_literals;
  // Two idle journals holding files kept for live copies past their time: only the one
  // whose actor's housekeeping runs within the test deletes them.
  std::vector<std::unique_ptr<wfe::test::temp_dir>> dirs;
  auto journal_with_expired_files = [&] {
    dirs.push_back(std::make_unique<wfe::test::temp_dir>());
    auto opened = rocksdb_journal::open(
        rocksdb_journal_config{.dir = dirs.back()->path() / "j",
                               .write_buffer_size_bytes = 64 * 1024,
                               .files = {.keep_deleted_for = 100ms, .max_total_wal_size = 1 << 20}});
    REQUIRE(opened.has_value());
    std::shared_ptr<rocksdb_journal> j = std::move(opened).value();
    const persistence_id pid{shard_id{1}, "big"};
    for (std::uint64_t seq = 1; seq <= 4000; seq += 50) {  // ~2 MB: flushes, compactions
      std::vector<event> batch;
      for (auto s = seq; s < seq + 50; ++s) {
        batch.push_back(event{s, "e", std::string(500, 'x'), "w", 0});
      }
      REQUIRE(j->write_many({write_request{pid, std::move(batch)}})[0].has_value());
    }
    // Until the store is quiet: no flush or compaction left to delete files later.
    for (int quiet = 0; quiet < 3;) {
      std::this_thread::sleep_for(100ms);
      std::uint64_t flushes = 0;
      std::uint64_t compactions = 0;
      REQUIRE(j->db()->GetIntProperty("rocksdb.num-running-flushes", &flushes));
      REQUIRE(j->db()->GetIntProperty("rocksdb.num-running-compactions", &compactions));
      quiet = flushes + compactions == 0 ? quiet + 1 : 0;
    }
    REQUIRE(j->deleted_files_kept_bytes() > 0);
    std::this_thread::sleep_for(300ms);  // past keep_deleted_for
    return j;
  };
  auto swept = journal_with_expired_files();
  start(swept, {.housekeeping_interval = 50ms});
  auto not_yet = journal_with_expired_files();
  auto other_actor = spawn_journal_actor(sys, {not_yet, nullptr, nullptr},
                                         {.housekeeping_interval = std::chrono::hours(1)});
  for (int i = 0; i < 100 && swept->deleted_files_kept_bytes() > 0; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  CHECK(swept->deleted_files_kept_bytes() == 0);
  CHECK(not_yet->deleted_files_kept_bytes() > 0);
  caf::anon_send_exit(other_actor, caf::exit_reason::user_shutdown);
}
