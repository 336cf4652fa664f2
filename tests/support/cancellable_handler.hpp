#pragma once
// A C++ task handler as a long, well-behaved one is written: it works (sleeps) until its
// task_context says cancelled, 30 s at most, then returns. Tests read whether it ran and
// whether it saw the cancel (task_context::cancelled, task_abandon), and how often it ran.

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include <boost/json/value.hpp>

#include "engine/workflow/tasks/task_handlers.hpp"

namespace wfe::test {

struct cancellable_handler {
  std::shared_ptr<std::atomic<bool>> running = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<std::atomic<bool>> saw_cancel = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<std::atomic<int>> runs = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> cancelled_runs = std::make_shared<std::atomic<int>>(0);

  // The handler to register; `output` is its result when it returns.
  [[nodiscard]] workflow::task_handler fn(boost::json::value output = boost::json::object{}) const {
    return
        [running = running, saw_cancel = saw_cancel, runs = runs, cancelled_runs = cancelled_runs,
         output = std::move(output)](const boost::json::value&, const workflow::task_context& ctx) {
          ++*runs;
          *running = true;
          const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
          while (!ctx.cancelled() && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
          }
          *saw_cancel = ctx.cancelled();
          if (ctx.cancelled()) ++*cancelled_runs;
          return workflow::task_result::success(output);
        };
  }
};

}  // namespace wfe::test
