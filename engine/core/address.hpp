#pragma once
// A node address in Pekko's format: pekko://<system>@<host>:<port>.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wfe::core {

struct address {
  std::string system;
  std::string host;
  std::uint16_t port = 0;

  // "pekko://system@host:port"
  [[nodiscard]] std::string to_string() const;

  // Parses "pekko://system@host:port" (also "pekko.tcp://" and "akka://" spellings are
  // refused with a clear message). On failure returns nullopt and sets `why`.
  static std::optional<address> parse(std::string_view text, std::string* why = nullptr);

  // Pekko orders members by host, then port (system names are equal in a cluster).
  auto operator<=>(const address&) const = default;
};

// A valid actor-system name: [A-Za-z0-9][A-Za-z0-9_-]* (as Pekko requires).
bool is_valid_system_name(std::string_view name);

}  // namespace wfe::core
