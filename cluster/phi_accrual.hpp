#pragma once
// Phi-accrual failure detector (Hayashibara et al., as in Pekko's
// PhiAccrualFailureDetector) and the choice of which members a node heartbeats.
// Time is injected (milliseconds of a monotonic clock); nothing here reads a clock.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "cluster/member.hpp"

namespace wfe::cluster {

struct phi_settings {
  double threshold = 8.0;
  std::size_t max_sample_size = 1000;
  std::int64_t min_std_deviation_ms = 100;
  std::int64_t acceptable_heartbeat_pause_ms = 3000;
  // Seeds the history so the first intervals are judged sensibly (Pekko uses the
  // heartbeat interval).
  std::int64_t first_heartbeat_estimate_ms = 1000;
};

// Inter-arrival history of one monitored node.
class phi_accrual_detector {
 public:
  explicit phi_accrual_detector(phi_settings s = {}) : settings_(s) {}

  // A heartbeat (response) arrived at `now_ms`.
  void heartbeat(std::int64_t now_ms);
  // Suspicion level at `now_ms`; 0 before the first heartbeat.
  [[nodiscard]] double phi(std::int64_t now_ms) const;
  // Not suspected: phi below the threshold (always true before the first heartbeat).
  [[nodiscard]] bool is_available(std::int64_t now_ms) const;
  [[nodiscard]] bool is_monitoring() const { return last_ms_.has_value(); }
  [[nodiscard]] std::size_t sample_count() const { return intervals_.size(); }
  [[nodiscard]] double mean_ms() const;
  [[nodiscard]] double std_deviation_ms() const;

 private:
  void add_interval(std::int64_t interval_ms);

  phi_settings settings_;
  std::optional<std::int64_t> last_ms_;
  std::deque<std::int64_t> intervals_;  // at most max_sample_size
  double sum_ = 0;
  double sum_squares_ = 0;
};

// Phi for an interval since the last heartbeat given the distribution's mean and
// deviation (logistic approximation of the normal CDF, as Pekko does).
double phi_of(double time_diff_ms, double mean_ms, double std_deviation_ms);

// The members `self` sends heartbeats to: its `monitored_by_nr` successors on a ring of
// the members in address order, skipping none; unreachable successors are monitored in
// addition (they do not use up the quota) so they can be seen coming back.
std::vector<unique_address> heartbeat_receivers(const std::vector<unique_address>& ring,
                                                const unique_address& self,
                                                std::size_t monitored_by_nr,
                                                const std::set<unique_address>& unreachable);

}  // namespace wfe::cluster
