#include "engine/workflow/store/store_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace wfe::workflow::store {

store_metrics::store_metrics(prometheus::Registry* registry) {
  if (registry == nullptr) return;
  auto& r = *registry;
  auto& workflows = prometheus::BuildGauge()
                        .Name("workflow_workflows")
                        .Help("Workflows in the visibility index, by status")
                        .Register(r);
  running_ = &workflows.Add({{"status", "RUNNING"}});
  completed_ = &workflows.Add({{"status", "COMPLETED"}});
  failed_ = &workflows.Add({{"status", "FAILED"}});
  cancelled_ = &workflows.Add({{"status", "CANCELLED"}});
  dead_letters_ = &prometheus::BuildGauge()
                       .Name("workflow_dead_letters")
                       .Help("Open dead letters (failed workflows awaiting a retry)")
                       .Register(r)
                       .Add({});
  definitions_ = &prometheus::BuildGauge()
                      .Name("workflow_definitions")
                      .Help("Workflow definition versions in the registry")
                      .Register(r)
                      .Add({});
  timers_pending_ = &prometheus::BuildGauge()
                         .Name("workflow_timers_pending")
                         .Help("Durable timers held by the timer service")
                         .Register(r)
                         .Add({});
  timers_fired_ = &prometheus::BuildCounter()
                       .Name("workflow_timers_fired_total")
                       .Help("Timers fired (sent to their workflow)")
                       .Register(r)
                       .Add({});
  timers_overflowed_ = &prometheus::BuildGauge()
                            .Name("workflow_timers_overflowed")
                            .Help(
                                "1 while pending timers beyond pekko.workflow.timers.max-timers "
                                "are only in the workflow index, else 0")
                            .Register(r)
                            .Add({});
  timers_reloaded_ = &prometheus::BuildCounter()
                          .Name("workflow_timers_reloaded_total")
                          .Help(
                              "Timers read back from the workflow index after "
                              "pekko.workflow.timers.max-timers was reached")
                          .Register(r)
                          .Add({});
  coalesced_ = &prometheus::BuildCounter()
                    .Name("workflow_index_updates_coalesced_total")
                    .Help(
                        "Index updates replaced by a newer one of the same workflow while "
                        "waiting (update-linger), never written")
                    .Register(r)
                    .Add({});
  write_failures_ = &prometheus::BuildCounter()
                         .Name("workflow_index_write_failures_total")
                         .Help(
                             "Workflow-index writes that failed (their updates are written "
                             "again after pekko.workflow.store.write-retry-min-backoff..max)")
                         .Register(r)
                         .Add({});
  dropped_ = &prometheus::BuildCounter()
                  .Name("workflow_index_updates_dropped_total")
                  .Help(
                      "Index updates dropped while index writes failed, beyond "
                      "pekko.workflow.store.max-retained-updates or at a stop (the next "
                      "start's reconciliation repairs them)")
                  .Register(r)
                  .Add({});
  batch_size_ = &prometheus::BuildHistogram()
                     .Name("workflow_index_batch_size")
                     .Help("Index updates per workflow-index write")
                     .Register(r)
                     .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128,
                                                                      256, 512, 1024, 4096});
}

void store_metrics::index_counts(const index_stats& s) {
  if (running_ == nullptr) return;
  running_->Set(static_cast<double>(s.running));
  completed_->Set(static_cast<double>(s.completed));
  failed_->Set(static_cast<double>(s.failed));
  cancelled_->Set(static_cast<double>(s.cancelled));
  dead_letters_->Set(static_cast<double>(s.dead_letters));
}

void store_metrics::index_coalesced(std::uint64_t updates) {
  if (coalesced_ != nullptr) coalesced_->Increment(static_cast<double>(updates));
}

void store_metrics::index_write_failed() {
  if (write_failures_ != nullptr) write_failures_->Increment();
}

void store_metrics::index_dropped(std::uint64_t updates) {
  if (dropped_ != nullptr) dropped_->Increment(static_cast<double>(updates));
}

void store_metrics::index_batch(std::uint64_t updates) {
  if (batch_size_ != nullptr) batch_size_->Observe(static_cast<double>(updates));
}

void store_metrics::definitions(std::uint64_t versions) {
  if (definitions_ != nullptr) definitions_->Set(static_cast<double>(versions));
}

void store_metrics::timers_pending(std::uint64_t n) {
  if (timers_pending_ != nullptr) timers_pending_->Set(static_cast<double>(n));
}

void store_metrics::timers_fired(std::uint64_t n) {
  if (timers_fired_ != nullptr) timers_fired_->Increment(static_cast<double>(n));
}

void store_metrics::timers_overflowed(bool overflowed) {
  if (timers_overflowed_ != nullptr) timers_overflowed_->Set(overflowed ? 1.0 : 0.0);
}

void store_metrics::timers_reloaded(std::uint64_t n) {
  if (timers_reloaded_ != nullptr) timers_reloaded_->Increment(static_cast<double>(n));
}

}  // namespace wfe::workflow::store
