#include "engine/workflow/runtime/workflow_region.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "engine/workflow/runtime/runtime_entity.hpp"
#include "engine/workflow/runtime/runtime_messages.hpp"
#include "engine/workflow/runtime/shard_hash.hpp"
#include "engine/workflow/store/store_messages.hpp"
#include "engine/workflow/tasks/task_messages.hpp"

namespace wfe::workflow::runtime {
namespace {
using ctx_ptr = std::shared_ptr<const entity_context>;
}  // namespace
}  // namespace wfe::workflow::runtime

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::runtime::ctx_ptr)

namespace wfe::workflow::runtime {

namespace {

using clock = std::chrono::steady_clock;
using tick_atom = caf::atom_constant<caf::atom("rtick")>;
using resubmit_atom = caf::atom_constant<caf::atom("rresub")>;

std::int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Shared by the region and its shards; counters are atomics and prometheus metrics.
struct region_shared {
  runtime_settings settings;
  persistence::eventsourced_deps entity_deps;
  persistence::eventsourced_config entity_cfg;
  std::function<std::int64_t()> clock;
  std::size_t per_shard_limit = 1;
  prometheus::Gauge* active_gauge = nullptr;
  prometheus::Counter* passivated_counter = nullptr;
  std::atomic<std::uint64_t> active{0};
  std::atomic<std::uint64_t> passivated{0};
  std::atomic<std::uint32_t> shards{0};
};

// -- shard ----------------------------------------------------------------------

struct pending_msg {
  std::optional<caf::response_promise> promise;  // set: a request to delegate
  std::variant<command, resubmit_task> msg;
  std::function<void(entity_reply)> reply = {};  // set: the entity calls it (entity_call)
};

struct entry {
  caf::actor actor;
  std::list<std::string>::iterator lru;
  clock::time_point last;
  bool stopping = false;
  std::vector<pending_msg> buffer;  // not a deque: an empty one allocates ~600 bytes
};

class shard_actor : public caf::event_based_actor {
 public:
  shard_actor(caf::actor_config& cfg, std::uint32_t shard, std::shared_ptr<region_shared> shared,
              ctx_ptr ctx)
      : caf::event_based_actor(cfg),
        shard_(shard),
        shared_(std::move(shared)),
        ctx_(std::move(ctx)),
        rng_(shard) {
    auto idle = shared_->settings.passivate_idle_after;
    tick_ = std::clamp<std::chrono::milliseconds>(idle / 4, std::chrono::milliseconds(10),
                                                  std::chrono::milliseconds(10'000));
  }

  caf::behavior make_behavior() override {
    set_down_handler([this](caf::down_msg& m) { on_down(m); });
    set_exit_handler([this](caf::exit_msg& m) {
      for (auto& [id, e] : entities_) send_exit(e.actor, caf::exit_reason::user_shutdown);
      quit(m.reason);
    });
    delayed_send(this, tick_, tick_atom::value);
    return {
        [this](entity_envelope& env) {
          if (env.reply) {
            route(env.id, pending_msg{std::nullopt, std::move(env.cmd), std::move(env.reply)});
            return;
          }
          auto rp = make_response_promise();
          route(env.id, pending_msg{std::move(rp), std::move(env.cmd)});
        },
        [this](task_update& u) { on_task_update(u); },
        [this](store::timer_due& t) {
          route(t.workflow_id, pending_msg{std::nullopt, command{std::move(t.fired)}});
        },
        [this](resubmit_atom, std::string& id, resubmit_task& n) {
          route(id, pending_msg{std::nullopt, std::move(n)});
        },
        [this](ctx_ptr& ctx) { ctx_ = std::move(ctx); },
        [this](tick_atom) {
          passivate_idle();
          delayed_send(this, tick_, tick_atom::value);
        },
    };
  }

 private:
  void on_task_update(task_update& u) {
    switch (u.what) {
      case task_update::kind::rejected: {
        auto base = shared_->settings.task_resubmit_delay;
        std::uniform_int_distribution<std::int64_t> jitter(0, base.count() / 2);
        delayed_send(this, base + std::chrono::milliseconds(jitter(rng_)), resubmit_atom::value,
                     std::move(u.workflow_id), resubmit_task{std::move(u.step), u.attempt});
        return;
      }
      case task_update::kind::resubmit:
        // The dispatcher parked the refused attempt and now holds a slot for it: offer
        // it again at once (what the delayed path above does later).
        route(u.workflow_id, {std::nullopt, resubmit_task{std::move(u.step), u.attempt}});
        return;
      case task_update::kind::started:
        route(u.workflow_id, {std::nullopt, command{cmd::task_started{u.step, u.attempt}}});
        return;
      case task_update::kind::completed:
        route(u.workflow_id,
              {std::nullopt,
               command{cmd::task_completed{u.step, u.attempt, std::move(u.output), u.started}}});
        return;
      case task_update::kind::failed:
        route(u.workflow_id,
              {std::nullopt,
               command{cmd::task_failed{u.step, u.attempt, std::move(u.error_type),
                                        std::move(u.message), u.non_retryable, u.started}}});
        return;
    }
  }

  void route(const std::string& id, pending_msg m) {
    auto it = entities_.find(id);
    if (it == entities_.end()) {
      if (std::holds_alternative<resubmit_task>(m.msg)) {
        // Not running: its recovery re-dispatches every scheduled step anyway (a `get`
        // makes it recover; entities recover on their first command).
        caf::anon_send(spawn_entity(id)->second.actor, command{cmd::get{}});
        return;
      }
      it = spawn_entity(id);
    }
    auto& e = it->second;
    if (e.stopping) {
      if (e.buffer.size() >= shared_->settings.entity_buffer_size) {
        refuse(m, "the buffer of workflow " + id + " (stopping) is full");
        return;
      }
      e.buffer.push_back(std::move(m));
      return;
    }
    touch(e);
    deliver(e.actor, std::move(m));
  }

  static void refuse(pending_msg& m, const std::string& why) {
    entity_reply refusal(persistence::fail(persistence::errc::unavailable, why));
    if (m.reply) {
      m.reply(std::move(refusal));
    } else if (m.promise) {
      m.promise->deliver(std::move(refusal));
    }
  }

  void deliver(const caf::actor& entity, pending_msg m) {
    if (auto* c = std::get_if<command>(&m.msg)) {
      if (m.reply) {
        caf::anon_send(entity, entity_call{std::move(*c), std::move(m.reply)});
      } else if (m.promise) {
        m.promise->delegate(entity, std::move(*c));
      } else {
        caf::anon_send(entity, std::move(*c));
      }
    } else {
      caf::anon_send(entity, std::get<resubmit_task>(m.msg));
    }
  }

  void touch(entry& e) {
    e.last = clock::now();
    lru_.splice(lru_.begin(), lru_, e.lru);
  }

  std::unordered_map<std::string, entry>::iterator spawn_entity(const std::string& id) {
    auto now_fn = shared_->clock;
    auto actor = persistence::spawn_eventsourced(
        system(), runtime_entity_model{std::move(now_fn), ctx_},
        persistence::persistence_id{persistence::shard_id{shard_}, id}, shared_->entity_deps,
        shared_->entity_cfg);
    monitor(actor);
    lru_.push_front(id);
    entry e{actor, lru_.begin(), clock::now(), false, {}};
    by_actor_[actor.id()] = id;
    auto [it, inserted] = entities_.emplace(id, std::move(e));
    shared_->active.fetch_add(1, std::memory_order_relaxed);
    if (shared_->active_gauge) shared_->active_gauge->Increment();
    if (entities_.size() > shared_->per_shard_limit) passivate_lru_over_limit();
    return it;
  }

  void passivate(entry& e) {
    if (e.stopping) return;
    e.stopping = true;
    auto aid = e.actor.id();
    request(e.actor, shared_->entity_cfg.request_timeout, persistence::passivate_atom::value)
        .then([this, aid](bool accepted) { on_passivate_answer(aid, accepted); },
              [this, aid](caf::error&) { on_passivate_answer(aid, false); });
  }

  void on_passivate_answer(caf::actor_id aid, bool accepted) {
    if (accepted) return;  // the down message follows
    auto name = by_actor_.find(aid);
    if (name == by_actor_.end()) return;
    auto it = entities_.find(name->second);
    if (it == entities_.end()) return;
    auto& e = it->second;
    e.stopping = false;
    touch(e);
    auto buffer = std::move(e.buffer);
    e.buffer.clear();
    for (auto& m : buffer) deliver(e.actor, std::move(m));
  }

  void passivate_idle() {
    auto cutoff = clock::now() - shared_->settings.passivate_idle_after;
    for (auto it = lru_.rbegin(); it != lru_.rend(); ++it) {
      auto& e = entities_.at(*it);
      if (e.last > cutoff) break;
      passivate(e);
    }
  }

  void passivate_lru_over_limit() {
    for (auto it = lru_.rbegin(); it != lru_.rend(); ++it) {
      auto& e = entities_.at(*it);
      if (!e.stopping) {
        passivate(e);
        return;
      }
    }
  }

  void on_down(caf::down_msg& m) {
    auto name = by_actor_.find(m.source.id());
    if (name == by_actor_.end()) return;
    auto id = std::move(name->second);
    by_actor_.erase(name);
    auto it = entities_.find(id);
    if (it == entities_.end()) return;
    auto buffer = std::move(it->second.buffer);
    bool passivated = it->second.stopping && m.reason == caf::exit_reason::normal;
    lru_.erase(it->second.lru);
    entities_.erase(it);
    shared_->active.fetch_sub(1, std::memory_order_relaxed);
    if (shared_->active_gauge) shared_->active_gauge->Decrement();
    if (passivated) {
      shared_->passivated.fetch_add(1, std::memory_order_relaxed);
      if (shared_->passivated_counter) shared_->passivated_counter->Increment();
    }
    if (buffer.empty()) return;
    // Messages arrived while it stopped: its next incarnation takes them, in order
    // (entities recover on their first command: a notice alone would not wake it).
    auto fresh = spawn_entity(id);
    if (std::holds_alternative<resubmit_task>(buffer.front().msg)) {
      caf::anon_send(fresh->second.actor, command{cmd::get{}});
    }
    for (auto& p : buffer) deliver(fresh->second.actor, std::move(p));
  }

  std::uint32_t shard_;
  std::shared_ptr<region_shared> shared_;
  ctx_ptr ctx_;
  std::minstd_rand rng_;
  std::chrono::milliseconds tick_{1000};
  std::unordered_map<std::string, entry> entities_;
  std::unordered_map<caf::actor_id, std::string> by_actor_;
  std::list<std::string> lru_;  // most recently used first
};

// -- region ---------------------------------------------------------------------

class region_actor : public caf::event_based_actor {
 public:
  region_actor(caf::actor_config& cfg, std::shared_ptr<region_shared> shared, ctx_ptr ctx)
      : caf::event_based_actor(cfg), shared_(std::move(shared)), ctx_(std::move(ctx)) {
    shards_.resize(shared_->settings.number_of_shards);
  }

  caf::behavior make_behavior() override {
    return {
        [this](entity_envelope& env) {
          auto& shard = shard_for(env.id);
          if (env.reply) {
            send(shard, std::move(env));
          } else {
            delegate(shard, std::move(env));
          }
        },
        [this](task_update& u) {
          auto& shard = shard_for(u.workflow_id);
          send(shard, std::move(u));
        },
        [this](store::timer_due& t) {
          auto& shard = shard_for(t.workflow_id);
          send(shard, std::move(t));
        },
        [this](runtime_links& links) {
          auto ctx = std::make_shared<entity_context>(*ctx_);
          ctx->links = std::move(links);
          ctx_ = std::move(ctx);
          for (auto& s : shards_) {
            if (s) send(s, ctx_);
          }
        },
        [this](wake_entities& w) { wake(std::move(w.ids)); },
        [this](get_region_stats) {
          return region_stats{shared_->active.load(), shared_->passivated.load(),
                              shared_->shards.load()};
        },
    };
  }

 private:
  caf::actor& shard_for(const std::string& id) {
    auto n = shard_of(id, static_cast<std::uint32_t>(shards_.size()));
    auto& s = shards_[n];
    if (!s) {
      s = spawn<shard_actor, caf::linked>(n, shared_, ctx_);
      shared_->shards.fetch_add(1, std::memory_order_relaxed);
    }
    return s;
  }

  void wake(std::vector<std::string> ids) {
    auto rp = make_response_promise();
    if (ids.empty()) {
      rp.deliver(std::uint64_t{0});
      return;
    }
    auto left = std::make_shared<std::size_t>(ids.size());
    auto answered = std::make_shared<std::uint64_t>(0);
    auto timeout = shared_->entity_cfg.request_timeout * 2;
    for (auto& id : ids) {
      auto& shard = shard_for(id);
      auto done = [rp, left, answered](bool ok) mutable {
        if (ok) ++*answered;
        if (--*left == 0) rp.deliver(*answered);
      };
      request(shard, timeout, entity_envelope{std::move(id), cmd::get{}})
          .then([done](entity_reply&) mutable { done(true); },
                [done](caf::error&) mutable { done(false); });
    }
  }

  std::shared_ptr<region_shared> shared_;
  ctx_ptr ctx_;
  std::vector<caf::actor> shards_;
};

}  // namespace

caf::actor spawn_workflow_region(caf::actor_system& sys, const runtime_settings& settings,
                                 const region_deps& deps) {
  auto shared = std::make_shared<region_shared>();
  shared->settings = settings;
  if (shared->settings.number_of_shards == 0) shared->settings.number_of_shards = 1;
  shared->entity_deps.journal = *deps.journal;
  if (deps.snapshots) shared->entity_deps.snapshots = *deps.snapshots;
  if (deps.recovery_permits) shared->entity_deps.recovery_permits = *deps.recovery_permits;
  shared->entity_deps.metrics = deps.journal_metrics;
  shared->entity_cfg = deps.entity;
  shared->clock = deps.clock ? deps.clock : std::function<std::int64_t()>(system_now_ms);
  shared->per_shard_limit = static_cast<std::size_t>(
      std::max<std::uint64_t>(1, settings.max_active_entities / shared->settings.number_of_shards));
  auto ctx = std::make_shared<entity_context>();
  if (deps.registry != nullptr) {
    auto& reg = *deps.registry;
    shared->active_gauge = &prometheus::BuildGauge()
                                .Name("workflow_entities_active")
                                .Help("Workflow entities alive on this node")
                                .Register(reg)
                                .Add({});
    shared->passivated_counter = &prometheus::BuildCounter()
                                      .Name("workflow_entities_passivated_total")
                                      .Help("Workflow entities passivated (idle or over the limit)")
                                      .Register(reg)
                                      .Add({});
    ctx->started = &prometheus::BuildCounter()
                        .Name("workflow_started_total")
                        .Help("Workflows started (WorkflowStarted persisted)")
                        .Register(reg)
                        .Add({});
    auto& finished = prometheus::BuildCounter()
                         .Name("workflow_finished_total")
                         .Help("Workflows finished, by final status")
                         .Register(reg);
    ctx->completed = &finished.Add({{"status", "COMPLETED"}});
    ctx->failed = &finished.Add({{"status", "FAILED"}});
    ctx->cancelled = &finished.Add({{"status", "CANCELLED"}});
  }
  return sys.spawn<region_actor>(std::move(shared), ctx_ptr(std::move(ctx)));
}

}  // namespace wfe::workflow::runtime
