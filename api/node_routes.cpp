#include "api/node_routes.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>

#include "api/responder_message.hpp"
#include "cluster/cluster_view.hpp"
#include "cluster/membership.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::cluster::cluster_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::cluster::sbr_view)

namespace wfe::api {

namespace {

using health_atom = caf::atom_constant<caf::atom("health")>;
using ready_atom = caf::atom_constant<caf::atom("ready")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using members_atom = caf::atom_constant<caf::atom("members")>;
using member_atom = caf::atom_constant<caf::atom("member")>;
using sbr_atom = caf::atom_constant<caf::atom("sbr")>;
using member_op_atom = caf::atom_constant<caf::atom("memberop")>;

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
    // "pekko://system@host:port" or, as Pekko Management also accepts, "system@host:port".
    auto scheme = m.address.find("://");
    bool host_port = scheme != std::string::npos && m.address.substr(scheme + 3) == address;
    if (m.address == address || host_port)
      return http_response::json(200, boost::json::serialize(member_json(m)));
  }
  return http_response::error(404, "member_not_found", "no member " + address);
}

std::string iso8601(std::int64_t epoch_ms) {
  std::time_t secs = epoch_ms / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(epoch_ms % 1000));
  return out;
}

std::string render_sbr(const cluster::sbr_view& v) {
  boost::json::object o{
      {"enabled", v.enabled},
      {"strategy", v.strategy},
      {"stableAfterMs", v.stable_after_ms},
      {"downAllWhenUnstableMs", v.down_all_when_unstable_ms},
      {"stable", v.stable},
      {"stableForMs", v.stable_for_ms},
      {"stableSince", iso8601(v.stable_since_epoch_ms)},
      {"decision", v.decision},
      {"actsNow", v.acts_now},
      {"isLeader", v.is_leader},
      {"leader", v.leader.empty() ? boost::json::value(nullptr) : boost::json::value(v.leader)},
      {"nodesToDown", to_json(v.nodes_to_down)},
      {"unreachable", to_json(v.unreachable)},
      {"reachableCount", v.reachable_count},
      {"unreachableCount", v.unreachable_count},
      {"reason", v.reason}};
  return boost::json::serialize(o);
}

// PUT's operation, from a form (Pekko Management's `operation=Down`) or a JSON body
// ({"operation":"down"}); lower-cased. Empty when missing or unreadable.
std::string operation_of(const http_request& req) {
  std::string op;
  auto type = req.header("content-type");
  bool json = type.find("json") != std::string_view::npos ||
              (type.empty() && !req.body.empty() && req.body.front() == '{');
  if (json) {
    boost::system::error_code ec;
    auto v = boost::json::parse(req.body, ec);
    if (ec || !v.is_object()) return {};
    const auto* o = v.as_object().if_contains("operation");
    if (o == nullptr || !o->is_string()) return {};
    op = std::string(o->as_string());
  } else {
    const std::string query = "?" + req.body;  // the parsed view points into it
    auto form = boost::urls::parse_relative_ref(query);
    if (!form) return {};
    auto it = form->params().find("operation");
    if (it == form->params().end()) {
      auto q = req.query.find("operation");
      if (q == req.query.end()) return {};
      op = q->second;
    } else {
      op = (*it).value;
    }
  }
  for (auto& c : op) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return op;
}

http_response member_op_done(const std::string& op, const std::string& asked,
                             const std::string& address) {
  if (address.empty()) {
    return http_response::error(404, "member_not_found", "Member [" + asked + "] not found");
  }
  boost::json::object o{{"message", (op == "down" ? "Downing " : "Leaving ") + address}};
  return http_response::json(200, boost::json::serialize(o));
}

http_response node_unavailable(const caf::error& e) {
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
              [r](caf::error& e) { r(node_unavailable(e)); });
  };
  return {
      [ask_view](members_atom, const responder& r) {
        ask_view(r, [](const auto& v) { return http_response::json(200, render_members(v)); });
      },
      [ask_view](member_atom, const std::string& address, const responder& r) {
        ask_view(r, [address](const auto& v) { return render_member(v, address); });
      },
      [self, membership, timeout = cfg.ask_timeout](sbr_atom, const responder& r) {
        self->request(membership, timeout, cluster::get_sbr_atom::value)
            .then([r](const cluster::sbr_view& v) { r(http_response::json(200, render_sbr(v))); },
                  [r](caf::error& e) { r(node_unavailable(e)); });
      },
      [self, membership, timeout = cfg.ask_timeout](
          member_op_atom, const std::string& op, const std::string& address, const responder& r) {
        auto done = [r, op, address](const std::string& found) {
          r(member_op_done(op, address, found));
        };
        auto failed = [r](caf::error& e) { r(node_unavailable(e)); };
        if (op == "down") {
          self->request(membership, timeout, cluster::down_member_atom::value, address)
              .then(done, failed);
        } else {
          self->request(membership, timeout, cluster::leave_member_atom::value, address)
              .then(done, failed);
        }
      },
      [health = cfg.health](health_atom, const responder& r) {
        const auto down = health ? health->down() : decltype(health->down()){};
        if (down.empty()) return r(http_response::json(200, R"({"status":"UP"})"));
        boost::json::array components;
        for (const auto& [component, reason] : down) {
          components.push_back({{"component", component}, {"reason", reason}});
        }
        boost::json::object o{{"status", "DOWN"}, {"down", std::move(components)}};
        r(http_response::json(503, boost::json::serialize(o)));
      },
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
  r.add("GET", "/api/v1/cluster/sbr", forward_to<sbr_atom>(gw));
  // Pekko Management's writes on a member; refused unless management is writable.
  auto read_only = cfg.read_only;
  auto refuse = [](responder& respond) {
    respond(http_response::error(
        403, "read_only",
        "cluster management is read-only; set pekko.workflow.management.read-only = false"));
  };
  r.add("DELETE", "/api/v1/cluster/members/{address}",
        [gw, read_only, refuse](http_request&& req, responder respond) {
          if (read_only) return refuse(respond);
          caf::anon_send(gw, member_op_atom::value, std::string("leave"), req.params["address"],
                         std::move(respond));
        });
  r.add("PUT", "/api/v1/cluster/members/{address}",
        [gw, read_only, refuse](http_request&& req, responder respond) {
          if (read_only) return refuse(respond);
          auto op = operation_of(req);
          if (op != "down" && op != "leave") {
            respond(http_response::error(
                400, "bad_operation",
                "operation must be \"down\" or \"leave\" (form field or JSON member)"));
            return;
          }
          caf::anon_send(gw, member_op_atom::value, op, req.params["address"], std::move(respond));
        });
  return gw;
}

}  // namespace wfe::api
