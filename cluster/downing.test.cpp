#include "cluster/downing.hpp"

#include <doctest/doctest.h>

#include "cluster/test_nodes.hpp"

using namespace wfe::cluster;
using wfe::cluster::testing::n;

namespace {

// `count` Up members n1..n<count>; `cut` are unreachable from the others.
gossip cluster_of(int count, std::set<int> cut, std::vector<std::string> roles = {}) {
  gossip g;
  for (int i = 1; i <= count; ++i) {
    g = add_member(g, member{n(i), member_status::up, roles, "", i});
  }
  for (int c : cut) {
    for (int i = 1; i <= count; ++i) {
      if (!cut.contains(i)) g.reach = g.reach.unreachable(n(i), n(c));
    }
  }
  return g;
}

split_brain_resolver_settings with(sbr_strategy s) {
  split_brain_resolver_settings st;
  st.strategy = s;
  return st;
}
}  // namespace

TEST_CASE("keep-majority: the majority downs the minority and the minority downs itself") {
  auto g = cluster_of(5, {4, 5});
  auto majority = decide(with(sbr_strategy::keep_majority), g, n(1));
  CHECK(majority.decision == sbr_decision::down_unreachable);
  CHECK(majority.nodes_to_down == std::vector<unique_address>{n(4), n(5)});
  CHECK(majority.reachable_count == 3);
  CHECK(majority.unreachable_count == 2);
  CHECK(majority.reason.find("majority") != std::string::npos);
  // The minority's view: n1..n3 unreachable.
  auto minority = decide(with(sbr_strategy::keep_majority), cluster_of(5, {1, 2, 3}), n(4));
  CHECK(minority.decision == sbr_decision::down_reachable);
  CHECK(minority.nodes_to_down == std::vector<unique_address>{n(4), n(5)});
}

TEST_CASE("keep-majority: on a tie the side with the lowest address survives") {
  auto low = decide(with(sbr_strategy::keep_majority), cluster_of(4, {3, 4}), n(1));
  CHECK(low.decision == sbr_decision::down_unreachable);
  CHECK(low.reason.find("lowest address") != std::string::npos);
  auto high = decide(with(sbr_strategy::keep_majority), cluster_of(4, {1, 2}), n(3));
  CHECK(high.decision == sbr_decision::down_reachable);
}

TEST_CASE("a node alone on its side downs itself") {
  auto r = decide(with(sbr_strategy::keep_majority), cluster_of(3, {2, 3}), n(1));
  CHECK(r.decision == sbr_decision::down_self);
  CHECK(r.nodes_to_down == std::vector<unique_address>{n(1)});
}

TEST_CASE("static-quorum keeps the side with quorum-size members and refuses oversized clusters") {
  auto st = with(sbr_strategy::static_quorum);
  st.static_quorum_size = 3;
  CHECK(decide(st, cluster_of(5, {4, 5}), n(1)).decision == sbr_decision::down_unreachable);
  CHECK(decide(st, cluster_of(5, {1, 2, 3}), n(4)).decision == sbr_decision::down_reachable);
  auto big = decide(st, cluster_of(6, {5, 6}), n(1));
  CHECK(big.decision == sbr_decision::down_all);
  CHECK(big.nodes_to_down.size() == 6);
}

TEST_CASE("keep-oldest keeps the oldest's side unless it is alone and down-if-alone") {
  auto st = with(sbr_strategy::keep_oldest);
  CHECK(decide(st, cluster_of(3, {3}), n(1)).decision == sbr_decision::down_unreachable);
  CHECK(decide(st, cluster_of(3, {1}), n(2)).decision == sbr_decision::down_unreachable);
  CHECK(decide(st, cluster_of(3, {2, 3}), n(1)).decision == sbr_decision::down_self);
  st.keep_oldest_down_if_alone = false;
  CHECK(decide(st, cluster_of(3, {1}), n(2)).decision == sbr_decision::down_reachable);
}

TEST_CASE("down-all downs everyone and nothing is decided while all are reachable") {
  CHECK(decide(with(sbr_strategy::down_all), cluster_of(3, {3}), n(1)).nodes_to_down.size() == 3);
  auto calm = decide(with(sbr_strategy::keep_majority), cluster_of(3, {}), n(1));
  CHECK(calm.decision == sbr_decision::none);
  CHECK(calm.reason.find("reachable") != std::string::npos);
}

