#pragma once
// The built-in `http` task's client: Boost.Beast HTTP/1.1 over TCP or TLS (https://:
// the certificate must chain to the system's CAs or to `tasks.http.ca-file`, and name
// the host; `tasks.http.client-cert-file`/`client-key-file` answer a server asking for a
// client certificate), run asynchronously on one io_context thread owned by this object
// (never on the actor scheduler).
//
// - One deadline (the task's timeoutMs; the dispatcher cuts it to the step's timeoutMs
//   + 1 s when that is shorter) bounds a task's whole exchange: every redirect hop's
//   resolve, connect, handshake, write and read. The response body is capped.
// - Redirects (301/302/303/307/308 with a Location) are followed up to
//   `tasks.http.max-redirects` unless the input says "followRedirects": false: relative
//   Locations resolve against the current URL; 303, and 301/302 of a POST, continue as
//   GET without the body; 307/308 keep method and body; https:// -> http:// is refused.
// - Keep-alive connections are pooled per scheme/host/port (`tasks.http.pool.*`): at
//   most max-idle-per-host per key and max-idle in all, each closed after idle-timeout
//   (or the server's Keep-Alive: timeout=N less a second). A pooled connection the
//   server closed is noticed before use (a peek); one that fails before any byte of the
//   response came is retried once on a new connection, unless the request was written
//   and is a POST or PATCH (it may have been processed). A connection is pooled only at
//   a message boundary: keep-alive response, nothing received beyond it.
//
// - A request can be cancelled (the dispatcher does when the attempt is abandoned).
//
// Destroying the runner stops the thread; requests still in flight are dropped without
// calling their callbacks, and pooled connections are closed.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/workflow/tasks/builtin_tasks.hpp"

namespace wfe::workflow {

class http_task_runner {
 public:
  // Reads the tasks.http.* settings. Throws std::runtime_error naming the file when
  // the CA file, client certificate or client key cannot be loaded.
  explicit http_task_runner(const task_settings& s);
  ~http_task_runner();
  http_task_runner(const http_task_runner&) = delete;
  http_task_runner& operator=(const http_task_runner&) = delete;

  // `done` runs exactly once, on the runner's thread (unless the runner is destroyed first).
  // The returned function cancels the request (from any thread, while the runner
  // lives): its connection is closed, so the server sees it go, and `done` runs with
  // `http_cancelled`; after `done` it does nothing.
  [[nodiscard]] std::function<void()> run(http_task_input in,
                                          std::function<void(task_result)> done);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace wfe::workflow
