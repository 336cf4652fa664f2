#pragma once
// The contract between the workflow runtime (entities, region) and the task
// dispatcher (built-in tasks, C++ handlers, external workers). CAF-free plain structs;
// task_messages.hpp declares them as (local-only) CAF message types.
//
// Flow
// - An entity persisted StepScheduled{step, attempt}: the runtime sends a
//   `task_request` to the dispatcher (fire and forget).
// - The dispatcher answers with `task_update`s sent to the sink actor it was spawned
//   with (the runtime's region), which routes them by workflow id to the entity:
//     rejected  -> the dispatcher's queue of that priority is full; nothing queued.
//                  The runtime re-submits later (bounded backoff); a restart re-submits
//                  every SCHEDULED step anyway.
//                  (Sent only when the queue's parking lot is full too.)
//     resubmit  -> the queue was full, the request's identity was parked, and now a
//                  slot is free (reserved for it): re-dispatch the attempt at once.
//                  Stale attempts ignore it (the reservation then expires).
//     started   -> an executor / an external worker took the attempt (cmd::task_started)
//     completed -> cmd::task_completed{output}
//     failed    -> cmd::task_failed{error_type, message}
//   Updates for stale attempts are harmless: the model ignores them.
// - An entity whose attempt's answer is no longer wanted sends a `task_abandon`.
// - Task types (step.task): a built-in (`noop`, `sleep`, `fail`, `http`), a C++ handler
//   registered by name, or `queue:<name>` — run by external workers polling queue
//   <name> over HTTP (POST /api/v1/tasks/poll {"queue":"<name>",...}).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "engine/workflow/json_ref.hpp"

namespace wfe::workflow {

enum class task_priority : std::uint8_t { high, normal, low };

[[nodiscard]] std::string_view to_string(task_priority p);
// "high" | "normal" | "low"; false for anything else.
[[nodiscard]] bool parse_priority(std::string_view s, task_priority& out);

// Prefix of task types served by external workers: "queue:<queue name>".
inline constexpr std::string_view k_external_task_prefix = "queue:";

// A completed step's output, as the steps that depend on it receive it.
struct step_output {
  std::string step;
  json_ref output;
  bool operator==(const step_output&) const = default;
};

struct task_request {
  std::string workflow_id;
  std::string step;
  std::uint32_t attempt = 0;  // the step's attempt number over the workflow's life
  std::string task;           // the step's task type
  json_ref input;             // the step's input (shared with its definition)
  // What the workflow knows when it dispatches the step, shared with its state (no
  // copies): its start's input ({} when a start over HTTP gave none), and the outputs of the steps this one
  // depends on, in its dependsOn order — how data flows from the start and from one
  // step to the next. Each is at most k_payload_bytes_max.
  json_ref workflow_input{};
  std::vector<step_output> dependency_outputs{};
  task_priority priority = task_priority::normal;
  std::int64_t timeout_ms = 0;  // the step's timeoutMs (0 = none); the entity's timer
                                // enforces it, executors may use it to bound their work
  // Times the dispatcher refused this attempt before (queue and parking lot full); it
  // echoes the count in its `rejected` update, so the runtime's re-offers back off
  // exponentially (runtime_settings::resubmit_delay).
  std::uint32_t rejections = 0;
};

// Runtime -> dispatcher, fire and forget: the answer of this attempt is no longer
// wanted (its step timed out, or its workflow was cancelled or failed). What still waits
// for a slot is dropped; a running C++ handler sees task_context::cancelled(); a `sleep`
// gives its slot back. Nothing is answered. Unknown attempts are ignored.
struct task_abandon {
  std::string workflow_id;
  std::string step;
  std::uint32_t attempt = 0;
};

struct task_update {
  enum class kind : std::uint8_t { rejected, started, completed, failed, resubmit };
  kind what = kind::completed;
  std::string workflow_id;
  std::string step;
  std::uint32_t attempt = 0;
  boost::json::value output;  // completed: the output; failed: its details (null: none)
  std::string error_type;     // failed: matched against the step's nonRetryable list
  std::string message;        // failed / rejected / resubmit: human-readable
  // failed: the executor says retrying cannot help (an external worker's
  // "nonRetryable":true); the runtime may treat it like a nonRetryable error type.
  bool non_retryable = false;
  // completed / failed: the attempt finished before its start was reported (noop, fail,
  // bad input), so this update reports the start too: the runtime records StepStarted
  // with the result in one journal write instead of two.
  bool started = false;
  // started, and completed / failed with `started`: how long before this update the
  // attempt began. The dispatcher holds a start report back for up to
  // tasks.start-report-delay, so that an attempt ending within it reports its start with
  // its result (one journal write, not two); StepStarted is still dated when it began.
  std::int64_t started_ago_ms = 0;
  // completed / failed, from an external worker: called once, on the entity's thread,
  // when its workflow has recorded the result durably (true) or could not record it
  // (false, why). The worker's HTTP answer waits for it. Empty: nobody waits.
  std::function<void(bool recorded, std::string why)> on_recorded;
  // rejected: the request's `rejections` (times refused before this one).
  std::uint32_t rejections = 0;
};

}  // namespace wfe::workflow
