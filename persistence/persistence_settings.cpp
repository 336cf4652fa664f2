#include "persistence/persistence_settings.hpp"

#include <system_error>

#include "engine/core/settings_reader.hpp"

namespace wfe::persistence {
namespace {

constexpr std::string_view k_tolerate_tail = "tolerate-corrupted-tail-records";
constexpr std::string_view k_absolute = "absolute-consistency";

void read_journal(core::settings_reader& r, persistence_settings& s) {
  constexpr std::string_view k_fsync = "pekko.persistence.journal.rocksdb.fsync";
  constexpr std::string_view k_verify = "pekko.persistence.journal.rocksdb.verify-on-start";
  constexpr std::string_view k_wal = "pekko.persistence.journal.rocksdb.wal-recovery-mode";
  constexpr std::string_view k_events = "pekko.persistence.journal.max-batch-events";
  constexpr std::string_view k_bytes = "pekko.persistence.journal.max-batch-bytes";
  constexpr std::string_view k_timeout = "pekko.persistence.journal.request-timeout";
  s.journal_fsync = r.boolean(k_fsync);
  s.journal_verify_on_start = r.boolean(k_verify);
  s.journal_wal_recovery_mode = r.one_of(k_wal, {k_tolerate_tail, k_absolute}) == k_absolute
                                    ? wal_recovery::absolute_consistency
                                    : wal_recovery::tolerate_corrupted_tail_records;
  s.journal_max_batch_events = static_cast<std::uint64_t>(r.integer(k_events, 1, 1'000'000));
  s.journal_max_batch_bytes = r.bytes(k_bytes, 1024, 1ULL << 30);
  s.journal_request_timeout =
      r.duration(k_timeout, std::chrono::milliseconds(1), std::chrono::hours(1));
  s.journal_metadata_cache_entries = static_cast<std::size_t>(
      r.integer("pekko.persistence.journal.rocksdb.metadata-cache-entries", 1, 100'000'000));
  s.journal_bytes_per_sync =
      r.bytes("pekko.persistence.journal.rocksdb.bytes-per-sync", 0, 1ULL << 30);
  s.journal_files.keep_deleted_for =
      r.duration("pekko.persistence.journal.rocksdb.keep-deleted-files-for",
                 std::chrono::milliseconds(0), std::chrono::hours(24 * 7));
  s.journal_files.keep_deleted_max_bytes =
      r.bytes("pekko.persistence.journal.rocksdb.keep-deleted-files-max-bytes", 0, 1ULL << 50);
  s.journal_files.max_total_wal_size =
      r.bytes("pekko.persistence.journal.rocksdb.max-total-wal-size", 1ULL << 20, 1ULL << 40);
  s.journal_files.roll_back_incomplete_copies =
      r.boolean("pekko.persistence.journal.rocksdb.roll-back-incomplete-copies");
  s.journal_background_linger = r.duration("pekko.persistence.journal.background-linger",
                                           std::chrono::milliseconds(0), std::chrono::seconds(1));
  s.journal_max_batch_purges =
      static_cast<std::size_t>(r.integer("pekko.persistence.journal.max-batch-purges", 1, 100'000));
}

void read_snapshots_and_recovery(core::settings_reader& r, persistence_settings& s) {
  s.keep_n_snapshots = static_cast<std::uint32_t>(
      r.integer("pekko.persistence.snapshot-store.keep-n-snapshots", 1, 100));
  s.delete_events_on_snapshot =
      r.boolean("pekko.persistence.snapshot-store.delete-events-on-snapshot");
  s.snapshot_max_batch_writes = static_cast<std::size_t>(
      r.integer("pekko.persistence.snapshot-store.max-batch-writes", 1, 100'000));
  s.snapshot_max_batch_bytes =
      r.bytes("pekko.persistence.snapshot-store.max-batch-bytes", 1024, 1ULL << 30);
  s.replay_batch_size = static_cast<std::uint64_t>(
      r.integer("pekko.persistence.recovery.replay-batch-size", 1, 1'000'000));
  s.max_concurrent_recoveries = static_cast<std::uint32_t>(
      r.integer("pekko.persistence.recovery.max-concurrent-recoveries", 1, 100'000));
  s.stash_capacity = static_cast<std::uint32_t>(
      r.integer("pekko.workflow.event-sourcing.stash-capacity", 1, 10'000'000));
  s.backup_dir = r.non_empty_string("pekko.persistence.backup.dir");
}

}  // namespace

persistence_settings persistence_settings::read(core::settings_reader& r) {
  persistence_settings s;
  constexpr std::string_view k_journal = "pekko.persistence.journal.rocksdb.dir";
  constexpr std::string_view k_snapshots = "pekko.persistence.snapshot-store.rocksdb.dir";
  s.journal_dir = r.non_empty_string(k_journal);
  s.snapshot_dir = r.non_empty_string(k_snapshots);
  if (r.ok() && std::filesystem::weakly_canonical(s.journal_dir) ==
                    std::filesystem::weakly_canonical(s.snapshot_dir)) {
    r.fail(k_snapshots, "must differ from " + std::string(k_journal) +
                            " (the snapshot store is its own RocksDB)");
  }
  s.snapshot_every = static_cast<std::uint32_t>(
      r.integer("pekko.workflow.event-sourcing.snapshot-every", 1, 1'000'000));
  read_journal(r, s);
  read_snapshots_and_recovery(r, s);
  return s;
}

std::string persistence_settings::prepare_dirs() const {
  for (const auto& dir : {journal_dir, snapshot_dir}) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return "cannot create data directory " + dir.string() + ": " + ec.message();
  }
  return {};
}

rocksdb_journal_config persistence_settings::journal_config() const {
  return rocksdb_journal_config{.dir = journal_dir,
                                .fsync = journal_fsync,
                                .verify_on_start = journal_verify_on_start,
                                .wal_recovery_mode = journal_wal_recovery_mode,
                                .metadata_cache_entries = journal_metadata_cache_entries,
                                .bytes_per_sync = journal_bytes_per_sync,
                                .files = journal_files};
}

journal_actor_config persistence_settings::journal_actor() const {
  return journal_actor_config{.max_batch_events = journal_max_batch_events,
                              .max_batch_bytes = journal_max_batch_bytes,
                              .background_linger = journal_background_linger,
                              .max_batch_purges = journal_max_batch_purges};
}

}  // namespace wfe::persistence

namespace wfe::persistence {

rocksdb_snapshot_store_config persistence_settings::snapshot_store_config() const {
  return rocksdb_snapshot_store_config{.dir = snapshot_dir,
                                       .fsync = journal_fsync,
                                       .keep_n_snapshots = keep_n_snapshots,
                                       .bytes_per_sync = journal_bytes_per_sync,
                                       .files = journal_files};
}

snapshot_store_actor_config persistence_settings::snapshot_store_actor() const {
  return snapshot_store_actor_config{.max_batch = snapshot_max_batch_writes,
                                     .max_batch_bytes = snapshot_max_batch_bytes};
}

eventsourced_config persistence_settings::eventsourced() const {
  return eventsourced_config{.request_timeout = journal_request_timeout,
                             .replay_batch_size = replay_batch_size,
                             .snapshot_every = snapshot_every,
                             .max_stash = stash_capacity,
                             .delete_events_on_snapshot = delete_events_on_snapshot};
}

}  // namespace wfe::persistence
