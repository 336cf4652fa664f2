// RocksDB journal behaviour beyond the conformance suite: durability across reopen,
// and that corruption anywhere (WAL, SST, envelope, sequence) is loud, never silent.
#include "persistence/rocksdb_journal.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <prometheus/registry.h>

#include "persistence/internal/key_codec.hpp"
#include "persistence/internal/rocksdb_support.hpp"
#include "persistence/journal_metrics.hpp"
#include "tests/support/full_disk_fs.hpp"
#include "tests/support/rocksdb_files.hpp"
#include "tests/support/temp_dir.hpp"

using namespace wfe::persistence;
namespace fs = std::filesystem;

namespace {

const persistence_id k_pid{shard_id{3}, "order-17"};

event journal_event(std::uint64_t seq) {
  return event{seq, "order-placed", "payload-" + std::to_string(seq), "w1",
               static_cast<std::int64_t>(seq)};
}

std::unique_ptr<rocksdb_journal> open_ok(const rocksdb_journal_config& cfg) {
  auto j = rocksdb_journal::open(cfg);
  REQUIRE_MESSAGE(j.has_value(), (j ? std::string() : j.error().describe()));
  return std::move(j).value();
}

void write_one_by_one(journal& j, const persistence_id& pid, std::uint64_t count) {
  for (std::uint64_t seq = 1; seq <= count; ++seq) {
    auto r = j.write(pid, {journal_event(seq)});
    REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().describe()));
  }
}

// Enough bytes to overflow a 64 KiB memtable many times, in few synced writes.
void write_in_big_batches(journal& j, const persistence_id& pid, std::uint64_t count) {
  for (std::uint64_t seq = 1; seq <= count; seq += 50) {
    std::vector<event> batch;
    for (auto s = seq; s < seq + 50 && s <= count; ++s) {
      auto e = journal_event(s);
      e.payload += std::string(500, static_cast<char>('a' + s % 26));
      batch.push_back(std::move(e));
    }
    auto r = j.write(pid, std::move(batch));
    REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().describe()));
  }
}

result<std::uint64_t> replay_all(journal& j, const persistence_id& pid) {
  return j.replay(pid, 1, max_sequence_nr, max_sequence_nr, [](const event&) {});
}

// Opens the journal's RocksDB directly, as a tool or a disk fault would touch it.
struct raw_db {
  explicit raw_db(const fs::path& dir) {
    rocksdb::Options o;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs{
        {rocksdb::kDefaultColumnFamilyName, o}, {"events", o}, {"metadata", o}};
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(o, dir.string(), cfs, &handles, &raw).ok());
    db.reset(raw);
  }
  ~raw_db() {
    for (auto* h : handles) (void)db->DestroyColumnFamilyHandle(h);
  }
  void put_event(const persistence_id& pid, std::uint64_t seq, const std::string& value) {
    REQUIRE(db->Put({}, handles[1], internal::encode_event_key(pid, seq), value).ok());
  }
  void delete_event(const persistence_id& pid, std::uint64_t seq) {
    REQUIRE(db->Delete({}, handles[1], internal::encode_event_key(pid, seq)).ok());
  }
  // Event keys of `pid` still stored (deleted or purged events must leave none).
  std::size_t count_events(const persistence_id& pid) {
    rocksdb::ReadOptions ro;
    ro.total_order_seek = true;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, handles[1]));
    const auto end = internal::encode_event_key(pid, max_sequence_nr) + '\0';
    std::size_t n = 0;
    for (it->Seek(internal::encode_event_key(pid, 0)); it->Valid() && it->key().compare(end) < 0;
         it->Next()) {
      ++n;
    }
    return n;
  }
  bool has_metadata(const persistence_id& pid) {
    std::string value;
    return db->Get({}, handles[2], internal::encode_id_key(pid), &value).ok();
  }
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
};

std::vector<fs::path> files_with_extension(const fs::path& dir, const std::string& ext) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ext) out.push_back(e.path());
  }
  return out;
}

void flip_byte(const fs::path& file, std::uintmax_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f.good());
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5A);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
  REQUIRE(f.good());
}

void expect_corruption(const error& e, const std::vector<std::string>& mentions) {
  CHECK(e.code == errc::corruption);
  for (const auto& m : mentions) {
    CHECK_MESSAGE(e.message.find(m) != std::string::npos, e.message, " should mention ", m);
  }
}

}  // namespace

TEST_CASE("a full disk fails writes clearly, loses nothing acknowledged, and writing resumes") {
  wfe::test::faulty_disk disk;
  auto& [dir, fs, env] = disk;
  rocksdb_journal_config cfg{
      .dir = dir.path() / "j", .env = env.get(), .health = std::make_shared<wfe::core::health>()};
  {
    auto j = open_ok(cfg);
    // RocksDB's info log goes to the node's log, not to a LOG file on the (full) disk:
    // the distribution's librocksdb aborts on the message after a failed LOG append
    // (found with a full tmpfs under a running node; internal::make_info_logger).
    CHECK_FALSE(std::filesystem::exists(cfg.dir / "LOG"));
    write_one_by_one(*j, k_pid, 5);
    fs->full = true;
    for (int attempt = 0; attempt < 2; ++attempt) {  // the second one tries Resume()
      auto r = j->write(k_pid, {journal_event(6)});
      REQUIRE_FALSE(r.has_value());
      CHECK(r.error().code == errc::io_error);
      CHECK_MESSAGE(r.error().message.find("No space left on device") != std::string::npos,
                    r.error().message);
    }
    CHECK(*j->highest_sequence_nr(k_pid) == 5);
    CHECK(*replay_all(*j, k_pid) == 5);
    CHECK(cfg.health->down().empty());  // a full disk needs room, not a restart
    // A failed batch of several requests (one id twice, one new id) moves no id's
    // sequence: the journal forgets what the batch had counted on.
    const persistence_id other{shard_id{2}, "other"};
    std::vector<write_request> batch;
    batch.push_back({k_pid, {journal_event(6)}});
    batch.push_back({other, {journal_event(1)}});
    batch.push_back({k_pid, {journal_event(7)}});
    for (const auto& r : j->write_many(std::move(batch))) CHECK_FALSE(r.has_value());
    CHECK(*j->highest_sequence_nr(k_pid) == 5);
    CHECK(*j->highest_sequence_nr(other) == 0);
    fs->full = false;
    // Writing restarts once RocksDB has recovered (at once, or after its own retry).
    const auto start = std::chrono::steady_clock::now();
    auto r = j->write(k_pid, {journal_event(6)});
    while (!r && std::chrono::steady_clock::now() - start < std::chrono::seconds(30)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      r = j->write(k_pid, {journal_event(6)});
    }
    MESSAGE("writes resumed after "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
            << " s");
    REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().describe()));
    CHECK(*r == 6);
    CHECK(j->write(k_pid, {journal_event(7)}).has_value());
    auto first = j->write(other, {journal_event(1)});
    REQUIRE_MESSAGE(first.has_value(), (first ? std::string() : first.error().describe()));
    CHECK(*first == 1);
  }
  auto j = open_ok(cfg);
  std::vector<event> events;
  REQUIRE(j->replay(k_pid, 1, max_sequence_nr, max_sequence_nr, [&](const event& e) {
             events.push_back(e);
           }).has_value());
  REQUIRE(events.size() == 7);
  CHECK(events[5] == journal_event(6));
  CHECK(*j->highest_sequence_nr(k_pid) == 7);
}

