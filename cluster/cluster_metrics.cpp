#include "cluster/cluster_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "cluster/membership_core.hpp"

namespace wfe::cluster {

namespace {

// Label values of cluster_members{status}, in member_status order.
constexpr std::array<const char*, 6> status_labels{"joining", "weakly_up", "up",
                                                   "leaving", "exiting",   "down"};

constexpr std::array<event_kind, 11> all_events{
    event_kind::member_joined,  event_kind::member_weakly_up,   event_kind::member_up,
    event_kind::member_left,    event_kind::member_exited,      event_kind::member_downed,
    event_kind::member_removed, event_kind::unreachable_member, event_kind::reachable_member,
    event_kind::leader_changed, event_kind::join_refused};

}  // namespace

cluster_metrics::cluster_metrics(prometheus::Registry* registry) {
  if (registry == nullptr) return;
  auto& r = *registry;
  auto& members = prometheus::BuildGauge()
                      .Name("cluster_members")
                      .Help("Cluster members per status, as this node sees them")
                      .Register(r);
  for (std::size_t i = 0; i < status_labels.size(); ++i) {
    members_[i] = &members.Add({{"status", status_labels[i]}});
  }
  unreachable_ = &prometheus::BuildGauge()
                      .Name("cluster_unreachable_members")
                      .Help("Members observed as unreachable by at least one member")
                      .Register(r)
                      .Add({});
  leader_changes_ = &prometheus::BuildCounter()
                         .Name("cluster_leader_changes_total")
                         .Help("Leader changes seen by this node")
                         .Register(r)
                         .Add({});
  auto& events = prometheus::BuildCounter()
                     .Name("cluster_events_total")
                     .Help("Cluster events seen by this node (MemberUp, UnreachableMember, ...)")
                     .Register(r);
  for (auto k : all_events) {
    events_[static_cast<std::size_t>(k)] = &events.Add({{"event", to_string(k)}});
  }
}

void cluster_metrics::update(const cluster_view& v) {
  if (unreachable_ == nullptr) return;
  std::array<double, 6> counts{};
  for (const auto& m : v.members) {
    auto i = static_cast<std::size_t>(m.status);
    if (i < counts.size()) counts[i] += 1;
  }
  for (std::size_t i = 0; i < counts.size(); ++i) members_[i]->Set(counts[i]);
  unreachable_->Set(static_cast<double>(v.unreachable.size()));
}

void cluster_metrics::event(event_kind k) {
  auto i = static_cast<std::size_t>(k);
  if (i < events_.size() && events_[i] != nullptr) events_[i]->Increment();
  if (k == event_kind::leader_changed && leader_changes_ != nullptr) leader_changes_->Increment();
}

}  // namespace wfe::cluster
