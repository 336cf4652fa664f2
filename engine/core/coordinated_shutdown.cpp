#include "engine/core/coordinated_shutdown.hpp"

#include <cstdlib>
#include <memory>
#include <thread>

#include "engine/core/logging.hpp"
#include "engine/core/settings_reader.hpp"

namespace wfe::core {

namespace {

constexpr shutdown_phase all_phases[] = {
    shutdown_phase::service_unbind,   shutdown_phase::service_requests_done,
    shutdown_phase::service_stop,     shutdown_phase::cluster_leave,
    shutdown_phase::cluster_shutdown, shutdown_phase::actor_system_terminate,
};

const char* phase_name(shutdown_phase p) {
  switch (p) {
    case shutdown_phase::service_unbind:
      return "service-unbind";
    case shutdown_phase::service_requests_done:
      return "service-requests-done";
    case shutdown_phase::service_stop:
      return "service-stop";
    case shutdown_phase::cluster_leave:
      return "cluster-leave";
    case shutdown_phase::cluster_shutdown:
      return "cluster-shutdown";
    case shutdown_phase::actor_system_terminate:
      return "actor-system-terminate";
  }
  return "?";
}

}  // namespace

shutdown_settings shutdown_settings::read(settings_reader& r) {
  shutdown_settings s;
  s.phase_timeout = r.duration("pekko.coordinated-shutdown.default-phase-timeout",
                               std::chrono::milliseconds(10), std::chrono::milliseconds(600'000));
  return s;
}

void coordinated_shutdown::add_task(shutdown_phase phase, std::string name, task t) {
  tasks_.push_back(entry{phase, std::move(name), std::move(t)});
}

void coordinated_shutdown::trigger(std::string reason) {
  std::lock_guard lock(mutex_);
  if (reason_) return;
  reason_ = std::move(reason);
  // Under the lock: the waiter cannot return (and run the phases, and destroy this
  // object) before the notification is done with cv_. ThreadSanitizer found the
  // notify-after-unlock racing the destructor.
  cv_.notify_all();
}

std::string coordinated_shutdown::wait_for_trigger() {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [this] { return reason_.has_value(); });
  return *reason_;
}

std::chrono::milliseconds coordinated_shutdown::total_bound() const {
  // One phase timeout per phase plus slack for the process exit itself.
  return settings_.phase_timeout * static_cast<int>(std::size(all_phases)) +
         std::chrono::milliseconds(2000);
}

void coordinated_shutdown::run(const std::string& reason) {
  auto log = logger("core");
  log->info("coordinated shutdown started, reason: {}", reason);
  // The watchdog outlives this call only while the phases run; `done` releases it.
  struct watchdog_state {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
  };
  auto wd = std::make_shared<watchdog_state>();
  auto bound = total_bound();
  std::thread([wd, bound, log] {
    std::unique_lock lock(wd->mutex);
    if (wd->cv.wait_for(lock, bound, [&] { return wd->done; })) return;
    log->error("coordinated shutdown exceeded {} ms; exiting hard", bound.count());
    flush_logs();
    std::_Exit(70);
  }).detach();
  for (auto phase : all_phases) {
    auto deadline = clock::now() + settings_.phase_timeout;
    for (auto& t : tasks_) {
      if (t.phase != phase) continue;
      log->debug("shutdown phase {}: {}", phase_name(phase), t.name);
      t.fn(deadline);
    }
    if (clock::now() > deadline) {
      log->warn("shutdown phase {} overran its {} ms timeout", phase_name(phase),
                settings_.phase_timeout.count());
    }
  }
  {
    std::lock_guard lock(wd->mutex);
    wd->done = true;
  }
  wd->cv.notify_all();
  log->info("coordinated shutdown finished");
}

}  // namespace wfe::core
