#pragma once
// Settings of the membership protocol, failure detector and split-brain resolver,
// read from Pekko's keys (pekko.cluster.*). Defaults live in reference-keys.conf.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "cluster/phi_accrual.hpp"

namespace wfe::core {
class settings_reader;
}

namespace wfe::cluster {

using std::chrono::milliseconds;

enum class sbr_strategy { keep_majority, static_quorum, keep_oldest, down_all };

const char* to_string(sbr_strategy s);

struct failure_detector_settings {
  milliseconds heartbeat_interval{1000};
  double threshold = 8.0;
  milliseconds acceptable_heartbeat_pause{3000};
  milliseconds min_std_deviation{100};
  std::size_t max_sample_size = 1000;
  std::size_t monitored_by_nr_of_members = 9;
  milliseconds expected_response_after{1000};

  [[nodiscard]] phi_settings phi() const;
};

struct split_brain_resolver_settings {
  // False when downing-provider-class is empty: no automatic downing (Pekko's NoDowning).
  bool enabled = true;
  sbr_strategy strategy = sbr_strategy::keep_majority;
  milliseconds stable_after{20'000};
  // Down every node when the unreachability set keeps changing this long beyond
  // stable-after; 0 = off. "on" derives 3/4 of stable-after, at least 4 s (Pekko).
  milliseconds down_all_when_unstable{15'000};
  std::size_t static_quorum_size = 0;  // required for static-quorum
  std::string static_quorum_role;
  bool keep_oldest_down_if_alone = true;
  std::string keep_oldest_role;
  std::string keep_majority_role;
};

struct membership_settings {
  milliseconds seed_node_timeout{5000};
  milliseconds retry_unsuccessful_join_after{10'000};  // 0 = off
  // Give up joining (the node stops) when not a member this long after it began; 0 = off.
  milliseconds shutdown_after_unsuccessful_join_seed_nodes{0};
  // Joining members become WeaklyUp after the leader failed to converge this long
  // (unreachable members); 0 = off (our default; Pekko's is 7 s).
  milliseconds allow_weakly_up_members{0};
  std::size_t min_nr_of_members = 1;
  std::map<std::string, std::size_t> min_nr_of_members_per_role;
  milliseconds gossip_interval{1000};
  milliseconds leader_actions_interval{1000};
  milliseconds unreachable_nodes_reaper_interval{1000};
  milliseconds prune_gossip_tombstones_after{86'400'000};
  failure_detector_settings failure_detector;
  std::string downing_provider_class = "org.apache.pekko.cluster.sbr.SplitBrainResolverProvider";
  split_brain_resolver_settings split_brain_resolver;
  std::string app_version = "0.0.0";

  static membership_settings read(core::settings_reader& r);
};

}  // namespace wfe::cluster
