#include "cluster/downing.hpp"

#include <algorithm>

namespace wfe::cluster {

namespace {

// The two sides of a split as seen from `self`.
struct sides {
  std::vector<const member*> reachable;    // every not-Down member on self's side
  std::vector<const member*> unreachable;  // every not-Down member on the other side
  std::size_t reachable_counted = 0;
  std::size_t unreachable_counted = 0;
};

bool counted(const member& m, std::string_view role) {
  bool status = m.status == member_status::up || m.status == member_status::leaving ||
                m.status == member_status::exiting;
  return status && (role.empty() || m.has_role(role));
}

sides split(const gossip& g, const unique_address& self, std::string_view role) {
  sides s;
  auto unreachable = g.unreachable_members();
  for (const auto& m : g.members) {
    if (m.status == member_status::down || m.status == member_status::removed) continue;
    bool other_side = m.node != self && unreachable.contains(m.node);
    (other_side ? s.unreachable : s.reachable).push_back(&m);
    if (counted(m, role)) ++(other_side ? s.unreachable_counted : s.reachable_counted);
  }
  return s;
}

std::string side_text(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " member" : " members");
}

std::string role_text(const std::string& role) {
  return role.empty() ? std::string() : " with role \"" + role + "\"";
}

void keep_majority(const split_brain_resolver_settings& st, const sides& s, sbr_report& r) {
  auto role = role_text(st.keep_majority_role);
  auto here = side_text(s.reachable_counted) + role;
  auto there = side_text(s.unreachable_counted);
  if (s.reachable_counted != s.unreachable_counted) {
    bool majority = s.reachable_counted > s.unreachable_counted;
    r.decision = majority ? sbr_decision::down_unreachable : sbr_decision::down_reachable;
    r.reason = "keep-majority: this side has " + here + ", the unreachable side " + there +
               (majority ? "; this side is the majority and keeps running"
                         : "; this side is the minority and downs itself");
    return;
  }
  // Equal halves: the side holding the lowest address (among counted members) survives.
  const member* lowest = nullptr;
  for (const auto* side : {&s.reachable, &s.unreachable}) {
    for (const auto* m : *side) {
      if (counted(*m, st.keep_majority_role) && (!lowest || m->node < lowest->node)) lowest = m;
    }
  }
  bool keep_here =
      lowest && std::find(s.reachable.begin(), s.reachable.end(), lowest) != s.reachable.end();
  r.decision = keep_here ? sbr_decision::down_unreachable : sbr_decision::down_reachable;
  r.reason =
      "keep-majority: both sides have " + here + "; the side with the lowest address (" +
      (lowest ? lowest->node.address.to_string() : std::string("none")) + ") is " +
      (keep_here ? "this one, so it keeps running" : "the other one, so this side downs itself");
}

void static_quorum(const split_brain_resolver_settings& st, const sides& s, std::size_t total,
                   sbr_report& r) {
  auto q = st.static_quorum_size;
  auto role = role_text(st.static_quorum_role);
  if (total > q * 2 - 1) {
    r.decision = sbr_decision::down_all;
    r.reason = "static-quorum: " + side_text(total) + role + " exceed quorum-size " +
               std::to_string(q) + " * 2 - 1, both sides could win; downing all";
  } else if (s.reachable_counted >= q) {
    r.decision = sbr_decision::down_unreachable;
    r.reason = "static-quorum: this side has " + side_text(s.reachable_counted) + role +
               " >= quorum-size " + std::to_string(q) + "; downing the unreachable side";
  } else {
    r.decision = sbr_decision::down_reachable;
    r.reason = "static-quorum: this side has " + side_text(s.reachable_counted) + role +
               " < quorum-size " + std::to_string(q) + "; this side downs itself";
  }
}

void keep_oldest(const split_brain_resolver_settings& st, const gossip& g, const sides& s,
                 sbr_report& r) {
  const member* oldest = g.oldest(st.keep_oldest_role);
  if (!oldest) {
    r.decision = sbr_decision::down_reachable;
    r.reason = "keep-oldest: no Up member" + role_text(st.keep_oldest_role) +
               " to keep; this side downs itself";
    return;
  }
  bool here = std::find(s.reachable.begin(), s.reachable.end(), oldest) != s.reachable.end();
  auto who = "the oldest member " + oldest->node.address.to_string();
  bool alone = st.keep_oldest_down_if_alone &&
               (here ? s.reachable_counted == 1 && s.unreachable_counted >= 1
                     : s.unreachable_counted == 1 && s.reachable_counted >= 1);
  if (here) {
    r.decision = alone ? sbr_decision::down_reachable : sbr_decision::down_unreachable;
    r.reason = "keep-oldest: " + who + " is on this side" +
               (alone ? " but alone (down-if-alone); it downs itself" : "; downing the other side");
  } else {
    r.decision = alone ? sbr_decision::down_unreachable : sbr_decision::down_reachable;
    r.reason = "keep-oldest: " + who + " is on the other side" +
               (alone ? " and alone (down-if-alone); downing it" : "; this side downs itself");
  }
}

void fill_nodes(const sides& s, sbr_report& r) {
  auto add = [&](const std::vector<const member*>& ms) {
    for (const auto* m : ms) r.nodes_to_down.push_back(m->node);
  };
  switch (r.decision) {
    case sbr_decision::down_unreachable:
      add(s.unreachable);
      break;
    case sbr_decision::down_reachable:
    case sbr_decision::down_self:
      add(s.reachable);
      break;
    case sbr_decision::down_all:
      add(s.reachable);
      add(s.unreachable);
      break;
    case sbr_decision::none:
    case sbr_decision::down_indirectly_connected:
      break;
  }
  std::sort(r.nodes_to_down.begin(), r.nodes_to_down.end());
}

std::string signature_of(const gossip& g) {
  std::string sig;
  auto unreachable = g.unreachable_members();
  for (const auto& m : g.members) {
    if (m.status == member_status::joining || m.status == member_status::weakly_up) continue;
    sig += m.node.to_string() + "=" + to_string(m.status) +
           (unreachable.contains(m.node) ? "!" : "") + ";";
  }
  return sig;
}

std::string_view strategy_role(const split_brain_resolver_settings& s) {
  switch (s.strategy) {
    case sbr_strategy::keep_majority:
      return s.keep_majority_role;
    case sbr_strategy::static_quorum:
      return s.static_quorum_role;
    case sbr_strategy::keep_oldest:
      return s.keep_oldest_role;
    case sbr_strategy::down_all:
      return {};
  }
  return {};
}

}  // namespace

