#include "cluster/reachability.hpp"

#include <doctest/doctest.h>

#include "cluster/test_nodes.hpp"

using namespace wfe::cluster;
using wfe::cluster::testing::n;

TEST_CASE("a subject is unreachable when any observer says so") {
  auto r = reachability().unreachable(n(1), n(3));
  CHECK_FALSE(r.is_reachable(n(3)));
  CHECK(r.is_reachable(n(2), n(3)));
  CHECK(r.all_unreachable() == std::set<unique_address>{n(3)});
  auto healed = r.reachable(n(1), n(3));
  CHECK(healed.is_reachable(n(3)));
  CHECK(healed.versions().at(n(1)) == 2);
}

TEST_CASE("a terminated record stays terminated") {
  auto r = reachability().terminated(n(1), n(2)).reachable(n(1), n(2));
  CHECK(r.status(n(2)) == reachability_status::terminated);
}

TEST_CASE("recording what is already known changes nothing") {
  auto r = reachability().reachable(n(1), n(2));
  CHECK(r.empty());
  auto u = reachability().unreachable(n(1), n(2));
  CHECK(u.unreachable(n(1), n(2)) == u);
}

TEST_CASE("a merge keeps each observer's newer rows") {
  std::set<unique_address> members{n(1), n(2), n(3)};
  auto a = reachability().unreachable(n(1), n(3));           // n1 v1: n3 unreachable
  auto b = a.reachable(n(1), n(3)).unreachable(n(2), n(1));  // n1 v2: healed; n2 v1
  auto m1 = a.merge(members, b);
  auto m2 = b.merge(members, a);
  CHECK(m1 == m2);
  CHECK(m1.is_reachable(n(3)));
  CHECK_FALSE(m1.is_reachable(n(1)));
}

TEST_CASE("rows about or by removed nodes are dropped") {
  auto r = reachability().unreachable(n(1), n(2)).unreachable(n(2), n(3));
  auto without = r.remove({n(2)});
  CHECK(without.empty());
  auto observers = r.remove_observers({n(1)});
  CHECK(observers.all_unreachable() == std::set<unique_address>{n(3)});
}
