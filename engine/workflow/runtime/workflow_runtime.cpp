#include "engine/workflow/runtime/workflow_runtime.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "engine/core/logging.hpp"
#include "engine/workflow/runtime/archive.hpp"
#include "engine/workflow/runtime/rehome.hpp"
#include "engine/workflow/runtime/retention.hpp"
#include "engine/workflow/runtime/runtime_messages.hpp"
#include "engine/workflow/runtime/workflow_region.hpp"
#include "engine/workflow/store/definition_registry.hpp"
#include "engine/workflow/store/store_messages.hpp"
#include "engine/workflow/store/store_metrics.hpp"
#include "engine/workflow/store/timer_service.hpp"
#include "engine/workflow/store/workflow_index.hpp"
#include "engine/workflow/tasks/task_dispatcher.hpp"
#include "engine/workflow/tasks/task_messages.hpp"
#include "persistence/eventsourced.hpp"
#include "persistence/journal_actor.hpp"

namespace wfe::workflow::runtime {

namespace {

// How long start-up waits for every shard to take the runtime links (an idle actor
// answers in microseconds; this only bounds a wedged start).
constexpr std::chrono::seconds k_links_timeout{30};

struct wake_progress {
  std::shared_ptr<std::vector<std::string>> ids;
  std::size_t batch = 0;
  std::size_t next = 0;
  std::uint64_t woken = 0;
};

// Sends the next batch of ids to the region and, once it is answered, the one after.
// (A plain function, not a std::function that captures itself: that one kept itself, the
// region and everything the region holds alive for good.)
void wake_next(caf::event_based_actor* self, const caf::actor& region,
               const std::shared_ptr<wake_progress>& p) {
  const auto& ids = *p->ids;
  if (p->next >= ids.size()) {
    core::logger("workflow")->info("woke {} of {} workflows after start", p->woken, ids.size());
    self->quit();
    return;
  }
  auto end = std::min(ids.size(), p->next + p->batch);
  wake_entities w{{ids.begin() + static_cast<std::ptrdiff_t>(p->next),
                   ids.begin() + static_cast<std::ptrdiff_t>(end)}};
  p->next = end;
  self->request(region, caf::infinite, std::move(w))
      .then(
          [self, region, p](std::uint64_t n) {
            p->woken += n;
            wake_next(self, region, p);
          },
          [self](caf::error& e) {
            core::logger("workflow")->warn("waking workflows stopped: {}", caf::to_string(e));
            self->quit();
          });
}

// Wakes `ids` through the region, one batch at a time, then stops.
// Meanwhile the dispatcher answers a token without a task `recovering` (its attempt may
// be queued again by a recovery), not `not_found`: switched on before the waker is
// spawned (so before any HTTP request reaches the dispatcher), off when it stops.
caf::behavior waker(caf::event_based_actor* self, caf::actor region, caf::actor dispatcher,
                    std::shared_ptr<std::vector<std::string>> ids, std::size_t batch) {
  self->attach_functor([dispatcher](const caf::error&) {
    caf::anon_send(dispatcher, task_recovering_atom::value, false);
  });
  auto p = std::make_shared<wake_progress>();
  p->ids = std::move(ids);
  p->batch = batch;
  wake_next(self, region, p);
  return {[](caf::unit_t) {}};
}

}  // namespace

persistence::result<runtime_parts> start_workflow_runtime(caf::actor_system& sys,
                                                          runtime_config cfg) {
  auto metrics = std::make_shared<store::store_metrics>(cfg.registry);
  auto opened = store::workflow_index::open(cfg.store.index, metrics);
  if (!opened) return core::unexpected<persistence::error>{opened.error()};
  std::shared_ptr<store::workflow_index> index = std::move(*opened);

  // Before reconcile: a moved workflow is then found (and woken) under its own shard.
  auto rehomed = rehome_misplaced_workflows(*cfg.journal, cfg.runtime.number_of_shards,
                                            cfg.store.index.reconcile_batch);
  if (!rehomed) return core::unexpected<persistence::error>{rehomed.error()};

  auto ids = std::make_shared<std::vector<std::string>>();
  auto report = store::reconcile(*cfg.journal, *index, cfg.store.index.reconcile_batch,
                                 [&ids](std::vector<std::string>&& batch) {
                                   for (auto& id : batch) ids->push_back(std::move(id));
                                 });
  if (!report) return core::unexpected<persistence::error>{report.error()};
  auto timers = index->load_timers(cfg.store.timers.max_timers);
  if (!timers) return core::unexpected<persistence::error>{timers.error()};
  // A workflow left asleep by reconcile relies on its timers: one whose timer set is
  // damaged is recovered, which writes it again. (Rare: a list search per id is fine.)
  for (auto& id : timers->damaged) {
    core::logger("workflow")->warn("workflow '{}' is recovered: its timers were damaged", id);
    if (std::find(ids->begin(), ids->end(), id) == ids->end()) ids->push_back(std::move(id));
  }

  runtime_parts parts;
  parts.to_wake = ids->size();
  // The registry first, recovered before anything can start or recover a workflow: the
  // journaled starts name their definition, and recovery looks it up in the catalog the
  // registry fills (workflow_codec.hpp).
  parts.definitions = std::make_shared<definition_catalog>();
  persistence::eventsourced_deps deps{cfg.journal_actor, cfg.snapshots, cfg.recovery_permits,
                                      cfg.journal_metrics, cfg.journal};
  parts.registry = store::spawn_definition_registry(sys, deps, cfg.entity, cfg.store.definitions,
                                                    metrics, parts.definitions);
  {
    caf::scoped_actor self{sys};
    std::optional<std::string> failed;
    self->request(parts.registry, k_links_timeout, store::get_definition{"", 0})
        .receive(
            [&failed](store::definition_lookup& r) {
              if (!r) failed = r.error().message;
            },
            [&failed](caf::error& e) { failed = caf::to_string(e); });
    if (failed) {
      stop_workflow_runtime(parts);
      return persistence::fail(persistence::errc::unavailable,
                               "the workflow definition registry did not recover: " + *failed);
    }
  }
  parts.index = store::spawn_workflow_index_actor(sys, index, cfg.store.index);
  parts.index_db = index;

  region_deps rd;
  rd.journal = &cfg.journal_actor;
  rd.snapshots = cfg.snapshots ? &cfg.snapshots : nullptr;
  rd.recovery_permits = cfg.recovery_permits ? &cfg.recovery_permits : nullptr;
  rd.journal_metrics = cfg.journal_metrics;
  rd.journal_store = cfg.journal;
  rd.entity = cfg.entity;
  rd.clock = cfg.clock;
  rd.registry = cfg.registry;
  rd.definitions = parts.definitions;
  rd.dispatcher = cfg.shard_dispatcher;
  auto region = spawn_workflow_region(sys, cfg.runtime, rd);
  parts.region = region.actor;
  parts.router = region.router;

  // The index actor is where the timer service reloads the timers beyond max-timers.
  parts.timers = store::spawn_timer_service(sys, parts.region, {cfg.clock, metrics, parts.index},
                                            cfg.store.timers, std::move(*timers));
  parts.handlers = cfg.handlers ? cfg.handlers : std::make_shared<task_handlers>();
  parts.load = std::make_shared<task_load>();
  parts.dispatcher = spawn_task_dispatcher(
      sys, cfg.tasks,
      [router = parts.router](const std::string& workflow_id) { return router.route(workflow_id); },
      cfg.registry, parts.handlers, parts.load);
  // Waited for: the router sends straight to the shards, which must have the links first.
  {
    caf::scoped_actor self{sys};
    std::optional<caf::error> failed;
    self->request(parts.region, k_links_timeout,
                  runtime_links{parts.dispatcher, parts.timers, parts.index})
        .receive([](std::uint32_t) {}, [&failed](caf::error& e) { failed = std::move(e); });
    if (failed) {
      stop_workflow_runtime(parts);
      return persistence::fail(
          persistence::errc::unavailable,
          "the workflow region did not take its links: " + caf::to_string(*failed));
    }
  }

  // The archive is opened whenever it is configured: its workflows stay readable
  // (GET /api/v1/archived-workflows/{id}) after retention is turned off.
  const bool retention = cfg.runtime.retention_finished_after.count() > 0;
  retention_deps rdeps{&parts.index, parts.router, cfg.clock, cfg.entity.request_timeout * 4};
  if (!cfg.runtime.retention_archive_dir.empty()) {
    auto archive = workflow_archive::open(
        {cfg.runtime.retention_archive_dir, cfg.runtime.retention_archive_max_file_bytes,
         cfg.runtime.retention_archive_max_bytes, cfg.runtime.retention_archive_list_max_bytes});
    if (!archive) {
      stop_workflow_runtime(parts);
      return persistence::fail(std::move(archive).error());
    }
    const auto bytes = (*archive)->bytes();
    core::logger("workflow")
        ->info("workflow archive {} ({} bytes there{})", cfg.runtime.retention_archive_dir.string(),
               bytes, retention ? "" : "; read only: retention is off");
    if (cfg.registry != nullptr && retention) {
      rdeps.archived =
          &prometheus::BuildCounter()
               .Name("workflow_archived_total")
               .Help("Workflows retention appended to its archive before deleting them")
               .Register(*cfg.registry)
               .Add({});
      rdeps.archive_refusals = &prometheus::BuildCounter()
                                    .Name("workflow_archive_refusals_total")
                                    .Help(
                                        "Archive appends refused (full or a write error): nothing "
                                        "of that page deleted")
                                    .Register(*cfg.registry)
                                    .Add({});
      rdeps.archive_bytes = &prometheus::BuildGauge()
                                 .Name("workflow_archive_bytes")
                                 .Help("Bytes in retention's archive directory")
                                 .Register(*cfg.registry)
                                 .Add({});
      rdeps.archive_bytes->Set(static_cast<double>(bytes));
    }
    parts.archiver = spawn_archiver(sys, std::move(*archive));
    if (retention) {
      parts.archive_reader = persistence::spawn_journal_reader(sys, cfg.journal);
      rdeps.archiver = parts.archiver;
      rdeps.journal = parts.archive_reader;
      rdeps.shards = cfg.runtime.number_of_shards;
    }
  }
  if (retention) parts.retention = spawn_retention_sweeper(sys, cfg.runtime, std::move(rdeps));
  if (!ids->empty()) {
    caf::anon_send(parts.dispatcher, task_recovering_atom::value, true);
    parts.waker =
        sys.spawn(waker, parts.region, parts.dispatcher, ids, cfg.runtime.wake_batch_size);
  }
  return parts;
}

void stop_workflow_runtime(const runtime_parts& parts) {
  for (const auto* a : {&parts.retention, &parts.archiver, &parts.archive_reader, &parts.waker,
                        &parts.region, &parts.dispatcher,
                        &parts.timers, &parts.registry, &parts.index}) {
    if (*a) caf::anon_send_exit(*a, caf::exit_reason::user_shutdown);
  }
}

}  // namespace wfe::workflow::runtime
