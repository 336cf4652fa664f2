#pragma once
// The membership actor: owns this node's view of the cluster and answers
// `get_view_atom` with a `cluster_view`.
//
// Today the node forms a cluster of its own (the membership protocol — seed join,
// gossip, failure detection, downing — is issue #5): on start it marks itself Up
// and leader, and reports itself alone, with its real address and incarnation uid.

#include <string>

#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "cluster/cluster_settings.hpp"

namespace wfe::cluster {

using get_view_atom = caf::atom_constant<caf::atom("getview")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;

struct membership_config {
  cluster_settings settings;
  std::string app_version;
};

caf::actor spawn_membership(caf::actor_system& sys, membership_config cfg);

}  // namespace wfe::cluster
