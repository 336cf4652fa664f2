#include "cluster/member.hpp"

#include <algorithm>
#include <cassert>

namespace wfe::cluster {

std::string unique_address::to_string() const {
  return address.to_string() + "#" + std::to_string(uid);
}

bool member::has_role(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool member::is_older_than(const member& other) const {
  if (up_number != other.up_number) return up_number < other.up_number;
  return node < other.node;
}

int status_precedence(member_status s) {
  switch (s) {
    case member_status::joining:
      return 0;
    case member_status::weakly_up:
      return 1;
    case member_status::up:
      return 2;
    case member_status::leaving:
      return 3;
    case member_status::exiting:
      return 4;
    case member_status::down:
      return 5;
    case member_status::removed:
      return 6;
  }
  return 0;
}

const member& highest_priority_of(const member& a, const member& b) {
  assert(a.node == b.node);
  auto pa = status_precedence(a.status);
  auto pb = status_precedence(b.status);
  if (pa != pb) return pa > pb ? a : b;
  // Same status: the older one carries the up number the leader assigned first.
  return b.is_older_than(a) ? b : a;
}

bool blocks_convergence_when_unseen(member_status s) {
  return s == member_status::up || s == member_status::leaving;
}

bool is_leader_eligible(member_status s) {
  return s == member_status::up || s == member_status::leaving;
}

bool is_allowed_transition(member_status from, member_status to) {
  using enum member_status;
  if (from == to) return true;
  switch (from) {
    case joining:
      return to == weakly_up || to == up || to == leaving || to == down || to == removed;
    case weakly_up:
      return to == up || to == leaving || to == down || to == removed;
    case up:
      return to == leaving || to == down || to == removed;
    case leaving:
      return to == exiting || to == down || to == removed;
    case exiting:
      return to == down || to == removed;
    case down:
      return to == removed;
    case removed:
      return false;
  }
  return false;
}

member_info to_info(const member& m) {
  return member_info{
      m.node.address.to_string(), m.node.uid, m.status, m.roles, m.app_version, m.up_number};
}

}  // namespace wfe::cluster
