#pragma once
// Settings of the cluster management HTTP routes (pekko.workflow.management.*), after
// Pekko Management's `pekko.management.http.route-providers-read-only`.

namespace wfe::core {
class settings_reader;
}

namespace wfe::api {

struct cluster_management_settings {
  // true: DELETE/PUT on /api/v1/cluster/members/{address} answer 403 read_only.
  bool read_only = true;

  static cluster_management_settings read(core::settings_reader& r);
};

}  // namespace wfe::api
