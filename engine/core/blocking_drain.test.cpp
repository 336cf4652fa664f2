// drain_mailbox: what is queued is handled, and an empty mailbox ends the drain without
// the sleep a receive with after(0) takes on an empty mailbox.
#include "engine/core/blocking_drain.hpp"

#include <doctest/doctest.h>

#include <sys/resource.h>

#include <chrono>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

namespace wfe::core {
namespace {

long voluntary_switches() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_nvcsw;
}

}  // namespace

TEST_CASE("drain_mailbox takes what is queued and never sleeps on an empty mailbox") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  bool running = true;
  bool idle = false;
  std::vector<int> got;
  caf::behavior drain{[&](int n) { got.push_back(n); },
                      caf::after(std::chrono::seconds(0)) >> [&idle] { idle = true; }};

  for (int i = 1; i <= 3; ++i) caf::anon_send(caf::actor{self}, i);
  drain_mailbox(self.ptr(), drain, running, idle);
  CHECK(got == std::vector<int>{1, 2, 3});

  // 200 drains of an empty mailbox: a receive ending in its after(0) would sleep in each
  // (~70 us and a voluntary context switch on the benchmark VM); these return at once.
  const auto before = voluntary_switches();
  for (int i = 0; i < 200; ++i) drain_mailbox(self.ptr(), drain, running, idle);
  CHECK(voluntary_switches() - before < 20);
  CHECK(got.size() == 3);

  // A message sent later is taken by the next drain; a stopped actor takes nothing more.
  caf::anon_send(caf::actor{self}, 4);
  drain_mailbox(self.ptr(), drain, running, idle);
  CHECK(got.back() == 4);
  running = false;
  caf::anon_send(caf::actor{self}, 5);
  drain_mailbox(self.ptr(), drain, running, idle);
  CHECK(got.back() == 4);
}

}  // namespace wfe::core
