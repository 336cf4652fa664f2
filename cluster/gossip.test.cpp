#include "cluster/gossip.hpp"

#include <doctest/doctest.h>

#include "cluster/test_nodes.hpp"

using namespace wfe::cluster;
using wfe::cluster::testing::n;

namespace {
member m(int i, member_status s, std::int32_t up = up_number_unassigned) {
  return member{n(i), s, {"worker"}, "1.0", up};
}
gossip of(std::vector<member> ms) {
  gossip g;
  for (auto& x : ms) g = add_member(std::move(g), std::move(x));
  return g;
}
}  // namespace

TEST_CASE("merging concurrent gossips keeps every member with its most advanced status") {
  auto base = bump(of({m(1, member_status::up, 1), m(2, member_status::up, 2)}), n(1));
  auto a = bump(with_status(base, n(2), member_status::leaving), n(1));
  auto b = bump(add_member(base, m(3, member_status::joining)), n(2));
  REQUIRE(a.version.compare(b.version) == clock_order::concurrent);
  auto g = merge(a, b);
  REQUIRE(g.members.size() == 3);
  CHECK(g.find(n(2))->status == member_status::leaving);
  CHECK(g.find(n(3))->status == member_status::joining);
  CHECK(g.seen.empty());
  CHECK(g.version.compare(a.version) == clock_order::after);
  CHECK(merge(b, a).members == g.members);
}

TEST_CASE("a removed incarnation does not come back through a stale gossip") {
  auto g = bump(of({m(1, member_status::up, 1), m(2, member_status::down, 2)}), n(1));
  auto removed = remove_members(g, {n(2)}, 1000);
  CHECK_FALSE(removed.has_member(n(2)));
  CHECK(removed.tombstones.contains(n(2)));
  auto merged = merge(removed, g);
  CHECK_FALSE(merged.has_member(n(2)));
  CHECK(prune_tombstones(merged, 5000, 1000).tombstones.empty());
}

TEST_CASE("convergence needs every Up member to have seen the version") {
  auto g = bump(of({m(1, member_status::up, 1), m(2, member_status::up, 2)}), n(1));
  CHECK_FALSE(g.converged(n(1)));
  g.seen.insert(n(2));
  CHECK(g.converged(n(1)));
  auto joining = add_member(g, m(3, member_status::joining));
  CHECK(joining.converged(n(1)));  // Joining members do not hold it back
}

TEST_CASE("an unreachable Up member blocks convergence, a Down or Exiting one does not") {
  auto g = of({m(1, member_status::up, 1), m(2, member_status::up, 2), m(3, member_status::up, 3)});
  g.seen = {n(1), n(2), n(3)};
  g.reach = g.reach.unreachable(n(1), n(3));
  CHECK_FALSE(g.converged(n(1)));
  CHECK(with_status(g, n(3), member_status::down).converged(n(1)));
  auto exiting =
      with_status(with_status(g, n(3), member_status::leaving), n(3), member_status::exiting);
  CHECK(exiting.converged(n(1)));
}

TEST_CASE("the leader is the lowest reachable Up or Leaving member") {
  auto g =
      of({m(1, member_status::joining), m(2, member_status::up, 1), m(3, member_status::up, 2)});
  CHECK(g.leader(n(3)) == n(2));
  g.reach = g.reach.unreachable(n(3), n(2));
  CHECK(g.leader(n(3)) == n(3));
  CHECK(g.leader(n(2)) == n(2));  // self always counts as reachable
  auto only_joining = of({m(2, member_status::joining), m(1, member_status::joining)});
  CHECK(only_joining.leader(n(2)) == n(1));
}

TEST_CASE("leader actions move Joining to Up with increasing up numbers once enough members") {
  auto g =
      of({m(1, member_status::up, 1), m(3, member_status::joining), m(2, member_status::joining)});
  leader_action_settings s;
  s.min_nr_of_members = 4;
  CHECK_FALSE(leader_actions(g, {}, s, 0).changed);
  s.min_nr_of_members = 3;
  s.min_nr_of_members_per_role = {{"worker", 4}};
  CHECK_FALSE(leader_actions(g, {}, s, 0).changed);
  s.min_nr_of_members_per_role = {{"worker", 3}};
  auto r = leader_actions(g, {}, s, 0);
  CHECK(r.changed);
  CHECK(r.next.find(n(2))->status == member_status::up);
  CHECK(r.next.find(n(2))->up_number == 2);
  CHECK(r.next.find(n(3))->up_number == 3);
  CHECK(r.next.oldest()->node == n(1));
}

TEST_CASE("leader actions: Leaving to Exiting, confirmed Exiting and unreachable Down removed") {
  auto g = of({m(1, member_status::up, 1), m(2, member_status::leaving, 2),
               m(3, member_status::exiting, 3), m(4, member_status::down, 4),
               m(5, member_status::down, 5)});
  g.reach = g.reach.unreachable(n(1), n(4));
  auto r = leader_actions(g, {n(3)}, {}, 42);
  CHECK(r.next.find(n(2))->status == member_status::exiting);
  CHECK(r.removed == std::set<unique_address>{n(3), n(4)});
  CHECK(r.next.find(n(5))->status == member_status::down);  // reachable: not yet
  CHECK(r.next.tombstones.at(n(4)) == 42);
}

TEST_CASE("two incarnations of one address are separate members") {
  auto g = of({m(1, member_status::down, 1)});
  g = add_member(g, member{n(1, 2), member_status::joining, {}, "", up_number_unassigned});
  CHECK(g.members.size() == 2);
  CHECK(g.find_by_address(n(1).address)->node.uid == 1);
}
