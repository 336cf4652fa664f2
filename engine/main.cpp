// workflow-engine: parses the command line and the config, validates every module's
// settings, then runs the node or an admin command (backup, restore).

#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <string>
#include <vector>

#include "engine/admin_commands.hpp"
#include "engine/core/cli.hpp"
#include "engine/core/config_loader.hpp"
#include "engine/node.hpp"
#include "engine/node_settings.hpp"

namespace {

const char* const version = WFE_VERSION;

}  // namespace

int main(int argc, char** argv) {
  using namespace wfe::engine;
  auto signals = handled_signals();  // blocked before any thread exists
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::vector<std::string> args(argv + 1, argv + argc);
  auto opts = wfe::core::parse_cli(args);
  if (!opts) {
    std::cerr << "workflow-engine: " << opts.error() << "\n";
    return exit_usage;
  }
  if (opts->help) {
    std::cout << wfe::core::usage_text();
    return exit_ok;
  }
  if (opts->version) {
    std::cout << "workflow-engine " << version << "\n";
    return exit_ok;
  }
  auto cfg = wfe::core::load_config(opts->sources);
  if (!cfg) {
    std::cerr << "workflow-engine: configuration error: " << cfg.error().describe() << "\n";
    return exit_usage;
  }
  if (opts->print_config) {
    std::cout << cfg->render() << "\n";
    return exit_ok;
  }
  node_settings settings;
  if (!read_node_settings(*cfg, settings, std::cerr)) return exit_usage;
  if (opts->command == "backup") return run_backup(settings, opts->backup);
  if (opts->command == "restore") return run_restore(settings, opts->restore);
  return run_node(settings, version);
}
