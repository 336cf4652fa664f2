#pragma once
// The definition registry: every workflow definition, all versions, as PRIMARY data in
// the journal (so backup/restore covers it). An event-sourced entity with the reserved
// persistence id `k_definitions_id` in shard 0 and one event type,
// DefinitionRegistered{name, version, definition} (manifest wf.definition-registered.v1);
// its state (every definition) is snapshotted like any entity's.
//
// The reserved id contains '$' and '/', which no workflow id may contain (ids are
// [A-Za-z0-9._:-], definition.hpp), so it can never collide with a workflow's stream,
// whatever shard a workflow hashes to; reconcile() skips it for the same reason.
//
// Messages (store_messages.hpp; send to the actor spawn_definition_registry returns):
//   register_definition{definition}  -> result<definition_registered>
//       version = latest + 1 when the steps differ from the latest version, else the
//       latest with created = false (idempotent re-post). Over
//       pekko.workflow.definitions.max-definitions (names) or max-versions (per name):
//       definition_registered.rejected is set and nothing is stored.
//   get_definition{name, version}    -> result<std::optional<workflow_definition>>
//       version 0 = the latest; nullopt = unknown name or version.
//   list_definitions{limit, after}   -> result<definition_page>
//       names in order after `after`, each with its latest version and version count.
// Errors (result's error side): the journal failed (io_error, unavailable); after a
// failed persist the registry entity stops and the next request restarts it, which
// recovers from the journal (the facade actor supervises it).
//
// It fills `catalog` (definition.hpp) with every version once it recovered, and with a
// new version before it answers its registration: the catalog is what recovering
// workflows resolve their definition from (their starts name it, workflow_codec.hpp).
//
// In a cluster the registry must become a singleton (or replicated); today each node
// runs its own over its own journal.

#include <memory>
#include <string_view>

#include <caf/fwd.hpp>

#include "engine/workflow/store/store_settings.hpp"
#include "persistence/eventsourced_config.hpp"
#include "persistence/persistence_id.hpp"

namespace wfe::persistence {
struct eventsourced_deps;
}

namespace wfe::workflow {
class definition_catalog;
}

namespace wfe::workflow::store {

class store_metrics;

inline constexpr std::string_view k_definitions_id = "$sys/workflow-definitions";
inline constexpr std::uint32_t k_definitions_shard = 0;
inline constexpr std::string_view k_definition_registered_manifest = "wf.definition-registered.v1";
inline constexpr std::string_view k_registry_state_manifest = "wf.definition-registry.v1.json";

[[nodiscard]] persistence::persistence_id definitions_persistence_id();

// Spawns the registry (a facade actor plus the event-sourced entity it owns; the entity
// recovers at once, requests meanwhile wait in its stash). `deps.journal` is required;
// snapshots, recovery permits and journal metrics are optional. `metrics` and `catalog`
// may be null.
// Stop it with an exit message (it takes the entity down with it).
[[nodiscard]] caf::actor spawn_definition_registry(caf::actor_system& sys,
                                                   const persistence::eventsourced_deps& deps,
                                                   const persistence::eventsourced_config& es,
                                                   const definition_settings& settings,
                                                   std::shared_ptr<store_metrics> metrics,
                                                   std::shared_ptr<definition_catalog> catalog);

}  // namespace wfe::workflow::store
