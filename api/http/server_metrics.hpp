#pragma once
// Request/connection metrics of one http_server. Internal to api/http.
//
// Several servers (the API gateway and the metrics endpoint) may register into one
// Registry. prometheus-cpp 1.0.1 in its default InsertBehavior::Merge returns the
// existing family when a family of the same name and type is registered again, so
// every server calls the builders and the `server` label keeps their series apart.
// A registry built with InsertBehavior::Throw makes the second server's start() fail.

#include <string>
#include <string_view>

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace wfe::api::detail {

class server_metrics {
 public:
  // Throws std::invalid_argument when a family name is taken by another type.
  server_metrics(prometheus::Registry& registry, std::string server);

  // route: the matched pattern, or "unmatched".
  void observe(std::string_view method, const std::string& route, unsigned status, double seconds);
  void connection_opened();
  void connection_closed();
  void connection_rejected();

 private:
  std::string server_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* duration_;
  prometheus::Gauge* active_;
  prometheus::Counter* rejected_;
};

}  // namespace wfe::api::detail
