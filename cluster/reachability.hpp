#pragma once
// Who can reach whom: records "observer sees subject as reachable / unreachable /
// terminated", each observer's rows versioned by that observer (Pekko's Reachability).
// Only an observer changes its own rows, so a merge keeps, per observer, the rows
// with the higher version. A subject is unreachable when any observer says so.

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "cluster/member.hpp"

namespace wfe::cluster {

enum class reachability_status { reachable, unreachable, terminated };

const char* to_string(reachability_status s);

struct reachability_record {
  unique_address observer;
  unique_address subject;
  reachability_status status = reachability_status::reachable;
  std::uint64_t version = 0;

  bool operator==(const reachability_record&) const = default;
};

class reachability {
 public:
  // Records an observation; returns *this unchanged when nothing changes.
  [[nodiscard]] reachability unreachable(const unique_address& observer,
                                         const unique_address& subject) const;
  [[nodiscard]] reachability reachable(const unique_address& observer,
                                       const unique_address& subject) const;
  [[nodiscard]] reachability terminated(const unique_address& observer,
                                        const unique_address& subject) const;

  // Per observer the rows of the newer side; observers outside `members` are dropped.
  [[nodiscard]] reachability merge(const std::set<unique_address>& members,
                                   const reachability& other) const;
  // Drops every row about or by `nodes` (removed members).
  [[nodiscard]] reachability remove(const std::set<unique_address>& nodes) const;
  // Drops the rows by `observers` (Down members' opinions no longer count).
  [[nodiscard]] reachability remove_observers(const std::set<unique_address>& observers) const;

  // Aggregated over observers: terminated > unreachable > reachable.
  [[nodiscard]] reachability_status status(const unique_address& subject) const;
  [[nodiscard]] reachability_status status(const unique_address& observer,
                                           const unique_address& subject) const;
  [[nodiscard]] bool is_reachable(const unique_address& subject) const;
  [[nodiscard]] bool is_reachable(const unique_address& observer,
                                  const unique_address& subject) const;
  // Subjects some observer sees as unreachable or terminated.
  [[nodiscard]] std::set<unique_address> all_unreachable() const;
  [[nodiscard]] std::set<unique_address> all_unreachable_from(const unique_address& observer) const;

  [[nodiscard]] const std::vector<reachability_record>& records() const { return records_; }
  [[nodiscard]] const std::map<unique_address, std::uint64_t>& versions() const {
    return versions_;
  }
  [[nodiscard]] bool empty() const { return records_.empty(); }

  static reachability from(std::vector<reachability_record> records,
                           std::map<unique_address, std::uint64_t> versions);

  bool operator==(const reachability&) const = default;

 private:
  [[nodiscard]] reachability change(const unique_address& observer, const unique_address& subject,
                                    reachability_status s) const;

  std::vector<reachability_record> records_;  // sorted by (observer, subject)
  std::map<unique_address, std::uint64_t> versions_;
};

}  // namespace wfe::cluster
