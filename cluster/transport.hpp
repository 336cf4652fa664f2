#pragma once
// The cluster transport endpoint: CAF's io middleman (BASP) with the node's membership
// actor published for peers. With pekko.remote.artery.transport = tls-tcp, BASP
// listens on 127.0.0.1 only and a tls_relay carries every connection between nodes
// over mutual TLS (cluster/tls_relay.hpp).

#include <cstdint>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "cluster/cluster_settings.hpp"
#include "engine/core/expected.hpp"

namespace wfe::cluster {

class tls_relay;

// With settings.tls: loads the certificate, key and CA and listens on the bind address
// (an error names the file or the address). Without: null.
core::expected<std::shared_ptr<tls_relay>, std::string> start_tls_relay(
    const cluster_settings& settings);

// Publishes node_actor: on settings.bind_hostname:bind_port, or behind `relay` on an
// ephemeral loopback port. Returns the port peers connect to. Fails with a message
// naming the address (e.g. the port is taken by another process).
core::expected<std::uint16_t, std::string> open_transport(caf::actor_system& sys,
                                                          const caf::actor& node_actor,
                                                          const cluster_settings& settings,
                                                          tls_relay* relay = nullptr);

// Connects to the node actor published at host:port, through `relay` when set.
// Blocks: call it off the actor threads.
core::expected<caf::actor, std::string> connect_transport(caf::actor_system& sys,
                                                          const std::string& host,
                                                          std::uint16_t port,
                                                          tls_relay* relay = nullptr);

}  // namespace wfe::cluster
