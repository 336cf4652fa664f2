#include "engine/workflow/workflow_model.hpp"

#include <string>

#include <doctest/doctest.h>
#include <boost/json.hpp>

using namespace wfe::workflow;
namespace json = boost::json;

namespace {

workflow_definition def_of(std::string_view body) {
  auto d = parse_definition(body, builtin_task_types());
  REQUIRE(d);
  d->version = 1;
  return *d;
}

const std::string k_linear = R"({"name":"lin","steps":[{"name":"a","task":"noop"},
    {"name":"b","task":"noop","dependsOn":["a"]},{"name":"c","task":"noop","dependsOn":["b"]}]})";
const std::string k_diamond = R"({"name":"dia","steps":[{"name":"a","task":"noop"},
    {"name":"b","task":"noop","dependsOn":["a"]},{"name":"c","task":"noop","dependsOn":["a"]},
    {"name":"d","task":"noop","dependsOn":["b","c"]}]})";
const std::string k_retrying = R"({"name":"r","steps":[{"name":"pay","task":"fail",
    "retry":{"maxAttempts":3,"initialIntervalMs":100,"backoffCoefficient":2.0,"maxIntervalMs":150,
             "nonRetryable":["card-declined"]},"timeoutMs":500}]})";

// A workflow under test: decides, checks acceptance, applies what was decided.
// Every test also folds the same events with apply_in_place and checks both agree.
struct harness {
  workflow_state state;
  workflow_state in_place;
  decide_options options;

  std::vector<event> run(const command& c, std::int64_t now) {
    auto d = decide(state, c, now, options);
    REQUIRE_MESSAGE(d, (d ? "" : d.error().message));
    for (const auto& e : *d) {
      state = apply(std::move(state), e);
      apply_in_place(in_place, e);
    }
    CHECK(in_place == state);
    return *d;
  }
  rejection refuse(const command& c, std::int64_t now) {
    auto d = decide(state, c, now, options);
    REQUIRE_FALSE(d);
    return d.error();
  }
  const step_state& step(std::string_view name) const {
    const auto* st = state.find_step(name);
    REQUIRE(st != nullptr);
    return *st;
  }
  void start(const std::string& body, std::int64_t now = 1000, std::int64_t timeout_ms = 0) {
    run(cmd::start{"wf-1", def_of(body), json::object{{"k", 1}}, "high", timeout_ms}, now);
  }
  void complete(const std::string& step, std::int64_t now) {
    run(cmd::task_started{step, this->step(step).attempts}, now);
    run(cmd::task_completed{step, this->step(step).attempts, json::string("out-" + step)}, now);
  }
};

template <class T>
const T& body_as(const event& e) {
  REQUIRE(std::holds_alternative<T>(e.body));
  return std::get<T>(e.body);
}

}  // namespace

TEST_CASE("starting a workflow records it and schedules the root steps only") {
  harness h;
  auto evs = h.run(cmd::start{"wf-1", def_of(k_diamond), json::object{{"k", 1}}, "high", 0}, 1000);
  REQUIRE(evs.size() == 2);
  CHECK(body_as<ev::workflow_started>(evs[0]).id == "wf-1");
  CHECK(body_as<ev::step_scheduled>(evs[1]) == ev::step_scheduled{"a", 1});
  CHECK(evs[1].at_ms == 1000);
  CHECK(h.state.status == workflow_status::running);
  CHECK(h.state.definition->version == 1);
  CHECK(h.state.priority == "high");
  CHECK(h.state.created_at_ms == 1000);
  CHECK(h.step("a").status == step_status::scheduled);
  CHECK(h.step("b").status == step_status::pending);
  CHECK(h.step("d").attempts == 0);
}

TEST_CASE("a linear workflow completes step by step") {
  harness h;
  h.start(k_linear);
  auto evs = h.run(cmd::task_completed{"a", 1, json::string("x")}, 1100);
  REQUIRE(evs.size() == 2);
  CHECK(body_as<ev::step_completed>(evs[0]).output == json::value("x"));
  CHECK(body_as<ev::step_scheduled>(evs[1]) == ev::step_scheduled{"b", 1});
  h.complete("b", 1200);
  CHECK(h.step("c").status == step_status::scheduled);
  evs = h.run(cmd::task_completed{"c", 1, json::value(nullptr)}, 1300);
  REQUIRE(evs.size() == 2);
  CHECK(std::holds_alternative<ev::workflow_completed>(evs[1].body));
  CHECK(h.state.status == workflow_status::completed);
  CHECK(h.state.updated_at_ms == 1300);
  CHECK(h.step("a").output == json::value("x"));
  CHECK(h.step("b").output == json::value("out-b"));
}

TEST_CASE("an input, an output and a signal payload are shared, never copied, from command to state") {
  // decide works on a copy of the state (later decisions in one command see earlier
  // events): that copy, the events and the applied state all hold the command's value.
  harness h;
  const cmd::start start{"wf-1", def_of(k_linear), json::object{{"k", json::array(500, 7)}}, "high", 0};
  const auto* input = &start.input.get();
  auto evs = h.run(start, 1000);
  CHECK(&body_as<ev::workflow_started>(evs[0]).input.get() == input);
  CHECK(&h.state.input.get() == input);
  CHECK(&h.in_place.input.get() == input);

  const cmd::task_completed done{"a", 1, json::object{{"rows", json::array(500, 9)}}};
  const auto* output = &done.output.get();
  evs = h.run(done, 1100);
  CHECK(&body_as<ev::step_completed>(evs[0]).output.get() == output);
  CHECK(&h.step("a").output.get() == output);
  CHECK(&h.in_place.find_step("a")->output.get() == output);

  const cmd::signal sig{"approve", json::object{{"by", "ann"}}};
  evs = h.run(sig, 1200);
  CHECK(&body_as<ev::signal_received>(evs[0]).payload.get() == &sig.payload.get());
  CHECK(&h.state.signals.back().payload.get() == &sig.payload.get());

  // Later commands leave what the state holds where it was.
  h.complete("b", 1300);
  CHECK(&h.state.input.get() == input);
  CHECK(&h.step("a").output.get() == output);
  CHECK(h.step("a").output == json::value(json::object{{"rows", json::array(500, 9)}}));
}

