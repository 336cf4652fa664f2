#pragma once
// Polls a condition until it holds or a timeout passes (multi-process tests wait for
// a cluster to settle this way; no test asserts on how long that took).

#include <chrono>
#include <functional>
#include <thread>

namespace wfe::test {

// True as soon as `pred` holds; checks every `every` and once more at the deadline.
inline bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds every = std::chrono::milliseconds(100)) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(every);
  }
  return pred();
}

}  // namespace wfe::test
