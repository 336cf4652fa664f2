// The RocksDB snapshot store: latest <= max, keep-N, damaged snapshots skipped with
// a count, shard-prefixed keys, reopen.
#include "persistence/snapshot_store.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <rocksdb/db.h>
#include <rocksdb/env.h>

#include <prometheus/registry.h>

#include "persistence/journal.hpp"
#include "persistence/journal_metrics.hpp"
#include "persistence/snapshot_store_actor.hpp"
#include "proto/snapshot.pb.h"
#include "tests/support/full_disk_fs.hpp"
#include "tests/support/rocksdb_files.hpp"
#include "tests/support/temp_dir.hpp"

using namespace wfe::persistence;

namespace {

const persistence_id k_snapshot_pid{shard_id{3}, "order-1"};

snapshot snap(std::uint64_t seq) {
  return snapshot{seq, 1000 + static_cast<std::int64_t>(seq), "counter.v1",
                  "state-at-" + std::to_string(seq)};
}

std::unique_ptr<rocksdb_snapshot_store> open_store_ok(
    const rocksdb_snapshot_store_config& cfg, std::shared_ptr<journal_metrics> m = nullptr) {
  auto s = rocksdb_snapshot_store::open(cfg, std::move(m));
  REQUIRE_MESSAGE(s.has_value(), (s ? std::string() : s.error().describe()));
  return std::move(s).value();
}

// A save's result: the oldest snapshot kept, or 0 for an error.
std::uint64_t oldest_kept(const result<std::uint64_t>& r) { return r ? *r : 0; }

double counter_value(prometheus::Registry& r, const std::string& name) {
  for (const auto& f : r.Collect()) {
    if (f.name == name && !f.metric.empty()) return f.metric.front().counter.value;
  }
  return -1;
}

}  // namespace

TEST_CASE("load_latest returns the newest snapshot at or below the bound") {
  wfe::test::temp_dir dir;
  auto store = open_store_ok({.dir = dir.path() / "s", .keep_n_snapshots = 5});
  for (std::uint64_t seq : {10, 20, 30})
    REQUIRE(store->save(k_snapshot_pid, snap(seq)).has_value());
  CHECK(*store->load_latest(k_snapshot_pid, max_sequence_nr) == snap(30));
  CHECK(*store->load_latest(k_snapshot_pid, 29) == snap(20));
  CHECK(*store->load_latest(k_snapshot_pid, 20) == snap(20));
  CHECK_FALSE(store->load_latest(k_snapshot_pid, 9)->has_value());
  // Another id in the same shard, and the same id in another shard, are separate.
  CHECK_FALSE(store->load_latest(persistence_id{shard_id{3}, "order-10"}, 100)->has_value());
  CHECK_FALSE(store->load_latest(persistence_id{shard_id{4}, "order-1"}, 100)->has_value());
}

TEST_CASE("save keeps only the newest N snapshots of an id and reports the oldest kept") {
  wfe::test::temp_dir dir;
  auto store = open_store_ok({.dir = dir.path() / "s", .keep_n_snapshots = 2});
  CHECK(*store->save(k_snapshot_pid, snap(10)) == 10);
  CHECK(*store->save(k_snapshot_pid, snap(20)) == 10);
  CHECK(*store->save(k_snapshot_pid, snap(30)) == 20);
  CHECK(*store->list(k_snapshot_pid) == std::vector<std::uint64_t>{20, 30});
  const persistence_id other{shard_id{3}, "order-2"};
  REQUIRE(store->save(other, snap(5)).has_value());
  CHECK(*store->list(k_snapshot_pid) == std::vector<std::uint64_t>{20, 30});
  CHECK(*store->list(other) == std::vector<std::uint64_t>{5});
}

