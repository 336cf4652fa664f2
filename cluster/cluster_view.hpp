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

}  // namespace wfe::cluster
