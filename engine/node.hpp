#pragma once
// Runs a node until a shutdown is triggered (signal or module), then shuts down.

#include <signal.h>

#include "engine/node_settings.hpp"

namespace wfe::engine {

// SIGTERM and SIGINT (shutdown) and SIGHUP (reopen the log file, reload the API token
// file): main blocks them before any thread exists; the node takes them with sigwait on
// one thread, so no handler ever runs on an actor or I/O thread.
sigset_t handled_signals();

// Returns the process exit code.
int run_node(const node_settings& s, const char* version);

}  // namespace wfe::engine
