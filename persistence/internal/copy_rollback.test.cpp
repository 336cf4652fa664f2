#include "persistence/internal/copy_rollback.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <rocksdb/db.h>

#include "tests/support/rocksdb_files.hpp"
#include "tests/support/temp_dir.hpp"

using namespace wfe::persistence::internal;
namespace fs = std::filesystem;

namespace {

// A RocksDB with two families: "a" gets one key and is flushed only when the test says,
// so every WAL since that key stays needed; "b" is written and flushed in rounds, each
// flush starting a new WAL. Auto compaction off: the files are the test's.
struct store {
  explicit store(const fs::path& dir) {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.create_missing_column_families = true;
    o.disable_auto_compactions = true;
    o.write_buffer_size = 64 << 20;
    o.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
    options = o;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs{
        {rocksdb::kDefaultColumnFamilyName, o}, {"a", o}, {"b", o}};
    rocksdb::DB* raw = nullptr;
    status = rocksdb::DB::Open(o, dir.string(), cfs, &handles, &raw);
    db.reset(raw);
  }
  ~store() {
    for (auto* h : handles) (void)db->DestroyColumnFamilyHandle(h);
  }
  void put(int cf, const std::string& k, const std::string& v) {
    REQUIRE(db->Put(rocksdb::WriteOptions{}, handles[cf], k, v).ok());
  }
  void flush(int cf) { REQUIRE(db->Flush(rocksdb::FlushOptions{}, handles[cf]).ok()); }
  std::string get(int cf, const std::string& k) {
    std::string v;
    auto s = db->Get(rocksdb::ReadOptions{}, handles[cf], k, &v);
    return s.ok() ? v : "<" + s.ToString() + ">";
  }
  rocksdb::Options options;
  rocksdb::Status status;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::unique_ptr<rocksdb::DB> db;
};

std::vector<std::string> names_with(const fs::path& dir, std::string_view ext) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ext) out.insert(e.path().filename().string());
  }
  return {out.begin(), out.end()};
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The live-copy race: files copied as `tar` listed them (WALs, table files), then "a" and
// "b" flushed (new table files the listing never had), then the MANIFEST and CURRENT
// copied. Before the listing: 5 rounds of "b" (5 WALs, 5 table files) and a's one key.
struct raced_copy {
  wfe::test::temp_dir tmp;
  fs::path live = tmp.path() / "live";
  fs::path copy = tmp.path() / "copy";
  raced_copy() {
    fs::create_directories(copy);
    store s(live);
    REQUIRE(s.status.ok());
    s.put(1, "a-key", "a-value");
    for (int round = 0; round < 5; ++round) {
      for (int i = 0; i < 20; ++i) s.put(2, "b" + std::to_string(round * 20 + i), "v");
      s.flush(2);
    }
    for (int i = 100; i < 120; ++i) s.put(2, "b" + std::to_string(i), "v");  // not flushed
    for (const auto& e : fs::directory_iterator(live)) {
      const auto name = e.path().filename().string();
      if (name == "LOCK" || wfe::test::is_manifest_or_current(name)) continue;
      fs::copy_file(e.path(), copy / name);
    }
    s.put(2, "late", "after the listing");
    s.flush(1);
    s.flush(2);
    for (const auto& e : fs::directory_iterator(live)) {
      const auto name = e.path().filename().string();
      if (wfe::test::is_manifest_or_current(name)) fs::copy_file(e.path(), copy / name);
    }
  }
};

}  // namespace

TEST_CASE(
    "a copy whose MANIFEST names table files made after the listing opens at its last "
    "complete state with every write the listing held") {
  raced_copy c;
  {
    store refused(c.copy);
    REQUIRE_FALSE(refused.status.ok());  // what RocksDB does alone
  }
  auto r = roll_back_incomplete_copy(c.copy);
  INFO(r.report);
  REQUIRE(r.result == copy_rollback::outcome::rolled_back);
  CHECK(r.report.find(".sst") != std::string::npos);  // names the missing files
  bool kept_original = false;
  for (const auto& e : fs::directory_iterator(c.copy)) {
    kept_original |= e.path().filename().string().ends_with(".before-rollback");
  }
  CHECK(kept_original);
  store opened(c.copy);
  REQUIRE_MESSAGE(opened.status.ok(), opened.status.ToString());
  CHECK(opened.get(1, "a-key") == "a-value");  // from the WAL the cut state needs
  for (int i = 0; i < 120; ++i) CHECK(opened.get(2, "b" + std::to_string(i)) == "v");
}

