#pragma once
// The CAF actor system of a node, configured from settings. CAF headers stay out of
// this header (only caf/fwd.hpp): it is included by the composition root and tests.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

#include <caf/fwd.hpp>

namespace wfe::core {

class settings_reader;

struct actor_system_settings {
  // Scheduler threads; STACK.md: the `sharing` policy on few threads gave ~3x lower
  // request/response latency than CAF's default work-stealing on this 2-core kind.
  std::size_t max_threads = 2;
  // CAF middleman heartbeats: without them a SIGSTOPped peer is never noticed.
  // Must be the same on every node (one-sided settings drop healthy idle links).
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds connection_timeout{10000};

  static actor_system_settings read(settings_reader& r);  // pekko.workflow.actor-system.*
};

class actor_runtime {
 public:
  // `register_types` runs on the CAF config before the system starts: message types
  // that cross the wire must be registered there (cluster::register_wire_types).
  using config_hook = std::function<void(caf::actor_system_config&)>;
  explicit actor_runtime(const actor_system_settings& s, const config_hook& register_types = {});
  ~actor_runtime();  // blocks until every actor has terminated
  actor_runtime(const actor_runtime&) = delete;
  actor_runtime& operator=(const actor_runtime&) = delete;

  caf::actor_system& system();

  // Remembers a long-lived actor so stop_all() can end it. CAF's system waits for
  // every running actor on destruction, so each one must be told to stop.
  void supervise(const caf::actor& a);
  // Sends an exit (user_shutdown) to every supervised actor, newest first.
  void stop_all();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace wfe::core
