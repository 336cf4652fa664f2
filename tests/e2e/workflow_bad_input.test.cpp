// Bad input to the workflow API against the real binary (issue #4, item 9): each gets
// the right 4xx with {"error":{"code","message"}}, a rejected command persists nothing,
// and the node keeps serving.

#include <doctest/doctest.h>

#include "tests/support/node.hpp"
#include "tests/support/workflow_api.hpp"

using namespace wfe::test;
namespace json = boost::json;

namespace {

// The error message of a reply (after check_error).
std::string message_of(const http_reply& r) {
  auto v = json_of(r);
  if (!v.is_object() || !v.as_object().contains("error")) return {};
  return std::string(v.at("error").at("message").as_string());
}

void check_not_stored(const workflow_api& api, const std::string& id) {
  CAPTURE(id);
  CHECK(check_error(api.get("/api/v1/workflows/" + id), 404) == "workflow_not_found");
  for (const auto& w : api.list_all("/api/v1/workflows?limit=1000"))
    CHECK(w.at("id") != json::value(id));
}

}  // namespace

TEST_CASE("bad input gets a 4xx JSON error and persists nothing") {
  node n;
  REQUIRE_MESSAGE(n.wait_started(), n.proc().stdout_text());
  workflow_api api(n.http_port());
  api.define("d", R"([{"name":"a","task":"noop"}])");

  // Malformed JSON.
  for (const char* target : {"/api/v1/workflows", "/api/v1/workflow-definitions",
                             "/api/v1/tasks/poll", "/api/v1/workflows/x/cancel"}) {
    CAPTURE(target);
    auto r = api.post(target, std::string(R"({"id":"bad-json-1","definition":)"));
    CHECK(check_error(r, 400) == "invalid_json");
  }
  check_not_stored(api, "bad-json-1");

  // Wrong types: the message names the field.
  struct bad {
    std::string body;
    std::string field;
  };
  for (const auto& b : std::vector<bad>{
           {R"({"id":"wt-1","definition":5})", "definition"},
           {R"({"id":7,"definition":"d"})", "id"},
           {R"({"id":"wt-2","definition":"d","priority":"urgent"})", "priority"},
           {R"({"id":"wt-3","definition":"d","priority":1})", "priority"},
           {R"({"id":"wt-4"})", "definition"},
           {R"(["wt-5","d"])", "body"},
       }) {
    CAPTURE(b.body);
    auto r = api.post("/api/v1/workflows", b.body);
    check_error(r, 400);
    CHECK(message_of(r).find(b.field) != std::string::npos);
  }
  for (const auto* id : {"wt-1", "wt-2", "wt-3", "wt-4"}) check_not_stored(api, id);

  // Ids: 256 bytes is fine, 257 is a 400; invalid characters are a 400 naming the field.
  const std::string id256(256, 'a');
  CHECK(api.start(id256, "d").status == 201);
  auto long_id = api.start(std::string(257, 'b'), "d");
  check_error(long_id, 400);
  CHECK(message_of(long_id).find("id") != std::string::npos);
  for (const auto* id : {"has space", "slash/y", "ümlaut", "quote\"x", ""}) {
    CAPTURE(id);
    auto r =
        api.post("/api/v1/workflows", json::value(json::object{{"id", id}, {"definition", "d"}}));
    check_error(r, 400);
  }
  CHECK(check_error(api.get("/api/v1/workflows/a%20b"), 400) != "");
  CHECK(check_error(api.get("/api/v1/workflows/" + std::string(257, 'c')), 400) != "");
  CHECK(api.list_all("/api/v1/workflows?limit=1000").size() == 1);  // only id256

  // Definitions: invalid ones name the step, nothing is stored.
  auto cyclic = api.post("/api/v1/workflow-definitions", std::string(R"({"name":"cyc","steps":[
      {"name":"a","task":"noop","dependsOn":["b"]},{"name":"b","task":"noop","dependsOn":["a"]}]})"));
  check_error(cyclic, 400);
  CHECK(message_of(cyclic).find("a") != std::string::npos);
  auto unknown_task =
      api.post("/api/v1/workflow-definitions",
               std::string(R"({"name":"ut","steps":[{"name":"s1","task":"teleport"}]})"));
  check_error(unknown_task, 400);
  CHECK(message_of(unknown_task).find("s1") != std::string::npos);
  auto bad_retry = api.post("/api/v1/workflow-definitions", std::string(R"({"name":"br","steps":[
      {"name":"s2","task":"noop","retry":{"maxAttempts":0}}]})"));
  check_error(bad_retry, 400);
  CHECK(message_of(bad_retry).find("s2") != std::string::npos);
  check_error(api.post("/api/v1/workflow-definitions", std::string(R"({"name":"x","steps":5})")),
              400);
  check_error(api.post("/api/v1/workflow-definitions",
                       std::string(R"({"name":"bad name","steps":[{"name":"a","task":"noop"}]})")),
              400);
  // A built-in step's input its task could never run with (it would fail every attempt
  // with invalid_input): refused with the definition, naming the step and the field.
  for (const auto& [body, says] : std::vector<std::pair<std::string, std::string>>{
           {R"({"name":"bi1","steps":[{"name":"nap","task":"sleep","input":{"ms":-5}}]})",
            R"(step 'nap': sleep: "ms" must be a non-negative integer)"},
           {R"({"name":"bi2","steps":[{"name":"flaky","task":"fail"}]})",
            "step 'flaky': fail: input must be an object"},
           {R"({"name":"bi3","steps":[{"name":"a","task":"noop"},
               {"name":"call","task":"http","dependsOn":["a"],
                "input":{"url":"${steps.a.output.url}","method":"BREW"}}]})",
            R"(step 'call': http: unsupported "method" BREW)"}}) {
    CAPTURE(body);
    auto r = api.post("/api/v1/workflow-definitions", body);
    check_error(r, 400);
    CHECK(json_of(r).at("error").at("field").as_string().ends_with("].input"));
    CHECK(message_of(r).find(says) != std::string::npos);
  }
  for (const auto* name : {"cyc", "ut", "br", "x", "bi1", "bi2", "bi3"}) {
    CAPTURE(name);
    CHECK(check_error(api.get(std::string("/api/v1/workflow-definitions/") + name), 404) ==
          "definition_not_found");
  }

  // Oversize payloads: an input over the model's bound and a body over the HTTP limit.
  json::object huge{{"blob", std::string(300 * 1024, 'x')}};
  auto big_input = api.start("big-1", "d", huge);
  CHECK(big_input.status == 413);
  check_error(big_input, 413);
  check_not_stored(api, "big-1");
  auto over_limit = api.post("/api/v1/workflows", R"({"id":"big-2","definition":"d","input":")" +
                                                      std::string(9 * 1024 * 1024, 'y') + "\"}");
  check_error(over_limit, 413);
  check_not_stored(api, "big-2");
  // A definition over 1 MiB (it must fit one journal write with a start's input).
  auto big_def = api.post("/api/v1/workflow-definitions",
                          R"({"name":"huge","steps":[{"name":"a","task":"noop","input":{"x":")" +
                              std::string(2 * 1024 * 1024, 'z') + R"("}}]})");
  CHECK(check_error(big_def, 413) == "definition_too_large");
  CHECK(check_error(api.get("/api/v1/workflow-definitions/huge"), 404) == "definition_not_found");

  // Unknown things: 404 with a specific code.
  CHECK(check_error(api.start("nodef-1", "no-such-definition"), 404) == "definition_not_found");
  check_not_stored(api, "nodef-1");
  CHECK(check_error(api.get("/api/v1/workflow-definitions/nope"), 404) == "definition_not_found");
  CHECK(check_error(api.get("/api/v1/workflows/nope"), 404) == "workflow_not_found");
  CHECK(check_error(api.get("/api/v1/workflows/nope/history"), 404) == "workflow_not_found");
  CHECK(check_error(api.get("/api/v1/workflows/nope/history?from=5"), 404) == "workflow_not_found");
  auto past_end = api.get("/api/v1/workflows/" + id256 + "/history?from=100000");
  CHECK(past_end.status == 200);  // an existing workflow, read past its last event
  CHECK(json_of(past_end).at("events").as_array().empty());
  CHECK(check_error(api.post("/api/v1/workflows/nope/signals/s", std::string("{}")), 404) ==
        "workflow_not_found");
  CHECK(check_error(api.post("/api/v1/workflows/nope/cancel", std::string()), 404) ==
        "workflow_not_found");
  CHECK(check_error(api.post("/api/v1/dead-letters/nope/retry", std::string()), 404) ==
        "dead_letter_not_found");
  CHECK(check_error(
            api.post("/api/v1/tasks/0123456789abcdef0123456789abcdef/complete", std::string("{}")),
            404) == "task_not_found");
  check_not_stored(api, "nope");
  // A signal or cancel to an unknown id does not create it.
  CHECK(api.list_all("/api/v1/workflows?limit=1000").size() == 1);

  // Bad query parameters.
  check_error(api.get("/api/v1/workflows?status=BOGUS"), 400);
  check_error(api.get("/api/v1/workflows?limit=abc"), 400);
  // A listing's limit is refused with the same field and range below and above it (the
  // index's list-max-limit, 1000 by default).
  for (const auto* target : {"/api/v1/workflows", "/api/v1/dead-letters"}) {
    for (const auto* limit : {"0", "1001"}) {
      auto r = api.get(std::string(target) + "?limit=" + limit);
      CAPTURE(target);
      CAPTURE(limit);
      check_error(r, 400);
      CHECK(json_of(r).at("error").at("field") == "limit");
      CHECK(message_of(r).find("between 1 and 1000") != std::string::npos);
    }
    CHECK(api.get(std::string(target) + "?limit=1000").status == 200);
  }
  check_error(api.get("/api/v1/workflows?definition=bad%20name"), 400);
  check_error(api.get("/api/v1/dead-letters?limit=-1"), 400);
  check_error(api.get("/api/v1/workflows/" + id256 + "/history?limit=0"), 400);

  // Bad task requests.
  check_error(api.post("/api/v1/tasks/poll", std::string(R"({"workerId":"w"})")), 400);
  check_error(api.post("/api/v1/tasks/poll", std::string(R"({"queue":"q","waitMs":"soon"})")), 400);
  check_error(api.post("/api/v1/tasks/poll", std::string(R"({"queue":"bad queue"})")), 400);
  check_error(api.post("/api/v1/tasks/0123456789abcdef0123456789abcdef/fail",
                       std::string(R"({"error":5})")),
              400);

  // Wrong methods: 405 with an Allow header and the JSON error shape.
  struct call {
    const char* method;
    const char* target;
  };
  for (const auto& c : std::vector<call>{{"DELETE", "/api/v1/workflows"},
                                         {"PUT", "/api/v1/workflows/x"},
                                         {"PUT", "/api/v1/workflows/x"},
                                         {"GET", "/api/v1/tasks/poll"},
                                         {"GET", "/api/v1/dead-letters/x/retry"},
                                         {"PUT", "/api/v1/workflow-definitions"},
                                         {"GET", "/api/v1/workflows/x/cancel"},
                                         {"GET", "/api/v1/tasks/abc/complete"}}) {
    CAPTURE(c.method);
    CAPTURE(c.target);
    auto r = http_request(n.http_port(), c.method, c.target);
    check_error(r, 405);
    REQUIRE(r);
    CHECK(!r->headers["allow"].empty());
  }

  // Still serving, and only the one valid workflow exists.
  CHECK(api.get("/health").status == 200);
  CHECK(api.list_all("/api/v1/workflows?limit=1000").size() == 1);
  CHECK(api.wait_status(id256, "COMPLETED") == "COMPLETED");
}