TEST_CASE("a copy missing a WAL between two others is not rolled back, and not changed") {
  raced_copy c;
  auto wals = names_with(c.copy, ".log");
  REQUIRE(wals.size() >= 3);
  fs::remove(c.copy / wals[2]);
  const auto manifest_before = read_bytes(c.copy / "CURRENT");
  std::string manifest_name = manifest_before.substr(0, manifest_before.find('\n'));
  const auto bytes_before = read_bytes(c.copy / manifest_name);
  auto r = roll_back_incomplete_copy(c.copy);
  INFO(r.report);
  CHECK(r.result == copy_rollback::outcome::refused);
  CHECK(r.report.find("in no file") != std::string::npos);
  CHECK(read_bytes(c.copy / manifest_name) == bytes_before);
  store still_refused(c.copy);
  CHECK_FALSE(still_refused.status.ok());
}

TEST_CASE("a copy without the WAL its last complete state needs is not rolled back") {
  raced_copy c;
  auto wals = names_with(c.copy, ".log");
  REQUIRE_FALSE(wals.empty());
  fs::remove(c.copy / wals.front());  // a's key lives only there
  auto r = roll_back_incomplete_copy(c.copy);
  INFO(r.report);
  CHECK(r.result == copy_rollback::outcome::refused);
  CHECK(r.report.find(wals.front()) != std::string::npos);
  store still_refused(c.copy);
  CHECK_FALSE(still_refused.status.ok());
}

TEST_CASE("a store with every table file it names is left alone") {
  wfe::test::temp_dir tmp;
  {
    store s(tmp.path());
    REQUIRE(s.status.ok());
    s.put(2, "k", "v");
    s.flush(2);
  }
  const auto before = names_with(tmp.path(), ".sst");
  auto r = roll_back_incomplete_copy(tmp.path());
  CHECK(r.result == copy_rollback::outcome::nothing_missing);
  CHECK(names_with(tmp.path(), ".sst") == before);
  store s(tmp.path());
  CHECK(s.get(2, "k") == "v");
}

TEST_CASE("a damaged MANIFEST or WAL is never a crash: the copy is rolled back or refused") {
  raced_copy c;
  const auto current = read_bytes(c.copy / "CURRENT");
  const auto manifest_name = current.substr(0, current.find('\n'));
  const auto manifest = read_bytes(c.copy / manifest_name);
  const auto wals = names_with(c.copy, ".log");
  REQUIRE_FALSE(wals.empty());
  const auto wal = read_bytes(c.copy / wals.back());
  // Each case: a fresh copy of the raced copy with one file cut short or one byte flipped.
  auto run = [&](const std::string& file, const std::string& bytes) {
    wfe::test::temp_dir scratch;
    for (const auto& e : fs::directory_iterator(c.copy)) {
      fs::copy_file(e.path(), scratch.path() / e.path().filename());
    }
    std::ofstream(scratch.path() / file, std::ios::binary | std::ios::trunc) << bytes;
    auto r = roll_back_incomplete_copy(scratch.path());
    const bool explained = r.result == copy_rollback::outcome::nothing_missing || !r.report.empty();
    CHECK(explained);
    if (r.result == copy_rollback::outcome::rolled_back) {
      store opened(scratch.path());
      CHECK_MESSAGE(opened.status.ok(), r.report);
    }
  };
  {  // damage in the middle: the edits after it are unknown, so no cut can be checked
    wfe::test::temp_dir scratch;
    for (const auto& e : fs::directory_iterator(c.copy)) {
      fs::copy_file(e.path(), scratch.path() / e.path().filename());
    }
    auto flipped = manifest;
    flipped[manifest.size() / 2] = static_cast<char>(flipped[manifest.size() / 2] ^ 0x5A);
    std::ofstream(scratch.path() / manifest_name, std::ios::binary | std::ios::trunc) << flipped;
    auto r = roll_back_incomplete_copy(scratch.path());
    CHECK(r.result == copy_rollback::outcome::refused);
    CHECK(read_bytes(scratch.path() / manifest_name) == flipped);
  }
  for (std::size_t cut = 0; cut < manifest.size(); cut += 37) {
    run(manifest_name, manifest.substr(0, cut));
    auto flipped = manifest;
    flipped[cut] = static_cast<char>(flipped[cut] ^ 0x5A);
    run(manifest_name, flipped);
  }
  for (std::size_t cut = 0; cut < wal.size(); cut += std::max<std::size_t>(1, wal.size() / 40)) {
    run(wals.back(), wal.substr(0, cut));
  }
}
