#include "api/cluster_management_settings.hpp"

#include "engine/core/settings_reader.hpp"

namespace wfe::api {

cluster_management_settings cluster_management_settings::read(core::settings_reader& r) {
  cluster_management_settings s;
  s.read_only = r.boolean("pekko.workflow.management.read-only");
  return s;
}

}  // namespace wfe::api
