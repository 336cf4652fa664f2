// Parking of requests that find their queue full (parking_lot.hpp, the dispatcher's
// `resubmit` updates). The tests play the runtime: a `resubmit` update is answered by
// submitting the same request again, as the region + entity do.

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "engine/workflow/tasks/parking_lot.hpp"
#include "engine/workflow/tasks/task_test_fixture.hpp"

using namespace wfe::workflow;
using namespace wfe::workflow::test;
namespace json = boost::json;

namespace {

// The next update that is neither `started` nor `completed`, or none within `wait`.
std::optional<task_update> next_notice(task_fixture& f, std::chrono::milliseconds wait) {
  for (;;) {
    auto u = f.try_next(wait);
    if (!u || (u->what != kind::started && u->what != kind::completed)) return u;
  }
}

}  // namespace

TEST_CASE("parking_lot: FIFO per priority, high first, bounded, reservations claimed once") {
  using clock = parking_lot::clock;
  parking_lot lot(3, std::chrono::seconds(1));
  CHECK(lot.park({"l1", "s", 1, task_priority::low, ""}));
  CHECK(lot.park({"n1", "s", 1, task_priority::normal, ""}));
  CHECK(lot.park({"h1", "s", 1, task_priority::high, ""}));
  CHECK_FALSE(lot.park({"n2", "s", 1, task_priority::normal, ""}));  // the bound
  CHECK(lot.parked() == 3);
  std::vector<std::string> woken;
  int room = 2;
  const auto now = clock::now();
  CHECK(lot.wake([&](task_priority) { return room-- > 0; },
                 [&](const parked_task& t) { woken.push_back(t.workflow_id); }, now) == 2);
  CHECK(woken == std::vector<std::string>{"h1", "n1"});
  CHECK(lot.reserved() == 2);
  CHECK(lot.reserved(task_priority::high) == 1);
  CHECK_FALSE(lot.claim("h1", "s", 2));  // another attempt holds nothing
  CHECK(lot.claim("h1", "s", 1));
  CHECK_FALSE(lot.claim("h1", "s", 1));  // once
  CHECK(lot.reserved() == 1);
  CHECK(lot.expire(now) == 0);
  CHECK(lot.expire(now + std::chrono::seconds(1)) == 1);  // n1 never came back
  CHECK(lot.reserved() == 0);
  CHECK_FALSE(lot.idle());  // l1 still parked
  CHECK_FALSE(lot.next_deadline());
}

