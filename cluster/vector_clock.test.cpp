#include "cluster/vector_clock.hpp"

#include <doctest/doctest.h>

using wfe::cluster::clock_order;
using wfe::cluster::vector_clock;

TEST_CASE("a fresh clock is the same as another fresh clock") {
  CHECK(vector_clock().compare(vector_clock()) == clock_order::same);
}

TEST_CASE("an incremented clock is after its predecessor and the predecessor before it") {
  auto a = vector_clock().increment("n1");
  auto b = a.increment("n2");
  CHECK(b.compare(a) == clock_order::after);
  CHECK(a.compare(b) == clock_order::before);
  CHECK(b.at("n1") == 1);
  CHECK(b.at("n2") == 1);
  CHECK(b.at("n3") == 0);
}

TEST_CASE("changes by two nodes from the same base are concurrent and merge to a later clock") {
  auto base = vector_clock().increment("n1");
  auto x = base.increment("n1");
  auto y = base.increment("n2");
  CHECK(x.compare(y) == clock_order::concurrent);
  CHECK(y.compare(x) == clock_order::concurrent);
  auto m = x.merge(y);
  CHECK(m.at("n1") == 2);
  CHECK(m.at("n2") == 1);
  CHECK(m.compare(x) == clock_order::after);
  CHECK(m.compare(y) == clock_order::after);
  CHECK(x.merge(y) == y.merge(x));
}

TEST_CASE("pruning a removed node drops its counter") {
  auto c = vector_clock().increment("n1").increment("n2");
  auto p = c.prune("n2");
  CHECK(p.values().size() == 1);
  CHECK(p.at("n2") == 0);
  CHECK(c.compare(p) == clock_order::after);
}
