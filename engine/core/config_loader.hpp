#pragma once
// Builds the node's effective configuration from its layers, highest precedence first:
//   1. -Dkey=value overrides (command line; the last of repeated keys wins)
//   2. environment: PEKKO_HOSTNAME, PEKKO_PORT, PEKKO_ROLES, PEKKO_SEED_NODES
//   3. the config file (-Dconfig.file / --config), or the resource named by
//      -Dconfig.resource, or else the compiled-in application.conf
//   4. the compiled-in reference.conf (every key with its documented default)
// then resolves substitutions once over the stacked layers, as Lightbend Config's
// ConfigFactory.load does.

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/config/config.hpp"

namespace wfe::core {

struct config_sources {
  std::optional<std::filesystem::path> config_file;
  std::optional<std::string> config_resource;
  std::vector<std::pair<std::string, std::string>> overrides;  // in command-line order
  env_reader env;                                              // empty: std::getenv
};

// The environment variables the node reads and the config path each one sets.
struct env_override {
  std::string_view variable;
  std::string_view path;
  bool is_list;  // PEKKO_ROLES / PEKKO_SEED_NODES: '["a","b"]' or 'a,b'
};
const std::vector<env_override>& env_overrides();

// Parse options that resolve classpath includes against the compiled-in resources.
config_parse_options resource_parse_options();

config_result<config> load_config(const config_sources& sources);

}  // namespace wfe::core
