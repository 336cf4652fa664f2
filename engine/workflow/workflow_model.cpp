#include "engine/workflow/workflow_model.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include <boost/json.hpp>

#include "engine/core/overloaded.hpp"
#include "engine/workflow/placeholders.hpp"

namespace wfe::workflow {

namespace {

using core::overloaded;

using core::unexpected;

unexpected<rejection> reject(rejection_code code, std::string message,
                             std::optional<workflow_status> status = std::nullopt) {
  return unexpected<rejection>{rejection{code, std::move(message), status}};
}

std::optional<std::size_t> step_index(const workflow_state& s, std::string_view name) {
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    if (s.steps[i].name == name) return i;
  }
  return std::nullopt;
}

// Collects events and applies each to a working copy, so later decisions in the
// same command see the effect of earlier ones (e.g. scheduling after a completion).
class builder {
 public:
  builder(const workflow_state& s, std::int64_t now, decide_options o)
      : state_(s), now_(now), options_(o) {
    events_.reserve(8);  // a start of inline noop steps emits 5 or more: one allocation
  }

  void emit(event_body body) { emit_at(now_, std::move(body)); }
  void emit_at(std::int64_t at, event_body body) {
    event e{at, std::move(body)};
    apply_in_place(state_, e);
    events_.push_back(std::move(e));
  }
  const workflow_state& state() const { return state_; }
  std::int64_t now() const { return now_; }
  const decide_options& options() const { return options_; }
  std::vector<event> take() { return std::move(events_); }

 private:
  workflow_state state_;
  std::int64_t now_;
  decide_options options_;
  std::vector<event> events_;
};

void schedule_ready(builder& b);
void fail_or_retry(builder& b, std::size_t i, const std::string& error_type,
                   const std::string& message, bool non_retryable_by_task = false);

// The first signal of that name the workflow received, if any.
const signal_record* first_signal(const workflow_state& s, std::string_view name) {
  for (const auto& r : s.signals) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

// Runs the SCHEDULED steps that need no task inside the decision that scheduled them:
// - noop steps, with decide_options::inline_noop: started and completed at once (as the
//   dispatcher would report them);
// - signal steps (definition.hpp), always: started at once (the attempt's timeout, if
//   any, bounds the wait); completed with the payload of the first signal of their name
//   when the workflow has one already, else later by decide_signal;
// - timer steps, always: started at once (apply adds their `delay` timer), completed at
//   once when due at once (0 ms, a past `until`), else when the timer fires
//   (decide_timer); failed when their input names no time (timer_step_due).
// Then schedules what completed steps made ready (schedule_ready comes back here).
// Terminates: each round completes steps, and a completed step is never scheduled again
// by schedule_ready.
void run_inline(builder& b) {
  const auto& s = b.state();
  if (s.status != workflow_status::running) return;
  bool completed = false;
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    if (s.steps[i].status != step_status::scheduled) continue;
    const auto& def = s.definition->steps[i];
    const std::string name = s.steps[i].name;
    const std::uint32_t attempt = s.steps[i].attempts;
    if (def.task == "noop" && b.options().inline_noop) {
      b.emit(ev::step_started{name, attempt});
      b.emit(ev::step_completed{name, attempt, boost::json::object{}});
      completed = true;
    } else if (def.task == k_timer_task) {
      // Its StepStarted adds the timer (apply: timer_step_due at the event's time, now).
      auto due = timer_step_due(s, def, b.now());
      b.emit(ev::step_started{name, attempt});
      if (!due) {
        // Its input names no time (a placeholder's value is missing or not one): a
        // retry would read the same, so the workflow fails (the dead letters).
        const std::string error = std::move(due).error();
        b.emit(ev::step_failed{name, attempt, "invalid_input", error, {}});
        fail_or_retry(b, i, "invalid_input", error, true);
        if (b.state().status != workflow_status::running) return;
      } else if (*due <= b.now()) {
        b.emit(ev::step_completed{name, attempt, boost::json::object{}});
        completed = true;
      }
    } else if (const auto awaited = awaited_signal(def); !awaited.empty()) {
      b.emit(ev::step_started{name, attempt});
      if (const auto* sig = first_signal(b.state(), awaited)) {
        b.emit(ev::step_completed{name, attempt, sig->payload});
        completed = true;
      }
    }
  }
  if (completed) schedule_ready(b);
}

// Schedules every pending step whose dependencies all completed; completes the
// workflow when every step has.
void schedule_ready(builder& b) {
  const auto& s = b.state();
  std::unordered_map<std::string_view, std::size_t> index;  // built on the first dependency
  std::vector<ev::step_scheduled> ready;
  bool all_done = true;
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    const auto& st = s.steps[i];
    if (st.status != step_status::completed) all_done = false;
    if (st.status != step_status::pending) continue;
    const auto& deps = s.definition->steps[i].depends_on;
    if (!deps.empty() && index.empty()) {
      for (std::size_t j = 0; j < s.steps.size(); ++j) index.emplace(s.steps[j].name, j);
    }
    const bool deps_done = std::all_of(deps.begin(), deps.end(), [&](const std::string& d) {
      auto it = index.find(d);
      return it != index.end() && s.steps[it->second].status == step_status::completed;
    });
    if (deps_done) ready.push_back(ev::step_scheduled{st.name, st.attempts + 1});
  }
  const bool any = !ready.empty();
  for (auto& r : ready) b.emit(std::move(r));
  if (all_done) b.emit(ev::workflow_completed{});
  if (any) run_inline(b);
}

