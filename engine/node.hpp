#pragma once
// Runs a node until a shutdown is triggered (signal or module), then shuts down.

#include "engine/node_settings.hpp"

namespace wfe::engine {

// Returns the process exit code.
int run_node(const node_settings& s, const char* version);

}  // namespace wfe::engine
