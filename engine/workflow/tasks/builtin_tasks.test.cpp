#include "engine/workflow/tasks/builtin_tasks.hpp"

#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <doctest/doctest.h>
#include <boost/json.hpp>

#include "engine/workflow/tasks/task_handlers.hpp"

using namespace wfe::workflow;
namespace json = boost::json;
using namespace std::chrono_literals;

TEST_CASE("sleep needs a non-negative integer ms within the bound") {
  CHECK(*parse_sleep_input(json::parse(R"({"ms":25})"), 1000ms) == 25ms);
  CHECK(*parse_sleep_input(json::parse(R"({"ms":0})"), 1000ms) == 0ms);
  for (auto bad : {R"({})", R"({"ms":-1})", R"({"ms":"5"})", R"({"ms":1.5})", R"([1])", "null",
                   R"({"ms":1001})"}) {
    auto r = parse_sleep_input(json::parse(bad), 1000ms);
    REQUIRE_FALSE(r);
    CHECK(r.error().error_type == "invalid_input");
    CHECK(r.error().message.find("sleep:") == 0);
  }
}

TEST_CASE("fail fails attempts 1..times with error type fail, then succeeds") {
  auto in = json::parse(R"({"times":2})");
  CHECK_FALSE(run_fail(in, 1).ok);
  CHECK(run_fail(in, 1).error_type == "fail");
  CHECK_FALSE(run_fail(in, 2).ok);
  CHECK(run_fail(in, 3).ok);
  CHECK(run_fail(json::parse(R"({"times":0})"), 1).ok);
  CHECK(run_fail(json::parse(R"({"times":"x"})"), 9).error_type == "invalid_input");
  CHECK(run_fail(json::parse(R"({})"), 9).error_type == "invalid_input");
  CHECK(run_fail(json::parse("7"), 9).error_type == "invalid_input");
}

