#include "cluster/membership_settings.hpp"

#include <doctest/doctest.h>

#include "tests/support/load_settings.hpp"

using namespace wfe::cluster;
using wfe::test::read_settings;

namespace {
// The keys live in conf/reference.conf, the fallback of every loaded config: an
// empty file reads their defaults; tests append overrides to it.
std::string reference_keys() { return {}; }
}  // namespace

TEST_CASE("Pekko's defaults are read from reference.conf") {
  auto [s, errors] = read_settings<membership_settings>(reference_keys());
  REQUIRE(errors.empty());
  CHECK(s.seed_node_timeout.count() == 5000);
  CHECK(s.retry_unsuccessful_join_after.count() == 10'000);
  CHECK(s.shutdown_after_unsuccessful_join_seed_nodes.count() == 0);  // off, as in Pekko
  CHECK(s.allow_weakly_up_members.count() == 0);                      // off here (Pekko: 7 s)
  CHECK(s.min_nr_of_members == 1);
  CHECK(s.min_nr_of_members_per_role.empty());
  CHECK(s.gossip_interval.count() == 1000);
  CHECK(s.failure_detector.threshold == doctest::Approx(8.0));
  CHECK(s.failure_detector.acceptable_heartbeat_pause.count() == 3000);
  CHECK(s.failure_detector.min_std_deviation.count() == 100);
  CHECK(s.failure_detector.max_sample_size == 1000);
  CHECK(s.failure_detector.monitored_by_nr_of_members == 9);
  CHECK(s.split_brain_resolver.enabled);
  CHECK(s.split_brain_resolver.strategy == sbr_strategy::keep_majority);
  CHECK(s.split_brain_resolver.stable_after.count() == 20'000);
  CHECK(s.split_brain_resolver.down_all_when_unstable.count() == 15'000);  // 3/4 of 20 s
  CHECK(s.split_brain_resolver.keep_oldest_down_if_alone);
  CHECK(s.app_version == "0.0.0");
}

TEST_CASE("overrides: per-role minimums, static-quorum, tuned detector, no downing") {
  auto [s, errors] = read_settings<membership_settings>(reference_keys() + R"(
pekko.cluster.role { worker.min-nr-of-members = 2, coordinator.min-nr-of-members = 1 }
pekko.cluster.split-brain-resolver.active-strategy = static-quorum
pekko.cluster.split-brain-resolver.static-quorum.quorum-size = 2
pekko.cluster.split-brain-resolver.stable-after = 4s
pekko.cluster.split-brain-resolver.down-all-when-unstable = off
pekko.cluster.failure-detector.acceptable-heartbeat-pause = 1500ms
pekko.cluster.retry-unsuccessful-join-after = off
pekko.cluster.shutdown-after-unsuccessful-join-seed-nodes = 60s
pekko.cluster.app-version = "2.1.0"
)");
  REQUIRE(errors.empty());
  CHECK(s.min_nr_of_members_per_role.at("worker") == 2);
  CHECK(s.min_nr_of_members_per_role.at("coordinator") == 1);
  CHECK(s.split_brain_resolver.strategy == sbr_strategy::static_quorum);
  CHECK(s.split_brain_resolver.static_quorum_size == 2);
  CHECK(s.split_brain_resolver.stable_after.count() == 4000);
  CHECK(s.split_brain_resolver.down_all_when_unstable.count() == 0);
  CHECK(s.failure_detector.phi().acceptable_heartbeat_pause_ms == 1500);
  CHECK(s.retry_unsuccessful_join_after.count() == 0);
  CHECK(s.shutdown_after_unsuccessful_join_seed_nodes.count() == 60'000);
  CHECK(s.app_version == "2.1.0");
  auto [off, e2] = read_settings<membership_settings>(
      reference_keys() + "pekko.cluster.downing-provider-class = \"\"\n");
  REQUIRE(e2.empty());
  CHECK_FALSE(off.split_brain_resolver.enabled);
}

TEST_CASE("static-quorum without a quorum-size and an unknown strategy are refused") {
  auto [s, errors] = read_settings<membership_settings>(
      reference_keys() + "pekko.cluster.split-brain-resolver.active-strategy = static-quorum\n");
  CHECK(errors.find("quorum-size") != std::string::npos);
  auto [s2, e2] = read_settings<membership_settings>(
      reference_keys() + "pekko.cluster.split-brain-resolver.active-strategy = keep-referee\n");
  CHECK(e2.find("active-strategy") != std::string::npos);
  auto [s3, e3] = read_settings<membership_settings>(
      reference_keys() + "pekko.cluster.failure-detector.threshold = -1\n");
  CHECK(e3.find("threshold") != std::string::npos);
}

TEST_CASE("allow-weakly-up-members takes a duration or off") {
  auto [on, e1] = read_settings<membership_settings>("pekko.cluster.allow-weakly-up-members = 7s");
  REQUIRE(e1.empty());
  CHECK(on.allow_weakly_up_members.count() == 7000);
  auto [bad, e2] = read_settings<membership_settings>("pekko.cluster.allow-weakly-up-members = x");
  CHECK(!e2.empty());
}
