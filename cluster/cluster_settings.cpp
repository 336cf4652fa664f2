#include "cluster/cluster_settings.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "engine/core/settings_reader.hpp"
#include "engine/core/tls.hpp"

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

namespace {

// pekko.remote.artery.transport: "tcp", or "tls-tcp" with the rotating-keys engine's
// PEM files (each must be a readable file: a node that cannot authenticate does not
// start).
void read_transport(core::settings_reader& r, cluster_settings& s) {
  constexpr std::string_view k_transport = "pekko.remote.artery.transport";
  const auto transport = r.non_empty_string(k_transport);
  if (transport == "tcp" || transport.empty()) return;
  if (transport != "tls-tcp") {
    r.fail(k_transport, "must be tcp or tls-tcp, got \"" + transport + "\"");
    return;
  }
  // Pekko's default engine reads Java key stores (config-ssl-engine.key-store); only the
  // rotating-keys engine's PEM files are read here. Say so instead of naming PEM files
  // such a config never set.
  constexpr std::string_view k_provider = "pekko.remote.artery.ssl.ssl-engine-provider";
  const bool rotating =
      r.cfg().has(k_provider) && r.string(k_provider).ends_with("RotatingKeysSSLEngineProvider");
  if (!rotating && (r.cfg().has(k_provider) ||
                    r.cfg().has("pekko.remote.artery.ssl.config-ssl-engine.key-store"))) {
    r.fail(r.cfg().has(k_provider) ? k_provider
                                   : "pekko.remote.artery.ssl.config-ssl-engine.key-store",
           "transport tls-tcp reads PEM files only: set ssl-engine-provider = "
           "org.apache.pekko.remote.artery.tcp.ssl.RotatingKeysSSLEngineProvider and "
           "ssl.rotating-keys-engine.{cert-file,key-file,ca-cert-file} (Java key stores of "
           "config-ssl-engine are not supported)");
    return;
  }
  cluster_settings::transport_tls tls;
  const std::pair<std::string_view, std::string*> files[] = {
      {"pekko.remote.artery.ssl.rotating-keys-engine.cert-file", &tls.cert_file},
      {"pekko.remote.artery.ssl.rotating-keys-engine.key-file", &tls.key_file},
      {"pekko.remote.artery.ssl.rotating-keys-engine.ca-cert-file", &tls.ca_cert_file}};
  for (const auto& [key, out] : files) {
    *out = r.non_empty_string(key);
    if (out->empty()) continue;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*out, ec) || ::access(out->c_str(), R_OK) != 0) {
      r.fail(key, "transport tls-tcp needs a readable file: " + *out);
    }
  }
  tls.connection_timeout =
      r.duration("pekko.remote.artery.advanced.tcp.connection-timeout",
                 std::chrono::milliseconds{100}, std::chrono::milliseconds{600'000});
  tls.reload_interval =
      r.duration_or_off("pekko.remote.artery.ssl.rotating-keys-engine.ssl-context-cache-ttl",
                        std::chrono::milliseconds{100}, std::chrono::hours{24 * 365});
  tls.max_connections = static_cast<std::size_t>(
      r.integer("pekko.workflow.transport.tls.max-connections", 2, 100'000));
  tls.buffer_size = static_cast<std::size_t>(
      r.bytes("pekko.workflow.transport.tls.buffer-size", 4096, 16 * 1024 * 1024));
  tls.require_same_subject = r.boolean("pekko.workflow.transport.tls.require-same-subject");
  if (auto policy = core::read_tls_policy(r, "pekko.remote.artery.ssl.rotating-keys-engine")) {
    tls.policy = std::move(*policy);
  }
  s.tls = std::move(tls);
}

}  // namespace

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
  read_transport(r, s);
  return s;
}

}  // namespace wfe::cluster
