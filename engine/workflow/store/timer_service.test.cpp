// The timer service in a real actor system with a controllable clock: order, replace,
// clear, redelivery, bounds, batches, loading from the index at start, and firing on
// its own with the real clock.
#include "engine/workflow/store/timer_service.hpp"

#include <atomic>

#include <doctest/doctest.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <rocksdb/db.h>

#include "engine/workflow/store/index_codec.hpp"
#include "engine/workflow/store/store_messages.hpp"
#include "engine/workflow/store/workflow_index.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/temp_dir.hpp"

using namespace wfe::workflow;
using namespace wfe::workflow::store;
using namespace std::chrono_literals;

namespace {

struct fired {
  std::string id;
  timer_kind kind;
  std::string step;
  std::uint32_t attempt;
  bool operator==(const fired&) const = default;
};

}  // namespace

namespace doctest {
template <>
struct StringMaker<std::vector<fired>> {
  static String convert(const std::vector<fired>& v) {
    std::string out = "[";
    for (const auto& f : v) {
      out += f.id + "/" + std::string(to_string(f.kind)) + "/" + f.step + "/" +
             std::to_string(f.attempt) + " ";
    }
    return (out + "]").c_str();
  }
};
}  // namespace doctest

namespace {

struct timer_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor sink{sys};
  std::shared_ptr<std::atomic<std::int64_t>> clock = std::make_shared<std::atomic<std::int64_t>>(0);
  timer_settings settings;
  caf::actor service;

  timer_fixture() {
    settings.tick = std::chrono::hours(1);
    settings.redeliver_after = 1000ms;
  }
  ~timer_fixture() {
    if (service) caf::anon_send_exit(service, caf::exit_reason::user_shutdown);
  }

  void start(timer_load initial = {}, caf::actor index = {}) {
    timer_service_deps deps;
    deps.now = [c = clock] { return c->load(); };
    deps.index = std::move(index);
    service = spawn_timer_service(sys, sink, deps, settings, std::move(initial));
  }
  void set(const std::string& id, std::vector<timer> timers) {
    sink->send(service, set_timers{id, std::move(timers)});
  }
  timer_stats stats() {
    timer_stats out;
    sink->request(service, 10s, get_timer_stats{})
        .receive([&](timer_stats& s) { out = s; }, [&](caf::error& e) { FAIL(caf::to_string(e)); });
    return out;
  }
  // Moves the clock, makes the service look, and returns what fired (in order).
  std::vector<fired> advance_to(std::int64_t now) {
    (void)stats();  // every message sent before is handled at the old time
    clock->store(now);
    sink->send(service, timer_check{});
    (void)stats();  // the reply comes after every timer_due of the check
    return drain();
  }
  std::vector<fired> drain() {
    std::vector<fired> out;
    bool empty = false;
    while (!empty) {
      sink->receive(
          [&](timer_due& d) {
            out.push_back(fired{d.workflow_id, d.fired.kind, d.fired.step, d.fired.attempt});
          },
          caf::after(0ms) >> [&] { empty = true; });
    }
    return out;
  }
};

timer retry(std::int64_t due, std::string step, std::uint32_t attempt) {
  return timer{due, timer_kind::retry, std::move(step), attempt};
}

}  // namespace

TEST_CASE("timers fire in due order once the clock reaches them") {
  timer_fixture f;
  f.start();
  f.set("wf-a", {retry(300, "x", 2)});
  f.set("wf-b", {retry(100, "y", 3), timer{500, timer_kind::workflow_timeout, "", 0}});
  f.set("wf-c", {timer{200, timer_kind::step_timeout, "z", 1}});
  CHECK(f.advance_to(99).empty());
  CHECK(f.advance_to(250) == std::vector<fired>{{"wf-b", timer_kind::retry, "y", 3},
                                                {"wf-c", timer_kind::step_timeout, "z", 1}});
  CHECK(f.advance_to(600) == std::vector<fired>{{"wf-a", timer_kind::retry, "x", 2},
                                                {"wf-b", timer_kind::workflow_timeout, "", 0}});
  CHECK(f.stats().pending == 4);  // held until their workflows replace them
  CHECK(f.stats().fired == 4);
}

