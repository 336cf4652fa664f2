#pragma once
// The built-in `http` task's client: Boost.Beast HTTP/1.1 over TCP or TLS (https://:
// the certificate must chain to the system's CAs or to `ca_file`, and name the host), run
// asynchronously on one io_context thread owned by this object (never on the actor
// scheduler). Each request is bounded by its timeout (resolve + connect + write + read)
// and by the response body cap. Destroying the runner stops the thread; requests still
// in flight are dropped without calling their callbacks.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/workflow/tasks/builtin_tasks.hpp"

namespace wfe::workflow {

class http_task_runner {
 public:
  // `ca_file`: PEM certificates trusted besides the system's (empty: none). Throws
  // std::runtime_error naming the file when it cannot be loaded.
  http_task_runner(std::uint64_t max_response_bytes, const std::string& ca_file = {});
  ~http_task_runner();
  http_task_runner(const http_task_runner&) = delete;
  http_task_runner& operator=(const http_task_runner&) = delete;

  // `done` runs exactly once, on the runner's thread (unless the runner is destroyed first).
  void run(http_task_input in, std::function<void(task_result)> done);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace wfe::workflow
