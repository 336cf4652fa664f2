#pragma once
// The one CAF message type that crosses the cluster transport: the protobuf bytes of
// a membership message (cluster/wire.hpp). Register it in the actor_system_config
// BEFORE the actor_system is constructed (CAF 0.17), identically on every node.

#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/meta/type_name.hpp>

namespace wfe::cluster {

struct wire_envelope {
  std::string bytes;  // wfe.proto.MembershipMessage
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wire_envelope& x) {
  return f(caf::meta::type_name("wfe.wire_envelope"), x.bytes);
}

inline void register_wire_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<wire_envelope>("wfe.wire_envelope");
}

}  // namespace wfe::cluster
