#include "cluster/membership_settings.hpp"

#include <algorithm>

#include "engine/core/settings_reader.hpp"

namespace wfe::cluster {

namespace {

constexpr std::string_view k_sbr_provider =
    "org.apache.pekko.cluster.sbr.SplitBrainResolverProvider";
constexpr milliseconds ms_min{1};
constexpr milliseconds ms_max{86'400'000LL * 365};

std::string key(std::string_view suffix) { return "pekko.cluster." + std::string(suffix); }

milliseconds dur(core::settings_reader& r, std::string_view suffix) {
  return r.duration(key(suffix), ms_min, ms_max);
}

// "off" (or "false") -> 0, otherwise a duration.
milliseconds dur_or_off(core::settings_reader& r, std::string_view suffix) {
  auto text = r.cfg().get_string(key(suffix));
  if (text && (*text == "off" || *text == "false")) return milliseconds(0);
  return dur(r, suffix);
}

std::size_t count(core::settings_reader& r, std::string_view suffix, std::int64_t min,
                  std::int64_t max) {
  return static_cast<std::size_t>(r.integer(key(suffix), min, max));
}

void read_failure_detector(core::settings_reader& r, failure_detector_settings& fd) {
  fd.heartbeat_interval = dur(r, "failure-detector.heartbeat-interval");
  auto k = key("failure-detector.threshold");
  if (auto t = r.cfg().get_double(k); !t) {
    r.fail(k, t.error().message);
  } else if (*t <= 0) {
    r.fail(k, "must be greater than 0, got " + std::to_string(*t));
  } else {
    fd.threshold = *t;
  }
  fd.acceptable_heartbeat_pause = dur(r, "failure-detector.acceptable-heartbeat-pause");
  fd.min_std_deviation = dur(r, "failure-detector.min-std-deviation");
  fd.max_sample_size = count(r, "failure-detector.max-sample-size", 1, 100'000);
  fd.monitored_by_nr_of_members = count(r, "failure-detector.monitored-by-nr-of-members", 1, 100);
  fd.expected_response_after = dur(r, "failure-detector.expected-response-after");
}

void read_roles(core::settings_reader& r, membership_settings& s) {
  if (!r.cfg().has("pekko.cluster.role")) return;
  for (const auto& role : r.cfg().keys("pekko.cluster.role")) {
    auto suffix = "role.\"" + role + "\".min-nr-of-members";
    s.min_nr_of_members_per_role[role] = count(r, suffix, 1, 10'000);
  }
}

// quorum-size is "undefined" in Pekko's reference.conf; static-quorum needs a number.
void read_quorum(core::settings_reader& r, split_brain_resolver_settings& sbr) {
  auto k = key("split-brain-resolver.static-quorum.quorum-size");
  auto text = r.cfg().get_string(k);
  if (text && *text == "undefined") {
    if (sbr.strategy == sbr_strategy::static_quorum) {
      r.fail(k, "must be set (a number >= 1) when active-strategy is static-quorum");
    }
    return;
  }
  sbr.static_quorum_size = count(r, "split-brain-resolver.static-quorum.quorum-size", 1, 10'000);
}

// "on" -> 3/4 of stable-after, at least 4 s; "off" -> 0; or a duration.
void read_down_all_when_unstable(core::settings_reader& r, split_brain_resolver_settings& sbr) {
  auto k = key("split-brain-resolver.down-all-when-unstable");
  auto text = r.cfg().get_string(k);
  if (text && (*text == "on" || *text == "true")) {
    sbr.down_all_when_unstable = std::max(milliseconds(4000), sbr.stable_after * 3 / 4);
  } else {
    sbr.down_all_when_unstable = dur_or_off(r, "split-brain-resolver.down-all-when-unstable");
  }
}

void read_sbr(core::settings_reader& r, membership_settings& s) {
  auto& sbr = s.split_brain_resolver;
  s.downing_provider_class = r.string(key("downing-provider-class"));
  if (!s.downing_provider_class.empty() && s.downing_provider_class != k_sbr_provider) {
    r.fail(key("downing-provider-class"), "only \"" + std::string(k_sbr_provider) +
                                              "\" or \"\" (no automatic downing) is supported");
  }
  sbr.enabled = s.downing_provider_class == k_sbr_provider;
  auto strategy = r.one_of(key("split-brain-resolver.active-strategy"),
                           {"keep-majority", "static-quorum", "keep-oldest", "down-all"});
  if (strategy == "static-quorum") sbr.strategy = sbr_strategy::static_quorum;
  if (strategy == "keep-oldest") sbr.strategy = sbr_strategy::keep_oldest;
  if (strategy == "down-all") sbr.strategy = sbr_strategy::down_all;
  sbr.stable_after = dur(r, "split-brain-resolver.stable-after");
  read_down_all_when_unstable(r, sbr);
  read_quorum(r, sbr);
  sbr.static_quorum_role = r.string(key("split-brain-resolver.static-quorum.role"));
  sbr.keep_oldest_down_if_alone = r.boolean(key("split-brain-resolver.keep-oldest.down-if-alone"));
  sbr.keep_oldest_role = r.string(key("split-brain-resolver.keep-oldest.role"));
  sbr.keep_majority_role = r.string(key("split-brain-resolver.keep-majority.role"));
}

}  // namespace

const char* to_string(sbr_strategy s) {
  switch (s) {
    case sbr_strategy::keep_majority:
      return "keep-majority";
    case sbr_strategy::static_quorum:
      return "static-quorum";
    case sbr_strategy::keep_oldest:
      return "keep-oldest";
    case sbr_strategy::down_all:
      return "down-all";
  }
  return "unknown";
}

phi_settings failure_detector_settings::phi() const {
  phi_settings p;
  p.threshold = threshold;
  p.max_sample_size = max_sample_size;
  p.min_std_deviation_ms = min_std_deviation.count();
  p.acceptable_heartbeat_pause_ms = acceptable_heartbeat_pause.count();
  p.first_heartbeat_estimate_ms = heartbeat_interval.count();
  return p;
}

membership_settings membership_settings::read(core::settings_reader& r) {
  membership_settings s;
  s.seed_node_timeout = dur(r, "seed-node-timeout");
  s.retry_unsuccessful_join_after = dur_or_off(r, "retry-unsuccessful-join-after");
  s.shutdown_after_unsuccessful_join_seed_nodes =
      dur_or_off(r, "shutdown-after-unsuccessful-join-seed-nodes");
  s.allow_weakly_up_members = dur_or_off(r, "allow-weakly-up-members");
  s.min_nr_of_members = count(r, "min-nr-of-members", 1, 10'000);
  read_roles(r, s);
  s.gossip_interval = dur(r, "gossip-interval");
  s.leader_actions_interval = dur(r, "leader-actions-interval");
  s.unreachable_nodes_reaper_interval = dur(r, "unreachable-nodes-reaper-interval");
  s.prune_gossip_tombstones_after = dur(r, "prune-gossip-tombstones-after");
  read_failure_detector(r, s.failure_detector);
  read_sbr(r, s);
  s.app_version = r.non_empty_string(key("app-version"));
  return s;
}

}  // namespace wfe::cluster
