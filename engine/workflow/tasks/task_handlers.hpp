#pragma once
// The C++ task handler registry. A handler is a named function run on the dispatcher's
// worker pool (detached threads, at most pekko.workflow.max-workers at once), so it may
// block. Register every handler before the node starts serving (definitions are
// validated against known_task_types()); registration is thread-safe anyway.
//
//   auto handlers = std::make_shared<wfe::workflow::task_handlers>();
//   handlers->register_handler("charge", [](const boost::json::value& input,
//                                           const wfe::workflow::task_context& ctx) {
//     if (!input.is_object()) return task_result::failure("invalid_input", "object expected");
//     // ctx.workflow_input: the workflow's input; ctx.output_of("reserve"): the output
//     // of a step this one depends on.
//     return task_result::success({{"charged", true}, {"attempt", ctx.attempt}});
//   });
//
// A running handler cannot be interrupted: it holds its worker slot until it returns. A
// long one should check ctx.cancelled() now and then and return when it turns true: when
// its answer is no longer wanted (its step timed out — at the latest a second after the
// step's timeoutMs — or its workflow was cancelled or failed; the result is then
// dropped) and when the node shuts down (which waits for handlers). One that does not
// shows in the workflow_tasks_cancelled_running gauge and is logged 10 s after its cancel.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json/value.hpp>

#include "engine/workflow/task_protocol.hpp"

namespace wfe::workflow {

struct task_context {
  std::string workflow_id;
  std::string step;
  std::uint32_t attempt = 0;  // life-long attempt number of the step
  task_priority priority = task_priority::normal;
  std::int64_t timeout_ms = 0;  // the step's timeoutMs (0 = none): bound your work by it
  // Set by the dispatcher when the result is no longer wanted (see above); none = never.
  std::shared_ptr<const std::atomic<bool>> cancel;
  // The workflow's input ({} when its start gave none) and the outputs of the
  // steps this one depends on (its dependsOn order): task_request's.
  json_ref workflow_input{};
  std::vector<step_output> dependency_outputs{};

  // The output of `step`, one of the steps this one depends on; nullptr for any other.
  [[nodiscard]] const boost::json::value* output_of(std::string_view step) const {
    for (const auto& d : dependency_outputs) {
      if (d.step == step) return &*d.output;
    }
    return nullptr;
  }

  // True once the attempt is given up: return (any result) to free the worker slot.
  [[nodiscard]] bool cancelled() const { return cancel && cancel->load(std::memory_order_relaxed); }
};

struct task_result {
  bool ok = true;
  boost::json::value output;  // ok
  std::string error_type;     // !ok: matched against the step's nonRetryable list
  std::string message;        // !ok

  static task_result success(boost::json::value output = boost::json::object{}) {
    return {true, std::move(output), {}, {}};
  }
  static task_result failure(std::string error_type, std::string message) {
    return {false, nullptr, std::move(error_type), std::move(message)};
  }
};

using task_handler =
    std::function<task_result(const boost::json::value& input, const task_context& ctx)>;

class task_handlers {
 public:
  // False (nothing registered) when `name` is not a valid id, is a built-in, starts
  // with "queue:" or is already registered. An exception thrown by a handler fails the
  // task with error_type "handler_exception".
  bool register_handler(std::string name, task_handler fn);

  // The handler registered under `name`, or null.
  [[nodiscard]] std::shared_ptr<const task_handler> find(std::string_view name) const;
  // Registered handler names, sorted.
  [[nodiscard]] std::vector<std::string> names() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const task_handler>> handlers_;
};

// Built-ins (builtin_task_types()) followed by the registered handler names: the list
// parse_definition() validates step task types against ("queue:<name>" is always valid).
[[nodiscard]] std::vector<std::string> known_task_types(const task_handlers* handlers);

}  // namespace wfe::workflow
