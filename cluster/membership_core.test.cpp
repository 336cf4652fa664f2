#include "cluster/membership_core.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace wfe::cluster;

namespace {

wfe::core::address addr(int i, const char* system = "sys") {
  return wfe::core::address{system, "n" + std::to_string(i), 2552};
}

membership_core make(int i, std::uint64_t uid = 1, const char* system = "sys",
                     std::string shards = "100") {
  membership_core_config c;
  c.self = unique_address{addr(i, system), uid};
  c.roles = {"worker"};
  c.config = {{"pekko.cluster.sharding.number-of-shards", shards}};
  c.rng_seed = static_cast<std::uint64_t>(i);
  return membership_core(std::move(c));
}

// Delivers messages between `nodes` (by address) until none are left.
void pump(std::vector<membership_core*> nodes, std::int64_t now_ms) {
  for (int round = 0; round < 50; ++round) {
    bool any = false;
    for (auto* n : nodes) {
      for (auto& out : n->take_outgoing()) {
        auto it = std::find_if(nodes.begin(), nodes.end(),
                               [&](auto* x) { return x->self().address == out.to; });
        if (it != nodes.end()) {
          (*it)->on_message(out.message, now_ms);
          any = true;
        }
      }
    }
    if (!any) return;
  }
}

bool has_event(const std::vector<cluster_event>& es, event_kind k) {
  return std::any_of(es.begin(), es.end(), [&](const auto& e) { return e.kind == k; });
}

}  // namespace

TEST_CASE("the first seed joins itself after seed-node-timeout and its leader moves it Up") {
  auto a = make(1);
  a.join_seed_nodes({addr(1), addr(2)}, 0);
  CHECK(a.phase() == node_phase::joining_seeds);
  CHECK(a.take_outgoing().size() == 1);  // InitJoin to n2
  a.on_tick(4900);
  CHECK(a.phase() == node_phase::joining_seeds);
  a.on_tick(5000);
  CHECK(a.phase() == node_phase::member);
  CHECK(a.self_status() == member_status::joining);
  a.on_tick(5100);
  CHECK(a.self_status() == member_status::up);
  CHECK(a.leader() == a.self());
  auto events = a.take_events();
  CHECK(has_event(events, event_kind::member_up));
  CHECK(has_event(events, event_kind::leader_changed));
}

TEST_CASE("a second node joins through InitJoin, Join and Welcome and becomes Up") {
  auto a = make(1);
  auto b = make(2);
  a.join_seed_nodes({addr(1)}, 0);
  a.on_tick(0);
  b.join_seed_nodes({addr(1)}, 0);
  pump({&a, &b}, 10);
  CHECK(b.phase() == node_phase::member);
  for (std::int64_t t = 1000; t < 6000; t += 500) {
    a.on_tick(t);
    b.on_tick(t);
    pump({&a, &b}, t);
  }
  CHECK(a.state().members.size() == 2);
  CHECK(b.self_status() == member_status::up);
  CHECK(b.leader() == a.self());
  CHECK(b.view().up_count() == 2);
}

TEST_CASE("a node of another actor system is refused with the reason") {
  auto a = make(1);
  a.join_seed_nodes({}, 0);
  auto b = make(2, 1, "other");
  b.join_seed_nodes({addr(1, "other")}, 0);
  auto out = b.take_outgoing();
  REQUIRE(out.size() == 1);
  a.on_message(out[0].message, 0);
  auto reply = a.take_outgoing();
  REQUIRE(reply.size() == 1);
  b.on_message(reply[0].message, 0);
  auto events = b.take_events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == event_kind::join_refused);
  CHECK(events[0].reason.find("actor system name mismatch") != std::string::npos);
  CHECK(b.phase() == node_phase::joining_seeds);
}

