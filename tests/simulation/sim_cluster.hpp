#pragma once
// N membership_core nodes on a sim_network with a controlled clock. Node i lives at
// pekko://sim@node<i+1>:2552; seeds are node1 and node2. Everything random derives
// from one seed, so a failing run replays exactly.

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "cluster/membership_core.hpp"
#include "tests/simulation/sim_network.hpp"

namespace wfe::sim {

struct sim_node {
  std::unique_ptr<cluster::membership_core> core;
  bool killed = false;
  std::vector<cluster::cluster_event> events;  // every event of every incarnation
  std::vector<std::int64_t> event_times_ms;    // when each event happened

  [[nodiscard]] bool running() const { return core && !killed && !core->is_terminated(); }
};

class sim_cluster {
 public:
  sim_cluster(std::uint64_t seed, std::size_t n, cluster::membership_settings settings,
              network_faults faults);

  static core::address address_of(std::size_t i);

  // Starts (or restarts, with a new uid) node i and lets it join the seeds.
  void start(std::size_t i);
  void kill(std::size_t i) { nodes_[i].killed = true; }
  void step();
  void run_for(std::int64_t ms);
  // Runs until `done()` or `limit_ms` passes; true when done.
  template <class F>
  bool run_until(F done, std::int64_t limit_ms) {
    auto end = now_ms_ + limit_ms;
    while (now_ms_ < end) {
      step();
      if (done()) return true;
    }
    return false;
  }

  [[nodiscard]] std::int64_t now_ms() const { return now_ms_; }
  sim_node& node(std::size_t i) { return nodes_[i]; }
  sim_network& network() { return net_; }
  [[nodiscard]] std::size_t size() const { return nodes_.size(); }

  // Every running node has converged on the same Up members `expected` (indices)
  // and the same leader.
  [[nodiscard]] bool agreed_on(const std::vector<std::size_t>& expected) const;
  // Invariants that must hold after every step (empty when fine).
  [[nodiscard]] std::string check_invariants() const;
  // Each node's phase, status, leader and members, for failure messages.
  [[nodiscard]] std::string describe() const;
  // Every node's events with their times (WFE_SIM_VERBOSE=1 adds them to failures).
  [[nodiscard]] std::string event_log() const;
  // Number of events of `kind` about the node at index `subject` seen by any node.
  [[nodiscard]] std::size_t count_events(cluster::event_kind kind, std::size_t subject) const;

 private:
  std::uint64_t seed_;
  cluster::membership_settings settings_;
  sim_network net_;
  std::mt19937_64 rng_;
  std::vector<sim_node> nodes_;
  std::int64_t now_ms_ = 0;
  static constexpr std::int64_t step_ms_ = 100;
};

}  // namespace wfe::sim
