// Deterministic simulation of the membership protocol: N nodes on a seeded lossy
// network with a controlled clock. Each scenario runs for many seeds; a failure names
// its seed. Replay one: WFE_SIM_SEED=<seed>; run more: WFE_SIM_SEEDS=<count>.

#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>

#include "tests/simulation/sim_cluster.hpp"

using namespace wfe::cluster;
using wfe::sim::network_faults;
using wfe::sim::sim_cluster;

namespace {

// Defaults of Pekko except a shorter stable-after, so a run covers detection and
// downing in little simulated time.
membership_settings sim_settings(sbr_strategy strategy = sbr_strategy::keep_majority) {
  membership_settings s;
  s.split_brain_resolver.strategy = strategy;
  s.split_brain_resolver.stable_after = std::chrono::milliseconds(7000);
  s.split_brain_resolver.down_all_when_unstable = std::chrono::milliseconds(5250);
  s.retry_unsuccessful_join_after = std::chrono::milliseconds(3000);
  return s;
}

network_faults lossy() { return network_faults{0.02, 1, 150}; }

// Runs `scenario` for each seed; returns at the first failure, naming the seed.
void for_each_seed(const char* name, std::uint64_t default_count,
                   const std::function<std::string(std::uint64_t)>& scenario) {
  std::uint64_t first = 1;
  std::uint64_t count = default_count;
  if (const char* one = std::getenv("WFE_SIM_SEED")) {
    first = std::strtoull(one, nullptr, 10);
    count = 1;
  } else if (const char* n = std::getenv("WFE_SIM_SEEDS")) {
    count = std::strtoull(n, nullptr, 10);
  }
  std::uint64_t passed = 0;
  for (auto seed = first; seed < first + count; ++seed) {
    auto failure = scenario(seed);
    if (!failure.empty()) {
      FAIL_CHECK(std::string(name)
                 << " failed for seed " << seed << " (replay: WFE_SIM_SEED=" << seed << ")\n"
                 << failure);
      return;
    }
    ++passed;
  }
  CHECK(passed == count);
}

// Steps until `done`, checking invariants after every step.
std::string run_checked(sim_cluster& c, const std::function<bool()>& done, std::int64_t limit_ms,
                        const char* waiting_for) {
  auto end = c.now_ms() + limit_ms;
  while (c.now_ms() < end) {
    c.step();
    if (auto broken = c.check_invariants(); !broken.empty()) return broken + "\n" + c.describe();
    if (done()) return {};
  }
  return std::string("timed out waiting for ") + waiting_for + "\n" + c.describe();
}

std::vector<std::size_t> all(std::size_t n) {
  std::vector<std::size_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

// Starts n nodes at random moments within 2 s and waits for one converged cluster.
std::string form(sim_cluster& c, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::int64_t> start_at(c.size());
  for (auto& t : start_at) t = std::uniform_int_distribution<std::int64_t>(0, 2000)(rng);
  std::vector<bool> started(c.size(), false);
  auto everyone = all(c.size());
  return run_checked(
      c,
      [&] {
        for (std::size_t i = 0; i < c.size(); ++i) {
          if (!started[i] && c.now_ms() >= start_at[i]) {
            c.start(i);
            started[i] = true;
          }
        }
        return c.agreed_on(everyone);
      },
      40'000, "the cluster to form");
}

std::string no_downing(const sim_cluster& c) {
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (c.count_events(event_kind::member_downed, i) > 0) {
      return "node" + std::to_string(i + 1) + " was downed\n" + c.describe();
    }
  }
  return {};
}

}  // namespace

TEST_CASE("five nodes on a lossy network form one cluster with one leader and stay up") {
  for_each_seed("formation", 200, [](std::uint64_t seed) -> std::string {
    sim_cluster c(seed, 5, sim_settings(), lossy());
    if (auto f = form(c, seed); !f.empty()) return f;
    c.run_for(15'000);
    if (!c.agreed_on(all(5))) return "the cluster fell apart\n" + c.describe();
    return no_downing(c);
  });
}

TEST_CASE("keep-majority downs the minority of a 2|3 partition and the majority continues") {
  for_each_seed("partition 2|3", 200, [](std::uint64_t seed) -> std::string {
    sim_cluster c(seed, 5, sim_settings(), lossy());
    if (auto f = form(c, seed); !f.empty()) return f;
    c.network().partition({{"node1", "node2"}, {"node3", "node4", "node5"}});
    auto f = run_checked(
        c,
        [&] {
          return c.agreed_on({2, 3, 4});
        },
        40'000, "the majority to remove the minority");
    if (!f.empty()) return f;
    for (std::size_t i : {0, 1}) {
      if (c.node(i).core->phase() != node_phase::downed)
        return "minority not downed\n" + c.describe();
    }
    for (std::size_t i : {2, 3, 4}) {
      if (c.count_events(event_kind::member_downed, i) > 0)
        return "majority node downed\n" + c.describe();
    }
    c.network().heal();
    c.run_for(10'000);
    if (!c.agreed_on({2, 3, 4})) return "majority unstable after heal\n" + c.describe();
    return {};
  });
}

TEST_CASE("keep-majority: a single node cut off from two others downs itself") {
  for_each_seed("partition 1|2", 200, [](std::uint64_t seed) -> std::string {
    sim_cluster c(seed, 3, sim_settings(), lossy());
    if (auto f = form(c, seed); !f.empty()) return f;
    c.network().partition({{"node1"}, {"node2", "node3"}});
    auto f = run_checked(
        c,
        [&] {
          return c.agreed_on({1, 2});
        },
        40'000, "the two to remove the single node");
    if (!f.empty()) return f;
    if (c.node(0).core->phase() != node_phase::downed) return "node1 not downed\n" + c.describe();
    return {};
  });
}

TEST_CASE("a partition shorter than detection plus stable-after heals without downing anyone") {
  for_each_seed("short partition", 200, [](std::uint64_t seed) -> std::string {
    sim_cluster c(seed, 5, sim_settings(), lossy());
    if (auto f = form(c, seed); !f.empty()) return f;
    c.network().partition({{"node1", "node2"}, {"node3", "node4", "node5"}});
    c.run_for(6000);
    c.network().heal();
    auto f = run_checked(
        c,
        [&] {
          return c.agreed_on(all(5)) && c.node(0).core->state().reach.all_unreachable().empty();
        },
        30'000, "convergence after the heal");
    if (!f.empty()) return f;
    return no_downing(c);
  });
}

TEST_CASE("without a downing provider a long partition downs nobody and heals to one cluster") {
  for_each_seed("no downing", 50, [](std::uint64_t seed) -> std::string {
    auto s = sim_settings();
    s.split_brain_resolver.enabled = false;
    sim_cluster c(seed, 5, s, lossy());
    if (auto f = form(c, seed); !f.empty()) return f;
    c.network().partition({{"node1", "node2"}, {"node3", "node4", "node5"}});
    c.run_for(30'000);
    c.network().heal();
    auto f = run_checked(
        c, [&] { return c.agreed_on(all(5)); }, 30'000, "convergence after heal");
    if (!f.empty()) return f;
    return no_downing(c);
  });
}

TEST_CASE("a killed node restarted with a new uid rejoins and its old incarnation is removed") {
  for_each_seed("restart", 200, [](std::uint64_t seed) -> std::string {
    sim_cluster c(seed, 5, sim_settings(), lossy());
    if (auto f = form(c, seed); !f.empty()) return f;
    auto old_uid = c.node(3).core->self();
    c.kill(3);
    c.run_for(2000);
    c.start(3);
    auto f = run_checked(
        c, [&] { return c.agreed_on(all(5)); }, 60'000, "the new incarnation to be Up");
    if (!f.empty()) return f;
    for (std::size_t i = 0; i < 5; ++i) {
      const auto& g = c.node(i).core->state();
      if (g.has_member(old_uid)) return "old incarnation still present\n" + c.describe();
    }
    if (c.node(3).core->self() == old_uid) return "restart kept the uid";
    return {};
  });
}

TEST_CASE("a gracefully leaving node is removed everywhere before the failure detector notices") {
  std::int64_t slowest_ms = 0;
  for_each_seed("leave", 200, [&](std::uint64_t seed) -> std::string {
    sim_cluster c(seed, 5, sim_settings(), lossy());
    if (auto f = form(c, seed); !f.empty()) return f;
    auto leaving = c.node(2).core->self();
    c.node(2).core->leave(leaving.address, c.now_ms());
    auto started = c.now_ms();
    auto f = run_checked(
        c,
        [&] {
          return c.node(2).core->phase() == node_phase::removed && c.agreed_on({0, 1, 3, 4});
        },
        20'000, "the leaving node to be removed");
    if (!f.empty()) return f;
    auto took = c.now_ms() - started;
    if (c.count_events(event_kind::unreachable_member, 2) > 0 ||
        c.count_events(event_kind::member_downed, 2) > 0) {
      return "the leaving node was seen unreachable or downed\n" + c.describe();
    }
    slowest_ms = std::max(slowest_ms, took);
    if (took > 8000) return "leave took " + std::to_string(took) + " ms\n" + c.describe();
    return {};
  });
  MESSAGE("slowest graceful removal: " << slowest_ms << " ms");
}

namespace {

// Node 4's status in node 1's view (Removed when absent).
member_status status_of_node4(sim_cluster& c) {
  for (const auto& m : c.node(0).core->state().members) {
    if (m.node.address == sim_cluster::address_of(3)) return m.status;
  }
  return member_status::removed;
}

// Forms a cluster of nodes 1..3, cuts node 3 off and lets node 4 join during the split.
std::string join_during_partition(sim_cluster& c, std::uint64_t seed) {
  (void)seed;
  for (std::size_t i = 0; i < 3; ++i) c.start(i);
  auto f = run_checked(
      c,
      [&] {
        return c.agreed_on({0, 1, 2});
      },
      40'000, "the cluster of three to form");
  if (!f.empty()) return f;
  c.network().partition({{"node1", "node2", "node4"}, {"node3"}});
  c.run_for(8000);  // node3 is unreachable by now
  c.start(3);
  return {};
}

}  // namespace

TEST_CASE("allow-weakly-up-members: a node joining during a partition becomes WeaklyUp, then Up") {
  for_each_seed("weakly up", 50, [](std::uint64_t seed) -> std::string {
    auto s = sim_settings();
    s.split_brain_resolver.enabled = false;  // node3 stays unreachable, not downed
    s.allow_weakly_up_members = std::chrono::milliseconds(2000);
    sim_cluster c(seed, 4, s, lossy());
    if (auto f = join_during_partition(c, seed); !f.empty()) return f;
    auto f = run_checked(
        c, [&] { return status_of_node4(c) == member_status::weakly_up; }, 20'000,
        "node4 to be WeaklyUp");
    if (!f.empty()) return f;
    if (c.count_events(event_kind::member_weakly_up, 3) == 0) return "no MemberWeaklyUp event";
    c.network().heal();
    return run_checked(
        c,
        [&] {
          return c.agreed_on({0, 1, 2, 3});
        },
        30'000, "all four Up after the heal");
  });
}

TEST_CASE("allow-weakly-up-members off: a node joining during a partition stays Joining") {
  for_each_seed("no weakly up", 20, [](std::uint64_t seed) -> std::string {
    auto s = sim_settings();
    s.split_brain_resolver.enabled = false;
    sim_cluster c(seed, 4, s, lossy());
    if (auto f = join_during_partition(c, seed); !f.empty()) return f;
    c.run_for(15'000);
    if (status_of_node4(c) != member_status::joining) {
      return std::string("node4 is ") + to_string(status_of_node4(c)) + ", not Joining\n" +
             c.describe();
    }
    c.network().heal();
    return run_checked(
        c,
        [&] {
          return c.agreed_on({0, 1, 2, 3});
        },
        30'000, "all four Up after the heal");
  });
}