TEST_CASE("a role restricts what is counted") {
  auto st = with(sbr_strategy::keep_majority);
  st.keep_majority_role = "coordinator";
  auto g = cluster_of(5, {4, 5});
  g = with_status(g, n(1), member_status::up);
  for (auto& m : g.members) {
    if (m.node == n(4) || m.node == n(5)) m.roles = {"coordinator"};
  }
  auto r = decide(st, g, n(1));
  CHECK(r.reachable_count == 0);
  CHECK(r.unreachable_count == 2);
  CHECK(r.decision == sbr_decision::down_reachable);
}

TEST_CASE("the resolver acts only after stable-after and only on the leader, and says why") {
  split_brain_resolver sbr(with(sbr_strategy::keep_majority));
  auto g = cluster_of(5, {4, 5});
  auto first = sbr.evaluate(g, n(1), true, 1000);
  CHECK(first.decision == sbr_decision::down_unreachable);
  CHECK_FALSE(first.acts_now);
  CHECK(first.reason.find("waiting") != std::string::npos);
  auto later = sbr.evaluate(g, n(1), true, 21'000);
  CHECK(later.stable_for_ms == 20'000);
  CHECK(later.acts_now);
  CHECK_FALSE(sbr.explain(g, n(1), false, 21'000).acts_now);
  // A change restarts the clock.
  auto changed = sbr.evaluate(cluster_of(5, {3, 4, 5}), n(1), true, 22'000);
  CHECK(changed.stable_for_ms == 0);
  CHECK_FALSE(changed.acts_now);
}

TEST_CASE("down-all-when-unstable downs everyone when reachability never settles") {
  auto st = with(sbr_strategy::keep_majority);
  st.stable_after = std::chrono::milliseconds(1000);
  st.down_all_when_unstable = std::chrono::milliseconds(1000);
  split_brain_resolver sbr(st);
  std::int64_t t = 0;
  sbr_report r;
  for (int i = 0; i < 30 && !r.acts_now; ++i, t += 500) {
    r = sbr.evaluate(cluster_of(5, i % 2 ? std::set<int>{5} : std::set<int>{4, 5}), n(1), true, t);
  }
  CHECK(r.decision == sbr_decision::down_all);
  CHECK(r.reason.find("down-all-when-unstable") != std::string::npos);
}

TEST_CASE("indirectly connected: a cycle in the unreachability graph downs both ends") {
  // n1 and n3 cannot reach each other; n2 reaches both.
  gossip g;
  for (int i = 1; i <= 3; ++i) g = add_member(g, member{n(i), member_status::up, {}, "", i});
  g.reach = g.reach.unreachable(n(1), n(3)).unreachable(n(3), n(1));
  CHECK(indirectly_connected(g) == std::set<unique_address>{n(1), n(3)});
  auto r = decide(with(sbr_strategy::keep_majority), g, n(2));
  CHECK(r.decision == sbr_decision::down_indirectly_connected);
  CHECK(r.nodes_to_down == std::vector<unique_address>{n(1), n(3)});
  CHECK(r.reason.find("indirectly connected") != std::string::npos);
  CHECK(std::string(to_string(r.decision)) == "down-indirectly-connected");
}

TEST_CASE("indirectly connected: an unreachable subject that saw the latest gossip") {
  auto g = cluster_of(3, {});
  g.reach = g.reach.unreachable(n(1), n(2));
  g.seen = {n(1), n(2), n(3)};  // n2 got the current gossip: it is not cut off
  CHECK(indirectly_connected(g) == std::set<unique_address>{n(1), n(2)});
  auto r = decide(with(sbr_strategy::keep_majority), g, n(3));
  CHECK(r.decision == sbr_decision::down_indirectly_connected);
  CHECK(r.nodes_to_down == std::vector<unique_address>{n(1), n(2)});
}

TEST_CASE("indirectly connected plus a clean partition: the strategy decides, both are downed") {
  auto g = cluster_of(5, {5});  // n5 cut off from n1..n4
  g.reach = g.reach.unreachable(n(1), n(2)).unreachable(n(2), n(1));
  CHECK(indirectly_connected(g) == std::set<unique_address>{n(1), n(2)});
  auto r = decide(with(sbr_strategy::keep_majority), g, n(3));
  CHECK(r.decision == sbr_decision::down_unreachable);
  CHECK(r.nodes_to_down == std::vector<unique_address>{n(1), n(2), n(5)});
  CHECK(r.reason.find("also downing the indirectly connected") != std::string::npos);
}

TEST_CASE("a clean partition has no indirectly connected members") {
  auto g = cluster_of(5, {4, 5});
  g.seen = {n(1), n(2), n(3)};
  CHECK(indirectly_connected(g).empty());
  CHECK(decide(with(sbr_strategy::keep_majority), g, n(1)).nodes_to_down ==
        std::vector<unique_address>{n(4), n(5)});
}
