#pragma once
// Files compiled into the binary (conf/reference.conf, conf/application.conf,
// conf/application-prod.conf): what `include classpath("...")` and
// `-Dconfig.resource=...` resolve against, as the JVM classpath does for Pekko.

#include <optional>
#include <span>
#include <string_view>

namespace wfe::core {

struct embedded_resource {
  std::string_view name;  // file name, e.g. "reference.conf"
  std::string_view text;
};

// Generated at build time (cmake/embed_resources.cmake).
std::span<const embedded_resource> embedded_resources();

// The text of a resource by name; a leading '/' is ignored, as in Java.
std::optional<std::string_view> find_resource(std::string_view name);

}  // namespace wfe::core