// The dispatcher holds a start report back (tasks.start-report-delay): StepStarted is
// dated when the attempt began, never before the workflow's last event nor after now,
// and the step's timeout counts from that time.
TEST_CASE("a start reported late is dated when the attempt began, within the history's order") {
  harness h;
  h.start(k_retrying, 1000);  // StepScheduled{pay, 1} at 1000; timeoutMs 500
  auto evs = h.run(cmd::task_started{"pay", 1, /*started_ago_ms=*/300}, 1500);
  REQUIRE(evs.size() == 1);
  CHECK(evs[0].at_ms == 1200);
  REQUIRE(h.state.timers.size() == 1);
  CHECK(h.state.timers[0].kind == timer_kind::step_timeout);
  CHECK(h.state.timers[0].due_ms == 1700);  // 500 ms after it began, not after the report
  // Started before the last event by the reporter's clock: dated at that event.
  harness early;
  early.start(k_retrying, 1000);
  evs = early.run(cmd::task_started{"pay", 1, 10'000}, 1500);
  CHECK(evs.at(0).at_ms == 1000);
  // A negative age (not sent by the dispatcher) is no age: dated now.
  harness late;
  late.start(k_retrying, 1000);
  evs = late.run(cmd::task_started{"pay", 1, -50}, 1500);
  CHECK(evs.at(0).at_ms == 1500);
  // Reported with its result: StepStarted dated at its start, the result at now.
  harness both;
  both.start(k_linear, 1000);
  evs = both.run(cmd::task_completed{"a", 1, json::string("x"), true, /*started_ago_ms=*/40}, 1100);
  REQUIRE(evs.size() == 3);
  CHECK(body_as<ev::step_started>(evs[0]) == ev::step_started{"a", 1});
  CHECK(evs[0].at_ms == 1060);
  CHECK(evs[1].at_ms == 1100);
  CHECK(evs[2].at_ms == 1100);
  CHECK(both.state.updated_at_ms == 1100);
  harness failed;
  failed.start(k_retrying, 1000);
  evs = failed.run(cmd::task_failed{"pay", 1, "fail", "boom", false, true, {}, 25}, 2000);
  CHECK(body_as<ev::step_started>(evs.at(0)) == ev::step_started{"pay", 1});
  CHECK(evs[0].at_ms == 1975);
  CHECK(evs.at(1).at_ms == 2000);
}

TEST_CASE("a result that also reports the start records StepStarted first, once") {
  harness h;
  h.start(k_linear);
  auto evs = h.run(cmd::task_completed{"a", 1, json::string("x"), /*started=*/true}, 1100);
  REQUIRE(evs.size() == 3);
  CHECK(body_as<ev::step_started>(evs[0]) == ev::step_started{"a", 1});
  CHECK(body_as<ev::step_completed>(evs[1]).output == json::value("x"));
  CHECK(body_as<ev::step_scheduled>(evs[2]) == ev::step_scheduled{"b", 1});
  // Already running (its start was reported on its own): no second StepStarted.
  h.run(cmd::task_started{"b", 1}, 1200);
  evs = h.run(cmd::task_completed{"b", 1, {}, /*started=*/true}, 1300);
  REQUIRE(evs.size() == 2);
  CHECK(std::holds_alternative<ev::step_completed>(evs[0].body));
  // A failure reporting its start: StepStarted, StepFailed, then the retry.
  harness r;
  r.start(k_retrying);
  evs = r.run(cmd::task_failed{"pay", 1, "fail", "boom", false, /*started=*/true}, 2000);
  REQUIRE(evs.size() >= 3);
  CHECK(body_as<ev::step_started>(evs[0]) == ev::step_started{"pay", 1});
  CHECK(std::holds_alternative<ev::step_failed>(evs[1].body));
  CHECK(std::holds_alternative<ev::step_retry_scheduled>(evs[2].body));
  // A stale answer reporting its start produces nothing at all.
  CHECK(r.run(cmd::task_completed{"pay", 1, {}, true}, 2100).empty());
}

TEST_CASE("a diamond schedules both branches and joins only when both completed") {
  harness h;
  h.start(k_diamond);
  auto evs = h.run(cmd::task_completed{"a", 1, {}}, 1100);
  REQUIRE(evs.size() == 3);
  CHECK(body_as<ev::step_scheduled>(evs[1]).step == "b");
  CHECK(body_as<ev::step_scheduled>(evs[2]).step == "c");
  evs = h.run(cmd::task_completed{"c", 1, {}}, 1200);
  CHECK(evs.size() == 1);  // d still waits for b
  CHECK(h.step("d").status == step_status::pending);
  evs = h.run(cmd::task_completed{"b", 1, {}}, 1300);
  REQUIRE(evs.size() == 2);
  CHECK(body_as<ev::step_scheduled>(evs[1]).step == "d");
  h.complete("d", 1400);
  CHECK(h.state.status == workflow_status::completed);
}

TEST_CASE("retry delays grow by the coefficient and are capped at the max interval") {
  retry_policy p{10, 100, 2.0, 1000, {}};
  CHECK(retry_delay_ms(p, 1) == 100);
  CHECK(retry_delay_ms(p, 2) == 200);
  CHECK(retry_delay_ms(p, 4) == 800);
  CHECK(retry_delay_ms(p, 5) == 1000);
  CHECK(retry_delay_ms(p, 9000) == 1000);
  retry_policy q{10, 100, 1.5, 10'000, {}};
  CHECK(retry_delay_ms(q, 3) == 225);
  CHECK(retry_delay_ms(q, 4) == 337);  // 337.5 floored
}

TEST_CASE(
    "a failed attempt schedules a retry timer at the backoff time, which reschedules the step") {
  harness h;
  h.start(k_retrying);
  h.run(cmd::task_started{"pay", 1}, 1010);
  CHECK(h.state.timers == std::vector<timer>{{1510, timer_kind::step_timeout, "pay", 1}});
  auto evs = h.run(cmd::task_failed{"pay", 1, "boom", "gateway down"}, 1020);
  REQUIRE(evs.size() == 2);
  CHECK(body_as<ev::step_failed>(evs[0]).message == "gateway down");
  CHECK(body_as<ev::step_retry_scheduled>(evs[1]) == ev::step_retry_scheduled{"pay", 2, 100, 1120});
  CHECK(h.step("pay").status == step_status::retry_wait);
  CHECK(h.state.timers == std::vector<timer>{{1120, timer_kind::retry, "pay", 2}});
  evs = h.run(cmd::timer_fired{timer_kind::retry, "pay", 2}, 1121);
  REQUIRE(evs.size() == 1);
  CHECK(body_as<ev::step_scheduled>(evs[0]) == ev::step_scheduled{"pay", 2});
  CHECK(h.state.timers.empty());
  h.run(cmd::task_failed{"pay", 2, "boom", "again"}, 1200);
  // Second delay 100*2 = 200, capped at maxIntervalMs 150.
  CHECK(h.state.timers == std::vector<timer>{{1350, timer_kind::retry, "pay", 3}});
}

TEST_CASE("a failure's details are kept in StepFailed and the step but oversize ones are dropped") {
  harness h;
  h.start(k_retrying);
  const json::value details = json::parse(R"({"status":422,"body":{"field":"amount"}})");
  auto evs = h.run(cmd::task_failed{"pay", 1, "http_4xx", "http: status 422", false, true,
                                    details},
                   1010);
  REQUIRE(evs.size() == 3);  // StepStarted (reported with the result), StepFailed, retry
  const auto& failed = body_as<ev::step_failed>(evs[1]);
  CHECK(*failed.details == details);
  CHECK(failed.message == "http: status 422");
  CHECK(*h.step("pay").error_details == details);
  h.run(cmd::timer_fired{timer_kind::retry, "pay", 2}, 1200);
  const json::value huge = json::string(k_payload_bytes_max + 1, 'x');
  evs = h.run(cmd::task_failed{"pay", 2, "boom", "again", false, true, huge}, 1300);
  REQUIRE(evs.size() == 3);
  const auto& cut = body_as<ev::step_failed>(evs[1]);
  CHECK(cut.details->is_null());  // the failure is kept, its details are not
  CHECK(cut.message.starts_with("again (its details were dropped"));
  CHECK(h.step("pay").error_details->is_null());
}

TEST_CASE("exhausted retries fail the workflow with the dead-letter information") {
  harness h;
  h.start(k_retrying);
  h.run(cmd::task_failed{"pay", 1, "boom", "e1"}, 1000);
  h.run(cmd::timer_fired{timer_kind::retry, "pay", 2}, 1100);
  h.run(cmd::task_failed{"pay", 2, "boom", "e2"}, 1200);
  h.run(cmd::timer_fired{timer_kind::retry, "pay", 3}, 1350);
  auto evs = h.run(cmd::task_failed{"pay", 3, "boom", "e3"}, 1400);
  REQUIRE(evs.size() == 2);
  CHECK(body_as<ev::workflow_failed>(evs[1]) == ev::workflow_failed{"pay", "boom: e3", 3});
  CHECK(h.state.status == workflow_status::failed);
  REQUIRE(h.state.failure);
  CHECK(*h.state.failure == dead_letter_info{"pay", "boom: e3", 3});
  CHECK(h.step("pay").status == step_status::failed);
  CHECK(h.state.timers.empty());
}

TEST_CASE("a non-retryable error fails the workflow on the first attempt") {
  harness h;
  h.start(k_retrying);
  auto evs = h.run(cmd::task_failed{"pay", 1, "card-declined", "no funds"}, 1000);
  REQUIRE(evs.size() == 2);
  CHECK(body_as<ev::workflow_failed>(evs[1]) ==
        ev::workflow_failed{"pay", "card-declined: no funds", 1});
}

TEST_CASE("a failure the task marks non-retryable fails the workflow despite retries left") {
  harness h;
  h.start(k_retrying);
  auto evs = h.run(cmd::task_failed{"pay", 1, "boom", "bad request", true}, 1000);
  REQUIRE(evs.size() == 2);
  CHECK(body_as<ev::workflow_failed>(evs[1]) == ev::workflow_failed{"pay", "boom: bad request", 1});
  CHECK(h.state.status == workflow_status::failed);
}

TEST_CASE("a step timeout retries the step, and fails the workflow once retries are exhausted") {
  harness h;
  h.start(k_retrying);
  h.run(cmd::task_started{"pay", 1}, 1000);
  auto evs = h.run(cmd::timer_fired{timer_kind::step_timeout, "pay", 1}, 1500);
  REQUIRE(evs.size() == 2);
  CHECK(body_as<ev::step_timed_out>(evs[0]) == ev::step_timed_out{"pay", 1});
  CHECK(body_as<ev::step_retry_scheduled>(evs[1]).due_ms == 1600);
  CHECK(h.step("pay").error_type == "timeout");
  CHECK(h.step("pay").error == "attempt 1 timed out after 500 ms");
  SUBCASE("the late answer of the timed-out attempt is ignored") {
    CHECK(h.run(cmd::task_completed{"pay", 1, {}}, 1550).empty());
    CHECK(h.step("pay").status == step_status::retry_wait);
  }
  SUBCASE("the last attempt timing out fails the workflow") {
    h.run(cmd::timer_fired{timer_kind::retry, "pay", 2}, 1600);
    h.run(cmd::task_started{"pay", 2}, 1600);
    h.run(cmd::timer_fired{timer_kind::step_timeout, "pay", 2}, 2100);
    h.run(cmd::timer_fired{timer_kind::retry, "pay", 3}, 2250);
    h.run(cmd::task_started{"pay", 3}, 2250);
    evs = h.run(cmd::timer_fired{timer_kind::step_timeout, "pay", 3}, 2750);
    REQUIRE(evs.size() == 2);
    CHECK(body_as<ev::workflow_failed>(evs[1]) ==
          ev::workflow_failed{"pay", "timeout: attempt 3 timed out after 500 ms", 3});
  }
}

TEST_CASE("a workflow timeout fails the workflow and clears its timers") {
  harness h;
  h.start(k_retrying, 1000, 60'000);
  CHECK(h.state.timers == std::vector<timer>{{61'000, timer_kind::workflow_timeout, "", 0}});
  auto evs = h.run(cmd::timer_fired{timer_kind::workflow_timeout, "", 0}, 61'000);
  REQUIRE(evs.size() == 1);
  CHECK(body_as<ev::workflow_failed>(evs[0]).error == "workflow timed out");
  CHECK(h.state.status == workflow_status::failed);
  CHECK(h.state.timers.empty());
  auto r = h.refuse(cmd::retry_from_dead_letter{}, 62'000);
  CHECK(r.code == rejection_code::invalid);
}

TEST_CASE("a timer that is no longer pending produces no events") {
  harness h;
  h.start(k_retrying);
  CHECK(h.run(cmd::timer_fired{timer_kind::retry, "pay", 2}, 1100).empty());
  CHECK(h.run(cmd::timer_fired{timer_kind::step_timeout, "pay", 1}, 1100).empty());
  CHECK(h.step("pay").status == step_status::scheduled);
}

TEST_CASE("cancelling a running workflow cancels its open steps and refuses later commands") {
  harness h;
  h.start(k_linear);
  h.complete("a", 1100);
  auto evs = h.run(cmd::cancel{"user asked"}, 1200);
  REQUIRE(evs.size() == 1);
  CHECK(body_as<ev::workflow_cancelled>(evs[0]).reason == "user asked");
  CHECK(h.state.status == workflow_status::cancelled);
  CHECK(h.step("a").status == step_status::completed);
  CHECK(h.step("b").status == step_status::cancelled);
  auto r = h.refuse(cmd::task_completed{"b", 1, {}}, 1300);
  CHECK(r.code == rejection_code::finished);
  CHECK(r.status == workflow_status::cancelled);
  CHECK(h.refuse(cmd::cancel{}, 1300).code == rejection_code::finished);
  CHECK(h.refuse(cmd::signal{"go", {}}, 1300).message == "workflow 'wf-1' is CANCELLED");
}

TEST_CASE("signals are recorded with their payload and time, bounded in number") {
  harness h;
  h.start(k_linear);
  auto evs = h.run(cmd::signal{"approve", json::object{{"by", "ann"}}}, 1500);
  REQUIRE(evs.size() == 1);
  REQUIRE(h.state.signals.size() == 1);
  CHECK(h.state.signals[0] == signal_record{"approve", json::object{{"by", "ann"}}, 1500});
  CHECK(h.refuse(cmd::signal{"bad name", {}}, 1600).code == rejection_code::invalid);
  for (std::size_t i = 1; i < k_signals_max; ++i) h.run(cmd::signal{"s", {}}, 1600);
  CHECK(h.refuse(cmd::signal{"s", {}}, 1700).code == rejection_code::limit);
}

TEST_CASE("duplicate and stale task answers produce no events") {
  harness h;
  h.start(k_linear);
  h.complete("a", 1100);
  CHECK(h.run(cmd::task_completed{"a", 1, json::string("again")}, 1200).empty());
  CHECK(h.step("a").output == json::value("out-a"));
  CHECK(h.run(cmd::task_failed{"a", 1, "x", "late"}, 1200).empty());
  CHECK(h.run(cmd::task_started{"b", 7}, 1200).empty());
  CHECK(h.run(cmd::task_completed{"c", 0, {}}, 1200).empty());  // not scheduled yet
  CHECK(h.refuse(cmd::task_completed{"zz", 1, {}}, 1200).code == rejection_code::invalid);
}

TEST_CASE("starting an existing workflow is refused with its current status") {
  harness h;
  h.start(k_linear);
  auto r = h.refuse(cmd::start{"wf-1", def_of(k_linear), {}, "normal", 0}, 2000);
  CHECK(r.code == rejection_code::already_exists);
  CHECK(r.status == workflow_status::running);
}

TEST_CASE("commands to a workflow that was never started are refused as not found") {
  harness h;
  CHECK(h.refuse(cmd::get{}, 1).code == rejection_code::not_found);
  CHECK(h.refuse(cmd::cancel{}, 1).code == rejection_code::not_found);
  CHECK(h.refuse(cmd::start{"bad id", def_of(k_linear), {}, "normal", 0}, 1).code ==
        rejection_code::invalid);
  CHECK(h.refuse(cmd::start{"wf-1", def_of(k_linear), {}, "urgent", 0}, 1).message ==
        "priority must be high, normal or low");
  CHECK(h.refuse(cmd::start{"wf-1", def_of(k_linear), {}, "low", -1}, 1).message ==
        "timeoutMs out of range");
  CHECK_FALSE(h.state.started);
}

TEST_CASE("get produces no events on running and finished workflows") {
  harness h;
  h.start(k_retrying);
  CHECK(h.run(cmd::get{}, 1).empty());
  h.run(cmd::task_failed{"pay", 1, "card-declined", ""}, 2);
  CHECK(h.run(cmd::get{}, 3).empty());
}

TEST_CASE("a retry from the dead letters resumes the step and continues counting attempts") {
  harness h;
  h.start(k_retrying);
  h.run(cmd::task_failed{"pay", 1, "card-declined", "x"}, 1000);
  REQUIRE(h.state.status == workflow_status::failed);
  CHECK(h.refuse(cmd::retry_from_dead_letter{"other"}, 2000).code == rejection_code::invalid);
  auto evs = h.run(cmd::retry_from_dead_letter{}, 2000);
  REQUIRE(evs.size() == 2);
  CHECK(body_as<ev::step_retried_from_dead_letter>(evs[0]).step == "pay");
  CHECK(body_as<ev::step_scheduled>(evs[1]) == ev::step_scheduled{"pay", 2});
  CHECK(h.state.status == workflow_status::running);
  CHECK_FALSE(h.state.failure);
  // A fresh budget of maxAttempts (3) for this run; the count goes on from 2.
  h.run(cmd::task_failed{"pay", 2, "boom", "x"}, 2100);
  h.run(cmd::timer_fired{timer_kind::retry, "pay", 3}, 2200);
  h.run(cmd::task_failed{"pay", 3, "boom", "x"}, 2300);
  h.run(cmd::timer_fired{timer_kind::retry, "pay", 4}, 2450);
  evs = h.run(cmd::task_failed{"pay", 4, "boom", "last"}, 2500);
  CHECK(body_as<ev::workflow_failed>(evs.back()) == ev::workflow_failed{"pay", "boom: last", 4});
  CHECK(h.step("pay").run_attempts == 3);
  h.run(cmd::retry_from_dead_letter{"pay"}, 3000);
  h.complete("pay", 3100);
  CHECK(h.step("pay").attempts == 5);
  CHECK(h.state.status == workflow_status::completed);
}

TEST_CASE("a retry from the dead letters also reschedules steps the failure interrupted") {
  harness h;
  h.start(R"({"name":"par","steps":[{"name":"x","task":"fail"},{"name":"y","task":"noop"}]})");
  h.run(cmd::task_started{"y", 1}, 1000);
  h.run(cmd::task_failed{"x", 1, "boom", "x"}, 1001);
  CHECK(h.step("y").status == step_status::pending);
  CHECK(h.refuse(cmd::task_completed{"y", 1, {}}, 1002).code == rejection_code::finished);
  auto evs = h.run(cmd::retry_from_dead_letter{}, 2000);
  REQUIRE(evs.size() == 3);
  CHECK(body_as<ev::step_scheduled>(evs[1]) == ev::step_scheduled{"x", 2});
  CHECK(body_as<ev::step_scheduled>(evs[2]) == ev::step_scheduled{"y", 2});
}

TEST_CASE("retrying a workflow that did not fail is refused with its status") {
  harness h;
  h.start(k_linear);
  auto r = h.refuse(cmd::retry_from_dead_letter{}, 1);
  CHECK(r.code == rejection_code::invalid);
  CHECK(r.status == workflow_status::running);
  h.run(cmd::cancel{}, 2);
  CHECK(h.refuse(cmd::retry_from_dead_letter{}, 3).code == rejection_code::finished);
}

TEST_CASE("oversize outputs and inputs are refused and change nothing") {
  harness h;
  h.start(k_linear);
  json::value big = json::string(std::string(k_payload_bytes_max + 1, 'x'));
  CHECK(h.refuse(cmd::task_completed{"a", 1, big}, 2).code == rejection_code::limit);
  CHECK(h.step("a").status == step_status::scheduled);
  harness h2;
  CHECK(h2.refuse(cmd::start{"wf-2", def_of(k_linear), big, "normal", 0}, 1).code ==
        rejection_code::limit);
  // The bound is on the serialized size: exactly k_payload_bytes_max passes (a string
  // serializes with its two quotes), one byte more does not, also when the value spans
  // many of the size count's chunks (an array of numbers).
  const json::value at_limit = json::string(std::string(k_payload_bytes_max - 2, 'x'));
  const json::value over_by_one = json::string(std::string(k_payload_bytes_max - 1, 'x'));
  CHECK(h.refuse(cmd::signal{"s", over_by_one}, 3).code == rejection_code::limit);
  CHECK(h.state.signals.empty());
  h.run(cmd::signal{"s", at_limit}, 4);
  CHECK(h.state.signals.size() == 1);
  json::array digits(k_payload_bytes_max / 2 - 1, 7);  // "[7,7,...,7]": 2n + 1 bytes
  CHECK(h.run(cmd::task_completed{"a", 1, digits}, 5).size() == 2);
  digits.push_back(7);
  harness h3;
  h3.start(k_linear);
  CHECK(h3.refuse(cmd::task_completed{"a", 1, digits}, 6).code == rejection_code::limit);
}

// -- decide_options::inline_noop -------------------------------------------------

namespace {

std::vector<std::string> types_of(const std::vector<event>& evs) {
  std::vector<std::string> out;
  for (const auto& e : evs) {
    out.emplace_back(std::visit(
        [](const auto& b) -> std::string {
          using T = std::decay_t<decltype(b)>;
          if constexpr (std::is_same_v<T, ev::step_scheduled>) return "scheduled " + b.step;
          if constexpr (std::is_same_v<T, ev::step_started>) return "started " + b.step;
          if constexpr (std::is_same_v<T, ev::step_completed>) return "completed " + b.step;
          if constexpr (std::is_same_v<T, ev::workflow_started>) return "workflow started";
          if constexpr (std::is_same_v<T, ev::workflow_completed>) return "workflow completed";
          return "other";
        },
        e.body));
  }
  return out;
}

}  // namespace

TEST_CASE("inline noop: a noop diamond completes in its start, in dependency order") {
  harness h;
  h.options.inline_noop = true;
  auto evs = h.run(cmd::start{"wf-1", def_of(k_diamond), json::object{}, "normal", 0}, 1000);
  CHECK(types_of(evs) ==
        std::vector<std::string>{"workflow started", "scheduled a", "started a", "completed a",
                                 "scheduled b", "scheduled c", "started b", "completed b",
                                 "started c", "completed c", "scheduled d", "started d",
                                 "completed d", "workflow completed"});
  CHECK(h.state.status == workflow_status::completed);
  for (const auto& st : h.state.steps) {
    CHECK(st.attempts == 1);
    CHECK(st.run_attempts == 1);
    CHECK(st.output == json::object{});
  }
  for (const auto& e : evs) CHECK(e.at_ms == 1000);
  CHECK(h.state.timers.empty());
}

TEST_CASE("inline noop: only noop steps run inline, those after a task in its completion") {
  harness h;
  h.options.inline_noop = true;
  // a (noop) -> pay (fail, dispatched) -> z (noop), with a workflow timeout.
  auto evs = h.run(cmd::start{"wf-1", def_of(R"({"name":"m","steps":[{"name":"a","task":"noop"},
      {"name":"pay","task":"fail","dependsOn":["a"]},{"name":"z","task":"noop","dependsOn":["pay"]}]})"),
                              json::object{}, "normal", 60'000},
                   1000);
  CHECK(types_of(evs) == std::vector<std::string>{"workflow started", "scheduled a", "started a",
                                                  "completed a", "scheduled pay"});
  CHECK(h.step("pay").status == step_status::scheduled);
  CHECK(h.step("z").status == step_status::pending);
  CHECK(h.state.timers.size() == 1);  // the workflow timeout stays
  evs = h.run(cmd::task_completed{"pay", 1, json::string("paid"), true}, 1200);
  CHECK(types_of(evs) ==
        std::vector<std::string>{"started pay", "completed pay", "scheduled z", "started z",
                                 "completed z", "workflow completed"});
  CHECK(h.state.status == workflow_status::completed);
  CHECK(h.state.timers.empty());
}

TEST_CASE("inline noop: a noop step scheduled by its retry timer runs at once") {
  // A noop attempt can fail only on the dispatcher (inline-noop off, or a workflow
  // recovered with a SCHEDULED noop step); its retry then runs inline.
  harness h;
  h.start(R"({"name":"n","steps":[{"name":"a","task":"noop",
      "retry":{"maxAttempts":2,"initialIntervalMs":100}}]})");
  h.run(cmd::task_failed{"a", 1, "boom", "lost", false, true}, 1100);
  REQUIRE(h.step("a").status == step_status::retry_wait);
  h.options.inline_noop = true;
  auto evs = h.run(cmd::timer_fired{timer_kind::retry, "a", 2}, 1200);
  CHECK(types_of(evs) == std::vector<std::string>{"scheduled a", "started a", "completed a",
                                                  "workflow completed"});
  CHECK(h.step("a").attempts == 2);
  CHECK(h.state.status == workflow_status::completed);
}

// A signal step: {"task":"signal","input":{"name":...}} waits for that signal.
const std::string k_approval = R"({"name":"appr","steps":[{"name":"prepare","task":"noop"},
    {"name":"approve","task":"signal","input":{"name":"approved"},"dependsOn":["prepare"],
     "timeoutMs":1000,"retry":{"maxAttempts":2,"initialIntervalMs":100}},
    {"name":"ship","task":"noop","dependsOn":["approve"]}]})";

TEST_CASE(
    "a signal step starts when scheduled and waits, its signal completes it with the payload") {
  harness h;
  h.start(k_approval);
  h.complete("prepare", 1100);
  CHECK(h.step("approve").status == step_status::running);  // started, nothing dispatched
  CHECK(h.step("approve").attempts == 1);
  CHECK(h.state.timers == std::vector<timer>{{2100, timer_kind::step_timeout, "approve", 1}});

  // Another signal is only recorded.
  auto other = h.run(cmd::signal{"rejected", json::object{{"by", "bob"}}}, 1200);
  REQUIRE(other.size() == 1);
  CHECK(h.step("approve").status == step_status::running);

  auto evs = h.run(cmd::signal{"approved", json::object{{"by", "ann"}}}, 1300);
  REQUIRE(evs.size() == 3);
  CHECK(body_as<ev::signal_received>(evs[0]).name == "approved");
  CHECK(body_as<ev::step_completed>(evs[1]) ==
        ev::step_completed{"approve", 1, json::object{{"by", "ann"}}});
  CHECK(body_as<ev::step_scheduled>(evs[2]) == ev::step_scheduled{"ship", 1});
  CHECK(h.step("approve").status == step_status::completed);
  CHECK(h.step("approve").output == json_ref(json::object{{"by", "ann"}}));
  CHECK(h.state.timers.empty());  // its timeout went with the attempt
  h.complete("ship", 1400);
  CHECK(h.state.status == workflow_status::completed);
  // A finished workflow takes no more signals.
  CHECK(h.refuse(cmd::signal{"approved", {}}, 1500).code == rejection_code::finished);
}

TEST_CASE("a signal received before its step is scheduled completes the step when it is") {
  harness h;  // without inline noop: prepare waits for its task
  h.start(k_approval);
  h.run(cmd::signal{"approved", json::string("first")}, 1050);
  h.run(cmd::signal{"approved", json::string("second")}, 1060);
  CHECK(h.step("approve").status == step_status::pending);
  // prepare completes: approve is scheduled, started and completed with the first
  // signal's payload in the same decision, and ship is scheduled.
  h.run(cmd::task_started{"prepare", 1}, 1100);
  auto evs = h.run(cmd::task_completed{"prepare", 1, {}}, 1100);
  REQUIRE(evs.size() == 5);
  CHECK(body_as<ev::step_scheduled>(evs[1]) == ev::step_scheduled{"approve", 1});
  CHECK(body_as<ev::step_started>(evs[2]) == ev::step_started{"approve", 1});
  CHECK(body_as<ev::step_completed>(evs[3]) ==
        ev::step_completed{"approve", 1, json::string("first")});
  CHECK(body_as<ev::step_scheduled>(evs[4]) == ev::step_scheduled{"ship", 1});
}

TEST_CASE("a signal step that waits too long retries, then fails into the dead letters") {
  harness h;
  h.options.inline_noop = true;
  h.start(k_approval);  // inline noop: prepare completes in the start
  REQUIRE(h.step("approve").status == step_status::running);
  auto evs = h.run(cmd::timer_fired{timer_kind::step_timeout, "approve", 1}, 2000);
  REQUIRE(evs.size() == 2);
  CHECK(body_as<ev::step_timed_out>(evs[0]) == ev::step_timed_out{"approve", 1});
  CHECK(h.step("approve").status == step_status::retry_wait);
  SUBCASE("a signal while it waits for its retry completes it when the retry comes") {
    h.run(cmd::signal{"approved", json::string("late")}, 2050);
    CHECK(h.step("approve").status == step_status::retry_wait);
    evs = h.run(cmd::timer_fired{timer_kind::retry, "approve", 2}, 2100);
    // approve: scheduled, started, completed; ship (inline noop) the same; the workflow.
    REQUIRE(evs.size() == 7);
    CHECK(body_as<ev::step_completed>(evs[2]) ==
          ev::step_completed{"approve", 2, json::string("late")});
    CHECK(h.state.status == workflow_status::completed);  // ship is an inline noop
  }
  SUBCASE(
      "no signal: the last attempt fails the workflow; a retry from the dead letter waits again") {
    h.run(cmd::timer_fired{timer_kind::retry, "approve", 2}, 2100);
    CHECK(h.step("approve").status == step_status::running);
    evs = h.run(cmd::timer_fired{timer_kind::step_timeout, "approve", 2}, 3100);
    CHECK(body_as<ev::workflow_failed>(evs.back()).step == "approve");
    CHECK(h.state.status == workflow_status::failed);
    h.run(cmd::retry_from_dead_letter{}, 4000);
    CHECK(h.step("approve").status == step_status::running);
    h.run(cmd::signal{"approved", {}}, 4100);
    CHECK(h.state.status == workflow_status::completed);
  }
}

TEST_CASE("a signal step must name its signal") {
  for (const char* input :
       {"", R"(,"input":{})", R"(,"input":{"name":""})", R"(,"input":{"name":"a b"})",
        R"(,"input":{"name":7})", R"(,"input":"approved")"}) {
    INFO(input);
    auto d = parse_definition(
        std::string(R"({"name":"x","steps":[{"name":"s","task":"signal")") + input + "}]}",
        builtin_task_types());
    REQUIRE_FALSE(d);
    CHECK(d.error().field == "steps[0].input.name");
  }
  // Known without being in the list of task types (like queue:<name>).
  CHECK(parse_definition(
      R"({"name":"x","steps":[{"name":"s","task":"signal","input":{"name":"go"}}]})",
      std::vector<std::string>{"noop"}));
}

// A timer step: {"task":"timer","input":{"ms":N}} waits N ms on a durable timer.
const std::string k_reminder = R"({"name":"rem","steps":[{"name":"order","task":"noop"},
    {"name":"wait","task":"timer","input":{"ms":5000},"dependsOn":["order"]},
    {"name":"remind","task":"noop","dependsOn":["wait"]}]})";