TEST_CASE("http input: url, method, body and timeout are parsed and bounded") {
  task_settings s;
  s.http_timeout_default = 500ms;
  s.http_timeout_max = 2000ms;
  auto in = parse_http_input(
      json::parse(R"({"url":"http://127.0.0.1:8081/a/b?x=1","method":"post","body":{"k":1}})"), s);
  REQUIRE(in);
  CHECK(in->host == "127.0.0.1");
  CHECK(in->port == "8081");
  CHECK(in->target == "/a/b?x=1");
  CHECK(in->method == "POST");
  CHECK(in->body == R"({"k":1})");
  CHECK(in->content_type == "application/json");
  CHECK(in->timeout == 500ms);

  auto plain = parse_http_input(json::parse(R"({"url":"http://example.org","body":"hi",
                                                 "timeoutMs":2000})"),
                                s);
  REQUIRE(plain);
  CHECK(plain->port == "80");
  CHECK(plain->target == "/");
  CHECK(plain->method == "GET");
  CHECK(plain->body == "hi");
  CHECK(plain->timeout == 2000ms);

  CHECK_FALSE(plain->tls);
  auto https = parse_http_input(json::parse(R"({"url":"https://example.org/a?b=1"})"), s);
  REQUIRE(https);
  CHECK(https->tls);
  CHECK(https->host == "example.org");
  CHECK(https->port == "443");
  CHECK(https->target == "/a?b=1");
  auto https_port = parse_http_input(json::parse(R"({"url":"https://127.0.0.1:8443/"})"), s);
  REQUIRE(https_port);
  CHECK(https_port->port == "8443");

  for (auto bad :
       {R"({})", R"({"url":5})", R"({"url":"not a url"})", R"({"url":"ftp://x/"})",
        R"({"url":"http://x/","method":"TRACE"})", R"({"url":"http://x/","method":1})",
        R"({"url":"http://x/","timeoutMs":0})", R"({"url":"http://x/","timeoutMs":2001})",
        R"({"url":"http://x/","timeoutMs":"1"})", R"("http://x/")"}) {
    auto r = parse_http_input(json::parse(bad), s);
    CHECK_MESSAGE(!r, bad);
    if (!r) CHECK(r.error().error_type == "invalid_input");
  }
}

TEST_CASE("http result: 2xx completes with the parsed body, 4xx and 5xx fail") {
  auto ok = http_result(200, R"({"a":1})");
  REQUIRE(ok.ok);
  CHECK(ok.output == json::parse(R"({"status":200,"body":{"a":1}})"));
  CHECK(http_result(201, "plain text").output.at("body") == "plain text");
  CHECK(http_result(404, "").error_type == "http_4xx");
  CHECK(http_result(503, "").error_type == "http_5xx");
}

TEST_CASE("http result: a failure keeps at most max-failure-body-size of its body") {
  const std::string page = "<html>" + std::string(100, 'x') + "\xC3\xA9</html>";  // é at 106
  auto cut = http_result(500, page, {}, 107);  // 107 falls inside the two bytes of é
  REQUIRE_FALSE(cut.ok);
  CHECK(cut.output.at("body") == json::value(page.substr(0, 106)));
  CHECK(cut.output.at("bodyTruncated") == true);
  CHECK(cut.output.at("bodyBytes") == page.size());
  CHECK(cut.output.at("status") == 500);
  // Within the bound: kept whole (and parsed when JSON); a success is never cut.
  auto small = http_result(404, R"({"error":"no such order"})", {}, 64);
  CHECK(small.output.at("body").at("error") == "no such order");
  CHECK_FALSE(small.output.as_object().contains("bodyTruncated"));
  auto big_ok = http_result(200, page, {}, 10);
  REQUIRE(big_ok.ok);
  CHECK(big_ok.output.at("body") == json::value(page));
  auto json_cut = http_result(422, R"({"errors":[")" + std::string(200, 'e') + R"("]})", {}, 50);
  CHECK(json_cut.output.at("body").is_string());
  CHECK(json_cut.output.at("body").as_string().size() == 50);
}

TEST_CASE("handler registry: names are valid ids, not built-ins, not external, not twice") {
  task_handlers h;
  auto fn = [](const json::value&, const task_context&) { return task_result::success(); };
  CHECK(h.register_handler("charge", fn));
  CHECK(h.register_handler("audit.v2", fn));
  CHECK_FALSE(h.register_handler("charge", fn));
  CHECK_FALSE(h.register_handler("noop", fn));
  CHECK_FALSE(h.register_handler("signal", fn));  // a step that waits, built into the model
  CHECK_FALSE(h.register_handler("timer", fn));   // likewise
  CHECK_FALSE(h.register_handler("queue:x", fn));
  CHECK_FALSE(h.register_handler("has space", fn));
  CHECK_FALSE(h.register_handler("empty-fn", nullptr));
  CHECK(h.find("charge") != nullptr);
  CHECK(h.find("nope") == nullptr);
  CHECK(h.names() == std::vector<std::string>{"audit.v2", "charge"});
  CHECK(known_task_types(&h) == std::vector<std::string>{"noop", "sleep", "fail", "http", "signal",
                                                         "timer", "audit.v2", "charge"});
  CHECK(known_task_types(nullptr).size() == 6);
}

TEST_CASE("at registration, a built-in step's input that can never run is refused") {
  task_settings s;
  s.sleep_max = 1000ms;
  s.http_timeout_max = 2000ms;
  const auto check = [&](std::string_view task, const char* input) {
    return check_builtin_input(task, json::parse(input), s);
  };
  // What the tasks run with passes; so does anything for a task that is no built-in.
  for (auto [task, input] : std::vector<std::pair<const char*, const char*>>{
           {"noop", "null"},
           {"noop", "5"},
           {"sleep", R"({"ms":1000})"},
           {"fail", R"({"times":0})"},
           {"http", R"({"url":"https://example.org/x","method":"put","timeoutMs":2000,
                        "headers":{"X-A":"1"},"followRedirects":false})"},
           {"charge", R"({"ms":-1})"},
           {"queue:billing", "7"}}) {
    CAPTURE(task);
    CAPTURE(input);
    CHECK_FALSE(check(task, input));
  }
  // Every one of these fails each attempt with invalid_input: the same message, at once.
  for (auto [task, input, says] : std::vector<std::tuple<const char*, const char*, const char*>>{
           {"sleep", "null", "sleep: input must be an object"},
           {"sleep", R"({"ms":-5})", "sleep: \"ms\" must be a non-negative integer"},
           {"sleep", R"({"ms":"${workflow.input.ms}"})", "sleep: \"ms\" must be a non-negative"},
           {"sleep", R"({"ms":1001})", "sleep: \"ms\" must be at most 1000"},
           {"fail", R"({})", "fail: \"times\" is required"},
           {"fail", R"({"times":"x"})", "fail: \"times\" must be a non-negative integer"},
           {"http", R"({})", "http: \"url\" (a string) is required"},
           {"http", R"({"url":"ftp://x/"})", "http: \"url\" must start with http:// or https://"},
           {"http", R"({"url":"http://x/","method":"BREW"})", "http: unsupported \"method\" BREW"},
           {"http", R"({"url":"http://x/","timeoutMs":2001})", "\"timeoutMs\" must be between 1"},
           {"http", R"({"url":"http://x/","headers":{"Host":"${workflow.id}"}})",
            "header \"Host\" is set by the client itself"},
           {"http", R"({"url":"${workflow.input.url}","method":"BREW"})",
            "http: unsupported \"method\" BREW"}}) {
    CAPTURE(task);
    CAPTURE(input);
    const auto bad = check(task, input);
    REQUIRE(bad);
    CHECK(bad->find(says) != std::string::npos);
  }
  // An http value holding a placeholder is checked when resolved: its text is not known.
  for (const auto* input :
       {R"({"url":"${steps.a.output.url}"})", R"({"url":"http://x/${workflow.id}"})",
        R"({"url":"http://x/","method":"${workflow.input.m}","timeoutMs":"${workflow.input.t}",
            "followRedirects":"${workflow.input.f}","headers":{"X-Id":"${workflow.input}"}})",
        R"({"url":"http://x/","headers":"${workflow.input.headers}"})"}) {
    CAPTURE(input);
    CHECK_FALSE(check("http", input));
  }
}
