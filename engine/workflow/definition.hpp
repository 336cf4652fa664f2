#pragma once
// Workflow definitions: a named, versioned DAG of steps (DESIGN.md §8–§9).
//
// parse_definition() turns the body of POST /api/v1/workflow-definitions into a
// validated definition or a validation_error naming the field ("steps[2].retry.
// maxAttempts") and the step. Nothing here throws; Boost.JSON errors are caught at
// this boundary. A parsed definition has version 0: the registry that stores it
// assigns the version (a new one on each change).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "engine/core/expected.hpp"
#include "engine/workflow/json_ref.hpp"

namespace wfe::workflow {

// Limits (TIGER_STYLE: a bound on everything). Config-free for now.
inline constexpr std::size_t k_id_bytes_max = 256;
inline constexpr std::size_t k_steps_max = 1000;
inline constexpr std::size_t k_depends_on_max = 1000;
inline constexpr std::size_t k_step_input_bytes_max = 64 * 1024;
// A definition is journaled once, as the registry's event (a WorkflowStarted names it,
// workflow_codec.hpp); it must fit one journal write (pekko.persistence.journal.
// max-batch-bytes, default 4 MiB), as must a v1 start, which carried it with its input.
inline constexpr std::size_t k_definition_bytes_max = 1024 * 1024;
inline constexpr std::size_t k_non_retryable_max = 64;
inline constexpr std::uint32_t k_max_attempts_max = 10'000;
inline constexpr std::int64_t k_interval_ms_max = 7LL * 24 * 3600 * 1000;  // a week
// A timer step may wait long ("remind me in a year"): its wait is a durable timer in the
// index, which costs nothing while it is far.
inline constexpr std::int64_t k_timer_ms_max = 3650LL * 24 * 3600 * 1000;  // ten years
// Step and workflow timeouts: as far (an approval a worker may take months over); each is
// a durable timer too, and a C++ handler's deadline is one entry in the dispatcher.
inline constexpr std::int64_t k_timeout_ms_max = k_timer_ms_max;
inline constexpr double k_backoff_coefficient_max = 100.0;

struct retry_policy {
  // Defaults: no retries unless asked for; when asked, Temporal-like backoff.
  std::uint32_t max_attempts = 1;
  std::int64_t initial_interval_ms = 1000;
  double backoff_coefficient = 2.0;
  std::int64_t max_interval_ms = 60'000;
  std::vector<std::string> non_retryable;  // error types that fail at once

  bool operator==(const retry_policy&) const = default;
};

struct step_definition {
  std::string name;
  std::string task;
  json_ref input;  // null when absent; shared with every task request of the step
  std::vector<std::string> depends_on;
  retry_policy retry;
  std::int64_t timeout_ms = 0;  // start-to-close; 0 = none

  bool operator==(const step_definition&) const = default;
};

struct workflow_definition {
  std::string name;
  std::uint32_t version = 0;  // 0 until the registry stores it
  std::vector<step_definition> steps;

  bool operator==(const workflow_definition&) const = default;
};

// An immutable workflow definition shared by every workflow that runs it: a registered
// version never changes, so workflows started from it (and those recovered from the
// journal, through intern()) hold one copy between them instead of one each. Compares
// by content. Never null: default-constructed it is the empty definition.
class definition_ref {
 public:
  definition_ref();
  definition_ref(workflow_definition d);  // NOLINT(google-explicit-constructor): a value
  explicit definition_ref(std::shared_ptr<const workflow_definition> p);

  const workflow_definition& operator*() const noexcept { return *p_; }
  const workflow_definition* operator->() const noexcept { return p_.get(); }
  [[nodiscard]] const std::shared_ptr<const workflow_definition>& ptr() const noexcept {
    return p_;
  }
  friend bool operator==(const definition_ref& a, const definition_ref& b) {
    return a.p_ == b.p_ || *a.p_ == *b.p_;
  }

 private:
  std::shared_ptr<const workflow_definition> p_;
};

// The process-wide copy of `d` (same name, version and content) if a live one exists,
// else `d`, remembered for the next caller. Thread-safe; holds weak references only.
[[nodiscard]] definition_ref intern(definition_ref d);

// The registered definitions of one node by {name, version}, for decoding: a journaled
// WorkflowStarted (and a workflow snapshot) names its definition instead of carrying
// it (workflow_codec.hpp). The definition registry (store/definition_registry.hpp)
// fills it as it recovers and before it answers a registration, so every version a
// start can use is in it before the start is persisted; the runtime recovers no
// workflow before the registry has recovered (runtime/workflow_runtime.hpp). Bounded
// by the registry's limits (pekko.workflow.definitions.max-definitions x max-versions).
// Thread-safe: the registry writes, shards read while recovering entities.
class definition_catalog {
 public:
  definition_catalog();
  ~definition_catalog();
  definition_catalog(const definition_catalog&) = delete;
  definition_catalog& operator=(const definition_catalog&) = delete;

