#include "api/http/server_metrics.hpp"

#include <algorithm>

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
                     .Add({{"server", server_}})) {}

void server_metrics::observe(std::string_view method, const std::string& route, unsigned status,
                             double seconds) {
  const auto label = method_label(method);
  char key_buf[256];
  std::string_view key;
  std::string long_key;
  const auto status_text = std::to_string(status);
  if (label.size() + route.size() + status_text.size() + 2 <= sizeof key_buf) {
    auto* end = key_buf;
    for (std::string_view part : {std::string_view(label), std::string_view("\n"),
                                  std::string_view(route), std::string_view("\n"),
                                  std::string_view(status_text)}) {
      end = std::copy(part.begin(), part.end(), end);
    }
    key = std::string_view(key_buf, static_cast<std::size_t>(end - key_buf));
  } else {
    long_key = label + '\n' + route + '\n' + status_text;
    key = long_key;
  }
  series s{};
  {
    std::scoped_lock lock(mutex_);
    if (auto found = cache_.find(key); found != cache_.end()) {
      s = found->second;
    } else {
      s.requests = &requests_->Add({{"server", server_},
                                    {"method", label},
                                    {"route", route},
                                    {"status", status_text}});
      s.duration = &duration_->Add({{"server", server_}, {"route", route}}, duration_buckets());
      if (cache_.size() < max_cached_series) cache_.emplace(std::string(key), s);
    }
  }
  s.requests->Increment();
  s.duration->Observe(seconds);
}

void server_metrics::connection_opened() { active_->Increment(); }
void server_metrics::connection_closed() { active_->Decrement(); }
void server_metrics::connection_rejected() { rejected_->Increment(); }

}  // namespace wfe::api::detail
