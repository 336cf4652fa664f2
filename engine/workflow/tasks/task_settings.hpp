#pragma once
// Validated settings of task execution: the dispatcher's queues and worker pool, the
// built-in tasks' bounds and the external-worker API (pekko.workflow.max-workers and
// pekko.workflow.tasks.*; documented with their defaults in conf/reference.conf).

#include <chrono>
#include <cstdint>
#include <string>

namespace wfe::core {
class settings_reader;
}

namespace wfe::workflow {

struct task_settings {
  // Local tasks (built-ins and C++ handlers) executing at once (pekko.workflow.max-workers).
  std::uint32_t max_workers = 8;
  // Per destination (the local pool, each external queue) and per priority; a request
  // finding its queue full is answered with a `rejected` update.
  std::uint64_t max_queued = 10'000;
  // Distinct external queues (queue:<name>) the dispatcher keeps at once.
  std::uint32_t max_queues = 1'000;
  // Per destination (the local pool, each external queue; plus one lot for requests
  // waiting for a free external queue under max_queues): identities of requests that
  // found their queue full, woken FIFO (high priority first) as slots free. Beyond it a
  // request is answered `rejected`. 0: no parking (reject at once).
  std::uint64_t max_parked = 100'000;
  // Parked entries of every lot together (max_parked bounds each lot; with many queues
  // their sum could reach max_queues x max_parked). Beyond it a request is `rejected`.
  std::uint64_t max_parked_total = 300'000;
  // A woken entry's slot stays reserved this long for its re-dispatch; an entry that
  // does not come back (a stale attempt) loses it, and the next parked entry is woken.
  // Expiry is checked once per this period, so a reservation lasts 1 to 2 periods.
  std::chrono::milliseconds parked_wake_timeout{5'000};
  // A task gone asynchronous (sleep, http, a handler, an external worker's lease)
  // reports its start after this; one that ends before reports it with its result: one
  // journal write instead of two. 0: at once.
  std::chrono::milliseconds start_report_delay{20};

  // Built-in `sleep`: the largest {"ms":N} accepted.
  std::chrono::milliseconds sleep_max{3'600'000};
  // Built-in `http`: timeout when the input has no timeoutMs, and the largest accepted.
  std::chrono::milliseconds http_timeout_default{10'000};
  std::chrono::milliseconds http_timeout_max{60'000};
  // Built-in `http`: a larger response body fails the task.
  std::uint64_t http_max_response_bytes = 1ULL << 20;
  // Built-in `http`: the part of a 4xx/5xx body kept in the failure's details (journaled
  // with every failed attempt); the rest is cut (http_result).
  std::uint64_t http_max_failure_body_bytes = 16 * 1024;
  // Built-in `http` over https://: PEM CA certificates trusted besides the system's
  // (/etc/ssl/certs); empty: the system's only.
  std::string http_ca_file;
  // Built-in `http` over https://: a PEM certificate chain and its private key presented
  // to servers that ask for a client certificate (mutual TLS); both or neither.
  std::string http_client_cert_file;
  std::string http_client_key_file;
  // Built-in `http`: 301/302/303/307/308 responses followed at most this many times per
  // task (0: none; the 3xx completes the task, as with "followRedirects": false).
  std::uint32_t http_max_redirects = 5;
  // Built-in `http`: the input's "headers", names and values together, at most this.
  std::uint64_t http_max_request_headers_bytes = 16 * 1024;
  // Built-in `http`: keep-alive connections kept open for reuse, per scheme/host/port and
  // in all (0 per host: every request on a new connection, sent with Connection: close),
  // and how long one may stay idle (shortened by a server's Keep-Alive: timeout=N).
  std::uint32_t http_pool_max_idle_per_host = 8;
  std::uint32_t http_pool_max_idle = 256;
  std::chrono::milliseconds http_pool_idle_timeout{4'000};

  // External workers.
  std::chrono::milliseconds poll_wait_default{10'000};  // POST /tasks/poll without waitMs
  std::chrono::milliseconds poll_wait_max{15'000};      // larger waitMs are clamped
  std::uint32_t max_pollers_per_queue = 1'000;          // more parked polls -> 429
  std::uint64_t max_leases_per_queue = 10'000;          // tasks handed out and not yet finished
  std::chrono::milliseconds heartbeat_timeout{30'000};  // lease without heartbeat -> failed
  std::uint64_t max_result_bytes = 1ULL << 20;          // complete/fail body -> else 413
  std::uint64_t remembered_tokens = 10'000;             // finished tokens kept to answer duplicates

  static task_settings read(core::settings_reader& r);
};

}  // namespace wfe::workflow
