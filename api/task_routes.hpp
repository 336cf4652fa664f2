#pragma once
// The external-worker API (DESIGN.md §9):
//   POST /api/v1/tasks/poll               {"queue","workerId","waitMs"?}
//        -> 200 {"token","workflowId","step","attempt","task","input","priority",
//                "heartbeatTimeoutMs"} | 204 (nothing within waitMs) | 429 too_many_pollers
//   POST /api/v1/tasks/{token}/complete   {"output":any}            -> 200 {"duplicate":bool}
//   POST /api/v1/tasks/{token}/fail       {"error","errorType"?,"nonRetryable"?,"details"?}
//                                                                    -> 200 {"duplicate":bool}
//   POST /api/v1/tasks/{token}/heartbeat  (body ignored)
//        -> 200 {"cancelRequested":bool}
//   GET  /api/v1/tasks/queues
//        -> 200 {"local":{"queued","parked","running"},"queues":[{"name","queued",
//        "parked","pollers","leases"}] (in use, by name; at most max-queues),
//        "waitingForAQueue"}; queued and parked are {"high","normal","low"}
//   GET  /api/v1/tasks/queues/{name}      -> 200 that queue (zeros when not in use) |
//        400 invalid_queue
// Unknown/expired token -> 404 task_not_found; bad JSON / wrong types -> 400; a body
// over max_result_bytes -> 413. Handlers parse and validate on the HTTP thread, then
// message a gateway actor, which asks the dispatcher (task_messages.hpp) with a bounded
// request and completes the response; HTTP threads never touch actor state.

#include <chrono>
#include <cstdint>

#include <caf/fwd.hpp>

#include "api/http/router.hpp"

namespace wfe::api {

struct task_routes_config {
  caf::actor_system* system = nullptr;
  caf::actor* dispatcher = nullptr;             // from workflow::spawn_task_dispatcher
  std::chrono::milliseconds ask_timeout{5000};  // bound on each dispatcher request
  // Copy these from workflow::task_settings (poll_wait_max bounds the poll request:
  // waitMs above it are clamped by the dispatcher; keep it below the HTTP request-timeout).
  std::chrono::milliseconds poll_wait_max{15'000};
  std::uint64_t max_result_bytes = 1ULL << 20;
};

// Spawns the gateway actor and adds the routes; returns the gateway so the caller can
// stop it at shutdown.
caf::actor add_task_routes(router& r, const task_routes_config& cfg);

}  // namespace wfe::api
