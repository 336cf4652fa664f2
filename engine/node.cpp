#include "engine/node.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>

#include "api/admin_routes.hpp"
#include "api/http/bearer_auth.hpp"
#include "api/http/http_server.hpp"
#include "api/http/metrics_route.hpp"
#include "api/http/server_tls.hpp"
#include "api/node_routes.hpp"
#include "api/task_routes.hpp"
#include "api/workflow_routes.hpp"
#include "cluster/membership.hpp"
#include "cluster/membership_actor.hpp"
#include "cluster/tls_relay.hpp"
#include "cluster/transport.hpp"
#include "cluster/wire_envelope.hpp"
#include "engine/core/health.hpp"
#include "engine/core/loop_dispatcher.hpp"
#include "engine/core/metrics.hpp"
#include "engine/workflow/runtime/workflow_runtime.hpp"
#include "engine/workflow/store/workflow_index.hpp"
#include "engine/workflow/tasks/builtin_tasks.hpp"
#include "engine/workflow/tasks/task_dispatcher.hpp"
#include "engine/workflow/tasks/task_handlers.hpp"
#include "persistence/backup.hpp"
#include "persistence/backup_actor.hpp"
#include "persistence/journal_actor.hpp"
#include "persistence/journal_metrics.hpp"
#include "persistence/recovery_permits.hpp"
#include "persistence/rocksdb_journal.hpp"
#include "persistence/snapshot_store.hpp"
#include "persistence/snapshot_store_actor.hpp"

namespace wfe::engine {

namespace {

using time_point = core::coordinated_shutdown::clock::time_point;

// SIGHUP, as daemons do: the log file is reopened (after logrotate moved it), the API
// token file, the API's TLS certificate, key and client CA, and the cluster transport's
// certificate, key and CA re-read (bad files keep what is in use and say why; open
// connections keep their TLS session).
void on_hangup(const node_settings& s, cluster::tls_relay* relay) {
  auto log = core::logger("core");
  if (auto err = core::reopen_log_file(); !err.empty()) {
    log->error("SIGHUP: cannot reopen the log file: {}", err);
  } else if (!s.logging.file.empty()) {
    log->info("SIGHUP: log file {} reopened", s.logging.file);
  }
  if (s.api.http.auth) {
    if (auto err = s.api.http.auth->reload(); !err.empty()) {
      log->error("SIGHUP: the API tokens are unchanged: {}", err);
    } else {
      log->info("SIGHUP: API tokens reloaded ({} tokens)", s.api.http.auth->current()->size());
    }
  }
  if (s.api.http.tls) {
    if (auto err = s.api.http.tls->reload(); !err.empty()) {
      log->error("SIGHUP: the API's TLS certificate is unchanged: {}", err);
    } else {
      log->info("SIGHUP: the API's TLS certificate {} reloaded", s.api.http.tls->cert_file());
    }
  }
  if (relay != nullptr) {
    if (auto err = relay->reload(); !err.empty()) {
      log->error("SIGHUP: the cluster transport's TLS certificate is unchanged: {}", err);
    } else {
      log->info("SIGHUP: the cluster transport's TLS certificate {} reloaded", relay->cert_file());
    }
  }
}

// The thread that turns SIGTERM and SIGINT into the coordinated shutdown and SIGHUP into
// a certificate reload (the signals are blocked in every thread: main.cpp). It uses the
// node's shutdown and settings, so it must be gone before they are: the destructor marks
// it stopping, wakes its sigwait with a SIGHUP aimed at it and joins it. (It used to be
// detached: a signal after run_node returned reached a destroyed shutdown object, and
// ThreadSanitizer reported the destructor racing the thread.)
class signal_watcher {
 public:
  signal_watcher(core::coordinated_shutdown& shutdown, const node_settings& s,
                 std::shared_ptr<cluster::tls_relay> relay)
      : thread_([this, &shutdown, &s, relay = std::move(relay)] {
          auto set = handled_signals();
          for (;;) {
            int sig = 0;
            if (sigwait(&set, &sig) != 0) continue;
            if (stopping_.load()) return;
            if (sig == SIGHUP) {
              on_hangup(s, relay.get());
            } else {
              shutdown.trigger(sig == SIGTERM ? "SIGTERM" : "SIGINT");
            }
          }
        }) {}
  signal_watcher(const signal_watcher&) = delete;
  signal_watcher& operator=(const signal_watcher&) = delete;
  ~signal_watcher() {
    stopping_.store(true);
    pthread_kill(thread_.native_handle(), SIGHUP);
    thread_.join();
  }

