#pragma once
// Routes about the node itself: GET /health (503 DOWN naming each component that only a
// restart mends, core/health.hpp), GET /ready, GET /api/v1/cluster/stats,
// GET /api/v1/cluster/members[/{address}], GET /api/v1/cluster/sbr, and the writes
// DELETE /api/v1/cluster/members/{address} (leave) and PUT .../{address} with
// operation=down|leave (form or JSON), refused with 403 while management is read-only.
// Handlers never touch actor state: they message the gateway actor, which asks the
// membership actor and completes the HTTP response when the answer arrives.

#include <chrono>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "api/http/router.hpp"
#include "engine/core/health.hpp"

namespace wfe::api {

struct node_routes_config {
  caf::actor_system* system = nullptr;
  caf::actor* membership = nullptr;  // answers cluster::get_view_atom
  std::string version;
  std::chrono::milliseconds ask_timeout{5000};  // bound on every actor request
  bool read_only = true;  // pekko.workflow.management.read-only: no DELETE/PUT on members
  // GET /health: 503 DOWN while a component is down in it; null: always UP.
  std::shared_ptr<const core::health> health{};
};

// Spawns the gateway actor and adds the routes; returns the gateway so the caller
// can stop it at shutdown.
caf::actor add_node_routes(router& r, const node_routes_config& cfg);

}  // namespace wfe::api
