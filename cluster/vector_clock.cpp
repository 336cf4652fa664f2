#include "cluster/vector_clock.hpp"

#include <algorithm>

namespace wfe::cluster {

const char* to_string(clock_order o) {
  switch (o) {
    case clock_order::before:
      return "before";
    case clock_order::after:
      return "after";
    case clock_order::same:
      return "same";
    case clock_order::concurrent:
      return "concurrent";
  }
  return "unknown";
}

vector_clock vector_clock::increment(const std::string& node) const {
  auto e = entries_;
  ++e[node];
  return vector_clock(std::move(e));
}

vector_clock vector_clock::merge(const vector_clock& other) const {
  auto e = entries_;
  for (const auto& [node, n] : other.entries_) {
    auto& mine = e[node];
    mine = std::max(mine, n);
  }
  return vector_clock(std::move(e));
}

vector_clock vector_clock::prune(const std::string& node) const {
  auto e = entries_;
  e.erase(node);
  return vector_clock(std::move(e));
}

std::uint64_t vector_clock::at(const std::string& node) const {
  auto it = entries_.find(node);
  return it == entries_.end() ? 0 : it->second;
}

clock_order vector_clock::compare(const vector_clock& other) const {
  bool some_less = false;     // a counter of ours below theirs
  bool some_greater = false;  // a counter of ours above theirs
  for (const auto& [node, n] : entries_) {
    auto theirs = other.at(node);
    some_less |= n < theirs;
    some_greater |= n > theirs;
  }
  for (const auto& [node, n] : other.entries_) {
    if (!entries_.contains(node) && n > 0) some_less = true;
  }
  if (some_less && some_greater) return clock_order::concurrent;
  if (some_less) return clock_order::before;
  if (some_greater) return clock_order::after;
  return clock_order::same;
}

}  // namespace wfe::cluster
