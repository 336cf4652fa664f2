#pragma once
// The timer service: every pending durable timer of this node's workflows in memory, in a
// min-heap by due time, firing each when due as timer_due{workflow_id, cmd::timer_fired}
// to the sink actor (the runtime's region, which routes it to the entity).
//
// - Loaded at spawn from the index (workflow_index::load_timers()), kept in sync by
//   set_timers{workflow_id, timers} from entities after each persisted change (replaces
//   the workflow's set; empty = clear). The index_update carries the same set for
//   durability, so a restart loses nothing.
// - One CAF delayed message for the earliest due time (not one per timer), capped at
//   pekko.workflow.timers.tick so the clock is re-read at least that often (a wall-clock
//   jump forward fires within one tick). Due times are epoch milliseconds (the model's
//   `now`); the clock is injectable.
// - At-least-once: a fired timer stays held and fires again after redeliver-after unless
//   a set_timers for its workflow replaced it (the model ignores a timer_fired that
//   matches no pending timer, so duplicates are harmless).
// - Bounded: at most max-timers held. Beyond that, timers stay only in the index (the
//   entities' index_update carries every set): a set_timers that would exceed the bound
//   keeps the workflow's earliest timers that fit, and the start-up load keeps the sets
//   due first. While some timers are only in the index (timer_stats.overflowed, metric
//   workflow_timers_overflowed), the service reads the index's due-first max-timers
//   (reload_timers to the index actor, which writes what waits and hands over the index;
//   the scan runs on a one-shot detached actor) once fewer than half the bound are held,
//   or a timer left in the index is due before a set held — at most once per
//   reload-interval. The result replaces what is held: held sets it does not name (due later) go back to the
//   index, its sets not held come in; a set replaced since the request is kept as it is.
//   At most max-fire-batch timer_due per wake-up.
// Also handles timer_check (fire what is due now) and get_timer_stats.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <caf/actor.hpp>

#include "engine/workflow/store/records.hpp"
#include "engine/workflow/store/store_settings.hpp"

namespace wfe::workflow::store {

class store_metrics;

struct timer_service_deps {
  std::function<std::int64_t()> now;       // epoch ms; empty = the system clock
  std::shared_ptr<store_metrics> metrics;  // optional
  caf::actor index;  // the index actor, answering reload_timers; none = no reloads
};

// `sink` receives timer_due messages (required); `initial` is what
// workflow_index::load_timers(max-timers) read at start. An event-based actor: it stops
// with the actor system or an exit message.
[[nodiscard]] caf::actor spawn_timer_service(caf::actor_system& sys, const caf::actor& sink,
                                             timer_service_deps deps,
                                             const timer_settings& settings, timer_load initial);

}  // namespace wfe::workflow::store
