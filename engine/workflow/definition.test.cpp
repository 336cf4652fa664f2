#include "engine/workflow/definition.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

using namespace wfe::workflow;

namespace {

validated<workflow_definition> parse(std::string_view body) {
  static const std::vector<std::string> tasks{"noop", "sleep", "fail", "http", "charge"};
  return parse_definition(body, tasks);
}

std::string error_field(std::string_view body) {
  auto r = parse(body);
  REQUIRE_FALSE(r);
  return r.error().field;
}

std::string error_message(std::string_view body) {
  auto r = parse(body);
  REQUIRE_FALSE(r);
  return r.error().message;
}

}  // namespace

TEST_CASE("the design's example definition parses with every field") {
  auto r = parse(R"({"name":"order","steps":[
     {"name":"a","task":"noop"},
     {"name":"b","task":"sleep","input":{"ms":100},"dependsOn":["a"],
      "retry":{"maxAttempts":3,"initialIntervalMs":100,"backoffCoefficient":2.0,
               "maxIntervalMs":1000,"nonRetryable":["bad-card"]},
      "timeoutMs":5000}]})");
  REQUIRE(r);
  CHECK(r->name == "order");
  CHECK(r->version == 0);
  REQUIRE(r->steps.size() == 2);
  CHECK(r->steps[0].retry.max_attempts == 1);
  CHECK(r->steps[0].input->is_null());
  const auto& b = r->steps[1];
  CHECK(b.task == "sleep");
  CHECK(b.input->at("ms").as_int64() == 100);
  CHECK(b.depends_on == std::vector<std::string>{"a"});
  CHECK(b.retry.max_attempts == 3);
  CHECK(b.retry.initial_interval_ms == 100);
  CHECK(b.retry.backoff_coefficient == 2.0);
  CHECK(b.retry.max_interval_ms == 1000);
  CHECK(b.retry.non_retryable == std::vector<std::string>{"bad-card"});
  CHECK(b.timeout_ms == 5000);
}

TEST_CASE("a definition survives encode and decode with its version") {
  auto r = parse(R"({"name":"order","steps":[{"name":"a","task":"charge","input":[1,"x"],
     "retry":{"maxAttempts":5,"backoffCoefficient":1.5,"nonRetryable":["E"]},"timeoutMs":7}]})");
  REQUIRE(r);
  r->version = 4;
  auto back = decode_definition(encode_definition(*r));
  REQUIRE(back);
  CHECK(*back == *r);
  CHECK(back->version == 4);
}

TEST_CASE("a stored definition without a version does not decode") {
  auto back = decode_definition(R"({"name":"x","steps":[{"name":"a","task":"noop"}]})");
  REQUIRE_FALSE(back);
  CHECK(back.error().field == "version");
}

TEST_CASE("a stored definition decodes even if its task type is no longer registered") {
  auto back = decode_definition(R"({"name":"x","version":2,"steps":[{"name":"a","task":"gone"}]})");
  REQUIRE(back);
  CHECK(back->steps[0].task == "gone");
}

TEST_CASE("ids are 1 to 256 bytes of letters, digits and ._:-") {
  CHECK(is_valid_id("wf-1.a_b:c"));
  CHECK(is_valid_id(std::string(256, 'a')));
  CHECK_FALSE(is_valid_id(std::string(257, 'a')));
  CHECK_FALSE(is_valid_id(""));
  CHECK_FALSE(is_valid_id("a b"));
  CHECK_FALSE(is_valid_id("a/b"));
  CHECK_FALSE(is_valid_id("caf\xc3\xa9"));
}

TEST_CASE("bad ids are rejected naming the field") {
  CHECK(error_field(R"({"name":"bad name","steps":[{"name":"a","task":"noop"}]})") == "name");
  CHECK(error_field(R"({"name":"","steps":[{"name":"a","task":"noop"}]})") == "name");
  CHECK(error_field(
            R"({"name":"ok","steps":[{"name":"a","task":"noop"},{"name":"b/c","task":"noop"}]})") ==
        "steps[1].name");
  CHECK(error_field(R"({"name":"ok","steps":[{"task":"noop"}]})") == "steps[0].name");
}

TEST_CASE("malformed bodies are rejected without a crash") {
  CHECK(error_message("{").find("malformed JSON") != std::string::npos);
  CHECK(error_message("[]") == "the definition must be a JSON object");
  CHECK(error_field(R"({"name":"x"})") == "steps");
  CHECK(error_field(R"({"name":"x","steps":[]})") == "steps");
  CHECK(error_field(R"({"name":"x","steps":[3]})") == "steps[0]");
  CHECK(error_field(R"({"name":"x","steps":[{"name":"a"}]})") == "steps[0].task");
  CHECK(error_field(R"({"name":"x","steps":[{"name":"a","task":"noop","dependsOn":"b"}]})") ==
        "steps[0].dependsOn");
  CHECK(error_field(R"({"name":"x","steps":[{"name":"a","task":"noop","dependsOn":[1]}]})") ==
        "steps[0].dependsOn[0]");
  CHECK(error_field(R"({"name":"x","steps":[{"name":"a","task":"noop","retry":1}]})") ==
        "steps[0].retry");
  std::string deep(100, '[');
  CHECK(error_message(deep).find("malformed JSON") != std::string::npos);
}

