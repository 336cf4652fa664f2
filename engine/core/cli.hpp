#pragma once
// Command-line parsing for the node and its subcommands. Java-style flags
// (-Dconfig.file=..., -Dkey=value) work as they do for a Pekko deployment.

#include <string>
#include <vector>

#include "engine/core/config_loader.hpp"
#include "engine/core/expected.hpp"

namespace wfe::core {

struct cli_options {
  std::string command = "run";    // the first positional word; "run" when absent
  std::vector<std::string> args;  // positional words and --flags after the command
  config_sources sources;
  bool help = false;
  bool version = false;
  bool print_config = false;  // print the effective config and exit
};

// Fails with a message naming the offending argument.
expected<cli_options, std::string> parse_cli(const std::vector<std::string>& argv);

std::string usage_text();

}  // namespace wfe::core
