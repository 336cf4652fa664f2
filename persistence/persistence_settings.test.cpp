// The journal keys of conf/reference.conf parse into the settings with their
// documented defaults, and bad values are refused naming the key.
#include "persistence/persistence_settings.hpp"

#include <doctest/doctest.h>

#include "tests/support/load_settings.hpp"

using namespace wfe::persistence;

TEST_CASE("the journal keys of reference.conf give the struct's documented defaults") {
  auto [s, errors] = wfe::test::read_settings<persistence_settings>("");
  CHECK(errors.empty());
  const persistence_settings defaults;
  CHECK(s.journal_fsync == defaults.journal_fsync);
  CHECK(s.journal_verify_on_start == defaults.journal_verify_on_start);
  CHECK(s.journal_wal_recovery_mode == defaults.journal_wal_recovery_mode);
  CHECK(s.journal_max_batch_events == defaults.journal_max_batch_events);
  CHECK(s.journal_max_batch_bytes == defaults.journal_max_batch_bytes);
  CHECK(s.journal_request_timeout == defaults.journal_request_timeout);
  CHECK(s.journal_background_linger == defaults.journal_background_linger);
  CHECK(s.journal_max_batch_purges == defaults.journal_max_batch_purges);
  CHECK(journal_actor_config{}.max_batch_purges == defaults.journal_max_batch_purges);
  CHECK(s.snapshot_max_batch_writes == defaults.snapshot_max_batch_writes);
  CHECK(s.snapshot_max_batch_bytes == defaults.snapshot_max_batch_bytes);
  CHECK(snapshot_store_actor_config{}.max_batch == defaults.snapshot_max_batch_writes);
  CHECK(snapshot_store_actor_config{}.max_batch_bytes == defaults.snapshot_max_batch_bytes);
  CHECK(s.journal_metadata_cache_entries == defaults.journal_metadata_cache_entries);
  CHECK(s.journal_bytes_per_sync == defaults.journal_bytes_per_sync);
  CHECK(s.journal_bytes_per_sync == 1024 * 1024);
  CHECK(s.journal_files == defaults.journal_files);
  CHECK(s.journal_files.keep_deleted_for == std::chrono::minutes(15));
  CHECK(s.journal_files.keep_deleted_max_bytes == 1ULL << 30);
  CHECK(s.journal_files.max_total_wal_size == 128ULL << 20);
  CHECK(s.journal_files.roll_back_incomplete_copies);
}

TEST_CASE("journal keys are read into the journal and journal actor configs") {
  auto [s, errors] = wfe::test::read_settings<persistence_settings>(R"(
    pekko.persistence.journal {
      max-batch-events = 64
      max-batch-bytes = 1 MiB
      request-timeout = 3s
      background-linger = 0ms
      max-batch-purges = 9
      rocksdb {
        fsync = off, verify-on-start = on, wal-recovery-mode = "absolute-consistency"
        metadata-cache-entries = 7
        bytes-per-sync = 256KiB
        keep-deleted-files-for = 90s
        keep-deleted-files-max-bytes = 3MiB
        max-total-wal-size = 32MiB
        roll-back-incomplete-copies = off
      }
    }
  )");
  CHECK(errors.empty());
  const auto j = s.journal_config();
  CHECK_FALSE(j.fsync);
  CHECK(j.verify_on_start);
  CHECK(j.wal_recovery_mode == wal_recovery::absolute_consistency);
  CHECK(j.dir == s.journal_dir);
  CHECK(j.metadata_cache_entries == 7);
  CHECK(j.bytes_per_sync == 256 * 1024);
  CHECK(s.snapshot_store_config().bytes_per_sync == 256 * 1024);
  CHECK(j.files.keep_deleted_for == std::chrono::seconds(90));
  CHECK(j.files.keep_deleted_max_bytes == 3 * 1024 * 1024);
  CHECK(j.files.max_total_wal_size == 32 * 1024 * 1024);
  CHECK_FALSE(j.files.roll_back_incomplete_copies);
  CHECK(s.snapshot_store_config().files == j.files);
  CHECK(s.journal_actor().max_batch_events == 64);
  CHECK(s.journal_actor().max_batch_bytes == 1024 * 1024);
  CHECK(s.journal_request_timeout == std::chrono::seconds(3));
  CHECK(s.journal_actor().background_linger.count() == 0);
  CHECK(s.journal_actor().max_batch_purges == 9);
}

TEST_CASE("an unknown wal-recovery-mode and an empty batch bound are refused naming the key") {
  auto [s, errors] = wfe::test::read_settings<persistence_settings>(R"(
    pekko.persistence.journal.rocksdb.wal-recovery-mode = "point-in-time"
    pekko.persistence.journal.max-batch-events = 0
    pekko.persistence.journal.max-batch-purges = 0
    pekko.persistence.journal.rocksdb.max-total-wal-size = 1KiB
    pekko.persistence.journal.rocksdb.keep-deleted-files-for = -1s
  )");
  CHECK(errors.find("wal-recovery-mode") != std::string::npos);
  CHECK(errors.find("max-batch-events") != std::string::npos);
  CHECK(errors.find("max-batch-purges") != std::string::npos);
  CHECK(errors.find("max-total-wal-size") != std::string::npos);
  CHECK(errors.find("keep-deleted-files-for") != std::string::npos);
}

TEST_CASE("snapshot and recovery keys are read into the entity and snapshot store configs") {
  auto [s, errors] = wfe::test::read_settings<persistence_settings>(R"(
    pekko.persistence.snapshot-store { keep-n-snapshots = 3, delete-events-on-snapshot = on }
    pekko.persistence.snapshot-store { max-batch-writes = 5, max-batch-bytes = 64KiB }
    pekko.persistence.recovery { replay-batch-size = 250, max-concurrent-recoveries = 7 }
    pekko.workflow.event-sourcing { snapshot-every = 40, stash-capacity = 99 }
  )");
  CHECK(errors.empty());
  CHECK(s.snapshot_store_config().keep_n_snapshots == 3);
  CHECK(s.snapshot_store_config().dir == s.snapshot_dir);
  CHECK(s.max_concurrent_recoveries == 7);
  CHECK(s.snapshot_store_actor().max_batch == 5);
  CHECK(s.snapshot_store_actor().max_batch_bytes == 64 * 1024);
  const auto es = s.eventsourced();
  CHECK(es.replay_batch_size == 250);
  CHECK(es.snapshot_every == 40);
  CHECK(es.max_stash == 99);
  CHECK(es.delete_events_on_snapshot);
}

TEST_CASE("a keep-n-snapshots of 0 is refused naming the key") {
  auto [s, errors] = wfe::test::read_settings<persistence_settings>(
      "pekko.persistence.snapshot-store.keep-n-snapshots = 0\n");
  CHECK(errors.find("keep-n-snapshots") != std::string::npos);
}
