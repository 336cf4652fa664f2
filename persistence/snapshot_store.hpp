#pragma once
// The snapshot store: the latest states of entities, so recovery replays only the
// events after a snapshot. Its own RocksDB (never the journal's), keys like the
// journal's (shard | escaped id | terminator | sequence nr, big-endian) so a shard is
// one key range; values are proto/snapshot.proto envelopes with a CRC32C of the state.
//
// Contract
// - save() keeps at most keep_n_snapshots per id: the new one and the newest older
//   ones; older are deleted in the same atomic (and, with fsync, synced) write, and so
//   are newer ones (stale: see load_for_recovery).
// - load_latest() returns the newest snapshot with sequence nr <= max that decodes and
//   whose CRC matches. A damaged one is skipped with a warning naming the id and
//   sequence nr, counted (journal_snapshot_load_failures_total), and the next older
//   one is tried; none left is "no snapshot" (recovery then replays every event).
//   A snapshot never makes recovery fail: only I/O errors of the store itself are
//   returned, and entities treat those as "no snapshot" too.
// - Nothing throws; failures are values.
// Thread-safety: safe to call from several threads. Entities go through the
// snapshot store actor (snapshot_store_actor.hpp), which keeps this I/O off the
// shared scheduler.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/health.hpp"
#include "persistence/errc.hpp"
#include "persistence/persistence_id.hpp"
#include "persistence/store_files.hpp"

namespace rocksdb {
class DB;
class Env;
}  // namespace rocksdb

namespace wfe::persistence {

class journal_metrics;

struct snapshot {
  std::uint64_t sequence_nr = 0;  // last event folded into the state
  std::int64_t timestamp_ms = 0;
  std::string manifest;  // state type/version, chosen by the entity
  std::string payload;   // serialized state, opaque to the store
  // The fingerprint of the journal's event at sequence_nr (CRC32C of its payload) that
  // recovery checks before using the snapshot (eventsourced.hpp); unset: not checked.
  std::optional<std::uint32_t> event_crc = {};

  bool operator==(const snapshot&) const = default;
};

struct rocksdb_snapshot_store_config {
  std::filesystem::path dir;
  bool fsync = true;
  // Snapshots kept per id (>= 1). Two by default: if the newest is damaged, recovery
  // falls back to the one before instead of replaying everything.
  std::uint32_t keep_n_snapshots = 2;
  // internal::bound_writeback, as the journal's (journal.rocksdb.bytes-per-sync).
  std::uint64_t bytes_per_sync = 1ULL << 20;
  // As the journal's (rocksdb_journal_config::files).
  store_files_config files{};
  // Not owned; tests inject faults through it. nullptr = the default environment.
  rocksdb::Env* env = nullptr;
  // Told "snapshot-store" is down while RocksDB refuses to resume writing after a failed
  // write (internal::refuses_to_resume), up once it resumes; may be null.
  std::shared_ptr<core::health> health{};
};

class rocksdb_snapshot_store {
 public:
  // Opens (creating if missing). errc::locked when another process holds the dir.
  [[nodiscard]] static result<std::unique_ptr<rocksdb_snapshot_store>> open(
      const rocksdb_snapshot_store_config& cfg, std::shared_ptr<journal_metrics> metrics = nullptr);

  ~rocksdb_snapshot_store();
  rocksdb_snapshot_store(const rocksdb_snapshot_store&) = delete;
  rocksdb_snapshot_store& operator=(const rocksdb_snapshot_store&) = delete;

  // Saves `s` and trims the id to keep_n_snapshots. Returns the sequence nr of the
  // oldest snapshot still kept (events up to it may be deleted without losing the
  // fallback: see delete-events-on-snapshot in eventsourced.hpp).
  [[nodiscard]] result<std::uint64_t> save(const persistence_id& pid, const snapshot& s);

  // save() for every request in ONE synced write (the snapshot store actor's group
  // commit), but a second save of an id in the list goes into a write after the first.
  // One result per request, in order; a failed write fails the saves it held.
  struct save_request {
    persistence_id pid;
    snapshot s;
  };
  [[nodiscard]] std::vector<result<std::uint64_t>> save_many(
      const std::vector<save_request>& requests);

  // The newest intact snapshot with sequence nr <= max_sequence_nr (see contract).
  [[nodiscard]] result<std::optional<snapshot>> load_latest(const persistence_id& pid,
                                                            std::uint64_t max_sequence_nr);

  // For an entity's recovery, given its journal's highest sequence nr: the newest intact
  // snapshot <= journal_highest, after deleting (with a warning) every snapshot above it.
  // Those cannot belong to this journal — an entity snapshots only events that are
  // durable, and a journal's highest never falls — so they are left from a journal that
  // was replaced by an older one (the deployment guide restores the journal's tar alone).
  // Kept, they would be loaded once the journal's new events pass their sequence nrs.
  [[nodiscard]] result<std::optional<snapshot>> load_for_recovery(const persistence_id& pid,
                                                                  std::uint64_t journal_highest);

  // Sequence numbers of the stored snapshots of `pid`, ascending (damaged ones too).
  [[nodiscard]] result<std::vector<std::uint64_t>> list(const persistence_id& pid);

  // Deletes the snapshots of `pid` with sequence nr <= to_sequence_nr (no write at all
  // when there are none).
  [[nodiscard]] result<done> delete_to(const persistence_id& pid, std::uint64_t to_sequence_nr);

  // delete_to for every request in ONE (synced) write: the snapshot store actor's group
  // commit of deletes. A request whose snapshots cannot be listed gets that error; if the
  // write fails, every other request gets it. One result per request, in order.
  struct delete_request {
    persistence_id pid;
    std::uint64_t to_sequence_nr = 0;
  };
  [[nodiscard]] std::vector<result<done>> delete_many(const std::vector<delete_request>& requests);

  // Writes raw bytes as the value of (pid, seq): only for tests that damage snapshots.
  [[nodiscard]] result<done> put_raw_for_test(const persistence_id& pid, std::uint64_t seq,
                                              const std::string& bytes);

  // The open database, for online backups. Owned by the store; never write through it.
  [[nodiscard]] rocksdb::DB* db();
  // Bytes held by its memtables (bounded by write_buffer_size); thread-safe, for metrics.
  [[nodiscard]] std::uint64_t memtable_bytes();
  // Bytes of the files RocksDB deleted that are kept for live copies (keep-deleted-files-
  // for); thread-safe, for metrics.
  [[nodiscard]] std::uint64_t deleted_files_kept_bytes() const;
  // Deletes the kept files whose keep-deleted-files-for is over (the snapshot store
  // actor calls it every housekeeping_interval).
  void housekeeping();

  struct impl;

 private:
  explicit rocksdb_snapshot_store(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;
};

}  // namespace wfe::persistence