TEST_CASE("a journal that will not resume after a damaged write is down in the node's health") {
  wfe::test::faulty_disk disk;
  auto& [dir, fs, env] = disk;
  rocksdb_journal_config cfg{
      .dir = dir.path() / "j", .env = env.get(), .health = std::make_shared<wfe::core::health>()};
  auto j = open_ok(cfg);
  write_one_by_one(*j, k_pid, 3);
  fs->corrupt = true;  // the WAL append fails as damaged data would
  auto r = j->write(k_pid, {journal_event(4)});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::corruption);
  CHECK(cfg.health->down().empty());  // not yet: the next write tries to resume
  fs->corrupt = false;
  r = j->write(k_pid, {journal_event(4)});
  REQUIRE_FALSE(r.has_value());  // RocksDB keeps the error: only a reopen clears it
  CHECK(r.error().message.find("resume failed") != std::string::npos);
  const auto down = cfg.health->down();
  REQUIRE(down.size() == 1);
  CHECK(down[0].first == "journal");
  CHECK(down[0].second.find(cfg.dir.string()) != std::string::npos);
  CHECK(down[0].second.find("restart the node") != std::string::npos);
  // Reads go on, and what was acknowledged is there.
  CHECK(*j->highest_sequence_nr(k_pid) == 3);
  CHECK(*replay_all(*j, k_pid) == 3);
  j.reset();
  auto reopened = open_ok(cfg);  // the restart: writing works again
  CHECK(reopened->write(k_pid, {journal_event(4)}).has_value());
}

TEST_CASE("a write that finds the disk full deletes the files kept for live copies") {
  wfe::test::faulty_disk disk;
  auto& [dir, fs, env] = disk;
  rocksdb_journal_config cfg{.dir = dir.path() / "j",
                             .write_buffer_size_bytes = 64 * 1024,
                             .files = {.max_total_wal_size = 256 * 1024},
                             .env = env.get()};
  auto j = open_ok(cfg);
  // WAL files on disk that RocksDB no longer needs (deleted by it, kept for copies).
  auto kept_wals = [&] {
    std::uint64_t min_live = 0;
    REQUIRE(j->db()->GetIntProperty("rocksdb.min-log-number-to-keep", &min_live));
    std::size_t n = 0;
    for (const auto& f : files_with_extension(cfg.dir, ".log"))
      n += std::stoull(f.stem().string()) < min_live ? 1 : 0;
    return n;
  };
  write_in_big_batches(*j, k_pid, 8000);
  CHECK(kept_wals() > 2);
  CHECK(j->deleted_files_kept_bytes() > 0);
  fs->full = true;
  CHECK_FALSE(j->write(k_pid, {journal_event(8001)}).has_value());
  CHECK(kept_wals() == 0);
  CHECK(j->deleted_files_kept_bytes() == 0);
}

TEST_CASE("a reopened RocksDB journal keeps every event, highest and deletion") {
  wfe::test::temp_dir dir;
  rocksdb_journal_config cfg{.dir = dir.path() / "j"};
  const persistence_id other{shard_id{4}, "order-18"};
  {
    auto j = open_ok(cfg);
    write_one_by_one(*j, k_pid, 10);
    REQUIRE(j->write(other, {journal_event(1), journal_event(2)}).has_value());
    REQUIRE(j->delete_to(k_pid, 4).has_value());
  }
  auto j = open_ok(cfg);
  std::vector<event> events;
  auto n = j->replay(k_pid, 1, max_sequence_nr, max_sequence_nr,
                     [&](const event& e) { events.push_back(e); });
  REQUIRE(n.has_value());
  CHECK(*n == 6);
  REQUIRE(events.size() == 6);
  CHECK(events.front() == journal_event(5));
  CHECK(events.back() == journal_event(10));
  CHECK(*j->highest_sequence_nr(k_pid) == 10);
  CHECK(*j->highest_sequence_nr(other) == 2);
  CHECK(j->persistence_ids()->size() == 2);
  SUBCASE("and the next writer must continue after the stored highest") {
    auto stale = j->write(k_pid, {journal_event(10)});
    REQUIRE_FALSE(stale.has_value());
    CHECK(stale.error().code == errc::sequence_conflict);
    CHECK(j->write(k_pid, {journal_event(11)}).has_value());
  }
}

TEST_CASE("a purge survives reopen, flushed or not, and leaves the other ids") {
  wfe::test::temp_dir dir;
  // A tiny memtable: the purged events are in table files, so the deletes must hide them
  // there too, not just in the memtable. 400 events: point deletes; 5000: a range.
  rocksdb_journal_config cfg{.dir = dir.path() / "j", .write_buffer_size_bytes = 64 * 1024};
  const persistence_id other{shard_id{3}, "order-170"};
  const persistence_id long_one{shard_id{3}, "order-1"};
  {
    auto j = open_ok(cfg);
    write_in_big_batches(*j, k_pid, 400);
    write_in_big_batches(*j, long_one, 5000);
    write_one_by_one(*j, other, 3);
    REQUIRE(j->delete_to(long_one, 4500).has_value());
    REQUIRE(j->purge(k_pid, 400).has_value());
    REQUIRE(j->purge(long_one, 5000).has_value());
  }
  {  // Nothing of them is left stored, not even keys no read would return.
    raw_db raw(cfg.dir);
    CHECK(raw.count_events(k_pid) == 0);
    CHECK(raw.count_events(long_one) == 0);
    CHECK(raw.count_events(other) == 3);
    CHECK_FALSE(raw.has_metadata(k_pid));
    CHECK_FALSE(raw.has_metadata(long_one));
    CHECK(raw.has_metadata(other));
  }
  auto j = open_ok(cfg);
  CHECK(*j->highest_sequence_nr(k_pid) == 0);
  CHECK(*j->highest_sequence_nr(other) == 3);
  CHECK(*j->persistence_ids() == std::vector<persistence_id>{other});
  std::uint64_t replayed = 0;
  REQUIRE(j->replay(k_pid, 1, max_sequence_nr, max_sequence_nr, [&](const event&) {
             ++replayed;
           }).has_value());
  CHECK(replayed == 0);
  REQUIRE(j->write(k_pid, {journal_event(1)}).has_value());
  CHECK(*j->highest_sequence_nr(k_pid) == 1);
  CHECK(*j->highest_sequence_nr(long_one) == 0);
  REQUIRE(j->replay(long_one, 1, max_sequence_nr, max_sequence_nr, [&](const event&) {
               ++replayed;
             }).has_value());
  CHECK(replayed == 0);
  std::vector<std::uint64_t> others;
  REQUIRE(j->replay(other, 1, max_sequence_nr, max_sequence_nr, [&](const event& e) {
               others.push_back(e.sequence_nr);
             }).has_value());
  CHECK(others == std::vector<std::uint64_t>{1, 2, 3});
}

