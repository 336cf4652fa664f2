#pragma once
// The workflow entity as the runtime runs it: workflow_entity_model plus the side
// effects of persistence/eventsourced.hpp's hooks. After events are durable:
//   - StepScheduled           -> task_request to the dispatcher
//   - the pending timers changed -> store::set_timers to the timer service
//   - started / status / timers / dead letter changed -> store::index_update
//     (the dead letter is set while the workflow is FAILED, cleared otherwise)
// After a recovery of a started workflow: re-dispatch every SCHEDULED or RUNNING step
// (a task held by a dispatcher that died with the process is lost; a duplicate of a
// live one is harmless: the model ignores answers for stale attempts) and log that as a
// "workflow_failover" event (bounded: entity_context::failover_log_limit), re-register its
// timers (also an empty set, clearing leftovers) and refresh its index record. A
// dispatcher's refusal (rejected, or resubmit once a parked slot frees) re-offers the
// attempt if its step is still SCHEDULED or RUNNING (a RUNNING step re-dispatched after
// a recovery is refused like any other).
// A workflow with a SCHEDULED or RUNNING step refuses passivation (keep_alive), so
// a passivated entity never has a task in flight and its recovery re-dispatches
// nothing twice. Signal and timer steps (definition.hpp: runs_no_task) are never
// dispatched, and one waiting for its signal or timer neither keeps the entity alive nor
// counts as a failover.
// Pulls in CAF: include from .cpp files and tests only.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "engine/workflow/runtime/runtime_messages.hpp"
#include "engine/workflow/workflow_entity.hpp"

namespace prometheus {
class Counter;
}

namespace wfe::workflow::runtime {

// Shared by every entity of a region (one pointer per entity).
struct entity_context {
  runtime_links links;
  prometheus::Counter* started = nullptr;    // workflow_started_total
  prometheus::Counter* completed = nullptr;  // workflow_finished_total{status=...}
  prometheus::Counter* failed = nullptr;
  prometheus::Counter* cancelled = nullptr;
  prometheus::Counter* failovers = nullptr;  // workflow_failovers_total
  // Failovers seen by this process (with or without a registry), for the log limit.
  std::shared_ptr<std::atomic<std::uint64_t>> failovers_seen =
      std::make_shared<std::atomic<std::uint64_t>>(0);
  std::uint64_t failover_log_limit = 1'000;  // pekko.workflow.runtime.failover-log-limit
  decide_options decide;                     // pekko.workflow.runtime.inline-noop
  std::shared_ptr<const definition_catalog> definitions;  // resolves journaled starts
};

// Told when a workflow is finished (its WorkflowCompleted, WorkflowFailed or
// WorkflowCancelled persisted, or a finished one recovered): its shard passivates it
// once it stays untouched for pekko.workflow.runtime.passivate-finished-after.
class finish_listener {
 public:
  virtual void workflow_finished(const std::string& id) = 0;

 protected:
  finish_listener() = default;
  finish_listener(const finish_listener&) = default;
  finish_listener& operator=(const finish_listener&) = default;
  ~finish_listener() = default;
};

class runtime_entity_model : public workflow_entity_model {
 public:
  using notice_type = resubmit_task;

  runtime_entity_model(clock_fn now, std::shared_ptr<const entity_context> ctx,
                       finish_listener* finished = nullptr)
      : workflow_entity_model(std::move(now), ctx->definitions, ctx->decide),
        ctx_(std::move(ctx)),
        finished_(finished) {}

  void on_persisted(caf::event_based_actor* self, const workflow_state& s,
                    const std::vector<event>& events, std::uint64_t seq) const;
  void on_recovered(caf::event_based_actor* self, const workflow_state& s, std::uint64_t seq) const;
  void on_notice(caf::event_based_actor* self, const workflow_state& s,
                 const resubmit_task& n) const;
  [[nodiscard]] bool keep_alive(const workflow_state& s) const;
  // A start can only succeed on a new id: a fresh entity persists it without recovering
  // first (eventsourced.hpp; an existing id makes the write conflict, then it recovers).
  [[nodiscard]] bool optimistic_first(const command& c) const {
    return std::holds_alternative<cmd::start>(c);
  }

 private:
  // `rejections`: times the dispatcher refused this attempt before (resubmit_task).
  void dispatch(caf::event_based_actor* self, const workflow_state& s, std::size_t step,
                std::uint32_t rejections = 0) const;
  void send_timers(caf::event_based_actor* self, const workflow_state& s) const;
  // task_abandon{id, step, attempt} to the dispatcher: the attempt's answer is not wanted.
  void abandon(caf::event_based_actor* self, const workflow_state& s, const std::string& step,
               std::uint32_t attempt) const;
  void send_index(caf::event_based_actor* self, const workflow_state& s, std::uint64_t seq) const;
  void log_failover(const workflow_state& s, const std::string& steps) const;

  std::shared_ptr<const entity_context> ctx_;
  finish_listener* finished_ = nullptr;     // the hosting shard (outlives its entities' hooks)
  mutable std::vector<timer> timers_sent_;  // what the timer service holds for us
};

}  // namespace wfe::workflow::runtime
