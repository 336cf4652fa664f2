#include "engine/workflow/tasks/task_settings.hpp"

#include <filesystem>
#include <string>
#include <system_error>

#include "engine/core/settings_reader.hpp"

namespace wfe::workflow {

task_settings task_settings::read(core::settings_reader& r) {
  using std::chrono::milliseconds;
  constexpr std::string_view k_wait_max = "pekko.workflow.tasks.poll.max-wait";
  constexpr std::string_view k_timeout_max = "pekko.workflow.tasks.http.max-timeout";
  constexpr std::string_view k_client_cert = "pekko.workflow.tasks.http.client-cert-file";
  constexpr std::string_view k_client_key = "pekko.workflow.tasks.http.client-key-file";
  task_settings s;
  s.max_workers = static_cast<std::uint32_t>(r.integer("pekko.workflow.max-workers", 1, 4096));
  s.max_queued =
      static_cast<std::uint64_t>(r.integer("pekko.workflow.tasks.max-queued", 1, 10'000'000));
  s.max_queues =
      static_cast<std::uint32_t>(r.integer("pekko.workflow.tasks.max-queues", 1, 1'000'000));
  s.max_parked =
      static_cast<std::uint64_t>(r.integer("pekko.workflow.tasks.max-parked", 0, 100'000'000));
  s.max_parked_total = static_cast<std::uint64_t>(
      r.integer("pekko.workflow.tasks.max-parked-total", 0, 1'000'000'000));
  s.parked_wake_timeout = r.duration("pekko.workflow.tasks.parked-wake-timeout", milliseconds(10),
                                     std::chrono::hours(1));
  s.start_report_delay = r.duration("pekko.workflow.tasks.start-report-delay", milliseconds(0),
                                    std::chrono::seconds(10));
  s.sleep_max =
      r.duration("pekko.workflow.tasks.sleep-max", milliseconds(1), std::chrono::days(30));
  s.http_timeout_default =
      r.duration("pekko.workflow.tasks.http.timeout", milliseconds(1), std::chrono::hours(1));
  s.http_timeout_max = r.duration(k_timeout_max, milliseconds(1), std::chrono::hours(1));
  s.http_max_response_bytes =
      r.bytes("pekko.workflow.tasks.http.max-response-size", 1, 64ULL << 20);
  s.http_max_failure_body_bytes =
      r.bytes("pekko.workflow.tasks.http.max-failure-body-size", 0, 256ULL << 10);
  s.http_ca_file = r.string("pekko.workflow.tasks.http.ca-file");
  s.http_client_cert_file = r.string(k_client_cert);
  s.http_client_key_file = r.string(k_client_key);
  s.http_max_request_headers_bytes =
      r.bytes("pekko.workflow.tasks.http.max-request-headers-size", 1, 1ULL << 20);
  s.http_max_redirects =
      static_cast<std::uint32_t>(r.integer("pekko.workflow.tasks.http.max-redirects", 0, 20));
  s.http_pool_max_idle_per_host = static_cast<std::uint32_t>(
      r.integer("pekko.workflow.tasks.http.pool.max-idle-per-host", 0, 1'000));
  s.http_pool_max_idle = static_cast<std::uint32_t>(
      r.integer("pekko.workflow.tasks.http.pool.max-idle", 0, 100'000));
  s.http_pool_idle_timeout = r.duration("pekko.workflow.tasks.http.pool.idle-timeout",
                                        milliseconds(1), std::chrono::hours(1));
  s.poll_wait_default =
      r.duration("pekko.workflow.tasks.poll.default-wait", milliseconds(0), std::chrono::hours(1));
  s.poll_wait_max = r.duration(k_wait_max, milliseconds(0), std::chrono::hours(1));
  s.max_pollers_per_queue = static_cast<std::uint32_t>(
      r.integer("pekko.workflow.tasks.poll.max-pollers-per-queue", 1, 1'000'000));
  s.max_leases_per_queue = static_cast<std::uint64_t>(
      r.integer("pekko.workflow.tasks.max-leases-per-queue", 1, 10'000'000));
  s.heartbeat_timeout =
      r.duration("pekko.workflow.tasks.heartbeat-timeout", milliseconds(10), std::chrono::days(1));
  s.max_result_bytes = r.bytes("pekko.workflow.tasks.max-result-size", 64, 8ULL << 20);
  s.remembered_tokens = static_cast<std::uint64_t>(
      r.integer("pekko.workflow.tasks.remembered-tokens", 0, 10'000'000));
  if (!r.ok()) return s;
  if (s.http_timeout_default > s.http_timeout_max) {
    r.fail("pekko.workflow.tasks.http.timeout", "must not exceed " + std::string(k_timeout_max));
  }
  if (!s.http_ca_file.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(s.http_ca_file, ec)) {
      r.fail("pekko.workflow.tasks.http.ca-file", "no such file: " + s.http_ca_file);
    }
  }
  if (s.http_client_cert_file.empty() != s.http_client_key_file.empty()) {
    r.fail(s.http_client_cert_file.empty() ? k_client_cert : k_client_key,
           "must be set together with " +
               std::string(s.http_client_cert_file.empty() ? k_client_key : k_client_cert));
  }
  for (const auto& [key, file] : {std::pair{k_client_cert, &s.http_client_cert_file},
                                  std::pair{k_client_key, &s.http_client_key_file}}) {
    std::error_code ec;
    if (!file->empty() && !std::filesystem::is_regular_file(*file, ec)) {
      r.fail(key, "no such file: " + *file);
    }
  }
  if (s.poll_wait_default > s.poll_wait_max) {
    r.fail("pekko.workflow.tasks.poll.default-wait", "must not exceed " + std::string(k_wait_max));
  }
  // A parked poll must be answered (204) before the HTTP server gives up on it (503).
  auto request_timeout = r.cfg().get_duration("pekko.workflow.http.request-timeout");
  if (request_timeout && *request_timeout <= s.poll_wait_max) {
    r.fail(k_wait_max, "must be shorter than pekko.workflow.http.request-timeout");
  }
  return s;
}

}  // namespace wfe::workflow
