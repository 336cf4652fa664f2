#pragma once
// Validated persistence settings: where the journal and the snapshots live, how the
// journal syncs, checks and batches, and how often entities snapshot.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "persistence/journal_actor.hpp"
#include "persistence/rocksdb_journal.hpp"

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

  // pekko.persistence.journal.rocksdb.{dir,fsync,verify-on-start,wal-recovery-mode},
  // pekko.persistence.journal.{max-batch-events,max-batch-bytes,request-timeout},
  // pekko.persistence.snapshot-store.rocksdb.dir,
  // pekko.workflow.event-sourcing.snapshot-every
  static persistence_settings read(core::settings_reader& r);

  // Creates both directories if missing; returns an error naming the directory.
  [[nodiscard]] std::string prepare_dirs() const;

  [[nodiscard]] rocksdb_journal_config journal_config() const;
  [[nodiscard]] journal_actor_config journal_actor() const;
};

}  // namespace wfe::persistence
