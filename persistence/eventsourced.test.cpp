// Event-sourced entities with a small counter model: recovery from replay and from
// snapshot + tail, stash during recovery, reply only after persist, damaged snapshots
// fall back, bounded concurrent recoveries, recovery failures name the id.
#include "persistence/eventsourced.hpp"

#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include <prometheus/registry.h>

#include "persistence/memory_journal.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/temp_dir.hpp"

using namespace wfe::persistence;
using namespace std::chrono_literals;

namespace {

struct counter_cmd {
  std::int64_t add = 0;  // 0: read; negative: rejected
};

struct model_stats {
  std::atomic<int> applied{0};
};

// The pure part: decide and apply, plus codecs.
struct counter_model {
  using state_type = std::int64_t;
  using command_type = counter_cmd;
  using event_type = std::int64_t;
  using reply_type = std::int64_t;

  std::shared_ptr<model_stats> stats = std::make_shared<model_stats>();

  state_type initial_state(const persistence_id&) const { return 0; }
  wfe::core::expected<std::vector<event_type>, reply_type> decide(const state_type&,
                                                                  const command_type& c) const {
    if (c.add < 0) return wfe::core::unexpected<reply_type>{-1};
    if (c.add == 0) return std::vector<event_type>{};
    return std::vector<event_type>{c.add};
  }
  state_type apply(state_type s, const event_type& e) const {
    ++stats->applied;
    return s + e;
  }
  reply_type reply(const state_type& s, const command_type&) const { return s; }
  encoded encode_event(const event_type& e) const { return {"add", std::to_string(e)}; }
  result<event_type> decode_event(const event& e) const {
    if (e.manifest != "add")
      return fail(errc::corruption, "unknown event manifest '" + e.manifest + "'");
    return std::stoll(e.payload);
  }
  encoded encode_state(const state_type& s) const { return {"counter.v1", std::to_string(s)}; }
  result<state_type> decode_state(const snapshot& s) const {
    if (s.manifest != "counter.v1") return fail(errc::corruption, "unknown state " + s.manifest);
    return std::stoll(s.payload);
  }
};

}  // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(counter_cmd)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::persistence::result<std::int64_t>)

namespace {

constexpr timeout_ms k_timeout = 10s;

// A memory journal whose replays and writes can be held, or slowed down.
class test_journal final : public journal {
 public:
  std::vector<result<std::uint64_t>> write_many(std::vector<write_request> requests) override {
    wait_for(writes_open_, writes_entered_);
    {
      std::scoped_lock lock(mutex_);
      for (const auto& r : requests) {
        if (r.prepared == prepared_value(r)) ++prepared_written_;
        if (!r.prepared.empty()) prepared_elsewhere_ += prepared_by_ != std::this_thread::get_id();
      }
    }
    return inner_.write_many(std::move(requests));
  }
  // Marks the request, and notes the thread it ran on.
  void prepare(write_request& r) const override {
    std::scoped_lock lock(mutex_);
    r.prepared = prepared_value(r);
    prepared_by_ = std::this_thread::get_id();
  }
  // Writes that reached write_many prepared, and of those, prepared on another thread.
  std::pair<int, int> prepared_writes() {
    std::scoped_lock lock(mutex_);
    return {prepared_written_, prepared_elsewhere_};
  }
  result<std::uint64_t> replay(const persistence_id& pid, std::uint64_t from, std::uint64_t to,
                               std::uint64_t max, const replay_callback& f) override {
    wait_for(replays_open_, replays_entered_);
    if (replay_delay_.count() > 0) std::this_thread::sleep_for(replay_delay_);
    return inner_.replay(pid, from, to, max, f);
  }
  result<std::uint64_t> highest_sequence_nr(const persistence_id& pid) override {
    return inner_.highest_sequence_nr(pid);
  }
  result<done> delete_to(const persistence_id& pid, std::uint64_t to) override {
    return inner_.delete_to(pid, to);
  }
  std::vector<result<done>> purge_many(std::vector<purge_request> requests) override {
    return inner_.purge_many(std::move(requests));
  }
  result<std::vector<persistence_id>> persistence_ids() override {
    return inner_.persistence_ids();
  }
  result<std::vector<persistence_id>> persistence_ids(shard_id s) override {
    return inner_.persistence_ids(s);
  }