TEST_CASE(
    "a timer step starts when scheduled, waits on a durable timer, and its firing completes it") {
  harness h;
  h.start(k_reminder);
  h.complete("order", 1100);
  CHECK(h.step("wait").status == step_status::running);  // started, nothing dispatched
  CHECK(h.state.timers == std::vector<timer>{{6100, timer_kind::delay, "wait", 1}});
  // Another attempt's timer, or another kind, is not this wait.
  CHECK(h.run(cmd::timer_fired{timer_kind::delay, "wait", 2}, 6100).empty());
  CHECK(h.run(cmd::timer_fired{timer_kind::step_timeout, "wait", 1}, 6100).empty());
}

TEST_CASE("a timer step's firing completes it with {} and schedules what depends on it") {
  harness h;
  h.start(k_reminder);
  h.complete("order", 1100);
  auto evs = h.run(cmd::timer_fired{timer_kind::delay, "wait", 1}, 6100);
  REQUIRE(evs.size() == 2);
  CHECK(body_as<ev::step_completed>(evs[0]) == ev::step_completed{"wait", 1, json::object{}});
  CHECK(body_as<ev::step_scheduled>(evs[1]) == ev::step_scheduled{"remind", 1});
  CHECK(h.state.timers.empty());
  CHECK(h.run(cmd::timer_fired{timer_kind::delay, "wait", 1}, 6200).empty());  // fired twice
  h.complete("remind", 6300);
  CHECK(h.state.status == workflow_status::completed);
}

