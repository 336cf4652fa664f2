#pragma once
// Split-brain resolver (Pekko's SBR strategies) over a gossip snapshot: which side of
// an unreachability split survives, and why. `decide` is the pure rule; the
// `split_brain_resolver` adds the stable-after clock and down-all-when-unstable, and
// keeps a report that GET /api/v1/cluster/sbr shows ("what would it do now and why").

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster/gossip.hpp"
#include "cluster/membership_settings.hpp"

namespace wfe::cluster {

enum class sbr_decision {
  none,
  down_unreachable,
  down_reachable,
  down_all,
  down_self,
  down_indirectly_connected,  // only indirectly connected members are unreachable
};

// "none", "down-unreachable", "down-reachable", "down-all", "down-self",
// "down-indirectly-connected"
const char* to_string(sbr_decision d);

struct sbr_report {
  sbr_strategy strategy = sbr_strategy::keep_majority;
  sbr_decision decision = sbr_decision::none;
  std::vector<unique_address> nodes_to_down;  // address order
  std::string reason;                         // one sentence a operator can act on
  // Members the strategy counts (Up/Leaving/Exiting, with the role when one is set).
  std::size_t reachable_count = 0;
  std::size_t unreachable_count = 0;
  std::int64_t stable_for_ms = 0;
  std::int64_t stable_after_ms = 0;
  bool is_leader = false;  // only the leader acts
  bool acts_now = false;   // leader, stable long enough and something to down
};

// Members that are unreachable from some members but not cut off from the cluster
// (Pekko's "indirectly connected"): an observer that is itself observed unreachable
// (a cycle in the unreachability graph), and both ends of a record whose subject has
// seen the current gossip. Down members excluded.
std::set<unique_address> indirectly_connected(const gossip& g);

// The strategy's verdict on `g` seen from `self`, ignoring time. Unreachable members
// already Down are not counted; no unreachable member -> none. Indirectly connected
// members are downed (Pekko): alone as `down-indirectly-connected` when they are all
// the unreachable members, otherwise in addition to the strategy's verdict on the
// clean partition that remains without their records.
sbr_report decide(const split_brain_resolver_settings& s, const gossip& g,
                  const unique_address& self);

class split_brain_resolver {
 public:
  explicit split_brain_resolver(split_brain_resolver_settings s) : settings_(std::move(s)) {}

  // Called on every leader tick with the current gossip: tracks how long membership
  // and reachability have been unchanged and returns what to do now.
  sbr_report evaluate(const gossip& g, const unique_address& self, bool is_leader,
                      std::int64_t now_ms);
  // The same verdict without advancing any state (for the HTTP endpoint).
  [[nodiscard]] sbr_report explain(const gossip& g, const unique_address& self, bool is_leader,
                                   std::int64_t now_ms) const;

  [[nodiscard]] const split_brain_resolver_settings& settings() const { return settings_; }

 private:
  split_brain_resolver_settings settings_;
  std::string signature_;  // members (not Joining) with status and reachability
  std::int64_t stable_since_ms_ = 0;
  std::optional<std::int64_t> unstable_since_ms_;  // first unreachability of this episode
};

}  // namespace wfe::cluster
