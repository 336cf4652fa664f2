#include "api/http/server_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace wfe::api::detail {
namespace {

// From 100 us (a cached answer) to 10 s (well past any request timeout we'd set).
const prometheus::Histogram::BucketBoundaries& duration_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};
  return buckets;
}

// Only well-known methods become label values: anything a client sends would
// otherwise create a new time series.
std::string method_label(std::string_view method) {
  static constexpr std::string_view known[] = {"GET",   "HEAD",    "POST",  "PUT",    "DELETE",
                                               "PATCH", "OPTIONS", "TRACE", "CONNECT"};
  for (const auto k : known) {
    if (k == method) return std::string(k);
  }
  return "other";
}

}  // namespace

server_metrics::server_metrics(prometheus::Registry& registry, std::string server)
    : server_(std::move(server)),
      requests_(&prometheus::BuildCounter()
                     .Name("http_requests_total")
                     .Help("HTTP requests answered, by server, method, route and status")
                     .Register(registry)),
      duration_(&prometheus::BuildHistogram()
                     .Name("http_request_duration_seconds")
                     .Help("Time from the first byte of a request to its response being sent")
                     .Register(registry)),
      active_(&prometheus::BuildGauge()
                   .Name("http_connections_active")
                   .Help("Open HTTP connections")
                   .Register(registry)
                   .Add({{"server", server_}})),
      rejected_(&prometheus::BuildCounter()
                     .Name("http_connections_rejected_total")
                     .Help("HTTP connections refused because max_connections was reached")
                     .Register(registry)
                     .Add({{"server", server_}})),
      loop_lag_(&prometheus::BuildHistogram()
                     .Name("http_io_loop_lag_seconds")
                     .Help("How late a 100 ms timer on the HTTP io threads fired: the time "
                           "they were busy (handlers, and on the API server the shard actors) "
                           "while requests waited")
                     .Register(registry)
                     .Add({{"server", server_}},
                          prometheus::Histogram::BucketBoundaries{
                              0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0})) {}

void server_metrics::observe(std::string_view method, std::string_view route, unsigned status,
                             double seconds) {
  const auto label = method_label(method);
  const auto status_text = std::to_string(status);
  series s{};
  {
    std::scoped_lock lock(mutex_);
    key_.assign(label).append(1, '\n').append(route).append(1, '\n').append(status_text);
    if (auto found = cache_.find(std::string_view(key_)); found != cache_.end()) {
      s = found->second;
    } else {
      s.requests = &requests_->Add({{"server", server_},
                                    {"method", label},
                                    {"route", std::string(route)},
                                    {"status", status_text}});
      s.duration =
          &duration_->Add({{"server", server_}, {"route", std::string(route)}}, duration_buckets());
      if (cache_.size() < max_cached_series) cache_.emplace(key_, s);
    }
  }
  s.requests->Increment();
  s.duration->Observe(seconds);
}

void server_metrics::connection_opened() { active_->Increment(); }
void server_metrics::connection_closed() { active_->Decrement(); }
void server_metrics::connection_rejected() { rejected_->Increment(); }
void server_metrics::loop_lag(double seconds) { loop_lag_->Observe(seconds); }

}  // namespace wfe::api::detail