// Pekko's JoinSeedNodeProcess: one attempt per seed-node-timeout, a warning from the
// second unanswered one on (the deployment guide's "Couldn't join seed nodes after [10]
// attempts" symptom), naming the seeds but self.
TEST_CASE("unanswered seeds: a warning per seed-node-timeout from the second attempt on") {
  auto b = make(2);
  b.join_seed_nodes({addr(1), addr(2), addr(3)}, 0);  // nobody answers
  for (std::int64_t t = 0; t < 10'000; t += 500) b.on_tick(t);
  CHECK(b.take_warnings().empty());
  b.on_tick(10'000);
  auto w = b.take_warnings();
  REQUIRE(w.size() == 1);
  CHECK(w[0] ==
        "Couldn't join seed nodes after [2] attempts, will try again. "
        "seed-nodes=[" +
            addr(1).to_string() + ", " + addr(3).to_string() + "]");
  b.on_tick(14'999);
  CHECK(b.take_warnings().empty());
  b.on_tick(15'000);
  w = b.take_warnings();
  REQUIRE(w.size() == 1);
  CHECK(w[0].find("after [3] attempts") != std::string::npos);
  CHECK(b.phase() == node_phase::joining_seeds);  // off by default: it keeps trying
  b.on_tick(3'600'000);
  CHECK(b.phase() == node_phase::joining_seeds);
  CHECK_FALSE(b.is_terminated());

  auto first = make(1);  // the first seed bootstraps after one attempt: no warning
  first.join_seed_nodes({addr(1), addr(2)}, 0);
  for (std::int64_t t = 0; t <= 20'000; t += 500) first.on_tick(t);
  CHECK(first.phase() == node_phase::member);
  CHECK(first.take_warnings().empty());
}

TEST_CASE("shutdown-after-unsuccessful-join-seed-nodes: a node no seed answers gives up") {
  membership_core_config c;
  c.self = unique_address{addr(2), 1};
  c.roles = {"worker"};
  c.settings.shutdown_after_unsuccessful_join_seed_nodes = std::chrono::milliseconds(30'000);
  membership_core b(std::move(c));
  b.join_seed_nodes({addr(1)}, 0);
  b.on_tick(29'999);
  CHECK(b.phase() == node_phase::joining_seeds);
  CHECK_FALSE(b.is_terminated());
  (void)b.take_warnings();
  b.on_tick(30'000);
  CHECK(b.phase() == node_phase::join_unsuccessful);
  CHECK(b.is_terminated());
  auto w = b.take_warnings();
  REQUIRE(w.size() == 1);
  CHECK(w[0].find("shutdown-after-unsuccessful-join-seed-nodes [30000 ms]") != std::string::npos);
}

TEST_CASE("a Join without a Welcome is retried with a warning naming the seed") {
  auto a = make(1);
  a.join_seed_nodes({}, 0);
  auto b = make(2);
  b.join_seed_nodes({addr(1)}, 0);
  // InitJoin to a, its InitJoinAck back; b's Join is lost.
  for (auto& out : b.take_outgoing()) a.on_message(out.message, 0);
  for (auto& out : a.take_outgoing()) b.on_message(out.message, 0);
  CHECK(b.phase() == node_phase::joining);
  (void)b.take_outgoing();
  b.on_tick(9'999);
  CHECK(b.take_warnings().empty());
  b.on_tick(10'000);
  auto w = b.take_warnings();
  REQUIRE(w.size() == 1);
  CHECK(w[0] == "Join of [" + addr(2).to_string() + "] to [" + addr(1).to_string() +
                    "] was unsuccessful after configured retry-unsuccessful-join-after of "
                    "[10000 ms], attempting to re-join.");
  CHECK(b.phase() == node_phase::joining_seeds);
}

TEST_CASE("a node with a different number of shards is refused and stops joining") {
  auto a = make(1);
  a.join_seed_nodes({}, 0);
  auto b = make(2, 1, "sys", "50");
  b.join_seed_nodes({addr(1)}, 0);
  pump({&a, &b}, 0);
  CHECK(b.phase() == node_phase::join_refused);
  auto events = b.take_events();
  REQUIRE_FALSE(events.empty());
  CHECK(events.back().reason.find("number-of-shards is 100 in the cluster but 50") !=
        std::string::npos);
  CHECK(a.state().members.size() == 1);
}

TEST_CASE("a Join from a new incarnation downs the old one instead of adding a duplicate") {
  auto a = make(1);
  auto b = make(2, 7);
  a.join_seed_nodes({}, 0);
  b.join_seed_nodes({addr(1)}, 0);
  pump({&a, &b}, 0);
  REQUIRE(a.state().members.size() == 2);
  auto b2 = make(2, 8);
  b2.join_seed_nodes({addr(1)}, 100);
  pump({&a, &b2}, 100);
  const auto* old = a.state().find(unique_address{addr(2), 7});
  REQUIRE(old);
  CHECK(old->status == member_status::down);
  CHECK_FALSE(a.state().has_member(unique_address{addr(2), 8}));
  CHECK(a.state().reach.status(old->node) == reachability_status::terminated);
}

TEST_CASE("a single node that leaves goes through Exiting to Removed and learns it") {
  auto a = make(1);
  a.join_seed_nodes({}, 0);
  for (std::int64_t t = 0; t <= 1000; t += 100) a.on_tick(t);
  REQUIRE(a.self_status() == member_status::up);
  a.leave(a.self().address, 1100);
  CHECK(a.self_status() == member_status::leaving);
  for (std::int64_t t = 1100; t <= 6000 && !a.is_terminated(); t += 100) {
    a.on_tick(t);
    pump({&a}, t);
  }
  CHECK(a.phase() == node_phase::removed);
  auto events = a.take_events();
  CHECK(has_event(events, event_kind::member_left));
  CHECK(has_event(events, event_kind::member_exited));
  CHECK(has_event(events, event_kind::member_removed));
}

TEST_CASE("a node that learns it is Down stops and ignores further input") {
  auto a = make(1);
  auto b = make(2);
  a.join_seed_nodes({}, 0);
  b.join_seed_nodes({addr(1)}, 0);
  pump({&a, &b}, 0);
  a.down(addr(2), 100);
  pump({&a, &b}, 100);
  CHECK(b.phase() == node_phase::downed);
  CHECK(b.self_status() == member_status::down);
  CHECK(has_event(b.take_events(), event_kind::member_downed));
  b.on_tick(200);
  CHECK(b.take_outgoing().empty());
}

TEST_CASE("the resolver's explanation is available on every node") {
  auto a = make(1);
  a.join_seed_nodes({}, 0);
  a.on_tick(0);
  auto r = a.explain_downing(1000);
  CHECK(r.decision == sbr_decision::none);
  CHECK(r.strategy == sbr_strategy::keep_majority);
  CHECK(r.stable_after_ms == 20'000);
}
