#pragma once
// The journal conformance suite: a port of the cases of Pekko's persistence TCK
// `JournalSpec` (replay bounds and limits, deletes, highest sequence number never
// decreasing, atomic batches), plus what our journal seam adds: rejected conflicting
// writers, batches for many ids in one write, persistence id listing, and shards as
// isolated key ranges. Every journal implementation must pass all of it.
//
// Use from a doctest TEST_CASE, once per group, with a factory that returns a fresh,
// empty journal on every call (each SUBCASE runs with its own journal):
//
//   TEST_CASE("the memory journal passes the replay spec") {
//     wfe::test::journal_replay_spec(make_memory_journal);
//   }

#include <functional>
#include <memory>

#include "persistence/journal.hpp"

namespace wfe::test {

struct journal_under_test {
  std::shared_ptr<void> resources;  // e.g. a temp dir; outlives the journal
  std::unique_ptr<persistence::journal> journal;
};

using journal_factory = std::function<journal_under_test()>;

// Replay with from/to bounds, count limits, unknown ids, field round trip.
void journal_replay_spec(const journal_factory& make);
// delete_to: deleted events are not replayed, highest never decreases.
void journal_delete_spec(const journal_factory& make);
// purge: an id forgotten entirely (events and highest), only at the expected highest.
void journal_purge_spec(const journal_factory& make);
// Atomic batches, sequence conflicts (second writer), write_many across ids.
void journal_write_spec(const journal_factory& make);
// persistence_ids listing, per-id and per-shard isolation.
void journal_isolation_spec(const journal_factory& make);

}  // namespace wfe::test
