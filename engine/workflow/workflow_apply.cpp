// apply(): folds one event into the workflow state. Total and pure: it never fails,
// because events are facts already in the journal; an event naming an unknown step
// (impossible for events decide() produced) changes nothing but the time.
#include <algorithm>

#include "engine/core/overloaded.hpp"
#include "engine/workflow/workflow_model.hpp"

namespace wfe::workflow {

namespace {

using core::overloaded;

void drop_timers(workflow_state& s, std::string_view step, timer_kind kind) {
  std::erase_if(s.timers, [&](const timer& t) { return t.step == step && t.kind == kind; });
}

// The end of an attempt (completed, failed, timed out) ends its timeout and its wait.
void drop_attempt_timers(workflow_state& s, std::string_view step) {
  std::erase_if(s.timers, [&](const timer& t) {
    return t.step == step && (t.kind == timer_kind::step_timeout || t.kind == timer_kind::delay);
  });
}

template <class F>
void with_step(workflow_state& s, std::string_view name, F&& f) {
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    if (s.steps[i].name == name) {
      f(s.steps[i], s.definition->steps[i]);
      return;
    }
  }
}

void on_started(workflow_state& s, const ev::workflow_started& e, std::int64_t at) {
  s.started = true;
  s.id = e.id;
  s.definition = e.definition;
  s.input = e.input;
  s.priority = e.priority;
  s.status = workflow_status::running;
  s.steps.clear();
  s.steps.reserve(e.definition->steps.size());
  for (const auto& d : e.definition->steps) {
    step_state st;
    st.name = d.name;
    s.steps.push_back(std::move(st));
  }
  s.created_at_ms = at;
  if (e.timeout_ms > 0)
    s.timers.push_back(timer{at + e.timeout_ms, timer_kind::workflow_timeout, "", 0});
}

void on_failed(workflow_state& s, const ev::workflow_failed& e) {
  s.status = workflow_status::failed;
  s.failure = dead_letter_info{e.step, e.error, e.attempts};
  s.timers.clear();
  for (auto& st : s.steps) {
    if (st.name == e.step && !e.step.empty()) {
      st.status = step_status::failed;
    } else if (st.status == step_status::scheduled || st.status == step_status::running ||
               st.status == step_status::retry_wait) {
      // Interrupted: its task's answer will be refused; a dead-letter retry reschedules it.
      st.status = step_status::pending;
    }
  }
}

void on_cancelled(workflow_state& s, const ev::workflow_cancelled& e) {
  s.status = workflow_status::cancelled;
  s.cancel_reason = e.reason;
  s.timers.clear();
  for (auto& st : s.steps) {
    if (st.status != step_status::completed) st.status = step_status::cancelled;
  }
}

void apply_body(workflow_state& s, const event_body& body, std::int64_t at) {
  std::visit(overloaded{
                 [&](const ev::workflow_started& e) { on_started(s, e, at); },
                 [&](const ev::step_scheduled& e) {
                   drop_timers(s, e.step, timer_kind::retry);
                   with_step(s, e.step, [&](step_state& st, const step_definition&) {
                     st.status = step_status::scheduled;
                     st.attempts = e.attempt;
                     ++st.run_attempts;
                   });
                 },
                 [&](const ev::step_started& e) {
                   with_step(s, e.step, [&](step_state& st, const step_definition& d) {
                     st.status = step_status::running;
                     if (d.timeout_ms > 0) {
                       s.timers.push_back(
                           timer{at + d.timeout_ms, timer_kind::step_timeout, e.step, e.attempt});
                     }
                     if (d.task == k_timer_task) {
                       // A due time at the start (or none) completed or failed the step in
                       // the same decision (workflow_model.cpp, run_inline).
                       if (auto due = timer_step_due(s, d, at); due && *due > at) {
                         s.timers.push_back(timer{*due, timer_kind::delay, e.step, e.attempt});
                       }
                     }
                   });
                 },
                 [&](const ev::step_completed& e) {
                   drop_attempt_timers(s, e.step);
                   with_step(s, e.step, [&](step_state& st, const step_definition&) {
                     st.status = step_status::completed;
                     st.output = e.output;
                   });
                 },
                 [&](const ev::step_failed& e) {
                   drop_attempt_timers(s, e.step);
                   with_step(s, e.step, [&](step_state& st, const step_definition&) {
                     st.error_type = e.error_type;
                     st.error = e.message;
                     st.error_details = e.details;
                   });
                 },
                 [&](const ev::step_retry_scheduled& e) {
                   with_step(s, e.step, [&](step_state& st, const step_definition&) {
                     st.status = step_status::retry_wait;
                   });
                   s.timers.push_back(timer{e.due_ms, timer_kind::retry, e.step, e.next_attempt});
                 },
                 [&](const ev::step_timed_out& e) {
                   drop_attempt_timers(s, e.step);
                   with_step(s, e.step, [&](step_state& st, const step_definition& d) {
                     st.error_type = "timeout";
                     st.error = "attempt " + std::to_string(e.attempt) + " timed out after " +
                                std::to_string(d.timeout_ms) + " ms";
                     st.error_details = {};
                   });
                 },
                 [&](const ev::signal_received& e) {
                   s.signals.push_back(signal_record{e.name, e.payload, at});
                 },
                 [&](const ev::workflow_completed&) {
                   s.status = workflow_status::completed;
                   s.timers.clear();
                 },
                 [&](const ev::workflow_failed& e) { on_failed(s, e); },
                 [&](const ev::workflow_cancelled& e) { on_cancelled(s, e); },
                 [&](const ev::step_retried_from_dead_letter& e) {
                   s.status = workflow_status::running;
                   s.failure.reset();
                   with_step(s, e.step, [&](step_state& st, const step_definition&) {
                     st.status = step_status::pending;
                     st.run_attempts = 0;  // a fresh retry budget; `attempts` keeps counting
                   });
                 },
             },
             body);
}

}  // namespace

void apply_in_place(workflow_state& state, const event& e) {
  apply_body(state, e.body, e.at_ms);
  state.updated_at_ms = e.at_ms;
}

workflow_state apply(workflow_state state, const event& e) {
  apply_in_place(state, e);
  return state;
}

}  // namespace wfe::workflow