TEST_CASE("an unknown task type is rejected naming the step") {
  auto r = parse(
      R"({"name":"x","steps":[{"name":"a","task":"noop"},{"name":"pay","task":"teleport"}]})");
  REQUIRE_FALSE(r);
  CHECK(r.error().field == "steps[1].task");
  CHECK(r.error().message == "step 'pay': unknown task type 'teleport'");
}

TEST_CASE("a step input its task could never run with is refused naming the step") {
  static const std::vector<std::string> tasks{"noop", "sleep"};
  std::vector<std::string> asked;
  const task_input_check check = [&](std::string_view task, const boost::json::value& input) {
    asked.emplace_back(task);
    if (task == "sleep" && !input.is_object()) return std::optional<std::string>("sleep: no");
    return std::optional<std::string>();
  };
  auto r = parse_definition(
      R"({"name":"x","steps":[{"name":"a","task":"noop"},{"name":"nap","task":"sleep","input":5}]})",
      tasks, check);
  REQUIRE_FALSE(r);
  CHECK(r.error().field == "steps[1].input");
  CHECK(r.error().message == "step 'nap': sleep: no");
  CHECK(asked == std::vector<std::string>{"noop", "sleep"});
  CHECK(parse_definition(R"({"name":"x","steps":[{"name":"nap","task":"sleep","input":{"ms":1}}]})",
                         tasks, check));
  // Without a check (a stored definition, or a caller with none) the input is not looked at.
  CHECK(
      parse_definition(R"({"name":"x","steps":[{"name":"nap","task":"sleep","input":5}]})", tasks));
}

TEST_CASE("a task queue:<name> is an external task type, its name must be a valid id") {
  auto ok = parse(R"({"name":"x","steps":[{"name":"a","task":"queue:billing.v2"}]})");
  REQUIRE(ok);
  CHECK(ok->steps[0].task == "queue:billing.v2");
  auto empty = parse(R"({"name":"x","steps":[{"name":"a","task":"queue:"}]})");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().field == "steps[0].task");
  CHECK(empty.error().message.find("step 'a': external task queue") == 0);
  auto bad = parse(R"({"name":"x","steps":[{"name":"a","task":"queue:has space"}]})");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().field == "steps[0].task");
}

TEST_CASE("an unknown dependency is rejected naming the step and the dependency") {
  auto r = parse(R"({"name":"x","steps":[{"name":"a","task":"noop","dependsOn":["zz"]}]})");
  REQUIRE_FALSE(r);
  CHECK(r.error().field == "steps[0].dependsOn[0]");
  CHECK(r.error().message == "step 'a' depends on unknown step 'zz'");
}

TEST_CASE("a dependency listed twice is rejected") {
  CHECK(error_field(R"({"name":"x","steps":[{"name":"a","task":"noop"},
      {"name":"b","task":"noop","dependsOn":["a","a"]}]})") == "steps[1].dependsOn[1]");
}

TEST_CASE("duplicate step names are rejected naming the second one") {
  auto r = parse(R"({"name":"x","steps":[{"name":"a","task":"noop"},{"name":"a","task":"noop"}]})");
  REQUIRE_FALSE(r);
  CHECK(r.error().field == "steps[1].name");
  CHECK(r.error().message == "duplicate step name 'a'");
}

TEST_CASE("a dependency cycle is rejected naming the cycle") {
  SUBCASE("three steps") {
    auto r = parse(R"({"name":"x","steps":[{"name":"a","task":"noop","dependsOn":["c"]},
        {"name":"b","task":"noop","dependsOn":["a"]},{"name":"c","task":"noop","dependsOn":["b"]}]})");
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "step 'b' is in a dependency cycle: a -> c -> b -> a");
    CHECK(r.error().field == "steps[1].dependsOn");
  }
  SUBCASE("a step depending on itself") {
    auto r = parse(R"({"name":"x","steps":[{"name":"a","task":"noop","dependsOn":["a"]}]})");
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "step 'a' is in a dependency cycle: a -> a");
  }
  SUBCASE("a cycle behind an acyclic prefix") {
    auto r = parse(R"({"name":"x","steps":[{"name":"root","task":"noop"},
        {"name":"p","task":"noop","dependsOn":["root","q"]},{"name":"q","task":"noop","dependsOn":["p"]}]})");
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("p -> q -> p") != std::string::npos);
  }
}

TEST_CASE("a long chain of steps is accepted without deep recursion") {
  std::string body = R"({"name":"chain","steps":[{"name":"s0","task":"noop"})";
  for (int i = 1; i < 1000; ++i) {
    body += R"(,{"name":"s)" + std::to_string(i) + R"(","task":"noop","dependsOn":["s)" +
            std::to_string(i - 1) + R"("]})";
  }
  body += "]}";
  auto r = parse(body);
  REQUIRE(r);
  CHECK(r->steps.size() == 1000);
}

