#include "cluster/transport.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>

namespace wfe::cluster {

core::expected<std::uint16_t, std::string> open_transport(caf::actor_system& sys,
                                                          const caf::actor& node_actor,
                                                          const cluster_settings& s) {
  auto port = sys.middleman().publish(node_actor, s.bind_port, s.bind_hostname.c_str(),
                                      /*reuse_addr=*/true);
  if (!port) {
    return core::unexpected{"cannot listen for cluster transport on " + s.bind_hostname + ":" +
                            std::to_string(s.bind_port) + ": " + sys.render(port.error())};
  }
  return *port;
}

}  // namespace wfe::cluster