TEST_CASE("a journal written with RocksDB's default memtable and no prefix extractor opens") {
  // Data dirs of builds before the events family's prefix memtable (events_options):
  // events in SST files and in the WAL, read back through the prefix memtable.
  wfe::test::temp_dir dir;
  rocksdb_journal_config cfg{.dir = dir.path() / "j"};
  const persistence_id prefix_of_pid{shard_id{3}, "order-1"};
  { auto j = open_ok(cfg); }  // creates the families and the format version
  {
    raw_db raw(cfg.dir);
    auto put = [&](const persistence_id& pid, std::uint64_t from, std::uint64_t to) {
      for (auto seq = from; seq <= to; ++seq)
        raw.put_event(pid, seq, internal::encode_envelope(journal_event(seq)));
      REQUIRE(raw.db
                  ->Put({}, raw.handles[2], internal::encode_id_key(pid),
                        internal::encode_metadata({.highest = to}))
                  .ok());
    };
    put(k_pid, 1, 5);
    put(prefix_of_pid, 1, 2);
    REQUIRE(raw.db->Flush({}, raw.handles).ok());
    put(k_pid, 6, 8);  // only in the WAL and the memtable
  }
  auto j = open_ok(cfg);
  std::vector<event> events;
  REQUIRE(j->replay(k_pid, 3, max_sequence_nr, max_sequence_nr, [&](const event& e) {
             events.push_back(e);
           }).has_value());
  REQUIRE(events.size() == 6);
  CHECK(events.front() == journal_event(3));
  CHECK(events.back() == journal_event(8));
  CHECK(*replay_all(*j, prefix_of_pid) == 2);
  REQUIRE(j->write(k_pid, {journal_event(9)}).has_value());
  CHECK(*replay_all(*j, k_pid) == 9);
  CHECK(*replay_all(*j, prefix_of_pid) == 2);
}

TEST_CASE("ids are listed in order across table files and the prefix memtable") {
  wfe::test::temp_dir dir;
  auto j = open_ok({.dir = dir.path() / "j"});
  std::vector<persistence_id> expected;
  for (int i = 0; i < 40; ++i) {
    persistence_id pid{shard_id{static_cast<std::uint32_t>(i % 3)}, "wf-" + std::to_string(i)};
    REQUIRE(j->write(pid, {journal_event(1), journal_event(2)}).has_value());
    expected.push_back(pid);
    if (i == 19) REQUIRE(j->db()->Flush({}).ok());  // the first half in table files
  }
  std::sort(expected.begin(), expected.end(), [](const auto& a, const auto& b) {
    return internal::encode_id_key(a) < internal::encode_id_key(b);
  });
  auto listed = j->persistence_ids();
  REQUIRE(listed.has_value());
  CHECK(*listed == expected);
  auto shard1 = j->persistence_ids(shard_id{1});
  REQUIRE(shard1.has_value());
  CHECK(shard1->size() == 13);
  for (const auto& pid : *shard1) CHECK(pid.shard().value == 1);
}

TEST_CASE("events flushed to SST files survive reopen and pass verify-on-start") {
  wfe::test::temp_dir dir;
  rocksdb_journal_config cfg{.dir = dir.path() / "j", .write_buffer_size_bytes = 64 * 1024};
  {
    auto j = open_ok(cfg);
    write_in_big_batches(*j, k_pid, 2000);
  }
  CHECK_FALSE(files_with_extension(cfg.dir, ".sst").empty());
  cfg.verify_on_start = true;
  auto j = open_ok(cfg);
  CHECK(*replay_all(*j, k_pid) == 2000);
}

