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
// - Bounded: at most max-timers held; a set_timers that would exceed it keeps the
//   workflow's earliest timers that fit, drops the rest with an error log and counts them
//   (timer_stats.refused). At most max-fire-batch timer_due per wake-up.
// Also handles timer_check (fire what is due now) and get_timer_stats.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <caf/fwd.hpp>

#include "engine/workflow/store/records.hpp"
#include "engine/workflow/store/store_settings.hpp"

namespace wfe::workflow::store {

class store_metrics;

struct timer_service_deps {
  std::function<std::int64_t()> now;       // epoch ms; empty = the system clock
  std::shared_ptr<store_metrics> metrics;  // optional
};

// `sink` receives timer_due messages (required). An event-based actor: it stops with
// the actor system or an exit message.
[[nodiscard]] caf::actor spawn_timer_service(caf::actor_system& sys, const caf::actor& sink,
                                             timer_service_deps deps,
                                             const timer_settings& settings,
                                             std::vector<workflow_timers> initial);

}  // namespace wfe::workflow::store