// After a failed or timed-out attempt: retry with backoff, or fail the workflow.
void fail_or_retry(builder& b, std::size_t i, const std::string& error_type,
                   const std::string& message, bool non_retryable_by_task) {
  const auto& st = b.state().steps[i];
  const auto& policy = b.state().definition->steps[i].retry;
  const bool non_retryable =
      non_retryable_by_task || std::find(policy.non_retryable.begin(), policy.non_retryable.end(),
                                         error_type) != policy.non_retryable.end();
  if (non_retryable || st.run_attempts >= policy.max_attempts) {
    const std::string error = error_type.empty() ? message : error_type + ": " + message;
    b.emit(ev::workflow_failed{st.name, error, st.attempts});
    return;
  }
  const auto delay = retry_delay_ms(policy, st.run_attempts);
  b.emit(ev::step_retry_scheduled{st.name, st.attempts + 1, delay, b.now() + delay});
}

bool too_big(const boost::json::value& v) { return json_larger_than(v, k_payload_bytes_max); }

decision decide_start(const workflow_state& s, const cmd::start& c, std::int64_t now, decide_options o) {
  if (s.started) {
    return reject(rejection_code::already_exists, "workflow '" + s.id + "' already exists",
                  s.status);
  }
  if (!is_valid_id(c.id))
    return reject(rejection_code::invalid, "id must be 1-256 bytes of [A-Za-z0-9._:-]");
  if (c.priority != "high" && c.priority != "normal" && c.priority != "low") {
    return reject(rejection_code::invalid, "priority must be high, normal or low");
  }
  if (c.definition->steps.empty())
    return reject(rejection_code::invalid, "the definition has no steps");
  if (c.timeout_ms < 0 || c.timeout_ms > k_timeout_ms_max) {
    return reject(rejection_code::invalid, "timeoutMs out of range");
  }
  if (too_big(c.input)) return reject(rejection_code::limit, "input is too large");
  builder b(s, now, o);
  b.emit(ev::workflow_started{c.id, c.definition, c.input, c.priority, c.timeout_ms});
  schedule_ready(b);
  return b.take();
}

// A task command belongs to the step's current attempt while it is queued or running;
// anything else (a duplicate, a late answer for an earlier attempt) is stale.
bool is_current(const step_state& st, std::uint32_t attempt) {
  return attempt == st.attempts &&
         (st.status == step_status::scheduled || st.status == step_status::running);
}

