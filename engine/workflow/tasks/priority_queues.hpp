#pragma once
// Three bounded FIFO queues (high, normal, low) drained by weighted round robin.
//
// Each round grants 4 pops to high, 2 to normal, 1 to low. pop() takes from the most
// urgent non-empty queue that still has credit in the current round; when no non-empty
// queue has credit left, a new round starts. So with all three busy the order is
// H H H H N N L, H H H H N N L, ... (low gets at least 1 in 7), and an idle queue never
// holds others back (a lone low queue is drained at full speed).

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include "engine/workflow/task_protocol.hpp"

namespace wfe::workflow {

inline constexpr std::array<std::uint32_t, 3> k_priority_weights{4, 2, 1};

template <class T>
class priority_queues {
 public:
  explicit priority_queues(std::size_t capacity_per_priority) : capacity_(capacity_per_priority) {}

  // False when the queue of that priority is full (nothing queued).
  bool push(task_priority p, T item) {
    auto& q = queues_[index(p)];
    if (q.size() >= capacity_) return false;
    q.push_back(std::move(item));
    return true;
  }

  std::optional<T> pop() {
    if (empty()) return std::nullopt;
    for (int round = 0; round < 2; ++round) {
      for (std::size_t i = 0; i < queues_.size(); ++i) {
        if (queues_[i].empty() || credits_[i] == 0) continue;
        --credits_[i];
        T item = std::move(queues_[i].front());
        queues_[i].pop_front();
        return item;
      }
      credits_ = k_priority_weights;  // no busy queue has credit left: next round
    }
    return std::nullopt;  // unreachable: a fresh round has credit for every queue
  }

  // Removes and returns the first item (highest priority first, then FIFO) `pred` holds
  // for; nullopt when none does. Linear: for rare lookups (a lease adopted by token).
  template <class Pred>
  std::optional<T> take_first(Pred pred) {
    for (auto& q : queues_) {
      for (auto it = q.begin(); it != q.end(); ++it) {
        if (!pred(*it)) continue;
        T item = std::move(*it);
        q.erase(it);
        return item;
      }
    }
    return std::nullopt;
  }

  [[nodiscard]] bool empty() const {
    return queues_[0].empty() && queues_[1].empty() && queues_[2].empty();
  }
  [[nodiscard]] std::size_t size() const {
    return queues_[0].size() + queues_[1].size() + queues_[2].size();
  }
  [[nodiscard]] std::size_t size(task_priority p) const { return queues_[index(p)].size(); }
  [[nodiscard]] std::size_t capacity() const { return capacity_; }

 private:
  static std::size_t index(task_priority p) { return static_cast<std::size_t>(p); }

  std::size_t capacity_;
  std::array<std::deque<T>, 3> queues_;
  std::array<std::uint32_t, 3> credits_ = k_priority_weights;
};

}  // namespace wfe::workflow