const char* to_string(sbr_decision d) {
  switch (d) {
    case sbr_decision::none:
      return "none";
    case sbr_decision::down_unreachable:
      return "down-unreachable";
    case sbr_decision::down_reachable:
      return "down-reachable";
    case sbr_decision::down_all:
      return "down-all";
    case sbr_decision::down_self:
      return "down-self";
    case sbr_decision::down_indirectly_connected:
      return "down-indirectly-connected";
  }
  return "unknown";
}

std::set<unique_address> indirectly_connected(const gossip& g) {
  std::set<unique_address> observers;
  std::set<unique_address> subjects;
  std::set<unique_address> out;
  auto reach = g.effective_reachability();
  for (const auto& r : reach.records()) {
    if (r.status == reachability_status::reachable) continue;
    observers.insert(r.observer);
    subjects.insert(r.subject);
    if (g.seen_by_node(r.subject)) {  // it got the latest gossip: not cut off
      out.insert(r.observer);
      out.insert(r.subject);
    }
  }
  for (const auto& o : observers) {
    if (subjects.contains(o)) out.insert(o);
  }
  std::erase_if(out, [&](const auto& n) {
    const auto* m = g.find(n);
    return m == nullptr || m->status == member_status::down;
  });
  return out;
}

namespace {

std::string addresses(const std::set<unique_address>& nodes) {
  std::string out;
  for (const auto& n : nodes) out += (out.empty() ? "" : ", ") + n.address.to_string();
  return out;
}

sbr_report decide_clean(const split_brain_resolver_settings& st, const gossip& g,
                        const unique_address& self);

}  // namespace

