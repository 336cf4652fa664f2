#pragma once
// Validated persistence settings: where the journal and the snapshots live, how the
// journal syncs, checks and batches, and how often entities snapshot.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "persistence/eventsourced_config.hpp"
#include "persistence/journal_actor.hpp"
#include "persistence/rocksdb_journal.hpp"
#include "persistence/snapshot_store.hpp"
#include "persistence/snapshot_store_actor.hpp"

namespace wfe::core {
class settings_reader;
}

namespace wfe::persistence {

struct persistence_settings {
  std::filesystem::path journal_dir;
  std::filesystem::path snapshot_dir;
  std::uint32_t snapshot_every = 100;

  // Defaults below mirror conf/reference.conf (a test checks they agree).
  bool journal_fsync = true;
  bool journal_verify_on_start = false;
  wal_recovery journal_wal_recovery_mode = wal_recovery::tolerate_corrupted_tail_records;
  std::uint64_t journal_max_batch_events = 4096;
  std::uint64_t journal_max_batch_bytes = 4 * 1024 * 1024;
  std::chrono::milliseconds journal_request_timeout{10'000};
  std::chrono::milliseconds journal_background_linger{1};
  std::size_t journal_max_batch_purges = 256;
  std::size_t journal_metadata_cache_entries = 100'000;
  // journal.rocksdb.bytes-per-sync: for the journal, the snapshot store and (passed on
  // by the node) the workflow index, which share the node's disk.
  std::uint64_t journal_bytes_per_sync = 1ULL << 20;
  // journal.rocksdb.keep-deleted-files-for / -max-bytes and max-total-wal-size: for the
  // journal and the snapshot store.
  store_files_config journal_files;

  // Snapshots, recovery and entities.
  std::uint32_t keep_n_snapshots = 2;
  std::size_t snapshot_max_batch_writes = 256;
  std::uint64_t snapshot_max_batch_bytes = 4 * 1024 * 1024;
  bool delete_events_on_snapshot = false;
  std::uint64_t replay_batch_size = 1000;
  std::uint32_t max_concurrent_recoveries = 50;
  std::uint32_t stash_capacity = 1000;

  // Where `backup --to` / POST /api/v1/admin/backup write when no directory is given.
  std::filesystem::path backup_dir = "./data/backups";

  // pekko.persistence.journal.rocksdb.{dir,fsync,verify-on-start,wal-recovery-mode},
  // pekko.persistence.journal.{max-batch-events,max-batch-bytes,max-batch-purges,request-timeout},
  // pekko.persistence.snapshot-store.rocksdb.dir,
  // pekko.workflow.event-sourcing.{snapshot-every,stash-capacity},
  // pekko.persistence.snapshot-store.{keep-n-snapshots,delete-events-on-snapshot,
  //   max-batch-writes,max-batch-bytes},
  // pekko.persistence.recovery.{replay-batch-size,max-concurrent-recoveries}
  static persistence_settings read(core::settings_reader& r);

  // Creates both directories if missing; returns an error naming the directory.
  [[nodiscard]] std::string prepare_dirs() const;

  [[nodiscard]] rocksdb_journal_config journal_config() const;
  [[nodiscard]] journal_actor_config journal_actor() const;
  // The snapshot store syncs like the journal: with delete-events-on-snapshot a lost
  // unsynced snapshot would leave deleted events uncovered.
  [[nodiscard]] rocksdb_snapshot_store_config snapshot_store_config() const;
  [[nodiscard]] snapshot_store_actor_config snapshot_store_actor() const;
  [[nodiscard]] eventsourced_config eventsourced() const;
};

}  // namespace wfe::persistence
