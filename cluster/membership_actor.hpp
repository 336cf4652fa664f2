#pragma once
// The membership actor on the real transport: owns a membership_core, drives it with
// a periodic tick, exchanges its messages with peers as wire_envelope (protobuf
// bytes) over CAF's io middleman, and logs every cluster event.
//
// Speaks the same local interface as spawn_membership (cluster/membership.hpp):
// `get_view_atom` -> cluster_view, `leave_atom` -> empty reply once this node is
// Removed (or after leave_timeout). The actor system must have the io middleman
// loaded and register_wire_types() applied to its config.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "cluster/cluster_metrics.hpp"
#include "cluster/cluster_settings.hpp"
#include "cluster/membership.hpp"
#include "cluster/membership_core.hpp"
#include "cluster/membership_settings.hpp"

namespace wfe::cluster {

class tls_relay;

struct membership_actor_config {
  cluster_settings settings;       // self address, seed nodes, roles
  membership_settings membership;  // protocol timings, failure detector, SBR
  std::string app_version;
  join_config join_compat;  // settings that must agree across the cluster
  std::uint64_t uid = 0;    // incarnation; 0 = random
  std::chrono::milliseconds tick_interval{100};
  std::chrono::milliseconds connect_timeout{5000};    // remote_actor lookups
  std::chrono::milliseconds reconnect_backoff{1000};  // after a failed lookup
  std::chrono::milliseconds leave_timeout{30'000};    // fallback reply to leave_atom
  std::size_t max_queued_per_peer = 256;              // while connecting; oldest dropped beyond
  // Called once (from the actor's thread) when this node was downed, removed without
  // leaving, or refused by the seeds: the node should shut down.
  std::function<void(std::string reason)> on_self_removed;
  // Optional: gauges and counters updated on every cluster event.
  std::shared_ptr<cluster_metrics> metrics;
  // Optional: called for every cluster event (after it was logged).
  std::function<void(const cluster_event&)> on_event;
  // pekko.remote.artery.transport = tls-tcp: peers are reached through it.
  std::shared_ptr<tls_relay> relay;
};

caf::actor spawn_membership_actor(caf::actor_system& sys, membership_actor_config cfg);

}  // namespace wfe::cluster
