#include "engine/core/cli.hpp"

#include <charconv>
#include <climits>
#include <cstdint>

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

// Takes the value after a flag; an error message when it is missing.
std::string take_value(const std::vector<std::string>& argv, std::size_t& i, std::string& out) {
  if (i + 1 >= argv.size() || argv[i + 1].starts_with("--")) {
    return argv[i] + " needs a value";
  }
  out = argv[++i];
  return {};
}

// Flags of the backup and restore subcommands; "" when `a` was consumed, else an error.
std::string parse_command_flag(const std::vector<std::string>& argv, std::size_t& i,
                               cli_options& o) {
  std::string_view a = argv[i];
  std::string value;
  if (o.command == "backup" && (a == "--to" || a == "--list")) {
    if (auto err = take_value(argv, i, value); !err.empty()) return err;
    (a == "--to" ? o.backup.to : o.backup.list) = value;
  } else if (o.command == "restore" && a == "--from") {
    if (auto err = take_value(argv, i, value); !err.empty()) return err;
    o.restore.from = value;
  } else if (o.command == "restore" && a == "--backup-id") {
    if (auto err = take_value(argv, i, value); !err.empty()) return err;
    unsigned long id = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), id);
    if (ec != std::errc{} || end != value.data() + value.size() || id == 0 || id > UINT32_MAX) {
      return "--backup-id needs a positive number, got \"" + value + "\"";
    }
    o.restore.backup_id = static_cast<std::uint32_t>(id);
  } else if (o.command == "restore" && a == "--force") {
    o.restore.force = true;
  } else {
    return "unknown option \"" + std::string(a) + "\" for \"" + o.command + "\" (see --help)";
  }
  return {};
}

std::string check_command(const cli_options& o) {
  if (o.command == "backup" && o.backup.to.empty() == o.backup.list.empty()) {
    return "backup needs exactly one of --to DIR or --list DIR";
  }
  if (o.command == "restore" && o.restore.from.empty()) return "restore needs --from DIR";
  return {};
}

}  // namespace

expected<cli_options, std::string> parse_cli(const std::vector<std::string>& argv) {
  cli_options o;
  bool have_command = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    std::string_view a = argv[i];
    std::string err;
    if (a.starts_with("-D")) {
      err = parse_define(a, o);
    } else if (a == "--config" || a == "-c") {
      std::string value;
      err = take_value(argv, i, value);
      o.sources.config_file = value;
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
      if (o.command != "run" && o.command != "backup" && o.command != "restore") {
        err = "unknown command \"" + o.command + "\" (see --help)";
      }
    } else if (have_command && o.command != "run") {
      err = parse_command_flag(argv, i, o);
    } else {
      err = "unknown option \"" + std::string(a) + "\" (see --help)";
    }
    if (!err.empty()) return unexpected{err};
  }
  if (o.help || o.version) return o;
  if (auto err = check_command(o); !err.empty()) return unexpected{err};
  return o;
}

std::string usage_text() {
  return R"(Usage: workflow-engine [run] [options]
       workflow-engine backup --to DIR | --list DIR [options]
       workflow-engine restore --from DIR [--backup-id N] [--force] [options]

run (default)   starts a cluster node: HTTP API, Prometheus metrics, actors, journal.
backup --to     takes an incremental, consistent backup of the journal and the
                snapshot store into DIR; while a node runs on this config it asks
                that node (POST /api/v1/admin/backup), else it opens the stores itself.
backup --list   lists the backups in DIR.
restore --from  restores backup N (default: the latest) of DIR into the configured
                journal and snapshot directories of a stopped node; refuses non-empty
                directories unless --force.

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

Exit codes: 0 success, 1 failure, 2 bad command line or configuration,
            3 storage unusable (corrupt or locked journal / snapshot store).
)";
}

}  // namespace wfe::core
