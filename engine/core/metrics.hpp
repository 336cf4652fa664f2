#pragma once
// The node's Prometheus registry. Modules register their families on registry();
// the /metrics endpoint serializes collect(), which adds process metrics
// (resident memory, CPU, open fds, start time) read from /proc at scrape time.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/registry.h>

namespace wfe::core {

class metrics_registry final : public prometheus::Collectable {
 public:
  // `version` is exported as workflow_build_info{version="…"} 1.
  explicit metrics_registry(std::string_view version);

  prometheus::Registry& registry() { return *registry_; }

  [[nodiscard]] std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  double start_time_seconds_;
};

}  // namespace wfe::core
