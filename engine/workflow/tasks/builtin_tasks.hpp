#pragma once
// The built-in task types' input parsing and pure behaviour (DESIGN.md §8). The
// dispatcher executes them; these functions decide. Bad input fails the task with
// error_type "invalid_input" (k_invalid_input).
//
//   noop                       -> {}
//   sleep {"ms":N}             -> {} after N ms (0 <= N <= tasks.sleep-max)
//   fail  {"times":N}          -> attempts 1..N fail with error_type "fail", later ones {}
//   http  {"url","method"?,"body"?,"headers"?,"timeoutMs"?,"followRedirects"?,
//          "responseHeaders"?}
//         -> {"status":N,"body":JSON or string}
//         http:// or https://; method GET (default) POST PUT PATCH DELETE HEAD; body: a string
//         sent as text/plain, anything else serialized as application/json; timeoutMs
//         1..tasks.http.max-timeout (default tasks.http.timeout). 4xx -> "http_4xx",
//         5xx -> "http_5xx", refused/unreachable -> "http_error", deadline ->
//         "http_timeout", body over tasks.http.max-response-size -> "http_response_too_large";
//         redirects followed up to tasks.http.max-redirects (http_task.hpp).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "engine/core/expected.hpp"
#include "engine/workflow/tasks/task_handlers.hpp"
#include "engine/workflow/tasks/task_settings.hpp"

namespace wfe::workflow {

inline constexpr std::string_view k_invalid_input = "invalid_input";

enum class builtin_task : std::uint8_t { noop, sleep, fail, http };

// The built-in named `task`, if it is one.
[[nodiscard]] bool parse_builtin(std::string_view task, builtin_task& out);

template <class T>
using task_input = core::expected<T, task_result>;  // the parsed input or the failure

[[nodiscard]] task_input<std::chrono::milliseconds> parse_sleep_input(
    const boost::json::value& input, std::chrono::milliseconds max);

// `fail`'s input {"times":N}: N.
[[nodiscard]] task_input<std::int64_t> parse_fail_input(const boost::json::value& input);

// The whole `fail` task: its result for `attempt`.
[[nodiscard]] task_result run_fail(const boost::json::value& input, std::uint32_t attempt);

struct http_task_input {
  std::string url;  // as given (for messages)
  std::string host;
  bool tls = false;    // https://
  std::string port;    // "80" by default, "443" for https
  std::string target;  // path + query, at least "/"
  std::string method;  // upper case
  std::string body;
  std::string content_type;  // empty without body
  std::chrono::milliseconds timeout{0};
  bool follow_redirects = true;   // "followRedirects" (tasks.http.max-redirects bounds it)
  bool response_headers = false;  // "responseHeaders": the result carries the headers
  // "headers": sent as given (a "Content-Type" replaces the body's default); names are
  // tokens, values have no control characters but tab, reserved framing headers refused.
  std::vector<std::pair<std::string, std::string>> headers;
};

// Headers an `http` task may not set: the client frames the request itself.
[[nodiscard]] bool is_reserved_http_header(std::string_view name);

// Sets url, tls, host, port and target of `in` from an absolute http:// or https:// URL;
// the reason when it is not one (credentials in it are refused too); `in` is unchanged then.
[[nodiscard]] std::optional<std::string> set_http_url(http_task_input& in, std::string_view url);

[[nodiscard]] task_input<http_task_input> parse_http_input(const boost::json::value& input,
                                                           const task_settings& s);

// At registration (definition.hpp, task_input_check): why a built-in step's static input
// can never run — the invalid_input message every attempt would fail with — or nullopt
// (it can, or `task` is no built-in task). An `http` input's values that hold placeholders
// are left to the run, which checks them once resolved; the rest is checked as given.
[[nodiscard]] std::optional<std::string> check_builtin_input(std::string_view task,
                                                             const boost::json::value& input,
                                                             const task_settings& s);

// The task result for a complete response: 2xx/3xx completed, 4xx/5xx failed;
// {"status","body"}, and "headers" when given (input "responseHeaders": true). A failure
// is journaled with every attempt, so its body is kept only up to `max_failure_body`
// bytes (pekko.workflow.tasks.http.max-failure-body-size): a longer one becomes its first
// bytes as a string (cut at a UTF-8 boundary) with "bodyTruncated": true and "bodyBytes".
[[nodiscard]] task_result http_result(unsigned status, std::string_view body,
                                      std::optional<boost::json::object> headers = {},
                                      std::size_t max_failure_body = 16 * 1024);

}  // namespace wfe::workflow
