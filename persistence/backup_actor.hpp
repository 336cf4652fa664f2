#pragma once
// The backup actor: runs online backups of the node's open journal and snapshot store
// on its own thread (CAF `detached`), so the copy never blocks the scheduler or an
// HTTP thread. One backup at a time: requests queue in its mailbox.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>

#include <caf/fwd.hpp>

#include "persistence/backup.hpp"

namespace wfe::persistence {

struct backup_actor_deps {
  std::shared_ptr<rocksdb_journal> journal;           // open for the node's lifetime
  std::shared_ptr<rocksdb_snapshot_store> snapshots;  // idem
  std::filesystem::path default_dir;                  // pekko.persistence.backup.dir
};

[[nodiscard]] caf::actor spawn_backup_actor(caf::actor_system& sys, backup_actor_deps deps);

// Asks for a backup into `dir` (empty: the default dir). The handler runs in `self`'s
// context exactly once: with the backup, or an error (errc::unavailable on timeout).
void request_backup(caf::event_based_actor* self, const caf::actor& backup_actor,
                    std::chrono::milliseconds timeout, std::filesystem::path dir,
                    const std::function<void(result<backup_info>)>& on_done);

}  // namespace wfe::persistence
