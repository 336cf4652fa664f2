#pragma once
// Backup and restore of the journal and the snapshot store, with RocksDB's
// BackupEngine: incremental (SST files are shared between backups), consistent per
// store, checksummed. Used by `workflow-engine backup|restore` and by
// POST /api/v1/admin/backup.
//
// Layout of a backup directory:
//   <backup_dir>/snapshots/   BackupEngine of the snapshot store
//   <backup_dir>/journal/     BackupEngine of the journal
//   <backup_dir>/backups.txt  one line per backup: "<id> <snapshots id> <journal id> <unix s>"
// The pair is what a restore takes: a journal backup and the snapshot backup taken
// just before it (ids of the two engines may differ, e.g. after a failed attempt).
//
// Consistency between the two stores: the snapshot store is backed up FIRST. An
// entity saves a snapshot only after every event it covers was acknowledged by the
// journal, so every snapshot in the snapshot backup covers events that were already
// durable when the journal backup started afterwards: the restored journal contains
// every event a restored snapshot refers to. The other order could restore a snapshot
// ahead of its journal, and the entity would refuse to recover (or, worse, reuse
// sequence numbers).
//
// Nothing throws; failures are values naming the directory.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "persistence/errc.hpp"

namespace rocksdb {
class DB;
}

namespace wfe::persistence {

class rocksdb_journal;
class rocksdb_snapshot_store;

struct backup_info {
  std::uint32_t id = 0;  // the pair's id (what restore takes)
  std::uint32_t journal_backup_id = 0;
  std::uint32_t snapshots_backup_id = 0;
  std::int64_t timestamp_s = 0;          // when the backup finished (Unix time)
  std::uint64_t journal_size_bytes = 0;  // files of this backup, shared ones included
  std::uint64_t snapshots_size_bytes = 0;
  std::uint32_t journal_files = 0;
  std::uint32_t snapshots_files = 0;
};

// Online backup of stores this process has open (the running node). Safe while
// entities write: BackupEngine copies a consistent point of each live DB.
[[nodiscard]] result<backup_info> create_backup(rocksdb_journal& journal,
                                                rocksdb_snapshot_store& snapshots,
                                                const std::filesystem::path& backup_dir);

// Same on raw DB handles (both must stay open during the call).
[[nodiscard]] result<backup_info> create_backup(rocksdb::DB& journal_db, rocksdb::DB& snapshots_db,
                                                const std::filesystem::path& backup_dir);

// Offline backup: opens both directories itself. errc::locked when a running node
// holds them: ask that node instead (POST /api/v1/admin/backup).
[[nodiscard]] result<backup_info> create_backup_from_dirs(const std::filesystem::path& journal_dir,
                                                          const std::filesystem::path& snapshot_dir,
                                                          const std::filesystem::path& backup_dir);

// Every backup pair in `backup_dir`, oldest first.
[[nodiscard]] result<std::vector<backup_info>> list_backups(
    const std::filesystem::path& backup_dir);

struct restore_request {
  std::filesystem::path backup_dir;
  std::optional<std::uint32_t> backup_id;  // nullopt: the latest
  std::filesystem::path journal_dir;
  std::filesystem::path snapshot_dir;
  // Replace non-empty target directories (else errc::not_empty). Never replaces a
  // directory a running process holds open (errc::locked).
  bool force = false;
};

// Verifies both backups of the pair (checksums of every file) and restores them into
// the target directories. Restores into "<dir>.restoring" first and swaps it in, so a
// failed restore never leaves a half-written store under the configured name.
[[nodiscard]] result<backup_info> restore_backup(const restore_request& request);

// The deployment guide archives a store with `tar -czf x.tar.gz /var/lib/pekko/journal/`
// (tar drops the leading '/') and restores it with `tar -xzf x.tar.gz -C /var/lib/pekko/`,
// which puts it at /var/lib/pekko/var/lib/pekko/journal: the node would start on the
// journal it had, as if nothing were restored. So before a store opens, a copy found at
// that place (`dir`'s parent joined with `dir`'s absolute path) is moved into `dir`:
// - when `dir` is missing or empty;
// - when it was extracted after `dir` was last written (every file of the copy changed
//   after the newest file of `dir`): the node was stopped, then the copy extracted, as
//   the guide does. `dir` is kept beside it as `<dir>.before-restore-<UTC time>`.
// A copy extracted before `dir` was last written (while the node ran, say) is not used:
// errc::not_empty naming both and the commands that choose; so is a `dir` that is a
// symbolic link or a mount point (it cannot be moved aside). errc::locked when a running
// process holds `dir`. Returns what was done, or nullopt when there is no such copy (no
// CURRENT file there).
[[nodiscard]] result<std::optional<std::string>> adopt_extracted_copy(
    const std::filesystem::path& dir);

}  // namespace wfe::persistence
