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
//   (task_queues_atom)                         -> queues_report (the local pool and every
//                                                 external queue in use, by name)
// Runtime -> dispatcher:
//   (task_recovering_atom, bool)  true while the runtime wakes the workflows it found
//                                 interrupted at start: a token without a task is then
//                                 `recovering` (its attempt may be queued again soon),
//                                 not `not_found`
// Pulls in CAF: include it from .cpp files only.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

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
using task_queues_atom = caf::atom_constant<caf::atom("tqueues")>;

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

// One destination's backlog: tasks queued and identities parked per priority (high,
// normal, low), parked polls, and what runs: local tasks executing, or an external
// queue's leases.
struct queue_report {
  std::string name;  // the external queue's; empty for the local pool
  std::array<std::uint64_t, 3> queued{};
  std::array<std::uint64_t, 3> parked{};
  std::uint64_t pollers = 0;
  std::uint64_t running = 0;
};

struct queues_report {
  queue_report local;
  std::vector<queue_report> queues;       // external queues in use, by name; at most max-queues
  std::uint64_t waiting_for_a_queue = 0;  // parked because max-queues are in use
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
  // unavailable: a complete/fail its workflow could not record (the journal failed, the
  // workflow was busy), or one sent while another answer of the task is being
  // recorded; the lease stays and the worker should retry.
  enum class status : std::uint8_t { ok, duplicate, not_found, recovering, unavailable };
  status what = status::ok;
  // A heartbeat's: the attempt was abandoned (task_abandon: its step timed out, its
  // workflow was cancelled or failed); the worker should stop, its answer is ignored.
  bool cancel_requested = false;
  std::string message{};  // unavailable: why
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
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::queues_report)