TEST_CASE("a timer step of 0 ms completes in the decision that schedules it") {
  harness h;
  h.options.inline_noop = true;
  h.start(R"({"name":"z","steps":[{"name":"wait","task":"timer","input":{"ms":0}},
      {"name":"after","task":"noop","dependsOn":["wait"]}]})");
  CHECK(h.state.status == workflow_status::completed);
  CHECK(h.state.timers.empty());
}

TEST_CASE(
    "a timer step's wait counts from its start, and goes with a timeout, a cancel or a failure") {
  const std::string bounded = R"({"name":"b","steps":[{"name":"wait","task":"timer",
      "input":{"ms":5000},"timeoutMs":1000,"retry":{"maxAttempts":2,"initialIntervalMs":100}}]})";
  harness h;
  h.start(bounded, 1000);
  CHECK(h.state.timers == std::vector<timer>{{2000, timer_kind::step_timeout, "wait", 1},
                                             {6000, timer_kind::delay, "wait", 1}});
  SUBCASE("a timeout shorter than the wait times the attempt out; the retry waits again") {
    h.run(cmd::timer_fired{timer_kind::step_timeout, "wait", 1}, 2000);
    CHECK(h.step("wait").status == step_status::retry_wait);
    CHECK(h.state.timers == std::vector<timer>{{2100, timer_kind::retry, "wait", 2}});
    CHECK(h.run(cmd::timer_fired{timer_kind::delay, "wait", 1}, 6000).empty());
    h.run(cmd::timer_fired{timer_kind::retry, "wait", 2}, 2100);
    CHECK(h.state.timers == std::vector<timer>{{3100, timer_kind::step_timeout, "wait", 2},
                                               {7100, timer_kind::delay, "wait", 2}});
    h.run(cmd::timer_fired{timer_kind::step_timeout, "wait", 2}, 3100);
    CHECK(h.state.status == workflow_status::failed);
    CHECK(h.state.timers.empty());
  }
  SUBCASE("a cancel clears the wait") {
    h.run(cmd::cancel{"no longer"}, 1500);
    CHECK(h.state.timers.empty());
    CHECK(h.step("wait").status == step_status::cancelled);
  }
}

