#pragma once
// The cluster transport endpoint: CAF's io middleman (BASP) listening on the bind
// address, with the node's membership actor published there for peers.

#include <cstdint>
#include <string>

#include <caf/fwd.hpp>

#include "cluster/cluster_settings.hpp"
#include "engine/core/expected.hpp"

namespace wfe::cluster {

// Listens on settings.bind_hostname:bind_port. Fails with a message naming the
// address (e.g. the port is taken by another process).
core::expected<std::uint16_t, std::string> open_transport(caf::actor_system& sys,
                                                          const caf::actor& node_actor,
                                                          const cluster_settings& settings);

}  // namespace wfe::cluster
