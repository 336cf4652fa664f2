#pragma once
// The routing seam (DESIGN.md §6): every request reaches a workflow entity through the
// region. entity id -> shard id = shard_of(id, number-of-shards) (FNV-1a 64, see
// shard_hash.hpp) -> the shard actor (spawned with the region) -> the entity, an
// eventsourced_entity<runtime_entity_model> HOSTED by the shard actor (an object in it,
// not an actor of its own) with persistence id {shard, id} (so a shard is one journal
// key range), started on demand and recovering from the journal.
//
// Local for now: the API layer only ever talks to the region (its actor, or its router
// straight to a shard) with the messages of runtime_messages.hpp, so cluster sharding
// can put a proxy with the same protocol in front (routing envelopes to the region of
// the member owning the shard) without touching the API layer.
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
#include <string_view>
#include <vector>

#include <caf/actor.hpp>

#include "engine/workflow/runtime/runtime_settings.hpp"
#include "persistence/eventsourced_config.hpp"

namespace prometheus {
class Registry;
}

namespace wfe::persistence {
class journal;
class journal_metrics;
}

namespace wfe::core {
class loop_dispatcher;
}

namespace wfe::workflow {
class definition_catalog;
}

namespace wfe::workflow::runtime {

struct region_deps {
  caf::actor* journal = nullptr;                                  // required: the journal actor
  caf::actor* snapshots = nullptr;                                // optional
  caf::actor* recovery_permits = nullptr;                         // optional
  std::shared_ptr<persistence::journal_metrics> journal_metrics;  // optional
  // Optional: the journal behind `journal`, which prepares the entities' writes on their
  // own thread (persistence::journal::prepare).
  std::shared_ptr<const persistence::journal> journal_store;
  persistence::eventsourced_config entity;
  std::function<std::int64_t()> clock;       // epoch ms; empty = the system clock
  prometheus::Registry* registry = nullptr;  // optional
  // Required to recover workflows: the node's registered definitions (definition.hpp).
  std::shared_ptr<const definition_catalog> definitions;
  // Optional: where the shards run (the HTTP io threads, loop_dispatcher.hpp); null =
  // CAF's scheduler. The shards keep it alive.
  std::shared_ptr<core::loop_dispatcher> dispatcher;
};

// The region's routing table, for senders on this node: entity id -> the actor of its
// shard, so an envelope or a task update reaches the shard without a hop through the
// region actor (two fewer mailbox hops per workflow start). Immutable and cheap to copy:
// the shards are spawned with the region and live as long as it. With cluster sharding,
// route() will answer the region (or its proxy) for shards hosted elsewhere.
class region_router {
 public:
  region_router() = default;
  explicit region_router(std::shared_ptr<const std::vector<caf::actor>> shards);

  // The shard actor of `entity_id`; it takes every message the region routes by id.
  [[nodiscard]] const caf::actor& route(std::string_view entity_id) const;
  [[nodiscard]] explicit operator bool() const { return shards_ != nullptr; }

 private:
  std::shared_ptr<const std::vector<caf::actor>> shards_;
};

struct workflow_region {
  caf::actor actor;  // the region: every message of runtime_messages.hpp
  region_router router;
};

// Spawns the region and all of its shards (an idle shard costs an actor, ~2 KB, and no
// timer: it ticks for passivation only while it hosts entities). Send it
// runtime_links as a request: it is answered once every shard has them. Until then a
// shard hosts no entity: messages reaching it earlier (the timer service fires the
// overdue timers it loaded as soon as it is spawned) wait in its mailbox.
[[nodiscard]] workflow_region spawn_workflow_region(caf::actor_system& sys,
                                                    const runtime_settings& settings,
                                                    const region_deps& deps);

}  // namespace wfe::workflow::runtime