TEST_CASE(
    "a flipped byte in the middle of the WAL makes open fail naming corruption and the file") {
  for (auto mode :
       {wal_recovery::tolerate_corrupted_tail_records, wal_recovery::absolute_consistency}) {
    CAPTURE(static_cast<int>(mode));
    wfe::test::temp_dir dir;
    rocksdb_journal_config cfg{.dir = dir.path() / "j", .wal_recovery_mode = mode};
    {
      auto j = open_ok(cfg);
      write_one_by_one(*j, k_pid, 200);  // synced, still only in the WAL (64 MiB memtable)
    }
    CHECK(files_with_extension(cfg.dir, ".sst").empty());
    const auto wals = files_with_extension(cfg.dir, ".log");
    REQUIRE(wals.size() == 1);
    const auto size = fs::file_size(wals[0]);
    REQUIRE(size > 10'000);
    flip_byte(wals[0], size / 2);
    auto reopened = rocksdb_journal::open(cfg);
    REQUIRE_FALSE(reopened.has_value());
    expect_corruption(reopened.error(), {"Corruption", wals[0].filename().string()});
  }
}

TEST_CASE("a flipped byte in an SST file fails open when verify-on-start is on") {
  wfe::test::temp_dir dir;
  rocksdb_journal_config cfg{.dir = dir.path() / "j", .write_buffer_size_bytes = 64 * 1024};
  {
    auto j = open_ok(cfg);
    write_in_big_batches(*j, k_pid, 2000);
  }
  auto ssts = files_with_extension(cfg.dir, ".sst");
  REQUIRE_FALSE(ssts.empty());
  std::sort(ssts.begin(), ssts.end(),
            [](const auto& a, const auto& b) { return fs::file_size(a) > fs::file_size(b); });
  flip_byte(ssts[0], fs::file_size(ssts[0]) / 3);  // inside a data block
  cfg.verify_on_start = true;
  auto reopened = rocksdb_journal::open(cfg);
  REQUIRE_FALSE(reopened.has_value());
  expect_corruption(reopened.error(), {"Corruption", ssts[0].filename().string()});
}

TEST_CASE("replay fails naming the id and sequence number of a bad envelope") {
  wfe::test::temp_dir dir;
  rocksdb_journal_config cfg{.dir = dir.path() / "j"};
  {
    auto j = open_ok(cfg);
    write_one_by_one(*j, k_pid, 5);
  }
  SUBCASE("a payload whose CRC does not match, counted as a corruption") {
    auto envelope = internal::encode_envelope(journal_event(3));
    const auto at = envelope.find("payload-3");
    REQUIRE(at != std::string::npos);
    envelope[at] = 'P';  // the bytes change, the stored CRC does not
    raw_db(cfg.dir).put_event(k_pid, 3, envelope);
    prometheus::Registry registry;
    auto opened = rocksdb_journal::open(cfg, std::make_shared<journal_metrics>(&registry));
    REQUIRE(opened.has_value());
    auto r = replay_all(**opened, k_pid);
    REQUIRE_FALSE(r.has_value());
    expect_corruption(r.error(), {"order-17", "sequence nr 3", "CRC32C"});
    double corruptions = -1;
    for (const auto& f : registry.Collect()) {
      if (f.name == "journal_corruptions_total") corruptions = f.metric.front().counter.value;
    }
    CHECK(corruptions == 1);
  }
  SUBCASE("bytes that are no envelope at all") {
    raw_db(cfg.dir).put_event(k_pid, 2, std::string("\xff\xff\xff\xff garbage", 13));
    auto j = open_ok(cfg);
    auto r = replay_all(*j, k_pid);
    REQUIRE_FALSE(r.has_value());
    expect_corruption(r.error(), {"order-17", "sequence nr 2"});
  }
  SUBCASE("an envelope stored under another sequence number") {
    raw_db(cfg.dir).put_event(k_pid, 4, internal::encode_envelope(journal_event(2)));
    auto j = open_ok(cfg);
    auto r = replay_all(*j, k_pid);
    REQUIRE_FALSE(r.has_value());
    expect_corruption(r.error(), {"order-17", "sequence nr 4"});
  }
  SUBCASE("a missing event in the middle of the sequence") {
    raw_db(cfg.dir).delete_event(k_pid, 3);
    auto j = open_ok(cfg);
    std::vector<std::uint64_t> seen;
    auto r = j->replay(k_pid, 1, max_sequence_nr, max_sequence_nr,
                       [&](const event& e) { seen.push_back(e.sequence_nr); });
    REQUIRE_FALSE(r.has_value());
    expect_corruption(r.error(), {"order-17", "sequence nr 3 is missing"});
    CHECK(seen == std::vector<std::uint64_t>{1, 2});
  }
  SUBCASE("missing events at the end of the sequence") {
    raw_db(cfg.dir).delete_event(k_pid, 5);
    auto j = open_ok(cfg);
    auto r = replay_all(*j, k_pid);
    REQUIRE_FALSE(r.has_value());
    expect_corruption(r.error(), {"order-17", "sequence nr 5 is missing", "highest is 5"});
  }
}

std::vector<std::uint64_t> replayed_seqs(journal& j, const persistence_id& pid, std::uint64_t from,
                                         std::uint64_t to, std::uint64_t max) {
  std::vector<std::uint64_t> seen;
  auto r = j.replay(pid, from, to, max, [&](const event& e) {
    CHECK(e == journal_event(e.sequence_nr));
    seen.push_back(e.sequence_nr);
  });
  REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().describe()));
  CHECK(*r == seen.size());
  return seen;
}

std::vector<std::uint64_t> seq_range(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> out;
  for (auto s = from; s <= to; ++s) out.push_back(s);
  return out;
}

std::vector<event> journal_events(std::uint64_t from, std::uint64_t to) {
  std::vector<event> out;
  for (auto s = from; s <= to; ++s) out.push_back(journal_event(s));
  return out;
}

// Writes 1, 2..6 and 7..9 of k_pid as three writes: three keys.
void write_three_writes(journal& j) {
  REQUIRE(j.write(k_pid, journal_events(1, 1)).has_value());
  REQUIRE(j.write(k_pid, journal_events(2, 6)).has_value());
  REQUIRE(j.write(k_pid, journal_events(7, 9)).has_value());
}

TEST_CASE("a write's events are stored under one key and read back from any point") {
  wfe::test::temp_dir dir;
  bool flushed = false;  // read from the memtable, then from table files
  SUBCASE("in the memtable") {}
  SUBCASE("in table files") { flushed = true; }
  rocksdb_journal_config cfg{.dir = dir.path() / "j"};
  {
    auto j = open_ok(cfg);
    write_three_writes(*j);
    auto empty_payloads = journal_events(10, 11);  // a pack of envelopes without payload
    for (auto& e : empty_payloads) e.payload.clear();
    REQUIRE(j->write(k_pid, empty_payloads).has_value());
    if (flushed) REQUIRE(j->db()->Flush({}).ok());
  }
  CHECK(raw_db(cfg.dir).count_events(k_pid) == 4);
  auto j = open_ok(cfg);
  std::vector<std::uint64_t> all;
  REQUIRE(j->replay(k_pid, 1, max_sequence_nr, max_sequence_nr, [&](const event& e) {
             CHECK(e.payload == (e.sequence_nr >= 10 ? "" : journal_event(e.sequence_nr).payload));
             all.push_back(e.sequence_nr);
           }).has_value());
  CHECK(all == seq_range(1, 11));
  CHECK(replayed_seqs(*j, k_pid, 1, 9, max_sequence_nr) == seq_range(1, 9));
  CHECK(replayed_seqs(*j, k_pid, 4, 7, max_sequence_nr) == seq_range(4, 7));
  CHECK(replayed_seqs(*j, k_pid, 3, 9, 2) == seq_range(3, 4));
  CHECK(replayed_seqs(*j, k_pid, 5, 5, max_sequence_nr) == seq_range(5, 5));
  CHECK(replayed_seqs(*j, k_pid, 6, 8, max_sequence_nr) == seq_range(6, 8));
  CHECK(replayed_seqs(*j, k_pid, 2, 6, 5) == seq_range(2, 6));
  CHECK(*j->highest_sequence_nr(k_pid) == 11);
}

