#include "tests/simulation/sim_network.hpp"

namespace wfe::sim {

sim_network::sim_network(std::uint64_t seed, network_faults faults, std::size_t capacity)
    : rng_(seed), faults_(faults), capacity_(capacity) {}

bool sim_network::cut(const std::string& a, const std::string& b) const {
  int ga = -1;
  int gb = -1;
  for (std::size_t i = 0; i < groups_.size(); ++i) {
    if (groups_[i].contains(a)) ga = static_cast<int>(i);
    if (groups_[i].contains(b)) gb = static_cast<int>(i);
  }
  return ga >= 0 && gb >= 0 && ga != gb;
}

void sim_network::send(const core::address& from, const core::address& to,
                       cluster::membership_message m, std::int64_t now_ms) {
  ++sent_;
  bool drop = std::uniform_real_distribution<>(0, 1)(rng_) < faults_.drop_rate;
  auto delay =
      std::uniform_int_distribution<std::int64_t>(faults_.min_delay_ms, faults_.max_delay_ms)(rng_);
  if (drop || cut(from.host, to.host) || queue_.size() >= capacity_) {
    ++dropped_;
    return;
  }
  queue_.push(sim_message{now_ms + delay, seq_++, from, to, std::move(m)});
}

std::vector<sim_message> sim_network::due(std::int64_t now_ms) {
  std::vector<sim_message> out;
  while (!queue_.empty() && queue_.top().deliver_at_ms <= now_ms) {
    out.push_back(queue_.top());
    queue_.pop();
  }
  // Partitions also cut messages already in flight.
  std::erase_if(out, [&](const sim_message& m) { return cut(m.from.host, m.to.host); });
  return out;
}

}  // namespace wfe::sim
