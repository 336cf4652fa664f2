#pragma once
// The node's Prometheus registry. Modules register their families on registry();
// the /metrics endpoint serializes collect(), which adds process metrics
// (resident memory, heap in use, CPU, open fds, start time) read at scrape time, and
// the gauges sampled by add_sampled_gauge (e.g. RocksDB memtable sizes).

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/labels.h>
#include <prometheus/registry.h>

namespace wfe::core {

class metrics_registry final : public prometheus::Collectable {
 public:
  // `version` is exported as workflow_build_info{version="…"} 1.
  explicit metrics_registry(std::string_view version);

  prometheus::Registry& registry() { return *registry_; }

  // A gauge whose value `sample` computes at every scrape, on the scraping thread: it
  // must be thread-safe and cheap, and whatever it reads must outlive the registry or
  // be captured by shared ownership. Samples of the same name form one family.
  void add_sampled_gauge(std::string name, std::string help, prometheus::Labels labels,
                         std::function<double()> sample);

  [[nodiscard]] std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  struct sampled_gauge {
    std::string name;
    std::string help;
    prometheus::Labels labels;
    std::function<double()> sample;
  };

  mutable std::mutex sampled_mu_;
  std::vector<sampled_gauge> sampled_;
  std::shared_ptr<prometheus::Registry> registry_;
  double start_time_seconds_;
};

}  // namespace wfe::core
