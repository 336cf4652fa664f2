#include "engine/node_settings.hpp"

#include <ostream>

#include "engine/core/settings_reader.hpp"

namespace wfe::engine {

bool read_node_settings(const core::config& cfg, node_settings& s, std::ostream& err) {
  core::settings_reader r(cfg);
  s.logging = core::logging_settings::read(r);
  s.actors = core::actor_system_settings::read(r);
  s.shutdown = core::shutdown_settings::read(r);
  s.cluster = cluster::cluster_settings::read(r);
  s.membership = cluster::membership_settings::read(r);
  s.persistence = persistence::persistence_settings::read(r);
  s.api = api::api_settings::read(r);
  if (r.ok()) return true;
  err << "workflow-engine: invalid configuration:\n" << core::describe(r.errors()) << "\n";
  return false;
}

}  // namespace wfe::engine
