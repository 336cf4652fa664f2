#include "cluster/member.hpp"

#include <doctest/doctest.h>

using namespace wfe::cluster;

namespace {
unique_address ua(const char* host, std::uint16_t port, std::uint64_t uid) {
  return unique_address{wfe::core::address{"sys", host, port}, uid};
}
}  // namespace

TEST_CASE("members order by host, then port, then uid") {
  CHECK(ua("a", 9, 9) < ua("b", 1, 1));
  CHECK(ua("a", 1, 9) < ua("a", 2, 1));
  CHECK(ua("a", 1, 1) < ua("a", 1, 2));
  CHECK(ua("a", 1, 7).to_string() == "pekko://sys@a:1#7");
}

TEST_CASE("on a merge the status further along the life cycle wins") {
  member up{ua("a", 1, 1), member_status::up, {}, "1", 1};
  member leaving = up;
  leaving.status = member_status::leaving;
  member down = up;
  down.status = member_status::down;
  CHECK(highest_priority_of(up, leaving).status == member_status::leaving);
  CHECK(highest_priority_of(leaving, up).status == member_status::leaving);
  CHECK(highest_priority_of(down, leaving).status == member_status::down);
  CHECK(status_precedence(member_status::removed) > status_precedence(member_status::down));
  CHECK(status_precedence(member_status::joining) < status_precedence(member_status::weakly_up));
}

TEST_CASE("with equal statuses the older member wins and age is the up number") {
  member a{ua("b", 1, 1), member_status::up, {}, "", 3};
  member b = a;
  b.up_number = 2;
  CHECK(highest_priority_of(a, b).up_number == 2);
  member c{ua("a", 1, 1), member_status::up, {}, "", 2};
  CHECK(c.is_older_than(b));  // same round: lower address is older
  CHECK_FALSE(b.is_older_than(c));
}

TEST_CASE("a member never moves back in its life cycle") {
  CHECK(is_allowed_transition(member_status::joining, member_status::up));
  CHECK(is_allowed_transition(member_status::up, member_status::leaving));
  CHECK(is_allowed_transition(member_status::leaving, member_status::exiting));
  CHECK_FALSE(is_allowed_transition(member_status::up, member_status::joining));
  CHECK_FALSE(is_allowed_transition(member_status::down, member_status::up));
  CHECK_FALSE(is_allowed_transition(member_status::removed, member_status::up));
}

TEST_CASE("only Up and Leaving members lead and hold back convergence") {
  CHECK(is_leader_eligible(member_status::up));
  CHECK(is_leader_eligible(member_status::leaving));
  CHECK_FALSE(is_leader_eligible(member_status::joining));
  CHECK_FALSE(blocks_convergence_when_unseen(member_status::down));
  CHECK_FALSE(blocks_convergence_when_unseen(member_status::exiting));
}
