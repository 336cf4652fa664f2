#include "persistence/journal_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace wfe::persistence {
namespace {

prometheus::Histogram::BucketBoundaries exponential(double start, double factor, int count) {
  prometheus::Histogram::BucketBoundaries b;
  for (double v = start; count-- > 0; v *= factor) b.push_back(v);
  return b;
}

prometheus::Counter* counter(prometheus::Registry& r, const char* name, const char* help) {
  return &prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}

prometheus::Histogram* histogram(prometheus::Registry& r, const char* name, const char* help,
                                 const prometheus::Histogram::BucketBoundaries& buckets) {
  return &prometheus::BuildHistogram().Name(name).Help(help).Register(r).Add({}, buckets);
}

}  // namespace

journal_metrics::journal_metrics(prometheus::Registry* registry) {
  if (registry == nullptr) return;
  auto& r = *registry;
  events_persisted_ =
      counter(r, "journal_events_persisted_total", "Events acknowledged as durable by the journal");
  // 1, 2, 4, ... 8192 events per write.
  batch_size_ =
      histogram(r, "journal_batch_size", "Events per group-commit write", exponential(1, 2, 14));
  // 50 us .. ~1.6 s.
  write_seconds_ = histogram(r, "journal_write_seconds",
                             "Journal write latency: request received to acknowledged",
                             exponential(50e-6, 2, 16));
  sync_seconds_ =
      histogram(r, "journal_sync_seconds", "Duration of one atomic synced journal write",
                exponential(50e-6, 2, 16));
  corruptions_ = counter(r, "journal_corruptions_total", "Corruption detected in the journal");
  // 100 us .. ~100 s: an entity with a snapshot recovers in well under a millisecond.
  recovery_seconds_ = histogram(r, "journal_recovery_seconds",
                                "Recovery of one entity: snapshot load plus event replay",
                                exponential(1e-4, 2, 21));
  snapshots_ = counter(r, "journal_snapshots_total", "Snapshots saved by entities");
  snapshot_load_failures_ =
      counter(r, "journal_snapshot_load_failures_total",
              "Corrupt or unreadable snapshots skipped during recovery (older one or replay used)");
}

void journal_metrics::recovery_seconds(double seconds) {
  if (recovery_seconds_ != nullptr) recovery_seconds_->Observe(seconds);
}

void journal_metrics::snapshot_saved() {
  if (snapshots_ != nullptr) snapshots_->Increment();
}

void journal_metrics::snapshot_load_failure() {
  if (snapshot_load_failures_ != nullptr) snapshot_load_failures_->Increment();
}

void journal_metrics::events_persisted(std::uint64_t count) {
  if (events_persisted_ != nullptr) events_persisted_->Increment(static_cast<double>(count));
}

void journal_metrics::batch_size(std::uint64_t events) {
  if (batch_size_ != nullptr) batch_size_->Observe(static_cast<double>(events));
}

void journal_metrics::write_seconds(double seconds) {
  if (write_seconds_ != nullptr) write_seconds_->Observe(seconds);
}

void journal_metrics::sync_seconds(double seconds) {
  if (sync_seconds_ != nullptr) sync_seconds_->Observe(seconds);
}

void journal_metrics::corruption() {
  if (corruptions_ != nullptr) corruptions_->Increment();
}

}  // namespace wfe::persistence
