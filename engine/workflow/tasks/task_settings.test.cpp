#include "engine/workflow/tasks/task_settings.hpp"

#include <doctest/doctest.h>

#include "tests/support/load_settings.hpp"

using namespace wfe;
using namespace std::chrono_literals;

TEST_CASE("reference.conf task defaults are valid") {
  auto [s, errors] = wfe::test::read_settings<workflow::task_settings>("");
  CHECK(errors.empty());
  CHECK(s.max_workers == 8);
  CHECK(s.max_queued == 10'000);
  CHECK(s.heartbeat_timeout == 30s);
  CHECK(s.poll_wait_default == 10s);
  CHECK(s.poll_wait_max == 15s);
  CHECK(s.http_max_response_bytes == 1u << 20);
  CHECK(s.http_max_failure_body_bytes == 16 * 1024);
  CHECK(s.max_parked == 100'000);
  CHECK(s.max_parked_total == 300'000);
  CHECK(s.parked_wake_timeout == 5s);
  CHECK(s.start_report_delay == 20ms);
  CHECK(s.http_ca_file.empty());
  CHECK(s.http_client_cert_file.empty());
  CHECK(s.http_client_key_file.empty());
  CHECK(s.http_max_redirects == 5);
  CHECK(s.http_max_request_headers_bytes == 16 * 1024);
  CHECK(s.http_pool_max_idle_per_host == 8);
  CHECK(s.http_pool_max_idle == 256);
  CHECK(s.http_pool_idle_timeout == 4s);
}

TEST_CASE("http client certificate: cert and key together, both existing files") {
  const std::string dir = std::string(WFE_SOURCE_DIR) + "/tests/data/tls/";
  auto [alone, errors] = wfe::test::read_settings<workflow::task_settings>(
      "pekko.workflow.tasks.http.client-cert-file = \"" + dir + "client.pem\"\n");
  CHECK(errors.find("pekko.workflow.tasks.http.client-key-file") != std::string::npos);
  auto [missing, errors2] = wfe::test::read_settings<workflow::task_settings>(
      "pekko.workflow.tasks.http.client-cert-file = \"" + dir +
      "client.pem\"\n"
      "pekko.workflow.tasks.http.client-key-file = \"/nonexistent/client.key\"\n");
  CHECK(errors2.find("pekko.workflow.tasks.http.client-key-file") != std::string::npos);
  CHECK(errors2.find("/nonexistent/client.key") != std::string::npos);
  CHECK(errors2.find("client-cert-file") == std::string::npos);
  auto [ok, none] = wfe::test::read_settings<workflow::task_settings>(
      "pekko.workflow.tasks.http.client-cert-file = \"" + dir +
      "client.pem\"\n"
      "pekko.workflow.tasks.http.client-key-file = \"" +
      dir + "client.key\"\n");
  CHECK(none.empty());
  CHECK(ok.http_client_key_file == dir + "client.key");
}

TEST_CASE("http.ca-file must name an existing file") {
  auto [missing, errors] = wfe::test::read_settings<workflow::task_settings>(
      "pekko.workflow.tasks.http.ca-file = \"/nonexistent/ca.pem\"\n");
  CHECK(errors.find("pekko.workflow.tasks.http.ca-file") != std::string::npos);
  CHECK(errors.find("/nonexistent/ca.pem") != std::string::npos);
  auto [ok, none] = wfe::test::read_settings<workflow::task_settings>(
      "pekko.workflow.tasks.http.ca-file = \"" + std::string(WFE_SOURCE_DIR) +
      "/tests/data/tls/ca.pem\"\n");
  CHECK(none.empty());
  CHECK(ok.http_ca_file.find("tests/data/tls/ca.pem") != std::string::npos);
}

TEST_CASE("task settings are validated, every error named") {
  auto [s, errors] = wfe::test::read_settings<workflow::task_settings>(
      "pekko.workflow.max-workers = 0\n"
      "pekko.workflow.tasks.max-queued = -3\n"
      "pekko.workflow.tasks.max-parked = -1\n"
      "pekko.workflow.tasks.max-parked-total = -1\n"
      "pekko.workflow.tasks.parked-wake-timeout = 0ms\n"
      "pekko.workflow.tasks.start-report-delay = 11s\n"
      "pekko.workflow.tasks.http.max-redirects = 21\n"
      "pekko.workflow.tasks.http.max-request-headers-size = 2MiB\n"
      "pekko.workflow.tasks.http.pool.max-idle-per-host = -1\n"
      "pekko.workflow.tasks.http.pool.idle-timeout = 0ms\n");
  CHECK(errors.find("pekko.workflow.max-workers") != std::string::npos);
  CHECK(errors.find("pekko.workflow.tasks.max-queued") != std::string::npos);
  CHECK(errors.find("pekko.workflow.tasks.max-parked") != std::string::npos);
  CHECK(errors.find("pekko.workflow.tasks.max-parked-total") != std::string::npos);
  CHECK(errors.find("pekko.workflow.tasks.parked-wake-timeout") != std::string::npos);
  CHECK(errors.find("pekko.workflow.tasks.start-report-delay") != std::string::npos);
  CHECK(errors.find("pekko.workflow.tasks.http.max-redirects") != std::string::npos);
  CHECK(errors.find("pekko.workflow.tasks.http.max-request-headers-size") != std::string::npos);
  CHECK(errors.find("pekko.workflow.tasks.http.pool.max-idle-per-host") != std::string::npos);
  CHECK(errors.find("pekko.workflow.tasks.http.pool.idle-timeout") != std::string::npos);
}

TEST_CASE("defaults above maxima and a poll wait reaching the request timeout are refused") {
  auto [s, errors] = wfe::test::read_settings<workflow::task_settings>(
      "pekko.workflow.tasks.http.timeout = 2m\n"
      "pekko.workflow.tasks.poll.max-wait = 20s\n");
  CHECK(errors.find("pekko.workflow.tasks.http.timeout") != std::string::npos);
  CHECK(errors.find("pekko.workflow.tasks.poll.max-wait") != std::string::npos);
  CHECK(errors.find("request-timeout") != std::string::npos);
}
