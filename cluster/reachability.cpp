#include "cluster/reachability.hpp"

#include <algorithm>
#include <cassert>

namespace wfe::cluster {

namespace {

bool by_key(const reachability_record& a, const reachability_record& b) {
  if (a.observer != b.observer) return a.observer < b.observer;
  return a.subject < b.subject;
}

int severity(reachability_status s) {
  switch (s) {
    case reachability_status::reachable:
      return 0;
    case reachability_status::unreachable:
      return 1;
    case reachability_status::terminated:
      return 2;
  }
  return 0;
}

}  // namespace

const char* to_string(reachability_status s) {
  switch (s) {
    case reachability_status::reachable:
      return "reachable";
    case reachability_status::unreachable:
      return "unreachable";
    case reachability_status::terminated:
      return "terminated";
  }
  return "unknown";
}

reachability reachability::from(std::vector<reachability_record> records,
                                std::map<unique_address, std::uint64_t> versions) {
  reachability r;
  std::sort(records.begin(), records.end(), by_key);
  r.records_ = std::move(records);
  r.versions_ = std::move(versions);
  return r;
}

reachability reachability::change(const unique_address& observer, const unique_address& subject,
                                  reachability_status s) const {
  assert(observer != subject);
  auto it = std::find_if(records_.begin(), records_.end(), [&](const auto& r) {
    return r.observer == observer && r.subject == subject;
  });
  bool known = it != records_.end();
  // A terminated record is final: the incarnation never comes back.
  if (known && (it->status == s || it->status == reachability_status::terminated)) return *this;
  if (!known && s == reachability_status::reachable) return *this;
  reachability next = *this;
  auto version = ++next.versions_[observer];
  if (known) {
    auto& rec = next.records_[static_cast<std::size_t>(it - records_.begin())];
    rec.status = s;
    rec.version = version;
  } else {
    next.records_.push_back({observer, subject, s, version});
    std::sort(next.records_.begin(), next.records_.end(), by_key);
  }
  return next;
}

reachability reachability::unreachable(const unique_address& observer,
                                       const unique_address& subject) const {
  return change(observer, subject, reachability_status::unreachable);
}

reachability reachability::reachable(const unique_address& observer,
                                     const unique_address& subject) const {
  return change(observer, subject, reachability_status::reachable);
}

reachability reachability::terminated(const unique_address& observer,
                                      const unique_address& subject) const {
  return change(observer, subject, reachability_status::terminated);
}

reachability reachability::merge(const std::set<unique_address>& members,
                                 const reachability& other) const {
  reachability out;
  for (const auto& observer : members) {
    auto mine = versions_.contains(observer) ? versions_.at(observer) : 0;
    auto theirs = other.versions_.contains(observer) ? other.versions_.at(observer) : 0;
    if (mine == 0 && theirs == 0) continue;
    const auto& winner = theirs > mine ? other : *this;
    for (const auto& r : winner.records_) {
      if (r.observer == observer && members.contains(r.subject)) out.records_.push_back(r);
    }
    out.versions_[observer] = std::max(mine, theirs);
  }
  std::sort(out.records_.begin(), out.records_.end(), by_key);
  return out;
}

reachability reachability::remove(const std::set<unique_address>& nodes) const {
  reachability out;
  for (const auto& r : records_) {
    if (!nodes.contains(r.observer) && !nodes.contains(r.subject)) out.records_.push_back(r);
  }
  for (const auto& [observer, v] : versions_) {
    if (!nodes.contains(observer)) out.versions_[observer] = v;
  }
  return out;
}

reachability reachability::remove_observers(const std::set<unique_address>& observers) const {
  reachability out;
  for (const auto& r : records_) {
    if (!observers.contains(r.observer)) out.records_.push_back(r);
  }
  for (const auto& [observer, v] : versions_) {
    if (!observers.contains(observer)) out.versions_[observer] = v;
  }
  return out;
}

reachability_status reachability::status(const unique_address& subject) const {
  auto worst = reachability_status::reachable;
  for (const auto& r : records_) {
    if (r.subject == subject && severity(r.status) > severity(worst)) worst = r.status;
  }
  return worst;
}

reachability_status reachability::status(const unique_address& observer,
                                         const unique_address& subject) const {
  for (const auto& r : records_) {
    if (r.observer == observer && r.subject == subject) return r.status;
  }
  return reachability_status::reachable;
}

bool reachability::is_reachable(const unique_address& subject) const {
  return status(subject) == reachability_status::reachable;
}

bool reachability::is_reachable(const unique_address& observer,
                                const unique_address& subject) const {
  return status(observer, subject) == reachability_status::reachable;
}

std::set<unique_address> reachability::all_unreachable() const {
  std::set<unique_address> out;
  for (const auto& r : records_) {
    if (r.status != reachability_status::reachable) out.insert(r.subject);
  }
  return out;
}

std::set<unique_address> reachability::all_unreachable_from(const unique_address& observer) const {
  std::set<unique_address> out;
  for (const auto& r : records_) {
    if (r.observer == observer && r.status != reachability_status::reachable) {
      out.insert(r.subject);
    }
  }
  return out;
}

}  // namespace wfe::cluster
