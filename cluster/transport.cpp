#include "cluster/transport.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>

#include "cluster/tls_relay.hpp"

namespace wfe::cluster {

core::expected<std::shared_ptr<tls_relay>, std::string> start_tls_relay(const cluster_settings& s) {
  if (!s.tls) return std::shared_ptr<tls_relay>{};
  tls_relay_options o;
  static_cast<transport_tls_settings&>(o) = *s.tls;
  o.bind_host = s.bind_hostname;
  o.bind_port = s.bind_port;
  auto relay = tls_relay::start(std::move(o));
  if (!relay) return core::unexpected{std::move(relay).error()};
  return std::shared_ptr<tls_relay>(std::move(relay).value());
}

core::expected<std::uint16_t, std::string> open_transport(caf::actor_system& sys,
                                                          const caf::actor& node_actor,
                                                          const cluster_settings& s,
                                                          tls_relay* relay) {
  const std::string host = relay != nullptr ? "127.0.0.1" : s.bind_hostname;
  const std::uint16_t want = relay != nullptr ? 0 : s.bind_port;
  auto port = sys.middleman().publish(node_actor, want, host.c_str(), /*reuse_addr=*/true);
  if (!port) {
    return core::unexpected{"cannot listen for cluster transport on " + host + ":" +
                            std::to_string(want) + ": " + sys.render(port.error())};
  }
  if (relay == nullptr) return *port;
  relay->set_local_port(*port);
  return relay->port();
}

core::expected<caf::actor, std::string> connect_transport(caf::actor_system& sys,
                                                          const std::string& host,
                                                          std::uint16_t port, tls_relay* relay) {
  std::string to = host;
  if (relay != nullptr) {
    auto local = relay->local_port_for(host, port);
    if (!local) return core::unexpected{std::move(local).error()};
    to = "127.0.0.1";
    port = *local;
  }
  auto r = sys.middleman().remote_actor(to, port);
  if (!r) return core::unexpected{sys.render(r.error())};
  return *r;
}

}  // namespace wfe::cluster
