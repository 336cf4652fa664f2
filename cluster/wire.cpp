#include "cluster/wire.hpp"

#include <algorithm>
#include <limits>
#include <type_traits>

#include "proto/cluster.pb.h"

namespace wfe::cluster {

namespace {

// --- C++ -> proto ---------------------------------------------------------------

void put(proto::Address* out, const core::address& a) {
  out->set_system(a.system);
  out->set_host(a.host);
  out->set_port(a.port);
}

void put(proto::UniqueAddress* out, const unique_address& u) {
  put(out->mutable_address(), u.address);
  out->set_uid(u.uid);
}

void put(proto::Member* out, const member& m) {
  put(out->mutable_node(), m.node);
  out->set_status(static_cast<proto::MemberStatus>(static_cast<int>(m.status)));
  for (const auto& r : m.roles) out->add_roles(r);
  out->set_app_version(m.app_version);
  out->set_up_number(m.up_number);
}

void put(proto::VectorClock* out, const vector_clock& v) {
  for (const auto& [node, counter] : v.values()) {
    auto* e = out->add_entries();
    e->set_node(node);
    e->set_counter(counter);
  }
}

void put(proto::Gossip* out, const gossip& g) {
  for (const auto& m : g.members) put(out->add_members(), m);
  for (const auto& s : g.seen) put(out->add_seen(), s);
  auto* r = out->mutable_reachability();
  for (const auto& rec : g.reach.records()) {
    auto* pr = r->add_records();
    put(pr->mutable_observer(), rec.observer);
    put(pr->mutable_subject(), rec.subject);
    pr->set_status(static_cast<proto::ReachabilityStatus>(static_cast<int>(rec.status)));
    pr->set_version(rec.version);
  }
  for (const auto& [observer, version] : g.reach.versions()) {
    auto* ov = r->add_versions();
    put(ov->mutable_observer(), observer);
    ov->set_version(version);
  }
  put(out->mutable_version(), g.version);
  for (const auto& [node, at] : g.tombstones) {
    auto* t = out->add_tombstones();
    put(t->mutable_node(), node);
    t->set_removed_at_ms(at);
  }
}

void fill(proto::MembershipMessage& out, const init_join& m) {
  auto* p = out.mutable_init_join();
  put(p->mutable_from(), m.from);
  p->set_system_name(m.system_name);
  for (const auto& [k, v] : m.config) {
    auto* e = p->add_config();
    e->set_key(k);
    e->set_value(v);
  }
}
void fill(proto::MembershipMessage& out, const init_join_ack& m) {
  auto* p = out.mutable_init_join_ack();
  put(p->mutable_from(), m.from);
  p->set_compatible(m.compatible);
  p->set_reason(m.reason);
}
void fill(proto::MembershipMessage& out, const init_join_nack& m) {
  auto* p = out.mutable_init_join_nack();
  put(p->mutable_from(), m.from);
  p->set_reason(m.reason);
}
void fill(proto::MembershipMessage& out, const join& m) {
  auto* p = out.mutable_join();
  put(p->mutable_joining(), m.joining);
  p->set_system_name(m.system_name);
}
void fill(proto::MembershipMessage& out, const welcome& m) {
  auto* p = out.mutable_welcome();
  put(p->mutable_from(), m.from);
  put(p->mutable_state(), m.state);
}
void fill(proto::MembershipMessage& out, const gossip_envelope& m) {
  auto* p = out.mutable_gossip_envelope();
  put(p->mutable_from(), m.from);
  put(p->mutable_to(), m.to);
  put(p->mutable_state(), m.state);
}
void fill(proto::MembershipMessage& out, const gossip_status& m) {
  auto* p = out.mutable_gossip_status();
  put(p->mutable_from(), m.from);
  put(p->mutable_to(), m.to);
  put(p->mutable_version(), m.version);
  for (const auto& s : m.seen) put(p->add_seen(), s);
}
void fill(proto::MembershipMessage& out, const heartbeat& m) {
  auto* p = out.mutable_heartbeat();
  put(p->mutable_from(), m.from);
  p->set_sequence_nr(m.sequence_nr);
}
void fill(proto::MembershipMessage& out, const heartbeat_rsp& m) {
  auto* p = out.mutable_heartbeat_rsp();
  put(p->mutable_from(), m.from);
  p->set_sequence_nr(m.sequence_nr);
}
void fill(proto::MembershipMessage& out, const exiting_confirmed& m) {
  put(out.mutable_exiting_confirmed()->mutable_from(), m.from);
}

// --- proto -> C++ ---------------------------------------------------------------

// Collects the first decoding error; later reads return defaults.
struct reader {
  std::string error;

  void fail(std::string why) {
    if (error.empty()) error = std::move(why);
  }

  core::address get(const proto::Address& a) {
    if (a.port() > std::numeric_limits<std::uint16_t>::max()) {
      fail("port out of range: " + std::to_string(a.port()));
    }
    return core::address{a.system(), a.host(), static_cast<std::uint16_t>(a.port())};
  }

  unique_address get(const proto::UniqueAddress& u) { return {get(u.address()), u.uid()}; }

  // A required unique address: present and with a host.
  unique_address required(bool present, const proto::UniqueAddress& u, const char* what) {
    if (!present || u.address().host().empty()) fail(std::string("missing ") + what);
    return get(u);
  }