TEST_CASE("a timer step must say how long it waits") {
  for (const char* input :
       {"", R"(,"input":{})", R"(,"input":{"ms":-1})", R"(,"input":{"ms":315360000001})",
        R"(,"input":{"ms":1.5})", R"(,"input":{"ms":"10"})", R"(,"input":1000)",
        R"(,"input":{"ms":18446744073709551615})", R"(,"input":{"ms":5,"until":"x"})",
        R"(,"input":{"until":"tomorrow"})", R"(,"input":{"until":"2026-12-24 09:00:00Z"})",
        R"(,"input":{"until":"2026-13-24T09:00:00Z"})", R"(,"input":{"until":1700000000})",
        R"(,"input":{"ms":"${nope}"})", R"(,"input":{"until":"${steps.other.output.at}"})"}) {
    INFO(input);
    auto d = parse_definition(
        std::string(R"({"name":"x","steps":[{"name":"t","task":"timer")") + input + "}]}",
        builtin_task_types());
    REQUIRE_FALSE(d);
    CHECK(d.error().field == "steps[0].input");
    CHECK(d.error().message.find("step 't'") != std::string::npos);
  }
  for (const char* input :
       {R"({"ms":315360000000})", R"({"ms":2592000001})", R"({"ms":0})",
        R"({"until":"2026-12-24T09:00:00Z"})", R"({"until":"2026-12-24T09:00:00.250+01:00"})",
        R"({"ms":"${workflow.input.wait}"})", R"({"until":"${workflow.input.at}"})"}) {
    INFO(input);
    CHECK(parse_definition(
        std::string(R"({"name":"x","steps":[{"name":"t","task":"timer","input":)") + input + "}]}",
        std::vector<std::string>{"noop"}));
  }
}

