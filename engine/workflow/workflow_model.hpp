#pragma once
// The workflow entity as a pure event-sourced model (STYLE.md): decide(state,
// command, now) -> events or a rejection; apply(state, event) -> state. No clocks,
// no I/O: `now` is passed in, timers are data in the state (due time, kind, step,
// attempt) for a timer service to index, and tasks are started by whoever reads
// StepScheduled events. The actor adapter for persistence/eventsourced.hpp and the
// codecs (workflow_codec.hpp) sit on top of these functions.
//
// Attempts: `attempts` of a step counts every attempt over the workflow's whole life
// (a retry from the dead letters continues it: DESIGN.md's `fail {"times":N}`);
// `run_attempts` counts the attempts since the last start or dead-letter retry and is
// what the retry policy's maxAttempts bounds. Every task command carries the attempt
// it belongs to; a command for another attempt is stale and produces no events.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <boost/json/value.hpp>

#include "engine/core/expected.hpp"
#include "engine/workflow/definition.hpp"
#include "engine/workflow/json_ref.hpp"
#include "engine/workflow/task_protocol.hpp"

namespace wfe::workflow {

inline constexpr std::size_t k_signals_max = 1000;
inline constexpr std::size_t k_payload_bytes_max = 256 * 1024;  // signal payload, task output

enum class workflow_status : std::uint8_t { running, completed, failed, cancelled };
enum class step_status : std::uint8_t {
  pending,     // waiting for its dependencies
  scheduled,   // ready; a task for `attempts` is queued
  running,     // a worker started the attempt
  retry_wait,  // failed; a retry timer is pending
  completed,
  failed,  // exhausted or non-retryable: the workflow failed here (dead letter)
  cancelled,
};
// `delay`: a timer step's wait (definition.hpp k_timer_task), due `ms` after its
// StepStarted; firing completes the step. Appended last: the index stores the number.
enum class timer_kind : std::uint8_t { retry, step_timeout, workflow_timeout, delay };

struct timer {
  std::int64_t due_ms = 0;
  timer_kind kind = timer_kind::retry;
  std::string step;           // empty for workflow_timeout
  std::uint32_t attempt = 0;  // the attempt the timer belongs to (retry: the next one)
  bool operator==(const timer&) const = default;
};

struct step_state {
  std::string name;
  step_status status = step_status::pending;
  std::uint32_t attempts = 0;      // over the workflow's whole life
  std::uint32_t run_attempts = 0;  // since start / the last dead-letter retry
  json_ref output;                // null until completed
  std::string error_type;          // of the last failure
  std::string error;               // message of the last failure
  json_ref error_details{};        // what the last failure carried (null: nothing)
  bool operator==(const step_state&) const = default;
};

struct signal_record {
  std::string name;
  json_ref payload;
  std::int64_t at_ms = 0;
  bool operator==(const signal_record&) const = default;
};

// What the dead-letter list shows for a failed workflow.
struct dead_letter_info {
  std::string step;
  std::string error;
  std::uint32_t attempts = 0;
  bool operator==(const dead_letter_info&) const = default;
};

struct workflow_state {
  bool started = false;
  std::string id;
  definition_ref definition;  // pinned to its version (shared, immutable)
  json_ref input;
  std::string priority = "normal";
  workflow_status status = workflow_status::running;
  std::vector<step_state> steps;  // same order as definition.steps
  std::vector<timer> timers;
  std::vector<signal_record> signals;
  std::optional<dead_letter_info> failure;
  std::string cancel_reason;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  bool operator==(const workflow_state&) const = default;

