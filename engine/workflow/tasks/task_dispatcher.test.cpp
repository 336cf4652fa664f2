#include "engine/workflow/tasks/task_dispatcher.hpp"

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "engine/workflow/definition.hpp"
#include "engine/workflow/tasks/task_test_fixture.hpp"
#include "tests/support/cancellable_handler.hpp"

using namespace wfe::workflow;
using namespace wfe::workflow::test;
namespace json = boost::json;

TEST_CASE("noop: completed with {} at once, its start reported with the result") {
  task_fixture f;
  f.start({});
  f.submit("wf-1", "noop");
  auto c = f.next();
  CHECK(c.what == kind::completed);
  CHECK(c.workflow_id == "wf-1");
  CHECK(c.step == "s");
  CHECK(c.attempt == 1);
  CHECK(c.started);  // no separate `started`: one journal write for both
  CHECK(c.output == json::object{});
}

TEST_CASE("sleep: its start is reported before it finishes, not again with the result") {
  task_fixture f;
  task_settings s;
  s.start_report_delay = 0ms;  // at once
  f.start(s);
  f.submit("wf-1", "sleep", json::object{{"ms", 20}});
  auto st = f.next();
  CHECK(st.what == kind::started);
  CHECK(st.workflow_id == "wf-1");
  auto c = f.next();
  CHECK(c.what == kind::completed);
  CHECK_FALSE(c.started);
}

