#pragma once
// The journal on RocksDB. Keys: see internal/key_codec.hpp (shard | id | seq, so a
// shard is one key range); a write's events go under one key, its last event's seq
// (format 2; format 1 had a key per event, read the same way). Values: proto/journal.proto
// envelopes with a CRC32C of the payload, several in a pack (internal/rocksdb_support.hpp).
// Column families: "events" (event keys), "metadata" (per-id highest and deleted-to),
// "default" (the format version).
//
// Never silently wrong:
// - wal_recovery_mode is strict (never point-in-time, which drops acknowledged
//   writes after a flipped WAL byte): open fails with "Corruption" naming the WAL files;
// - optional VerifyChecksum() of every SST file at open (verify_on_start);
// - replay checks each envelope's CRC and sequence number and the continuity of the
//   id's sequence; any mismatch is errc::corruption naming the id and sequence number.
// Durability: with fsync (the default) a write returns only after the WAL is synced.
// After a failed write (e.g. disk full) RocksDB turns read-only; the next write calls
// Resume() first, so writes succeed again once space returns.

#include <cstdint>
#include <filesystem>
#include <memory>

#include "engine/core/health.hpp"
#include "persistence/journal.hpp"
#include "persistence/store_files.hpp"

namespace rocksdb {
class DB;
class Env;
}  // namespace rocksdb

namespace wfe::persistence {

class journal_metrics;

enum class wal_recovery {
  // A truncated last record (a write torn by a crash, never acknowledged) is dropped;
  // a bad checksum anywhere, including the last record, fails the open.
  tolerate_corrupted_tail_records,
  // Any WAL damage, even a torn unacknowledged tail after a crash, fails the open.
  absolute_consistency,
};

struct rocksdb_journal_config {
  std::filesystem::path dir;
  bool fsync = true;
  bool verify_on_start = false;
  wal_recovery wal_recovery_mode = wal_recovery::tolerate_corrupted_tail_records;
  // 0: RocksDB's default (64 MiB). Tests make it tiny to force flushes to SST files.
  std::uint64_t write_buffer_size_bytes = 0;
  // Ids whose metadata (highest sequence nr) stays cached between writes; emptied
  // when full (journal.rocksdb.metadata-cache-entries).
  std::size_t metadata_cache_entries = 100'000;
  // internal::bound_writeback (journal.rocksdb.bytes-per-sync); 0 = off.
  std::uint64_t bytes_per_sync = 1ULL << 20;
  // Deleted files kept for live copies (a `tar` of the directory) and the WAL bound.
  store_files_config files{};
  // All file I/O goes through this Env (not owned; must outlive the journal). Null:
  // the real file system. Tests inject faults (a full disk) through it.
  rocksdb::Env* env = nullptr;
  // Told "journal" is down while RocksDB refuses to resume writing after a failed write
  // (internal::refuses_to_resume), up once it resumes; may be null.
  std::shared_ptr<core::health> health{};
};

class rocksdb_journal final : public journal {
 public:
  // Opens (creating if missing) the journal at cfg.dir. Fails with errc::corruption
  // naming the damaged file/key, or errc::io_error (e.g. the directory is locked by
  // another process). `metrics` may be null.
  [[nodiscard]] static result<std::unique_ptr<rocksdb_journal>> open(
      const rocksdb_journal_config& cfg, std::shared_ptr<journal_metrics> metrics = nullptr);

  ~rocksdb_journal() override;

  // Encodes the events into request.prepared (the value write_many stores), and for a
  // first write (sequence nr 1) reads the id's metadata into request.prior, so the
  // journal's thread need not (a new workflow's write misses the cache).
  void prepare(write_request& request) const override;
  [[nodiscard]] std::vector<result<std::uint64_t>> write_many(
      std::vector<write_request> requests) override;
  [[nodiscard]] result<std::uint64_t> replay(const persistence_id& pid,
                                             std::uint64_t from_sequence_nr,
                                             std::uint64_t to_sequence_nr, std::uint64_t max,
                                             const replay_callback& on_event) override;
  [[nodiscard]] result<std::uint64_t> highest_sequence_nr(const persistence_id& pid) override;
  [[nodiscard]] result<done> delete_to(const persistence_id& pid,
                                       std::uint64_t to_sequence_nr) override;
  [[nodiscard]] std::vector<result<done>> purge_many(std::vector<purge_request> requests) override;
  [[nodiscard]] result<std::vector<persistence_id>> persistence_ids() override;
  [[nodiscard]] result<std::vector<persistence_id>> persistence_ids(shard_id shard) override;
  // One pass over the metadata family: no list in memory, no lookup per id.
  [[nodiscard]] result<done> for_each_persistence_id(const id_visitor& visit) override;

  // The open database, for online backups (backup.hpp: BackupEngine reads a live DB).
  // Owned by the journal; valid until it is destroyed. Never write through it.
  [[nodiscard]] rocksdb::DB* db();
  // Bytes held by its memtables (bounded by write_buffer_size); thread-safe, for metrics.
  [[nodiscard]] std::uint64_t memtable_bytes();
  // Bytes of the files RocksDB deleted that are kept for live copies (keep-deleted-files-
  // for); thread-safe, for metrics.
  [[nodiscard]] std::uint64_t deleted_files_kept_bytes() const;
  // Deletes the kept files whose keep-deleted-files-for is over.
  void housekeeping() override;

  struct impl;

 private:
  explicit rocksdb_journal(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;  // keeps RocksDB headers out of this header
};

}  // namespace wfe::persistence