// When an attempt began, from a report that it began `ago` ms before now: never in the
// future, nor before the workflow's last event (its history's times stay in order, and a
// step timeout counts from no earlier than the step's scheduling).
std::int64_t started_at(const workflow_state& s, std::int64_t now, std::int64_t ago) {
  const auto at = now - std::max<std::int64_t>(ago, 0);
  return std::clamp(at, std::min(s.updated_at_ms, now), now);
}

// A result that also reports the start of a still-SCHEDULED attempt records StepStarted
// first, so the history reads the same as with a separate start report.
void emit_start_if_reported(builder& b, const step_state& st, bool started, std::int64_t ago) {
  if (started && st.status == step_status::scheduled) {
    b.emit_at(started_at(b.state(), b.now(), ago), ev::step_started{st.name, st.attempts});
  }
}

decision decide_task(const workflow_state& s, const cmd::task_started& c, std::int64_t now) {
  auto i = step_index(s, c.step);
  if (!i) return reject(rejection_code::invalid, "no step '" + c.step + "'", s.status);
  const auto& st = s.steps[*i];
  if (st.status != step_status::scheduled || st.attempts != c.attempt) return std::vector<event>{};
  return std::vector<event>{
      event{started_at(s, now, c.started_ago_ms), ev::step_started{c.step, c.attempt}}};
}

decision decide_task(const workflow_state& s, const cmd::task_completed& c, std::int64_t now, decide_options o) {
  auto i = step_index(s, c.step);
  if (!i) return reject(rejection_code::invalid, "no step '" + c.step + "'", s.status);
  if (!is_current(s.steps[*i], c.attempt)) return std::vector<event>{};
  if (too_big(c.output)) return reject(rejection_code::limit, "output is too large", s.status);
  builder b(s, now, o);
  emit_start_if_reported(b, s.steps[*i], c.started, c.started_ago_ms);
  b.emit(ev::step_completed{c.step, c.attempt, c.output});
  schedule_ready(b);
  return b.take();
}

decision decide_task(const workflow_state& s, const cmd::task_failed& c, std::int64_t now, decide_options o) {
  auto i = step_index(s, c.step);
  if (!i) return reject(rejection_code::invalid, "no step '" + c.step + "'", s.status);
  if (!is_current(s.steps[*i], c.attempt)) return std::vector<event>{};
  builder b(s, now, o);
  emit_start_if_reported(b, s.steps[*i], c.started, c.started_ago_ms);
  if (too_big(c.details)) {
    b.emit(ev::step_failed{c.step, c.attempt, c.error_type,
                           c.message + " (its details were dropped: over " +
                               std::to_string(k_payload_bytes_max) + " bytes)",
                           {}});
  } else {
    b.emit(ev::step_failed{c.step, c.attempt, c.error_type, c.message, c.details});
  }
  fail_or_retry(b, *i, c.error_type, c.message, c.non_retryable);
  return b.take();
}

decision decide_timer(const workflow_state& s, const cmd::timer_fired& c, std::int64_t now, decide_options o) {
  const bool pending = std::any_of(s.timers.begin(), s.timers.end(), [&](const timer& t) {
    return t.kind == c.kind && t.step == c.step && t.attempt == c.attempt;
  });
  if (!pending) return std::vector<event>{};  // already handled or superseded
  builder b(s, now, o);
  if (c.kind == timer_kind::workflow_timeout) {
    b.emit(ev::workflow_failed{"", "workflow timed out", 0});
  } else if (c.kind == timer_kind::retry) {
    b.emit(ev::step_scheduled{c.step, c.attempt});
    run_inline(b);
  } else if (c.kind == timer_kind::delay) {
    b.emit(ev::step_completed{c.step, c.attempt, boost::json::object{}});
    schedule_ready(b);
  } else {
    const auto i = *step_index(s, c.step);
    const auto timeout = s.definition->steps[i].timeout_ms;
    const std::string message = "attempt " + std::to_string(c.attempt) + " timed out after " +
                                std::to_string(timeout) + " ms";
    b.emit(ev::step_timed_out{c.step, c.attempt});
    fail_or_retry(b, i, "timeout", message);
  }
  return b.take();
}