TEST_CASE("more steps than the bound are rejected") {
  std::string body = R"({"name":"big","steps":[)";
  for (int i = 0; i < 1001; ++i) {
    body +=
        (i ? "," : "") + std::string(R"({"name":"s)") + std::to_string(i) + R"(","task":"noop"})";
  }
  body += "]}";
  auto r = parse(body);
  REQUIRE_FALSE(r);
  CHECK(r.error().field == "steps");
  CHECK(r.error().message == "more than 1000 steps");
}

TEST_CASE("an oversize step input is rejected naming the step") {
  std::string body = R"({"name":"x","steps":[{"name":"big","task":"noop","input":")" +
                     std::string(70'000, 'x') + R"("}]})";
  auto r = parse(body);
  REQUIRE_FALSE(r);
  CHECK(r.error().field == "steps[0].input");
  CHECK(r.error().message.find("step 'big'") == 0);
}

TEST_CASE("bad retry and timeout numbers are rejected naming the field and the step") {
  auto field_of = [](std::string retry_or_timeout) {
    return error_field(
        R"({"name":"x","steps":[{"name":"a","task":"noop"},{"name":"b","task":"noop",)" +
        retry_or_timeout + "}]}");
  };
  CHECK(field_of(R"("retry":{"maxAttempts":0})") == "steps[1].retry.maxAttempts");
  CHECK(field_of(R"("retry":{"maxAttempts":-1})") == "steps[1].retry.maxAttempts");
  CHECK(field_of(R"("retry":{"maxAttempts":1.5})") == "steps[1].retry.maxAttempts");
  CHECK(field_of(R"("retry":{"maxAttempts":"3"})") == "steps[1].retry.maxAttempts");
  CHECK(field_of(R"("retry":{"maxAttempts":100000000})") == "steps[1].retry.maxAttempts");
  CHECK(field_of(R"("retry":{"initialIntervalMs":-5})") == "steps[1].retry.initialIntervalMs");
  CHECK(field_of(R"("retry":{"initialIntervalMs":0})") == "steps[1].retry.initialIntervalMs");
  CHECK(field_of(R"("retry":{"backoffCoefficient":0.5})") == "steps[1].retry.backoffCoefficient");
  CHECK(field_of(R"("retry":{"backoffCoefficient":1e300})") == "steps[1].retry.backoffCoefficient");
  CHECK(field_of(R"("retry":{"initialIntervalMs":500,"maxIntervalMs":100})") ==
        "steps[1].retry.maxIntervalMs");
  CHECK(field_of(R"("retry":{"nonRetryable":[1]})") == "steps[1].retry.nonRetryable[0]");
  CHECK(field_of(R"("timeoutMs":-1)") == "steps[1].timeoutMs");
  CHECK(field_of(R"("timeoutMs":99999999999999)") == "steps[1].timeoutMs");
  // A timeout may be as long as a timer step: ten years, not a millisecond more.
  CHECK(field_of(R"("timeoutMs":315360000001)") == "steps[1].timeoutMs");
  auto ten_years = parse(
      R"({"name":"x","steps":[{"name":"approve","task":"queue:people","timeoutMs":315360000000}]})");
  REQUIRE(ten_years);
  CHECK(ten_years->steps[0].timeout_ms == k_timer_ms_max);
  auto msg = error_message(
      R"({"name":"x","steps":[{"name":"pay","task":"noop","retry":{"maxAttempts":0}}]})");
  CHECK(msg == "step 'pay': maxAttempts must be between 1 and 10000, got 0");
}

TEST_CASE("a coefficient of exactly one and an integral coefficient are accepted") {
  auto r =
      parse(R"({"name":"x","steps":[{"name":"a","task":"noop","retry":{"backoffCoefficient":1}},
      {"name":"b","task":"noop","retry":{"backoffCoefficient":3,"maxAttempts":2.0}}]})");
  REQUIRE(r);
  CHECK(r->steps[0].retry.backoff_coefficient == 1.0);
  CHECK(r->steps[1].retry.backoff_coefficient == 3.0);
  CHECK(r->steps[1].retry.max_attempts == 2);
}

TEST_CASE("a step input is bounded by its serialized size: at the bound it parses, one byte over not") {
  // {"s":"xx…"} serializes to 8 bytes + the string.
  const auto body = [](std::size_t chars) {
    return R"({"name":"big","steps":[{"name":"a","task":"charge","input":{"s":")" +
           std::string(chars, 'x') + R"("}}]})";
  };
  auto ok = parse(body(k_step_input_bytes_max - 8));
  REQUIRE(ok);
  CHECK(ok->steps[0].input->at("s").as_string().size() == k_step_input_bytes_max - 8);
  CHECK(error_field(body(k_step_input_bytes_max - 7)) == "steps[0].input");
  CHECK(error_message(body(k_step_input_bytes_max - 7)).find("larger than 65536 bytes") !=
        std::string::npos);
}
