#include "cluster/membership_actor.hpp"

#include <deque>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "cluster/tls_relay.hpp"
#include "cluster/transport.hpp"
#include "cluster/wire.hpp"
#include "cluster/wire_envelope.hpp"
#include "engine/core/logging.hpp"

// Local-only message type: never crosses the wire (wire messages are protobuf).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::cluster::cluster_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::cluster::sbr_view)

namespace wfe::cluster {

namespace {

using tick_atom = caf::atom_constant<caf::atom("mbtick")>;
using connected_atom = caf::atom_constant<caf::atom("mbconn")>;
using connect_timeout_atom = caf::atom_constant<caf::atom("mbconnto")>;
using leave_timeout_atom = caf::atom_constant<caf::atom("mbleaveto")>;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::uint64_t random_uid() {
  std::random_device rd;
  std::uint64_t uid = (static_cast<std::uint64_t>(rd()) << 32) | rd();
  return uid == 0 ? 1 : uid;
}

// One remote node as the transport sees it.
struct peer {
  caf::actor handle;                     // valid once connected
  std::optional<std::uint64_t> attempt;  // a lookup is under way
  std::int64_t retry_after_ms = 0;       // after a failed lookup
  std::deque<std::string> queued;        // bytes waiting for the connection
  std::uint64_t dropped = 0;             // queued messages given up (overflow, failure)
};

struct membership_actor_state {
  membership_actor_config cfg;
  std::optional<membership_core> core;
  std::map<core::address, peer> peers;
  std::map<std::uint64_t, core::address> attempts;
  std::uint64_t next_attempt = 1;
  std::vector<caf::response_promise> leave_promises;
  bool leave_requested = false;
  bool termination_reported = false;
  std::string refusal;
  static inline const char* name = "membership";
};

using actor_t = caf::stateful_actor<membership_actor_state>;

spdlog::level::level_enum level_of(event_kind k) {
  switch (k) {
    case event_kind::unreachable_member:
    case event_kind::member_downed:
    case event_kind::join_refused:
      return spdlog::level::warn;
    default:
      return spdlog::level::info;
  }
}

void log_cluster_event(const cluster_event& e) {
  std::vector<core::log_field> fields{{"type", to_string(e.kind)}};
  std::string msg = to_string(e.kind);
  if (e.kind == event_kind::leader_changed) {
    auto leader = e.leader ? e.leader->address.to_string() : std::string{};
    fields.emplace_back("leader", leader);
    msg = "Leader changed to " + (leader.empty() ? std::string("<none>") : leader);
  } else {
    auto addr = e.subject.node.address.to_string();
    fields.emplace_back("member", addr);
    fields.emplace_back("uid", std::to_string(e.subject.node.uid));
    fields.emplace_back("status", to_string(e.subject.status));
    if (e.kind == event_kind::member_removed) {
      fields.emplace_back("previous_status", to_string(e.previous));
    }
    msg += " " + addr;
  }
  if (!e.reason.empty()) {
    fields.emplace_back("reason", e.reason);
    msg += ": " + e.reason;
  }
  core::log_event(*core::logger("cluster"), level_of(e.kind), "CLUSTER_EVENT", fields, msg);
}

// "pekko://system@host:port" or "system@host:port" (Pekko Management accepts both).
const member* find_member(const gossip& g, const std::string& address) {
  for (const auto& m : g.members) {
    auto full = m.node.address.to_string();
    if (full == address || full.substr(full.find("://") + 3) == address) return &m;
  }
  return nullptr;
}

sbr_view explain_sbr(const membership_core& core, const membership_settings& s) {
  sbr_view v;
  const auto& sbr = s.split_brain_resolver;
  v.enabled = sbr.enabled;
  v.strategy = to_string(sbr.strategy);
  v.stable_after_ms = sbr.stable_after.count();
  v.down_all_when_unstable_ms = sbr.down_all_when_unstable.count();
  auto leader = core.leader();
  v.leader = leader ? leader->address.to_string() : std::string{};
  v.is_leader = leader && *leader == core.self();
  for (const auto& n : core.state().unreachable_members()) {
    v.unreachable.push_back(n.address.to_string());
  }
  auto now = now_ms();
  auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  if (!sbr.enabled) {
    v.decision = to_string(sbr_decision::none);
    v.reason =
        "no automatic downing: pekko.cluster.downing-provider-class is empty; "
        "unreachable members stay until an operator downs them";
    return v;
  }
  if (core.phase() != node_phase::member) {
    v.decision = to_string(sbr_decision::none);
    v.reason = std::string("this node is not a cluster member (phase ") + to_string(core.phase()) +
               "): the resolver only runs on members";
    v.stable_since_epoch_ms = wall;
    return v;
  }
  auto r = core.explain_downing(now);
  v.decision = to_string(r.decision);
  v.reason = r.reason.empty() ? "every member is reachable: nothing to decide" : r.reason;
  for (const auto& n : r.nodes_to_down) v.nodes_to_down.push_back(n.address.to_string());
  v.reachable_count = r.reachable_count;
  v.unreachable_count = r.unreachable_count;
  v.stable_for_ms = r.stable_for_ms;
  v.stable = r.stable_for_ms >= r.stable_after_ms;
  v.stable_since_epoch_ms = wall - r.stable_for_ms;
  v.acts_now = r.acts_now;
  return v;
}

void connect(actor_t* self, const core::address& to, peer& p) {
  auto id = self->state.next_attempt++;
  p.attempt = id;
  self->state.attempts[id] = to;
  caf::actor parent = caf::actor_cast<caf::actor>(self);
  auto host = to.host;
  auto port = to.port;
  auto relay = self->state.cfg.relay;
  // The lookup blocks: run it on its own thread, report back by message.
  self->system().spawn<caf::detached>([parent, id, host, port, relay](caf::event_based_actor* s) {
    auto r = connect_transport(s->system(), host, port, relay.get());
    if (r) {
      caf::anon_send(parent, connected_atom::value, id, *r, std::string{});
    } else {
      caf::anon_send(parent, connected_atom::value, id, caf::actor{}, r.error());
    }
    s->quit();
  });
  self->delayed_send(self, self->state.cfg.connect_timeout, connect_timeout_atom::value, id);
}

void give_up_queue(peer& p) {
  p.dropped += p.queued.size();
  p.queued.clear();
}

void send_bytes(actor_t* self, const core::address& to, std::string bytes) {
  auto& st = self->state;
  auto& p = st.peers[to];
  if (p.handle) {
    self->send(p.handle, wire_envelope{std::move(bytes)});
    return;
  }
  if (p.queued.size() >= st.cfg.max_queued_per_peer) {
    p.queued.pop_front();
    if (++p.dropped == 1 || p.dropped % 1000 == 0) {
      core::logger("cluster")->warn("outgoing queue to {} full: dropped {} messages so far",
                                    to.to_string(), p.dropped);
    }
  }
  p.queued.push_back(std::move(bytes));
  if (!p.attempt && now_ms() >= p.retry_after_ms) connect(self, to, p);
}

void connection_failed(actor_t* self, const core::address& to, peer& p, const std::string& why) {
  p.attempt.reset();
  p.retry_after_ms = now_ms() + self->state.cfg.reconnect_backoff.count();
  core::logger("cluster")->debug("cannot reach {} ({}), dropping {} queued messages",
                                 to.to_string(), why, p.queued.size());
  give_up_queue(p);
}

void deliver_leave(actor_t* self) {
  for (auto& rp : self->state.leave_promises) rp.deliver(caf::unit);
  self->state.leave_promises.clear();
}

// Sends what the core produced and handles its events.
void flush(actor_t* self) {
  auto& st = self->state;
  for (auto& out : st.core->take_outgoing()) {
    auto bytes = encode_message(out.message);
    if (!bytes) {
      core::logger("cluster")->error("cannot encode {}: {}", message_name(out.message),
                                     bytes.error());
      continue;
    }
    send_bytes(self, out.to, std::move(bytes.value()));
  }
  for (const auto& w : st.core->take_warnings()) {
    core::logger("cluster")->warn("Cluster Node [{}] - {}", st.core->self().address.to_string(), w);
  }
  auto events = st.core->take_events();
  for (const auto& e : events) {
    if (e.kind == event_kind::join_refused) st.refusal = e.reason;
    log_cluster_event(e);
    if (st.cfg.metrics) st.cfg.metrics->event(e.kind);
    if (st.cfg.on_event) st.cfg.on_event(e);
  }
  if (!events.empty() && st.cfg.metrics) st.cfg.metrics->update(st.core->view());
  if (st.core->is_terminated() && !st.termination_reported) {
    st.termination_reported = true;
    deliver_leave(self);
    if (!st.leave_requested && st.cfg.on_self_removed) {
      std::string reason;
      switch (st.core->phase()) {
        case node_phase::downed:
          reason = "this node was downed by the cluster";
          break;
        case node_phase::join_refused:
          reason = "joining the cluster was refused: " + st.refusal;
          break;
        case node_phase::join_unsuccessful:
          reason = "no seed node answered within shutdown-after-unsuccessful-join-seed-nodes";
          break;
        default:
          reason = "this node was removed from the cluster";
      }
      st.cfg.on_self_removed(reason);
    }
  }
}

// An operator's leave or down of the member at `address` (Pekko's Cluster.leave /
// Cluster.down); returns its full address, empty when there is no such member. Leave
// of this node too ends in Removed and then shutdown (on_self_removed), as in Pekko.
std::string operator_request(actor_t* self, const std::string& address, bool down) {
  auto& st = self->state;
  const auto* m = find_member(st.core->state(), address);
  if (m == nullptr) return {};
  auto target = m->node.address;
  core::logger("cluster")->log(down ? spdlog::level::warn : spdlog::level::info,
                               "{} of {} requested by an operator", down ? "down" : "leave",
                               target.to_string());
  if (down) {
    st.core->down(target, now_ms());
  } else {
    st.core->leave(target, now_ms());
  }
  flush(self);
  return target.to_string();
}

caf::behavior membership_actor(actor_t* self, membership_actor_config cfg) {
  auto& st = self->state;
  if (cfg.uid == 0) cfg.uid = random_uid();
  cfg.membership.app_version = cfg.app_version;
  membership_core_config cc;
  cc.self = unique_address{cfg.settings.self, cfg.uid};
  cc.roles = cfg.settings.roles;
  cc.app_version = cfg.app_version;
  cc.config = cfg.join_compat;
  cc.settings = cfg.membership;
  cc.rng_seed = cfg.uid;
  st.core.emplace(std::move(cc));
  st.cfg = std::move(cfg);

  self->set_down_handler([self](caf::down_msg& dm) {
    for (auto& [addr, p] : self->state.peers) {
      if (p.handle && p.handle.address() == dm.source) {
        core::logger("cluster")->info("connection to {} lost ({}), will reconnect",
                                      addr.to_string(), self->system().render(dm.reason));
        p.handle = caf::actor{};
      }
    }
  });

  st.core->join_seed_nodes(st.cfg.settings.seed_nodes, now_ms());
  flush(self);
  if (st.cfg.metrics) st.cfg.metrics->update(st.core->view());
  self->send(self, tick_atom::value);

  return {
      [self](tick_atom) {
        self->state.core->on_tick(now_ms());
        flush(self);
        self->delayed_send(self, self->state.cfg.tick_interval, tick_atom::value);
      },
      [self](const wire_envelope& env) {
        auto msg = decode_message(env.bytes);
        if (!msg) {
          core::logger("cluster")->warn("dropping a membership message: {}", msg.error());
          return;
        }
        self->state.core->on_message(msg.value(), now_ms());
        flush(self);
      },
      [self](connected_atom, std::uint64_t id, caf::actor handle, const std::string& err) {
        auto& st = self->state;
        auto it = st.attempts.find(id);
        if (it == st.attempts.end()) return;  // timed out earlier
        auto to = it->second;
        st.attempts.erase(it);
        auto& p = st.peers[to];
        if (p.attempt != id) return;
        if (!handle) {
          connection_failed(self, to, p, err);
          return;
        }
        p.attempt.reset();
        p.handle = handle;
        self->monitor(handle);
        while (!p.queued.empty()) {
          self->send(handle, wire_envelope{std::move(p.queued.front())});
          p.queued.pop_front();
        }
      },
      [self](connect_timeout_atom, std::uint64_t id) {
        auto& st = self->state;
        auto it = st.attempts.find(id);
        if (it == st.attempts.end()) return;
        auto to = it->second;
        st.attempts.erase(it);
        auto& p = st.peers[to];
        if (p.attempt == id) connection_failed(self, to, p, "connect timeout");
      },
      [self](get_view_atom) { return self->state.core->view(); },
      [self](get_sbr_atom) { return explain_sbr(*self->state.core, self->state.cfg.membership); },
      [self](leave_member_atom, const std::string& address) {
        return operator_request(self, address, /*down=*/false);
      },
      [self](down_member_atom, const std::string& address) {
        return operator_request(self, address, /*down=*/true);
      },
      [self](leave_atom) -> caf::result<void> {
        auto& st = self->state;
        if (st.core->is_terminated()) return caf::unit;
        auto rp = self->make_response_promise();
        st.leave_promises.push_back(rp);
        if (!st.leave_requested) {
          st.leave_requested = true;
          core::logger("cluster")->info("leaving the cluster");
          st.core->leave(st.core->self().address, now_ms());
          flush(self);
          self->delayed_send(self, st.cfg.leave_timeout, leave_timeout_atom::value);
        }
        return rp;
      },
      [self](leave_timeout_atom) {
        if (!self->state.leave_promises.empty()) {
          core::logger("cluster")->warn("leave did not complete in time, replying anyway");
          deliver_leave(self);
        }
      },
  };
}

}  // namespace

caf::actor spawn_membership_actor(caf::actor_system& sys, membership_actor_config cfg) {
  return sys.spawn(membership_actor, std::move(cfg));
}

}  // namespace wfe::cluster