  member get(const proto::Member& m) {
    member out;
    out.node = get(m.node());
    auto s = static_cast<int>(m.status());
    if (s < 0 || s > static_cast<int>(member_status::removed)) {
      fail("invalid member status " + std::to_string(s));
    } else {
      out.status = static_cast<member_status>(s);
    }
    out.roles.assign(m.roles().begin(), m.roles().end());
    out.app_version = m.app_version();
    out.up_number = m.up_number();
    return out;
  }

  vector_clock get(const proto::VectorClock& v) {
    vector_clock::entries e;
    for (const auto& x : v.entries()) e[x.node()] = x.counter();
    return vector_clock{std::move(e)};
  }

  gossip get(const proto::Gossip& g) {
    gossip out;
    for (const auto& m : g.members()) out.members.push_back(get(m));
    std::sort(out.members.begin(), out.members.end());
    for (const auto& s : g.seen()) out.seen.insert(get(s));
    std::vector<reachability_record> records;
    for (const auto& r : g.reachability().records()) {
      reachability_record rec;
      rec.observer = get(r.observer());
      rec.subject = get(r.subject());
      auto s = static_cast<int>(r.status());
      if (s < 0 || s > static_cast<int>(reachability_status::terminated)) {
        fail("invalid reachability status " + std::to_string(s));
      } else {
        rec.status = static_cast<reachability_status>(s);
      }
      rec.version = r.version();
      records.push_back(std::move(rec));
    }
    std::map<unique_address, std::uint64_t> versions;
    for (const auto& v : g.reachability().versions()) versions[get(v.observer())] = v.version();
    out.reach = reachability::from(std::move(records), std::move(versions));
    out.version = get(g.version());
    for (const auto& t : g.tombstones()) out.tombstones[get(t.node())] = t.removed_at_ms();
    return out;
  }

  membership_message get(const proto::MembershipMessage& m) {
    using M = proto::MembershipMessage;
    switch (m.message_case()) {
      case M::kInitJoin: {
        const auto& p = m.init_join();
        init_join out{required(p.has_from(), p.from(), "from"), p.system_name(), {}};
        for (const auto& e : p.config()) out.config[e.key()] = e.value();
        return out;
      }
      case M::kInitJoinAck: {
        const auto& p = m.init_join_ack();
        return init_join_ack{required(p.has_from(), p.from(), "from"), p.compatible(), p.reason()};
      }
      case M::kInitJoinNack: {
        const auto& p = m.init_join_nack();
        return init_join_nack{required(p.has_from(), p.from(), "from"), p.reason()};
      }
      case M::kJoin: {
        const auto& p = m.join();
        if (!p.has_joining()) fail("missing joining member");
        auto j = join{get(p.joining()), p.system_name()};
        required(p.joining().has_node(), p.joining().node(), "joining node");
        return j;
      }
      case M::kWelcome: {
        const auto& p = m.welcome();
        if (!p.has_state()) fail("missing welcome state");
        return welcome{required(p.has_from(), p.from(), "from"), get(p.state())};
      }
      case M::kGossipEnvelope: {
        const auto& p = m.gossip_envelope();
        if (!p.has_state()) fail("missing gossip state");
        return gossip_envelope{required(p.has_from(), p.from(), "from"),
                               required(p.has_to(), p.to(), "to"), get(p.state())};
      }
      case M::kGossipStatus: {
        const auto& p = m.gossip_status();
        gossip_status out{required(p.has_from(), p.from(), "from"),
                          required(p.has_to(), p.to(), "to"),
                          get(p.version()),
                          {}};
        for (const auto& s : p.seen()) out.seen.insert(get(s));
        return out;
      }
      case M::kHeartbeat: {
        const auto& p = m.heartbeat();
        return heartbeat{required(p.has_from(), p.from(), "from"), p.sequence_nr()};
      }
      case M::kHeartbeatRsp: {
        const auto& p = m.heartbeat_rsp();
        return heartbeat_rsp{required(p.has_from(), p.from(), "from"), p.sequence_nr()};
      }
      case M::kExitingConfirmed: {
        const auto& p = m.exiting_confirmed();
        return exiting_confirmed{required(p.has_from(), p.from(), "from")};
      }
      case M::MESSAGE_NOT_SET:
        break;
    }
    fail("membership message without a known kind (newer peer?)");
    return exiting_confirmed{};
  }
};

}  // namespace

core::expected<std::string, std::string> encode_message(const membership_message& msg) {
  proto::MembershipMessage out;
  std::visit([&out](const auto& m) { fill(out, m); }, msg);
  std::string bytes;
  if (!out.SerializeToString(&bytes)) {
    return core::unexpected{std::string("cannot serialize ") + message_name(msg)};
  }
  return bytes;
}

core::expected<membership_message, std::string> decode_message(std::string_view bytes) {
  proto::MembershipMessage in;
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      !in.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return core::unexpected{std::string("not a membership message (") +
                            std::to_string(bytes.size()) + " bytes)"};
  }
  reader r;
  auto msg = r.get(in);
  if (!r.error.empty()) return core::unexpected{"invalid membership message: " + r.error};
  return msg;
}

}  // namespace wfe::cluster