TEST_CASE(
    "load_for_recovery deletes the snapshots above the journal's highest, save deletes newer "
    "ones") {
  wfe::test::temp_dir dir;
  auto store = open_store_ok({.dir = dir.path() / "s", .keep_n_snapshots = 5});
  for (std::uint64_t seq : {10, 20, 30, 40})
    REQUIRE(store->save(k_snapshot_pid, snap(seq)).has_value());
  const persistence_id other{shard_id{3}, "order-10"};
  REQUIRE(store->save(other, snap(50)).has_value());
  CHECK(*store->load_for_recovery(k_snapshot_pid, 25) == snap(20));
  CHECK(*store->list(k_snapshot_pid) == std::vector<std::uint64_t>{10, 20});
  CHECK(*store->list(other) == std::vector<std::uint64_t>{50});  // its neighbour untouched
  CHECK(*store->load_for_recovery(k_snapshot_pid, 20) == snap(20));  // at the bound: kept
  CHECK_FALSE(store->load_for_recovery(k_snapshot_pid, 0)->has_value());
  CHECK(store->list(k_snapshot_pid)->empty());
  // A save below existing snapshots drops them too (they cannot be of this journal).
  for (std::uint64_t seq : {10, 30}) REQUIRE(store->save(k_snapshot_pid, snap(seq)).has_value());
  REQUIRE(store->save(k_snapshot_pid, snap(20)).has_value());
  CHECK(*store->list(k_snapshot_pid) == std::vector<std::uint64_t>{10, 20});
}

TEST_CASE("a damaged snapshot is skipped for the next older one and counted") {
  wfe::test::temp_dir dir;
  prometheus::Registry registry;
  auto metrics = std::make_shared<journal_metrics>(&registry);
  auto store = open_store_ok({.dir = dir.path() / "s", .keep_n_snapshots = 3}, metrics);
  REQUIRE(store->save(k_snapshot_pid, snap(10)).has_value());
  REQUIRE(store->save(k_snapshot_pid, snap(20)).has_value());
  SUBCASE("unparsable bytes") {
    REQUIRE(store->put_raw_for_test(k_snapshot_pid, 30, "\xff\xff garbage").has_value());
  }
  SUBCASE("a payload whose CRC does not match") {
    wfe::proto::SnapshotEnvelope env;
    env.set_sequence_nr(30);
    env.set_manifest("counter.v1");
    env.set_payload("state-at-30");
    env.set_payload_crc32c(12345);  // not the payload's CRC32C
    env.set_persistence_id(k_snapshot_pid.id());
    env.set_shard(k_snapshot_pid.shard().value);
    REQUIRE(store->put_raw_for_test(k_snapshot_pid, 30, env.SerializeAsString()).has_value());
  }
  SUBCASE("an intact envelope stored under the wrong sequence nr") {
    wfe::proto::SnapshotEnvelope env;
    env.set_sequence_nr(99);
    env.set_persistence_id(k_snapshot_pid.id());
    env.set_shard(k_snapshot_pid.shard().value);
    env.set_payload_crc32c(0);  // CRC32C of the empty payload
    REQUIRE(store->put_raw_for_test(k_snapshot_pid, 30, env.SerializeAsString()).has_value());
  }
  auto loaded = store->load_latest(k_snapshot_pid, max_sequence_nr);
  REQUIRE(loaded.has_value());
  REQUIRE(loaded->has_value());
  CHECK((*loaded)->sequence_nr == 20);
  CHECK(counter_value(registry, "journal_snapshot_load_failures_total") == 1);
  CHECK(counter_value(registry, "journal_snapshots_total") >= 2);
}

TEST_CASE("no intact snapshot left means no snapshot, not an error") {
  wfe::test::temp_dir dir;
  auto store = open_store_ok({.dir = dir.path() / "s"});
  REQUIRE(store->put_raw_for_test(k_snapshot_pid, 7, "not a snapshot").has_value());
  auto loaded = store->load_latest(k_snapshot_pid, max_sequence_nr);
  REQUIRE(loaded.has_value());
  CHECK_FALSE(loaded->has_value());
}

TEST_CASE("snapshots survive a reopen and delete_to removes the older ones") {
  wfe::test::temp_dir dir;
  rocksdb_snapshot_store_config cfg{.dir = dir.path() / "s", .keep_n_snapshots = 3};
  {
    auto store = open_store_ok(cfg);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "s" / "LOG"));  // info log: the node's log
    for (std::uint64_t seq : {1, 2, 3}) REQUIRE(store->save(k_snapshot_pid, snap(seq)).has_value());
  }
  auto store = open_store_ok(cfg);
  CHECK(*store->load_latest(k_snapshot_pid, max_sequence_nr) == snap(3));
  REQUIRE(store->delete_to(k_snapshot_pid, 2).has_value());
  CHECK(*store->list(k_snapshot_pid) == std::vector<std::uint64_t>{3});
  // Nothing to delete (below the oldest, or an id without snapshots): nothing written.
  const auto before = store->db()->GetLatestSequenceNumber();
  REQUIRE(store->delete_to(k_snapshot_pid, 2).has_value());
  REQUIRE(store
              ->delete_to(persistence_id{k_snapshot_pid.shard(), k_snapshot_pid.id() + "-none"},
                          max_sequence_nr)
              .has_value());
  CHECK(store->db()->GetLatestSequenceNumber() == before);
  REQUIRE(store->delete_to(k_snapshot_pid, max_sequence_nr).has_value());
  CHECK(store->list(k_snapshot_pid)->empty());
  auto second = rocksdb_snapshot_store::open(cfg);
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().code == errc::locked);
}

