#include "cluster/membership_core.hpp"

#include <algorithm>

// Names of events and phases, and the events a gossip change produces
// (part of membership_core, kept apart to keep the protocol file short).

namespace wfe::cluster {

namespace {

std::optional<event_kind> event_for(member_status s) {
  switch (s) {
    case member_status::joining:
      return event_kind::member_joined;
    case member_status::weakly_up:
      return event_kind::member_weakly_up;
    case member_status::up:
      return event_kind::member_up;
    case member_status::leaving:
      return event_kind::member_left;
    case member_status::exiting:
      return event_kind::member_exited;
    case member_status::down:
      return event_kind::member_downed;
    case member_status::removed:
      return event_kind::member_removed;
  }
  return std::nullopt;
}

}  // namespace

const char* to_string(event_kind k) {
  switch (k) {
    case event_kind::member_joined:
      return "MemberJoined";
    case event_kind::member_weakly_up:
      return "MemberWeaklyUp";
    case event_kind::member_up:
      return "MemberUp";
    case event_kind::member_left:
      return "MemberLeft";
    case event_kind::member_exited:
      return "MemberExited";
    case event_kind::member_downed:
      return "MemberDowned";
    case event_kind::member_removed:
      return "MemberRemoved";
    case event_kind::unreachable_member:
      return "UnreachableMember";
    case event_kind::reachable_member:
      return "ReachableMember";
    case event_kind::leader_changed:
      return "LeaderChanged";
    case event_kind::join_refused:
      return "JoinRefused";
  }
  return "Unknown";
}

const char* to_string(node_phase p) {
  switch (p) {
    case node_phase::idle:
      return "idle";
    case node_phase::joining_seeds:
      return "joining-seeds";
    case node_phase::joining:
      return "joining";
    case node_phase::member:
      return "member";
    case node_phase::removed:
      return "removed";
    case node_phase::downed:
      return "downed";
    case node_phase::join_refused:
      return "join-refused";
    case node_phase::join_unsuccessful:
      return "join-unsuccessful";
  }
  return "unknown";
}

void membership_core::emit_member_events(const gossip& before, const gossip& after) {
  for (const auto& m : after.members) {
    const auto* old = before.find(m.node);
    if (old && old->status == m.status) continue;
    if (auto k = event_for(m.status)) emit(*k, m);
  }
  for (const auto& m : before.members) {
    if (after.has_member(m.node)) continue;
    auto removed = m;
    removed.status = member_status::removed;
    emit(event_kind::member_removed, removed);
    events_.back().previous = m.status;
  }
  auto was = before.unreachable_members();
  auto now = after.unreachable_members();
  for (const auto& n : now) {
    if (!was.contains(n)) emit(event_kind::unreachable_member, *after.find(n));
  }
  for (const auto& n : was) {
    if (!now.contains(n) && after.has_member(n)) emit(event_kind::reachable_member, *after.find(n));
  }
  auto leader = after.has_member(cfg_.self) ? after.leader(cfg_.self) : std::nullopt;
  if (leader != last_leader_) {
    last_leader_ = leader;
    cluster_event e;
    e.kind = event_kind::leader_changed;
    e.leader = leader;
    if (leader) e.subject = *after.find(*leader);
    events_.push_back(std::move(e));
  }
}

}  // namespace wfe::cluster
