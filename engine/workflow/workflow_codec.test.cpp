#include "engine/workflow/workflow_codec.hpp"

#include <limits>
#include <set>
#include <string>
#include <tuple>

#include <doctest/doctest.h>
#include <boost/json.hpp>

#include "engine/workflow/history.hpp"

using namespace wfe::workflow;
namespace json = boost::json;

namespace {

workflow_definition retrying_def() {
  auto d = parse_definition(R"({"name":"order","steps":[{"name":"a","task":"noop"},
      {"name":"pay","task":"fail","input":{"times":2},"dependsOn":["a"],
       "retry":{"maxAttempts":2,"initialIntervalMs":100,"backoffCoefficient":2.0,"maxIntervalMs":1000},
       "timeoutMs":500}]})",
                            builtin_task_types());
  REQUIRE(d);
  d->version = 3;
  return *d;
}

workflow_definition waiting_def() {
  auto d = parse_definition(R"({"name":"waiting","steps":[{"name":"nap","task":"timer",
      "input":{"ms":60000}}]})",
                            builtin_task_types());
  REQUIRE(d);
  d->version = 1;
  return *d;
}

// The node's registered definitions, as the registry fills them.
const definition_catalog& catalog() {
  static const auto* c = [] {
    auto* out = new definition_catalog();  // NOLINT: lives as long as the test binary
    out->put(definition_ref(retrying_def()));
    out->put(definition_ref(waiting_def()));
    return out;
  }();
  return *c;
}

// Decides, checks each event survives encode/decode, applies the decoded events, and
// checks the state survives a snapshot round trip too.
struct recorder {
  workflow_state state;
  std::vector<recorded_event> journal;

  void run(const command& c, std::int64_t now) {
    auto d = decide(state, c, now);
    REQUIRE(d);
    for (const auto& e : *d) {
      auto back = decode_event(k_event_manifest, encode_event(e), &catalog());
      REQUIRE_MESSAGE(back, (back ? "" : back.error()));
      CHECK(*back == e);
      state = apply(std::move(state), *back);
      journal.push_back(recorded_event{journal.size() + 1, *back});
    }
    auto snap = decode_state(k_state_manifest, encode_state(state), catalog());
    REQUIRE_MESSAGE(snap, (snap ? "" : snap.error()));
    CHECK(*snap == state);
  }
};