decision decide_signal(const workflow_state& s, const cmd::signal& c, std::int64_t now,
                       decide_options o) {
  if (!is_valid_id(c.name)) {
    return reject(rejection_code::invalid, "signal name must be 1-256 bytes of [A-Za-z0-9._:-]",
                  s.status);
  }
  if (s.signals.size() >= k_signals_max) {
    return reject(rejection_code::limit,
                  "workflow '" + s.id + "' has received the maximum of " +
                      std::to_string(k_signals_max) + " signals",
                  s.status);
  }
  if (too_big(c.payload))
    return reject(rejection_code::limit, "signal payload is too large", s.status);
  builder b(s, now, o);
  b.emit(ev::signal_received{c.name, c.payload});
  // Signal steps waiting for it complete with its payload (a step still waiting has seen
  // no signal of its name: this is the first).
  bool completed = false;
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    const auto& st = b.state().steps[i];
    if (st.status != step_status::running || awaited_signal(s.definition->steps[i]) != c.name) {
      continue;
    }
    b.emit(ev::step_completed{st.name, st.attempts, c.payload});
    completed = true;
  }
  if (completed) schedule_ready(b);
  return b.take();
}

decision decide_retry(const workflow_state& s, const cmd::retry_from_dead_letter& c,
                      std::int64_t now, decide_options o) {
  if (s.status != workflow_status::failed) {
    const auto code =
        s.status == workflow_status::running ? rejection_code::invalid : rejection_code::finished;
    return reject(code,
                  "workflow '" + s.id + "' is " + std::string(to_string(s.status)) + ", not failed",
                  s.status);
  }
  if (!s.failure || s.failure->step.empty()) {
    return reject(rejection_code::invalid, "workflow '" + s.id + "' timed out; no step to retry",
                  s.status);
  }
  if (!c.step.empty() && c.step != s.failure->step) {
    return reject(rejection_code::invalid,
                  "step '" + c.step + "' is not the failed step '" + s.failure->step + "'",
                  s.status);
  }
  builder b(s, now, o);
  b.emit(ev::step_retried_from_dead_letter{s.failure->step});
  schedule_ready(b);
  return b.take();
}

decision decide_running(const workflow_state& s, const command& c, std::int64_t now, decide_options o) {
  return std::visit(
      overloaded{
          [&](const cmd::start& x) { return decide_start(s, x, now, o); },
          [&](const cmd::task_started& x) { return decide_task(s, x, now); },
          [&](const cmd::task_completed& x) { return decide_task(s, x, now, o); },
          [&](const cmd::task_failed& x) { return decide_task(s, x, now, o); },
          [&](const cmd::timer_fired& x) { return decide_timer(s, x, now, o); },
          [&](const cmd::signal& x) { return decide_signal(s, x, now, o); },
          [&](const cmd::cancel& x) -> decision {
            return std::vector<event>{event{now, ev::workflow_cancelled{x.reason}}};
          },
          [&](const cmd::retry_from_dead_letter& x) { return decide_retry(s, x, now, o); },
          [&](const cmd::get&) -> decision { return std::vector<event>{}; },
      },
      c);
}

}  // namespace

const step_state* workflow_state::find_step(std::string_view name) const {
  for (const auto& st : steps) {
    if (st.name == name) return &st;
  }
  return nullptr;
}

decision decide(const workflow_state& s, const command& c, std::int64_t now_ms,
                decide_options options) {
  try {
    const bool is_start = std::holds_alternative<cmd::start>(c);
    if (!s.started && !is_start) return reject(rejection_code::not_found, "no such workflow");
    const bool reads = std::holds_alternative<cmd::get>(c);
    const bool retry = std::holds_alternative<cmd::retry_from_dead_letter>(c);
    if (s.started && !is_start && !reads && !retry && s.status != workflow_status::running) {
      return reject(rejection_code::finished,
                    "workflow '" + s.id + "' is " + std::string(to_string(s.status)), s.status);
    }
    return decide_running(s, c, now_ms, options);
  } catch (const std::exception& e) {  // Boost.JSON serialization, allocation
    return reject(rejection_code::invalid, std::string("cannot decide: ") + e.what());
  }
}

