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
  s.management = api::cluster_management_settings::read(r);
  s.workflow_runtime = workflow::runtime::runtime_settings::read(r);
  s.workflow_runtime.number_of_shards = s.cluster.sharding.number_of_shards;
  s.workflow_runtime.passivate_idle_after = s.cluster.sharding.passivate_idle_entity_after;
  s.tasks = workflow::task_settings::read(r);
  s.store = workflow::store::store_settings::read(r, s.persistence.journal_dir);
  s.store.index.bytes_per_sync = s.persistence.journal_bytes_per_sync;
  if (r.ok()) return true;
  err << "workflow-engine: invalid configuration:\n" << core::describe(r.errors()) << "\n";
  return false;
}

}  // namespace wfe::engine
