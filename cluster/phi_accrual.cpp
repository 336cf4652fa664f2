#include "cluster/phi_accrual.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace wfe::cluster {

double phi_of(double time_diff_ms, double mean_ms, double std_deviation_ms) {
  assert(std_deviation_ms > 0);
  double y = (time_diff_ms - mean_ms) / std_deviation_ms;
  double e = std::exp(-y * (1.5976 + 0.070566 * y * y));
  // Two branches keep precision: for large diffs e is tiny and 1 - cdf == e / (1 + e).
  if (time_diff_ms > mean_ms) return -std::log10(e / (1.0 + e));
  return -std::log10(1.0 - 1.0 / (1.0 + e));
}

void phi_accrual_detector::add_interval(std::int64_t interval_ms) {
  if (intervals_.size() >= settings_.max_sample_size) {
    auto old = static_cast<double>(intervals_.front());
    intervals_.pop_front();
    sum_ -= old;
    sum_squares_ -= old * old;
  }
  auto v = static_cast<double>(interval_ms);
  intervals_.push_back(interval_ms);
  sum_ += v;
  sum_squares_ += v * v;
}

void phi_accrual_detector::heartbeat(std::int64_t now_ms) {
  if (!last_ms_) {
    // Bootstraps the history with the estimate +/- a quarter of it.
    auto mean = settings_.first_heartbeat_estimate_ms;
    auto dev = mean / 4;
    add_interval(mean - dev);
    add_interval(mean + dev);
  } else if (is_available(now_ms)) {
    // A heartbeat after a suspected failure is not a sample: the pause would skew it.
    add_interval(std::max<std::int64_t>(0, now_ms - *last_ms_));
  }
  last_ms_ = now_ms;
}

double phi_accrual_detector::mean_ms() const {
  return intervals_.empty() ? 0.0 : sum_ / static_cast<double>(intervals_.size());
}

double phi_accrual_detector::std_deviation_ms() const {
  if (intervals_.empty()) return 0.0;
  auto m = mean_ms();
  auto var = sum_squares_ / static_cast<double>(intervals_.size()) - m * m;
  return std::sqrt(std::max(0.0, var));
}

double phi_accrual_detector::phi(std::int64_t now_ms) const {
  if (!last_ms_) return 0.0;
  auto diff = static_cast<double>(now_ms - *last_ms_);
  auto mean = mean_ms() + static_cast<double>(settings_.acceptable_heartbeat_pause_ms);
  auto dev = std::max(std_deviation_ms(), static_cast<double>(settings_.min_std_deviation_ms));
  return phi_of(diff, mean, dev);
}

bool phi_accrual_detector::is_available(std::int64_t now_ms) const {
  return phi(now_ms) < settings_.threshold;
}

std::vector<unique_address> heartbeat_receivers(const std::vector<unique_address>& ring,
                                                const unique_address& self,
                                                std::size_t monitored_by_nr,
                                                const std::set<unique_address>& unreachable) {
  assert(std::is_sorted(ring.begin(), ring.end()));
  std::vector<unique_address> out;
  auto start = std::upper_bound(ring.begin(), ring.end(), self) - ring.begin();
  std::size_t reachable_taken = 0;
  for (std::size_t i = 0; i < ring.size() && reachable_taken < monitored_by_nr; ++i) {
    const auto& n = ring[(static_cast<std::size_t>(start) + i) % ring.size()];
    if (n == self) continue;
    out.push_back(n);
    if (!unreachable.contains(n)) ++reachable_taken;
  }
  return out;
}

}  // namespace wfe::cluster