  void hold_writes(bool hold) { set(writes_open_, !hold); }
  void hold_replays(bool hold) { set(replays_open_, !hold); }
  void slow_replays(std::chrono::milliseconds d) { replay_delay_ = d; }
  bool wait_writes_entered(int n) { return wait_entered(writes_entered_, n); }
  bool wait_replays_entered(int n) { return wait_entered(replays_entered_, n); }
  memory_journal& inner() { return inner_; }

 private:
  void wait_for(bool& open, int& entered) {
    std::unique_lock lock(mutex_);
    ++entered;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open; });
  }
  void set(bool& flag, bool value) {
    std::scoped_lock lock(mutex_);
    flag = value;
    changed_.notify_all();
  }
  bool wait_entered(int& entered, int n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 5s, [&] { return entered >= n; });
  }

  static std::string prepared_value(const write_request& r) {
    return "prepared " + std::to_string(r.events.size());
  }

  memory_journal inner_;
  mutable std::mutex mutex_;
  mutable std::thread::id prepared_by_;
  int prepared_written_ = 0;
  int prepared_elsewhere_ = 0;
  std::condition_variable changed_;
  bool writes_open_ = true;
  bool replays_open_ = true;
  int writes_entered_ = 0;
  int replays_entered_ = 0;
  std::chrono::milliseconds replay_delay_{0};
};

struct fixture {
  // Declared before the actor system, so they outlive every actor using them (the
  // system's destructor waits for its actors).
  wfe::test::temp_dir dir;
  prometheus::Registry registry;
  std::shared_ptr<journal_metrics> metrics = std::make_shared<journal_metrics>(&registry);
  std::shared_ptr<test_journal> store = std::make_shared<test_journal>();
  std::shared_ptr<rocksdb_snapshot_store> snapshots;
  std::shared_ptr<recovery_permit_stats> permit_stats = std::make_shared<recovery_permit_stats>();
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  eventsourced_deps deps;
  eventsourced_config es{.request_timeout = k_timeout, .replay_batch_size = 4, .snapshot_every = 0};
  counter_model model;
  const persistence_id pid{shard_id{7}, "counter-1"};

  fixture() {
    auto opened = rocksdb_snapshot_store::open({.dir = dir.path() / "snapshots"}, metrics);
    REQUIRE(opened.has_value());
    snapshots = std::move(opened).value();
    deps.journal = spawn_journal_actor(sys, {store, nullptr, metrics}, {});
    deps.snapshots = spawn_snapshot_store_actor(sys, snapshots);
    deps.recovery_permits = spawn_recovery_permits(sys, 50, permit_stats);
    deps.metrics = metrics;
  }
  ~fixture() {
    // Entities too: the system's destructor waits for every actor, and an idle entity
    // would otherwise live until its request timeouts expired (~10 s per test).
    for (auto& a : spawned) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    for (auto& a : {deps.journal, deps.snapshots, deps.recovery_permits})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }

  std::vector<caf::actor> spawned;
  caf::actor spawn(const persistence_id& id) {
    spawned.push_back(spawn_eventsourced(sys, model, id, deps, es));
    return spawned.back();
  }
  caf::actor spawn() { return spawn(pid); }

  result<std::int64_t> ask(const caf::actor& entity, std::int64_t add) {
    return ask_entity_blocking<counter_model>(sys, entity, k_timeout, counter_cmd{add});
  }

  void stop(const caf::actor& entity) {
    caf::scoped_actor self{sys};
    caf::anon_send_exit(entity, caf::exit_reason::user_shutdown);
    self->wait_for(entity);
  }

