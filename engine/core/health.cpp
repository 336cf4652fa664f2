#include "engine/core/health.hpp"

#include "engine/core/logging.hpp"

namespace wfe::core {

void health::set_down(std::string_view component, std::string reason) {
  std::scoped_lock lock(mutex_);
  if (auto it = down_.find(component); it != down_.end()) {
    it->second = std::move(reason);
    return;
  }
  logger("core")->error("GET /health is DOWN: {} stopped: {}", component, reason);
  down_.emplace(std::string(component), std::move(reason));
}

void health::set_up(std::string_view component) {
  std::scoped_lock lock(mutex_);
  if (auto it = down_.find(component); it != down_.end()) {
    logger("core")->info("{} works again{}", component,
                         down_.size() == 1 ? "; GET /health is UP" : "");
    down_.erase(it);
  }
}

std::vector<std::pair<std::string, std::string>> health::down() const {
  std::scoped_lock lock(mutex_);
  return {down_.begin(), down_.end()};
}

}  // namespace wfe::core
