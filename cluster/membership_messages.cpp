#include "cluster/membership_messages.hpp"

namespace wfe::cluster {

namespace {

struct name_of {
  const char* operator()(const init_join&) const { return "InitJoin"; }
  const char* operator()(const init_join_ack&) const { return "InitJoinAck"; }
  const char* operator()(const init_join_nack&) const { return "InitJoinNack"; }
  const char* operator()(const join&) const { return "Join"; }
  const char* operator()(const welcome&) const { return "Welcome"; }
  const char* operator()(const gossip_envelope&) const { return "GossipEnvelope"; }
  const char* operator()(const gossip_status&) const { return "GossipStatus"; }
  const char* operator()(const heartbeat&) const { return "Heartbeat"; }
  const char* operator()(const heartbeat_rsp&) const { return "HeartbeatRsp"; }
  const char* operator()(const exiting_confirmed&) const { return "ExitingConfirmed"; }
};

}  // namespace

const char* message_name(const membership_message& m) { return std::visit(name_of{}, m); }

}  // namespace wfe::cluster