 private:
  std::atomic<bool> stopping_{false};
  std::thread thread_;  // last: started once stopping_ exists
};

// The journal and snapshot store, open for the node's lifetime. A store that cannot
// be opened (corruption, another process holding it) stops the start: never run with
// quietly missing events.
struct storage {
  // What GET /health reports: the journal, the snapshot store and the workflow index say
  // when RocksDB will not write again before a restart (core/health.hpp).
  std::shared_ptr<core::health> health = std::make_shared<core::health>();
  std::shared_ptr<persistence::journal_metrics> metrics;
  std::shared_ptr<persistence::rocksdb_journal> journal;
  std::shared_ptr<persistence::rocksdb_snapshot_store> snapshots;
};

bool open_storage(const persistence::persistence_settings& s, prometheus::Registry& registry,
                  storage& out) {
  auto log = core::logger("persistence");
  // A copy the deployment guide's `tar -xzf … -C <parent>` put beside the store
  // (persistence/backup.hpp, adopt_extracted_copy) is what the operator restored.
  for (const auto& [dir, what] : {std::pair{s.journal_dir, "journal"},
                                  std::pair{s.snapshot_dir, "snapshot store"}}) {
    auto adopted = persistence::adopt_extracted_copy(dir);
    if (!adopted) {
      log->error("cannot open the {} at {}: {}", what, dir.string(), adopted.error().describe());
      return false;
    }
    if (*adopted) log->warn("{}: {}", what, **adopted);
  }
  out.metrics = std::make_shared<persistence::journal_metrics>(&registry);
  auto journal_config = s.journal_config();
  journal_config.health = out.health;
  auto journal = persistence::rocksdb_journal::open(journal_config, out.metrics);
  if (!journal) {
    log->error("cannot open the journal at {}: {}", s.journal_dir.string(),
               journal.error().describe());
    return false;
  }
  out.journal = std::move(*journal);
  auto snapshot_config = s.snapshot_store_config();
  snapshot_config.health = out.health;
  auto snapshots = persistence::rocksdb_snapshot_store::open(snapshot_config, out.metrics);
  if (!snapshots) {
    log->error("cannot open the snapshot store at {}: {}", s.snapshot_dir.string(),
               snapshots.error().describe());
    return false;
  }
  out.snapshots = std::move(*snapshots);
  log->info("journal open at {}, snapshot store at {}", s.journal_dir.string(),
            s.snapshot_dir.string());
  return true;
}

// RocksDB's memtables are bounded buffers, not per-workflow state: exported apart so the
// memory per workflow can be told from them (bench/run_workflow_bench.sh, part e).
void add_storage_memory_gauges(core::metrics_registry& m, const storage& st,
                               std::shared_ptr<const workflow::store::workflow_index> index) {
  const std::string help = "Bytes held by the RocksDB memtables of a store";
  m.add_sampled_gauge("rocksdb_memtable_bytes", help, {{"db", "journal"}},
                      [j = st.journal] { return static_cast<double>(j->memtable_bytes()); });
  m.add_sampled_gauge("rocksdb_memtable_bytes", help, {{"db", "snapshots"}},
                      [s = st.snapshots] { return static_cast<double>(s->memtable_bytes()); });
  const std::string kept_help =
      "Bytes of files RocksDB deleted that are kept for live copies of a store "
      "(journal.rocksdb.keep-deleted-files-for)";
  m.add_sampled_gauge(
      "rocksdb_deleted_files_kept_bytes", kept_help, {{"db", "journal"}},
      [j = st.journal] { return static_cast<double>(j->deleted_files_kept_bytes()); });
  m.add_sampled_gauge(
      "rocksdb_deleted_files_kept_bytes", kept_help, {{"db", "snapshots"}},
      [s = st.snapshots] { return static_cast<double>(s->deleted_files_kept_bytes()); });
  if (!index) return;
  m.add_sampled_gauge(
      "rocksdb_memtable_bytes", help, {{"db", "workflow-index"}},
      [index = std::move(index)] { return static_cast<double>(index->memtable_bytes()); });
}

// pekko.remote.artery.transport = tls-tcp: the relay's connections, read at scrape time.
void add_transport_tls_gauges(core::metrics_registry& m, std::shared_ptr<cluster::tls_relay> relay) {
  if (!relay) return;
  m.add_sampled_gauge("cluster_transport_tls_open_connections",
                      "TLS connections between nodes open now (both directions)", {},
                      [relay] { return static_cast<double>(relay->current_stats().open); });
  const std::string help =
      "TLS connections between nodes since start, by result: inbound and outbound "
      "authenticated, handshake_failed (refused certificate, timeout, not TLS), over_limit "
      "(closed at once: pekko.workflow.transport.tls.max-connections open)";
  using stats = cluster::tls_relay::stats;
  const std::pair<const char*, std::uint64_t stats::*> results[] = {
      {"inbound", &stats::inbound},
      {"outbound", &stats::outbound},
      {"handshake_failed", &stats::handshake_failures},
      {"over_limit", &stats::over_limit}};
  for (const auto& [result, field] : results) {
    m.add_sampled_gauge("cluster_transport_tls_connections_total", help, {{"result", result}},
                        [relay, field = field] {
                          return static_cast<double>(relay->current_stats().*field);
                        });
  }
}

struct servers {
  std::unique_ptr<api::http_server> api;
  std::unique_ptr<api::http_server> metrics;
};

void add_shutdown_tasks(core::coordinated_shutdown& shutdown, servers& srv,
                        core::actor_runtime& runtime, const caf::actor& membership) {
  using core::shutdown_phase;
  shutdown.add_task(shutdown_phase::service_unbind, "http-unbind",
                    [&srv](time_point) { srv.api->stop_accepting(); });
  shutdown.add_task(shutdown_phase::service_requests_done, "http-drain", [&srv](time_point d) {
    if (!srv.api->stop(d)) {
      core::logger("api")->warn("in-flight HTTP requests did not finish before the deadline");
    }
  });
  shutdown.add_task(shutdown_phase::service_stop, "metrics-stop", [&srv](time_point d) {
    srv.metrics->stop_accepting();
    srv.metrics->stop(d);
  });
  shutdown.add_task(shutdown_phase::cluster_leave, "cluster-leave",
                    [&runtime, membership](time_point d) {
                      caf::scoped_actor self{runtime.system()};
                      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          d - core::coordinated_shutdown::clock::now());
                      self->request(membership, std::max(left, std::chrono::milliseconds(1)),
                                    cluster::leave_atom::value)
                          .receive([] {},
                                   [](caf::error& e) {
                                     core::logger("cluster")->warn("leaving the cluster failed: {}",
                                                                   caf::to_string(e));
                                   });
                    });
  // Journal actors write what they hold before they exit, so they stop last.
  shutdown.add_task(shutdown_phase::actor_system_terminate, "actors-stop",
                    [&runtime](time_point) { runtime.stop_all(); });
}

struct storage_actors {
  caf::actor journal;
  caf::actor journal_reader;  // history reads, off the group-commit thread
  caf::actor snapshots;
  caf::actor backup;  // for the admin routes
};

storage_actors spawn_storage_actors(core::actor_runtime& runtime, const storage& st,
                                    const persistence::persistence_settings& s) {
  auto& sys = runtime.system();
  storage_actors out;
  out.journal =
      persistence::spawn_journal_actor(sys, {st.journal, nullptr, st.metrics}, s.journal_actor());
  runtime.supervise(out.journal);
  out.journal_reader = persistence::spawn_journal_reader(sys, st.journal);
  runtime.supervise(out.journal_reader);
  out.snapshots =
      persistence::spawn_snapshot_store_actor(sys, st.snapshots, s.snapshot_store_actor());
  runtime.supervise(out.snapshots);
  out.backup = persistence::spawn_backup_actor(sys, {st.journal, st.snapshots, s.backup_dir});
  runtime.supervise(out.backup);
  return out;
}

// Starts the workflow runtime (index reconciliation, region, timers, dispatcher,
// registry; wakes interrupted workflows) and adds its routes and the task routes.
bool start_workflows(core::actor_runtime& runtime, const node_settings& s, const storage& st,
                     storage_actors& sa, prometheus::Registry& registry, api::router& routes,
                     std::shared_ptr<core::loop_dispatcher> shard_dispatcher,
                     workflow::runtime::runtime_parts& parts) {
  auto& sys = runtime.system();
  auto permits = persistence::spawn_recovery_permits(sys, s.persistence.max_concurrent_recoveries);
  runtime.supervise(permits);
  workflow::runtime::runtime_config c;
  c.runtime = s.workflow_runtime;
  c.tasks = s.tasks;
  c.store = s.store;
  c.store.index.health = st.health;
  c.entity = s.persistence.eventsourced();
  c.journal_actor = sa.journal;
  c.snapshots = sa.snapshots;
  c.recovery_permits = permits;
  c.journal = st.journal;
  c.journal_metrics = st.metrics;
  c.handlers = std::make_shared<workflow::task_handlers>();
  c.registry = &registry;
  c.shard_dispatcher = shard_dispatcher;
  auto started = workflow::runtime::start_workflow_runtime(sys, std::move(c));
  if (!started) {
    core::logger("workflow")
        ->error("cannot start the workflow runtime: {}", started.error().describe());
    return false;
  }
  parts = std::move(*started);
  // Newest first at stop_all: the region (entities) before the stores they write to.
  for (const auto& a :
       {parts.index, parts.registry, parts.timers, parts.dispatcher, parts.region, parts.retention,
        parts.archiver, parts.archive_reader}) {
    if (a) runtime.supervise(a);
  }
  auto timeout = s.api.http.limits.request_timeout;
  auto handlers = parts.handlers;
  api::workflow_routes_config wc;
  wc.system = &sys;
  wc.region = &parts.region;
  wc.router = &parts.router;
  wc.registry = &parts.registry;
  wc.index = &parts.index;
  wc.journal = &sa.journal_reader;
  wc.archiver = &parts.archiver;
  wc.load = parts.load;
  wc.known_tasks = [handlers] { return workflow::known_task_types(handlers.get()); };
  wc.check_task_input = [tasks = s.tasks](std::string_view task, const boost::json::value& input) {
    return workflow::check_builtin_input(task, input, tasks);
  };
  wc.number_of_shards = s.workflow_runtime.number_of_shards;
  wc.list_default_limit = s.store.index.list_default_limit;
  wc.list_max_limit = s.store.index.list_max_limit;
  wc.history_default_limit = s.workflow_runtime.history_default_limit;
  wc.history_max_limit = s.workflow_runtime.history_max_limit;
  wc.ask_timeout = timeout;
  runtime.supervise(api::add_workflow_routes(routes, wc));
  runtime.supervise(api::add_task_routes(
      routes, {&sys, &parts.dispatcher, timeout, s.tasks.poll_wait_max, s.tasks.max_result_bytes}));
  return true;
}

// Stops the entities (and the waker and the retention sweeper) once HTTP requests are drained, before the stores
// and the journal they write to; waits for the region until the phase deadline.
void add_workflow_shutdown(core::coordinated_shutdown& shutdown, core::actor_runtime& runtime,
                           const workflow::runtime::runtime_parts& parts) {
  // Only these handles: the task outlives the actor system (`shutdown` is made first), and
  // a handle to a detached actor (the archiver) would keep the system's end waiting.
  shutdown.add_task(
      core::shutdown_phase::service_stop, "workflow-stop",
      [&runtime, region = parts.region, waker = parts.waker,
       retention = parts.retention](time_point d) {
        caf::scoped_actor self{runtime.system()};
        self->monitor(region);
        if (waker) self->send_exit(waker, caf::exit_reason::user_shutdown);
        if (retention) self->send_exit(retention, caf::exit_reason::user_shutdown);
        self->send_exit(region, caf::exit_reason::user_shutdown);
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            d - core::coordinated_shutdown::clock::now());
        self->receive(
            [](caf::down_msg&) {},
            caf::after(std::max(left, std::chrono::milliseconds(1))) >>
                [] { core::logger("workflow")->warn("workflow entities did not stop in time"); });
      });
}

