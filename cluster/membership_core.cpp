#include "cluster/membership_core.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

namespace wfe::cluster {

namespace {

// InitJoin is resent this often while looking for a seed (Pekko resends every second).
constexpr std::int64_t init_join_resend_ms = 1000;
// A bound on what one input may produce: every member times a few messages.
constexpr std::size_t outgoing_max = 4096;

std::string incompatibility(const join_config& ours, const join_config& theirs) {
  std::string out;
  for (const auto& [key, value] : ours) {
    auto it = theirs.find(key);
    if (it != theirs.end() && it->second != value) {
      if (!out.empty()) out += "; ";
      out += key + " is " + value + " in the cluster but " + it->second + " on the joining node";
    }
  }
  return out;
}

}  // namespace

membership_core::membership_core(membership_core_config cfg)
    : cfg_(std::move(cfg)), sbr_(cfg_.settings.split_brain_resolver), rng_(cfg_.rng_seed) {
  std::sort(cfg_.roles.begin(), cfg_.roles.end());
  cfg_.roles.erase(std::unique(cfg_.roles.begin(), cfg_.roles.end()), cfg_.roles.end());
}

bool membership_core::is_terminated() const {
  return phase_ == node_phase::removed || phase_ == node_phase::downed ||
         phase_ == node_phase::join_refused || phase_ == node_phase::join_unsuccessful;
}

member membership_core::self_member() const {
  if (const auto* m = latest_.find(cfg_.self)) return *m;
  return member{cfg_.self, member_status::joining, cfg_.roles, cfg_.app_version};
}

member_status membership_core::self_status() const {
  if (phase_ == node_phase::removed) return member_status::removed;
  if (phase_ == node_phase::downed) return member_status::down;
  return self_member().status;
}

std::optional<unique_address> membership_core::leader() const {
  if (phase_ != node_phase::member) return std::nullopt;
  return latest_.leader(cfg_.self);
}

bool membership_core::converged() const {
  return phase_ == node_phase::member && latest_.converged(cfg_.self, exiting_confirmed_);
}

std::vector<outgoing_message> membership_core::take_outgoing() {
  return std::exchange(outgoing_, {});
}

std::vector<cluster_event> membership_core::take_events() { return std::exchange(events_, {}); }

std::vector<std::string> membership_core::take_warnings() { return std::exchange(warnings_, {}); }

void membership_core::warn(std::string text) {
  constexpr std::size_t warnings_max = 64;  // bounded even when nobody takes them
  if (warnings_.size() >= warnings_max) warnings_.erase(warnings_.begin());
  warnings_.push_back(std::move(text));
}

void membership_core::send(const core::address& to, membership_message msg) {
  assert(outgoing_.size() < outgoing_max);
  if (outgoing_.size() >= outgoing_max) return;  // bounded even without asserts
  outgoing_.push_back({to, std::move(msg)});
}

void membership_core::gossip_to(const unique_address& to) {
  send(to.address, gossip_envelope{cfg_.self, to, latest_});
}

void membership_core::status_to(const unique_address& to) {
  send(to.address, gossip_status{cfg_.self, to, latest_.version, latest_.seen});
}

void membership_core::emit(event_kind k, const member& m) {
  cluster_event e;
  e.kind = k;
  e.subject = m;
  events_.push_back(std::move(e));
}

// ---- joining -------------------------------------------------------------------

void membership_core::join_seed_nodes(std::vector<core::address> seeds, std::int64_t now_ms) {
  if (phase_ != node_phase::idle) return;
  seeds_ = std::move(seeds);
  bool only_self = std::all_of(seeds_.begin(), seeds_.end(),
                               [&](const auto& s) { return s == cfg_.self.address; });
  if (only_self) {
    join_self(now_ms);
    return;
  }
  phase_ = node_phase::joining_seeds;
  join_started_ms_ = first_join_started_ms_ = now_ms;
  join_attempts_warned_ = 0;
  last_init_join_ms_ = now_ms - init_join_resend_ms;  // send on the first tick
  join_tick(now_ms);
}

std::string membership_core::seed_list() const {
  std::string out;
  for (const auto& s : seeds_) {
    if (s == cfg_.self.address) continue;
    if (!out.empty()) out += ", ";
    out += s.to_string();
  }
  return out;
}

void membership_core::join_self(std::int64_t now_ms) {
  gossip g;
  g = add_member(std::move(g), self_member());
  become_member(bump(std::move(g), cfg_.self), now_ms);
}

void membership_core::become_member(gossip g, std::int64_t now_ms) {
  assert(g.has_member(cfg_.self));
  phase_ = node_phase::member;
  g.seen.insert(cfg_.self);
  next_heartbeat_ms_ = next_gossip_ms_ = next_leader_ms_ = next_reap_ms_ = now_ms;
  update(std::move(g), now_ms);
}

void membership_core::join_tick(std::int64_t now_ms) {
  const auto& st = cfg_.settings;
  const auto give_up = st.shutdown_after_unsuccessful_join_seed_nodes.count();
  if (give_up > 0 && now_ms - first_join_started_ms_ >= give_up) {
    warn("Joining of seed-nodes [" + seed_list() +
         "] was unsuccessful after configured "
         "shutdown-after-unsuccessful-join-seed-nodes [" +
         std::to_string(give_up) + " ms]. Running CoordinatedShutdown.");
    phase_ = node_phase::join_unsuccessful;
    return;
  }
  if (phase_ == node_phase::joining) {
    auto retry = st.retry_unsuccessful_join_after.count();
    if (retry > 0 && now_ms - join_sent_ms_ >= retry) {
      warn("Join of [" + cfg_.self.address.to_string() + "] to [" + join_target_.to_string() +
           "] was unsuccessful after configured retry-unsuccessful-join-after "
           "of [" +
           std::to_string(retry) + " ms], attempting to re-join.");
      phase_ = node_phase::joining_seeds;  // no Welcome: start over with the seeds
      join_started_ms_ = now_ms;
      join_attempts_warned_ = 0;
      last_init_join_ms_ = now_ms - init_join_resend_ms;
    }
    return;
  }
  bool first_seed = !seeds_.empty() && seeds_.front() == cfg_.self.address;
  if (first_seed && now_ms - join_started_ms_ >= st.seed_node_timeout.count()) {
    join_self(now_ms);  // no other seed is up: bootstrap the cluster
    return;
  }
  // Pekko's JoinSeedNodeProcess waits seed-node-timeout per attempt and warns from the
  // second unanswered one on (we resend InitJoin every second within an attempt).
  const auto attempts =
      (now_ms - join_started_ms_) / std::max<std::int64_t>(1, st.seed_node_timeout.count());
  if (attempts >= 2 && attempts > join_attempts_warned_) {
    join_attempts_warned_ = attempts;
    warn("Couldn't join seed nodes after [" + std::to_string(attempts) +
         "] attempts, will try again. seed-nodes=[" + seed_list() + "]");
  }
  if (now_ms - last_init_join_ms_ < init_join_resend_ms) return;
  last_init_join_ms_ = now_ms;
  for (const auto& s : seeds_) {
    if (s != cfg_.self.address)
      send(s, init_join{cfg_.self, cfg_.self.address.system, cfg_.config});
  }
}

void membership_core::handle(const init_join& m, std::int64_t) {
  const auto& system = cfg_.self.address.system;
  if (m.system_name != system) {
    send(m.from.address,
         init_join_nack{cfg_.self, "actor system name mismatch: this cluster is \"" + system +
                                       "\", the joining node's is \"" + m.system_name + "\""});
    return;
  }
  auto s = self_status();
  bool can_take =
      phase_ == node_phase::member &&
      (s == member_status::joining || s == member_status::weakly_up || s == member_status::up);
  if (!can_take) {
    send(m.from.address, init_join_nack{cfg_.self, ""});
    return;
  }
  auto why = incompatibility(cfg_.config, m.config);
  send(m.from.address, init_join_ack{cfg_.self, why.empty(), why});
}

void membership_core::handle(const init_join_ack& m, std::int64_t now_ms) {
  if (phase_ != node_phase::joining_seeds) return;
  if (!m.compatible) {
    phase_ = node_phase::join_refused;
    cluster_event e;
    e.kind = event_kind::join_refused;
    e.subject = self_member();
    e.reason = "configuration incompatible with the cluster at " + m.from.address.to_string() +
               ": " + m.reason;
    events_.push_back(std::move(e));
    return;
  }
  phase_ = node_phase::joining;
  join_sent_ms_ = now_ms;
  join_target_ = m.from.address;
  send(m.from.address, join{self_member(), cfg_.self.address.system});
}

void membership_core::handle(const init_join_nack& m, std::int64_t) {
  // An empty reason: the seed is not a member yet; keep asking.
  if (phase_ != node_phase::joining_seeds || m.reason.empty() || m.reason == last_refusal_) return;
  last_refusal_ = m.reason;
  cluster_event e;
  e.kind = event_kind::join_refused;
  e.subject = self_member();
  e.reason = "seed " + m.from.address.to_string() + " refused the join: " + m.reason;
  events_.push_back(std::move(e));
}

void membership_core::handle(const join& m, std::int64_t now_ms) {
  const auto& node = m.joining.node;
  if (phase_ != node_phase::member || m.system_name != cfg_.self.address.system) return;
  if (latest_.has_member(node)) {
    send(node.address, welcome{cfg_.self, latest_});  // the Welcome was lost: resend
    return;
  }
  if (latest_.tombstones.contains(node) || node.address == cfg_.self.address) return;
  if (const auto* old = latest_.find_by_address(node.address)) {
    // A restarted node: the old incarnation is gone for sure. Down it (it is removed
    // once the gossip converges); the new one is let in when it retries its join.
    if (old->status != member_status::down) {
      auto g = latest_;
      g.reach = g.reach.terminated(cfg_.self, old->node);
      g = with_status(std::move(g), old->node, member_status::down);
      update(bump(std::move(g), cfg_.self), now_ms);
    }
    return;
  }
  member joining = m.joining;
  joining.status = member_status::joining;
  joining.up_number = up_number_unassigned;
  update(bump(add_member(latest_, std::move(joining)), cfg_.self), now_ms);
  send(node.address, welcome{cfg_.self, latest_});
}

void membership_core::handle(const welcome& m, std::int64_t now_ms) {
  bool joining = phase_ == node_phase::joining || phase_ == node_phase::joining_seeds;
  if (!joining || !m.state.has_member(cfg_.self)) return;
  become_member(m.state, now_ms);
}

// ---- leave and down ------------------------------------------------------------

void membership_core::leave(const core::address& address, std::int64_t now_ms) {
  if (phase_ != node_phase::member) {
    if (address == cfg_.self.address && !is_terminated()) {
      phase_ = node_phase::removed;  // never joined: nothing to hand over
      emit(event_kind::member_removed, self_member());
    }
    return;
  }
  const auto* m = latest_.find_by_address(address);
  if (!m || !is_allowed_transition(m->status, member_status::leaving) ||
      m->status == member_status::leaving) {
    return;
  }
  update(bump(with_status(latest_, m->node, member_status::leaving), cfg_.self), now_ms);
  for (const auto& peer : gossip_candidates()) gossip_to(peer);  // spread it now
}

void membership_core::down(const core::address& address, std::int64_t now_ms) {
  if (phase_ != node_phase::member) return;
  const auto* m = latest_.find_by_address(address);
  if (!m || m->status == member_status::down) return;
  auto node = m->node;
  update(bump(with_status(latest_, node, member_status::down), cfg_.self), now_ms);
  for (const auto& peer : gossip_candidates()) gossip_to(peer);
}

// ---- gossip --------------------------------------------------------------------

std::vector<unique_address> membership_core::gossip_candidates() const {
  std::vector<unique_address> out;
  for (const auto& m : latest_.members) {
    if (m.node != cfg_.self && latest_.reach.is_reachable(cfg_.self, m.node)) out.push_back(m.node);
  }
  return out;
}

void membership_core::handle(const gossip_envelope& m, std::int64_t now_ms) {
  if (m.to != cfg_.self) return;  // meant for another incarnation of this address
  bool joining = phase_ == node_phase::joining || phase_ == node_phase::joining_seeds;
  if (joining && m.state.has_member(cfg_.self)) {
    become_member(m.state, now_ms);  // as good as the Welcome
    return;
  }
  if (phase_ != node_phase::member) return;
  if (!m.state.has_member(cfg_.self)) {
    if (m.state.tombstones.contains(cfg_.self)) {
      phase_ = node_phase::removed;
      auto me = self_member();
      emit(event_kind::member_removed, me);
      events_.back().previous = me.status;
    }
    return;
  }
  if (latest_.tombstones.contains(m.from)) {
    gossip_to(m.from);  // tell the removed node it is gone
    return;
  }
  auto order = m.state.version.compare(latest_.version);
  gossip next;
  bool talk_back = false;
  switch (order) {
    case clock_order::same:
      next = latest_;
      next.seen.insert(m.state.seen.begin(), m.state.seen.end());
      next.seen.insert(cfg_.self);
      talk_back = next.seen != m.state.seen;  // they lack some of what we know was seen
      break;
    case clock_order::before:
      next = latest_;
      talk_back = true;
      break;
    case clock_order::after:
      next = m.state;
      talk_back = !m.state.seen_by_node(cfg_.self);  // so the sender learns we saw it
      break;
    case clock_order::concurrent:
      next = merge(latest_, m.state);
      talk_back = true;
      break;
  }
  next.seen.insert(cfg_.self);
  update(std::move(next), now_ms);
  // Even a node that just learnt it is Down answers: its sender waits for that.
  if (talk_back) gossip_to(m.from);
}

void membership_core::handle(const gossip_status& m, std::int64_t) {
  if (m.to != cfg_.self || phase_ != node_phase::member || !latest_.has_member(m.from)) return;
  switch (m.version.compare(latest_.version)) {
    case clock_order::same: {
      for (const auto& n : m.seen) {
        if (latest_.has_member(n)) latest_.seen.insert(n);
      }
      if (latest_.seen != m.seen) status_to(m.from);  // one reply: then both know as much
      break;
    }
    case clock_order::after:
      status_to(m.from);  // theirs is newer: they answer our status with their gossip
      break;
    case clock_order::before:
    case clock_order::concurrent:
      gossip_to(m.from);
      break;
  }
}

void membership_core::gossip_tick(std::int64_t now_ms) {
  auto interval = cfg_.settings.gossip_interval.count();
  // Speed up while less than half of the members have seen the latest version.
  bool speedup = latest_.seen.size() * 2 < latest_.members.size();
  next_gossip_ms_ = now_ms + (speedup ? std::max<std::int64_t>(1, interval / 3) : interval);
  auto peers = gossip_candidates();
  if (self_status() == member_status::exiting) {
    for (const auto& p : peers) send(p.address, exiting_confirmed{cfg_.self});
  }
  if (peers.empty()) return;
  std::vector<unique_address> unseen;
  for (const auto& p : peers) {
    if (!latest_.seen_by_node(p)) unseen.push_back(p);
  }
  // Pekko's gossip-different-view-probability: prefer a peer with another view.
  bool prefer_unseen = !unseen.empty() && std::uniform_real_distribution<>(0, 1)(rng_) < 0.8;
  const auto& pool = prefer_unseen ? unseen : peers;
  const auto& peer = pool[std::uniform_int_distribution<std::size_t>(0, pool.size() - 1)(rng_)];
  if (latest_.seen_by_node(peer)) {
    status_to(peer);
  } else {
    gossip_to(peer);
  }
}

void membership_core::handle(const exiting_confirmed& m, std::int64_t) {
  if (phase_ != node_phase::member) return;
  if (latest_.tombstones.contains(m.from)) {
    gossip_to(m.from);
  } else if (const auto* mm = latest_.find(m.from); mm && mm->status == member_status::exiting) {
    exiting_confirmed_.insert(m.from);
  }
}

// ---- failure detection ---------------------------------------------------------

void membership_core::heartbeat_tick(std::int64_t now_ms) {
  const auto& fd = cfg_.settings.failure_detector;
  next_heartbeat_ms_ = now_ms + fd.heartbeat_interval.count();
  std::vector<unique_address> ring;
  for (const auto& m : latest_.members) ring.push_back(m.node);
  auto receivers = heartbeat_receivers(ring, cfg_.self, fd.monitored_by_nr_of_members,
                                       latest_.reach.all_unreachable_from(cfg_.self));
  std::set<unique_address> wanted(receivers.begin(), receivers.end());
  std::erase_if(detectors_, [&](const auto& kv) { return !wanted.contains(kv.first); });
  std::erase_if(first_heartbeat_sent_ms_,
                [&](const auto& kv) { return !wanted.contains(kv.first); });
  ++heartbeat_seq_;
  for (const auto& r : receivers) {
    first_heartbeat_sent_ms_.emplace(r, now_ms);
    detectors_.try_emplace(r, fd.phi());
    send(r.address, heartbeat{cfg_.self, heartbeat_seq_});
  }
}

void membership_core::handle(const heartbeat& m, std::int64_t) {
  if (is_terminated() || phase_ == node_phase::idle) return;
  send(m.from.address, heartbeat_rsp{cfg_.self, m.sequence_nr});
}

void membership_core::handle(const heartbeat_rsp& m, std::int64_t now_ms) {
  auto it = detectors_.find(m.from);
  if (it != detectors_.end()) it->second.heartbeat(now_ms);
}

void membership_core::reap_unreachable(std::int64_t now_ms) {
  next_reap_ms_ = now_ms + cfg_.settings.unreachable_nodes_reaper_interval.count();
  auto expected_ms = cfg_.settings.failure_detector.expected_response_after.count();
  auto reach = latest_.reach;
  for (auto& [node, fd] : detectors_) {
    if (!fd.is_monitoring()) {
      // No answer yet: start judging as if one had arrived expected-response-after in.
      if (now_ms - first_heartbeat_sent_ms_[node] < expected_ms) continue;
      fd.heartbeat(now_ms);
    }
    reach = fd.is_available(now_ms) ? reach.reachable(cfg_.self, node)
                                    : reach.unreachable(cfg_.self, node);
  }
  if (reach == latest_.reach) return;
  auto g = latest_;
  g.reach = std::move(reach);
  update(bump(std::move(g), cfg_.self), now_ms);
}

// ---- leader --------------------------------------------------------------------

void membership_core::leader_tick(std::int64_t now_ms) {
  const auto& st = cfg_.settings;
  next_leader_ms_ = now_ms + st.leader_actions_interval.count();
  bool is_leader = leader() == cfg_.self;
  leader_action_settings las{st.min_nr_of_members, st.min_nr_of_members_per_role};
  bool converged_now = is_leader && converged();
  if (!is_leader || converged_now) {
    not_converged_since_ms_.reset();
  } else if (!not_converged_since_ms_) {
    not_converged_since_ms_ = now_ms;
  }
  auto weakly_after = st.allow_weakly_up_members.count();
  if (weakly_after > 0 && not_converged_since_ms_ &&
      now_ms - *not_converged_since_ms_ >= weakly_after) {
    auto r = weakly_up_actions(latest_, las);
    if (r.changed) {
      auto peers = gossip_candidates();
      update(bump(std::move(r.next), cfg_.self), now_ms);
      for (const auto& p : peers) gossip_to(p);
    }
  }
  if (converged_now) {
    auto r = leader_actions(latest_, exiting_confirmed_, las, now_ms);
    if (r.changed) {
      auto peers = gossip_candidates();
      update(bump(std::move(r.next), cfg_.self), now_ms);
      // Spread the step now (bounded by the member count) and tell removed members
      // directly: they are no longer in the gossip.
      for (const auto& p : peers) gossip_to(p);
      if (phase_ != node_phase::member) return;
    }
  }
  if (self_down_pending_since_ms_) {
    bool all_seen = std::all_of(self_down_side_.begin(), self_down_side_.end(), [&](const auto& n) {
      return n == cfg_.self || !latest_.has_member(n) || latest_.seen_by_node(n);
    });
    if (all_seen || now_ms - *self_down_pending_since_ms_ >= 3 * st.gossip_interval.count()) {
      finish_self_down(now_ms);
      return;
    }
  }
  latest_ = prune_tombstones(std::move(latest_), now_ms, st.prune_gossip_tombstones_after.count());
  if (!st.split_brain_resolver.enabled || self_down_pending_since_ms_) return;
  auto report = sbr_.evaluate(latest_, cfg_.self, leader() == cfg_.self, now_ms);
  if (report.acts_now) apply_downing(report, now_ms);
}

void membership_core::apply_downing(const sbr_report& r, std::int64_t now_ms) {
  auto g = latest_;
  bool downs_self = false;
  for (const auto& n : r.nodes_to_down) {
    const auto* m = g.find(n);
    if (n == cfg_.self) downs_self = true;
    if (n == cfg_.self || !m || m->status == member_status::down) continue;
    g = with_status(std::move(g), n, member_status::down);
  }
  if (downs_self) {
    // Down ourselves last: a leader that stopped at once could take the news with it
    // and leave its side to decide again without it.
    self_down_pending_since_ms_ = now_ms;
    self_down_side_ = r.nodes_to_down;
  }
  if (g.members == latest_.members) {
    if (downs_self) finish_self_down(now_ms);
    return;
  }
  auto peers = gossip_candidates();
  update(bump(std::move(g), cfg_.self), now_ms);
  for (const auto& p : peers) gossip_to(p);
  if (downs_self && peers.empty()) finish_self_down(now_ms);
}

void membership_core::finish_self_down(std::int64_t now_ms) {
  self_down_pending_since_ms_.reset();
  auto peers = gossip_candidates();
  update(bump(with_status(latest_, cfg_.self, member_status::down), cfg_.self), now_ms);
  for (const auto& p : peers) gossip_to(p);
}

// ---- state changes and events --------------------------------------------------

void membership_core::update(gossip next, std::int64_t /*now_ms*/) {
  auto before = std::move(latest_);
  latest_ = std::move(next);
  emit_member_events(before, latest_);
  std::erase_if(exiting_confirmed_, [&](const auto& n) { return !latest_.has_member(n); });
  auto me = latest_.find(cfg_.self);
  if (!me && latest_.tombstones.contains(cfg_.self)) {
    phase_ = node_phase::removed;
  } else if (me && me->status == member_status::down) {
    phase_ = node_phase::downed;
  }
  if (me && me->status == member_status::exiting) {
    const auto* old = before.find(cfg_.self);
    if (!old || old->status != member_status::exiting) {
      // Seen Exiting: confirm so the leader removes us without the failure detector
      // (ourselves included, when we are that leader).
      exiting_confirmed_.insert(cfg_.self);
      for (const auto& p : gossip_candidates()) send(p.address, exiting_confirmed{cfg_.self});
    }
  }
}

// ---- driving -------------------------------------------------------------------

void membership_core::on_tick(std::int64_t now_ms) {
  if (is_terminated() || phase_ == node_phase::idle) return;
  if (phase_ == node_phase::joining_seeds || phase_ == node_phase::joining) {
    join_tick(now_ms);
    return;
  }
  if (now_ms >= next_heartbeat_ms_) heartbeat_tick(now_ms);
  if (now_ms >= next_reap_ms_) reap_unreachable(now_ms);
  if (phase_ == node_phase::member && now_ms >= next_leader_ms_) leader_tick(now_ms);
  if (phase_ == node_phase::member && now_ms >= next_gossip_ms_) gossip_tick(now_ms);
}

void membership_core::on_message(const membership_message& msg, std::int64_t now_ms) {
  if (is_terminated()) return;
  std::visit([&](const auto& m) { handle(m, now_ms); }, msg);
}

sbr_report membership_core::explain_downing(std::int64_t now_ms) const {
  return sbr_.explain(latest_, cfg_.self, leader() == cfg_.self, now_ms);
}

cluster_view membership_core::view() const {
  cluster_view v;
  v.self_address = cfg_.self.address.to_string();
  v.self_uid = cfg_.self.uid;
  v.self_status = self_status();
  v.self_roles = cfg_.roles;
  if (auto l = leader()) v.leader = l->address.to_string();
  for (const auto& m : latest_.members) v.members.push_back(to_info(m));
  auto reach = latest_.effective_reachability();
  for (const auto& n : latest_.unreachable_members()) {
    v.unreachable.push_back(n.address.to_string());
    unreachable_info u{n.address.to_string(), {}};
    for (const auto& r : reach.records()) {
      if (r.subject == n && r.status != reachability_status::reachable) {
        u.observed_by.push_back(r.observer.address.to_string());
      }
    }
    v.unreachable_detail.push_back(std::move(u));
  }
  return v;
}

}  // namespace wfe::cluster
