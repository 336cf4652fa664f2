#pragma once
// Substitution resolution (HOCON.md, "Substitutions" and "Self-Referential Substitutions").

#include "engine/core/config/config.hpp"
#include "engine/core/config/internal/value.hpp"

namespace wfe::core::config_internal {

// Resolves every substitution below the root object `root`. `env` may be empty
// (std::getenv is used then).
[[nodiscard]] expected<node_ptr, config_error> resolve_tree(const node_ptr& root,
                                                            const env_reader& env);

}  // namespace wfe::core::config_internal