  [[nodiscard]] const step_state* find_step(std::string_view name) const;
};

// -- commands -------------------------------------------------------------------

namespace cmd {
struct start {
  std::string id;
  definition_ref definition;  // resolved by the caller (name + latest version)
  json_ref input;
  std::string priority = "normal";
  std::int64_t timeout_ms = 0;  // whole workflow; 0 = none
};
struct task_started {
  std::string step;
  std::uint32_t attempt = 0;
  // The attempt began this long before it was reported (the dispatcher holds a start
  // report back for a moment: tasks/README.md "Start reports"). StepStarted is dated
  // now - started_ago_ms, but not before the workflow's last event.
  std::int64_t started_ago_ms = 0;
};
struct task_completed {
  std::string step;
  std::uint32_t attempt = 0;
  json_ref output;
  bool started = false;  // also reports the start: StepStarted first if still SCHEDULED
  std::int64_t started_ago_ms = 0;  // with `started`: as task_started's
};
struct task_failed {
  std::string step;
  std::uint32_t attempt = 0;
  std::string error_type;  // matched against the step's nonRetryable list
  std::string message;
  bool non_retryable = false;  // the task said so itself (an external worker's nonRetryable)
  bool started = false;        // also reports the start: StepStarted first if still SCHEDULED
  // What the failure carries: a failed `http`'s {status, body[, headers]}, an external
  // worker's "details". Null: nothing. Dropped (noted in the message) beyond
  // k_payload_bytes_max: the failure itself is never refused for its size.
  json_ref details{};
  std::int64_t started_ago_ms = 0;  // with `started`: as task_started's
};
struct timer_fired {
  timer_kind kind = timer_kind::retry;
  std::string step;
  std::uint32_t attempt = 0;
};
struct signal {
  std::string name;
  json_ref payload;
};
struct cancel {
  std::string reason;
};
struct retry_from_dead_letter {
  std::string step;
};  // empty: the step that failed
struct get {};
}  // namespace cmd

using command =
    std::variant<cmd::start, cmd::task_started, cmd::task_completed, cmd::task_failed,
                 cmd::timer_fired, cmd::signal, cmd::cancel, cmd::retry_from_dead_letter, cmd::get>;

// -- events ---------------------------------------------------------------------

namespace ev {
struct workflow_started {
  std::string id;
  definition_ref definition;
  json_ref input;
  std::string priority;
  std::int64_t timeout_ms = 0;
  bool operator==(const workflow_started&) const = default;
};
struct step_scheduled {
  std::string step;
  std::uint32_t attempt = 0;
  bool operator==(const step_scheduled&) const = default;
};
struct step_started {
  std::string step;
  std::uint32_t attempt = 0;
  bool operator==(const step_started&) const = default;
};
struct step_completed {
  std::string step;
  std::uint32_t attempt = 0;
  json_ref output;
  bool operator==(const step_completed&) const = default;
};
struct step_failed {
  std::string step;
  std::uint32_t attempt = 0;
  std::string error_type;
  std::string message;
  json_ref details{};  // null: none (and in events written before it existed)
  bool operator==(const step_failed&) const = default;
};
struct step_retry_scheduled {
  std::string step;
  std::uint32_t next_attempt = 0;
  std::int64_t delay_ms = 0;
  std::int64_t due_ms = 0;
  bool operator==(const step_retry_scheduled&) const = default;
};
struct step_timed_out {
  std::string step;
  std::uint32_t attempt = 0;
  bool operator==(const step_timed_out&) const = default;
};
struct signal_received {
  std::string name;
  json_ref payload;
  bool operator==(const signal_received&) const = default;
};
struct workflow_completed {
  bool operator==(const workflow_completed&) const = default;
};
struct workflow_failed {
  std::string step;  // empty when the workflow itself timed out
  std::string error;
  std::uint32_t attempts = 0;
  bool operator==(const workflow_failed&) const = default;
};
struct workflow_cancelled {
  std::string reason;
  bool operator==(const workflow_cancelled&) const = default;
};
struct step_retried_from_dead_letter {
  std::string step;
  bool operator==(const step_retried_from_dead_letter&) const = default;
};
}  // namespace ev

using event_body =
    std::variant<ev::workflow_started, ev::step_scheduled, ev::step_started, ev::step_completed,
                 ev::step_failed, ev::step_retry_scheduled, ev::step_timed_out, ev::signal_received,
                 ev::workflow_completed, ev::workflow_failed, ev::workflow_cancelled,
                 ev::step_retried_from_dead_letter>;

// Every event carries its time, so apply() stays pure and history shows "at".
struct event {
  std::int64_t at_ms = 0;
  event_body body;
  bool operator==(const event&) const = default;
};

// -- decisions ------------------------------------------------------------------

enum class rejection_code : std::uint8_t {
  not_found,       // no such workflow (not started)            -> 404
  already_exists,  // start of an existing id                   -> 409
  finished,        // command on a completed/failed/cancelled wf -> 409
  invalid,         // unknown step, nothing to retry, bad input -> 400
  limit,           // a bound is reached (signals, payload)     -> 413/429
};

struct rejection {
  rejection_code code = rejection_code::invalid;
  std::string message;
  std::optional<workflow_status> status;  // the current status, when started
};

using decision = core::expected<std::vector<event>, rejection>;

// How decide() runs steps. With inline_noop, a `noop` step (whose result is always {})
// is run by the command that schedules it: StepScheduled, StepStarted and
// StepCompleted {} follow each other in that command's events, then what it made ready
// is scheduled, so a run of noop steps (or a whole noop workflow) is persisted in one
// write, like a Temporal local activity recorded with its workflow task. The history
// reads as if the dispatcher had run it. Without it, noop goes to the task dispatcher
// like every other task (and a SCHEDULED noop step recovered from the journal does
// either way).
struct decide_options {
  bool inline_noop = false;
};

[[nodiscard]] decision decide(const workflow_state& state, const command& c, std::int64_t now_ms,
                              decide_options options = {});
[[nodiscard]] workflow_state apply(workflow_state state, const event& e);
// The same fold, in place: what apply() does to its copy. Used where the state is owned
// (decide's working copy, the entity), so no state is moved per event.
void apply_in_place(workflow_state& state, const event& e);

// Backoff before attempt `run_attempt + 1` after run attempt `run_attempt` (1-based)
// failed: initial * coefficient^(run_attempt - 1), capped at maxInterval.
[[nodiscard]] std::int64_t retry_delay_ms(const retry_policy& p, std::uint32_t run_attempt);

// The outputs of the steps `def` depends on, in its dependsOn order (shared, not copied):
// what its task receives (task_request) and what its placeholders read.
[[nodiscard]] std::vector<step_output> dependency_outputs(const workflow_state& s,
                                                          const step_definition& def);

// When timer step `def` of `s`, started at `started_ms`, ends its wait (definition.hpp,
// k_timer_task: {"ms"} or {"until"}, placeholders resolved against `s`); or why its
// input gives no time. Pure: decide and apply (its StepStarted) agree on it.
[[nodiscard]] core::expected<std::int64_t, std::string> timer_step_due(const workflow_state& s,
                                                                       const step_definition& def,
                                                                       std::int64_t started_ms);

[[nodiscard]] std::string_view to_string(workflow_status s);
[[nodiscard]] std::string_view to_string(step_status s);
[[nodiscard]] std::string_view to_string(timer_kind k);

}  // namespace wfe::workflow
