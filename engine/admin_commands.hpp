#pragma once
// `workflow-engine backup ...` and `workflow-engine restore ...`: they read the same
// config (-Dconfig.file, -D, PEKKO_*) as the node to find its directories.

#include "engine/core/cli.hpp"
#include "engine/node_settings.hpp"

namespace wfe::engine {

// Return the process exit code; messages go to stdout / stderr.
int run_backup(const node_settings& s, const core::backup_command& cmd);
int run_restore(const node_settings& s, const core::restore_command& cmd);

}  // namespace wfe::engine
