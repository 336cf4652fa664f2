#pragma once
// A cluster member as the membership protocol sees it: a unique address (address +
// incarnation uid), a status, roles, app version and its up number (age).
// Plain values; ordering follows Pekko (host, port, then uid).

#include <compare>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "cluster/cluster_view.hpp"
#include "engine/core/address.hpp"

namespace wfe::cluster {

// One incarnation of a node: a restarted node keeps its address but gets a new uid.
struct unique_address {
  core::address address;
  std::uint64_t uid = 0;

  // "pekko://system@host:port#uid"
  [[nodiscard]] std::string to_string() const;

  // Address ordering first (system, host, port: systems are equal within a cluster),
  // then uid, so two incarnations of one address sit side by side.
  auto operator<=>(const unique_address&) const = default;
};

// Up numbers are handed out by the leader when a member moves to Up; lower is older.
inline constexpr std::int32_t up_number_unassigned = std::numeric_limits<std::int32_t>::max();

struct member {
  unique_address node;
  member_status status = member_status::joining;
  std::vector<std::string> roles;  // sorted, unique
  std::string app_version;
  std::int32_t up_number = up_number_unassigned;

  [[nodiscard]] bool has_role(std::string_view role) const;
  // Older = moved to Up earlier; ties (same round) broken by address, as Pekko.
  [[nodiscard]] bool is_older_than(const member& other) const;

  bool operator==(const member&) const = default;
};

// Members sort by unique address (Pekko's Member.ordering).
inline bool operator<(const member& a, const member& b) { return a.node < b.node; }

// Merge precedence of two statuses of the same member seen by different nodes:
// Removed > Down > Exiting > Leaving > Up > WeaklyUp > Joining.
int status_precedence(member_status s);

// The version of one member to keep when two gossips disagree about it.
const member& highest_priority_of(const member& a, const member& b);

// Statuses whose members must have seen a gossip for it to converge (Pekko: Up, Leaving).
bool blocks_convergence_when_unseen(member_status s);

// Statuses eligible for leadership (Up, Leaving).
bool is_leader_eligible(member_status s);

// The transitions Pekko allows in a member's life; merges never go backwards.
bool is_allowed_transition(member_status from, member_status to);

// member_info (the read-only view) from a member.
member_info to_info(const member& m);

}  // namespace wfe::cluster
