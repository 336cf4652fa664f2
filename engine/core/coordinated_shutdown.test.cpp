#include "engine/core/coordinated_shutdown.hpp"

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

using namespace wfe::core;

TEST_CASE("shutdown runs phases in order and tasks of a phase in registration order") {
  coordinated_shutdown cs(shutdown_settings{std::chrono::milliseconds(1000)});
  std::vector<std::string> order;
  cs.add_task(shutdown_phase::actor_system_terminate, "actors",
              [&](auto) { order.push_back("actors"); });
  cs.add_task(shutdown_phase::service_unbind, "unbind-a", [&](auto) { order.push_back("a"); });
  cs.add_task(shutdown_phase::cluster_leave, "leave", [&](auto) { order.push_back("leave"); });
  cs.add_task(shutdown_phase::service_unbind, "unbind-b", [&](auto) { order.push_back("b"); });
  cs.run("test");
  CHECK(order == std::vector<std::string>{"a", "b", "leave", "actors"});
}

TEST_CASE("each task gets its phase's deadline") {
  coordinated_shutdown cs(shutdown_settings{std::chrono::milliseconds(3000)});
  coordinated_shutdown::clock::time_point seen{};
  auto before = coordinated_shutdown::clock::now();
  cs.add_task(shutdown_phase::service_stop, "t", [&](auto d) { seen = d; });
  cs.run("test");
  CHECK(seen >= before + std::chrono::milliseconds(3000));
  CHECK(seen <= coordinated_shutdown::clock::now() + std::chrono::milliseconds(3000));
}

TEST_CASE("the first trigger's reason wins and wakes the waiter") {
  coordinated_shutdown cs(shutdown_settings{});
  std::thread t([&] {
    cs.trigger("SIGTERM");
    cs.trigger("downed");
  });
  CHECK(cs.wait_for_trigger() == "SIGTERM");
  t.join();
  CHECK(cs.wait_for_trigger() == "SIGTERM");
}

TEST_CASE("the total bound covers every phase plus slack") {
  coordinated_shutdown cs(shutdown_settings{std::chrono::milliseconds(1000)});
  CHECK(cs.total_bound() == std::chrono::milliseconds(8000));
}

TEST_CASE("a hung shutdown task ends the process with exit code 70 after the bound") {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    coordinated_shutdown cs(shutdown_settings{std::chrono::milliseconds(20)});
    cs.add_task(shutdown_phase::cluster_leave, "hangs",
                [](auto) { std::this_thread::sleep_for(std::chrono::hours(1)); });
    cs.run("test");
    std::_Exit(0);  // not reached
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 70);
}