bool start_servers(const node_settings& s, api::router api_routes,
                   const std::shared_ptr<core::metrics_registry>& metrics, servers& srv) {
  api::router metrics_routes;
  api::add_metrics_route(metrics_routes, metrics);
  auto api_server = api::http_server::start(s.api.http, std::move(api_routes), metrics->registry());
  if (!api_server) {
    core::logger("api")->error("{}", api_server.error());
    return false;
  }
  auto metrics_server =
      api::http_server::start(s.api.metrics, std::move(metrics_routes), metrics->registry());
  if (!metrics_server) {
    core::logger("api")->error("{}", metrics_server.error());
    return false;
  }
  srv.api = std::move(*api_server);
  srv.metrics = std::move(*metrics_server);
  return true;
}

void log_started(const node_settings& s, std::uint16_t transport_port, const servers& srv,
                 const char* version) {
  core::log_event(
      *core::logger("core"), spdlog::level::info, "NODE_STARTED",
      {{"self", s.cluster.self.to_string()},
       {"transport", s.cluster.bind_hostname + ":" + std::to_string(transport_port)},
       {"http", s.api.http.interface + ":" + std::to_string(srv.api->bound_port())},
       {"metrics", s.api.metrics.interface + ":" + std::to_string(srv.metrics->bound_port())},
       {"version", version}},
      "workflow-engine node started");
}

