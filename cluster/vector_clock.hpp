#pragma once
// The version of a gossip: one counter per node that changed it (Pekko's VectorClock).
// Two gossips compare as before / after / same / concurrent; concurrent ones are merged.

#include <cstdint>
#include <map>
#include <string>

namespace wfe::cluster {

enum class clock_order { before, after, same, concurrent };

const char* to_string(clock_order o);

class vector_clock {
 public:
  // Node keys are unique-address strings; a removed node's entry is pruned.
  using entries = std::map<std::string, std::uint64_t>;

  vector_clock() = default;
  explicit vector_clock(entries e) : entries_(std::move(e)) {}

  // The next version after a change made by `node`.
  [[nodiscard]] vector_clock increment(const std::string& node) const;
  // Pointwise maximum: a version after (or same as) both.
  [[nodiscard]] vector_clock merge(const vector_clock& other) const;
  // Forgets a removed node (bounded size: one entry per live member).
  [[nodiscard]] vector_clock prune(const std::string& node) const;

  // How this version relates to `other`: before = `other` has seen everything we have.
  [[nodiscard]] clock_order compare(const vector_clock& other) const;

  [[nodiscard]] const entries& values() const { return entries_; }
  [[nodiscard]] std::uint64_t at(const std::string& node) const;

  bool operator==(const vector_clock&) const = default;

 private:
  entries entries_;
};

}  // namespace wfe::cluster