// tasks.start-report-delay: a task that ends within it reports its start with its result
// (one journal write); a longer one reports it after the delay, with how long ago it
// began, and not again with its result.
TEST_CASE(
    "a start is reported after start-report-delay, or with the result of a task that ends first") {
  task_fixture f;
  task_settings s;
  s.start_report_delay = 100ms;
  f.start(s);
  f.submit("wf-quick", "sleep", json::object{{"ms", 0}});
  auto q = f.next();
  CHECK(q.what == kind::completed);
  CHECK(q.workflow_id == "wf-quick");
  CHECK(q.started);
  CHECK(q.started_ago_ms >= 0);
  CHECK(q.started_ago_ms < 100);
  CHECK_FALSE(f.try_next(250ms));  // no late `started` for it

  const auto sent = std::chrono::steady_clock::now();
  f.submit("wf-slow", "sleep", json::object{{"ms", 600}});
  auto st = f.next();
  CHECK(st.what == kind::started);
  CHECK(st.workflow_id == "wf-slow");
  CHECK(std::chrono::steady_clock::now() - sent >= 100ms);  // held back
  CHECK(st.started_ago_ms >= 100);                          // dated when it began
  CHECK(st.started_ago_ms < 600);
  auto c = f.next();
  CHECK(c.what == kind::completed);
  CHECK_FALSE(c.started);

  // Abandoned before its start was reported: never reported.
  f.submit("wf-gone", "sleep", json::object{{"ms", 60'000}});
  caf::anon_send(f.dispatcher, task_abandon{"wf-gone", "s", 1});
  CHECK_FALSE(f.try_next(300ms));
  CHECK(eventually([&] { return f.load->running == 0; }));
}

// The entity's step timeout timer counts from StepStarted: a sleep cut at a timeout
// shorter than the delay must still report its start, or no timer would fail it.
TEST_CASE("a sleep cut at a step timeout shorter than start-report-delay reports its start then") {
  task_fixture f;
  task_settings s;
  s.start_report_delay = 5s;
  f.start(s);
  f.submit("wf-cut", "sleep", json::object{{"ms", 60'000}}, task_priority::normal, 1, 50);
  auto st = f.next();  // at the cut, long before the delay
  CHECK(st.what == kind::started);
  CHECK(st.workflow_id == "wf-cut");
  CHECK(st.started_ago_ms >= 50);
  CHECK_FALSE(f.try_next(200ms));  // and nothing else: the entity's timer fails it
}

TEST_CASE(
    "an external worker's lease reports its start after start-report-delay or with its answer") {
  task_fixture f;
  task_settings s;
  s.start_report_delay = 150ms;
  f.start(s);
  f.submit("wf-fast", "queue:jobs");
  auto a = f.poll("jobs");
  REQUIRE(a.what == poll_reply::status::task);
  CHECK(f.answer(task_complete_atom::value, a.token,
                 external_completion{json::object{{"ok", 1}}}) == token_reply::status::ok);
  auto done = f.next();
  CHECK(done.what == kind::completed);
  CHECK(done.workflow_id == "wf-fast");
  CHECK(done.started);
  CHECK_FALSE(f.try_next(300ms));

  f.submit("wf-held", "queue:jobs");
  auto b = f.poll("jobs");
  REQUIRE(b.what == poll_reply::status::task);
  auto st = f.next();
  CHECK(st.what == kind::started);
  CHECK(st.workflow_id == "wf-held");
  CHECK(st.started_ago_ms >= 150);
  CHECK(f.answer(task_fail_atom::value, b.token, external_failure{"no", "boom", false, {}}) ==
        token_reply::status::ok);
  auto failed = f.next();
  CHECK(failed.what == kind::failed);
  CHECK_FALSE(failed.started);
}

TEST_CASE("a sleep longer than its step timeout frees its worker slot at the timeout, unanswered") {
  // The entity's timer fails the attempt at the timeout; the sleep must not hold one of
  // max-workers slots for the rest of its 60 s (a backlog under retries).
  task_fixture f;
  task_settings s;
  s.max_workers = 1;
  f.start(s);
  f.submit("wf-long", "sleep", json::object{{"ms", 60'000}}, task_priority::normal, 1, 50);
  auto started = f.next();
  CHECK(started.what == kind::started);
  CHECK(started.workflow_id == "wf-long");
  f.submit("wf-next", "noop");  // waits for the only slot
  auto u = f.next();            // bounded by k_wait (10 s), far below the sleep
  CHECK(u.what == kind::completed);
  CHECK(u.workflow_id == "wf-next");  // nothing was sent for the cut sleep
  CHECK(eventually([&] { return f.load->running == 0; }));
  // A sleep shorter than its timeout completes as before.
  f.submit("wf-short", "sleep", json::object{{"ms", 1}}, task_priority::normal, 1, 10'000);
  auto r = f.next_result();
  CHECK(r.what == kind::completed);
  CHECK(r.workflow_id == "wf-short");
}

TEST_CASE("fail {times:2}: attempts 1 and 2 fail with error type fail, attempt 3 completes") {
  task_fixture f;
  f.start({});
  for (std::uint32_t attempt = 1; attempt <= 3; ++attempt) {
    f.submit("wf", "fail", json::parse(R"({"times":2})"), task_priority::normal, attempt);
    auto u = f.next_result();
    CHECK(u.attempt == attempt);
    if (attempt <= 2) {
      CHECK(u.what == kind::failed);
      CHECK(u.error_type == "fail");
    } else {
      CHECK(u.what == kind::completed);
    }
  }
}

TEST_CASE("sleep completes after its timer, bad input fails as invalid_input") {
  task_fixture f;
  f.start({});
  f.submit("wf-sleep", "sleep", json::parse(R"({"ms":30})"));
  auto u = f.next_result();
  CHECK(u.what == kind::completed);
  CHECK(u.workflow_id == "wf-sleep");
  f.submit("wf-bad", "sleep", json::parse(R"({"ms":"soon"})"));
  auto bad = f.next_result();
  CHECK(bad.what == kind::failed);
  CHECK(bad.error_type == "invalid_input");
}

TEST_CASE("an unknown task type fails at once without starting") {
  task_fixture f;
  f.start({});
  f.submit("wf", "teleport");
  auto u = f.next();
  CHECK(u.what == kind::failed);
  CHECK(u.error_type == "unknown_task");
  f.submit("wf", "queue:bad name");
  auto q = f.next();
  CHECK(q.what == kind::failed);
  CHECK(q.error_type == "invalid_input");
}

TEST_CASE("C++ handlers: output, context, failures and exceptions") {
  task_fixture f;
  f.handlers->register_handler("charge", [](const json::value& in, const task_context& ctx) {
    return task_result::success(json::object{
        {"amount", in.at("amount")}, {"attempt", ctx.attempt}, {"workflow", ctx.workflow_id}});
  });
  f.handlers->register_handler("decline", [](const json::value&, const task_context&) {
    return task_result::failure("card_declined", "no money");
  });
  f.handlers->register_handler("explode",
                               [](const json::value&, const task_context&) -> task_result {
                                 throw std::runtime_error("kaboom");
                               });
  f.start({});
  f.submit("wf-c", "charge", json::parse(R"({"amount":5})"), task_priority::high, 4);
  auto ok = f.next_result();
  CHECK(ok.what == kind::completed);
  CHECK(ok.output == json::parse(R"({"amount":5,"attempt":4,"workflow":"wf-c"})"));
  f.submit("wf-d", "decline");
  auto no = f.next_result();
  CHECK(no.what == kind::failed);
  CHECK(no.error_type == "card_declined");
  CHECK(no.message == "no money");
  f.submit("wf-e", "explode");
  auto ex = f.next_result();
  CHECK(ex.what == kind::failed);
  CHECK(ex.error_type == "handler_exception");
  CHECK(ex.message == "kaboom");
}

// A handler cannot be interrupted; before task_context::cancelled(), one that outlived
// its step's timeout held its worker slot to the end (retries of a stuck call took every
// worker).
TEST_CASE("a C++ handler that checks ctx.cancelled() gives its slot back after the step timeout") {
  task_fixture f;
  wfe::test::cancellable_handler long_one;
  f.handlers->register_handler("long", long_one.fn(json::object{{"late", true}}));
  f.handlers->register_handler("quick", [](const json::value&, const task_context& ctx) {
    return task_result::success(json::object{{"workflow", ctx.workflow_id}});
  });
  task_settings s;
  s.max_workers = 1;
  f.start(s);
  f.submit("wf-long", "long", {}, task_priority::normal, 1, 100);
  auto started = f.next();
  CHECK(started.what == kind::started);
  CHECK(started.workflow_id == "wf-long");
  f.submit("wf-quick", "quick");  // waits for the only worker
  auto u = f.next_result();
  // The long one's result is not sent: the entity's timer failed that attempt.
  CHECK(u.workflow_id == "wf-quick");
  CHECK(u.what == kind::completed);
  CHECK(*long_one.saw_cancel);
}

// The handlers' deadlines are checked by one pending message (arm_deadline_check): a
// short timeout that comes after a far one (ten years: nothing of it may wait in CAF's
// clock once its handler is done) is still cut on time, and the far one is not.
TEST_CASE("a handler's short step timeout is kept next to a handler waiting ten years") {
  task_fixture f;
  wfe::test::cancellable_handler far_one;
  wfe::test::cancellable_handler near_one;
  f.handlers->register_handler("far", far_one.fn());
  f.handlers->register_handler("near", near_one.fn());
  task_settings s;
  s.max_workers = 2;
  f.start(s);
  f.submit("wf-far", "far", {}, task_priority::normal, 1, wfe::workflow::k_timeout_ms_max);
  CHECK(f.next().what == kind::started);
  const auto submitted = std::chrono::steady_clock::now();
  f.submit("wf-near", "near", {}, task_priority::normal, 1, 100);
  CHECK(f.next().what == kind::started);
  REQUIRE(eventually([&] { return near_one.saw_cancel->load(); }));
  // The step timeout plus the 1 s grace, checked at most a second apart.
  CHECK(std::chrono::steady_clock::now() - submitted >= 1100ms);
  CHECK(far_one.running->load());
  CHECK_FALSE(far_one.saw_cancel->load());
  caf::anon_send(f.dispatcher, task_abandon{"wf-far", "s", 1});
  REQUIRE(eventually([&] { return far_one.saw_cancel->load(); }));
  CHECK_FALSE(f.try_next(100ms));  // neither result is sent: both attempts were given up
}

// The entity sends task_abandon when an attempt's answer is not wanted any more (its
// step timed out, its workflow was cancelled or failed). Before, a queued task still
// ran, a handler ran to its end and a sleep held its slot for its whole length.
TEST_CASE("task_abandon drops what waits, stops a handler and frees a sleep's slot") {
  task_fixture f;
  wfe::test::cancellable_handler long_one;
  f.handlers->register_handler("long", long_one.fn());
  f.handlers->register_handler(
      "quick", [](const json::value&, const task_context&) { return task_result::success(); });
  task_settings s;
  s.max_workers = 1;
  s.max_queued = 1;
  f.start(s);
  auto abandon = [&f](const std::string& id) {
    caf::anon_send(f.dispatcher, task_abandon{id, "s", 1});
  };
  f.submit("wf-h", "long");
  auto h = f.next();
  CHECK(h.what == kind::started);
  CHECK(h.workflow_id == "wf-h");
  f.submit("wf-q", "quick");  // queued behind the only worker
  f.submit("wf-e", "queue:jobs");
  f.submit("wf-p", "queue:jobs");  // the queue holds one: parked
  REQUIRE(eventually([&] { return f.load->queued == 2 && f.load->parked == 1; }));
  abandon("wf-p");  // first: dropping wf-e would wake it (a resubmit) to take its slot
  abandon("wf-q");
  abandon("wf-e");
  abandon("wf-nobody");  // unknown: ignored
  REQUIRE(eventually([&] { return f.load->queued == 0 && f.load->parked == 0; }));
  CHECK(f.poll("jobs").what != poll_reply::status::task);
  abandon("wf-h");
  REQUIRE(eventually([&] { return long_one.saw_cancel->load(); }));
  f.submit("wf-s", "sleep", json::parse(R"({"ms":20000})"));
  auto sl = f.next();
  CHECK(sl.what == kind::started);
  CHECK(sl.workflow_id == "wf-s");
  abandon("wf-s");
  f.submit("wf-z", "quick");  // runs once the sleep gave its slot back
  auto z = f.next_result();
  CHECK(z.workflow_id == "wf-z");  // no answer for wf-h, wf-q or wf-s before it
  CHECK(z.what == kind::completed);
  CHECK_FALSE(f.try_next(100ms));
}

// Cancellation is cooperative: a handler that never checks ctx.cancelled() keeps its
// slot. Operators see it in workflow_tasks_cancelled_running (and a warning after 10 s).
TEST_CASE(
    "a handler that ignores its cancel is counted as cancelled and running until it returns") {
  task_fixture f;
  auto release = std::make_shared<std::atomic<bool>>(false);
  auto running = std::make_shared<std::atomic<bool>>(false);
  f.handlers->register_handler("deaf", [release, running](const json::value&, const task_context&) {
    *running = true;
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (!*release && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(5ms);
    }
    return task_result::success();
  });
  task_settings s;
  s.start_report_delay = 0ms;  // its start is reported before the cancel
  f.start(s);
  const auto gauge = [&f] { return metric(f.registry, "workflow_tasks_cancelled_running"); };
  f.submit("wf-d", "deaf");
  REQUIRE(eventually([&] { return running->load(); }));
  CHECK(gauge() == 0);
  caf::anon_send(f.dispatcher, task_abandon{"wf-d", "s", 1});
  CHECK(eventually([&] { return gauge() == 1; }));
  caf::anon_send(f.dispatcher, task_abandon{"wf-d", "s", 1});  // counted once
  std::this_thread::sleep_for(50ms);
  CHECK(gauge() == 1);
  *release = true;
  CHECK(eventually([&] { return gauge() == 0; }));
  CHECK(f.next().what == kind::started);
  CHECK_FALSE(f.try_next(100ms));  // its result is dropped
}

// The entity re-offers a RUNNING step when the dispatcher asks it to (a refused
// re-dispatch), so one attempt can run twice; abandoning it must stop both runs.
TEST_CASE("task_abandon stops every run of the attempt and drops its waiting copy") {
  task_fixture f;
  wfe::test::cancellable_handler long_one;
  f.handlers->register_handler("long", long_one.fn());
  task_settings s;
  s.max_workers = 2;
  f.start(s);
  f.submit("wf-h", "long");
  f.submit("wf-h", "long");  // the same attempt again
  f.submit("wf-h", "long");  // and once more: queued behind the two workers
  REQUIRE(eventually([&] { return long_one.runs->load() == 2 && f.load->queued == 1; }));
  caf::anon_send(f.dispatcher, task_abandon{"wf-h", "s", 1});
  CHECK(eventually([&] { return long_one.cancelled_runs->load() == 2; }));
  CHECK(eventually([&] { return f.load->queued == 0 && f.load->running == 0; }));
  std::this_thread::sleep_for(50ms);
  CHECK(long_one.runs->load() == 2);  // the queued copy never ran
}

TEST_CASE("stopping the dispatcher cancels the running C++ handlers") {
  task_fixture f;
  wfe::test::cancellable_handler long_one;
  f.handlers->register_handler("long", long_one.fn());
  f.start({});
  f.submit("wf-long", "long");  // no step timeout
  REQUIRE(eventually([&] { return long_one.running->load(); }));
  caf::anon_send_exit(f.dispatcher, caf::exit_reason::user_shutdown);
  CHECK(eventually([&] { return long_one.saw_cancel->load(); }));
}

TEST_CASE("dispatch order is high > normal > low, weighted 4:2:1, low not starved") {
  task_fixture f;
  gate g;
  std::mutex m;
  std::string order;
  register_gate(*f.handlers, g);
  f.handlers->register_handler("record", [&](const json::value&, const task_context& ctx) {
    std::lock_guard lock(m);
    order += ctx.workflow_id;
    return task_result::success();
  });
  task_settings s;
  s.max_workers = 1;  // one at a time: the execution order is the dispatch order
  f.start(s);
  f.submit("gate", "gate", {}, task_priority::high);  // holds the only worker
  for (int i = 0; i < 8; ++i) f.submit("L", "record", {}, task_priority::low);
  for (int i = 0; i < 8; ++i) f.submit("H", "record", {}, task_priority::high);
  for (int i = 0; i < 4; ++i) f.submit("N", "record", {}, task_priority::normal);
  REQUIRE(eventually([&] { return f.load->local_queued == 20; }));
  g.open();
  int done = 0;
  while (done < 21) done += f.next_result().what == kind::completed ? 1 : 0;
  // The gate used one high credit of the first round (4 H, 2 N, 1 L per round).
  CHECK(order == "HHHNNLHHHHNNLHLLLLLL");
}

TEST_CASE("at most max-workers local tasks execute at once") {
  task_fixture f;
  gate g;
  std::atomic<int> current{0};
  std::atomic<int> peak{0};
  f.handlers->register_handler("busy", [&](const json::value&, const task_context&) {
    int now = ++current;
    for (int p = peak; now > p && !peak.compare_exchange_weak(p, now);) {
    }
    g.wait();
    --current;
    return task_result::success();
  });
  task_settings s;
  s.max_workers = 3;
  f.start(s);
  for (int i = 0; i < 12; ++i) f.submit("wf-" + std::to_string(i), "busy");
  REQUIRE(eventually([&] { return current == 3; }));
  // Give a broken bound the chance to start a fourth.
  std::this_thread::sleep_for(100ms);
  CHECK(current == 3);
  CHECK(f.load->running == 3);
  CHECK(f.load->local_queued == 9);
  CHECK(f.load->local_capacity == 3 * s.max_queued);
  g.open();
  int done = 0;
  while (done < 12) done += f.next_result().what == kind::completed ? 1 : 0;
  CHECK(peak == 3);
  CHECK(eventually([&] { return f.load->running == 0 && f.load->queued == 0; }));
}

TEST_CASE("with parking off (max-parked 0), a full priority queue answers rejected") {
  task_fixture f;
  gate g;
  register_gate(*f.handlers, g);
  task_settings s;
  s.max_workers = 1;
  s.max_queued = 2;
  s.max_parked = 0;
  f.start(s);
  f.submit("gate", "gate");
  CHECK(f.next().what == kind::started);
  f.submit("n1", "noop");
  f.submit("n2", "noop");
  f.submit("n3", "noop");
  auto r = f.next();
  CHECK(r.what == kind::rejected);
  CHECK(r.workflow_id == "n3");
  CHECK(r.message.find("normal priority queue") != std::string::npos);
  CHECK(r.message.find("parking lot") == std::string::npos);
  f.submit("l1", "noop", {}, task_priority::low);
  // External queues are bounded the same way.
  f.submit("q1", "queue:jobs");
  f.submit("q2", "queue:jobs");
  f.submit("q3", "queue:jobs");
  auto rq = f.next();
  CHECK(rq.what == kind::rejected);
  CHECK(rq.workflow_id == "q3");
  g.open();
  std::vector<std::string> completed;
  while (completed.size() < 4) {
    auto u = f.next();
    CHECK(u.what != kind::rejected);
    if (u.what == kind::completed) completed.push_back(u.workflow_id);
  }
  // gate took a normal credit: n1 uses the last one, then low, then a new round.
  CHECK(completed == std::vector<std::string>{"gate", "n1", "l1", "n2"});
}

TEST_CASE("metrics: queued, running, totals and task seconds are exported") {
  task_fixture f;
  f.start({});
  f.submit("wf", "noop");
  CHECK(f.next_result().what == kind::completed);
  f.submit("wf", "fail", json::parse(R"({"times":1})"));
  CHECK(f.next_result().what == kind::failed);
  bool total = false;
  bool seconds = false;
  for (const auto& fam : f.registry.Collect()) {
    if (fam.name == "workflow_tasks_total") {
      for (const auto& m : fam.metric) {
        if (m.label.size() == 2 && m.label[0].value == "failed" && m.label[1].value == "fail")
          total = m.counter.value == 1;
      }
    }
    if (fam.name == "workflow_task_seconds") seconds = fam.metric.at(0).histogram.sample_count == 2;
  }
  CHECK(total);
  CHECK(seconds);
}

// A worker's complete/fail is acknowledged only once its workflow recorded the result:
// before, the 200 went out when the update was sent, and a crash before the journal
// write lost an acknowledged result (the task then ran again on another worker).
TEST_CASE("a worker's result is acknowledged only once its workflow recorded it") {
  task_fixture f;
  f.start({});
  f.submit("wf-r", "queue:jobs");
  auto a = f.poll("jobs");
  REQUIRE(a.what == poll_reply::status::task);
  const external_completion done{json::object{{"ok", 1}}};

  // Not recorded (the journal failed): 503-style `unavailable`, the lease stays.
  f.results->set(recording::mode::refuse);
  CHECK(f.answer(task_complete_atom::value, a.token, done) == token_reply::status::unavailable);
  CHECK(f.next_result().what == kind::completed);  // it was sent to the workflow
  CHECK(f.answer(task_heartbeat_atom::value, a.token) == token_reply::status::ok);
  CHECK(f.load->running == 1);

  // Held: the answer waits; a second answer meanwhile is told to retry.
  f.results->set(recording::mode::hold);
  caf::scoped_actor worker{f.system()};
  auto first = worker->request(f.dispatcher, k_wait, task_complete_atom::value, a.token, done);
  CHECK(f.next_result().what == kind::completed);
  CHECK(f.answer(task_fail_atom::value, a.token, external_failure{"late", "x", false, {}}) ==
        token_reply::status::unavailable);
  CHECK(f.load->running == 1);  // the lease lives until the result is recorded
  REQUIRE(eventually([&] { return f.results->release() == 1; }));
  auto got = token_reply::status::not_found;
  first.receive([&](token_reply& r) { got = r.what; }, [](caf::error&) {});
  CHECK(got == token_reply::status::ok);
  CHECK(eventually([&] { return f.load->running == 0; }));
  CHECK(f.answer(task_complete_atom::value, a.token, done) == token_reply::status::duplicate);
  CHECK_FALSE(f.try_next(100ms));  // the rejected failure sent nothing
}

// The update dropped unanswered (its workflow's shard stopped): the worker hears that
// the result was not recorded instead of waiting for ever.
TEST_CASE("a worker's result whose update is dropped unanswered is not acknowledged") {
  task_fixture f;
  f.start({});
  f.submit("wf-d", "queue:jobs");
  auto a = f.poll("jobs");
  REQUIRE(a.what == poll_reply::status::task);
  f.results->set(recording::mode::hold);
  caf::scoped_actor worker{f.system()};
  auto first = worker->request(f.dispatcher, k_wait, task_complete_atom::value, a.token,
                               external_completion{json::object{}});
  {
    auto u = f.next_result();  // the test's copy of the update goes at the end of the block
    CHECK(u.what == kind::completed);
  }
  f.results->set(recording::mode::record);
  {
    std::lock_guard lock(f.results->m);
    f.results->held.clear();  // dropped, never called: the last copy of the callback goes
  }
  auto got = token_reply::status::not_found;
  first.receive([&](token_reply& r) { got = r.what; }, [](caf::error&) {});
  CHECK(got == token_reply::status::unavailable);
  CHECK(f.answer(task_complete_atom::value, a.token, external_completion{json::object{}}) ==
        token_reply::status::ok);  // the lease stayed: the retry goes through
}

TEST_CASE("a worker's token outlives a restart: the same attempt queued again becomes its lease") {
  task_fixture f;
  task_settings s;
  s.start_report_delay = 0ms;  // the exact order of the updates: starts reported at once
  f.start(s);
  auto heartbeat = [&](const std::string& t) { return f.answer(task_heartbeat_atom::value, t); };
  auto complete = [&](const std::string& t) {
    return f.answer(task_complete_atom::value, t, external_completion{json::object{{"ok", 1}}});
  };
  f.submit("wf-a", "queue:jobs");
  f.submit("wf-b", "queue:jobs");
  auto a = f.poll("jobs");
  auto b = f.poll("jobs");
  REQUIRE(a.what == poll_reply::status::task);
  REQUIRE(b.what == poll_reply::status::task);
  REQUIRE(a.request.workflow_id == "wf-a");
  CHECK(a.token.size() == 32);
  CHECK(a.token != b.token);
  CHECK(f.next().what == kind::started);
  CHECK(f.next().what == kind::started);

  // The node restarts: leases and queues are gone.
  caf::anon_send_exit(f.dispatcher, caf::exit_reason::user_shutdown);
  f.start(f.settings);
  CHECK(heartbeat(a.token) == token_reply::status::not_found);  // nothing queued yet
  // Recovery queues wf-a's attempt again; wf-b's step moved on to attempt 2 meanwhile.
  f.submit("wf-a", "queue:jobs");
  f.submit("wf-b", "queue:jobs", {}, task_priority::normal, 2);
  CHECK(heartbeat(a.token) == token_reply::status::ok);  // adopted
  auto started = f.next();
  CHECK(started.what == kind::started);
  CHECK(started.workflow_id == "wf-a");
  CHECK(complete(b.token) == token_reply::status::not_found);  // attempt 1 is over
  auto next = f.poll("jobs");  // wf-a's task is the worker's lease, not queued any more
  REQUIRE(next.what == poll_reply::status::task);
  CHECK(next.request.workflow_id == "wf-b");
  CHECK(next.request.attempt == 2);
  CHECK(next.token != b.token);
  CHECK(f.next().what == kind::started);
  CHECK(complete(a.token) == token_reply::status::ok);
  auto done = f.next();
  CHECK(done.what == kind::completed);
  CHECK(done.workflow_id == "wf-a");
  CHECK(complete(a.token) == token_reply::status::duplicate);
  CHECK_FALSE(f.try_next(std::chrono::milliseconds(100)));  // one update, not two

  // A token adopted by its answer directly, without a heartbeat first.
  caf::anon_send_exit(f.dispatcher, caf::exit_reason::user_shutdown);
  f.start(f.settings);
  f.submit("wf-b", "queue:jobs", {}, task_priority::normal, 2);
  CHECK(complete(next.token) == token_reply::status::ok);
  CHECK(f.next().what == kind::started);
  auto b_done = f.next();
  CHECK(b_done.what == kind::completed);
  CHECK(b_done.workflow_id == "wf-b");
  CHECK(b_done.attempt == 2);
}

// An entity that recovers with its task out dispatches the attempt again. Before, the
// copy was queued and handed to the next poller: two workers ran the same attempt.
TEST_CASE("the same attempt dispatched again while a worker holds it goes to no second worker") {
  task_fixture f;
  f.start({});
  f.submit("wf-a", "queue:jobs");
  auto a = f.poll("jobs");
  REQUIRE(a.what == poll_reply::status::task);
  CHECK(f.next().what == kind::started);
  f.submit("wf-a", "queue:jobs");  // the same attempt again
  f.submit("wf-b", "queue:jobs");
  auto b = f.poll("jobs");
  REQUIRE(b.what == poll_reply::status::task);
  CHECK(b.request.workflow_id == "wf-b");
  CHECK(f.next().what == kind::started);
  CHECK(f.poll("jobs").what != poll_reply::status::task);
  f.complete(a.token);
  auto done = f.next();
  CHECK(done.what == kind::completed);
  CHECK(done.workflow_id == "wf-a");
  CHECK_FALSE(f.try_next(std::chrono::milliseconds(100)));
}

namespace {

// A worker holds wf-a's task when the node restarts with a queue of one; after the
// restart wf-x takes the slot and wf-a's attempt, queued again by recovery, is parked.
// Returns the worker's poll of wf-a (its token).
poll_reply park_held_attempt_after_restart(task_fixture& f) {
  task_settings s;
  s.max_queued = 1;
  s.start_report_delay = 0ms;  // the exact order of the updates: starts reported at once
  f.start(s);
  f.submit("wf-a", "queue:jobs");
  auto a = f.poll("jobs");
  REQUIRE(a.what == poll_reply::status::task);
  CHECK(f.next().what == kind::started);
  caf::anon_send_exit(f.dispatcher, caf::exit_reason::user_shutdown);
  f.start(s);
  f.submit("wf-x", "queue:jobs");  // takes the queue's only slot
  f.submit("wf-a", "queue:jobs");  // recovery re-queues wf-a's attempt: parked
  REQUIRE(eventually([&] { return f.load->parked == 1; }));
  return a;
}

// wf-a, adopted by the worker that holds `a`, goes to no other worker; that worker's
// completion is wf-a's one update.
void completed_by_its_worker_only(task_fixture& f, const poll_reply& a) {
  CHECK(f.poll("jobs").what != poll_reply::status::task);
  CHECK(f.answer(task_complete_atom::value, a.token,
                 external_completion{json::object{{"ok", 1}}}) == token_reply::status::ok);
  auto done = f.next();
  CHECK(done.what == kind::completed);
  CHECK(done.workflow_id == "wf-a");
  CHECK(done.output == json::parse(R"({"ok":1})"));
  CHECK_FALSE(f.try_next(std::chrono::milliseconds(100)));
}

}  // namespace

// Re-queued after a restart into a full queue, the attempt is parked (only its identity
// waits): before, the worker's token found nothing there (404) and the task later went
// to a second worker.
TEST_CASE("a worker's token is adopted from the parking lot when the queue is full") {
  task_fixture f;
  const auto a = park_held_attempt_after_restart(f);
  CHECK(f.answer(task_heartbeat_atom::value, a.token) == token_reply::status::ok);  // adopted
  auto started = f.next();
  CHECK(started.what == kind::started);
  CHECK(started.workflow_id == "wf-a");
  CHECK(f.load->parked == 0);
  auto x = f.poll("jobs");
  REQUIRE(x.what == poll_reply::status::task);
  CHECK(x.request.workflow_id == "wf-x");
  CHECK(f.next().what == kind::started);
  completed_by_its_worker_only(f, a);
}

// Woken from the parking lot, the attempt is on its way back through its entity. Before,
// a heartbeat in that moment found nothing (404), and the worker gave the task up.
TEST_CASE("a worker's token is adopted while its parked attempt is woken, before it is back") {
  task_fixture f;
  const auto a = park_held_attempt_after_restart(f);
  auto x = f.poll("jobs");  // frees the slot: wf-a is woken
  REQUIRE(x.what == poll_reply::status::task);
  CHECK(x.request.workflow_id == "wf-x");
  CHECK(f.next().what == kind::started);
  auto woken = f.next();
  CHECK(woken.what == kind::resubmit);
  CHECK(woken.workflow_id == "wf-a");
  CHECK(f.answer(task_heartbeat_atom::value, a.token) == token_reply::status::ok);  // adopted
  auto started = f.next();
  CHECK(started.what == kind::started);
  CHECK(started.workflow_id == "wf-a");
  f.submit("wf-a", "queue:jobs");  // the re-dispatch arrives: the lease answers for it
  f.submit("wf-y", "queue:jobs");  // and the slot reserved for wf-a goes to the next
  auto y = f.poll("jobs");
  REQUIRE(y.what == poll_reply::status::task);
  CHECK(y.request.workflow_id == "wf-y");
  CHECK(f.next().what == kind::started);
  completed_by_its_worker_only(f, a);
}

TEST_CASE(
    "tokens are adopted only in the restart window: until heartbeat-timeout after the waking") {
  task_fixture f;
  task_settings s;
  s.heartbeat_timeout = std::chrono::milliseconds(300);
  f.start(s);
  auto heartbeat = [&f](const std::string& t) { return f.answer(task_heartbeat_atom::value, t); };
  auto restart = [&f, &s] {
    caf::anon_send_exit(f.dispatcher, caf::exit_reason::user_shutdown);
    f.start(s);
  };
  f.submit("wf-late", "queue:jobs");
  const auto token = f.poll("jobs").token;
  REQUIRE(f.next().what == kind::started);

  // No waking announced: the window ends heartbeat-timeout after the dispatcher started.
  restart();
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // well past 300 ms
  f.submit("wf-late", "queue:jobs");
  CHECK(heartbeat(token) == token_reply::status::not_found);  // too late: not adopted
  CHECK(f.poll("jobs").token == token);  // still queued for any worker (same attempt)
  CHECK(f.next().what == kind::started);

  // While the runtime wakes workflows the window stays open, and closes
  // heartbeat-timeout after the waking ends.
  restart();
  caf::anon_send(f.dispatcher, task_recovering_atom::value, true);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // well past 300 ms
  f.submit("wf-late", "queue:jobs");
  CHECK(heartbeat(token) == token_reply::status::ok);  // adopted
  CHECK(f.next().what == kind::started);
  restart();
  caf::anon_send(f.dispatcher, task_recovering_atom::value, true);
  caf::anon_send(f.dispatcher, task_recovering_atom::value, false);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // well past 300 ms
  f.submit("wf-late", "queue:jobs");
  CHECK(heartbeat(token) == token_reply::status::not_found);
}