std::int64_t retry_delay_ms(const retry_policy& p, std::uint32_t run_attempt) {
  const double exp = run_attempt > 0 ? static_cast<double>(run_attempt - 1) : 0.0;
  const double d =
      static_cast<double>(p.initial_interval_ms) * std::pow(p.backoff_coefficient, exp);
  if (!std::isfinite(d) || d >= static_cast<double>(p.max_interval_ms)) return p.max_interval_ms;
  return static_cast<std::int64_t>(d);  // floor: whole milliseconds
}

std::string_view to_string(workflow_status s) {
  switch (s) {
    case workflow_status::running:
      return "RUNNING";
    case workflow_status::completed:
      return "COMPLETED";
    case workflow_status::failed:
      return "FAILED";
    case workflow_status::cancelled:
      return "CANCELLED";
  }
  return "UNKNOWN";
}

std::string_view to_string(step_status s) {
  switch (s) {
    case step_status::pending:
      return "PENDING";
    case step_status::scheduled:
      return "SCHEDULED";
    case step_status::running:
      return "RUNNING";
    case step_status::retry_wait:
      return "RETRY_WAIT";
    case step_status::completed:
      return "COMPLETED";
    case step_status::failed:
      return "FAILED";
    case step_status::cancelled:
      return "CANCELLED";
  }
  return "UNKNOWN";
}

std::vector<step_output> dependency_outputs(const workflow_state& s, const step_definition& def) {
  std::vector<step_output> out;
  out.reserve(def.depends_on.size());
  for (const auto& dep : def.depends_on) {
    if (const auto* d = s.find_step(dep)) out.push_back(step_output{dep, d->output});
  }
  return out;
}

core::expected<std::int64_t, std::string> timer_step_due(const workflow_state& s,
                                                         const step_definition& def,
                                                         std::int64_t started_ms) {
  const auto* in = def.input->if_object();
  if (in == nullptr || in->empty()) return unexpected{std::string("timer input is not an object")};
  boost::json::value resolved;
  const boost::json::value* v = &in->begin()->value();
  if (has_placeholders(*v)) {
    const auto outputs = dependency_outputs(s, def);
    auto r = resolve_placeholders(*v, placeholder_scope{s.id, *s.input, outputs});
    if (!r) return unexpected{std::move(r).error()};
    resolved = std::move(*r);
    v = &resolved;
  }
  const std::string& key = in->begin()->key();
  if (key == "ms") {
    std::int64_t ms = -1;
    if (v->is_int64()) ms = v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(k_timer_ms_max)) {
      ms = static_cast<std::int64_t>(v->get_uint64());
    }
    if (ms < 0 || ms > k_timer_ms_max) {
      return unexpected{"timer ms must be an integer from 0 to " + std::to_string(k_timer_ms_max) +
                        ", got " + boost::json::serialize(*v).substr(0, 64)};
    }
    return started_ms + ms;
  }
  const auto until = v->is_string() ? parse_rfc3339_ms(v->get_string()) : std::nullopt;
  if (!until) {
    return unexpected{"timer until must be an RFC 3339 time, got " +
                      boost::json::serialize(*v).substr(0, 64)};
  }
  if (*until - started_ms > k_timer_ms_max) {
    return unexpected{"timer until " + std::string(v->get_string()) +
                      " is more than 10 years after the step's start"};
  }
  return std::max(*until, started_ms);
}

std::string_view to_string(timer_kind k) {
  switch (k) {
    case timer_kind::retry:
      return "retry";
    case timer_kind::step_timeout:
      return "step-timeout";
    case timer_kind::workflow_timeout:
      return "workflow-timeout";
    case timer_kind::delay:
      return "delay";
  }
  return "unknown";
}

}  // namespace wfe::workflow