TEST_CASE("a full external queue parks, freed slots wake parked entries FIFO, bound rejects") {
  task_fixture f;
  task_settings s;
  s.max_queued = 1;
  s.max_parked = 4;
  f.start(s);
  // One queued per priority fills the queue.
  f.submit("h0", "queue:q", {}, task_priority::high);
  f.submit("n0", "queue:q", {}, task_priority::normal);
  f.submit("l0", "queue:q", {}, task_priority::low);
  // Parked, not rejected.
  f.submit("n1", "queue:q", {}, task_priority::normal);
  f.submit("l1", "queue:q", {}, task_priority::low);
  f.submit("n2", "queue:q", {}, task_priority::normal);
  f.submit("h1", "queue:q", {}, task_priority::high);
  // The parking bound: refused as before.
  f.submit("n3", "queue:q", {}, task_priority::normal);
  auto r = f.next();
  CHECK(r.what == kind::rejected);
  CHECK(r.workflow_id == "n3");
  CHECK(r.message.find("parking lot") != std::string::npos);
  CHECK(f.load->parked == 4);
  CHECK(metric(f.registry, "workflow_tasks_parked", "normal") == 2);
  CHECK(metric(f.registry, "workflow_tasks_parked", "high") == 1);

  // Drain the queue as a worker would; answer each resubmit as the runtime does.
  std::vector<std::string> handed_out;
  std::vector<std::string> resubmits;
  for (int i = 0; i < 7; ++i) {
    auto reply = f.poll("q");
    REQUIRE(reply.what == poll_reply::status::task);
    handed_out.push_back(reply.request.workflow_id);
    // started, then (when a parked entry was woken) resubmit: both sent before the reply,
    // each resubmit counted in workflow_task_wakes_total first. They reach the sink
    // through the workflows' stand-in, possibly after the reply: wait for every one
    // counted so far, and answer it before the next poll.
    const auto woken =
        static_cast<std::size_t>(std::max(0.0, metric(f.registry, "workflow_task_wakes_total")));
    while (resubmits.size() < woken) {
      const auto u = f.next();
      CHECK(u.what != kind::rejected);
      if (u.what != kind::resubmit) continue;
      resubmits.push_back(u.workflow_id);
      CHECK(u.step == "s");
      CHECK(u.attempt == 1);
      f.submit(u.workflow_id, "queue:q", {},
               u.workflow_id[0] == 'h'   ? task_priority::high
               : u.workflow_id[0] == 'n' ? task_priority::normal
                                         : task_priority::low);
    }
  }
  // Each freed slot woke the oldest parked entry of its priority, once.
  CHECK(resubmits == std::vector<std::string>{"h1", "n1", "n2", "l1"});
  // Weighted round robin still holds over re-submitted entries.
  CHECK(handed_out == std::vector<std::string>{"h0", "h1", "n0", "n1", "l0", "n2", "l1"});
  CHECK(f.poll("q").what == poll_reply::status::empty);
  CHECK(f.load->parked == 0);
  CHECK(metric(f.registry, "workflow_task_wakes_total") == 4);
}

TEST_CASE("max-parked-total bounds the parked entries of all lots together") {
  task_fixture f;
  task_settings s;
  s.max_queued = 1;
  s.max_parked = 2;        // each lot has room for two...
  s.max_parked_total = 3;  // ...but the node for three
  f.start(s);
  for (const char* q : {"a", "b"}) {  // fills both queues (normal priority)
    f.submit(std::string("full-") + q, std::string("queue:") + q);
  }
  f.submit("a1", "queue:a");
  f.submit("a2", "queue:a");
  f.submit("b1", "queue:b");                                   // the third parked entry
  CHECK_FALSE(next_notice(f, std::chrono::milliseconds(50)));  // nobody refused yet
  CHECK(f.load->parked == 3);
  f.submit("b2", "queue:b");  // lot b has room, the node has not
  auto r = next_notice(f, k_wait);
  REQUIRE(r);
  CHECK(r->what == kind::rejected);
  CHECK(r->workflow_id == "b2");
  CHECK(r->message.find("max-parked-total (3)") != std::string::npos);
  CHECK(f.load->parked == 3);
  // A freed slot wakes a parked entry: the node has room to park again.
  auto reply = f.poll("b");
  REQUIRE(reply.what == poll_reply::status::task);
  auto woken = next_notice(f, k_wait);
  REQUIRE(woken);
  CHECK(woken->what == kind::resubmit);
  CHECK(woken->workflow_id == "b1");
  f.submit("b2", "queue:b");
  CHECK_FALSE(next_notice(f, std::chrono::milliseconds(50)));  // parked, not refused
  CHECK(f.load->parked == 3);
}