TEST_CASE("set_timers replaces a workflow's set and an empty set clears it") {
  timer_fixture f;
  f.start();
  f.set("wf-1", {retry(100, "a", 2)});
  f.set("wf-2", {retry(150, "b", 2)});
  f.set("wf-1", {retry(500, "a", 3)});
  CHECK(f.advance_to(200) == std::vector<fired>{{"wf-2", timer_kind::retry, "b", 2}});
  f.set("wf-1", {});
  f.set("wf-2", {});
  CHECK(f.advance_to(10'000).empty());
  auto s = f.stats();
  CHECK(s.pending == 0);
  CHECK(s.workflows == 0);
}

TEST_CASE("a fired timer fires again after redeliver-after unless replaced") {
  timer_fixture f;
  f.start();
  f.set("wf-1", {retry(100, "a", 2)});
  CHECK(f.advance_to(100).size() == 1);
  CHECK(f.advance_to(1099).empty());
  CHECK(f.advance_to(1100) == std::vector<fired>{{"wf-1", timer_kind::retry, "a", 2}});
  f.set("wf-1", {retry(5000, "a", 3)});  // the entity handled it: the new set replaces
  CHECK(f.advance_to(4000).empty());
}

TEST_CASE("max-timers bounds what is held: the earliest timers that fit are kept") {
  timer_fixture f;
  f.settings.max_timers = 3;
  f.start();
  f.set("wf-1", {retry(10, "a", 1), retry(20, "b", 1)});
  f.set("wf-2", {retry(300, "c", 1), retry(100, "d", 1), retry(200, "e", 1)});
  auto s = f.stats();
  CHECK(s.pending == 3);
  CHECK(s.refused == 2);
  CHECK(f.advance_to(1000) == std::vector<fired>{{"wf-1", timer_kind::retry, "a", 1},
                                                 {"wf-1", timer_kind::retry, "b", 1},
                                                 {"wf-2", timer_kind::retry, "d", 1}});
  // Replacing a set frees its room.
  f.set("wf-1", {});
  f.set("wf-2", {retry(300, "c", 1), retry(200, "e", 1)});
  CHECK(f.stats().pending == 2);
}

TEST_CASE("at most max-fire-batch timers per wake-up, the rest follow without a new check") {
  timer_fixture f;
  f.settings.max_fire_batch = 2;
  f.start();
  for (int i = 0; i < 5; ++i) f.set("wf-" + std::to_string(i), {retry(10 + i, "a", 1)});
  (void)f.stats();
  f.clock->store(100);
  f.sink->send(f.service, timer_check{});
  std::vector<fired> all;
  for (int i = 0; i < 5; ++i) {
    f.sink->receive(
        [&](timer_due& d) {
          all.push_back(fired{d.workflow_id, d.fired.kind, d.fired.step, d.fired.attempt});
        },
        caf::after(10s) >> [] { FAIL("timer did not fire"); });
  }
  REQUIRE(all.size() == 5);
  for (int i = 0; i < 5; ++i) CHECK(all[i].id == "wf-" + std::to_string(i));
}

TEST_CASE("timers are loaded from the index at start and survive a restart") {
  wfe::test::temp_dir dir;
  index_settings is;
  is.dir = dir.path() / "workflow-index";
  {
    auto index = workflow_index::open(is);
    REQUIRE(index);
    REQUIRE((*index)->apply(
        {index_update{workflow_record{"wf-1", "d", 1, workflow_status::running, "normal", 1, 1, 2},
                      {retry(200, "a", 2)},
                      std::nullopt},
         index_update{workflow_record{"wf-2", "d", 1, workflow_status::running, "normal", 1, 1, 2},
                      {timer{100, timer_kind::step_timeout, "b", 1}},
                      std::nullopt}}));
  }
  auto index = workflow_index::open(is);
  REQUIRE(index);
  auto loaded = (*index)->load_timers();
  REQUIRE(loaded);
  timer_fixture f;
  f.start(std::move(*loaded));
  CHECK(f.stats().pending == 2);
  CHECK(f.advance_to(1000) == std::vector<fired>{{"wf-2", timer_kind::step_timeout, "b", 1},
                                                 {"wf-1", timer_kind::retry, "a", 2}});
}

TEST_CASE("with the system clock a due timer fires on its own") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor sink{sys};
  timer_settings settings;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  auto service = spawn_timer_service(sys, sink, {}, settings, {});
  sink->send(service, set_timers{"wf-1", {retry(now + 30, "a", 2)}});
  std::optional<timer_due> got;
  sink->receive([&](timer_due& d) { got = std::move(d); },
                caf::after(10s) >> [] { FAIL("the timer did not fire"); });
  REQUIRE(got);
  CHECK(got->workflow_id == "wf-1");
  CHECK(got->fired.step == "a");
  CHECK(got->fired.attempt == 2);
  caf::anon_send_exit(service, caf::exit_reason::user_shutdown);
}

namespace {

// A real index (RocksDB in a temp dir) behind a real index actor, for the reloads.
struct indexed_timers {
  wfe::test::temp_dir dir;
  index_settings is;
  std::shared_ptr<workflow_index> index;
  caf::actor actor;

  explicit indexed_timers(caf::actor_system& sys) {
    is.dir = dir.path() / "workflow-index";
    is.update_linger = 0ms;
    auto opened = workflow_index::open(is);
    REQUIRE(opened);
    index = std::move(*opened);
    actor = spawn_workflow_index_actor(sys, index, is);
  }
  ~indexed_timers() { caf::anon_send_exit(actor, caf::exit_reason::user_shutdown); }

  static index_update update(const std::string& id, std::vector<timer> timers, std::uint64_t seq) {
    return index_update{workflow_record{id, "d", 1, workflow_status::running, "normal", 1, 1, seq},
                        std::move(timers), std::nullopt};
  }
};

// What an entity does after a persisted change: the index first, then the timer service.
void entity_sets(timer_fixture& f, indexed_timers& ix, const std::string& id,
                 std::vector<timer> timers, std::uint64_t seq) {
  f.sink->send(ix.actor, indexed_timers::update(id, timers, seq));
  f.set(id, std::move(timers));
}

bool reloaded_times(timer_fixture& f, std::uint64_t n) {
  return wfe::test::eventually([&] { return f.stats().reloads == n; }, 10s, 5ms);
}

}  // namespace

// Beyond max-timers, timers stay only in the index (the entities' index_update carries
// them); before, they were dropped until their workflow recovered for another reason.
TEST_CASE("timers beyond max-timers are read back from the index as room frees, due first") {
  timer_fixture f;
  indexed_timers ix(f.sys);
  std::vector<index_update> batch;
  const std::vector<std::string> ids{"wf-e", "wf-c", "wf-a", "wf-d", "wf-b"};
  for (const auto& id : ids) {
    // wf-a..wf-d due at 100..400, wf-e at 5000 (not due when it is read back).
    const std::int64_t due = id == "wf-e" ? 5000 : 100 * (id[3] - 'a' + 1);
    batch.push_back(indexed_timers::update(id, {retry(due, "s", 1)}, 1));
  }
  REQUIRE(ix.index->apply(batch));
  auto load = ix.index->load_timers(2);
  REQUIRE(load);
  REQUIRE(load->dropped == 3);
  f.settings.max_timers = 2;
  f.settings.reload_interval = 1000ms;
  f.start(std::move(*load), ix.actor);
  auto s = f.stats();
  CHECK(s.pending == 2);
  CHECK(s.overflowed);
  CHECK(f.advance_to(250) == std::vector<fired>{{"wf-a", timer_kind::retry, "s", 1},
                                                {"wf-b", timer_kind::retry, "s", 1}});
  // Fired timers stay held until replaced: no room yet, and what the index has is due
  // later than what is held, so it is not read.
  CHECK(f.stats().reloads == 0);
  // Their workflows go on without timers: room for the next two, read from the index.
  entity_sets(f, ix, "wf-a", {}, 2);
  entity_sets(f, ix, "wf-b", {}, 2);
  REQUIRE(reloaded_times(f, 1));
  s = f.stats();
  CHECK(s.pending == 2);
  CHECK(s.reloaded == 2);
  CHECK(s.overflowed);  // wf-e is still only in the index
  CHECK(f.advance_to(450) == std::vector<fired>{{"wf-c", timer_kind::retry, "s", 1},
                                                {"wf-d", timer_kind::retry, "s", 1}});
  entity_sets(f, ix, "wf-c", {}, 2);
  entity_sets(f, ix, "wf-d", {}, 2);
  // At most one read per reload-interval: the last was at 250.
  CHECK(f.stats().reloads == 1);
  CHECK(f.advance_to(1249).empty());
  CHECK(f.stats().reloads == 1);
  CHECK(f.advance_to(1250).empty());  // the read is asked for now; wf-e comes with it
  REQUIRE(reloaded_times(f, 2));
  s = f.stats();
  CHECK(s.pending == 1);
  CHECK(s.reloaded == 3);
  CHECK_FALSE(s.overflowed);
  CHECK(f.advance_to(4999).empty());
  CHECK(f.advance_to(5000) == std::vector<fired>{{"wf-e", timer_kind::retry, "s", 1}});
  CHECK(s.refused == 0);  // all came from the start-up load's leftovers
}

// The sets beyond max-timers are read only when room frees: a damaged one is found then,
// not at start, and its workflow is recovered (which writes its timers again).
TEST_CASE("a damaged timer set found by a read beyond max-timers has its workflow recovered") {
  timer_fixture f;
  wfe::test::temp_dir dir;
  index_settings is;
  is.dir = dir.path() / "workflow-index";
  is.update_linger = 0ms;
  {
    auto opened = workflow_index::open(is);
    REQUIRE(opened);
    REQUIRE((*opened)->apply({indexed_timers::update("wf-a", {retry(100, "s", 1)}, 1),
                              indexed_timers::update("wf-c", {retry(150, "s", 1)}, 1),
                              indexed_timers::update("wf-b", {retry(200, "s", 1)}, 1)}));
  }
  {
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(rocksdb::Options{}, is.dir.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    REQUIRE(db->Put(rocksdb::WriteOptions{}, codec::timers_key(200, "wf-b"), "damaged").ok());
  }
  auto opened = workflow_index::open(is);
  REQUIRE(opened);
  std::shared_ptr<workflow_index> index = std::move(*opened);
  auto actor = spawn_workflow_index_actor(f.sys, index, is);
  struct stop_at_exit {
    caf::actor a;
    ~stop_at_exit() { caf::anon_send_exit(a, caf::exit_reason::user_shutdown); }
  } stop{actor};
  auto load = index->load_timers(1);
  REQUIRE(load);
  CHECK(load->damaged.empty());  // the read stopped at wf-c, before wf-b
  f.settings.max_timers = 1;
  f.start(std::move(*load), actor);
  CHECK(f.advance_to(100) == std::vector<fired>{{"wf-a", timer_kind::retry, "s", 1}});
  f.sink->send(actor, indexed_timers::update("wf-a", {}, 2));
  f.set("wf-a", {});  // room: wf-c is read back, and wf-b found damaged
  REQUIRE(reloaded_times(f, 1));
  std::optional<std::string> damaged;
  f.sink->receive([&](timers_damaged& d) { damaged = d.workflow_id; }, caf::after(10s) >> [] {});
  CHECK(damaged == "wf-b");
  CHECK(f.stats().pending == 1);  // wf-c
}

TEST_CASE("a timer left in the index that is due before a held set takes its place") {
  timer_fixture f;
  indexed_timers ix(f.sys);
  REQUIRE(ix.index->apply({indexed_timers::update("wf-far1", {retry(10'000, "s", 1)}, 1),
                           indexed_timers::update("wf-far2", {retry(20'000, "s", 1)}, 1)}));
  auto load = ix.index->load_timers(2);
  REQUIRE(load);
  f.settings.max_timers = 2;
  f.settings.reload_interval = 5000ms;
  f.start(std::move(*load), ix.actor);
  CHECK_FALSE(f.stats().overflowed);
  // A new workflow's timer does not fit; it is due long before wf-far2's, which goes
  // back to the index to make room.
  entity_sets(f, ix, "wf-soon", {retry(500, "s", 1)}, 1);
  REQUIRE(reloaded_times(f, 1));
  auto s = f.stats();
  CHECK(s.refused == 1);
  CHECK(s.pending == 2);
  CHECK(s.overflowed);
  CHECK(f.advance_to(600) == std::vector<fired>{{"wf-soon", timer_kind::retry, "s", 1}});
  entity_sets(f, ix, "wf-soon", {}, 2);
  CHECK(f.advance_to(15'000) == std::vector<fired>{{"wf-far1", timer_kind::retry, "s", 1}});
  CHECK(f.stats().reloads == 1);         // one held: not below half of 2, nothing due left out
  entity_sets(f, ix, "wf-far1", {}, 2);  // now none: wf-far2 comes back
  REQUIRE(reloaded_times(f, 2));
  CHECK(f.advance_to(25'000) == std::vector<fired>{{"wf-far2", timer_kind::retry, "s", 1}});
  CHECK_FALSE(f.stats().overflowed);
}

TEST_CASE("a set cut short by max-timers is read back whole") {
  timer_fixture f;
  indexed_timers ix(f.sys);
  f.settings.max_timers = 3;
  f.start({}, ix.actor);
  entity_sets(f, ix, "wf-x", {retry(100, "s", 1)}, 1);
  entity_sets(f, ix, "wf-y", {retry(200, "s", 1)}, 1);
  entity_sets(f, ix, "wf-z", {retry(300, "s", 1), retry(400, "t", 1)}, 1);  // 400 does not fit
  auto s = f.stats();
  CHECK(s.refused == 1);
  CHECK(s.pending == 3);
  CHECK(s.overflowed);
  entity_sets(f, ix, "wf-x", {}, 2);
  entity_sets(f, ix, "wf-y", {}, 2);
  REQUIRE(reloaded_times(f, 1));
  s = f.stats();
  CHECK(s.pending == 2);
  CHECK_FALSE(s.overflowed);
  CHECK(f.advance_to(500) == std::vector<fired>{{"wf-z", timer_kind::retry, "s", 1},
                                                {"wf-z", timer_kind::retry, "t", 1}});
}

TEST_CASE("a failed read of the index keeps the timers marked as only there") {
  timer_fixture f;
  indexed_timers ix(f.sys);
  caf::anon_send_exit(ix.actor, caf::exit_reason::user_shutdown);
  timer_load load;
  load.dropped = 4;
  load.dropped_first_due = 100;
  f.settings.max_timers = 2;
  f.start(std::move(load), ix.actor);  // none held: a read is asked for at once, and fails
  REQUIRE(wfe::test::eventually([&] { return f.stats().failed_reloads == 1; }, 10s, 5ms));
  auto s = f.stats();
  CHECK(s.overflowed);
  CHECK(s.reloads == 0);
  // The service goes on, and tries again after reload-interval (10 s by default).
  f.set("wf-1", {retry(50, "a", 1)});
  CHECK(f.advance_to(60) == std::vector<fired>{{"wf-1", timer_kind::retry, "a", 1}});
  CHECK(f.stats().failed_reloads == 1);
  f.set("wf-1", {});
  CHECK(f.advance_to(10'100).empty());
  REQUIRE(wfe::test::eventually([&] { return f.stats().failed_reloads == 2; }, 10s, 5ms));
}
