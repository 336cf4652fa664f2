#pragma once
// Prometheus metrics of task execution. With a null registry every call is a no-op.
// Used by the dispatcher actor only (one thread at a time).
//
//   workflow_tasks_queued{priority}       gauge      tasks waiting, every destination
//   workflow_tasks_running                gauge      local tasks executing + external leases
//   workflow_tasks_cancelled_running      gauge      C++ handlers told to stop (cancelled())
//                                                    that have not returned: each holds a
//                                                    worker slot
//   workflow_tasks_total{task,outcome}    counter    finished or refused tasks; task is the
//                                                    built-in/handler name or "external";
//                                                    outcome completed|failed|rejected|
//                                                    heartbeat_timeout|parked|timed_out|
//                                                    abandoned (task is "local" or
//                                                    "external" for rejected and parked)
//   workflow_tasks_parked{priority}       gauge      identities parked (queue full), not woken
//   workflow_task_wakes_total             counter    parked entries woken (resubmit sent)
//   workflow_task_wake_expired_total      counter    woken entries that did not come back in
//                                                    parked-wake-timeout (stale attempts)
//   workflow_task_seconds                 histogram  started -> completed/failed
//   workflow_task_pollers                 gauge      parked external polls

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/workflow/task_protocol.hpp"

namespace prometheus {
class Gauge;
class Histogram;
class Registry;
template <class T>
class Family;
class Counter;
}  // namespace prometheus

namespace wfe::workflow {

class task_metrics {
 public:
  explicit task_metrics(prometheus::Registry* registry);

  void queued(task_priority p, std::uint64_t n);
  void running(std::uint64_t n);
  void cancelled_running(std::uint64_t n);
  void pollers(std::uint64_t n);
  void parked(task_priority p, std::uint64_t n);
  void woken();
  void wake_expired(std::uint64_t n);
  void finished(std::string_view task, std::string_view outcome);
  void seconds(double s);

 private:
  std::array<prometheus::Gauge*, 3> queued_{};
  prometheus::Gauge* running_ = nullptr;
  prometheus::Gauge* cancelled_running_ = nullptr;
  prometheus::Gauge* pollers_ = nullptr;
  std::array<prometheus::Gauge*, 3> parked_{};
  prometheus::Counter* woken_ = nullptr;
  prometheus::Counter* wake_expired_ = nullptr;
  prometheus::Family<prometheus::Counter>* total_ = nullptr;
  prometheus::Histogram* seconds_ = nullptr;

  // workflow_tasks_total's series by "task\noutcome", looked up once each (at most
  // max_cached_totals; task names are the registered handlers and a few fixed labels).
  static constexpr std::size_t max_cached_totals = 512;
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view k) const { return std::hash<std::string_view>{}(k); }
  };
  std::unordered_map<std::string, prometheus::Counter*, key_hash, std::equal_to<>> totals_;
  std::string key_;  // reused for lookups
};

}  // namespace wfe::workflow
