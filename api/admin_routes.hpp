#pragma once
// Administrative routes: POST /api/v1/admin/backup {"dir"?: "..."} takes an online
// backup of the journal and the snapshot store (the backup actor does the copying).

#include <chrono>
#include <string>

#include <caf/fwd.hpp>

#include "api/http/router.hpp"

namespace wfe::api {

struct admin_routes_config {
  caf::actor_system* system = nullptr;
  caf::actor* backup_actor = nullptr;
  std::string default_backup_dir;  // reported when the request names no directory
  std::chrono::milliseconds backup_timeout{20'000};
};

// Spawns the admin gateway actor and adds the routes; returns the gateway so the
// caller can stop it at shutdown.
caf::actor add_admin_routes(router& r, const admin_routes_config& cfg);

}  // namespace wfe::api
