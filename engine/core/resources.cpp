#include "engine/core/resources.hpp"

namespace wfe::core {

std::optional<std::string_view> find_resource(std::string_view name) {
  if (name.starts_with('/')) name.remove_prefix(1);
  for (const auto& r : embedded_resources()) {
    if (r.name == name) return r.text;
  }
  return std::nullopt;
}

}  // namespace wfe::core
