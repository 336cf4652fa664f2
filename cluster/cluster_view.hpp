#pragma once
// A read-only picture of the cluster as this node sees it, handed out by the
// membership actor (to the HTTP layer, metrics, sharding). Plain values, no CAF.

#include <climits>
#include <cstdint>
#include <string>
#include <vector>

namespace wfe::cluster {

// Pekko's member states.
enum class member_status { joining, weakly_up, up, leaving, exiting, down, removed };

// "Joining", "WeaklyUp", "Up", "Leaving", "Exiting", "Down", "Removed" (Pekko's spelling).
const char* to_string(member_status s);

struct member_info {
  std::string address;    // pekko://system@host:port
  std::uint64_t uid = 0;  // incarnation: a restarted node gets a new uid
  member_status status = member_status::joining;
  std::vector<std::string> roles;
  std::string app_version;
  // Age among Up members: lower joined earlier (Pekko's upNumber); INT32_MAX until Up.
  std::int32_t up_number = INT32_MAX;
};

// An unreachable member and the members that observed it so.
struct unreachable_info {
  std::string address;
  std::vector<std::string> observed_by;
};

struct cluster_view {
  std::string self_address;
  std::uint64_t self_uid = 0;
  member_status self_status = member_status::joining;
  std::vector<std::string> self_roles;
  std::string leader;                // empty when there is none
  std::vector<member_info> members;  // sorted by address
  std::vector<std::string> unreachable;
  std::vector<unreachable_info> unreachable_detail;  // same members, with observers

  // Members counted as Pekko's `members` figure: Up or Leaving.
  [[nodiscard]] std::size_t up_count() const;
};

// What the split-brain resolver would decide now and why (GET /api/v1/cluster/sbr).
struct sbr_view {
  bool enabled = true;   // false: downing-provider-class is empty (no automatic downing)
  std::string strategy;  // keep-majority, static-quorum, keep-oldest, down-all
  std::string decision;  // none, down-unreachable, down-reachable, down-all
  std::string reason;    // why, in one sentence
  std::vector<std::string> nodes_to_down;  // addresses
  std::vector<std::string> unreachable;    // addresses
  std::size_t reachable_count = 0;         // members the strategy counts on each side
  std::size_t unreachable_count = 0;
  bool stable = false;  // unchanged membership/reachability for at least stable-after
  std::int64_t stable_for_ms = 0;
  std::int64_t stable_since_epoch_ms = 0;  // wall clock, ms since the Unix epoch
  std::int64_t stable_after_ms = 0;
  std::int64_t down_all_when_unstable_ms = 0;  // 0 = off
  bool is_leader = false;                      // only the leader acts
  std::string leader;
  bool acts_now = false;  // the leader would down nodes_to_down on its next tick
};

}  // namespace wfe::cluster
