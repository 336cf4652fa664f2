#include "engine/core/actor_runtime.hpp"

#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>

#include "engine/core/settings_reader.hpp"

namespace wfe::core {

namespace {

caf::actor_system_config& configure(caf::actor_system_config& cfg, const actor_system_settings& s,
                                    const actor_runtime::config_hook& register_types) {
  cfg.load<caf::io::middleman>();
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", s.max_threads);
  cfg.set("middleman.workers", std::size_t{0});
  cfg.set("middleman.heartbeat-interval", caf::timespan{s.heartbeat_interval});
  cfg.set("middleman.connection-timeout", caf::timespan{s.connection_timeout});
  if (register_types) register_types(cfg);
  return cfg;
}

}  // namespace

struct actor_runtime::impl {
  impl(const actor_system_settings& s, const config_hook& hook) : system(configure(cfg, s, hook)) {}
  caf::actor_system_config cfg;
  caf::actor_system system;
  std::vector<caf::actor> supervised;
};

actor_system_settings actor_system_settings::read(settings_reader& r) {
  using std::chrono::milliseconds;
  actor_system_settings s;
  s.max_threads =
      static_cast<std::size_t>(r.integer("pekko.workflow.actor-system.max-threads", 1, 256));
  s.heartbeat_interval = r.duration("pekko.workflow.actor-system.heartbeat-interval",
                                    milliseconds(10), milliseconds(60'000));
  s.connection_timeout = r.duration("pekko.workflow.actor-system.connection-timeout",
                                    milliseconds(100), milliseconds(600'000));
  if (r.ok() && s.connection_timeout <= s.heartbeat_interval) {
    r.fail("pekko.workflow.actor-system.connection-timeout",
           "must be longer than pekko.workflow.actor-system.heartbeat-interval");
  }
  return s;
}

actor_runtime::actor_runtime(const actor_system_settings& s, const config_hook& register_types)
    : impl_(std::make_unique<impl>(s, register_types)) {}

actor_runtime::~actor_runtime() = default;

caf::actor_system& actor_runtime::system() { return impl_->system; }

void actor_runtime::supervise(const caf::actor& a) { impl_->supervised.push_back(a); }

void actor_runtime::stop_all() {
  for (auto it = impl_->supervised.rbegin(); it != impl_->supervised.rend(); ++it) {
    caf::anon_send_exit(*it, caf::exit_reason::user_shutdown);
  }
  impl_->supervised.clear();
}

}  // namespace wfe::core