sbr_report decide(const split_brain_resolver_settings& st, const gossip& g,
                  const unique_address& self) {
  auto ic = indirectly_connected(g);
  if (ic.empty()) return decide_clean(st, g, self);
  auto s = split(g, self, strategy_role(st));
  bool only_ic = std::all_of(s.unreachable.begin(), s.unreachable.end(),
                             [&](const member* m) { return ic.contains(m->node); });
  sbr_report r;
  if (only_ic) {
    r.strategy = st.strategy;
    r.reachable_count = s.reachable_counted;
    r.unreachable_count = s.unreachable_counted;
    r.decision = sbr_decision::down_indirectly_connected;
    r.reason = "indirectly connected: " + addresses(ic) +
               " can reach some members but not others; downing them";
  } else {
    // The strategy decides on the clean partition left without their records.
    auto clean = g;
    clean.reach = g.reach.remove(ic);
    r = decide_clean(st, clean, self);
    r.reason += "; also downing the indirectly connected " + addresses(ic);
  }
  std::set<unique_address> nodes(r.nodes_to_down.begin(), r.nodes_to_down.end());
  nodes.insert(ic.begin(), ic.end());
  r.nodes_to_down.assign(nodes.begin(), nodes.end());
  return r;
}

namespace {

sbr_report decide_clean(const split_brain_resolver_settings& st, const gossip& g,
                        const unique_address& self) {
  sbr_report r;
  r.strategy = st.strategy;
  auto s = split(g, self, strategy_role(st));
  r.reachable_count = s.reachable_counted;
  r.unreachable_count = s.unreachable_counted;
  if (s.unreachable.empty()) {
    r.reason = "all members are reachable (unreachable members already Down do not count)";
    return r;
  }
  switch (st.strategy) {
    case sbr_strategy::keep_majority:
      keep_majority(st, s, r);
      break;
    case sbr_strategy::static_quorum:
      static_quorum(st, s, s.reachable_counted + s.unreachable_counted, r);
      break;
    case sbr_strategy::keep_oldest:
      keep_oldest(st, g, s, r);
      break;
    case sbr_strategy::down_all:
      r.decision = sbr_decision::down_all;
      r.reason = "down-all: there are unreachable members; downing every member";
      break;
  }
  if (r.decision == sbr_decision::down_reachable && s.reachable.size() == 1) {
    r.decision = sbr_decision::down_self;
  }
  fill_nodes(s, r);
  return r;
}

}  // namespace

sbr_report split_brain_resolver::explain(const gossip& g, const unique_address& self,
                                         bool is_leader, std::int64_t now_ms) const {
  auto r = decide(settings_, g, self);
  r.is_leader = is_leader;
  r.stable_after_ms = settings_.stable_after.count();
  bool changed = signature_of(g) != signature_;
  r.stable_for_ms = changed ? 0 : now_ms - stable_since_ms_;
  if (r.decision == sbr_decision::none) return r;
  auto unstable_limit = settings_.stable_after + settings_.down_all_when_unstable;
  bool too_unstable = settings_.down_all_when_unstable.count() > 0 && unstable_since_ms_ &&
                      now_ms - *unstable_since_ms_ >= unstable_limit.count();
  if (r.stable_for_ms < r.stable_after_ms && too_unstable) {
    r.decision = sbr_decision::down_all;
    r.reason = "down-all-when-unstable: membership or reachability kept changing for " +
               std::to_string(now_ms - *unstable_since_ms_) + " ms; downing every member";
    r.nodes_to_down.clear();
    for (const auto& m : g.members) {
      if (m.status != member_status::down) r.nodes_to_down.push_back(m.node);
    }
    r.acts_now = is_leader;
    return r;
  }
  r.acts_now = is_leader && r.stable_for_ms >= r.stable_after_ms && !r.nodes_to_down.empty();
  if (!r.acts_now) {
    r.reason += r.stable_for_ms < r.stable_after_ms
                    ? " (waiting: stable for " + std::to_string(r.stable_for_ms) +
                          " ms of stable-after " + std::to_string(r.stable_after_ms) + " ms)"
                    : " (not the leader: the leader acts)";
  }
  return r;
}

sbr_report split_brain_resolver::evaluate(const gossip& g, const unique_address& self,
                                          bool is_leader, std::int64_t now_ms) {
  auto sig = signature_of(g);
  if (sig != signature_) {
    signature_ = std::move(sig);
    stable_since_ms_ = now_ms;
  }
  bool any_unreachable = !decide(settings_, g, self).nodes_to_down.empty();
  if (!any_unreachable) {
    unstable_since_ms_.reset();
  } else if (!unstable_since_ms_) {
    unstable_since_ms_ = now_ms;
  }
  return explain(g, self, is_leader, now_ms);
}

}  // namespace wfe::cluster
