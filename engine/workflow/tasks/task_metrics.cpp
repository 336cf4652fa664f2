#include "engine/workflow/tasks/task_metrics.hpp"

#include <string>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace wfe::workflow {

task_metrics::task_metrics(prometheus::Registry* registry) {
  if (registry == nullptr) return;
  auto& r = *registry;
  auto& queued = prometheus::BuildGauge()
                     .Name("workflow_tasks_queued")
                     .Help("Tasks waiting for a worker, by priority")
                     .Register(r);
  for (auto p : {task_priority::high, task_priority::normal, task_priority::low}) {
    queued_[static_cast<std::size_t>(p)] = &queued.Add({{"priority", std::string(to_string(p))}});
  }
  running_ = &prometheus::BuildGauge()
                  .Name("workflow_tasks_running")
                  .Help("Local tasks executing plus tasks leased to external workers")
                  .Register(r)
                  .Add({});
  cancelled_running_ =
      &prometheus::BuildGauge()
           .Name("workflow_tasks_cancelled_running")
           .Help(
               "C++ task handlers told to stop (cancelled) that have not returned yet; "
               "each holds a worker slot")
           .Register(r)
           .Add({});
  pollers_ = &prometheus::BuildGauge()
                  .Name("workflow_task_pollers")
                  .Help("External worker polls parked waiting for a task")
                  .Register(r)
                  .Add({});
  auto& parked = prometheus::BuildGauge()
                     .Name("workflow_tasks_parked")
                     .Help("Tasks parked because their queue was full (identities), by priority")
                     .Register(r);
  for (auto p : {task_priority::high, task_priority::normal, task_priority::low}) {
    parked_[static_cast<std::size_t>(p)] = &parked.Add({{"priority", std::string(to_string(p))}});
  }
  woken_ = &prometheus::BuildCounter()
                .Name("workflow_task_wakes_total")
                .Help("Parked tasks woken because their queue freed a slot")
                .Register(r)
                .Add({});
  wake_expired_ = &prometheus::BuildCounter()
                       .Name("workflow_task_wake_expired_total")
                       .Help("Woken parked tasks that were not re-dispatched in time (stale)")
                       .Register(r)
                       .Add({});
  total_ = &prometheus::BuildCounter()
                .Name("workflow_tasks_total")
                .Help("Tasks finished or refused, by task type and outcome")
                .Register(r);
  // 1 ms .. ~65 s.
  prometheus::Histogram::BucketBoundaries b;
  for (double v = 0.001; b.size() < 17; v *= 2) b.push_back(v);
  seconds_ = &prometheus::BuildHistogram()
                  .Name("workflow_task_seconds")
                  .Help("Task execution time: started to completed or failed")
                  .Register(r)
                  .Add({}, b);
}

void task_metrics::queued(task_priority p, std::uint64_t n) {
  if (auto* g = queued_[static_cast<std::size_t>(p)]) g->Set(static_cast<double>(n));
}

void task_metrics::running(std::uint64_t n) {
  if (running_ != nullptr) running_->Set(static_cast<double>(n));
}

void task_metrics::cancelled_running(std::uint64_t n) {
  if (cancelled_running_ != nullptr) cancelled_running_->Set(static_cast<double>(n));
}

void task_metrics::pollers(std::uint64_t n) {
  if (pollers_ != nullptr) pollers_->Set(static_cast<double>(n));
}

void task_metrics::parked(task_priority p, std::uint64_t n) {
  if (auto* g = parked_[static_cast<std::size_t>(p)]) g->Set(static_cast<double>(n));
}

void task_metrics::woken() {
  if (woken_ != nullptr) woken_->Increment();
}

void task_metrics::wake_expired(std::uint64_t n) {
  if (wake_expired_ != nullptr) wake_expired_->Increment(static_cast<double>(n));
}

void task_metrics::finished(std::string_view task, std::string_view outcome) {
  if (total_ == nullptr) return;
  key_.assign(task).append(1, '\n').append(outcome);
  if (auto found = totals_.find(std::string_view(key_)); found != totals_.end()) {
    found->second->Increment();
    return;
  }
  auto& counter = total_->Add({{"task", std::string(task)}, {"outcome", std::string(outcome)}});
  if (totals_.size() < max_cached_totals) totals_.emplace(key_, &counter);
  counter.Increment();
}

void task_metrics::seconds(double s) {
  if (seconds_ != nullptr) seconds_->Observe(s);
}

}  // namespace wfe::workflow
