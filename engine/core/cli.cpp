#include "engine/core/cli.hpp"

namespace wfe::core {

namespace {

using result = expected<cli_options, std::string>;

// Handles "-Dkey=value"; returns an error message or "".
std::string parse_define(std::string_view arg, cli_options& o) {
  auto body = arg.substr(2);
  auto eq = body.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return "expected -Dkey=value, got \"" + std::string(arg) + "\"";
  }
  auto key = std::string(body.substr(0, eq));
  auto value = std::string(body.substr(eq + 1));
  if (key == "config.file") {
    o.sources.config_file = value;
  } else if (key == "config.resource") {
    o.sources.config_resource = value;
  } else {
    o.sources.overrides.emplace_back(std::move(key), std::move(value));
  }
  return {};
}

}  // namespace

expected<cli_options, std::string> parse_cli(const std::vector<std::string>& argv) {
  cli_options o;
  bool have_command = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    std::string_view a = argv[i];
    if (a.starts_with("-D")) {
      if (auto err = parse_define(a, o); !err.empty()) return unexpected{err};
    } else if (a == "--config" || a == "-c") {
      if (i + 1 >= argv.size()) return unexpected{std::string("--config needs a file path")};
      o.sources.config_file = argv[++i];
    } else if (a.starts_with("--config=")) {
      o.sources.config_file = std::string(a.substr(9));
    } else if (a == "--help" || a == "-h") {
      o.help = true;
    } else if (a == "--version") {
      o.version = true;
    } else if (a == "--print-config") {
      o.print_config = true;
    } else if (!have_command && !a.starts_with('-')) {
      o.command = std::string(a);
      have_command = true;
    } else if (have_command) {
      o.args.emplace_back(a);  // subcommand arguments, validated by the subcommand
    } else {
      return unexpected{"unknown option \"" + std::string(a) + "\" (see --help)"};
    }
  }
  if (o.command != "run") {
    return unexpected{"unknown command \"" + o.command + "\" (see --help)"};
  }
  if (!o.args.empty()) {
    return unexpected{"unexpected argument \"" + o.args.front() + "\" (see --help)"};
  }
  return o;
}

std::string usage_text() {
  return R"(Usage: workflow-engine [options]

Starts a cluster node: HTTP API, Prometheus metrics and the actor system.

Options:
  -Dconfig.file=PATH     load PATH instead of the compiled-in application.conf
  --config PATH          same as -Dconfig.file=PATH
  -Dconfig.resource=NAME load a compiled-in resource (application.conf,
                         application-prod.conf)
  -Dkey=value            override any config key (highest precedence); values
                         starting with '[' or '{' are parsed as HOCON
  --print-config         print the effective configuration and exit
  --help                 show this text
  --version              print the version

Environment (override the config file, overridden by -D):
  PEKKO_HOSTNAME    pekko.remote.artery.canonical.hostname
  PEKKO_PORT        pekko.remote.artery.canonical.port
  PEKKO_ROLES       pekko.cluster.roles, e.g. '["worker"]' or 'worker,api-gateway'
  PEKKO_SEED_NODES  pekko.cluster.seed-nodes, a list or comma-separated URIs

Exit codes: 0 clean shutdown, 2 bad command line or configuration, 1 other failure.
)";
}

}  // namespace wfe::core