// The journal actor's thread is what every write waits on, so entities prepare their
// writes on their own thread (journal::prepare): what write_many stores for a prepared
// request must be what it stores for the same request unprepared.
TEST_CASE("a prepared write is stored as prepared, byte for byte as unprepared") {
  wfe::test::temp_dir dir;
  rocksdb_journal_config cfg{.dir = dir.path() / "j"};
  const persistence_id plain{shard_id{0}, "plain"};
  const persistence_id ready{shard_id{0}, "prepared"};
  auto j = open_ok(cfg);
  std::vector<write_request> requests;
  for (const auto& pid : {plain, ready}) {
    requests.push_back(write_request{pid, journal_events(1, 1)});  // one event: an envelope
    requests.push_back(write_request{pid, journal_events(2, 4)});  // a pack
  }
  j->prepare(requests[2]);
  j->prepare(requests[3]);
  CHECK(requests[2].prepared == internal::encode_value(requests[2].events));
  CHECK(requests[3].prepared == internal::encode_value(requests[3].events));
  CHECK(requests[3].prepared.front() == '\0');  // a pack
  // A prepared request is still checked as any other: one out of sequence is refused.
  auto late = write_request{ready, journal_events(9, 9)};
  j->prepare(late);
  requests.push_back(late);
  auto results = j->write_many(requests);
  REQUIRE(results.size() == 5);
  for (std::size_t i = 0; i < 4; ++i) CHECK(results[i].has_value());
  REQUIRE_FALSE(results[4].has_value());
  CHECK(results[4].error().code == errc::sequence_conflict);
  j.reset();

  {
    raw_db raw(cfg.dir);
    for (const std::uint64_t last : {1, 4}) {
      std::string a;
      std::string b;
      REQUIRE(raw.db->Get({}, raw.handles[1], internal::encode_event_key(plain, last), &a).ok());
      REQUIRE(raw.db->Get({}, raw.handles[1], internal::encode_event_key(ready, last), &b).ok());
      CHECK(a == b);
    }
    CHECK(raw.count_events(ready) == 2);  // nothing of the refused one
  }
  // And write_many stores the prepared bytes themselves: a request whose prepared value
  // differs from its events (which a caller must never send) is stored as prepared.
  auto odd = write_request{ready, journal_events(5, 5)};
  odd.prepared = internal::encode_value(journal_events(5, 5));
  odd.prepared.back() ^= 1;  // the envelope's last byte: its sequence nr field
  {
    auto j2 = open_ok(cfg);
    REQUIRE(j2->write_many({odd}).front().has_value());
  }
  raw_db raw2(cfg.dir);
  std::string stored;
  REQUIRE(raw2.db->Get({}, raw2.handles[1], internal::encode_event_key(ready, 5), &stored).ok());
  CHECK(stored == odd.prepared);
}

// prepare reads a first write's metadata off the journal's thread (request.prior); the
// write takes it only while nothing left the metadata cache since, else reads again.
TEST_CASE("a first write's metadata read ahead by prepare is used only while still current") {
  wfe::test::temp_dir dir;
  auto j = open_ok({.dir = dir.path() / "j", .metadata_cache_entries = 2});
  const persistence_id z{shard_id{0}, "z"};
  auto prepared_first = [&](const persistence_id& pid) {
    auto r = write_request{pid, journal_events(1, 1)};
    j->prepare(r);
    REQUIRE(r.prior.valid);
    CHECK(r.prior.highest == 0);
    return r;
  };
  auto refused = [&](const write_request& r) {
    auto result = j->write_many({r}).front();
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == errc::sequence_conflict);
  };
  auto empty_cache = [&] {  // writes to more ids than the 2-entry cache holds: it is emptied
    for (int i = 0; i < 4; ++i) {
      REQUIRE(j->write(persistence_id{shard_id{0}, "f" + std::to_string(i)}, journal_events(1, 1))
                  .has_value());
    }
  };

  SUBCASE("a new id's first write reads nothing more and is stored") {
    auto r = write_request{z, journal_events(1, 2)};
    j->prepare(r);
    REQUIRE(r.prior.valid);
    CHECK(*j->write_many({r}).front() == 2);
    CHECK(*j->highest_sequence_nr(z) == 2);
    auto later = write_request{z, journal_events(3, 3)};
    j->prepare(later);
    CHECK_FALSE(later.prior.valid);  // not a first write: the cache has the id
  }
  SUBCASE("the read is what the write is checked against") {
    auto r = prepared_first(z);
    r.prior.highest = 7;  // as if the id had 7 events when prepare read it
    refused(r);
  }
  SUBCASE("an id written after the read is checked against that write (cached)") {
    auto r = prepared_first(z);
    REQUIRE(j->write(z, journal_events(1, 1)).has_value());
    refused(r);
  }
  SUBCASE("an id written after the read and evicted since is read again") {
    auto r = prepared_first(z);
    REQUIRE(j->write(z, journal_events(1, 1)).has_value());
    empty_cache();
    refused(r);
    CHECK(*j->highest_sequence_nr(z) == 1);
  }
  SUBCASE("a read that would wait for the disk is left to the journal's thread") {
    REQUIRE(j->write(z, journal_events(1, 1)).has_value());
    j.reset();
    j = open_ok({.dir = dir.path() / "j", .metadata_cache_entries = 2});  // z's record: on disk
    auto r = write_request{z, journal_events(1, 1)};
    j->prepare(r);
    CHECK_FALSE(r.prior.valid);  // not in memory: prepare did not read the file
    refused(r);                  // the journal read it
  }
  SUBCASE("a read made before the cache was emptied is not used") {
    auto r = prepared_first(z);
    r.prior.highest = 7;  // stale on purpose: it must not be taken
    empty_cache();
    CHECK(*j->write_many({r}).front() == 1);
  }
}

TEST_CASE("deleting into the middle of a write keeps its key and replays only what is left") {
  wfe::test::temp_dir dir;
  rocksdb_journal_config cfg{.dir = dir.path() / "j"};
  auto j = open_ok(cfg);
  write_three_writes(*j);
  REQUIRE(j->delete_to(k_pid, 4).has_value());
  CHECK(replayed_seqs(*j, k_pid, 1, max_sequence_nr, max_sequence_nr) == seq_range(5, 9));
  CHECK(replayed_seqs(*j, k_pid, 5, 5, max_sequence_nr) == seq_range(5, 5));
  j.reset();
  CHECK(raw_db(cfg.dir).count_events(k_pid) == 2);  // 2..6 stays whole, 1 is gone
  j = open_ok(cfg);
  CHECK(replayed_seqs(*j, k_pid, 1, max_sequence_nr, max_sequence_nr) == seq_range(5, 9));
  REQUIRE(j->write(k_pid, journal_events(10, 12)).has_value());
  REQUIRE(j->delete_to(k_pid, 6).has_value());
  CHECK(replayed_seqs(*j, k_pid, 1, max_sequence_nr, max_sequence_nr) == seq_range(7, 12));
  j.reset();
  CHECK(raw_db(cfg.dir).count_events(k_pid) == 2);  // 7..9 and 10..12
  j = open_ok(cfg);
  REQUIRE(j->delete_to(k_pid, 8).has_value());
  REQUIRE(j->purge(k_pid, 12).has_value());  // from the partly deleted write to the end
  j.reset();
  CHECK(raw_db(cfg.dir).count_events(k_pid) == 0);
}

