// workflow-engine: the composition root. Parses the command line and the config,
// validates every module's settings, wires the modules together, serves until a
// signal (or a module) asks for a shutdown, then runs the coordinated shutdown.

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "api/api_settings.hpp"
#include "api/http/metrics_route.hpp"
#include "api/node_routes.hpp"
#include "cluster/cluster_settings.hpp"
#include "cluster/membership.hpp"
#include "cluster/transport.hpp"
#include "engine/core/actor_runtime.hpp"
#include "engine/core/cli.hpp"
#include "engine/core/config_loader.hpp"
#include "engine/core/coordinated_shutdown.hpp"
#include "engine/core/logging.hpp"
#include "engine/core/metrics.hpp"
#include "engine/core/settings_reader.hpp"
#include "persistence/persistence_settings.hpp"

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;  // bad command line or configuration

const char* const version = WFE_VERSION;

struct node_settings {
  wfe::core::logging_settings logging;
  wfe::core::actor_system_settings actors;
  wfe::core::shutdown_settings shutdown;
  wfe::cluster::cluster_settings cluster;
  wfe::persistence::persistence_settings persistence;
  wfe::api::api_settings api;
};

// Every module validates its own keys; all problems are reported at once.
bool read_settings(const wfe::core::config& cfg, node_settings& s) {
  wfe::core::settings_reader r(cfg);
  s.logging = wfe::core::logging_settings::read(r);
  s.actors = wfe::core::actor_system_settings::read(r);
  s.shutdown = wfe::core::shutdown_settings::read(r);
  s.cluster = wfe::cluster::cluster_settings::read(r);
  s.persistence = wfe::persistence::persistence_settings::read(r);
  s.api = wfe::api::api_settings::read(r);
  if (r.ok()) return true;
  std::cerr << "workflow-engine: invalid configuration:\n"
            << wfe::core::describe(r.errors()) << "\n";
  return false;
}

// SIGTERM/SIGINT are blocked in every thread and taken by one waiting thread, so
// no handler ever runs on an actor or I/O thread.
sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

void watch_signals(wfe::core::coordinated_shutdown& shutdown) {
  std::thread([&shutdown] {
    auto set = shutdown_signals();
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) == 0) shutdown.trigger(sig == SIGTERM ? "SIGTERM" : "SIGINT");
    }
  }).detach();
}

struct servers {
  std::unique_ptr<wfe::api::http_server> api;
  std::unique_ptr<wfe::api::http_server> metrics;
};

void add_shutdown_tasks(wfe::core::coordinated_shutdown& shutdown, servers& srv,
                        wfe::core::actor_runtime& runtime, const caf::actor& membership) {
  using wfe::core::shutdown_phase;
  using time_point = wfe::core::coordinated_shutdown::clock::time_point;
  shutdown.add_task(shutdown_phase::service_unbind, "http-unbind",
                    [&srv](time_point) { srv.api->stop_accepting(); });
  shutdown.add_task(shutdown_phase::service_requests_done, "http-drain", [&srv](time_point d) {
    if (!srv.api->stop(d)) {
      wfe::core::logger("api")->warn("in-flight HTTP requests did not finish before the deadline");
    }
  });
  shutdown.add_task(shutdown_phase::service_stop, "metrics-stop", [&srv](time_point d) {
    srv.metrics->stop_accepting();
    srv.metrics->stop(d);
  });
  shutdown.add_task(shutdown_phase::cluster_leave, "cluster-leave",
                    [&runtime, membership](time_point d) {
                      caf::scoped_actor self{runtime.system()};
                      auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
                          d - wfe::core::coordinated_shutdown::clock::now());
                      self->request(membership, std::max(timeout, std::chrono::milliseconds(1)),
                                    wfe::cluster::leave_atom::value)
                          .receive([] {},
                                   [](caf::error& e) {
                                     wfe::core::logger("cluster")->warn(
                                         "leaving the cluster failed: {}", caf::to_string(e));
                                   });
                    });
  shutdown.add_task(shutdown_phase::actor_system_terminate, "actors-stop",
                    [&runtime](time_point) { runtime.stop_all(); });
}

int run_node(const node_settings& s) {
  using namespace wfe;
  if (auto err = core::init_logging(s.logging); !err.empty()) {
    std::cerr << "workflow-engine: " << err << "\n";
    return exit_usage;
  }
  auto log = core::logger("core");
  if (auto err = s.persistence.prepare_dirs(); !err.empty()) {
    log->error("{}", err);
    return exit_failure;
  }
  auto metrics = std::make_shared<core::metrics_registry>(version);
  core::coordinated_shutdown shutdown(s.shutdown);
  watch_signals(shutdown);
  core::actor_runtime runtime(s.actors);
  auto membership = cluster::spawn_membership(runtime.system(), {s.cluster, version});
  runtime.supervise(membership);
  auto transport_port = cluster::open_transport(runtime.system(), membership, s.cluster);
  if (!transport_port) {
    log->error("{}", transport_port.error());
    runtime.stop_all();
    return exit_failure;
  }
  api::router api_routes;
  runtime.supervise(api::add_node_routes(
      api_routes, {&runtime.system(), &membership, version, s.api.http.limits.request_timeout}));
  api::router metrics_routes;
  api::add_metrics_route(metrics_routes, metrics);
  servers srv;
  auto api_server = api::http_server::start(s.api.http, std::move(api_routes), metrics->registry());
  auto metrics_server =
      api::http_server::start(s.api.metrics, std::move(metrics_routes), metrics->registry());
  if (!api_server || !metrics_server) {
    log->error("{}", !api_server ? api_server.error() : metrics_server.error());
    runtime.stop_all();
    return exit_failure;
  }
  srv.api = std::move(*api_server);
  srv.metrics = std::move(*metrics_server);
  add_shutdown_tasks(shutdown, srv, runtime, membership);
  core::log_event(
      *log, spdlog::level::info, "NODE_STARTED",
      {{"self", s.cluster.self.to_string()},
       {"transport", s.cluster.bind_hostname + ":" + std::to_string(*transport_port)},
       {"http", s.api.http.interface + ":" + std::to_string(srv.api->bound_port())},
       {"metrics", s.api.metrics.interface + ":" + std::to_string(srv.metrics->bound_port())},
       {"version", version}},
      "workflow-engine node started");
  auto reason = shutdown.wait_for_trigger();
  shutdown.run(reason);
  srv = {};
  core::flush_logs();
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  auto signals = shutdown_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread exists
  std::vector<std::string> args(argv + 1, argv + argc);
  auto opts = wfe::core::parse_cli(args);
  if (!opts) {
    std::cerr << "workflow-engine: " << opts.error() << "\n";
    return exit_usage;
  }
  if (opts->help) {
    std::cout << wfe::core::usage_text();
    return exit_ok;
  }
  if (opts->version) {
    std::cout << "workflow-engine " << version << "\n";
    return exit_ok;
  }
  auto cfg = wfe::core::load_config(opts->sources);
  if (!cfg) {
    std::cerr << "workflow-engine: configuration error: " << cfg.error().describe() << "\n";
    return exit_usage;
  }
  if (opts->print_config) {
    std::cout << cfg->render() << "\n";
    return exit_ok;
  }
  node_settings settings;
  if (!read_settings(*cfg, settings)) return exit_usage;
  return run_node(settings);
}
