#pragma once
// The replicated membership state (Pekko's Gossip): members, who has seen this version,
// reachability, a vector-clock version and tombstones of removed incarnations.
// Pure functions: merge of concurrent gossips, convergence, leader, leader actions.
// Sizes are bounded by the member count (tombstones pruned by age).

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster/member.hpp"
#include "cluster/reachability.hpp"
#include "cluster/vector_clock.hpp"

namespace wfe::cluster {

struct gossip {
  std::vector<member> members;  // sorted by unique address, one entry per incarnation
  std::set<unique_address> seen;
  reachability reach;
  vector_clock version;
  std::map<unique_address, std::int64_t> tombstones;  // removed incarnation -> removal time

  [[nodiscard]] const member* find(const unique_address& node) const;
  // The incarnation at `address` that is not Removed, if any.
  [[nodiscard]] const member* find_by_address(const core::address& address) const;
  [[nodiscard]] bool has_member(const unique_address& node) const { return find(node); }
  [[nodiscard]] bool seen_by_node(const unique_address& node) const { return seen.contains(node); }
  [[nodiscard]] std::set<unique_address> member_set() const;

  // Reachability with the opinions of Down members dropped (they no longer count).
  [[nodiscard]] reachability effective_reachability() const;
  // Members some counting observer sees as unreachable or terminated.
  [[nodiscard]] std::set<unique_address> unreachable_members() const;

  // All Up/Leaving members have seen this version (or confirmed exiting), and every
  // unreachable member (other than self) is Down or Exiting.
  [[nodiscard]] bool converged(const unique_address& self,
                               const std::set<unique_address>& exiting_confirmed = {}) const;
  // The first reachable Up/Leaving member by address; when none, the lowest reachable
  // non-Down member (Exiting last). Self always counts as reachable.
  [[nodiscard]] std::optional<unique_address> leader(const unique_address& self) const;
  // Oldest Up/Leaving/Exiting member (lowest up number), optionally with `role`.
  [[nodiscard]] const member* oldest(std::string_view role = {}) const;
};

// Vector-clock node name of an incarnation.
std::string clock_node(const unique_address& node);

// Joins two concurrent gossips: members unioned (status by precedence), tombstoned
// incarnations dropped, reachability merged per observer, versions merged. Nobody has
// seen the result yet (seen is empty).
gossip merge(const gossip& a, const gossip& b);

// Records a local change: version bumped by `self`, seen reset to self only.
gossip bump(gossip g, const unique_address& self);

// `node` now has status `s` (asserts the transition is allowed). No version bump.
gossip with_status(gossip g, const unique_address& node, member_status s);

// Adds a new Joining member (or keeps the existing one). No version bump.
gossip add_member(gossip g, member m);

// Drops `nodes`, tombstones them at `now_ms`, prunes their clock entries and rows.
gossip remove_members(gossip g, const std::set<unique_address>& nodes, std::int64_t now_ms);

// Forgets tombstones older than `max_age_ms`.
gossip prune_tombstones(gossip g, std::int64_t now_ms, std::int64_t max_age_ms);

struct leader_action_settings {
  std::size_t min_nr_of_members = 1;
  std::map<std::string, std::size_t> min_nr_of_members_per_role;
};

struct leader_action_result {
  gossip next;
  bool changed = false;
  std::set<unique_address> removed;  // the leader tells them directly, they left the gossip
};

// What the leader does once the gossip has converged: Joining/WeaklyUp -> Up (when
// the minimum member counts are met), Leaving -> Exiting, unreachable Down/Exiting and
// confirmed Exiting -> Removed. No version bump (the caller bumps when changed).
leader_action_result leader_actions(const gossip& g,
                                    const std::set<unique_address>& exiting_confirmed,
                                    const leader_action_settings& s, std::int64_t now_ms);

// What the leader does when the gossip cannot converge (unreachable members) for
// allow-weakly-up-members: reachable Joining members -> WeaklyUp, when the minimum
// member counts are met (Pekko's moveJoiningToWeaklyUp). No version bump.
leader_action_result weakly_up_actions(const gossip& g, const leader_action_settings& s);

}  // namespace wfe::cluster
