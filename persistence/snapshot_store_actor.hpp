#pragma once
// The snapshot store actor: a blocking (detached, own thread) actor in front of a
// rocksdb_snapshot_store, so snapshot I/O never runs on the shared scheduler, like
// the journal actor. Requests are served in mailbox order per id; saves waiting together
// share one synced write, and so do deletes (group commit, like the journal's).
//
// Lifetime: runs until it receives an exit message; whoever spawns it must send one
// at shutdown (the actor system waits for it).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include <caf/fwd.hpp>

#include "persistence/journal_actor.hpp"
#include "persistence/snapshot_store.hpp"

namespace wfe::persistence {

// pekko.persistence.snapshot-store.{max-batch-writes,max-batch-bytes}
struct snapshot_store_actor_config {
  // At most this many saves, or deletes, in one write...
  std::size_t max_batch = 256;
  // ...and saves of at most this many state bytes, unless one alone is larger.
  std::uint64_t max_batch_bytes = 4 * 1024 * 1024;
  // How often the store's housekeeping() runs (idle or not).
  std::chrono::milliseconds housekeeping_interval{std::chrono::seconds(10)};
};

[[nodiscard]] caf::actor spawn_snapshot_store_actor(caf::actor_system& sys,
                                                    std::shared_ptr<rocksdb_snapshot_store> store,
                                                    snapshot_store_actor_config cfg = {});

// -- asynchronous client: the handler runs in `self`'s context, exactly once; with
// errc::unavailable when the actor is gone or did not answer within `timeout`.

// Result: the sequence nr of the oldest snapshot still kept for the id.
void request_snapshot_save(caf::event_based_actor* self, const caf::actor& store_actor,
                           timeout_ms timeout, const persistence_id& pid, snapshot s,
                           const std::function<void(result<std::uint64_t>)>& on_done);

void request_snapshot_load(caf::event_based_actor* self, const caf::actor& store_actor,
                           timeout_ms timeout, const persistence_id& pid,
                           std::uint64_t max_sequence_nr,
                           const std::function<void(result<std::optional<snapshot>>)>& on_done);

// rocksdb_snapshot_store::load_for_recovery: the newest snapshot <= the journal's
// highest sequence nr; snapshots above it are stale and deleted.
void request_snapshot_for_recovery(
    caf::event_based_actor* self, const caf::actor& store_actor, timeout_ms timeout,
    const persistence_id& pid, std::uint64_t journal_highest,
    const std::function<void(result<std::optional<snapshot>>)>& on_done);

// rocksdb_snapshot_store::delete_to: the snapshots of `pid` up to to_sequence_nr
// (max_sequence_nr: all of them) go, in one (synced, with fsync) write.
void request_snapshot_delete(caf::event_based_actor* self, const caf::actor& store_actor,
                             timeout_ms timeout, const persistence_id& pid,
                             std::uint64_t to_sequence_nr,
                             const std::function<void(result<done>)>& on_done);

// -- blocking client, for tools and tests (never inside an actor) ---------------

[[nodiscard]] result<std::uint64_t> snapshot_save_blocking(caf::actor_system& sys,
                                                           const caf::actor& store_actor,
                                                           timeout_ms timeout,
                                                           const persistence_id& pid, snapshot s);

[[nodiscard]] result<std::optional<snapshot>> snapshot_load_blocking(caf::actor_system& sys,
                                                                     const caf::actor& store_actor,
                                                                     timeout_ms timeout,
                                                                     const persistence_id& pid,
                                                                     std::uint64_t max_sequence_nr);

// Answered once every save and delete sent before it is written (a barrier for tests).
[[nodiscard]] result<done> snapshot_delete_blocking(caf::actor_system& sys,
                                                    const caf::actor& store_actor,
                                                    timeout_ms timeout, const persistence_id& pid,
                                                    std::uint64_t to_sequence_nr);

}  // namespace wfe::persistence
