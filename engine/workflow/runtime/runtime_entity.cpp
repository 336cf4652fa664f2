#include "engine/workflow/runtime/runtime_entity.hpp"

#include <algorithm>
#include <variant>

#include <prometheus/counter.h>
#include <caf/event_based_actor.hpp>

#include "engine/core/logging.hpp"
#include "engine/workflow/store/store_messages.hpp"
#include "engine/workflow/tasks/task_messages.hpp"

namespace wfe::workflow::runtime {

namespace {

void inc(prometheus::Counter* c) {
  if (c != nullptr) c->Increment();
}

}  // namespace

void runtime_entity_model::dispatch(caf::event_based_actor* self, const workflow_state& s,
                                    std::size_t i, std::uint32_t rejections) const {
  if (!ctx_->links.dispatcher || i >= s.definition->steps.size() || i >= s.steps.size()) return;
  const auto& def = s.definition->steps[i];
  if (runs_no_task(def)) return;  // waits for its signal or its timer: nothing to run
  task_request r;
  r.workflow_id = s.id;
  r.step = def.name;
  r.attempt = s.steps[i].attempts;
  r.task = def.task;
  r.input = def.input;
  r.workflow_input = s.input;
  r.dependency_outputs = dependency_outputs(s, def);
  if (!parse_priority(s.priority, r.priority)) r.priority = task_priority::normal;
  r.timeout_ms = def.timeout_ms;
  r.rejections = rejections;
  self->send(ctx_->links.dispatcher, std::move(r));
}

void runtime_entity_model::abandon(caf::event_based_actor* self, const workflow_state& s,
                                   const std::string& step, std::uint32_t attempt) const {
  if (ctx_->links.dispatcher) self->send(ctx_->links.dispatcher, task_abandon{s.id, step, attempt});
}

void runtime_entity_model::send_timers(caf::event_based_actor* self,
                                       const workflow_state& s) const {
  timers_sent_ = s.timers;
  if (ctx_->links.timers) self->send(ctx_->links.timers, store::set_timers{s.id, s.timers});
}

void runtime_entity_model::send_index(caf::event_based_actor* self, const workflow_state& s,
                                      std::uint64_t seq) const {
  if (!ctx_->links.index) return;
  store::index_update u;
  u.record = store::workflow_record{s.id,       s.definition->name, s.definition->version, s.status,
                                    s.priority, s.created_at_ms,    s.updated_at_ms,       seq};
  // What reconciliation needs to know to leave it asleep at the next start: an entity
  // that may passivate has nothing that a restart loses.
  u.record.tasks_in_flight = keep_alive(s);
  u.timers = s.timers;
  // A dead letter is a step that exhausted its retries; a workflow that timed out as a
  // whole (failure without a step) has no step to retry from and is not listed.
  if (s.status == workflow_status::failed && s.failure && !s.failure->step.empty()) {
    u.dead_letter = store::dead_letter_record{
        s.id, s.id, s.failure->step, s.failure->error, s.failure->attempts, s.updated_at_ms};
  }
  self->send(ctx_->links.index, std::move(u));
}

void runtime_entity_model::on_persisted(caf::event_based_actor* self, const workflow_state& s,
                                        const std::vector<event>& events, std::uint64_t seq) const {
  // Every persisted change moves the record's updatedAt (and seq): the index hears of
  // each one; its update linger coalesces those of a fast workflow into one write.
  bool index = !events.empty();
  bool ended = false;     // failed or cancelled
  bool finished = false;  // ...or completed
  for (const auto& e : events) {
    if (const auto* sch = std::get_if<ev::step_scheduled>(&e.body)) {
      // Only if it still waits for that attempt (a later event of the batch may have
      // failed or cancelled the workflow).
      for (std::size_t i = 0; i < s.steps.size(); ++i) {
        const auto& st = s.steps[i];
        if (st.name == sch->step && st.status == step_status::scheduled &&
            st.attempts == sch->attempt) {
          dispatch(self, s, i);
        }
      }
    } else if (std::holds_alternative<ev::workflow_started>(e.body)) {
      inc(ctx_->started);
    } else if (std::holds_alternative<ev::workflow_completed>(e.body)) {
      inc(ctx_->completed);
      finished = true;
    } else if (const auto* t = std::get_if<ev::step_timed_out>(&e.body)) {
      abandon(self, s, t->step, t->attempt);
    } else if (std::holds_alternative<ev::workflow_failed>(e.body)) {
      inc(ctx_->failed);
      ended = finished = true;
    } else if (std::holds_alternative<ev::workflow_cancelled>(e.body)) {
      inc(ctx_->cancelled);
      ended = finished = true;
    }
  }
  // Failed or cancelled: the answers of its steps' current attempts are not wanted (a
  // task that is not out any more is not found by the dispatcher: harmless).
  if (ended) {
    for (const auto& st : s.steps) {
      if (st.attempts > 0 && st.status != step_status::completed) {
        abandon(self, s, st.name, st.attempts);
      }
    }
  }
  // The index first: a timer service that reloads timers after this set_timers (when
  // over max-timers) then reads an index that has this update too (one sender, FIFO).
  const bool timers_changed = s.timers != timers_sent_;
  if (index || timers_changed) send_index(self, s, seq);
  if (timers_changed) send_timers(self, s);
  if (finished && finished_ != nullptr && s.status != workflow_status::running) {
    finished_->workflow_finished(s.id);
  }
}

void runtime_entity_model::on_recovered(caf::event_based_actor* self, const workflow_state& s,
                                        std::uint64_t seq) const {
  if (!s.started) return;
  send_index(self, s, seq);
  send_timers(self, s);
  if (s.status != workflow_status::running) {
    if (finished_ != nullptr) finished_->workflow_finished(s.id);
    return;
  }
  std::string resumed;  // "a (attempt 2, RUNNING), b (attempt 1, SCHEDULED)"
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    const auto& st = s.steps[i];
    if (st.status != step_status::scheduled && st.status != step_status::running) continue;
    if (runs_no_task(s.definition->steps[i])) continue;  // still waits for its signal/timer
    dispatch(self, s, i);
    if (!resumed.empty()) resumed += ", ";
    resumed += st.name + " (attempt " + std::to_string(st.attempts) + ", " +
               std::string(to_string(st.status)) + ")";
  }
  // A passivated entity never has a task in flight (keep_alive): steps in flight at a
  // recovery were lost with the process that ran them.
  if (!resumed.empty()) log_failover(s, resumed);
}

