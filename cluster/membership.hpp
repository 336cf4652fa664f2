#pragma once
// The messages the membership actor (membership_actor.hpp) answers:
//   get_view_atom -> cluster_view (this node's picture of the cluster)
//   leave_atom    -> empty reply once this node has left (Removed), or on timeout
//   get_sbr_atom  -> sbr_view (what the split-brain resolver would decide now, and why)
//   leave_member_atom, std::string address -> std::string: marks that member Leaving
//   down_member_atom, std::string address  -> std::string: marks that member Down
//     (Pekko's Cluster.leave / Cluster.down). `address` is "pekko://system@host:port"
//     or "system@host:port"; the reply is the member's full address, empty when no
//     member has that address.

#include <caf/atom.hpp>

namespace wfe::cluster {

using get_view_atom = caf::atom_constant<caf::atom("getview")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using get_sbr_atom = caf::atom_constant<caf::atom("getsbr")>;
using leave_member_atom = caf::atom_constant<caf::atom("leavemem")>;
using down_member_atom = caf::atom_constant<caf::atom("downmem")>;

}  // namespace wfe::cluster