  // Snapshots are saved asynchronously: the snapshot store actor serves requests in
  // mailbox order, so once a request sent now is answered, every save an entity sent
  // before it stopped is on disk.
  // Everything sent to the snapshot store before is written once this returns: a
  // delete is answered after the saves and deletes pending with it are written.
  void settle_snapshots() {
    const persistence_id barrier{shard_id{999}, "barrier"};
    REQUIRE(snapshot_delete_blocking(sys, deps.snapshots, k_timeout, barrier, max_sequence_nr)
                .has_value());
  }

  double metric(const std::string& name) {
    for (const auto& f : registry.Collect()) {
      if (f.name != name || f.metric.empty()) continue;
      const auto& m = f.metric.front();
      return f.type == prometheus::MetricType::Histogram
                 ? static_cast<double>(m.histogram.sample_count)
                 : m.counter.value;
    }
    return -1;
  }

  // Writes events add(1)..add(n) for `id` straight into the journal.
  void prefill(const persistence_id& id, std::uint64_t n) {
    std::vector<event> events;
    for (std::uint64_t i = 1; i <= n; ++i)
      events.push_back(event{i, "add", std::to_string(i), "w", 0});
    REQUIRE(store->inner().write(id, std::move(events)).has_value());
  }
};

std::int64_t sum_to(std::int64_t n) { return n * (n + 1) / 2; }

}  // namespace

// Every event carries its writer's id: short enough for std::string to keep inline (a
// heap copy per event otherwise), random enough to tell incarnations apart.
TEST_CASE("writer ids are 15 hex digits, inline in a std::string, and differ") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = detail::new_writer_id();
    CHECK(id.size() == 15);
    CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    const std::string copy = id;  // inline: its characters lie inside the object itself
    const auto* begin = reinterpret_cast<const char*>(&copy);
    CHECK((copy.data() >= begin && copy.data() < begin + sizeof copy));
    seen.insert(std::move(id));
  }
  CHECK(seen.size() == 1000);
}

TEST_CASE_FIXTURE(fixture, "an entity recovers its state by replaying the journal in batches") {
  auto entity = spawn();
  for (int i = 1; i <= 10; ++i) REQUIRE(*ask(entity, i) == sum_to(i));
  stop(entity);
  model.stats->applied = 0;
  auto again = spawn();
  CHECK(*ask(again, 0) == sum_to(10));
  CHECK(model.stats->applied == 10);  // all 10 replayed (batches of 4: 4 + 4 + 2)
  CHECK(*ask(again, 5) == sum_to(10) + 5);
  CHECK(*store->highest_sequence_nr(pid) == 11);
  CHECK(metric("journal_recovery_seconds") == 2);
}

TEST_CASE_FIXTURE(fixture, "an entity recovers from its latest snapshot plus the events after it") {
  es.snapshot_every = 3;
  auto entity = spawn();
  for (int i = 1; i <= 7; ++i) REQUIRE(*ask(entity, i) == sum_to(i));
  stop(entity);
  settle_snapshots();
  CHECK(*snapshots->list(pid) == std::vector<std::uint64_t>{3, 6});
  CHECK(metric("journal_snapshots_total") == 2);
  model.stats->applied = 0;
  auto again = spawn();
  CHECK(*ask(again, 0) == sum_to(7));
  CHECK(model.stats->applied == 1);  // only event 7
}