TEST_CASE("a damaged write is corruption naming the id and where") {
  wfe::test::temp_dir dir;
  rocksdb_journal_config cfg{.dir = dir.path() / "j"};
  {
    auto j = open_ok(cfg);
    write_three_writes(*j);
  }
  const auto replay_error = [&] {
    auto j = open_ok(cfg);
    auto r = replay_all(*j, k_pid);
    REQUIRE_FALSE(r.has_value());
    return r.error();
  };
  SUBCASE("a pack cut short") {
    auto value = internal::encode_value(journal_events(2, 6));
    raw_db(cfg.dir).put_event(k_pid, 6, value.substr(0, value.size() - 3));
    expect_corruption(replay_error(), {"order-17", "malformed event pack", "sequence nr 6"});
  }
  SUBCASE("a pack with bytes after its last event") {
    raw_db(cfg.dir).put_event(k_pid, 6, internal::encode_value(journal_events(2, 6)) + "x");
    expect_corruption(replay_error(), {"order-17", "malformed event pack", "after the last"});
  }
  SUBCASE("a pack counting more events than its key's sequence nr") {
    raw_db(cfg.dir).put_event(k_pid, 1, internal::encode_value(journal_events(1, 3)));
    expect_corruption(replay_error(), {"order-17", "malformed event pack", "event count 3"});
  }
  SUBCASE("a payload inside a pack whose CRC does not match") {
    auto value = internal::encode_value(journal_events(2, 6));
    const auto at = value.find("payload-4");
    REQUIRE(at != std::string::npos);
    value[at] = 'P';
    raw_db(cfg.dir).put_event(k_pid, 6, value);
    expect_corruption(replay_error(), {"order-17", "sequence nr 4", "CRC32C"});
  }
  SUBCASE("a pack holding other sequence nrs than its key says") {
    raw_db(cfg.dir).put_event(k_pid, 6, internal::encode_value(journal_events(3, 7)));
    expect_corruption(replay_error(), {"order-17", "sequence nr 2", "carries sequence nr 3"});
  }
  SUBCASE("a missing write") {
    raw_db(cfg.dir).delete_event(k_pid, 6);
    expect_corruption(replay_error(), {"order-17", "sequence nr 2 is missing", "7..9"});
  }
  SUBCASE("writes that overlap") {
    raw_db(cfg.dir).put_event(k_pid, 9, internal::encode_value(journal_events(5, 9)));
    expect_corruption(replay_error(), {"order-17", "events 5..9", "overlap", "7 expected"});
  }
}

TEST_CASE("a journal of format 1 (a key per event) reads on and is upgraded to format 2") {
  wfe::test::temp_dir dir;
  rocksdb_journal_config cfg{.dir = dir.path() / "j"};
  (void)open_ok(cfg);
  {  // Format 1 as a build before it wrote it: an envelope per key, version "1".
    raw_db raw(cfg.dir);
    for (std::uint64_t seq = 1; seq <= 4; ++seq)
      raw.put_event(k_pid, seq, internal::encode_envelope(journal_event(seq)));
    rocksdb::WriteBatch batch;
    REQUIRE(batch
                .Put(raw.handles[2], internal::encode_id_key(k_pid),
                     internal::encode_metadata({.highest = 4}))
                .ok());
    REQUIRE(batch.Put(raw.handles[0], "format-version", "1").ok());
    REQUIRE(raw.db->Write({}, &batch).ok());
  }
  auto j = open_ok(cfg);
  CHECK(replayed_seqs(*j, k_pid, 1, max_sequence_nr, max_sequence_nr) == seq_range(1, 4));
  REQUIRE(j->write(k_pid, journal_events(5, 8)).has_value());
  CHECK(replayed_seqs(*j, k_pid, 3, 6, max_sequence_nr) == seq_range(3, 6));
  j.reset();
  raw_db raw(cfg.dir);
  std::string version;
  REQUIRE(raw.db->Get({}, raw.handles[0], "format-version", &version).ok());
  CHECK(version == "2");
  CHECK(raw.count_events(k_pid) == 5);
}

TEST_CASE("a second process cannot open a journal that is in use") {
  wfe::test::temp_dir dir;
  rocksdb_journal_config cfg{.dir = dir.path() / "j"};
  auto first = open_ok(cfg);
  auto second = rocksdb_journal::open(cfg);
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().code == errc::locked);
  CHECK(second.error().message.find("lock") != std::string::npos);
}

TEST_CASE("a journal from another format version is refused") {
  wfe::test::temp_dir dir;
  rocksdb_journal_config cfg{.dir = dir.path() / "j"};
  (void)open_ok(cfg);
  {
    raw_db raw(cfg.dir);
    REQUIRE(raw.db->Put({}, raw.handles[0], "format-version", "99").ok());
  }
  auto j = rocksdb_journal::open(cfg);
  REQUIRE_FALSE(j.has_value());
  CHECK(j.error().message.find("format version '99', this build reads '2'") != std::string::npos);
}

TEST_CASE("a tiny metadata cache still checks every write's sequence and keeps deletions") {
  wfe::test::temp_dir dir;
  auto j = open_ok({.dir = dir.path() / "j", .metadata_cache_entries = 2});
  std::vector<persistence_id> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(persistence_id{shard_id{1}, "c-" + std::to_string(i)});
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    for (const auto& pid : ids) REQUIRE(j->write(pid, {journal_event(seq)}).has_value());
  }
  REQUIRE(j->delete_to(ids[1], 2).has_value());
  // Every id has been evicted and re-read several times: the checks still hold.
  auto again = j->write(ids[0], {journal_event(3)});
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().code == errc::sequence_conflict);
  auto gap = j->write(ids[2], {journal_event(5)});
  REQUIRE_FALSE(gap.has_value());
  CHECK(gap.error().code == errc::sequence_conflict);
  for (const auto& pid : ids) CHECK(*j->highest_sequence_nr(pid) == 3);
  REQUIRE(j->write(ids[1], {journal_event(4)}).has_value());
  std::vector<std::uint64_t> seen;
  REQUIRE(j->replay(ids[1], 1, max_sequence_nr, 100, [&](const event& e) {
             seen.push_back(e.sequence_nr);
           }).has_value());
  CHECK(seen == std::vector<std::uint64_t>{3, 4});  // 1..2 deleted
}