TEST_CASE("a woken entry that never comes back loses its slot to the next parked entry") {
  task_fixture f;
  task_settings s;
  s.max_queued = 1;
  s.parked_wake_timeout = 500ms;  // x2 and x3 come back well within it
  f.start(s);
  f.submit("x0", "queue:q");
  f.submit("stale", "queue:q");  // its workflow will ignore the resubmit
  f.submit("x2", "queue:q");
  f.submit("x3", "queue:q");
  CHECK(f.poll("q").request.workflow_id == "x0");
  auto first = next_notice(f, k_wait);
  REQUIRE(first);
  CHECK(first->what == kind::resubmit);
  CHECK(first->workflow_id == "stale");
  // A fresh request does not take the reserved slot: it parks behind x2 and x3.
  f.submit("fresh", "queue:q");
  // Not re-submitted: after the wake timeout the slot goes to x2.
  auto second = next_notice(f, k_wait);
  REQUIRE(second);
  CHECK(second->what == kind::resubmit);
  CHECK(second->workflow_id == "x2");
  CHECK(metric(f.registry, "workflow_task_wake_expired_total") == 1);
  f.submit("x2", "queue:q");
  CHECK(f.poll("q").request.workflow_id == "x2");
  auto third = next_notice(f, k_wait);
  REQUIRE(third);
  CHECK(third->workflow_id == "x3");
  // The stale one coming back late is a fresh request: it parks at the back.
  f.submit("stale", "queue:q");
  f.submit("x3", "queue:q");
  CHECK(f.poll("q").request.workflow_id == "x3");
  auto fourth = next_notice(f, k_wait);
  REQUIRE(fourth);
  CHECK(fourth->workflow_id == "fresh");
}

TEST_CASE("beyond max-queues requests park and get a queue, high priority first, as one frees") {
  task_fixture f;
  task_settings s;
  s.max_queues = 1;
  f.start(s);
  f.submit("a", "queue:a");
  f.submit("b", "queue:b", {}, task_priority::low);
  f.submit("c", "queue:c", {}, task_priority::normal);
  f.submit("d", "queue:d", {}, task_priority::high);
  f.submit("e", "queue:e", {}, task_priority::high);
  const std::map<std::string, task_priority> prio{{"b", task_priority::low},
                                                  {"c", task_priority::normal},
                                                  {"d", task_priority::high},
                                                  {"e", task_priority::high}};
  std::vector<std::string> order;
  std::string current = "a";
  for (int i = 0; i < 4; ++i) {
    auto reply = f.poll(current);
    REQUIRE(reply.what == poll_reply::status::task);
    CHECK(reply.request.workflow_id == current);
    f.complete(reply.token);  // queue `current` is idle and dropped: a queue is free
    auto u = next_notice(f, k_wait);
    REQUIRE(u);
    REQUIRE(u->what == kind::resubmit);
    order.push_back(u->workflow_id);
    current = u->workflow_id;
    f.submit(current, "queue:" + current, {}, prio.at(current));
  }
  CHECK(order == std::vector<std::string>{"d", "e", "c", "b"});
  CHECK(f.poll("b").request.workflow_id == "b");
}

TEST_CASE("nothing is lost: every parked local task is offered again and completes once") {
  task_fixture f;
  gate g;
  register_gate(*f.handlers, g);
  task_settings s;
  s.max_workers = 1;
  s.max_queued = 2;
  f.start(s);
  f.submit("gate", "gate");
  constexpr int k_tasks = 40;
  auto priority_of = [](int i) { return static_cast<task_priority>(i % 3); };
  for (int i = 0; i < k_tasks; ++i) {
    f.submit("w" + std::to_string(i), "noop", {}, priority_of(i));
  }
  g.open();
  std::multiset<std::string> completed;
  int resubmits = 0;
  while (completed.size() < k_tasks + 1) {
    auto u = f.next();
    REQUIRE(u.what != kind::rejected);
    REQUIRE(u.what != kind::failed);
    if (u.what == kind::completed) completed.insert(u.workflow_id);
    if (u.what == kind::resubmit) {
      ++resubmits;
      f.submit(u.workflow_id, "noop", {}, priority_of(std::stoi(u.workflow_id.substr(1))));
    }
  }
  CHECK(resubmits == k_tasks - 6);  // 2 queued per priority, the others parked
  for (int i = 0; i < k_tasks; ++i) CHECK(completed.count("w" + std::to_string(i)) == 1);
  CHECK(f.load->parked == 0);
  CHECK_FALSE(f.try_next(50ms));  // nothing left over
}
