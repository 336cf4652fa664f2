#pragma once
// Request/connection metrics of one http_server. Internal to api/http.
//
// Several servers (the API gateway and the metrics endpoint) may register into one
// Registry. prometheus-cpp 1.0.1 in its default InsertBehavior::Merge returns the
// existing family when a family of the same name and type is registered again, so
// every server calls the builders and the `server` label keeps their series apart.
// A registry built with InsertBehavior::Throw makes the second server's start() fail.

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

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

  // route: the matched pattern, or "unmatched". The series of a (method, route, status)
  // are looked up once and cached (at most max_cached_series of them; beyond that each
  // call looks them up in the families again).
  void observe(std::string_view method, std::string_view route, unsigned status, double seconds);
  void connection_opened();
  void connection_closed();
  void connection_rejected();
  // How late a timer of the io threads fired (they were busy): what every request waiting
  // for them then waited too.
  void loop_lag(double seconds);

 private:
  static constexpr std::size_t max_cached_series = 1024;

  // method label '\n' route '\n' status
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view k) const { return std::hash<std::string_view>{}(k); }
  };
  struct series {
    prometheus::Counter* requests;
    prometheus::Histogram* duration;
  };

  std::string server_;
  std::mutex mutex_;  // observe() runs on every HTTP thread
  std::unordered_map<std::string, series, key_hash, std::equal_to<>> cache_;
  std::string key_;  // reused for lookups, under mutex_
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* duration_;
  prometheus::Gauge* active_;
  prometheus::Counter* rejected_;
  prometheus::Histogram* loop_lag_;
};

}  // namespace wfe::api::detail
