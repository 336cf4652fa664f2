#include "tests/simulation/sim_cluster.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <sstream>

namespace wfe::sim {

using namespace wfe::cluster;

sim_cluster::sim_cluster(std::uint64_t seed, std::size_t n, membership_settings settings,
                         network_faults faults)
    : seed_(seed), settings_(std::move(settings)), net_(seed * 7919 + 1, faults), rng_(seed) {
  nodes_.resize(n);
}

core::address sim_cluster::address_of(std::size_t i) {
  return core::address{"sim", "node" + std::to_string(i + 1), 2552};
}

void sim_cluster::start(std::size_t i) {
  membership_core_config cfg;
  cfg.self = unique_address{address_of(i), rng_() | 1};
  cfg.roles = {"worker"};
  cfg.app_version = "1.0.0";
  cfg.config = {{"pekko.cluster.sharding.number-of-shards", "100"}};
  cfg.settings = settings_;
  cfg.rng_seed = rng_();
  nodes_[i].core = std::make_unique<membership_core>(std::move(cfg));
  nodes_[i].killed = false;
  nodes_[i].core->join_seed_nodes({address_of(0), address_of(1)}, now_ms_);
}

void sim_cluster::step() {
  now_ms_ += step_ms_;
  auto deliver_outputs = [&](sim_node& n) {
    auto from = n.core->self().address;
    for (auto& out : n.core->take_outgoing())
      net_.send(from, out.to, std::move(out.message), now_ms_);
    for (auto& e : n.core->take_events()) {
      n.events.push_back(std::move(e));
      n.event_times_ms.push_back(now_ms_);
    }
  };
  for (auto& m : net_.due(now_ms_)) {
    auto it = std::find_if(nodes_.begin(), nodes_.end(), [&](const sim_node& n) {
      return n.core && n.core->self().address == m.to;
    });
    if (it == nodes_.end() || !it->running()) continue;
    it->core->on_message(m.message, now_ms_);
    deliver_outputs(*it);
  }
  for (auto& n : nodes_) {
    if (!n.running()) continue;
    n.core->on_tick(now_ms_);
    deliver_outputs(n);
  }
}

void sim_cluster::run_for(std::int64_t ms) {
  auto end = now_ms_ + ms;
  while (now_ms_ < end) step();
}

bool sim_cluster::agreed_on(const std::vector<std::size_t>& expected) const {
  std::optional<unique_address> leader;
  bool first = true;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const auto& n = nodes_[i];
    bool should_run = std::find(expected.begin(), expected.end(), i) != expected.end();
    if (n.running() != should_run) return false;
    if (!should_run) continue;
    const auto& g = n.core->state();
    if (!n.core->converged() || g.members.size() != expected.size()) return false;
    for (auto j : expected) {
      const auto* m = g.find_by_address(address_of(j));
      if (!m || m->status != member_status::up || m->node != nodes_[j].core->self()) return false;
    }
    if (!first && n.core->leader() != leader) return false;
    leader = n.core->leader();
    first = false;
  }
  return leader.has_value();
}

std::string sim_cluster::check_invariants() const {
  // Converged nodes holding the same version must name the same leader.
  std::map<std::string, std::optional<unique_address>> leader_by_version;
  for (const auto& n : nodes_) {
    if (!n.running() || !n.core->converged()) continue;
    std::string v;
    for (const auto& [k, c] : n.core->state().version.values())
      v += k + "=" + std::to_string(c) + ",";
    auto [it, inserted] = leader_by_version.emplace(v, n.core->leader());
    if (!inserted && it->second != n.core->leader()) return "two leaders for one converged version";
  }
  // No address with two live (not Down) incarnations in any view.
  for (const auto& n : nodes_) {
    if (!n.running()) continue;
    std::map<core::address, int> live;
    for (const auto& m : n.core->state().members) {
      if (m.status != member_status::down && ++live[m.node.address] > 1) {
        return n.core->self().to_string() + " sees two live incarnations of " +
               m.node.address.to_string();
      }
    }
  }
  return {};
}

std::size_t sim_cluster::count_events(event_kind kind, std::size_t subject) const {
  std::size_t c = 0;
  for (const auto& n : nodes_) {
    for (const auto& e : n.events) {
      if (e.kind == kind && e.subject.node.address == address_of(subject)) ++c;
    }
  }
  return c;
}

std::string sim_cluster::event_log() const {
  std::ostringstream out;
  for (const auto& n : nodes_) {
    if (!n.core) continue;
    for (std::size_t k = 0; k < n.events.size(); ++k) {
      const auto& e = n.events[k];
      out << "  " << n.event_times_ms[k] << "ms " << n.core->self().address.host << ": "
          << to_string(e.kind) << " " << e.subject.node.address.host
          << (e.leader ? " leader=" + e.leader->address.host : std::string()) << " " << e.reason
          << "\n";
    }
  }
  return out.str();
}

std::string sim_cluster::describe() const {
  std::ostringstream out;
  out << "t=" << now_ms_ << "ms seed=" << seed_ << " sent=" << net_.sent()
      << " dropped=" << net_.dropped() << "\n";
  for (const auto& n : nodes_) {
    if (!n.core) continue;
    auto v = n.core->view();
    out << "  " << n.core->self().to_string() << (n.killed ? " KILLED" : "")
        << " phase=" << to_string(n.core->phase()) << " status=" << to_string(v.self_status)
        << " converged=" << n.core->converged() << " leader=" << v.leader << " members=[";
    for (const auto& m : v.members)
      out << m.address << "#" << m.uid % 1000 << ":" << to_string(m.status) << " ";
    out << "] unreachable=" << v.unreachable.size() << "\n";
  }
  if (std::getenv("WFE_SIM_VERBOSE")) out << event_log();
  return out.str();
}

}  // namespace wfe::sim