caf::actor spawn_membership(core::actor_runtime& runtime, const node_settings& s,
                            const char* version, core::coordinated_shutdown& shutdown,
                            prometheus::Registry& registry,
                            std::shared_ptr<cluster::tls_relay> relay) {
  cluster::membership_actor_config mc;
  mc.relay = std::move(relay);
  mc.metrics = std::make_shared<cluster::cluster_metrics>(&registry);
  mc.settings = s.cluster;
  mc.membership = s.membership;
  mc.app_version = version;
  // Settings every member must share; a joiner that differs is refused.
  mc.join_compat = {{"pekko.cluster.sharding.number-of-shards",
                     std::to_string(s.cluster.sharding.number_of_shards)}};
  // Downed or removed without leaving: the node must not go on serving.
  mc.on_self_removed = [&shutdown](const std::string& reason) {
    shutdown.trigger("cluster: " + reason);
  };
  return cluster::spawn_membership_actor(runtime.system(), std::move(mc));
}

}  // namespace

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

int run_node(const node_settings& s, const char* version) {
  if (auto err = core::init_logging(s.logging); !err.empty()) {
    std::fprintf(stderr, "workflow-engine: %s\n", err.c_str());
    return exit_usage;
  }
  auto log = core::logger("core");
  if (auto err = s.persistence.prepare_dirs(); !err.empty()) {
    log->error("{}", err);
    return exit_storage;
  }
  auto metrics = std::make_shared<core::metrics_registry>(version);
  storage st;  // outlives the actor runtime: the storage actors hold it until they exit
  if (!open_storage(s.persistence, metrics->registry(), st)) return exit_storage;
  auto relay = cluster::start_tls_relay(s.cluster);
  if (!relay) {
    log->error("{}", relay.error());
    return exit_failure;
  }
  core::coordinated_shutdown shutdown(s.shutdown);
  signal_watcher signals(shutdown, s, *relay);
  core::actor_runtime runtime(s.actors, cluster::register_wire_types);
  // Where the shards run once the API serves (they keep it alive as long as they exist).
  std::shared_ptr<core::loop_dispatcher> shard_dispatcher;
  if (s.workflow_runtime.shards_on_http_io) {
    shard_dispatcher = std::make_shared<core::loop_dispatcher>(
        runtime.system(), s.workflow_runtime.shard_dispatcher_throughput);
  }
  auto storage_refs = spawn_storage_actors(runtime, st, s.persistence);
  auto backup = storage_refs.backup;
  auto membership = spawn_membership(runtime, s, version, shutdown, metrics->registry(), *relay);
  runtime.supervise(membership);
  auto transport_port =
      cluster::open_transport(runtime.system(), membership, s.cluster, relay->get());
  if (!transport_port) {
    log->error("{}", transport_port.error());
    runtime.stop_all();
    return exit_failure;
  }
  api::router routes;
  auto timeout = s.api.http.limits.request_timeout;
  runtime.supervise(api::add_node_routes(routes, {&runtime.system(), &membership, version, timeout,
                                                  s.management.read_only, st.health}));
  runtime.supervise(api::add_admin_routes(
      routes, {&runtime.system(), &backup, s.persistence.backup_dir.string(), timeout}));
  workflow::runtime::runtime_parts workflows;
  const bool worker = s.cluster.has_role("worker");
  if (!worker) {
    log->warn("{}", api::add_unhosted_workflow_routes(routes, s.cluster.roles));
  } else if (!start_workflows(runtime, s, st, storage_refs, metrics->registry(), routes,
                              shard_dispatcher, workflows)) {
    runtime.stop_all();
    return exit_storage;
  }
  add_storage_memory_gauges(*metrics, st, workflows.index_db);
  add_transport_tls_gauges(*metrics, *relay);
  servers srv;
  if (!start_servers(s, std::move(routes), metrics, srv)) {
    runtime.stop_all();
    return exit_failure;
  }
  if (shard_dispatcher) {
    // Back to CAF's scheduler when the API stops (http-drain): the shards still have the
    // node's shutdown to go through.
    srv.api->after_stop([d = shard_dispatcher] { d->detach(); });
    shard_dispatcher->attach(
        [api = srv.api.get()](std::function<void()> fn) { api->post(std::move(fn)); });
  }
  add_shutdown_tasks(shutdown, srv, runtime, membership);
  if (worker) add_workflow_shutdown(shutdown, runtime, workflows);
  log_started(s, *transport_port, srv, version);
  shutdown.run(shutdown.wait_for_trigger());
  srv = {};
  core::flush_logs();
  return exit_ok;
}

}  // namespace wfe::engine