TEST_CASE("RFC 3339 times parse to ms since the epoch, offsets included") {
  CHECK(parse_rfc3339_ms("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_rfc3339_ms("1970-01-01T00:01:01.5Z") == 61'500);
  CHECK(parse_rfc3339_ms("2026-12-24T09:00:00Z") == 1'798'102'800'000);
  CHECK(parse_rfc3339_ms("2026-12-24T10:00:00+01:00") == 1'798'102'800'000);
  CHECK(parse_rfc3339_ms("2026-12-24T08:30:00.125-00:30") == 1'798'102'800'125);
  CHECK(parse_rfc3339_ms("2024-02-29T00:00:00Z") == 1'709'164'800'000);  // a leap day
  for (const char* bad : {"", "2026-12-24", "2026-12-24T09:00:00", "2026-12-24T09:00:00+0100",
                          "2026-12-24T09:00:00Zjunk", "2026-00-24T09:00:00Z",
                          "2026-12-24T24:00:00Z", "abcd-12-24T09:00:00Z"}) {
    INFO(bad);
    CHECK_FALSE(parse_rfc3339_ms(bad));
  }
}

TEST_CASE("a timer step waits until a time, or for a wait the workflow's data names") {
  const std::string from_data = R"({"name":"d","steps":[{"name":"plan","task":"noop"},
      {"name":"wait","task":"timer","input":{"until":"${steps.plan.output.at}"},
       "dependsOn":["plan"]},
      {"name":"pause","task":"timer","input":{"ms":"${workflow.input.pause}"},"dependsOn":["wait"]}]})";
  harness h;
  h.run(cmd::start{"wf-1", def_of(from_data), json::object{{"pause", 250}}, "normal", 0}, 1000);
  h.run(cmd::task_started{"plan", 1}, 1000);
  SUBCASE("a future time: its timer is due then, and the wait after it counts from its end") {
    // 1970-01-01T00:00:05Z = 5000 ms.
    h.run(cmd::task_completed{"plan", 1, json::object{{"at", "1970-01-01T00:00:05Z"}}}, 1100);
    CHECK(h.state.timers == std::vector<timer>{{5000, timer_kind::delay, "wait", 1}});
    h.run(cmd::timer_fired{timer_kind::delay, "wait", 1}, 5003);
    CHECK(h.state.timers == std::vector<timer>{{5253, timer_kind::delay, "pause", 1}});
    h.run(cmd::timer_fired{timer_kind::delay, "pause", 1}, 5253);
    CHECK(h.state.status == workflow_status::completed);
  }
  SUBCASE("a past time completes the step at once") {
    auto evs =
        h.run(cmd::task_completed{"plan", 1, json::object{{"at", "1970-01-01T00:00:00Z"}}}, 1100);
    CHECK(h.step("wait").status == step_status::completed);
    CHECK(h.state.timers == std::vector<timer>{{1350, timer_kind::delay, "pause", 1}});
  }
  SUBCASE("a value that names no time fails the workflow into the dead letters, naming it") {
    auto evs = h.run(cmd::task_completed{"plan", 1, json::object{{"at", "soon"}}}, 1100);
    const auto& failed = body_as<ev::step_failed>(evs.at(evs.size() - 2));
    CHECK(failed.step == "wait");
    CHECK(failed.error_type == "invalid_input");
    CHECK(failed.message == R"(timer until must be an RFC 3339 time, got "soon")");
    CHECK(h.state.status == workflow_status::failed);
    CHECK(h.state.timers.empty());
  }
  SUBCASE("a time years ahead waits for it") {
    // 1979-12-29T00:00:00Z = 315273600000 ms: nearly ten years (3650 days) after the start.
    h.run(cmd::task_completed{"plan", 1, json::object{{"at", "1979-12-29T00:00:00Z"}}}, 1100);
    CHECK(h.state.timers == std::vector<timer>{{315'273'600'000, timer_kind::delay, "wait", 1}});
    CHECK(h.state.status == workflow_status::running);
  }
  SUBCASE("beyond ten years fails naming the bound") {
    h.run(cmd::task_completed{"plan", 1, json::object{{"at", "1980-01-02T00:00:00Z"}}}, 1100);
    CHECK(h.state.status == workflow_status::failed);
    CHECK(h.step("wait").error.find("more than 10 years") != std::string::npos);
  }
  SUBCASE("a missing value likewise") {
    h.run(cmd::task_completed{"plan", 1, json::object{}}, 1100);
    CHECK(h.state.status == workflow_status::failed);
    CHECK(h.step("wait").error.find("${steps.plan.output.at} names nothing") != std::string::npos);
  }
}
