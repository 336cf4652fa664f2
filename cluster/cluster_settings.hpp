#pragma once
// Validated cluster settings: this node's address, seeds, roles, sharding.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/address.hpp"
#include "engine/core/tls.hpp"

namespace wfe::core {
class settings_reader;
}

namespace wfe::cluster {

// The roles a node can carry (pekko.cluster.roles).
inline constexpr std::string_view role_coordinator = "coordinator";
inline constexpr std::string_view role_worker = "worker";
inline constexpr std::string_view role_api_gateway = "api-gateway";

struct sharding_settings {
  std::uint32_t number_of_shards = 100;
  std::chrono::milliseconds passivate_idle_entity_after{120'000};
};

// pekko.remote.artery.transport = tls-tcp: connections between nodes over TLS with
// mutual authentication (cluster/tls_relay.hpp): this node's PEM certificate and key and
// the CA(s) a peer's certificate must come from (pekko.remote.artery.ssl.
// rotating-keys-engine.*, the PEM files of Pekko's RotatingKeysSSLEngineProvider), and
// the relay's bounds.
struct transport_tls_settings {
  std::string cert_file;
  std::string key_file;
  std::string ca_cert_file;
  // pekko.remote.artery.advanced.tcp.connection-timeout: TCP connect + TLS handshake.
  std::chrono::milliseconds connection_timeout{5000};
  // ...rotating-keys-engine.ssl-context-cache-ttl: how often the files are checked for
  // changes (modification time, size) and re-read when they changed (0 = off: SIGHUP
  // only).
  std::chrono::milliseconds reload_interval{300'000};
  // pekko.workflow.transport.tls.*: TLS connections open at once (both directions
  // together; beyond, new ones are closed at once) and the buffer per direction of each.
  std::size_t max_connections = 256;
  std::size_t buffer_size = 64 * 1024;
  // pekko.workflow.transport.tls.require-same-subject: a peer's certificate must share
  // a subject name (its CN or a DNS subjectAltName) with this node's certificate, the
  // check Pekko's rotating-keys engine makes: a CA that also signs for other services
  // does not make them members.
  bool require_same_subject = true;
  // ...rotating-keys-engine.{protocol,enabled-algorithms}: the versions and cipher suites
  // offered (engine/core/tls.hpp; default "TLS", OpenSSL's suites).
  core::tls_policy policy;
};

struct cluster_settings {
  std::string system_name;
  core::address self;           // canonical address: how others reach this node
  std::string bind_hostname;    // where to listen (defaults to self.host)
  std::uint16_t bind_port = 0;  // where to listen (defaults to self.port)
  std::vector<core::address> seed_nodes;
  std::vector<std::string> roles;  // validated, duplicates removed, config order
  sharding_settings sharding;
  // pekko.remote.artery.transport = tls-tcp (cluster/tls_relay.hpp); empty: plain TCP.
  using transport_tls = transport_tls_settings;
  std::optional<transport_tls> tls;

  [[nodiscard]] bool has_role(std::string_view role) const;

  // pekko.actor.system-name, pekko.remote.artery.*, pekko.cluster.*
  static cluster_settings read(core::settings_reader& r);
};

}  // namespace wfe::cluster