// The deployment guide restores the journal's tar alone: the snapshot store then holds
// snapshots of events the restored journal never had. They are dropped at the first
// recovery (not refused: the entity stays available), so they are not loaded either once
// the journal's new events pass their sequence nrs.
TEST_CASE_FIXTURE(fixture, "snapshots above the journal's highest are dropped, not loaded later") {
  es.snapshot_every = 3;
  prefill(pid, 4);  // the restored journal: add 1..4
  REQUIRE(snapshots->save(pid, snapshot{3, 0, "counter.v1", std::to_string(sum_to(3))}));
  // Left from the lost future (another timeline's states).
  REQUIRE(snapshots->save(pid, snapshot{5, 0, "counter.v1", "9999"}));
  REQUIRE(snapshots->put_raw_for_test(pid, 7, "not even a snapshot"));
  model.stats->applied = 0;
  auto entity = spawn();
  CHECK(*ask(entity, 0) == sum_to(4));  // snapshot 3 + event 4
  CHECK(model.stats->applied == 1);
  settle_snapshots();
  CHECK(*snapshots->list(pid) == std::vector<std::uint64_t>{3});
  REQUIRE(*ask(entity, 5) == sum_to(5));  // seq 6 (the 0 above wrote seq 5)
  stop(entity);
  auto again = spawn();  // highest 6: a kept snapshot 5 would now be loaded
  CHECK(*ask(again, 0) == sum_to(5));
}

// Retention purges a workflow's journal and snapshots and the id may be started again;
// restoring the journal alone from an older backup (the guide's tar) then pairs the old
// journal with the new workflow's snapshots, at sequence nrs the old journal has. The
// snapshot's fingerprint of its event catches that.
TEST_CASE_FIXTURE(fixture, "a snapshot of another journal of the same id is not applied") {
  es.snapshot_every = 3;
  auto entity = spawn();
  for (int i = 1; i <= 7; ++i) REQUIRE(*ask(entity, i) == sum_to(i));
  stop(entity);
  settle_snapshots();
  REQUIRE(*snapshots->list(pid) == std::vector<std::uint64_t>{3, 6});
  REQUIRE(snapshots->load_latest(pid, 6)->value().event_crc.has_value());
  // Another journal of the id: eight events of add 10.
  REQUIRE(store->inner().purge(pid, 7));
  std::vector<event> other;
  for (std::uint64_t i = 1; i <= 8; ++i) other.push_back(event{i, "add", "10", "w", 0});
  REQUIRE(store->inner().write(pid, std::move(other)));
  auto again = spawn();
  CHECK(*ask(again, 0) == 80);  // not the snapshot's 21 + 10 + 10
  CHECK(metric("journal_snapshot_load_failures_total") == 1);
  settle_snapshots();
  CHECK(snapshots->list(pid)->empty());

  // The same journal: its snapshot is used, its event read but not applied twice.
  es.snapshot_every = 4;
  REQUIRE(*ask(again, 1) == 81);  // seq 9: a snapshot at 9
  stop(again);
  settle_snapshots();
  REQUIRE(*snapshots->list(pid) == std::vector<std::uint64_t>{9});
  model.stats->applied = 0;
  auto third = spawn();
  CHECK(*ask(third, 0) == 81);
  CHECK(model.stats->applied == 0);
  CHECK(metric("journal_snapshot_load_failures_total") == 1);
}

TEST_CASE_FIXTURE(fixture, "commands sent during recovery are stashed and handled after it") {
  prefill(pid, 5);
  store->hold_replays(true);
  auto entity = spawn();
  REQUIRE(store->wait_replays_entered(1));
  std::atomic<int> answered{0};
  std::mutex m;
  std::set<std::int64_t> replies;
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&] {
      auto r = ask(entity, 10);
      ++answered;
      std::scoped_lock lock(m);
      replies.insert(r ? *r : -100);
    });
  }
  std::this_thread::sleep_for(100ms);
  CHECK(answered == 0);  // recovery is held: nobody was answered
  store->hold_replays(false);
  for (auto& t : clients) t.join();
  // Each command saw the recovered state (15) and the ones before it.
  CHECK(replies == std::set<std::int64_t>{25, 35, 45});
}

TEST_CASE_FIXTURE(fixture, "the stash is bounded and refuses commands beyond its capacity") {
  es.max_stash = 1;
  auto entity = spawn();
  CHECK(*ask(entity, 1) == 1);
  store->hold_writes(true);
  std::thread first([&] { CHECK(*ask(entity, 1) == 2); });  // in flight
  REQUIRE(store->wait_writes_entered(2));
  std::thread second([&] { CHECK(*ask(entity, 1) == 3); });  // stashed
  std::this_thread::sleep_for(100ms);
  auto refused = ask(entity, 1);  // stash full
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == errc::unavailable);
  CHECK(refused.error().message.find("counter-1@shard-7") != std::string::npos);
  store->hold_writes(false);
  first.join();
  second.join();
}

