#pragma once
// Start-up repair: workflows journaled under a shard their id does not hash to are moved
// to their own shard, so that the entity (which reads {shard_of(id), id}) finds them.
//
// Why it exists: until 9867fb9 a start that went through the workflow gateway — one
// with a pinned "version", or one of the first starts of a definition after a restart,
// before the HTTP threads knew its latest version — was sent to shard_of("") (shard 37
// of 100): the start command was moved out of its request while the call's arguments
// were evaluated. The start was durable and answered 201, but every later request for
// the id went to its real shard and found nothing. Shards now refuse foreign ids
// (workflow_region.cpp); this moves what the old builds wrote.
//
// Candidates: the persistence ids in shard_of("") whose id is a workflow id of another
// shard and whose first event is a workflow event (only that shard's ids are listed;
// the rest of the journal is not read). For each, its events are copied,
// unchanged, to {shard_of(id), id} in writes of at most `batch_events`, then deleted
// from the wrong shard. Safe to repeat after a crash at any point: a copy that stopped
// half-way is continued (the id's own shard holds a prefix of the same events), and a
// finished one is not copied again. Left alone, with a warning naming the id:
// - the id's own shard holds a different workflow (the id was started again there);
// - the misplaced workflow's first events were deleted after a snapshot (the snapshot
//   belongs to the wrong shard's persistence id and is not moved).

#include <cstdint>

#include "persistence/journal.hpp"

namespace wfe::workflow::runtime {

struct rehome_report {
  std::uint64_t moved = 0;      // copied to their own shard, deleted from the wrong one
  std::uint64_t conflicts = 0;  // their own shard holds another workflow of the id
  std::uint64_t skipped = 0;    // early events deleted: cannot be moved without the snapshot
};

[[nodiscard]] persistence::result<rehome_report> rehome_misplaced_workflows(
    persistence::journal& journal, std::uint32_t number_of_shards, std::uint64_t batch_events);

}  // namespace wfe::workflow::runtime