TEST_CASE("a full disk fails a save with an I/O error, and saving resumes when space returns") {
  wfe::test::faulty_disk disk;
  auto& [dir, fs, env] = disk;
  auto health = std::make_shared<wfe::core::health>();
  auto store = open_store_ok({.dir = dir.path() / "s", .env = env.get(), .health = health});
  REQUIRE(store->save(k_snapshot_pid, snap(1)).has_value());
  fs->full = true;
  for (int attempt = 0; attempt < 2; ++attempt) {  // the second one tries Resume()
    auto r = store->save(k_snapshot_pid, snap(2));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::io_error);
  }
  CHECK(*store->load_latest(k_snapshot_pid, max_sequence_nr) == snap(1));
  CHECK(health->down().empty());  // a full disk needs room, not a restart
  fs->full = false;
  const auto start = std::chrono::steady_clock::now();
  auto r = store->save(k_snapshot_pid, snap(3));
  while (!r && std::chrono::steady_clock::now() - start < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    r = store->save(k_snapshot_pid, snap(3));
  }
  REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().describe()));
  CHECK(*store->load_latest(k_snapshot_pid, max_sequence_nr) == snap(3));
}

TEST_CASE("a snapshot store that will not resume after a damaged write is down in the health") {
  wfe::test::faulty_disk disk;
  auto& [dir, fs, env] = disk;
  auto health = std::make_shared<wfe::core::health>();
  auto store = open_store_ok({.dir = dir.path() / "s", .env = env.get(), .health = health});
  REQUIRE(store->save(k_snapshot_pid, snap(1)).has_value());
  fs->corrupt = true;
  CHECK_FALSE(store->save(k_snapshot_pid, snap(2)).has_value());
  CHECK(health->down().empty());  // the next write tries to resume
  fs->corrupt = false;
  CHECK_FALSE(store->save(k_snapshot_pid, snap(2)).has_value());
  const auto down = health->down();
  REQUIRE(down.size() == 1);
  CHECK(down[0].first == "snapshot-store");
  CHECK(down[0].second.find("restart the node") != std::string::npos);
  CHECK(*store->load_latest(k_snapshot_pid, max_sequence_nr) == snap(1));  // reads go on
}

TEST_CASE("the snapshot store opens RocksDB with the journal's bytes-per-sync, strict") {
  wfe::test::temp_dir dir;
  { auto s = open_store_ok({.dir = dir.path() / "s", .bytes_per_sync = 512 * 1024}); }
  const auto options = wfe::test::rocksdb_options_file(dir.path() / "s");
  CHECK(wfe::test::rocksdb_option_is(options, "bytes_per_sync", "524288"));
  CHECK(wfe::test::rocksdb_option_is(options, "strict_bytes_per_sync", "true"));
}

TEST_CASE("delete_many deletes the snapshots of several ids in one synced write") {
  wfe::test::faulty_disk disk;
  auto& [dir, fs, env] = disk;
  auto store = open_store_ok({.dir = dir.path() / "s", .env = env.get()});
  const persistence_id a{shard_id{3}, "a"};
  const persistence_id b{shard_id{3}, "b"};
  const persistence_id none{shard_id{3}, "none"};
  for (std::uint64_t seq : {1, 2}) {
    REQUIRE(store->save(a, snap(seq)).has_value());
    REQUIRE(store->save(b, snap(seq)).has_value());
  }
  const auto syncs = fs->wal_syncs.load();
  auto results = store->delete_many({{a, max_sequence_nr}, {none, max_sequence_nr}, {b, 1}});
  REQUIRE(results.size() == 3);
  for (const auto& r : results) CHECK(r.has_value());
  CHECK(fs->wal_syncs.load() == syncs + 1);
  CHECK(store->list(a)->empty());
  CHECK(*store->list(b) == std::vector<std::uint64_t>{2});
  // Nothing to delete: no write at all.
  REQUIRE(store->delete_many({{none, max_sequence_nr}, {b, 1}}).size() == 2);
  CHECK(fs->wal_syncs.load() == syncs + 1);
  // A failed write fails the requests that had snapshots, not the others.
  fs->full = true;
  results = store->delete_many({{none, max_sequence_nr}, {b, max_sequence_nr}});
  REQUIRE(results.size() == 2);
  CHECK(results[0].has_value());
  REQUIRE_FALSE(results[1].has_value());
  CHECK(results[1].error().code == errc::io_error);
  CHECK(results[1].error().message.find(b.describe()) != std::string::npos);
  fs->full = false;
  CHECK(*store->list(b) == std::vector<std::uint64_t>{2});
}

