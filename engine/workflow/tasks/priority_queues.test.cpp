#include "engine/workflow/tasks/priority_queues.hpp"

#include <string>

#include <doctest/doctest.h>

using namespace wfe::workflow;

namespace {

std::string drain(priority_queues<char>& q) {
  std::string order;
  while (auto c = q.pop()) order.push_back(*c);
  return order;
}

}  // namespace

TEST_CASE("with every priority busy, 4 high, 2 normal and 1 low are taken per round") {
  priority_queues<char> q(100);
  for (int i = 0; i < 8; ++i) {
    REQUIRE(q.push(task_priority::low, 'L'));
    REQUIRE(q.push(task_priority::normal, 'N'));
    REQUIRE(q.push(task_priority::high, 'H'));
  }
  CHECK(drain(q) == "HHHHNNLHHHHNNLNNLNNLLLLL");
}

TEST_CASE("low is not starved by a steady stream of high") {
  priority_queues<int> q(1000);
  for (int i = 0; i < 3; ++i) REQUIRE(q.push(task_priority::low, -1));
  int lows = 0;
  for (int i = 0; i < 21; ++i) {
    REQUIRE(q.push(task_priority::high, i));  // refill: high never runs dry
    REQUIRE(q.push(task_priority::high, i));
    if (*q.pop() == -1) ++lows;
  }
  CHECK(lows == 3);  // one in every 7 pops while low has work
}

TEST_CASE("a lone queue is drained at full speed, FIFO within a priority") {
  priority_queues<int> q(10);
  for (int i = 0; i < 5; ++i) REQUIRE(q.push(task_priority::low, i));
  for (int i = 0; i < 5; ++i) CHECK(*q.pop() == i);
  CHECK_FALSE(q.pop());
  CHECK(q.empty());
}

TEST_CASE("each priority is bounded on its own") {
  priority_queues<int> q(2);
  CHECK(q.push(task_priority::high, 1));
  CHECK(q.push(task_priority::high, 2));
  CHECK_FALSE(q.push(task_priority::high, 3));
  CHECK(q.push(task_priority::low, 4));
  CHECK(q.size() == 3);
  CHECK(q.size(task_priority::high) == 2);
}

TEST_CASE("priority names round-trip and anything else is refused") {
  for (auto p : {task_priority::high, task_priority::normal, task_priority::low}) {
    task_priority out = task_priority::normal;
    REQUIRE(parse_priority(to_string(p), out));
    CHECK(out == p);
  }
  task_priority out = task_priority::high;
  CHECK_FALSE(parse_priority("urgent", out));
  CHECK_FALSE(parse_priority("HIGH", out));
  CHECK_FALSE(parse_priority("", out));
  CHECK(out == task_priority::high);
}
