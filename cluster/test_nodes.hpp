#pragma once
// Test helper of the cluster module's unit tests: member addresses n1, n2, ... of one
// system ("sys", port 1).

#include <cstdint>
#include <string>

#include "cluster/member.hpp"

namespace wfe::cluster::testing {

// The unique address of node `i` (host "n<i>") in incarnation `uid`.
inline unique_address n(int i, std::uint64_t uid = 1) {
  return unique_address{core::address{"sys", "n" + std::to_string(i), 1}, uid};
}

}  // namespace wfe::cluster::testing