TEST_CASE_FIXTURE(fixture, "a reply is sent only after the journal acknowledged the events") {
  auto entity = spawn();
  REQUIRE(*ask(entity, 1) == 1);
  store->hold_writes(true);
  std::atomic<bool> replied{false};
  std::thread client([&] {
    CHECK(*ask(entity, 2) == 3);
    replied = true;
  });
  REQUIRE(store->wait_writes_entered(2));
  std::this_thread::sleep_for(100ms);
  CHECK_FALSE(replied.load());
  CHECK(*store->inner().highest_sequence_nr(pid) == 1);  // not written yet
  store->hold_writes(false);
  client.join();
  CHECK(replied.load());
  CHECK(*store->highest_sequence_nr(pid) == 2);
}

// The journal actor's one thread is what every write waits on: an entity given the
// journal prepares its writes (journal::prepare) on its own thread before sending them.
TEST_CASE_FIXTURE(fixture, "an entity given the journal prepares its writes on its own thread") {
  auto plain = spawn(persistence_id{shard_id{7}, "plain"});
  REQUIRE(*ask(plain, 1) == 1);
  CHECK(store->prepared_writes() == std::pair{0, 0});  // no store in its deps: not prepared
  deps.store = store;
  auto entity = spawn();
  REQUIRE(*ask(entity, 1) == 1);
  REQUIRE(*ask(entity, 2) == 3);
  CHECK(store->prepared_writes() == std::pair{2, 2});
  CHECK(*store->highest_sequence_nr(pid) == 2);
}

TEST_CASE_FIXTURE(fixture, "a rejected command persists nothing and gets the model's rejection") {
  auto entity = spawn();
  CHECK(*ask(entity, -5) == -1);
  CHECK(*store->highest_sequence_nr(pid) == 0);
}

TEST_CASE_FIXTURE(fixture, "a damaged snapshot falls back to an older one or to a full replay") {
  es.snapshot_every = 2;
  auto entity = spawn();
  for (int i = 1; i <= 5; ++i) REQUIRE(*ask(entity, i) == sum_to(i));
  stop(entity);
  settle_snapshots();
  const auto kept = *snapshots->list(pid);
  REQUIRE(kept == std::vector<std::uint64_t>{2, 4});
  const auto older = static_cast<int>(kept[0]);
  const auto newest = kept[1];
  int expected_applied = 0;
  SUBCASE("the newest is damaged: the older one is used") {
    REQUIRE(snapshots->put_raw_for_test(pid, newest, "garbage").has_value());
    expected_applied = 5 - older;
  }
  SUBCASE("every snapshot is damaged: full replay") {
    for (auto seq : kept) REQUIRE(snapshots->put_raw_for_test(pid, seq, "garbage").has_value());
    expected_applied = 5;
  }
  SUBCASE("the model cannot decode the newest: the older one is used") {
    REQUIRE(snapshots->save(pid, snapshot{newest, 0, "counter.v0", "10"}).has_value());
    expected_applied = 5 - older;
  }
  model.stats->applied = 0;
  es.snapshot_every = 0;
  auto again = spawn();
  CHECK(*ask(again, 0) == sum_to(5));
  CHECK(model.stats->applied == expected_applied);
  CHECK(metric("journal_snapshot_load_failures_total") >= 1);
}

