#include "engine/workflow/tasks/task_handlers.hpp"

#include <algorithm>

#include "engine/workflow/definition.hpp"

namespace wfe::workflow {

bool task_handlers::register_handler(std::string name, task_handler fn) {
  if (!fn || !is_valid_id(name) || name.starts_with(k_external_task_prefix)) return false;
  const auto builtins = builtin_task_types();
  if (std::find(builtins.begin(), builtins.end(), name) != builtins.end()) return false;
  std::lock_guard lock(mutex_);
  return handlers_.emplace(std::move(name), std::make_shared<const task_handler>(std::move(fn)))
      .second;
}

std::shared_ptr<const task_handler> task_handlers::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = handlers_.find(std::string(name));
  return it == handlers_.end() ? nullptr : it->second;
}

std::vector<std::string> task_handlers::names() const {
  std::vector<std::string> out;
  {
    std::lock_guard lock(mutex_);
    out.reserve(handlers_.size());
    for (const auto& [name, fn] : handlers_) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> known_task_types(const task_handlers* handlers) {
  const auto builtins = builtin_task_types();
  std::vector<std::string> out(builtins.begin(), builtins.end());
  if (handlers != nullptr) {
    auto names = handlers->names();
    out.insert(out.end(), names.begin(), names.end());
  }
  return out;
}

}  // namespace wfe::workflow
