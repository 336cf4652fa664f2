#pragma once
// Every module's settings of one node, read and validated together at start-up.

#include <iosfwd>

#include "api/api_settings.hpp"
#include "api/cluster_management_settings.hpp"
#include "cluster/cluster_settings.hpp"
#include "cluster/membership_settings.hpp"
#include "engine/core/actor_runtime.hpp"
#include "engine/core/config/config.hpp"
#include "engine/core/coordinated_shutdown.hpp"
#include "engine/core/logging.hpp"
#include "engine/workflow/runtime/runtime_settings.hpp"
#include "engine/workflow/store/store_settings.hpp"
#include "engine/workflow/tasks/task_settings.hpp"
#include "persistence/persistence_settings.hpp"

namespace wfe::engine {

inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;    // bad command line or configuration
inline constexpr int exit_storage = 3;  // journal / snapshot store corrupt or locked

struct node_settings {
  core::logging_settings logging;
  core::actor_system_settings actors;
  core::shutdown_settings shutdown;
  cluster::cluster_settings cluster;
  cluster::membership_settings membership;  // validated now; the protocol is wired next
  persistence::persistence_settings persistence;
  api::api_settings api;
  api::cluster_management_settings management;  // pekko.workflow.management.*
  // The workflow runtime: sharding bounds + pekko.workflow.runtime (number-of-shards and
  // passivate-idle-entity-after copied from `cluster.sharding`), tasks, store.
  workflow::runtime::runtime_settings workflow_runtime;
  workflow::task_settings tasks;
  workflow::store::store_settings store;
};

// Reads every module's keys; on failure prints all problems to `err` and returns false.
bool read_node_settings(const core::config& cfg, node_settings& out, std::ostream& err);

}  // namespace wfe::engine
