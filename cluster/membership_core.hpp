#pragma once
// One node's membership protocol engine, pure and deterministic: seed-node join,
// gossip until convergence, leader actions, heartbeats through the phi-accrual
// detector, split-brain resolution, graceful leave and downing (Pekko semantics).
//
// Inputs: on_tick(now), on_message(msg, now), join_seed_nodes(seeds, now), leave(),
// down(). Outputs: messages to send and cluster events, drained by the caller with
// take_outgoing() / take_events(). Time is the caller's monotonic clock in
// milliseconds; randomness comes from the injected seed. The CAF actor around it
// owns the clock, the transport and the logging; a simulation drives it directly.
//
// Not thread-safe: one owner calls it. Terminal phases (removed, downed,
// join_refused) ignore every further input; the caller shuts the node down.

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cluster/cluster_view.hpp"
#include "cluster/downing.hpp"
#include "cluster/gossip.hpp"
#include "cluster/membership_messages.hpp"
#include "cluster/membership_settings.hpp"
#include "cluster/phi_accrual.hpp"

namespace wfe::cluster {

enum class event_kind {
  member_joined,
  member_weakly_up,
  member_up,
  member_left,
  member_exited,
  member_downed,
  member_removed,
  unreachable_member,
  reachable_member,
  leader_changed,
  join_refused,  // a seed refused this node (reason says why)
};

// Pekko's names: "MemberJoined", "MemberUp", ..., "LeaderChanged"; "JoinRefused".
const char* to_string(event_kind k);

struct cluster_event {
  event_kind kind = event_kind::member_joined;
  member subject;                                   // the member concerned (not for leader)
  member_status previous = member_status::joining;  // for member_removed
  std::optional<unique_address> leader;             // for leader_changed
  std::string reason;                               // for join_refused
};

enum class node_phase {
  idle,
  joining_seeds,
  joining,
  member,
  removed,
  downed,
  join_refused,
  join_unsuccessful  // shutdown-after-unsuccessful-join-seed-nodes passed
};

const char* to_string(node_phase p);

struct membership_core_config {
  unique_address self;  // self.address.system is the actor-system name
  std::vector<std::string> roles;
  std::string app_version;
  join_config config;  // must match the cluster's (configuration compatibility check)
  membership_settings settings;
  std::uint64_t rng_seed = 1;
};

class membership_core {
 public:
  explicit membership_core(membership_core_config cfg);

  // Starts joining: InitJoin to the seeds; the first seed joins itself when no other
  // answers within seed-node-timeout. No seeds, or only self: joins itself now.
  void join_seed_nodes(std::vector<core::address> seeds, std::int64_t now_ms);
  // Marks the member at `address` Leaving (self: graceful leave).
  void leave(const core::address& address, std::int64_t now_ms);
  // Marks the member at `address` Down.
  void down(const core::address& address, std::int64_t now_ms);

  void on_tick(std::int64_t now_ms);
  void on_message(const membership_message& msg, std::int64_t now_ms);

  [[nodiscard]] std::vector<outgoing_message> take_outgoing();
  [[nodiscard]] std::vector<cluster_event> take_events();
  // Warnings for the log that are not cluster events (Pekko logs them the same way):
  // "Couldn't join seed nodes after [N] attempts, …", an unsuccessful join retried.
  [[nodiscard]] std::vector<std::string> take_warnings();

  [[nodiscard]] node_phase phase() const { return phase_; }
  [[nodiscard]] bool is_terminated() const;
  [[nodiscard]] const unique_address& self() const { return cfg_.self; }
  [[nodiscard]] const gossip& state() const { return latest_; }
  [[nodiscard]] member_status self_status() const;
  [[nodiscard]] std::optional<unique_address> leader() const;
  [[nodiscard]] bool converged() const;
  [[nodiscard]] cluster_view view() const;
  // What the split-brain resolver would decide now and why.
  [[nodiscard]] sbr_report explain_downing(std::int64_t now_ms) const;

 private:
  void warn(std::string text);
  [[nodiscard]] std::string seed_list() const;  // the seeds but self, ", "-separated
  void handle(const init_join& m, std::int64_t now_ms);
  void handle(const init_join_ack& m, std::int64_t now_ms);
  void handle(const init_join_nack& m, std::int64_t now_ms);
  void handle(const join& m, std::int64_t now_ms);
  void handle(const welcome& m, std::int64_t now_ms);
  void handle(const gossip_envelope& m, std::int64_t now_ms);
  void handle(const gossip_status& m, std::int64_t now_ms);
  void handle(const heartbeat& m, std::int64_t now_ms);
  void handle(const heartbeat_rsp& m, std::int64_t now_ms);
  void handle(const exiting_confirmed& m, std::int64_t now_ms);

  void join_tick(std::int64_t now_ms);
  void join_self(std::int64_t now_ms);
  void become_member(gossip g, std::int64_t now_ms);
  void heartbeat_tick(std::int64_t now_ms);
  void reap_unreachable(std::int64_t now_ms);
  void gossip_tick(std::int64_t now_ms);
  void leader_tick(std::int64_t now_ms);
  void apply_downing(const sbr_report& r, std::int64_t now_ms);
  void finish_self_down(std::int64_t now_ms);

  // Installs a new local gossip, emitting events for the differences.
  void update(gossip next, std::int64_t now_ms);
  void emit_member_events(const gossip& before, const gossip& after);
  void send(const core::address& to, membership_message msg);
  void gossip_to(const unique_address& to);
  void status_to(const unique_address& to);
  void emit(event_kind k, const member& m);
  [[nodiscard]] member self_member() const;
  [[nodiscard]] std::vector<unique_address> gossip_candidates() const;

  membership_core_config cfg_;
  node_phase phase_ = node_phase::idle;
  gossip latest_;
  std::optional<unique_address> last_leader_;

  std::vector<core::address> seeds_;
  std::int64_t join_started_ms_ = 0;
  std::int64_t last_init_join_ms_ = 0;
  std::int64_t join_sent_ms_ = 0;
  std::string last_refusal_;
  std::int64_t first_join_started_ms_ = 0;  // join_seed_nodes (retries keep it)
  std::int64_t join_attempts_warned_ = 0;   // of the current round with the seeds
  core::address join_target_;               // the seed whose InitJoinAck we followed
  std::vector<std::string> warnings_;

  std::map<unique_address, phi_accrual_detector> detectors_;
  std::map<unique_address, std::int64_t> first_heartbeat_sent_ms_;
  std::uint64_t heartbeat_seq_ = 0;
  std::set<unique_address> exiting_confirmed_;
  // This side downs itself: the others first, self once they have seen it (bounded).
  std::optional<std::int64_t> self_down_pending_since_ms_;
  std::vector<unique_address> self_down_side_;

  // The leader's gossip has not converged since (for allow-weakly-up-members).
  std::optional<std::int64_t> not_converged_since_ms_;

  std::int64_t next_heartbeat_ms_ = 0;
  std::int64_t next_gossip_ms_ = 0;
  std::int64_t next_leader_ms_ = 0;
  std::int64_t next_reap_ms_ = 0;

  split_brain_resolver sbr_;
  std::mt19937_64 rng_;
  std::vector<outgoing_message> outgoing_;
  std::vector<cluster_event> events_;
};

}  // namespace wfe::cluster
