#pragma once
// Command-line parsing for the node and its subcommands. Java-style flags
// (-Dconfig.file=..., -Dkey=value) work as they do for a Pekko deployment.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/config_loader.hpp"
#include "engine/core/expected.hpp"

namespace wfe::core {

// `workflow-engine backup --to DIR` / `backup --list DIR`
struct backup_command {
  std::filesystem::path to;    // create a backup here (empty: not asked)
  std::filesystem::path list;  // list the backups here (empty: not asked)
};

// `workflow-engine restore --from DIR [--backup-id N] [--force]`
struct restore_command {
  std::filesystem::path from;
  std::optional<std::uint32_t> backup_id;  // nullopt: the latest
  bool force = false;
};

struct cli_options {
  std::string command = "run";  // "run" (default), "backup" or "restore"
  config_sources sources;
  backup_command backup;
  restore_command restore;
  bool help = false;
  bool version = false;
  bool print_config = false;  // print the effective config and exit
};

// Fails with a message naming the offending argument.
expected<cli_options, std::string> parse_cli(const std::vector<std::string>& argv);

std::string usage_text();

}  // namespace wfe::core
