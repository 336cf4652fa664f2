#pragma once
// Starts the whole workflow runtime of a node, in order:
//   1. opens the workflow index (store/workflow_index.hpp) and reconciles it with the
//      journal: the ids that need recovery (index behind, missing, or RUNNING);
//   2. spawns the definition registry and waits until it recovered (it fills the
//      definition catalog that recovering workflows resolve their definition from),
//      then the index actor, the region (workflow_region.hpp), the timer service
//      (loaded from the index, firing into the region) and the task dispatcher (updates
//      into the region), and links the region to them;
//   3. spawns the retention sweeper (retention.hpp) when pekko.workflow.retention is on;
//   4. wakes the reconciled workflows in batches of wake-batch-size (each batch waits
//      for the previous one; recovery permits bound concurrency further), so a workflow
//      interrupted by kill -9 continues without any request touching it.
// stop_workflow_runtime() stops them, entities first, the index last; the journal and
// snapshot store actors (not owned here) must stop after it.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>

#include "engine/workflow/runtime/runtime_settings.hpp"
#include "engine/workflow/runtime/workflow_region.hpp"
#include "engine/workflow/store/store_settings.hpp"
#include "engine/workflow/tasks/task_settings.hpp"
#include "persistence/errc.hpp"
#include "persistence/eventsourced_config.hpp"

namespace prometheus {
class Registry;
}

namespace wfe::persistence {
class journal;
class journal_metrics;
}  // namespace wfe::persistence

namespace wfe::workflow {
class definition_catalog;
class task_handlers;
struct task_load;
}  // namespace wfe::workflow

namespace wfe::workflow::store {
class workflow_index;
}

namespace wfe::workflow::runtime {

struct runtime_config {
  runtime_settings runtime;
  task_settings tasks;
  store::store_settings store;
  persistence::eventsourced_config entity;
  caf::actor journal_actor;                       // required
  caf::actor snapshots;                           // optional
  caf::actor recovery_permits;                    // optional
  std::shared_ptr<persistence::journal> journal;  // required: reconciliation reads it
  std::shared_ptr<persistence::journal_metrics> journal_metrics;  // optional
  std::shared_ptr<task_handlers> handlers;                        // optional
  prometheus::Registry* registry = nullptr;                       // optional
  std::function<std::int64_t()> clock;  // epoch ms; empty = the system clock
  std::shared_ptr<core::loop_dispatcher> shard_dispatcher;  // optional (region_deps::dispatcher)
};

struct runtime_parts {
  caf::actor region;
  region_router router;  // entity messages straight to their shard (workflow_region.hpp)
  caf::actor registry;
  caf::actor index;
  caf::actor timers;
  caf::actor dispatcher;
  caf::actor waker;      // wakes the reconciled workflows; stops by itself when done
  caf::actor retention;  // the retention sweeper (retention.hpp); invalid when off
  // The archive (archive.hpp): appends from retention, reads from the API; invalid
  // without pekko.workflow.retention.archive-dir (opened even with retention off).
  caf::actor archiver;
  caf::actor archive_reader;  // the journal reader retention archives through; invalid when off
  std::shared_ptr<task_load> load;
  std::shared_ptr<task_handlers> handlers;
  std::uint64_t to_wake = 0;                              // ids reconciliation returned
  std::shared_ptr<const store::workflow_index> index_db;  // for metrics only (thread-safe reads)
  std::shared_ptr<definition_catalog> definitions;        // filled by the registry
};

// Errors: the index cannot be opened or reconciled (errc::locked / corruption / io).
[[nodiscard]] persistence::result<runtime_parts> start_workflow_runtime(caf::actor_system& sys,
                                                                        runtime_config cfg);

// Sends exits in order: retention sweeper, waker, region (and its entities), dispatcher, timer
// service, registry, index. Does not wait.
void stop_workflow_runtime(const runtime_parts& parts);

}  // namespace wfe::workflow::runtime
