#pragma once
// The backlog of one destination whose queue is full: identities of refused task
// requests, woken in FIFO order (per priority, high first) when the queue frees a slot.
//
// - park(): the request's identity {workflow id, step, attempt, priority, queue} — not its
//   input — joins the FIFO of its priority; false when `capacity` entries are parked
//   (then the dispatcher answers `rejected` as before).
// - wake(has_room, on_wake, now): while a priority has a parked entry and has_room(p)
//   (the caller counts reserved() as taken), the oldest entry of the most urgent such
//   priority is woken: on_wake(entry) is called (the dispatcher sends a `resubmit`
//   update) and a slot of its priority is *reserved* for it until `now + timeout`.
// - claim(req): the woken request came back: its reservation is released (the caller
//   then queues it into the reserved slot). A request that is not woken claims nothing.
// - expire(now): reservations whose request did not come back in time (a stale id: the
//   workflow was cancelled or the attempt moved on, so the entity ignored the resubmit)
//   are dropped, so the slot is woken for the next parked entry and never stays unused.
//
// Not thread-safe; used by the dispatcher actor only. Memory: see
// pekko.workflow.tasks.max-parked in conf/reference.conf.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "engine/workflow/task_protocol.hpp"

namespace wfe::workflow {

struct parked_task {
  std::string workflow_id;
  std::string step;
  std::uint32_t attempt = 0;
  task_priority priority = task_priority::normal;
  std::string queue;  // external queue name; empty: the local pool
};

class parking_lot {
 public:
  using clock = std::chrono::steady_clock;

  parking_lot(std::size_t capacity, clock::duration wake_timeout)
      : capacity_(capacity), timeout_(wake_timeout) {}

  // False (nothing parked) when `capacity` entries wait already.
  bool park(parked_task t) {
    if (parked() >= capacity_) return false;
    auto& q = parked_[index(t.priority)];
    q.push_back(std::move(t));
    return true;
  }

  // Wakes parked entries, most urgent priority first, FIFO within a priority, while
  // has_room(p) holds for the entry's priority; reserves a slot for each woken entry.
  // Returns the number woken.
  template <class HasRoom, class OnWake>
  std::size_t wake(HasRoom&& has_room, OnWake&& on_wake, clock::time_point now) {
    std::size_t woken = 0;
    for (auto p : {task_priority::high, task_priority::normal, task_priority::low}) {
      auto& q = parked_[index(p)];
      while (!q.empty() && has_room(p)) {
        parked_task t = std::move(q.front());
        q.pop_front();
        auto k = key(t.workflow_id, t.step, t.attempt);
        const auto seq = next_seq_++;
        if (auto [it, fresh] = woken_.try_emplace(k, woken_entry{p, seq, t}); !fresh) {
          // The same attempt parked twice (its entity re-dispatched it): one reservation.
          it->second.seq = seq;
        } else {
          ++reserved_[index(p)];
        }
        order_.push_back({std::move(k), seq, now + timeout_});
        on_wake(t);
        ++woken;
      }
    }
    return woken;
  }

  // Removes and returns the first parked entry (most urgent priority first, then FIFO)
  // for which pred(entry) holds. A linear scan: the dispatcher uses it only to adopt a
  // worker's token in the restart window (task_dispatcher.cpp, adopt()).
  template <class Pred>
  std::optional<parked_task> take_if(Pred&& pred) {
    for (auto& q : parked_) {
      for (auto it = q.begin(); it != q.end(); ++it) {
        if (!pred(*it)) continue;
        parked_task t = std::move(*it);
        q.erase(it);
        return t;
      }
    }
    return std::nullopt;
  }

  // The identity of a woken entry (holding its reservation) for which pred(entry)
  // holds; the reservation stays. A linear scan, for adopt() like take_if.
  template <class Pred>
  std::optional<parked_task> find_woken(Pred&& pred) const {
    for (const auto& [k, w] : woken_) {
      if (pred(w.task)) return w.task;
    }
    return std::nullopt;
  }

  // True when (workflow_id, step, attempt) was woken and still holds a reservation,
  // which is released.
  bool claim(const std::string& workflow_id, const std::string& step, std::uint32_t attempt) {
    if (woken_.empty()) return false;
    auto it = woken_.find(key(workflow_id, step, attempt));
    if (it == woken_.end()) return false;
    --reserved_[index(it->second.priority)];
    woken_.erase(it);
    while (!order_.empty() && !holds(order_.front())) order_.pop_front();
    return true;
  }

  // Drops reservations that expired at `now`; returns how many.
  std::size_t expire(clock::time_point now) {
    std::size_t n = 0;
    while (!order_.empty() && order_.front().deadline <= now) {
      auto& o = order_.front();
      auto it = woken_.find(o.key);
      if (it != woken_.end() && it->second.seq == o.seq) {
        --reserved_[index(it->second.priority)];
        woken_.erase(it);
        ++n;
      }
      order_.pop_front();
    }
    // Claimed entries leave their record behind: drop them from the front too.
    while (!order_.empty() && !holds(order_.front())) order_.pop_front();
    return n;
  }

  // The earliest reservation deadline, if any reservation is held.
  [[nodiscard]] std::optional<clock::time_point> next_deadline() {
    while (!order_.empty() && !holds(order_.front())) order_.pop_front();
    if (order_.empty()) return std::nullopt;
    return order_.front().deadline;
  }

  [[nodiscard]] std::size_t parked() const {
    return parked_[0].size() + parked_[1].size() + parked_[2].size();
  }
  [[nodiscard]] std::size_t parked(task_priority p) const { return parked_[index(p)].size(); }
  [[nodiscard]] std::size_t reserved(task_priority p) const { return reserved_[index(p)]; }
  [[nodiscard]] std::size_t reserved() const { return woken_.size(); }
  [[nodiscard]] bool idle() const { return parked() == 0 && woken_.empty(); }
  [[nodiscard]] std::size_t capacity() const { return capacity_; }

 private:
  struct woken_entry {
    task_priority priority;
    std::uint64_t seq;
    parked_task task;  // its identity, for adoption (find_woken)
  };
  struct wake_record {
    std::string key;
    std::uint64_t seq;
    clock::time_point deadline;
  };

  static std::size_t index(task_priority p) { return static_cast<std::size_t>(p); }

  static std::string key(const std::string& workflow_id, const std::string& step,
                         std::uint32_t attempt) {
    std::string k;
    k.reserve(workflow_id.size() + step.size() + 12);
    k.append(workflow_id).push_back('\0');
    k.append(step).push_back('\0');
    k.append(std::to_string(attempt));
    return k;
  }

  bool holds(const wake_record& r) const {
    auto it = woken_.find(r.key);
    return it != woken_.end() && it->second.seq == r.seq;
  }

  std::size_t capacity_;
  clock::duration timeout_;
  std::array<std::deque<parked_task>, 3> parked_;
  std::unordered_map<std::string, woken_entry> woken_;
  std::deque<wake_record> order_;  // by deadline (wake order, one timeout for all)
  std::array<std::size_t, 3> reserved_{};
  std::uint64_t next_seq_ = 1;
};

}  // namespace wfe::workflow
