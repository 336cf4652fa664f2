#pragma once
// The task dispatcher: one event-based actor that runs every task of the node.
//
// - Receives `task_request` (fire and forget, see task_protocol.hpp) and answers with
//   `task_update`s sent to `route(workflow id)` (or one `sink`) as single-element
//   messages.
// - Destinations: the local pool (built-ins `noop sleep fail http` and C++ handlers) and
//   one queue per external queue name (task "queue:<name>", served over HTTP by
//   api/task_routes.hpp). Each destination has three bounded FIFO queues (high, normal,
//   low; `pekko.workflow.tasks.max-queued` each). A request finding its queue full is
//   parked (its identity only, `tasks.max-parked` per destination, see parking_lot.hpp)
//   and woken with a `resubmit` update when a slot frees; a full parking lot answers
//   `rejected`. Requests for a new external queue beyond `tasks.max-queues` are parked
//   the same way (one lot for the node) and woken when a queue is dropped.
// - Order: weighted round robin 4:2:1 (see priority_queues.hpp): while all three have
//   work, out of every 7 tasks 4 are high, 2 normal, 1 low, so low never starves.
// - At most `pekko.workflow.max-workers` local tasks execute at once (a sleeping `sleep`
//   and an in-flight `http` hold their slot). C++ handlers run on detached worker actors
//   (threads, spawned lazily, at most max-workers); `http` runs asynchronously on one
//   io_context thread owned by the dispatcher; `sleep` is a timer. Nothing blocks the
//   scheduler threads.
// - `started` is sent when a local task begins executing or an external worker takes it.
//
// Header is CAF-light (caf/fwd.hpp); the message types live in task_messages.hpp.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "engine/workflow/tasks/task_handlers.hpp"
#include "engine/workflow/tasks/task_settings.hpp"

namespace prometheus {
class Registry;
}

namespace wfe::workflow {

// The dispatcher's backlog, updated by the dispatcher and readable from any thread
// without messaging it (start admission: refuse/slow starts when local_queued is
// near local_capacity).
struct task_load {
  std::atomic<std::uint64_t> queued{0};          // tasks waiting, every destination
  std::atomic<std::uint64_t> local_queued{0};    // tasks waiting for the local pool
  std::atomic<std::uint64_t> local_capacity{0};  // 3 x max-queued (set at spawn)
  std::atomic<std::uint64_t> running{0};         // local tasks executing + external leases
  std::atomic<std::uint64_t> parked{0};          // identities parked (queues full), not woken
};

// `registry` and `handlers` may be null (no metrics / built-ins only); `load`, when given,
// is kept up to date. The dispatcher stops when it receives an exit message (its worker
// threads with it; a handler that is running finishes first).
// Where a workflow's task updates go: the runtime routes them straight to the
// workflow's shard (region_router), tests to one actor.
using task_update_route = std::function<caf::actor(const std::string& workflow_id)>;

[[nodiscard]] caf::actor spawn_task_dispatcher(caf::actor_system& sys, task_settings settings,
                                               task_update_route route,
                                               prometheus::Registry* registry,
                                               std::shared_ptr<task_handlers> handlers,
                                               std::shared_ptr<task_load> load = nullptr);
// Every update to `sink`.
[[nodiscard]] caf::actor spawn_task_dispatcher(caf::actor_system& sys, task_settings settings,
                                               caf::actor sink, prometheus::Registry* registry,
                                               std::shared_ptr<task_handlers> handlers,
                                               std::shared_ptr<task_load> load = nullptr);

}  // namespace wfe::workflow
