#include "cluster/cluster_view.hpp"

#include <algorithm>

namespace wfe::cluster {

const char* to_string(member_status s) {
  switch (s) {
    case member_status::joining:
      return "Joining";
    case member_status::weakly_up:
      return "WeaklyUp";
    case member_status::up:
      return "Up";
    case member_status::leaving:
      return "Leaving";
    case member_status::exiting:
      return "Exiting";
    case member_status::down:
      return "Down";
    case member_status::removed:
      return "Removed";
  }
  return "Unknown";
}

std::size_t cluster_view::up_count() const {
  return static_cast<std::size_t>(std::count_if(members.begin(), members.end(), [](const auto& m) {
    return m.status == member_status::up || m.status == member_status::leaving;
  }));
}

}  // namespace wfe::cluster
