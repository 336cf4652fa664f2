#include "api/node_routes.hpp"

#include <algorithm>
#include <chrono>
#include <functional>

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
using members_atom = caf::atom_constant<caf::atom("members")>;
using member_atom = caf::atom_constant<caf::atom("member")>;

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

boost::json::object member_json(const cluster::member_info& m) {
  return {{"node", m.address},
          {"nodeUid", std::to_string(m.uid)},
          {"status", cluster::to_string(m.status)},
          {"roles", to_json(m.roles)}};
}

bool counts_for_age(const cluster::member_info& m) {
  return m.status == cluster::member_status::up || m.status == cluster::member_status::leaving;
}

// Oldest = lowest up-number among Up/Leaving members (address order breaks ties).
const cluster::member_info* oldest(const cluster::cluster_view& v, std::string_view role) {
  const cluster::member_info* best = nullptr;
  for (const auto& m : v.members) {
    if (!counts_for_age(m)) continue;
    if (!role.empty() && std::find(m.roles.begin(), m.roles.end(), role) == m.roles.end()) continue;
    if (best == nullptr || m.up_number < best->up_number) best = &m;
  }
  return best;
}

// Pekko Management's shape, so its tooling reads it (DESIGN.md §9).
std::string render_members(const cluster::cluster_view& v) {
  boost::json::array members;
  boost::json::object oldest_per_role;
  for (const auto& m : v.members) {
    members.push_back(member_json(m));
    for (const auto& role : m.roles) {
      if (oldest_per_role.contains(role)) continue;
      if (const auto* o = oldest(v, role)) oldest_per_role[role] = o->address;
    }
  }
  boost::json::array unreachable;
  for (const auto& u : v.unreachable_detail) {
    unreachable.push_back({{"node", u.address}, {"observedBy", to_json(u.observed_by)}});
  }
  const auto* o = oldest(v, "");
  boost::json::object out{
      {"selfNode", v.self_address},
      {"members", std::move(members)},
      {"unreachable", std::move(unreachable)},
      {"leader", v.leader.empty() ? boost::json::value(nullptr) : boost::json::value(v.leader)},
      {"oldest", o == nullptr ? boost::json::value(nullptr) : boost::json::value(o->address)},
      {"oldestPerRole", std::move(oldest_per_role)}};
  return boost::json::serialize(out);
}

http_response render_member(const cluster::cluster_view& v, const std::string& address) {
  for (const auto& m : v.members) {
    if (m.address == address)
      return http_response::json(200, boost::json::serialize(member_json(m)));
  }
  return http_response::error(404, "member_not_found", "no member " + address);
}

http_response unavailable(const caf::error& e) {
  return http_response::error(503, "unavailable",
                              "the node did not answer in time: " + caf::to_string(e));
}

caf::behavior gateway(caf::event_based_actor* self, const node_routes_config& cfg) {
  auto started = clock::now();
  auto membership = *cfg.membership;
  // Every route of this gateway answers from the membership actor's current view.
  auto ask_view = [self, membership, timeout = cfg.ask_timeout](
                      const responder& r,
                      std::function<http_response(const cluster::cluster_view&)> f) {
    self->request(membership, timeout, cluster::get_view_atom::value)
        .then([r, f](const cluster::cluster_view& v) { r(f(v)); },
              [r](caf::error& e) { r(unavailable(e)); });
  };
  return {
      [ask_view](members_atom, const responder& r) {
        ask_view(r, [](const auto& v) { return http_response::json(200, render_members(v)); });
      },
      [ask_view](member_atom, const std::string& address, const responder& r) {
        ask_view(r, [address](const auto& v) { return render_member(v, address); });
      },
      [](health_atom, const responder& r) { r(http_response::json(200, R"({"status":"UP"})")); },
      [ask_view](ready_atom, const responder& r) {
        ask_view(r, [](const auto& v) {
          bool up = v.self_status == cluster::member_status::up;
          boost::json::object o{{"ready", up}, {"status", cluster::to_string(v.self_status)}};
          return http_response::json(up ? 200 : 503, boost::json::serialize(o));
        });
      },
      [ask_view, version = cfg.version, started](stats_atom, const responder& r) {
        ask_view(r, [version, started](const auto& v) {
          return http_response::json(200, render_stats(v, version, started));
        });
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
  r.add("GET", "/api/v1/cluster/members", forward_to<members_atom>(gw));
  r.add("GET", "/api/v1/cluster/members/{address}", [gw](http_request&& req, responder respond) {
    caf::anon_send(gw, member_atom::value, req.params["address"], std::move(respond));
  });
  return gw;
}

}  // namespace wfe::api
