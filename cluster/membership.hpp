#pragma once
// The messages the membership actor (membership_actor.hpp) answers:
//   get_view_atom -> cluster_view (this node's picture of the cluster)
//   leave_atom    -> empty reply once this node has left (Removed), or on timeout

#include <caf/atom.hpp>

namespace wfe::cluster {

using get_view_atom = caf::atom_constant<caf::atom("getview")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;

}  // namespace wfe::cluster