void run_full_life(recorder& r) {
  r.run(cmd::start{"wf-7", retrying_def(), json::object{{"n", 1}}, "low", 60'000}, 1000);
  r.run(cmd::task_completed{"a", 1, json::object{{"ok", true}}}, 1100);
  r.run(cmd::task_started{"pay", 1}, 1200);
  r.run(cmd::signal{"approve", json::array{1, "two"}}, 1250);
  r.run(cmd::timer_fired{timer_kind::step_timeout, "pay", 1}, 1700);
  r.run(cmd::timer_fired{timer_kind::retry, "pay", 2}, 1800);
  r.run(cmd::task_failed{"pay", 2, "boom", "fail #2", false, false, json::object{{"code", 7}}},
        1900);
  r.run(cmd::retry_from_dead_letter{"pay"}, 5000);
  r.run(cmd::task_completed{"pay", 3, json::string("paid")}, 5100);
}

}  // namespace

TEST_CASE("every transition of a workflow's life survives encode and decode") {
  recorder r;
  run_full_life(r);
  CHECK(r.state.status == workflow_status::completed);
  CHECK(r.journal.size() == 15);
  // Replaying the decoded journal from scratch gives the same state.
  workflow_state replayed;
  for (const auto& e : r.journal) replayed = apply(std::move(replayed), e.e);
  CHECK(replayed == r.state);
}

TEST_CASE("the initial state and a failed state survive a snapshot round trip") {
  auto empty = decode_state(k_state_manifest, encode_state(workflow_state{}), catalog());
  REQUIRE(empty);
  CHECK_FALSE(empty->started);
  recorder r;
  r.run(cmd::start{"wf-8", retrying_def(), {}, "normal", 0}, 1);
  r.run(cmd::cancel{"stop"}, 2);
  CHECK(r.state.cancel_reason == "stop");
}

TEST_CASE("a timer step's wait survives a snapshot round trip and shows when it wakes") {
  recorder r;
  r.run(cmd::start{"wf-9", waiting_def(), {}, "normal", 0}, 1'000);
  REQUIRE(r.state.timers == std::vector<timer>{{61'000, timer_kind::delay, "nap", 1}});
  const auto shown = workflow_json(r.state).as_object().at("steps").as_array().at(0);
  CHECK(shown.at("status") == "RUNNING");
  CHECK(shown.at("wakesAt") == "1970-01-01T00:01:01.000Z");
  r.run(cmd::timer_fired{timer_kind::delay, "nap", 1}, 61'000);
  CHECK(r.state.status == workflow_status::completed);
  CHECK_FALSE(workflow_json(r.state).as_object().at("steps").as_array().at(0).as_object().contains(
      "wakesAt"));
}

TEST_CASE("damaged payloads do not decode and the error says why") {
  auto wrong_manifest = decode_event("other", "{}", &catalog());
  REQUIRE_FALSE(wrong_manifest);
  CHECK(wrong_manifest.error() == "unknown event manifest 'other'");
  auto not_json = decode_event(k_event_manifest, "{nope", &catalog());
  REQUIRE_FALSE(not_json);
  CHECK(not_json.error().find("not JSON") != std::string::npos);
  auto unknown =
      decode_event(k_event_manifest, R"({"type":"Teleported","at":1,"data":{}})", &catalog());
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error() == "unknown event type 'Teleported'");
  auto missing = decode_event(k_event_manifest,
                              R"({"type":"StepStarted","at":1,"data":{"step":"a"}})", &catalog());
  REQUIRE_FALSE(missing);
  CHECK(missing.error().find("cannot decode event") == 0);
  auto bad_state = decode_state(k_state_manifest, R"({"started":true,"id":"x"})", catalog());
  REQUIRE_FALSE(bad_state);
  CHECK(bad_state.error().find("cannot decode state") == 0);
  CHECK_FALSE(decode_state(k_event_manifest, "{}", catalog()));
}

TEST_CASE("history renders seq, type, time and data for every event") {
  recorder r;
  run_full_life(r);
  auto h = history_json(r.journal);
  const auto& events = h.at("events").as_array();
  REQUIRE(events.size() == 15);
  for (std::size_t i = 0; i < events.size(); ++i) CHECK(events[i].at("seq").as_uint64() == i + 1);
  CHECK(events[0].at("type").as_string() == "WorkflowStarted");
  CHECK(events[0].at("at").as_string() == "1970-01-01T00:00:01.000Z");
  CHECK(events[0].at("data").at("definition") == json::parse(R"({"name":"order","version":3})"));
  CHECK(events[1].at("type").as_string() == "StepScheduled");
  CHECK(events[1].at("data") == json::parse(R"({"step":"a","attempt":1})"));
  std::vector<std::string> types;
  for (const auto& e : events) types.emplace_back(e.at("type").as_string());
  CHECK(types == std::vector<std::string>{
                     "WorkflowStarted", "StepScheduled", "StepCompleted", "StepScheduled",
                     "StepStarted", "SignalReceived", "StepTimedOut", "StepRetryScheduled",
                     "StepScheduled", "StepFailed", "WorkflowFailed", "StepRetriedFromDeadLetter",
                     "StepScheduled", "StepCompleted", "WorkflowCompleted"});
  CHECK(events[7].at("data") ==
        json::parse(R"({"step":"pay","nextAttempt":2,"delayMs":100,"dueMs":1800})"));
  CHECK(events[10].at("data") ==
        json::parse(R"({"step":"pay","error":"boom: fail #2","attempts":2})"));
}

TEST_CASE("the workflow view has the API's field names and values") {
  recorder r;
  r.run(cmd::start{"wf-7", retrying_def(), json::object{{"n", 1}}, "low", 0}, 1'700'000'000'123);
  r.run(cmd::task_completed{"a", 1, json::string("done")}, 1'700'000'001'000);
  r.run(cmd::task_failed{"pay", 1, "boom", "no"}, 1'700'000'002'000);
  auto v = workflow_json(r.state);
  CHECK(v.at("id").as_string() == "wf-7");
  CHECK(v.at("definition").as_string() == "order");
  CHECK(v.at("version").as_uint64() == 3);
  CHECK(v.at("status").as_string() == "RUNNING");
  CHECK(v.at("createdAt").as_string() == "2023-11-14T22:13:20.123Z");
  CHECK(v.at("updatedAt").as_string() == "2023-11-14T22:13:22.000Z");
  const auto& steps = v.at("steps").as_array();
  REQUIRE(steps.size() == 2);
  CHECK(steps[0] ==
        json::parse(R"({"name":"a","status":"COMPLETED","attempts":1,"output":"done"})"));
  CHECK(steps[1].at("status").as_string() == "RETRY_WAIT");
  CHECK(steps[1].at("attempts").as_uint64() == 1);
  CHECK(steps[1].at("error").as_string() == "no");
  CHECK_FALSE(steps[1].as_object().contains("output"));
}

TEST_CASE("a failed workflow's view carries the dead-letter information") {
  recorder r;
  r.run(cmd::start{"wf-9", retrying_def(), {}, "normal", 0}, 0);
  r.run(cmd::task_completed{"a", 1, {}}, 1);
  r.run(cmd::task_failed{"pay", 1, "boom", "x"}, 2);
  r.run(cmd::timer_fired{timer_kind::retry, "pay", 2}, 102);
  r.run(cmd::task_failed{"pay", 2, "boom", "y"}, 103);
  auto v = workflow_json(r.state);
  CHECK(v.at("status").as_string() == "FAILED");
  CHECK(v.at("failure") == json::parse(R"({"step":"pay","error":"boom: y","attempts":2})"));
}

TEST_CASE("times format as RFC 3339 UTC with milliseconds") {
  CHECK(format_time_ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_time_ms(1'700'000'000'007) == "2023-11-14T22:13:20.007Z");
  CHECK(format_time_ms(-1) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("the direct event encoder writes exactly what boost::json writes, for every kind") {
  // Strings that need escapes (quotes, backslashes, control characters), UTF-8 and DEL,
  // negative and large numbers, nested and null JSON values.
  const std::string odd = "q\"b\\s\n\t\x01 \x7f \xc3\xa9 /";
  const json::value nested = json::parse(R"({"a":[1,-2.5,"x\"y",null,{"b":true}],"c":1e300})");
  const std::vector<event> events = {
      {1, ev::workflow_started{"wf-1", retrying_def(), nested, "high", 60'000}},
      {-5, ev::workflow_started{odd, retrying_def(), json::value(), odd, 0}},
      {1'700'000'000'007, ev::workflow_started{"wf-2", retrying_def(), json::object{}, "low", 1}},
      {std::numeric_limits<std::int64_t>::min(),
       ev::step_completed{"a", 1, json::object{{"", json::object{}}}}},
      {2, ev::step_scheduled{"a", 1}},
      {3, ev::step_started{odd, 4'000'000'000U}},
      {4, ev::step_completed{"a", 1, nested}},
      {5, ev::step_completed{"a", 2, json::value()}},
      {6, ev::step_failed{"pay", 2, odd, "fail #2"}},
      {6, ev::step_failed{"pay", 3, "http_4xx", "http: status 422", nested}},
      {7, ev::step_retry_scheduled{"pay", 3, 200, 9'223'372'036'854'775'807LL}},
      {8, ev::step_timed_out{"pay", 1}},
      {9, ev::signal_received{odd, json::array{1, "two"}}},
      {10, ev::workflow_completed{}},
      {11, ev::workflow_failed{"", odd, 0}},
      {12, ev::workflow_cancelled{odd}},
      {13, ev::step_retried_from_dead_letter{"pay"}},
  };
  std::set<std::size_t> kinds;
  for (const auto& e : events) {
    kinds.insert(e.body.index());
    CHECK(encode_event(e) == json::serialize(event_to_json(e)));
    auto back = decode_event(k_event_manifest, encode_event(e), &catalog());
    REQUIRE_MESSAGE(back, (back ? "" : back.error()));
    CHECK(*back == e);
  }
  CHECK(kinds.size() == std::variant_size_v<event_body>);  // every kind covered
}

TEST_CASE("a start's 201 body is what boost::json writes for the same object") {
  auto def = retrying_def();
  const std::string odd = "q\"b\\s\n\t\x01 \x7f \xc3\xa9 /";
  for (const auto& [id, name, priority] :
       {std::tuple<std::string, std::string, std::string>{"wf-1", "order", "normal"},
        {odd, odd, odd},
        {"", "", "low"}}) {
    def.name = name;
    for (auto status : {workflow_status::running, workflow_status::completed}) {
      def.version = status == workflow_status::running ? 1 : 4'000'000'000U;
      const json::object o{{"id", id},
                           {"status", to_string(status)},
                           {"definition", def.name},
                           {"version", def.version},
                           {"priority", priority}};
      CHECK(start_reply_json(id, status, def, priority) == json::serialize(o));
    }
  }
}

TEST_CASE("a definition's JSON is written right when cached, evicted and replaced") {
  // definition_json keeps the text of the last 8 definitions per thread: the same
  // definition twice, twelve others in between, and short-lived ones whose memory
  // may be reused by the next.
  const definition_ref shared = retrying_def();
  auto started = [](const definition_ref& d, std::string id) {
    return event{1, ev::workflow_started{std::move(id), d, json::value(), "normal", 0}};
  };
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 12; ++i) {
      auto def = retrying_def();
      def.name = "def-" + std::to_string(round) + "-" + std::to_string(i);
      def.version = static_cast<std::uint32_t>(i + 1);
      const auto e = started(definition_ref(std::move(def)), "wf-" + std::to_string(i));
      CHECK(encode_event(e) == json::serialize(event_to_json(e)));
    }
    const auto e = started(shared, "wf-shared");
    CHECK(encode_event(e) == json::serialize(event_to_json(e)));
    CHECK(encode_event(e) == json::serialize(event_to_json(e)));
  }
}

TEST_CASE("a journaled start names its definition: its size does not grow with the steps") {
  std::string steps = R"([{"name":"s0","task":"noop"})";
  for (int i = 1; i < 100; ++i) {
    steps += R"(,{"name":"s)" + std::to_string(i) + R"(","task":"noop","dependsOn":["s0"]})";
  }
  auto big = parse_definition(R"({"name":"big","steps":)" + steps + "]}", builtin_task_types());
  REQUIRE(big);
  big->version = 2;
  const event start{7, ev::workflow_started{"wf-big", *big, json::object{{"n", 1}}, "normal", 0}};
  const auto payload = encode_event(start);
  CHECK(payload.size() < 200);
  CHECK(json::parse(payload).at("data").at("definition") ==
        json::parse(R"({"name":"big","version":2})"));

  // Recovery resolves the name through the node's catalog...
  definition_catalog defs;
  defs.put(definition_ref(*big));
  auto back = decode_event(k_event_manifest, payload, &defs);
  REQUIRE_MESSAGE(back, (back ? "" : back.error()));
  CHECK(*back == start);
  CHECK(std::get<ev::workflow_started>(back->body).definition->steps.size() == 100);
  // ...and a definition it does not hold is an error naming it, never an empty workflow.
  definition_catalog other;
  auto missing = decode_event(k_event_manifest, payload, &other);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().find("definition 'big' version 2 is not in this node's definition "
                             "registry") != std::string::npos);
  // The same for a snapshot of the workflow.
  workflow_state s = apply(workflow_state{}, start);
  auto snap = encode_state(s);
  CHECK(snap.find("dependsOn") == std::string::npos);
  auto snap_back = decode_state(k_state_manifest, snap, defs);
  REQUIRE_MESSAGE(snap_back, (snap_back ? "" : snap_back.error()));
  CHECK(*snap_back == s);
  CHECK_FALSE(decode_state(k_state_manifest, snap, other));
  // The history decodes without the catalog: name and version only.
  auto names = decode_event(k_event_manifest, payload, nullptr);
  REQUIRE(names);
  const auto& def = std::get<ev::workflow_started>(names->body).definition;
  CHECK(def->name == "big");
  CHECK(def->version == 2);
  CHECK(def->steps.empty());
}

TEST_CASE("v1 payloads, which carry the whole definition, still decode without the catalog") {
  // What builds before v2 wrote: the definition inline in WorkflowStarted and snapshots.
  auto def = retrying_def();
  const event start{5, ev::workflow_started{"wf-old", def, json::object{}, "high", 0}};
  auto v1 = json::object{{"type", "WorkflowStarted"},
                         {"at", 5},
                         {"data", json::object{{"id", "wf-old"},
                                               {"definition", to_json(def)},
                                               {"input", json::object{}},
                                               {"priority", "high"},
                                               {"timeoutMs", 0}}}};
  definition_catalog empty;
  auto back = decode_event(k_event_manifest_v1, json::serialize(v1), &empty);
  REQUIRE_MESSAGE(back, (back ? "" : back.error()));
  CHECK(*back == start);
  CHECK(is_event_manifest(k_event_manifest_v1));
  CHECK(is_event_manifest(k_event_manifest));
  CHECK_FALSE(is_event_manifest("wf.event.v3.json"));
  // A v1 snapshot: the v2 state JSON with the definition inline.
  workflow_state s = apply(workflow_state{}, start);
  auto state = json::parse(encode_state(s));
  state.as_object()["definition"] = to_json(def);
  auto old = decode_state(k_state_manifest_v1, json::serialize(state), empty);
  REQUIRE_MESSAGE(old, (old ? "" : old.error()));
  CHECK(*old == s);
  // A v1 payload with only a reference is damaged, not resolved.
  CHECK_FALSE(decode_event(k_event_manifest_v1, encode_event(start), &catalog()));
}
