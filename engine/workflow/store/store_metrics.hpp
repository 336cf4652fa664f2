#pragma once
// Prometheus metrics of the workflow store. Constructed with the node's registry, or
// with nullptr in tests and tools: then every call is a no-op. Thread-safe.
//
//   workflow_workflows{status}       gauge      workflows in the visibility index per status
//   workflow_dead_letters            gauge      open dead letters
//   workflow_definitions             gauge      definition versions in the registry
//   workflow_timers_pending          gauge      timers held by the timer service
//   workflow_timers_fired_total      counter    timer_due messages sent
//   workflow_timers_overflowed       gauge      1 while pending timers beyond max-timers
//                                               are only in the index (reloaded as room
//                                               frees), else 0
//   workflow_timers_reloaded_total   counter    timers read back from the index after
//                                               max-timers was reached
//   workflow_index_batch_size        histogram  index updates per WriteBatch
//   workflow_index_updates_coalesced_total
//                                    counter    index updates replaced by a newer one of
//                                               the same workflow while lingering (never
//                                               written: update-linger at work)

#include <cstdint>

#include "engine/workflow/store/records.hpp"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
}  // namespace prometheus

namespace wfe::workflow::store {

class store_metrics {
 public:
  explicit store_metrics(prometheus::Registry* registry);

  void index_counts(const index_stats& s);  // workflow_workflows{status}, dead letters
  void index_batch(std::uint64_t updates);
  void index_coalesced(std::uint64_t updates);
  void index_write_failed();
  void index_dropped(std::uint64_t updates);
  void definitions(std::uint64_t versions);
  void timers_pending(std::uint64_t n);
  void timers_fired(std::uint64_t n);
  void timers_overflowed(bool overflowed);
  void timers_reloaded(std::uint64_t n);

 private:
  prometheus::Gauge* running_ = nullptr;
  prometheus::Gauge* completed_ = nullptr;
  prometheus::Gauge* failed_ = nullptr;
  prometheus::Gauge* cancelled_ = nullptr;
  prometheus::Gauge* dead_letters_ = nullptr;
  prometheus::Gauge* definitions_ = nullptr;
  prometheus::Gauge* timers_pending_ = nullptr;
  prometheus::Counter* timers_fired_ = nullptr;
  prometheus::Gauge* timers_overflowed_ = nullptr;
  prometheus::Counter* timers_reloaded_ = nullptr;
  prometheus::Histogram* batch_size_ = nullptr;
  prometheus::Counter* coalesced_ = nullptr;
  prometheus::Counter* write_failures_ = nullptr;
  prometheus::Counter* dropped_ = nullptr;
};

}  // namespace wfe::workflow::store
