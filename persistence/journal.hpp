#pragma once
// The journal: the plugin seam every event store implements (memory, RocksDB, and
// later a replicated one). Every implementation must pass the conformance suite in
// tests/conformance/journal_spec.hpp (a port of Pekko's persistence TCK JournalSpec).
//
// Contract
// - Sequence numbers of an id start at 1 and are contiguous. A write must start at
//   highest_sequence_nr + 1 and continue without gaps, else errc::sequence_conflict
//   and nothing of that batch is written: this is how a second writer is rejected.
// - A batch for one id is atomic: after any failure, all or none of it is visible.
// - A successful write is durable when it returns (for stores that sync).
// - delete_to never lowers highest_sequence_nr; deleted events are never replayed.
// - purge is the one exception: it forgets an id entirely (its events and its highest
//   sequence nr, in one atomic write), so the id may be written again from 1. The
//   caller guarantees that no writer of the id is alive (a workflow shard purges only
//   an id it hosts no entity for, and holds its messages meanwhile).
// - Corruption is never skipped: replay fails with errc::corruption naming the
//   persistence id and sequence number.
// - Nothing throws; failures are values.
// Thread-safety: implementations are safe to call from several threads. Entities do
// not call a journal directly; they go through the journal actor (journal_actor.hpp),
// which serializes writes and batches them into one synced write (group commit).

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "persistence/errc.hpp"
#include "persistence/persistence_id.hpp"

namespace wfe::persistence {

inline constexpr std::uint64_t max_sequence_nr = std::numeric_limits<std::uint64_t>::max();

struct event {
  std::uint64_t sequence_nr = 0;
  std::string manifest;   // event type, chosen by the writer
  std::string payload;    // serialized event, opaque to the journal
  std::string writer_id;  // incarnation of the writing entity
  std::int64_t timestamp_ms = 0;

  bool operator==(const event&) const = default;

  template <class Inspector>
  friend auto inspect(Inspector& f, event& x) {
    return f(x.sequence_nr, x.manifest, x.payload, x.writer_id, x.timestamp_ms);
  }
};

// Events of one id to append atomically.
struct write_request {
  persistence_id pid;
  std::vector<event> events;
  // The store's own encoding of `events`, if journal::prepare made one (empty: none).
  std::string prepared = {};
  // The id's state as journal::prepare read it for a first write (sequence nr 1), off
  // the journal's thread: write_many takes it instead of reading again when it can tell
  // nothing changed the id since (`epoch`: the store's own marker). Unset: not read.
  struct prior_read {
    bool valid = false;
    std::uint64_t highest = 0;
    std::uint64_t deleted_to = 0;
    std::uint64_t epoch = 0;
  };
  prior_read prior = {};
};

// An id to forget (journal::purge) when its highest sequence nr is `if_highest`.
struct purge_request {
  persistence_id pid;
  std::uint64_t if_highest = 0;
};

using replay_callback = std::function<void(const event&)>;

class journal {
 public:
  virtual ~journal() = default;
  journal() = default;
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  // Appends `events` atomically; returns the new highest sequence number.
  [[nodiscard]] result<std::uint64_t> write(const persistence_id& pid, std::vector<event> events);

  // Appends every request in ONE atomic (and, where the store syncs, one synced) write:
  // the group commit of the journal actor. Each request is checked on its own: a
  // request that conflicts or is invalid gets its error and is left out, the others
  // are written. If the store write fails, every valid request gets that error and
  // nothing is written. Several requests for one id are applied in order.
  // Returns one result per request, in order: the id's new highest sequence number.
  [[nodiscard]] virtual std::vector<result<std::uint64_t>> write_many(
      std::vector<write_request> requests) = 0;

  // Work on a request done on the requester's thread before the request travels to the
  // journal actor, whose one thread every write waits on (bench/README.md "Thirty-eighth
  // pass"): the RocksDB journal encodes the events into `request.prepared`, which
  // write_many then stores as it is, and reads a first write's metadata into
  // `request.prior`, which write_many takes only if still current. Thread-safe (reads
  // only); the default does nothing. write_many takes prepared and unprepared requests
  // alike; a request must not change after it was prepared.
  virtual void prepare(write_request& request) const { (void)request; }

  // Calls `on_event` for events from..to (inclusive) that are not deleted, in order,
  // at most `max` of them. Returns how many were replayed.
  [[nodiscard]] virtual result<std::uint64_t> replay(const persistence_id& pid,
                                                     std::uint64_t from_sequence_nr,
                                                     std::uint64_t to_sequence_nr,
                                                     std::uint64_t max,
                                                     const replay_callback& on_event) = 0;

  // 0 for an id that never wrote. Never decreases, not even after delete_to.
  [[nodiscard]] virtual result<std::uint64_t> highest_sequence_nr(const persistence_id& pid) = 0;

  // Deletes events 1..min(to, highest). Deleting beyond highest is allowed.
  [[nodiscard]] virtual result<done> delete_to(const persistence_id& pid,
                                               std::uint64_t to_sequence_nr) = 0;

  // Forgets `pid` as if it never wrote: every event and its highest sequence nr go in
  // one atomic (and, where the store syncs, synced) write, and it is no longer listed.
  // Only when its highest sequence nr is `if_highest` (what the caller checked the id
  // against: the journal of a finished workflow): otherwise errc::sequence_conflict and
  // nothing is deleted. An id that never wrote (or was purged) with if_highest 0 is done.
  // Retention of finished workflows (engine/workflow/runtime) is its only user.
  [[nodiscard]] result<done> purge(const persistence_id& pid, std::uint64_t if_highest);

  // Purges every request in ONE atomic (and, where the store syncs, one synced) write:
  // the journal actor's group commit of purges. Each request is checked on its own, as
  // purge() checks it, against the state left by the requests before it (a second
  // purge of an id finds it purged); one that is refused gets its error and the others
  // go on. If the store write fails, every request that would have purged gets that
  // error and nothing is purged. Returns one result per request, in order.
  [[nodiscard]] virtual std::vector<result<done>> purge_many(
      std::vector<purge_request> requests) = 0;

  // Every id that ever wrote and was not purged (also those whose events are all
  // deleted), ordered by shard, then id.
  [[nodiscard]] virtual result<std::vector<persistence_id>> persistence_ids() = 0;

  // The ids of one shard, ordered by id.
  [[nodiscard]] virtual result<std::vector<persistence_id>> persistence_ids(shard_id shard) = 0;

  // Calls `visit(pid, highest sequence nr)` for every id that ever wrote, in
  // persistence_ids() order, without holding them all in memory; `visit` returns false
  // to stop early. The default walks persistence_ids() and asks highest_sequence_nr();
  // a store that can stream (rocksdb_journal) overrides it.
  using id_visitor = std::function<bool(const persistence_id& pid, std::uint64_t highest)>;
  [[nodiscard]] virtual result<done> for_each_persistence_id(const id_visitor& visit);

  // Periodic upkeep, called by the journal actor every housekeeping_interval: the
  // RocksDB journal deletes the files it kept for live copies whose time is over.
  virtual void housekeeping() {}
};

// Checks one request against the id's current highest sequence number; shared by
// implementations so they reject exactly the same things with the same messages.
[[nodiscard]] result<done> validate_write(const write_request& request,
                                          std::uint64_t current_highest);

// purge's refusal when the id's highest is not what the caller expected; shared for the
// same reason.
[[nodiscard]] result<done> purge_conflict(const persistence_id& pid, std::uint64_t highest,
                                          std::uint64_t if_highest);

}  // namespace wfe::persistence
