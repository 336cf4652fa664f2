#pragma once
// What the journal and the snapshot store do with RocksDB's files: how long deleted files
// are kept for live copies (internal/deferred_delete_fs.hpp) and how many WAL bytes are
// kept before the families holding the oldest WAL are flushed, and whether a copy whose
// MANIFEST names table files it lacks is rolled back to its last complete state. Read from the
// journal.rocksdb.* keys of the same names, for both stores (persistence/README.md).

#include <chrono>
#include <cstdint>

namespace wfe::persistence {

struct store_files_config {
  // keep-deleted-files-for; 0 = files are deleted at once.
  std::chrono::milliseconds keep_deleted_for{std::chrono::minutes(15)};
  // keep-deleted-files-max-bytes: beyond it the oldest kept files go at once.
  std::uint64_t keep_deleted_max_bytes = 1ULL << 30;
  // max-total-wal-size (RocksDB's max_total_wal_size).
  std::uint64_t max_total_wal_size = 128ULL << 20;
  // roll-back-incomplete-copies: a store that fails to open because its MANIFEST names
  // table files it lacks is cut back to its last complete state when that provably
  // loses nothing (internal/copy_rollback.hpp).
  bool roll_back_incomplete_copies = true;
  bool operator==(const store_files_config&) const = default;
};

}  // namespace wfe::persistence
