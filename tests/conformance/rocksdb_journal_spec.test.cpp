// The conformance suite against the RocksDB journal: a real RocksDB in a fresh
// temporary directory for every case, fsync on as in production.
#include <doctest/doctest.h>

#include "persistence/rocksdb_journal.hpp"
#include "tests/conformance/journal_spec.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace wfe::persistence;

wfe::test::journal_under_test make_rocksdb_journal() {
  auto dir = std::make_shared<wfe::test::temp_dir>();
  rocksdb_journal_config cfg;
  cfg.dir = dir->path() / "journal";
  auto opened = rocksdb_journal::open(cfg);
  REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().describe()));
  return {dir, std::move(opened).value()};
}

}  // namespace

TEST_CASE("the RocksDB journal passes the replay spec") {
  wfe::test::journal_replay_spec(make_rocksdb_journal);
}
TEST_CASE("the RocksDB journal passes the delete spec") {
  wfe::test::journal_delete_spec(make_rocksdb_journal);
}
TEST_CASE("the RocksDB journal passes the write spec") {
  wfe::test::journal_write_spec(make_rocksdb_journal);
}
TEST_CASE("the RocksDB journal passes the isolation spec") {
  wfe::test::journal_isolation_spec(make_rocksdb_journal);
}
TEST_CASE("the RocksDB journal passes the purge spec") {
  wfe::test::journal_purge_spec(make_rocksdb_journal);
}
