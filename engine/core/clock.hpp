#pragma once
// The wall clock as milliseconds since the epoch: what events, timers and records are
// dated with. Components take an injectable `std::function<std::int64_t()>` and fall
// back to this one (tests pass a controlled clock).

#include <chrono>
#include <cstdint>

namespace wfe::core {

inline std::int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace wfe::core