  // Adds `d` (its version set) or replaces the entry of the same name and version.
  void put(definition_ref d);
  [[nodiscard]] std::optional<definition_ref> find(std::string_view name,
                                                   std::uint32_t version) const;
  [[nodiscard]] std::size_t size() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// A 400 naming the field (JSON path from the body's root) and, in the message, the step.
struct validation_error {
  std::string field;
  std::string message;
};

template <class T>
using validated = core::expected<T, validation_error>;

// Ids (workflow ids, definition names, step names): 1–256 bytes of [A-Za-z0-9._:-].
[[nodiscard]] bool is_valid_id(std::string_view id) noexcept;

// Whether `v` serializes to more than `max_bytes`: counted in 4 KiB chunks of the
// serializer and stopped once over, so no string of the value's size is built. The
// bound of step inputs here and of workflow inputs, outputs and signal payloads.
[[nodiscard]] bool json_larger_than(const boost::json::value& v, std::size_t max_bytes);

// Validates an id; the error names `field`.
[[nodiscard]] validated<std::string> check_id(std::string_view id, std::string_view field);

// At registration: why a step's static input can never run for its task type, or nullopt
// (tasks/builtin_tasks.hpp: check_builtin_input, with the node's task settings).
using task_input_check = std::function<std::optional<std::string>(std::string_view task,
                                                                  const boost::json::value& input)>;

// Parses and validates the JSON body. `known_tasks`: built-ins plus registered types;
// `check_input`, when set, refuses a step whose input its task could never run with.
[[nodiscard]] validated<workflow_definition> parse_definition(
    std::string_view body, std::span<const std::string> known_tasks,
    const task_input_check& check_input = {});
[[nodiscard]] validated<workflow_definition> parse_definition_value(
    const boost::json::value& body, std::span<const std::string> known_tasks,
    const task_input_check& check_input = {});

// The definition as JSON in the request's shape, plus "version" (GET and storage).
[[nodiscard]] boost::json::value to_json(const workflow_definition& def);

// Storage: a stored definition is re-validated on load, except for task types (a
// handler may be gone; the workflow then fails at that step, not at load).
inline constexpr std::string_view k_definition_manifest = "wf.definition.v1.json";
[[nodiscard]] std::string encode_definition(const workflow_definition& def);
[[nodiscard]] validated<workflow_definition> decode_definition(std::string_view payload);
[[nodiscard]] validated<workflow_definition> decode_definition_value(
    const boost::json::value& stored);

// The built-in task types (DESIGN.md §8), "signal" and "timer" included.
[[nodiscard]] std::span<const std::string> builtin_task_types();

// A step of task "signal" runs nothing: it waits for the signal its input names
// ({"name":"approved"}), and completes with that signal's payload as its output — at
// once when the workflow received it before (workflow_model.hpp). Its timeoutMs bounds
// the wait like any attempt (then its retry policy, then the dead letters).
inline constexpr std::string_view k_signal_task = "signal";
// The signal a step waits for; empty unless it is a signal step.
[[nodiscard]] std::string_view awaited_signal(const step_definition& s);

// A step of task "timer" runs nothing either: it waits on a durable timer (Temporal's
// workflow timer), so it holds no worker slot, survives restarts and passivation without
// starting over, and completes with {} when the timer fires. Its input is {"ms": N}
// (0 ≤ N ≤ k_timer_ms_max, from the step's start) or {"until": "<RFC 3339 time>"} (at
// most k_timer_ms_max after the start; a past time completes at once); either value
// may be a placeholder (placeholders.hpp) resolved when the step starts, e.g.
// {"until":"${workflow.input.remindAt}"} (workflow_model.hpp: timer_step_due). Unlike the
// task "sleep" (an activity that sleeps in a worker slot and starts over after a crash).
inline constexpr std::string_view k_timer_task = "timer";
// At registration: why a timer step's input is none of those; nullopt when it is.
[[nodiscard]] std::optional<std::string> check_timer_input(const step_definition& s);
// An RFC 3339 time ("2026-12-24T09:00:00Z", "…:00.250+01:00") in ms since the epoch.
[[nodiscard]] std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text);
// Signal and timer steps: the workflow itself runs them; nothing is dispatched.
[[nodiscard]] inline bool runs_no_task(const step_definition& s) {
  return s.task == k_signal_task || s.task == k_timer_task;
}

}  // namespace wfe::workflow
