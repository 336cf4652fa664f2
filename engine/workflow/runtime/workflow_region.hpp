#pragma once
// The routing seam (DESIGN.md §6): every request reaches a workflow entity through the
// region. entity id -> shard id = shard_of(id, number-of-shards) (FNV-1a 64, see
// shard_hash.hpp) -> the shard actor (started on first use) -> the entity, an
// eventsourced_entity<runtime_entity_model> HOSTED by the shard actor (an object in it,
// not an actor of its own) with persistence id {shard, id} (so a shard is one journal
// key range), started on demand and recovering from the journal.
//
// Local for now: the API layer only ever talks to the region actor with the messages of
// runtime_messages.hpp, so cluster sharding can put a proxy with the same protocol in
// front (routing envelopes to the region of the member owning the shard) without
// touching the API layer.
//
// Passivation: a shard drops entities idle for passivate-idle-entity-after (checked
// every idle/4, between 10 ms and 10 s), and the least recently used idle one before
// starting one beyond its share of max-active-entities. Synchronous: an idle entity
// goes at once; a busy one (recovering, persisting, a task in flight:
// runtime_entity.hpp) stays and is looked at again later. A passivated entity restarts
// transparently on the next message. A failed entity (recovery or persist) is
// forgotten; the shard and its other entities go on.
//
// Metrics: workflow_entities_active (gauge), workflow_entities_passivated_total,
// workflow_started_total, workflow_finished_total{status}.
//
// The region and its shards are linked: an exit message to the region stops every shard
// and with it every entity.

#include <cstdint>
#include <functional>
#include <memory>

#include <caf/fwd.hpp>

#include "engine/workflow/runtime/runtime_settings.hpp"
#include "persistence/eventsourced_config.hpp"

namespace prometheus {
class Registry;
}

namespace wfe::persistence {
class journal_metrics;
}

namespace wfe::workflow::runtime {

struct region_deps {
  caf::actor* journal = nullptr;                                  // required: the journal actor
  caf::actor* snapshots = nullptr;                                // optional
  caf::actor* recovery_permits = nullptr;                         // optional
  std::shared_ptr<persistence::journal_metrics> journal_metrics;  // optional
  persistence::eventsourced_config entity;
  std::function<std::int64_t()> clock;       // epoch ms; empty = the system clock
  prometheus::Registry* registry = nullptr;  // optional
};

[[nodiscard]] caf::actor spawn_workflow_region(caf::actor_system& sys,
                                               const runtime_settings& settings,
                                               const region_deps& deps);

}  // namespace wfe::workflow::runtime