void runtime_entity_model::log_failover(const workflow_state& s, const std::string& steps) const {
  inc(ctx_->failovers);
  const auto n = ctx_->failovers_seen->fetch_add(1) + 1;
  const auto limit = ctx_->failover_log_limit;
  if (n <= limit) {
    core::log_event(*core::logger("workflow"), spdlog::level::info, "workflow_failover",
                    {{"workflow", s.id},
                     {"definition", s.definition->name},
                     {"version", std::to_string(s.definition->version)},
                     {"steps", steps}},
                    "workflow resumed after its node stopped: its steps in flight are "
                    "dispatched again");
  } else if (n == limit + 1) {
    core::logger("workflow")
        ->info(
            "more than {} workflows resumed with steps in flight: further workflow_failover "
            "events are only counted (workflow_failovers_total; "
            "pekko.workflow.runtime.failover-log-limit)",
            limit);
  }
}

void runtime_entity_model::on_notice(caf::event_based_actor* self, const workflow_state& s,
                                     const resubmit_task& n) const {
  if (s.status != workflow_status::running) return;
  // RUNNING too: a step that had started before a crash is RUNNING when recovered, and
  // its re-dispatch can be refused by a full queue like any other. Ignoring that refusal
  // lost the task: the workflow stayed RUNNING for good (keep_alive also keeps it from
  // passivating, so no later recovery re-dispatched it). A refusal means the dispatcher
  // does not run that request; a duplicate of a live attempt is harmless (the model
  // takes one answer per attempt; the dispatcher drops an external one whose lease lives).
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    const auto& st = s.steps[i];
    if (st.name == n.step && st.attempts == n.attempt &&
        (st.status == step_status::scheduled || st.status == step_status::running)) {
      dispatch(self, s, i, n.rejections);
    }
  }
}

bool runtime_entity_model::keep_alive(const workflow_state& s) const {
  if (!s.started || s.status != workflow_status::running) return false;
  // A signal or timer step waiting loses nothing when passivated: the signal is a
  // command that recovers the entity; the wait and the timeout are durable timers.
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    const auto& st = s.steps[i];
    if ((st.status == step_status::scheduled || st.status == step_status::running) &&
        !runs_no_task(s.definition->steps[i])) {
      return true;
    }
  }
  return false;
}

}  // namespace wfe::workflow::runtime
