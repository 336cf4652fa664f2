#pragma once
// The membership protocol's messages between nodes, as C++ values. On the wire each
// one is the protobuf message of the same name in proto/cluster.proto, carried in the
// transport's envelope; the CAF actor around membership_core converts at the boundary.

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "cluster/gossip.hpp"
#include "cluster/member.hpp"
#include "cluster/vector_clock.hpp"

namespace wfe::cluster {

// Settings that must agree across the cluster, key -> value as text
// (e.g. "pekko.cluster.sharding.number-of-shards" -> "100").
using join_config = std::map<std::string, std::string>;

// A joining node asks a seed whether it is a member that can take it in.
struct init_join {
  unique_address from;
  std::string system_name;
  join_config config;
};

// The seed is a member; `compatible` false when `config` disagrees (then `reason`).
struct init_join_ack {
  unique_address from;
  bool compatible = true;
  std::string reason;
};

// The seed cannot take the node in: not a member yet (reason empty), or a refusal
// such as a different actor-system name (reason says why).
struct init_join_nack {
  unique_address from;
  std::string reason;
};

// Request to be added as Joining.
struct join {
  member joining;  // status Joining, up number unassigned
  std::string system_name;
};

// The joined node's first gossip.
struct welcome {
  unique_address from;
  gossip state;
};

struct gossip_envelope {
  unique_address from;
  unique_address to;
  gossip state;
};

// Version and seen set only: the receiver asks for the gossip when it is behind.
struct gossip_status {
  unique_address from;
  unique_address to;
  vector_clock version;
  std::set<unique_address> seen;
};

struct heartbeat {
  unique_address from;
  std::uint64_t sequence_nr = 0;
};

struct heartbeat_rsp {
  unique_address from;
  std::uint64_t sequence_nr = 0;
};

// An Exiting node saw itself Exiting: the leader may remove it without waiting for
// the failure detector.
struct exiting_confirmed {
  unique_address from;
};

using membership_message =
    std::variant<init_join, init_join_ack, init_join_nack, join, welcome, gossip_envelope,
                 gossip_status, heartbeat, heartbeat_rsp, exiting_confirmed>;

// Name of the message kind (logs, metrics, the simulation's statistics).
const char* message_name(const membership_message& m);

// A message to deliver to the node at `to` (whichever incarnation runs there).
struct outgoing_message {
  core::address to;
  membership_message message;
};

}  // namespace wfe::cluster
