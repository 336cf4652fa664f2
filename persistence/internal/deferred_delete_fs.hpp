#pragma once
// A RocksDB file system that keeps the files RocksDB deletes (write-ahead logs, table
// files, old MANIFEST and OPTIONS files) for a while before deleting them, for the
// journal and the snapshot store.
//
// Why: the deployment guide backs a running node up with `tar` of its data directory,
// which copies the files one at a time. When a flush makes a WAL obsolete and RocksDB
// deletes it after `tar` copied the MANIFEST but before it reached the WAL, the archive
// has neither the WAL nor the new table file (its MANIFEST does not name it): the
// events only that WAL held are lost, without any sign. With the deleted files kept
// longer than the copy takes, every file of the directory listing `tar` started from is
// still there when `tar` reaches it. (A table file *created* after that listing and named
// by the MANIFEST `tar` copies later is still missing: copy_rollback.hpp opens such a
// copy at the MANIFEST's last state whose files are all there, replaying the WALs kept
// here.)
//
// Kept files stay under their names; RocksDB never reuses a file number, and never
// replays a WAL older than its MANIFEST's log number, so the live store is unchanged by
// them. Kept files are deleted once older than `keep_for` (checked at each deletion
// RocksDB asks for and at release_expired(), which the store's actor calls every 10 s
// so that an idle store lets them go too), the oldest first as soon as they hold more
// than `max_bytes`, all at once on release_all() (a full disk). What is
// still kept at close stays on disk: the next open's scan deletes it again (through
// this file system, so it is kept for `keep_for` from then). Only files RocksDB names by a
// file number (never reused) are kept: `*.log`, `*.sst`, `*.ldb`, `*.blob`, `MANIFEST-n`,
// `OPTIONS-n`; anything else (IDENTITY, temp files) and files that cannot be sized are
// deleted at once.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

namespace wfe::persistence::internal {

struct deferred_delete_config {
  std::string store;                      // named in the warning, e.g. "journal /var/lib/x"
  std::chrono::milliseconds keep_for{0};  // 0: delete at once (the file system is unused)
  std::uint64_t max_bytes = 0;            // bytes kept at most
  // The clock (tests advance their own).
  std::function<std::chrono::steady_clock::time_point()> now = [] {
    return std::chrono::steady_clock::now();
  };
};

struct deferred_delete_stats {
  std::uint64_t files = 0;          // kept now
  std::uint64_t bytes = 0;          // kept now
  std::uint64_t deleted_early = 0;  // deleted before keep_for passed (max_bytes, release_all)
};

class deferred_delete_fs final : public rocksdb::FileSystemWrapper {
 public:
  deferred_delete_fs(std::shared_ptr<rocksdb::FileSystem> target, deferred_delete_config cfg);
  const char* Name() const override { return "wfe.deferred_delete_fs"; }

  rocksdb::IOStatus DeleteFile(const std::string& name, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;

  // Deletes every kept file now (called when a write failed for lack of space).
  void release_all();
  // Deletes the kept files whose time is over. Deletions RocksDB asks for do this too;
  // a store that deletes nothing more (an idle node) needs it called now and then.
  void release_expired();
  [[nodiscard]] deferred_delete_stats stats() const;

 private:
  struct kept {
    std::string name;
    std::uint64_t bytes;
    std::chrono::steady_clock::time_point until;
  };
  // Under mutex_: deletes what expired and, oldest first, what exceeds max_bytes.
  void reap(std::chrono::steady_clock::time_point now);
  void remove(const kept& k);

  deferred_delete_config cfg_;
  mutable std::mutex mutex_;
  std::deque<kept> kept_;  // oldest first (keep_for is the same for all)
  deferred_delete_stats stats_;
  std::chrono::steady_clock::time_point last_warning_{};
};

// The Env a store opens RocksDB with: the file system of `base` (the default one when
// null; tests pass one that injects faults) behind a deferred_delete_fs. Both must
// outlive the database.
struct deferred_delete_env {
  std::shared_ptr<deferred_delete_fs> fs;
  std::unique_ptr<rocksdb::Env> env;
};
[[nodiscard]] deferred_delete_env make_deferred_delete_env(rocksdb::Env* base,
                                                           deferred_delete_config cfg);

}  // namespace wfe::persistence::internal
