#include "api/node_routes.hpp"

#include <chrono>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>

#include "cluster/cluster_view.hpp"
#include "cluster/membership.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::api::responder)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::cluster::cluster_view)

namespace wfe::api {

namespace {

using health_atom = caf::atom_constant<caf::atom("health")>;
using ready_atom = caf::atom_constant<caf::atom("ready")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;

using clock = std::chrono::steady_clock;

boost::json::array to_json(const std::vector<std::string>& v) {
  return boost::json::array(v.begin(), v.end());
}

std::string render_stats(const cluster::cluster_view& v, const std::string& version,
                         clock::time_point started) {
  boost::json::array nodes;
  for (const auto& m : v.members) {
    nodes.push_back({{"address", m.address},
                     {"uid", std::to_string(m.uid)},
                     {"status", cluster::to_string(m.status)},
                     {"roles", to_json(m.roles)},
                     {"appVersion", m.app_version}});
  }
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(clock::now() - started);
  boost::json::object o{
      {"members", v.up_count()},
      {"status", cluster::to_string(v.self_status)},
      {"leader", v.leader.empty() ? boost::json::value(nullptr) : boost::json::value(v.leader)},
      {"self", v.self_address},
      {"selfUid", std::to_string(v.self_uid)},
      {"roles", to_json(v.self_roles)},
      {"unreachable", to_json(v.unreachable)},
      {"nodes", std::move(nodes)},
      {"version", version},
      {"uptimeSeconds", uptime.count()}};
  return boost::json::serialize(o);
}

http_response unavailable(const caf::error& e) {
  return http_response::error(503, "unavailable",
                              "the node did not answer in time: " + caf::to_string(e));
}

caf::behavior gateway(caf::event_based_actor* self, const node_routes_config& cfg) {
  auto started = clock::now();
  auto membership = *cfg.membership;
  return {
      [](health_atom, const responder& r) { r(http_response::json(200, R"({"status":"UP"})")); },
      [self, membership, cfg](ready_atom, const responder& r) {
        self->request(membership, cfg.ask_timeout, cluster::get_view_atom::value)
            .then(
                [r](const cluster::cluster_view& v) {
                  bool up = v.self_status == cluster::member_status::up;
                  boost::json::object o{{"ready", up},
                                        {"status", cluster::to_string(v.self_status)}};
                  r(http_response::json(up ? 200 : 503, boost::json::serialize(o)));
                },
                [r](caf::error& e) { r(unavailable(e)); });
      },
      [self, membership, cfg, started](stats_atom, const responder& r) {
        self->request(membership, cfg.ask_timeout, cluster::get_view_atom::value)
            .then(
                [r, version = cfg.version, started](const cluster::cluster_view& v) {
                  r(http_response::json(200, render_stats(v, version, started)));
                },
                [r](caf::error& e) { r(unavailable(e)); });
      },
  };
}

template <class Atom>
http_handler forward_to(caf::actor gw) {
  return [gw = std::move(gw)](http_request&&, responder r) {
    caf::anon_send(gw, Atom::value, std::move(r));
  };
}

}  // namespace

caf::actor add_node_routes(router& r, const node_routes_config& cfg) {
  auto gw = cfg.system->spawn(gateway, cfg);
  r.add("GET", "/health", forward_to<health_atom>(gw));
  r.add("GET", "/ready", forward_to<ready_atom>(gw));
  r.add("GET", "/api/v1/cluster/stats", forward_to<stats_atom>(gw));
  return gw;
}

}  // namespace wfe::api
