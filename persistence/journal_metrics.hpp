#pragma once
// Prometheus metrics of the journal. Constructed with the node's registry, or with
// nullptr in tests and tools: then every call is a no-op. Thread-safe.
//
//   journal_events_persisted_total  counter    events acknowledged as durable
//   journal_batch_size              histogram  events per group-commit write
//   journal_write_seconds           histogram  request received -> acknowledged
//   journal_sync_seconds            histogram  one atomic synced store write
//   journal_corruptions_total       counter    corruption found (open, replay, listing)
//   journal_recovery_seconds        histogram  one entity's recovery (snapshot + replay)
//   journal_snapshots_total         counter    snapshots saved
//   journal_snapshot_load_failures_total counter  corrupt/unreadable snapshots skipped

#include <cstdint>

namespace prometheus {
class Counter;
class Histogram;
class Registry;
}  // namespace prometheus

namespace wfe::persistence {

class journal_metrics {
 public:
  explicit journal_metrics(prometheus::Registry* registry);

  void events_persisted(std::uint64_t count);
  void batch_size(std::uint64_t events);
  void write_seconds(double seconds);
  void sync_seconds(double seconds);
  void corruption();
  void recovery_seconds(double seconds);
  void snapshot_saved();
  void snapshot_load_failure();

 private:
  prometheus::Counter* events_persisted_ = nullptr;
  prometheus::Histogram* batch_size_ = nullptr;
  prometheus::Histogram* write_seconds_ = nullptr;
  prometheus::Histogram* sync_seconds_ = nullptr;
  prometheus::Counter* corruptions_ = nullptr;
  prometheus::Histogram* recovery_seconds_ = nullptr;
  prometheus::Counter* snapshots_ = nullptr;
  prometheus::Counter* snapshot_load_failures_ = nullptr;
};

}  // namespace wfe::persistence
