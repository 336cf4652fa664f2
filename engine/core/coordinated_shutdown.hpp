#pragma once
// Coordinated shutdown, after Pekko's: ordered phases, each with a deadline; tasks of
// a phase run in registration order on the thread that runs the shutdown. A phase
// that overruns is logged and the next one starts anyway, and a watchdog ends the
// process (exit code 70) if the whole sequence exceeds its bound, so a hung task can
// never keep a node alive after SIGTERM.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace wfe::core {

class settings_reader;

enum class shutdown_phase {
  service_unbind,         // stop accepting new HTTP connections
  service_requests_done,  // in-flight requests finish
  service_stop,           // close remaining connections, stop servers
  cluster_leave,          // leave the cluster (membership)
  cluster_shutdown,       // stop cluster actors
  actor_system_terminate  // stop every actor
};

struct shutdown_settings {
  std::chrono::milliseconds phase_timeout{
      5000};  // pekko.coordinated-shutdown.default-phase-timeout
  static shutdown_settings read(settings_reader& r);
};

class coordinated_shutdown {
 public:
  using clock = std::chrono::steady_clock;
  using task = std::function<void(clock::time_point deadline)>;

  explicit coordinated_shutdown(shutdown_settings s) : settings_(s) {}

  void add_task(shutdown_phase phase, std::string name, task t);

  // Asks for a shutdown (thread-safe, idempotent: the first reason wins).
  void trigger(std::string reason);
  // Blocks until trigger() was called; returns the reason.
  std::string wait_for_trigger();

  // Runs every phase in order. Call once, from the thread that waited.
  void run(const std::string& reason);

  [[nodiscard]] std::chrono::milliseconds total_bound() const;

 private:
  struct entry {
    shutdown_phase phase;
    std::string name;
    task fn;
  };
  shutdown_settings settings_;
  std::vector<entry> tasks_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::optional<std::string> reason_;
};

}  // namespace wfe::core