TEST_CASE_FIXTURE(fixture, "concurrent recoveries are bounded by the recovery permits") {
  caf::anon_send_exit(deps.recovery_permits, caf::exit_reason::user_shutdown);
  deps.recovery_permits = spawn_recovery_permits(sys, 2, permit_stats);
  store->slow_replays(20ms);
  constexpr int entities = 8;
  std::vector<caf::actor> all;
  for (int i = 0; i < entities; ++i) {
    const persistence_id id{shard_id{1}, "c-" + std::to_string(i)};
    prefill(id, 3);
    all.push_back(spawn(id));
  }
  for (auto& e : all) CHECK(*ask(e, 0) == sum_to(3));
  CHECK(permit_stats->granted == entities);
  CHECK(permit_stats->max_in_use <= 2);
  CHECK(permit_stats->max_in_use >= 1);
  // Every permit is returned: the release reaches the permits actor after the entity's
  // answer may have reached us (a race the fresh-clone CI run hit).
  CHECK(wfe::test::eventually([&] { return permit_stats->in_use == 0; }, 10s, 10ms));
}

TEST_CASE_FIXTURE(fixture, "one host actor acquiring many permits is monitored once, not per permit") {
  // A shard hosts many entities and acquires a permit for each recovery under one actor
  // address: the permit actor must not keep a monitor per acquisition.
  caf::anon_send_exit(deps.recovery_permits, caf::exit_reason::user_shutdown);
  deps.recovery_permits = spawn_recovery_permits(sys, 2, permit_stats);
  caf::scoped_actor self{sys};
  auto permits = deps.recovery_permits;
  const int rounds = 50;
  sys.spawn([permits, to = caf::actor{self}, rounds](caf::event_based_actor* host) {
    auto left = std::make_shared<int>(rounds);
    auto next = std::make_shared<std::function<void()>>();
    *next = [host, permits, to, left, next] {
      // Three at once (the third waits: max 2); each goes back once granted.
      auto granted = std::make_shared<int>(0);
      for (int i = 0; i < 3; ++i) {
        acquire_recovery_permit(host, permits, [host, permits, to, left, next, granted] {
          release_recovery_permit(host, permits);  // lets the waiting one in
          if (++*granted < 3) return;
          if (--*left == 0) {
            host->send(to, true);
            *next = nullptr;  // break the cycle
            return;
          }
          (*next)();
        });
      }
    };
    (*next)();
  });
  bool done = false;
  self->receive([&](bool b) { done = b; }, caf::after(30s) >> [] { FAIL("the host got stuck"); });
  REQUIRE(done);
  // The releases were sent before the host reported; a request to the permit actor sent
  // now is handled after them.
  REQUIRE(wfe::test::eventually([&] { return permit_stats->in_use == 0; }, 10s));
  CHECK(permit_stats->granted == 3 * rounds);
  CHECK(permit_stats->max_in_use == 2);
  CHECK(permit_stats->monitored == 0);  // holds nothing: no monitor left behind
}

TEST_CASE_FIXTURE(fixture, "a recovery failure stops the entity with an error naming the id") {
  prefill(pid, 2);
  REQUIRE(store->inner().write(pid, {event{3, "bogus", "?", "w", 0}}).has_value());
  caf::scoped_actor self{sys};
  auto entity = spawn();
  self->monitor(entity);
  auto r = ask(entity, 1);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::corruption);
  CHECK(r.error().message.find("counter-1@shard-7") != std::string::npos);
  CHECK(r.error().message.find("bogus") != std::string::npos);
  std::string reason;
  self->receive([&](caf::down_msg& down) { reason = caf::to_string(down.reason); },
                caf::after(5s) >> [] { FAIL("entity did not stop"); });
  CHECK(reason.find("counter-1@shard-7") != std::string::npos);
}

TEST_CASE_FIXTURE(fixture, "a conflicting write stops the entity, it recovers when restarted") {
  auto entity = spawn();
  REQUIRE(*ask(entity, 1) == 1);
  // Another writer appends behind the entity's back (a split brain).
  REQUIRE(store->inner().write(pid, {event{2, "add", "100", "other", 0}}).has_value());
  auto r = ask(entity, 1);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::sequence_conflict);
  auto again = spawn();
  CHECK(*ask(again, 0) == 101);
}