// write_many keeps pointers to the metadata cache's entries while it builds a batch and
// writes each id's metadata from them at the end; the cache is a flat table whose
// entries move when it grows. A batch of thousands of new ids (each written twice, its
// second request late in the batch) grows it many times over: every id's highest must
// still be the one written, in the cache and after a reopen.
TEST_CASE("one batch of thousands of new ids stores every id's highest sequence nr") {
  wfe::test::temp_dir dir;
  const rocksdb_journal_config cfg{.dir = dir.path() / "j"};
  constexpr int k_ids = 3000;
  auto pid_of = [](int i) { return persistence_id{shard_id{2}, "grow-" + std::to_string(i)}; };
  {
    auto j = open_ok(cfg);
    std::vector<write_request> batch;
    for (int i = 0; i < k_ids; ++i) batch.push_back(write_request{pid_of(i), {journal_event(1)}});
    for (int i = 0; i < k_ids; ++i) batch.push_back(write_request{pid_of(i), {journal_event(2)}});
    auto results = j->write_many(std::move(batch));
    REQUIRE(results.size() == 2 * k_ids);
    for (int i = 0; i < 2 * k_ids; ++i) {
      REQUIRE_MESSAGE(results[i].has_value(), results[i].error().describe());
      CHECK(*results[i] == (i < k_ids ? 1U : 2U));
    }
    for (int i = 0; i < k_ids; i += 97) CHECK(*j->highest_sequence_nr(pid_of(i)) == 2);
  }
  auto j = open_ok(cfg);
  int wrong = 0;
  for (int i = 0; i < k_ids; ++i) {
    if (*j->highest_sequence_nr(pid_of(i)) != 2) ++wrong;
  }
  CHECK(wrong == 0);
  auto next = j->write(pid_of(k_ids - 1), {journal_event(2)});
  REQUIRE_FALSE(next.has_value());
  CHECK(next.error().code == errc::sequence_conflict);
}

// internal::bound_writeback: a flush's table file goes to the disk in bytes-per-sync
// ranges (strict), so WAL syncs do not queue behind a whole flush (bench/README.md,
// "Fifteenth pass"). Checked where it matters: in the options RocksDB opened with.
TEST_CASE("the journal opens RocksDB with its bytes-per-sync, strict, and 0 turns it off") {
  wfe::test::temp_dir dir;
  {
    auto j = rocksdb_journal::open({.dir = dir.path() / "on"});
    REQUIRE(j);
  }
  const auto on = wfe::test::rocksdb_options_file(dir.path() / "on");
  CHECK(wfe::test::rocksdb_option_is(on, "bytes_per_sync", "1048576"));
  CHECK(wfe::test::rocksdb_option_is(on, "strict_bytes_per_sync", "true"));
  {
    auto j = rocksdb_journal::open({.dir = dir.path() / "off", .bytes_per_sync = 0});
    REQUIRE(j);
  }
  const auto off = wfe::test::rocksdb_options_file(dir.path() / "off");
  CHECK(wfe::test::rocksdb_option_is(off, "bytes_per_sync", "0"));
  CHECK(wfe::test::rocksdb_option_is(off, "strict_bytes_per_sync", "false"));
}

namespace {

// The deployment guide backs a running node up with `tar` of the journal directory: the
// files are copied one at a time while RocksDB flushes. Here the worst order: the
// MANIFEST (with CURRENT, OPTIONS) first; then writes of other ids flush every column
// family, so the WAL holding the first id's acknowledged events becomes obsolete and is
// deleted; then the rest of the files. Returns how many of its 100 events the copy has.
std::uint64_t events_in_live_copy(const rocksdb_journal_config& base) {
  wfe::test::temp_dir dir;
  auto cfg = base;
  cfg.dir = dir.path() / "j";
  cfg.write_buffer_size_bytes = 64 * 1024;
  cfg.files.max_total_wal_size = 256 * 1024;
  const fs::path copy = dir.path() / "copy";
  fs::create_directories(copy);
  auto j = open_ok(cfg);
  write_one_by_one(*j, k_pid, 100);
  std::set<std::string> first_wals;  // hold the first id's events
  for (const auto& e : fs::directory_iterator(cfg.dir)) {
    if (e.path().extension() == ".log") first_wals.insert(e.path().filename().string());
  }
  std::set<std::string> copied;
  auto copy_files = [&](bool early) {
    for (const auto& e : fs::directory_iterator(cfg.dir)) {
      const auto name = e.path().filename().string();
      const bool is_early = name == "CURRENT" || name.starts_with("MANIFEST-") ||
                            name.starts_with("OPTIONS-") || name == "IDENTITY";
      if (!e.is_regular_file() || name == "LOCK" || is_early != early ||
          !copied.insert(name).second) {
        continue;
      }
      // As tar does, a file deleted between the listing and its copy is left out (RocksDB
      // goes on deleting obsolete WALs while the copy runs).
      std::error_code ec;
      fs::copy_file(e.path(), copy / name, ec);
      if (ec && fs::exists(e.path())) FAIL("copying " << name << ": " << ec.message());
    }
  };
  copy_files(true);
  std::vector<persistence_id> others;
  for (int i = 0; i < 2000; ++i) {
    others.push_back({shard_id{4}, "other-" + std::to_string(i)});
    auto e1 = journal_event(1);
    e1.payload += std::string(500, 'x');
    REQUIRE(j->write(others.back(), {e1, journal_event(2)}).has_value());
  }
  if (base.files.keep_deleted_for == std::chrono::milliseconds(0)) {
    // Deleted at once — once the background flush got there (a loaded machine lags):
    // wait (bounded) until those WALs are gone, so the copy misses them for sure.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    const auto any_left = [&] {
      return std::any_of(first_wals.begin(), first_wals.end(),
                         [&](const std::string& w) { return fs::exists(cfg.dir / w); });
    };
    while (any_left() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE_FALSE(any_left());
  }
  copy_files(false);
  j.reset();
  auto restored = open_ok(rocksdb_journal_config{.dir = copy});
  // Whatever of the other ids made it into the copy is whole: never a gap.
  for (const auto& pid : others) {
    auto highest = restored->highest_sequence_nr(pid);
    REQUIRE(highest.has_value());
    CHECK(*replay_all(*restored, pid) == *highest);
  }
  auto n = replay_all(*restored, k_pid);
  REQUIRE(n.has_value());
  return *n;
}

}  // namespace

