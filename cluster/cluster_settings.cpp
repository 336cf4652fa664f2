#include "cluster/cluster_settings.hpp"

#include <algorithm>

#include "engine/core/settings_reader.hpp"

namespace wfe::cluster {

namespace {

constexpr std::string_view k_system = "pekko.actor.system-name";
constexpr std::string_view k_host = "pekko.remote.artery.canonical.hostname";
constexpr std::string_view k_port = "pekko.remote.artery.canonical.port";
constexpr std::string_view k_bind_host = "pekko.remote.artery.bind.hostname";
constexpr std::string_view k_bind_port = "pekko.remote.artery.bind.port";
constexpr std::string_view k_seeds = "pekko.cluster.seed-nodes";
constexpr std::string_view k_roles = "pekko.cluster.roles";

std::vector<std::string> read_roles(core::settings_reader& r) {
  std::vector<std::string> roles;
  for (auto& role : r.string_list(k_roles)) {
    if (role != role_coordinator && role != role_worker && role != role_api_gateway) {
      r.fail(k_roles, "unknown role \"" + role + "\" (known: coordinator, worker, api-gateway)");
    } else if (std::find(roles.begin(), roles.end(), role) == roles.end()) {
      roles.push_back(std::move(role));
    }
  }
  if (r.ok() && roles.empty()) {
    r.fail(k_roles, "at least one role is required: coordinator, worker or api-gateway");
  }
  return roles;
}

std::vector<core::address> read_seeds(core::settings_reader& r, const std::string& system) {
  std::vector<core::address> seeds;
  for (const auto& uri : r.string_list(k_seeds)) {
    std::string why;
    auto a = core::address::parse(uri, &why);
    if (!a) {
      r.fail(k_seeds, "malformed seed node \"" + uri + "\": " + why);
    } else if (!system.empty() && a->system != system) {
      r.fail(k_seeds, "seed node \"" + uri + "\" names actor system \"" + a->system +
                          "\" but this node's is \"" + system + "\" (" + std::string(k_system) +
                          ")");
    } else {
      seeds.push_back(std::move(*a));
    }
  }
  return seeds;
}

// bind.port is "" (use the canonical port) or a port number.
std::uint16_t read_bind_port(core::settings_reader& r, std::uint16_t canonical) {
  auto text = r.cfg().get_string(k_bind_port);
  if (text && text->empty()) return canonical;
  return r.port(k_bind_port);
}

void read_sharding(core::settings_reader& r, sharding_settings& s) {
  using std::chrono::milliseconds;
  s.number_of_shards =
      static_cast<std::uint32_t>(r.integer("pekko.cluster.sharding.number-of-shards", 1, 100'000));
  s.passivate_idle_entity_after = r.duration("pekko.cluster.sharding.passivate-idle-entity-after",
                                             milliseconds(1), milliseconds(365LL * 86'400'000));
}

}  // namespace

bool cluster_settings::has_role(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

cluster_settings cluster_settings::read(core::settings_reader& r) {
  cluster_settings s;
  s.system_name = r.non_empty_string(k_system);
  if (!s.system_name.empty() && !core::is_valid_system_name(s.system_name)) {
    r.fail(k_system, "invalid actor system name \"" + s.system_name +
                         "\" (letters, digits, '-' and '_', starting with a letter or digit)");
  }
  s.self.system = s.system_name;
  s.self.host = r.non_empty_string(k_host);
  s.self.port = r.port(k_port);
  std::string why;
  if (!s.self.host.empty() && !core::address::parse(s.self.to_string(), &why)) {
    r.fail(k_host, why);
  }
  s.bind_hostname = r.string(k_bind_host);
  if (s.bind_hostname.empty()) s.bind_hostname = s.self.host;
  s.bind_port = read_bind_port(r, s.self.port);
  s.seed_nodes = read_seeds(r, s.system_name);
  s.roles = read_roles(r);
  read_sharding(r, s.sharding);
  return s;
}

}  // namespace wfe::cluster
