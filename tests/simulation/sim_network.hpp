#pragma once
// A seeded, lossy network for the membership simulation: every message gets a random
// delay (so messages reorder), may be dropped, and never crosses a partition.
// Bounded: beyond `capacity` queued messages new ones are dropped (and counted).

#include <cstdint>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cluster/membership_messages.hpp"

namespace wfe::sim {

struct network_faults {
  double drop_rate = 0.0;
  std::int64_t min_delay_ms = 1;
  std::int64_t max_delay_ms = 100;
};

struct sim_message {
  std::int64_t deliver_at_ms = 0;
  std::uint64_t seq = 0;  // ties broken by send order: the run stays deterministic
  core::address from;
  core::address to;
  cluster::membership_message message;
};

class sim_network {
 public:
  sim_network(std::uint64_t seed, network_faults faults, std::size_t capacity = 200'000);

  void send(const core::address& from, const core::address& to, cluster::membership_message m,
            std::int64_t now_ms);
  // Messages due at or before `now_ms`, in delivery order.
  std::vector<sim_message> due(std::int64_t now_ms);

  // Hosts in different groups cannot talk; hosts in no group talk to everyone.
  void partition(std::vector<std::set<std::string>> groups) { groups_ = std::move(groups); }
  void heal() { groups_.clear(); }
  void set_faults(network_faults f) { faults_ = f; }

  [[nodiscard]] std::uint64_t sent() const { return sent_; }
  [[nodiscard]] std::uint64_t dropped() const { return dropped_; }

 private:
  [[nodiscard]] bool cut(const std::string& a, const std::string& b) const;

  struct later {
    bool operator()(const sim_message& a, const sim_message& b) const {
      return a.deliver_at_ms != b.deliver_at_ms ? a.deliver_at_ms > b.deliver_at_ms : a.seq > b.seq;
    }
  };

  std::mt19937_64 rng_;
  network_faults faults_;
  std::size_t capacity_;
  std::vector<std::set<std::string>> groups_;
  std::priority_queue<sim_message, std::vector<sim_message>, later> queue_;
  std::uint64_t seq_ = 0;
  std::uint64_t sent_ = 0;
  std::uint64_t dropped_ = 0;
};

}  // namespace wfe::sim