TEST_CASE(
    "a file-by-file copy of a journal taken while it flushes keeps every acknowledged event") {
  CHECK(events_in_live_copy(rocksdb_journal_config{.dir = {}}) == 100);
  // Why the deleted files are kept: deleted at once, the WAL is missing from the copy,
  // and so are its events, silently (RocksDB replays the WALs it finds).
  CHECK(events_in_live_copy(rocksdb_journal_config{
            .dir = {}, .files = {.keep_deleted_for = std::chrono::milliseconds(0)}}) == 0);
}

namespace {

// The other side of the race: `tar` lists the directory and copies the WALs and table
// files; flushes and compactions then make table files the listing never had; the
// MANIFEST that `tar` copies last names them. `early`: ids written before the listing,
// `others`: after it.
void copy_listed_then_flushed(const fs::path& live, const fs::path& copy,
                              std::vector<persistence_id>& early,
                              std::vector<persistence_id>& others) {
  fs::create_directories(copy);
  auto j = open_ok(rocksdb_journal_config{.dir = live,
                                          .write_buffer_size_bytes = 64 * 1024,
                                          .files = {.max_total_wal_size = 256 * 1024}});
  for (int i = 0; i < 1000; ++i) {  // flushed and compacted before the listing
    early.push_back({shard_id{2}, "early-" + std::to_string(i)});
    auto e1 = journal_event(1);
    e1.payload += std::string(500, 'e');
    REQUIRE(j->write(early.back(), {e1, journal_event(2)}).has_value());
  }
  write_one_by_one(*j, k_pid, 100);
  for (const auto& e : fs::directory_iterator(live)) {
    const auto name = e.path().filename().string();
    if (name != "LOCK" && !wfe::test::is_manifest_or_current(name))
      fs::copy_file(e.path(), copy / name);
  }
  for (int i = 0; i < 2000; ++i) {
    others.push_back({shard_id{4}, "other-" + std::to_string(i)});
    auto e1 = journal_event(1);
    e1.payload += std::string(500, 'x');
    REQUIRE(j->write(others.back(), {e1, journal_event(2)}).has_value());
  }
  for (const auto& e : fs::directory_iterator(live)) {
    const auto name = e.path().filename().string();
    if (wfe::test::is_manifest_or_current(name)) fs::copy_file(e.path(), copy / name);
  }
}

}  // namespace

namespace {

// Small memtables and a small WAL bound (many flushes, few live WALs); deleted files go
// at once.
rocksdb_journal_config small_unkept_config(const fs::path& dir) {
  return {.dir = dir,
          .write_buffer_size_bytes = 64 * 1024,
          .files = {.keep_deleted_for = std::chrono::milliseconds(0),
                    .max_total_wal_size = 256 * 1024}};
}

}  // namespace

TEST_CASE(
    "a copy whose MANIFEST names table files made after tar listed the directory opens with "
    "every event acknowledged before") {
  wfe::test::temp_dir dir;
  const auto copy = dir.path() / "copy";
  std::vector<persistence_id> early;
  std::vector<persistence_id> others;
  copy_listed_then_flushed(dir.path() / "j", copy, early, others);
  // RocksDB alone refuses the copy, naming a table file it lacks.
  auto refused = rocksdb_journal::open(
      rocksdb_journal_config{.dir = copy, .files = {.roll_back_incomplete_copies = false}});
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message.find("No such file") != std::string::npos);

  auto restored = open_ok(rocksdb_journal_config{.dir = copy});
  CHECK(*replay_all(*restored, k_pid) == 100);
  for (const auto& pid : early) CHECK(*replay_all(*restored, pid) == 2);
  // Whatever of the later writes the copy has is whole.
  for (const auto& pid : others) {
    auto highest = restored->highest_sequence_nr(pid);
    REQUIRE(highest.has_value());
    CHECK(*replay_all(*restored, pid) == *highest);
  }
  // It writes on from there, and opens again as it is.
  write_one_by_one(*restored, {shard_id{5}, "after-restore"}, 3);
  restored.reset();
  restored = open_ok(rocksdb_journal_config{.dir = copy});
  CHECK(*replay_all(*restored, k_pid) == 100);
  CHECK(*replay_all(*restored, {shard_id{5}, "after-restore"}) == 3);
}

TEST_CASE("a journal missing a table file and the WALs behind it refuses to start, naming both") {
  wfe::test::temp_dir dir;
  auto cfg = small_unkept_config(dir.path() / "j");
  {
    auto j = open_ok(cfg);
    write_in_big_batches(*j, k_pid, 4000);
  }
  // The oldest table file: the WALs it was flushed from are long gone. (Losing the newest
  // one while its WALs are still here is no loss: the cut state replays them.)
  auto tables = files_with_extension(cfg.dir, ".sst");
  REQUIRE(tables.size() >= 2);
  std::sort(tables.begin(), tables.end());
  const auto lost = tables.front().filename().string();
  fs::remove(tables.front());
  auto j = rocksdb_journal::open(cfg);
  REQUIRE_FALSE(j.has_value());
  INFO(j.error().message);
  CHECK(j.error().message.find(lost) != std::string::npos);
  CHECK(j.error().message.find("not rolled back") != std::string::npos);
  CHECK(j.error().message.find(".log, which is not here") != std::string::npos);
  for (const auto& e : fs::directory_iterator(cfg.dir)) {
    CHECK_FALSE(e.path().filename().string().ends_with(".before-rollback"));
  }
}

TEST_CASE("max-total-wal-size bounds the WALs a journal keeps") {
  wfe::test::temp_dir dir;
  auto cfg = small_unkept_config(dir.path() / "j");
  auto wal_bytes = [&] {
    std::uint64_t n = 0;
    for (const auto& f : files_with_extension(cfg.dir, ".log")) n += fs::file_size(f);
    return n;
  };
  {
    auto j = open_ok(cfg);
    write_in_big_batches(*j, k_pid, 8000);  // ~4.5 MB
    CHECK(wal_bytes() < 1024 * 1024);
  }
  cfg.dir = dir.path() / "unbounded";
  cfg.files.max_total_wal_size = 64ULL << 20;
  auto j = open_ok(cfg);
  write_in_big_batches(*j, k_pid, 8000);
  CHECK(wal_bytes() > 4 * 1024 * 1024);  // the format key's family kept them all
}
