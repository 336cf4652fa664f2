#pragma once
// A minimal event loop on its own thread (what the HTTP server's io thread is to a node),
// for tests of actors hosted by core::loop_dispatcher; and a gate that holds it.

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace wfe::test {

// A minimal event loop on its own thread: what the HTTP server's io thread is to the node.
class test_loop {
 public:
  test_loop() : thread_([this] { run(); }) {}
  ~test_loop() {
    {
      const std::lock_guard lock(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  test_loop(const test_loop&) = delete;
  test_loop& operator=(const test_loop&) = delete;

  void post(std::function<void()> fn) {
    {
      const std::lock_guard lock(mu_);
      if (stopped_) return;  // a stopped loop runs nothing more, as a stopped io_context
      fns_.push_back(std::move(fn));
    }
    cv_.notify_all();
  }
  // Stops running handlers (those still queued are dropped with the loop).
  void stop() {
    {
      const std::lock_guard lock(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
  }
  [[nodiscard]] std::thread::id id() const { return thread_.get_id(); }

 private:
  void run() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopped_ || !fns_.empty(); });
        if (stopped_) return;
        fn = std::move(fns_.front());
        fns_.pop_front();
      }
      fn();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> fns_;
  bool stopped_ = false;
  std::thread thread_;
};

// Holds the loop inside one of its handlers until released.
struct loop_gate {
  std::promise<void> entered;
  std::promise<void> release;
  void hold(test_loop& loop) {
    loop.post([this] {
      entered.set_value();
      release.get_future().wait();
    });
    entered.get_future().wait();
  }
};

}  // namespace wfe::test
