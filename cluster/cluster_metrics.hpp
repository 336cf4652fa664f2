#pragma once
// Prometheus metrics of cluster membership, as this node sees it. Constructed with
// the node's registry, or with nullptr in tests and tools: then every call is a
// no-op. Updated by the membership actor only (one writer), read by /metrics.
//
//   cluster_members{status}        gauge    members per status: joining, weakly_up, up,
//                                           leaving, exiting, down
//   cluster_unreachable_members    gauge    members some node observes as unreachable
//   cluster_leader_changes_total   counter  leader changes seen by this node
//   cluster_events_total{event}    counter  cluster events (MemberUp, UnreachableMember, ...)

#include <array>

#include "cluster/cluster_view.hpp"

namespace prometheus {
class Counter;
class Gauge;
class Registry;
}  // namespace prometheus

namespace wfe::cluster {

enum class event_kind;

class cluster_metrics {
 public:
  explicit cluster_metrics(prometheus::Registry* registry);

  // Sets the gauges from this node's current view.
  void update(const cluster_view& v);
  // Counts one cluster event (and a leader change for LeaderChanged).
  void event(event_kind k);

 private:
  // Indexed by member_status, removed excluded (Removed members leave the view).
  std::array<prometheus::Gauge*, 6> members_{};
  prometheus::Gauge* unreachable_ = nullptr;
  prometheus::Counter* leader_changes_ = nullptr;
  std::array<prometheus::Counter*, 11> events_{};  // indexed by event_kind
};

}  // namespace wfe::cluster
