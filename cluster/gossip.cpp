#include "cluster/gossip.hpp"

#include <algorithm>
#include <cassert>

namespace wfe::cluster {

namespace {

void sort_members(std::vector<member>& ms) { std::sort(ms.begin(), ms.end()); }

member* find_mut(gossip& g, const unique_address& node) {
  auto it = std::lower_bound(g.members.begin(), g.members.end(), node,
                             [](const member& m, const unique_address& n) { return m.node < n; });
  return it != g.members.end() && it->node == node ? &*it : nullptr;
}

std::set<unique_address> with_status_in(const gossip& g, std::initializer_list<member_status> ss) {
  std::set<unique_address> out;
  for (const auto& m : g.members) {
    if (std::find(ss.begin(), ss.end(), m.status) != ss.end()) out.insert(m.node);
  }
  return out;
}

bool min_nr_fulfilled(const gossip& g, const leader_action_settings& s) {
  if (g.members.size() < s.min_nr_of_members) return false;
  for (const auto& [role, n] : s.min_nr_of_members_per_role) {
    auto have = std::count_if(g.members.begin(), g.members.end(),
                              [&](const member& m) { return m.has_role(role); });
    if (static_cast<std::size_t>(have) < n) return false;
  }
  return true;
}

}  // namespace

std::string clock_node(const unique_address& node) { return node.to_string(); }

const member* gossip::find(const unique_address& node) const {
  return find_mut(const_cast<gossip&>(*this), node);
}

const member* gossip::find_by_address(const core::address& address) const {
  for (const auto& m : members) {
    if (m.node.address == address && m.status != member_status::removed) return &m;
  }
  return nullptr;
}

std::set<unique_address> gossip::member_set() const {
  std::set<unique_address> out;
  for (const auto& m : members) out.insert(m.node);
  return out;
}

reachability gossip::effective_reachability() const {
  return reach.remove_observers(with_status_in(*this, {member_status::down}));
}

std::set<unique_address> gossip::unreachable_members() const {
  std::set<unique_address> out;
  for (const auto& n : effective_reachability().all_unreachable()) {
    if (has_member(n)) out.insert(n);
  }
  return out;
}

bool gossip::converged(const unique_address& self,
                       const std::set<unique_address>& exiting_confirmed) const {
  for (const auto& n : unreachable_members()) {
    if (n == self || exiting_confirmed.contains(n)) continue;
    auto s = find(n)->status;
    if (s != member_status::down && s != member_status::exiting) return false;
  }
  return std::all_of(members.begin(), members.end(), [&](const member& m) {
    return !blocks_convergence_when_unseen(m.status) || seen.contains(m.node) ||
           exiting_confirmed.contains(m.node);
  });
}

std::optional<unique_address> gossip::leader(const unique_address& self) const {
  auto unreachable = unreachable_members();
  const member* fallback = nullptr;
  for (const auto& m : members) {  // address order
    if (m.status == member_status::down || m.status == member_status::removed) continue;
    if (m.node != self && unreachable.contains(m.node)) continue;
    if (is_leader_eligible(m.status)) return m.node;
    // Pekko's leader status ordering: Exiting sorts after every other status.
    bool better = !fallback || (fallback->status == member_status::exiting &&
                                m.status != member_status::exiting);
    if (better) fallback = &m;
  }
  if (fallback) return fallback->node;
  return std::nullopt;
}

const member* gossip::oldest(std::string_view role) const {
  const member* best = nullptr;
  for (const auto& m : members) {
    bool counted = m.status == member_status::up || m.status == member_status::leaving ||
                   m.status == member_status::exiting;
    if (!counted || (!role.empty() && !m.has_role(role))) continue;
    if (!best || m.is_older_than(*best)) best = &m;
  }
  return best;
}

gossip merge(const gossip& a, const gossip& b) {
  gossip out;
  out.tombstones = a.tombstones;
  for (const auto& [n, t] : b.tombstones) {
    auto [it, inserted] = out.tombstones.emplace(n, t);
    if (!inserted) it->second = std::max(it->second, t);
  }
  std::map<unique_address, member> by_node;
  for (const auto* side : {&a, &b}) {
    for (const auto& m : side->members) {
      if (out.tombstones.contains(m.node)) continue;
      auto [it, inserted] = by_node.emplace(m.node, m);
      if (!inserted) it->second = highest_priority_of(it->second, m);
    }
  }
  for (auto& [n, m] : by_node) out.members.push_back(std::move(m));
  out.version = a.version.merge(b.version);
  for (const auto& [n, t] : out.tombstones) out.version = out.version.prune(clock_node(n));
  out.reach = a.reach.merge(out.member_set(), b.reach);
  return out;
}

gossip bump(gossip g, const unique_address& self) {
  g.version = g.version.increment(clock_node(self));
  g.seen = {self};
  return g;
}

gossip with_status(gossip g, const unique_address& node, member_status s) {
  auto* m = find_mut(g, node);
  assert(m);
  assert(is_allowed_transition(m->status, s));
  m->status = s;
  return g;
}

gossip add_member(gossip g, member m) {
  if (g.has_member(m.node) || g.tombstones.contains(m.node)) return g;
  g.members.push_back(std::move(m));
  sort_members(g.members);
  return g;
}

gossip remove_members(gossip g, const std::set<unique_address>& nodes, std::int64_t now_ms) {
  std::erase_if(g.members, [&](const member& m) { return nodes.contains(m.node); });
  for (const auto& n : nodes) {
    g.tombstones[n] = now_ms;
    g.version = g.version.prune(clock_node(n));
    g.seen.erase(n);
  }
  g.reach = g.reach.remove(nodes);
  return g;
}

gossip prune_tombstones(gossip g, std::int64_t now_ms, std::int64_t max_age_ms) {
  std::erase_if(g.tombstones, [&](const auto& kv) { return now_ms - kv.second > max_age_ms; });
  return g;
}

leader_action_result weakly_up_actions(const gossip& g, const leader_action_settings& s) {
  leader_action_result r{g, false, {}};
  if (!min_nr_fulfilled(g, s)) return r;
  auto unreachable = g.unreachable_members();
  for (auto& m : r.next.members) {
    if (m.status == member_status::joining && !unreachable.contains(m.node)) {
      m.status = member_status::weakly_up;
      r.changed = true;
    }
  }
  return r;
}

leader_action_result leader_actions(const gossip& g,
                                    const std::set<unique_address>& exiting_confirmed,
                                    const leader_action_settings& s, std::int64_t now_ms) {
  leader_action_result r{g, false, {}};
  auto unreachable = g.unreachable_members();
  std::int32_t up_number = 0;
  for (const auto& m : g.members) {
    if (m.up_number != up_number_unassigned) up_number = std::max(up_number, m.up_number);
  }
  bool may_up = min_nr_fulfilled(g, s);
  for (auto& m : r.next.members) {
    bool unreachable_m = unreachable.contains(m.node);
    if (may_up && (m.status == member_status::joining || m.status == member_status::weakly_up)) {
      m.status = member_status::up;
      m.up_number = ++up_number;
      r.changed = true;
    } else if (m.status == member_status::leaving) {
      m.status = member_status::exiting;
      r.changed = true;
    } else if ((m.status == member_status::down || m.status == member_status::exiting) &&
               unreachable_m) {
      r.removed.insert(m.node);
    } else if (m.status == member_status::exiting && exiting_confirmed.contains(m.node)) {
      r.removed.insert(m.node);
    }
  }
  if (!r.removed.empty()) {
    r.next = remove_members(std::move(r.next), r.removed, now_ms);
    r.changed = true;
  }
  return r;
}

}  // namespace wfe::cluster
