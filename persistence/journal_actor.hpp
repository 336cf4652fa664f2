#pragma once
// The journal actor: group commit in front of a journal. Entities never call a
// journal directly; they ask this actor, which
// - gathers every write request waiting in its mailbox into ONE journal write_many
//   (one atomic, synced RocksDB write), bounded by max_batch_events/max_batch_bytes,
// - replies to every requester only after that write returned, i.e. after the batch
//   is durable (an event is acknowledged only once it is synced),
// - gathers the purge requests waiting in its mailbox the same way, into one purge_many
//   (written just before the batch's writes),
// - serves replay / highest / delete requests in mailbox order: pending writes and purges
//   OF THE SAME ID are written first, so a request sees every change of its id sent before
//   it; those of other ids stay in the batch (a read never forces a sync),
// - lets a batch of BACKGROUND writes only (nobody waits on them to answer a client:
//   a task's completion, a timer) linger up to background_linger for a foreground write
//   to share its sync, so at low concurrency a workflow's progress does not put a sync
//   in front of the next client request (Kafka's linger.ms, for background writes only;
//   a foreground write, a read of the same id, a full batch or shutdown ends it early),
// - answers a write that waited in its mailbox longer than its requester's timeout
//   with errc::unavailable WITHOUT writing it (a definite "not written", never an
//   acknowledgement nobody waits for any more). Writes carry that deadline instead of a
//   CAF request timeout: CAF 0.17 puts every request timeout through its clock thread
//   (set + cancel, ~15 us of node CPU per workflow under load).
// It is a blocking actor on its own thread (CAF's blocking actors are detached), so
// RocksDB I/O and fsync never stall the shared scheduler.
//
// Lifetime: it runs until it receives an exit message; whoever spawns it must send
// one at shutdown (the actor system waits for it). Pending writes are written first.
//
// This header stays light (caf/fwd.hpp only); the message types are private to
// journal_actor.cpp and reached through the request_* functions below.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <caf/fwd.hpp>

#include "persistence/journal.hpp"

namespace wfe::persistence {

class journal_metrics;

struct journal_actor_config {
  // At most this many events, and this many payload bytes, in one write. A single
  // request larger than either bound is rejected with errc::invalid_argument.
  std::uint64_t max_batch_events = 4096;
  std::uint64_t max_batch_bytes = 4 * 1024 * 1024;
  // How long a batch holding only background writes waits for a foreground one; 0:
  // written at once, like any other.
  std::chrono::microseconds background_linger{1'000};
  // At most this many purges (journal::purge_many) in one write.
  std::size_t max_batch_purges = 256;
  // How often journal::housekeeping() runs (idle or not): kept files whose time is
  // over are deleted within this even when the store deletes nothing more.
  std::chrono::milliseconds housekeeping_interval{std::chrono::seconds(10)};
};

// Counters for tests and benchmarks (operators use journal_metrics).
struct journal_actor_stats {
  std::atomic<std::uint64_t> writes{0};    // journal write_many calls = syncs with fsync on
  std::atomic<std::uint64_t> requests{0};  // write requests answered
  std::atomic<std::uint64_t> events{0};    // events acknowledged as durable
  std::atomic<std::uint64_t> expired{0};   // write requests refused unwritten: past deadline
  std::atomic<std::uint64_t> purge_writes{0};  // journal purge_many calls
};

struct journal_actor_deps {
  std::shared_ptr<journal> store;              // required
  std::shared_ptr<journal_actor_stats> stats;  // optional
  std::shared_ptr<journal_metrics> metrics;    // optional
};

[[nodiscard]] caf::actor spawn_journal_actor(caf::actor_system& sys, journal_actor_deps deps,
                                             const journal_actor_config& cfg);

// A read-only companion on its own thread: answers replay and highest requests (the
// same request_replay / request_highest below) straight from `store`, so long reads
// such as a workflow's history never wait behind, or delay, a group-commit write. It
// sees every ACKNOWLEDGED write (an acknowledgement follows the journal write), not
// the writes still gathering in the journal actor's batch: entities recover through
// the journal actor itself. `store` must allow reads concurrent with writes
// (rocksdb_journal does; memory_journal does not). Stops on an exit message.
[[nodiscard]] caf::actor spawn_journal_reader(caf::actor_system& sys,
                                              std::shared_ptr<journal> store);

// -- asynchronous client, for event-based actors --------------------------------
// The handler runs in `self`'s context, exactly once: with the result, or with
// errc::unavailable when the journal actor is gone or did not answer within `timeout`.
// request_write is the exception to that timeout: the journal answers it, refusing it
// unwritten when it waited in the mailbox past `timeout`; a write already handed to the
// journal's store is waited for however long it blocks (its outcome is never in doubt).

using timeout_ms = std::chrono::milliseconds;

// `background`: no client waits on this write (see background_linger above). The
// handlers are taken by value: pass them as rvalues (they may own what they need later).
void request_write(caf::event_based_actor* self, const caf::actor& journal_actor,
                   timeout_ms timeout, write_request request,
                   std::function<void(result<std::uint64_t>)> on_done,
                   bool background = false);

void request_replay(caf::event_based_actor* self, const caf::actor& journal_actor,
                    timeout_ms timeout, const persistence_id& pid, std::uint64_t from_sequence_nr,
                    std::uint64_t to_sequence_nr, std::uint64_t max,
                    std::function<void(result<std::vector<event>>)> on_done);

void request_highest(caf::event_based_actor* self, const caf::actor& journal_actor,
                     timeout_ms timeout, const persistence_id& pid,
                     std::function<void(result<std::uint64_t>)> on_done);

void request_delete(caf::event_based_actor* self, const caf::actor& journal_actor,
                    timeout_ms timeout, const persistence_id& pid, std::uint64_t to_sequence_nr,
                    std::function<void(result<done>)> on_done);

// journal::purge: the id forgotten when its highest is `if_highest`. Pending writes of the
// id are written first (and then make the purge refuse: the highest moved). Purges that
// wait in the mailbox together share one journal write (purge_many, one sync), at most
// max_batch_purges of them.
void request_purge(caf::event_based_actor* self, const caf::actor& journal_actor,
                   timeout_ms timeout, const persistence_id& pid, std::uint64_t if_highest,
                   std::function<void(result<done>)> on_done);

// -- blocking client, for tools, tests and start-up code (never inside an actor) --

[[nodiscard]] result<std::uint64_t> write_blocking(caf::actor_system& sys,
                                                   const caf::actor& journal_actor,
                                                   timeout_ms timeout, write_request request);

[[nodiscard]] result<std::vector<event>> replay_blocking(
    caf::actor_system& sys, const caf::actor& journal_actor, timeout_ms timeout,
    const persistence_id& pid, std::uint64_t from_sequence_nr, std::uint64_t to_sequence_nr,
    std::uint64_t max);

[[nodiscard]] result<done> purge_blocking(caf::actor_system& sys, const caf::actor& journal_actor,
                                          timeout_ms timeout, const persistence_id& pid,
                                          std::uint64_t if_highest);

}  // namespace wfe::persistence