TEST_CASE("deletes waiting for the snapshot store actor share one synced write") {
  wfe::test::faulty_disk disk;
  auto& [dir, fs, env] = disk;
  std::shared_ptr<rocksdb_snapshot_store> store =
      open_store_ok({.dir = dir.path() / "s", .env = env.get()});
  constexpr int ids = 6;
  auto pid = [](int i) { return persistence_id{shard_id{3}, "id-" + std::to_string(i)}; };
  for (int i = 0; i < ids; ++i) REQUIRE(store->save(pid(i), snap(1)).has_value());
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto actor = spawn_snapshot_store_actor(sys, store, {.max_batch = 4});
  fs->hold_wal_syncs();
  std::thread saver([&] {  // the actor is blocked inside this save's sync...
    CHECK(snapshot_save_blocking(sys, actor, std::chrono::seconds(10), pid(99), snap(1)));
  });
  REQUIRE(fs->wait_sync_held());
  const auto syncs = fs->wal_syncs.load();
  // ...while the deletes queue up, then a new snapshot of the last id (written after its
  // delete) and a load of it (served after that save).
  caf::scoped_actor self{sys};
  const auto last = pid(ids - 1);
  auto asker = sys.spawn([&](caf::event_based_actor* a) {
    const caf::actor to{self};
    for (int i = 0; i < ids; ++i) {
      request_snapshot_delete(a, actor, std::chrono::seconds(10), pid(i), max_sequence_nr,
                              [a, to](result<done> r) { a->send(to, r.has_value()); });
    }
    request_snapshot_save(a, actor, std::chrono::seconds(10), last, snap(2),
                          [a, to](result<std::uint64_t> r) { a->send(to, r.has_value()); });
    request_snapshot_load(a, actor, std::chrono::seconds(10), last, max_sequence_nr,
                          [a, to](result<std::optional<snapshot>> r) {
                            a->send(to, r && *r ? static_cast<int>((*r)->sequence_nr) : -1);
                          });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  fs->release_wal_syncs();
  saver.join();
  int ok = 0;
  int loaded = 0;
  for (int i = 0; i < ids + 2; ++i) {
    self->receive([&](bool done) { ok += done ? 1 : 0; }, [&](int seq) { loaded = seq; },
                  caf::after(std::chrono::seconds(10)) >> [] { FAIL("no answer"); });
  }
  CHECK(ok == ids + 1);
  CHECK(loaded == 2);
  // Six deletes, at most 4 per write, then the save: three writes, not seven.
  CHECK(fs->wal_syncs.load() - syncs == 3);
  for (int i = 0; i < ids - 1; ++i) CHECK(store->list(pid(i))->empty());
  CHECK(*store->list(last) == std::vector<std::uint64_t>{2});
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(asker, caf::exit_reason::user_shutdown);
}

TEST_CASE(
    "save_many saves several ids in one synced write, a second save of an id after the first") {
  wfe::test::faulty_disk disk;
  auto& [dir, fs, env] = disk;
  auto store = open_store_ok({.dir = dir.path() / "s", .keep_n_snapshots = 2, .env = env.get()});
  const persistence_id a{shard_id{3}, "a"};
  const persistence_id b{shard_id{3}, "b"};
  REQUIRE(store->save(a, snap(1)).has_value());
  const auto syncs = fs->wal_syncs.load();
  auto results = store->save_many({{a, snap(2)}, {b, snap(5)}, {a, snap(0)}});
  REQUIRE(results.size() == 3);
  CHECK(oldest_kept(results[0]) == 1);  // the oldest kept: 1 (keep 2)
  CHECK(oldest_kept(results[1]) == 5);
  REQUIRE_FALSE(results[2].has_value());
  CHECK(results[2].error().code == errc::invalid_argument);
  CHECK(fs->wal_syncs.load() == syncs + 1);
  // a twice: the second trims what the first wrote, so it is written after it.
  results = store->save_many({{a, snap(3)}, {b, snap(6)}, {a, snap(4)}});
  REQUIRE(results.size() == 3);
  CHECK(oldest_kept(results[0]) == 2);
  CHECK(oldest_kept(results[1]) == 5);
  CHECK(oldest_kept(results[2]) == 3);
  CHECK(fs->wal_syncs.load() == syncs + 3);
  CHECK(*store->list(a) == std::vector<std::uint64_t>{3, 4});
  CHECK(*store->list(b) == std::vector<std::uint64_t>{5, 6});
  CHECK(*store->load_latest(a, max_sequence_nr) == snap(4));
  // A failed write fails every save it held; nothing of them is stored.
  fs->full = true;
  results = store->save_many({{a, snap(7)}, {b, snap(8)}});
  fs->full = false;
  REQUIRE(results.size() == 2);
  for (const auto& r : results) {
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::io_error);
  }
  CHECK(*store->list(a) == std::vector<std::uint64_t>{3, 4});
}

TEST_CASE("saves waiting for the snapshot store actor share one synced write") {
  wfe::test::faulty_disk disk;
  auto& [dir, fs, env] = disk;
  std::shared_ptr<rocksdb_snapshot_store> store =
      open_store_ok({.dir = dir.path() / "s", .keep_n_snapshots = 1, .env = env.get()});
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto actor = spawn_snapshot_store_actor(sys, store, {.max_batch = 3});
  auto pid = [](int i) { return persistence_id{shard_id{3}, "id-" + std::to_string(i)}; };
  fs->hold_wal_syncs();
  std::thread first([&] {  // the actor is blocked inside this save's sync...
    CHECK(snapshot_save_blocking(sys, actor, std::chrono::seconds(10), pid(99), snap(1)));
  });
  REQUIRE(fs->wait_sync_held());
  const auto syncs = fs->wal_syncs.load();
  // ...while these queue up: 4 ids (3 per write), then id-0 again and a load of it.
  caf::scoped_actor self{sys};
  auto asker = sys.spawn([&](caf::event_based_actor* a) {
    auto save = [a, to = caf::actor{self}, &actor](const persistence_id& p, std::uint64_t seq) {
      request_snapshot_save(
          a, actor, std::chrono::seconds(10), p, snap(seq),
          [a, to, seq](result<std::uint64_t> r) { a->send(to, r.has_value() && *r == seq); });
    };
    for (int i = 0; i < 4; ++i) save(pid(i), 1);
    save(pid(0), 2);
    request_snapshot_load(a, actor, std::chrono::seconds(10), pid(0), max_sequence_nr,
                          [a, to = caf::actor{self}](result<std::optional<snapshot>> r) {
                            a->send(to, r && *r ? static_cast<int>((*r)->sequence_nr) : -1);
                          });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  fs->release_wal_syncs();
  first.join();
  int saved = 0;
  int loaded = 0;
  for (int i = 0; i < 6; ++i) {
    self->receive([&](bool ok) { saved += ok ? 1 : 0; }, [&](int seq) { loaded = seq; },
                  caf::after(std::chrono::seconds(10)) >> [] { FAIL("no answer"); });
  }
  CHECK(saved == 5);
  CHECK(loaded == 2);  // the load came after the second save of id-0
  // id-0..2, then id-3 and id-0's second save: two writes, not five.
  CHECK(fs->wal_syncs.load() - syncs == 2);
  CHECK(*store->list(pid(0)) == std::vector<std::uint64_t>{2});
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(asker, caf::exit_reason::user_shutdown);
}

TEST_CASE("the snapshot store bounds its WALs and keeps the files it deletes for live copies") {
  // WAL files RocksDB no longer needs, kept on disk; and all WAL bytes on disk.
  auto wals = [](rocksdb_snapshot_store& store, const std::filesystem::path& dir) {
    std::uint64_t min_live = 0;
    REQUIRE(store.db()->GetIntProperty("rocksdb.min-log-number-to-keep", &min_live));
    std::pair<std::size_t, std::uint64_t> kept_and_bytes{0, 0};
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.path().extension() != ".log") continue;
      if (std::stoull(e.path().stem().string()) < min_live) ++kept_and_bytes.first;
      kept_and_bytes.second += e.file_size();
    }
    return kept_and_bytes;
  };
  for (const auto keep_for : {std::chrono::milliseconds(60'000), std::chrono::milliseconds(0)}) {
    wfe::test::temp_dir dir;
    rocksdb_snapshot_store_config cfg{
        .dir = dir.path() / "s",
        .files = {.keep_deleted_for = keep_for, .max_total_wal_size = 1 << 20}};
    auto store = open_store_ok(cfg);
    for (std::uint64_t seq = 1; seq <= 400; ++seq) {  // ~4 MB of snapshots
      auto s = snap(seq);
      s.payload += std::string(10'000, 'x');
      REQUIRE(store->save(k_snapshot_pid, s).has_value());
    }
    const auto [kept, bytes] = wals(*store, cfg.dir);
    if (keep_for.count() > 0) {
      CHECK(kept > 0);
      CHECK(store->deleted_files_kept_bytes() > 0);
    } else {
      CHECK(kept == 0);
      CHECK(store->deleted_files_kept_bytes() == 0);
      CHECK(bytes < 3ULL << 20);
    }
    CHECK(store->load_latest(k_snapshot_pid, max_sequence_nr)->value().sequence_nr == 400);
  }
}

TEST_CASE("a copy of the snapshot store whose MANIFEST names files made during the copy opens") {
  namespace fs = std::filesystem;
  wfe::test::temp_dir dir;
  rocksdb_snapshot_store_config cfg{.dir = dir.path() / "s",
                                    .files = {.max_total_wal_size = 1 << 20}};
  const auto copy = dir.path() / "copy";
  fs::create_directories(copy);
  auto save_for = [](rocksdb_snapshot_store& store, const std::string& prefix) {
    for (int i = 0; i < 200; ++i) {  // ~2 MB: the WAL bound flushes
      auto s = snap(1);
      s.payload += std::string(10'000, 'x');
      REQUIRE(store.save({shard_id{1}, prefix + std::to_string(i)}, s).has_value());
    }
  };
  auto manifest_or_current = [](const std::string& name) {
    return name == "CURRENT" || name.starts_with("MANIFEST-");
  };
  {
    auto store = open_store_ok(cfg);
    save_for(*store, "early-");
    for (const auto& e : fs::directory_iterator(cfg.dir)) {
      const auto name = e.path().filename().string();
      if (name != "LOCK" && !manifest_or_current(name)) fs::copy_file(e.path(), copy / name);
    }
    save_for(*store, "late-");
    for (const auto& e : fs::directory_iterator(cfg.dir)) {
      const auto name = e.path().filename().string();
      if (manifest_or_current(name)) fs::copy_file(e.path(), copy / name);
    }
  }
  auto copy_cfg = cfg;
  copy_cfg.dir = copy;
  copy_cfg.files.roll_back_incomplete_copies = false;
  CHECK_FALSE(rocksdb_snapshot_store::open(copy_cfg).has_value());
  copy_cfg.files.roll_back_incomplete_copies = true;
  auto restored = open_store_ok(copy_cfg);
  for (int i = 0; i < 200; ++i) {
    auto loaded =
        restored->load_latest({shard_id{1}, "early-" + std::to_string(i)}, max_sequence_nr);
    REQUIRE(loaded.has_value());
    CHECK(loaded->has_value());
  }
}

TEST_CASE("the snapshot store actor deletes kept files whose time is over, idle or not") {
  using namespace std::chrono_literals;
  wfe::test::temp_dir dir;
  auto opened = rocksdb_snapshot_store::open(
      {.dir = dir.path() / "s", .files = {.keep_deleted_for = 100ms, .max_total_wal_size = 1 << 20}});
  REQUIRE(opened.has_value());
  std::shared_ptr<rocksdb_snapshot_store> store = std::move(opened).value();
  for (std::uint64_t seq = 1; seq <= 300; ++seq) {  // ~3 MB: the WAL bound flushes
    auto s = snap(seq);
    s.payload += std::string(10'000, 'x');
    REQUIRE(store->save(k_snapshot_pid, s).has_value());
  }
  REQUIRE(store->deleted_files_kept_bytes() > 0);
  std::this_thread::sleep_for(300ms);  // past keep_deleted_for; the store is idle
  CHECK(store->deleted_files_kept_bytes() > 0);
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto actor = spawn_snapshot_store_actor(sys, store, {.housekeeping_interval = 50ms});
  for (int i = 0; i < 100 && store->deleted_files_kept_bytes() > 0; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  CHECK(store->deleted_files_kept_bytes() == 0);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}
