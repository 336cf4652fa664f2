#pragma once
// CAF message types of task execution (local-only: never sent to another node).
//
// Runtime <-> dispatcher (task_protocol.hpp):
//   task_request                         runtime -> dispatcher, fire and forget
//   task_update                          dispatcher -> sink
//   task_abandon                         runtime -> dispatcher, fire and forget
// External-worker API (api/task_routes.cpp -> dispatcher, request/response):
//   (task_poll_atom, external_poll)            -> poll_reply  (answered when a task
//                                                 arrives or the wait ends)
//   (task_complete_atom, token, external_completion) -> token_reply
//   (task_fail_atom, token, external_failure)  -> token_reply
//   (task_heartbeat_atom, token)               -> token_reply
// Runtime -> dispatcher:
//   (task_recovering_atom, bool)  true while the runtime wakes the workflows it found
//                                 interrupted at start: a token without a task is then
//                                 `recovering` (its attempt may be queued again soon),
//                                 not `not_found`
// Pulls in CAF: include it from .cpp files only.

#include <cstdint>
#include <string>

#include <boost/json/value.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "engine/workflow/task_protocol.hpp"

namespace wfe::workflow {

using task_poll_atom = caf::atom_constant<caf::atom("tpoll")>;
using task_complete_atom = caf::atom_constant<caf::atom("tcomplete")>;
using task_fail_atom = caf::atom_constant<caf::atom("tfail")>;
using task_heartbeat_atom = caf::atom_constant<caf::atom("theartbeat")>;
using task_recovering_atom = caf::atom_constant<caf::atom("trecover")>;

struct external_poll {
  std::string queue;          // a valid id (the <name> of "queue:<name>")
  std::string worker_id;      // for logs and the lease (free text, bounded by the route)
  std::int64_t wait_ms = -1;  // < 0: the configured default; clamped to the maximum
};

struct poll_reply {
  enum class status : std::uint8_t { task, empty, too_many_pollers, too_many_queues };
  status what = status::empty;
  std::string token;  // task
  task_request request;
  std::int64_t heartbeat_timeout_ms = 0;
};

struct external_completion {
  boost::json::value output;
};

struct external_failure {
  std::string error;       // message
  std::string error_type;  // empty: "external"
  bool non_retryable = false;
  boost::json::value details;  // "details": any JSON (null: none), kept in StepFailed
};

struct token_reply {
  enum class status : std::uint8_t { ok, duplicate, not_found, recovering };
  status what = status::ok;
  // A heartbeat's: the attempt was abandoned (task_abandon: its step timed out, its
  // workflow was cancelled or failed); the worker should stop, its answer is ignored.
  bool cancel_requested = false;
};

}  // namespace wfe::workflow

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::task_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::task_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::task_abandon)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::external_poll)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::poll_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::external_failure)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::token_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::external_completion)
