#pragma once
// The node's health as GET /health reports it (api/node_routes.cpp): UP, or DOWN naming
// each component that stopped in a way only a restart mends — a store whose RocksDB
// refuses every write after damaged data or an I/O error on its log (its Resume()
// failed: persistence/internal/rocksdb_support.hpp, report_resume) — so that a liveness
// probe restarts the node, whose next start recovers or refuses to start naming the
// damaged file. A full disk is not such a state (writing resumes once there is room, and
// reads go on meanwhile): it is never reported here. Thread-safe: the stores report from
// their own threads, the HTTP gateway actor reads.

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wfe::core {

class health {
 public:
  // `component` stopped for `reason` (replaces an earlier reason); logged when it was up.
  void set_down(std::string_view component, std::string reason);
  // `component` works (again); logged when it was down.
  void set_up(std::string_view component);
  // The stopped components and why, by name; empty: UP.
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> down() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::string, std::less<>> down_;
};

}  // namespace wfe::core
