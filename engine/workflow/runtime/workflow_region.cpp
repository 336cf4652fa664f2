#include "engine/workflow/runtime/workflow_region.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <boost/unordered/unordered_flat_map.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "engine/core/clock.hpp"
#include "engine/core/logging.hpp"
#include "engine/core/loop_dispatcher.hpp"
#include "engine/workflow/runtime/runtime_entity.hpp"
#include "engine/workflow/runtime/runtime_messages.hpp"
#include "engine/workflow/runtime/shard_hash.hpp"
#include "engine/workflow/store/store_messages.hpp"
#include "engine/workflow/tasks/task_messages.hpp"
#include "persistence/journal_actor.hpp"
#include "persistence/snapshot_store_actor.hpp"

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

using core::system_now_ms;

// Shared by the region and its shards; counters are atomics and prometheus metrics.
struct region_shared {
  runtime_settings settings;
  persistence::eventsourced_deps entity_deps;
  persistence::eventsourced_config entity_cfg;
  std::function<std::int64_t()> clock;
  std::size_t per_shard_limit = 1;
  prometheus::Gauge* active_gauge = nullptr;
  prometheus::Counter* passivated_counter = nullptr;
  prometheus::Counter* purged_counter = nullptr;
  std::atomic<std::uint64_t> active{0};
  std::atomic<std::uint64_t> passivated{0};
  std::atomic<std::uint64_t> purged{0};
  std::atomic<std::uint32_t> shards{0};
  // Entities alive per shard (index: shard id), for GET /api/v1/cluster/shards.
  std::unique_ptr<std::atomic<std::uint64_t>[]> shard_active;
};

// -- shard ----------------------------------------------------------------------

using entity_type = persistence::eventsourced_entity<runtime_entity_model>;
using responder = entity_type::responder;

// A hosted entity and its place in the shard's LRU list (intrusive: no node of its own).
struct slot {
  std::shared_ptr<entity_type> entity;
  slot* newer = nullptr;
  slot* older = nullptr;
  clock::time_point last;
};

// Hosts the entities of one shard: they are objects inside this actor, not actors of
// their own (an actor costs ~1.9 KB and a spawn, a mailbox hop and a down message per
// incarnation). The shard hands them their messages; their journal requests and hooks
// run in its context. Passivation is synchronous: an idle entity is dropped at once.
class shard_actor : public caf::event_based_actor, public finish_listener {
 public:
  shard_actor(caf::actor_config& cfg, std::uint32_t shard, std::shared_ptr<region_shared> shared)
      : caf::event_based_actor(cfg), shard_(shard), shared_(std::move(shared)), rng_(shard) {
    auto idle = shared_->settings.passivate_idle_after;
    const auto finished_after = shared_->settings.passivate_finished_after;
    if (finished_after.count() > 0) idle = std::min(idle, finished_after);
    tick_ = std::clamp<std::chrono::milliseconds>(idle / 4, std::chrono::milliseconds(10),
                                                  std::chrono::milliseconds(10'000));
    host_.self = this;
    host_.deps = shared_->entity_deps;
    host_.cfg = shared_->entity_cfg;
    host_.on_stopped = [this](entity_type& e, const persistence::error&) { forget(e); };
  }

  // Until the runtime links arrive the shard hosts nothing: every other message waits in
  // the mailbox (skipped) and is handled once they are in. An entity started earlier
  // would keep a context without dispatcher, timers and index for its whole life: the
  // timer service fires the overdue timers it loaded before start-up sends the links,
  // and such a workflow persisted its StepScheduled, dispatched nothing and, kept alive
  // by its scheduled step, stayed RUNNING for good (seen in CI after kill -9).
  caf::behavior make_behavior() override {
    set_exit_handler([this](caf::exit_msg& m) { quit(m.reason); });
    set_default_handler(caf::skip);
    return {
        [this](ctx_ptr& ctx) {
          ctx_ = std::move(ctx);
          set_default_handler(caf::print_and_drop);
          become(running());
          return shard_;  // the region waits for every shard (runtime_links)
        },
    };
  }

  void on_exit() override {
    // Every entity goes with the shard (their pending requests are dropped with it).
    const auto n = entities_.size();
    newest_ = oldest_ = nullptr;
    entities_.clear();
    shared_->active.fetch_sub(n, std::memory_order_relaxed);
    shared_->shard_active[shard_].fetch_sub(n, std::memory_order_relaxed);
    if (shared_->active_gauge) shared_->active_gauge->Decrement(static_cast<double>(n));
  }

 private:
  caf::behavior running() {
    return {
        [this](entity_envelope& env) {
          if (env.reply) {
            route(env.id, std::move(env.cmd), responder{{}, std::move(env.reply)});
            return;
          }
          route(env.id, std::move(env.cmd), responder{make_response_promise(), {}});
        },
        [this](task_update& u) { on_task_update(u); },
        [this](store::timer_due& t) { route(t.workflow_id, command{std::move(t.fired)}, {}); },
        // Recovering the entity writes its record and timers again.
        [this](store::timers_damaged& d) { route(d.workflow_id, command{cmd::get{}}, {}); },
        [this](resubmit_atom, std::string& id, resubmit_task& n) { notify(id, n); },
        [this](purge_workflow& p) { purge(std::move(p)); },
        [this](tick_atom) {
          passivate_idle();
          passivate_finished();
          ticking_ = !entities_.empty();
          if (ticking_) {
            delayed_send(this, tick_, tick_atom::value);
          } else {
            finished_.clear();  // every id in it is gone
          }
        },
    };
  }

  // An external worker's result: its answer waits until the entity has persisted what
  // the result decided (or decided nothing: a stale or finished attempt is answered at
  // once). A rejection is an answer too; only an error (the journal failed, the entity
  // was busy or stopped) says the result was not recorded.
  static responder recorded_responder(task_update& u) {
    if (!u.on_recorded) return {};
    return responder{{}, [done = std::move(u.on_recorded)](entity_reply r) {
                       if (r) {
                         done(true, {});
                       } else {
                         done(false, r.error().message);
                       }
                     }};
  }

  void on_task_update(task_update& u) {
    switch (u.what) {
      case task_update::kind::rejected: {
        // Exponential backoff per attempt: a node whose queues stay full is not asked
        // again and again at the same pace by every waiting workflow.
        const auto delay = shared_->settings.resubmit_delay(u.rejections);
        std::uniform_int_distribution<std::int64_t> jitter(0, delay.count() / 2);
        delayed_send(this, delay + std::chrono::milliseconds(jitter(rng_)), resubmit_atom::value,
                     std::move(u.workflow_id),
                     resubmit_task{std::move(u.step), u.attempt, u.rejections + 1});
        return;
      }
      case task_update::kind::resubmit:
        // The dispatcher parked the refused attempt and now holds a slot for it: offer
        // it again at once (what the delayed path above does later).
        notify(u.workflow_id, resubmit_task{std::move(u.step), u.attempt});
        return;
      case task_update::kind::started:
        route(u.workflow_id, command{cmd::task_started{u.step, u.attempt, u.started_ago_ms}}, {});
        return;
      case task_update::kind::completed:
        route(u.workflow_id,
              command{cmd::task_completed{u.step, u.attempt, std::move(u.output), u.started,
                                          u.started_ago_ms}},
              recorded_responder(u));
        return;
      case task_update::kind::failed:
        route(u.workflow_id,
              command{cmd::task_failed{u.step, u.attempt, std::move(u.error_type),
                                       std::move(u.message), u.non_retryable, u.started,
                                       std::move(u.output), u.started_ago_ms}},
              recorded_responder(u));
        return;
    }
  }

  // The shard is part of every journal key of its entities: a message routed here for an
  // id of another shard must not start (and persist) the entity under this one, where
  // nobody would find it again. Refused loudly instead (a sender bug).
  std::optional<persistence::error> misrouted(const std::string& id) const {
    if (shard_of(id, shared_->settings.number_of_shards) == shard_) return std::nullopt;
    auto what = "workflow '" + id + "' reached shard " + std::to_string(shard_) +
                " but belongs to shard " +
                std::to_string(shard_of(id, shared_->settings.number_of_shards));
    core::logger("workflow")->error("misrouted message refused: {}", what);
    return persistence::error{persistence::errc::internal, "misrouted: " + what};
  }

  void route(const std::string& id, command c, responder r) {
    if (auto e = misrouted(id)) {
      r.answer(core::unexpected<persistence::error>{std::move(*e)});
      return;
    }
    // Held while the id is being purged (see purge), then handed on.
    if (auto held = purging_.empty() ? purging_.end() : purging_.find(id); held != purging_.end()) {
      if (held->second.size() >= shared_->entity_cfg.max_stash) {
        r.answer(persistence::fail(persistence::errc::unavailable,
                                   "workflow '" + id + "' is being deleted; retry"));
        return;
      }
      held->second.emplace_back(std::move(c), std::move(r));
      return;
    }
    auto& s = find_or_start(id);
    touch(s);
    auto entity = s.entity;  // a failing command may make the shard forget it
    entity->command(std::move(c), std::move(r));
  }

  void notify(const std::string& id, const resubmit_task& n) {
    auto it = entities_.find(std::string_view(id));
    if (it == entities_.end()) {
      // Not running: its recovery re-dispatches every scheduled step anyway (a `get`
      // makes it recover; entities recover on their first command).
      route(id, command{cmd::get{}}, {});
      return;
    }
    auto entity = it->second->entity;
    entity->notice(n);
  }

  // -- purge (retention, DELETE) ------------------------------------------------
  // Snapshots first, then the journal, then the index: a snapshot outliving its journal
  // would be loaded by a later workflow of the same id (load_for_recovery keeps every
  // snapshot up to the journal's highest), so none may. A crash between the snapshots
  // and the journal leaves a journal without snapshots, which recovers by replaying it
  // (with delete-events-on-snapshot, its first events are gone and recovery fails,
  // naming the gap); the index record is still there, so the next purge finishes it.
  // A crash after the journal leaves an index record of a journal-less id, which
  // reconcile() removes at start.
  void purge(purge_workflow p) {
    auto rp = make_response_promise();
    if (auto e = misrouted(p.id)) {
      rp.deliver(purge_result{core::unexpected<persistence::error>{std::move(*e)}});
      return;
    }
    auto busy = [&rp](std::string why) {
      rp.deliver(purge_result{purge_outcome{purge_outcome::kind::busy, std::move(why)}});
    };
    if (purging_.count(p.id) != 0) return busy("a deletion of it is running");
    if (auto it = entities_.find(std::string_view(p.id)); it != entities_.end()) {
      auto& s = *it->second;
      if (!s.entity->try_passivate()) {
        touch(s);
        return busy("it is recovering or persisting");
      }
      erase(s);
    }
    purging_.try_emplace(p.id);
    auto state = std::make_shared<purge_state>(
        purge_state{std::move(p.id), p.seq, persistence::persistence_id{}, std::move(rp)});
    state->pid = persistence::persistence_id{persistence::shard_id{shard_}, state->id};
    persistence::request_highest(this, host_.deps.journal, timeout(), state->pid,
                                 [this, state](persistence::result<std::uint64_t> h) {
                                   purge_checked(state, std::move(h));
                                 });
  }

  struct purge_state {
    std::string id;
    std::uint64_t seq = 0;
    persistence::persistence_id pid;
    caf::response_promise rp;
  };
  using purge_ptr = std::shared_ptr<purge_state>;

  void purge_checked(const purge_ptr& p, persistence::result<std::uint64_t> highest) {
    if (!highest) return purge_done(p, core::unexpected<persistence::error>{highest.error()});
    if (*highest == 0) {
      return remove_from_index(p, purge_outcome{purge_outcome::kind::gone,
                                                "no workflow '" + p->id + "' in the journal"});
    }
    if (*highest != p->seq) return purge_done(p, changed(p, *highest));
    auto purge_journal = [this, p] {
      persistence::request_purge(
          this, host_.deps.journal, timeout(), p->pid, p->seq,
          [this, p](persistence::result<persistence::done> r) {
            if (!r && r.error().code == persistence::errc::sequence_conflict) {
              return purge_done(p, purge_outcome{purge_outcome::kind::changed, r.error().message});
            }
            if (!r) {
              return purge_done(p, core::unexpected<persistence::error>{r.error()});
            }
            shared_->purged.fetch_add(1, std::memory_order_relaxed);
            if (shared_->purged_counter) shared_->purged_counter->Increment();
            remove_from_index(p, purge_outcome{purge_outcome::kind::purged, "deleted"});
          });
    };
    if (!host_.deps.snapshots) return purge_journal();
    persistence::request_snapshot_delete(
        this, host_.deps.snapshots, timeout(), p->pid, persistence::max_sequence_nr,
        [this, p, purge_journal](persistence::result<persistence::done> r) {
          if (!r) return purge_done(p, core::unexpected<persistence::error>{r.error()});
          purge_journal();
        });
  }

  static purge_outcome changed(const purge_ptr& p, std::uint64_t highest) {
    return {purge_outcome::kind::changed,
            "workflow '" + p->id + "' changed: its journal is at sequence nr " +
                std::to_string(highest) + ", not " + std::to_string(p->seq)};
  }

  // The journal is gone (or was): the index record, dead letter and timers go too. If the
  // index does not answer, reconcile() removes them at the next start.
  void remove_from_index(const purge_ptr& p, purge_outcome outcome) {
    const auto& index = ctx_->links.index;
    if (!index) return purge_done(p, std::move(outcome));
    request(index, timeout(), store::remove_workflows{{p->id}})
        .then(
            [this, p, outcome](store::remove_result& r) mutable {
              if (!r) {
                core::logger("workflow")
                    ->warn("workflow '{}' deleted but its index record stays until restart: {}",
                           p->id, r.error().describe());
              }
              purge_done(p, std::move(outcome));
            },
            [this, p, outcome](caf::error& e) mutable {
              core::logger("workflow")
                  ->warn("workflow '{}' deleted but its index record stays until restart: {}",
                         p->id, caf::to_string(e));
              purge_done(p, std::move(outcome));
            });
  }

  // Answers the purge, then hands on what was held for the id meanwhile.
  void purge_done(const purge_ptr& p, purge_result r) {
    p->rp.deliver(std::move(r));
    auto it = purging_.find(p->id);
    if (it == purging_.end()) return;
    auto held = std::move(it->second);
    purging_.erase(it);
    for (auto& [c, reply] : held) route(p->id, std::move(c), std::move(reply));
  }

  [[nodiscard]] std::chrono::milliseconds timeout() const {
    return shared_->entity_cfg.request_timeout;
  }

  slot& find_or_start(const std::string& id) {
    if (auto it = entities_.find(std::string_view(id)); it != entities_.end()) return *it->second;
    if (entities_.size() >= shared_->per_shard_limit) passivate_lru_over_limit();
    finish_listener* listener = nullptr;
    if (shared_->settings.passivate_finished_after.count() > 0) listener = this;
    auto entity = std::make_shared<entity_type>(
        &host_, runtime_entity_model{shared_->clock, ctx_, listener},
        persistence::persistence_id{persistence::shard_id{shard_}, id});
    auto owned = std::make_unique<slot>();
    auto& s = *owned;
    s.entity = entity;
    // The key views the entity's own id, which lives as long as the slot.
    entities_.emplace(std::string_view(entity->pid().id()), std::move(owned));
    link_newest(s);
    shared_->active.fetch_add(1, std::memory_order_relaxed);
    shared_->shard_active[shard_].fetch_add(1, std::memory_order_relaxed);
    if (shared_->active_gauge) shared_->active_gauge->Increment();
    entity->start();
    if (!ticking_) {  // the passivation tick runs while the shard hosts entities
      ticking_ = true;
      delayed_send(this, tick_, tick_atom::value);
    }
    return s;
  }

  // -- LRU (newest_ first) ----------------------------------------------------

  void link_newest(slot& s) {
    s.last = clock::now();
    s.older = newest_;
    s.newer = nullptr;
    if (newest_ != nullptr) newest_->newer = &s;
    newest_ = &s;
    if (oldest_ == nullptr) oldest_ = &s;
  }

  void unlink(slot& s) {
    (s.newer != nullptr ? s.newer->older : newest_) = s.older;
    (s.older != nullptr ? s.older->newer : oldest_) = s.newer;
    s.newer = s.older = nullptr;
  }

  void touch(slot& s) {
    if (newest_ == &s) {
      s.last = clock::now();
      return;
    }
    unlink(s);
    link_newest(s);
  }

  // -- passivation --------------------------------------------------------------

  // True: the entity was idle and is gone. False: busy; it stays and counts as used.
  bool passivate(slot& s) {
    if (!s.entity->try_passivate()) {
      touch(s);
      return false;
    }
    erase(s);
    shared_->passivated.fetch_add(1, std::memory_order_relaxed);
    if (shared_->passivated_counter) shared_->passivated_counter->Increment();
    return true;
  }

  void passivate_idle() {
    auto cutoff = clock::now() - shared_->settings.passivate_idle_after;
    // A busy entity is touched, so each one is looked at once per tick.
    while (oldest_ != nullptr && oldest_->last <= cutoff) passivate(*oldest_);
  }

  // An entity of this shard persisted (or recovered) its workflow's end.
  void workflow_finished(const std::string& id) override {
    finished_.push_back(finished_entry{id, clock::now()});
  }

  // Finished workflows untouched for passivate-finished-after go (finished_ is in the
  // order they finished; one touched since is looked at again that long after its last
  // touch). Only a workflow still finished goes: one resumed (a dead letter retried)
  // runs on under passivate_idle's rule, and tells finished_ again when it ends.
  void passivate_finished() {
    const auto after = shared_->settings.passivate_finished_after;
    if (after.count() <= 0) return;
    const auto cutoff = clock::now() - after;
    while (!finished_.empty() && finished_.front().at <= cutoff) {
      auto entry = std::move(finished_.front());
      finished_.pop_front();
      auto it = entities_.find(std::string_view(entry.id));
      if (it == entities_.end()) continue;  // gone already (idle, over the limit, purged)
      auto& s = *it->second;
      if (s.entity->state().status == workflow_status::running) continue;
      if (s.last <= cutoff && passivate(s)) continue;  // gone (a busy one was touched)
      finished_.push_back(finished_entry{std::move(entry.id), s.last});
    }
  }

  // Makes room for one more: the least recently used idle entity goes (busy ones are
  // skipped, a few at most, and count as used).
  void passivate_lru_over_limit() {
    for (int tries = 0; tries < 8 && oldest_ != nullptr; ++tries) {
      if (passivate(*oldest_)) return;
    }
  }

  // A failed entity stopped by itself: forget it (its next message starts a fresh
  // incarnation, which recovers from the journal).
  void forget(entity_type& e) {
    auto it = entities_.find(std::string_view(e.pid().id()));
    if (it != entities_.end() && it->second->entity.get() == &e) erase(*it->second);
  }

  // Destroys `s` (its map entry owns it): after the entry is gone, so whatever the
  // entity's destruction does finds the map consistent.
  void erase(slot& s) {
    unlink(s);
    auto it = entities_.find(std::string_view(s.entity->pid().id()));
    auto owned = std::move(it->second);
    entities_.erase(it);
    shared_->active.fetch_sub(1, std::memory_order_relaxed);
    shared_->shard_active[shard_].fetch_sub(1, std::memory_order_relaxed);
    if (shared_->active_gauge) shared_->active_gauge->Decrement();
  }

  std::uint32_t shard_;
  std::shared_ptr<region_shared> shared_;
  ctx_ptr ctx_;
  persistence::eventsourced_host<runtime_entity_model> host_;
  std::minstd_rand rng_;
  std::chrono::milliseconds tick_{1000};
  // The hosted entities by id. A flat table (one probe of its metadata, not a walk of a
  // bucket's nodes: with ~100k entities every node is a cache miss, and a new id's
  // lookup missed, ~6 % of the io thread); slots stay where they are for the LRU links.
  // Keys view the id inside the slot's entity.
  boost::unordered_flat_map<std::string_view, std::unique_ptr<slot>> entities_;
  // Workflows that finished, oldest first (passivate_finished); ids of entities gone
  // meanwhile are skipped when their turn comes.
  struct finished_entry {
    std::string id;
    clock::time_point at;
  };
  std::deque<finished_entry> finished_;
  // Ids being purged -> the messages held for them meanwhile (purge).
  std::unordered_map<std::string, std::vector<std::pair<command, responder>>> purging_;
  bool ticking_ = false;
  slot* newest_ = nullptr;
  slot* oldest_ = nullptr;
};

// -- region ---------------------------------------------------------------------

class region_actor : public caf::event_based_actor {
 public:
  region_actor(caf::actor_config& cfg, std::shared_ptr<region_shared> shared, ctx_ptr ctx,
               std::shared_ptr<const std::vector<caf::actor>> shards)
      : caf::event_based_actor(cfg),
        shared_(std::move(shared)),
        ctx_(std::move(ctx)),
        shards_(shards),
        router_(std::move(shards)) {}

  caf::behavior make_behavior() override {
    // The shards were spawned with the region (the router's table): linked, an exit
    // message to the region stops every shard and with it every entity.
    for (const auto& s : *shards_) link_to(s);
    return {
        [this](entity_envelope& env) {
          const auto& shard = shard_for(env.id);
          if (env.reply) {
            send(shard, std::move(env));
          } else {
            delegate(shard, std::move(env));
          }
        },
        [this](task_update& u) { send(shard_for(u.workflow_id), std::move(u)); },
        [this](store::timer_due& t) { send(shard_for(t.workflow_id), std::move(t)); },
        [this](store::timers_damaged& d) { send(shard_for(d.workflow_id), std::move(d)); },
        [this](purge_workflow& p) { delegate(shard_for(p.id), std::move(p)); },
        [this](runtime_links& links) { set_links(std::move(links)); },
        [this](wake_entities& w) { wake(std::move(w.ids)); },
        [this](get_region_stats) {
          region_stats s{shared_->active.load(),
                         shared_->passivated.load(),
                         shared_->shards.load(),
                         shared_->purged.load(),
                         {}};
          s.shard_entities.reserve(s.shards);
          for (std::uint32_t n = 0; n < s.shards; ++n) {
            s.shard_entities.push_back(shared_->shard_active[n].load(std::memory_order_relaxed));
          }
          return s;
        },
    };
  }

 private:
  const caf::actor& shard_for(const std::string& id) const { return router_.route(id); }

  // Answered once every shard has the links: messages the router sends straight to a
  // shard after that find its entities able to dispatch tasks, set timers and index.
  void set_links(runtime_links links) {
    auto ctx = std::make_shared<entity_context>(*ctx_);
    ctx->links = std::move(links);
    ctx_ = std::move(ctx);
    auto rp = make_response_promise();
    auto left = std::make_shared<std::size_t>(shards_->size());
    for (const auto& s : *shards_) {
      request(s, caf::infinite, ctx_).then([rp, left, n = shards_->size()](std::uint32_t) mutable {
        if (--*left == 0) rp.deliver(static_cast<std::uint32_t>(n));
      });
    }
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
      const auto& shard = shard_for(id);
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
  std::shared_ptr<const std::vector<caf::actor>> shards_;
  region_router router_;  // the same table, the same routing as senders' routers
};

}  // namespace

region_router::region_router(std::shared_ptr<const std::vector<caf::actor>> shards)
    : shards_(std::move(shards)) {}

const caf::actor& region_router::route(std::string_view entity_id) const {
  return (*shards_)[shard_of(entity_id, static_cast<std::uint32_t>(shards_->size()))];
}

workflow_region spawn_workflow_region(caf::actor_system& sys, const runtime_settings& settings,
                                      const region_deps& deps) {
  auto shared = std::make_shared<region_shared>();
  shared->settings = settings;
  if (shared->settings.number_of_shards == 0) shared->settings.number_of_shards = 1;
  shared->entity_deps.journal = *deps.journal;
  if (deps.snapshots) shared->entity_deps.snapshots = *deps.snapshots;
  if (deps.recovery_permits) shared->entity_deps.recovery_permits = *deps.recovery_permits;
  shared->entity_deps.metrics = deps.journal_metrics;
  shared->entity_deps.store = deps.journal_store;
  shared->entity_cfg = deps.entity;
  shared->clock = deps.clock ? deps.clock : std::function<std::int64_t()>(system_now_ms);
  shared->shard_active =
      std::make_unique<std::atomic<std::uint64_t>[]>(shared->settings.number_of_shards);
  shared->per_shard_limit = static_cast<std::size_t>(
      std::max<std::uint64_t>(1, settings.max_active_entities / shared->settings.number_of_shards));
  auto ctx = std::make_shared<entity_context>();
  ctx->decide.inline_noop = settings.inline_noop;
  ctx->failover_log_limit = settings.failover_log_limit;
  ctx->definitions = deps.definitions;
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
    shared->purged_counter = &prometheus::BuildCounter()
                                  .Name("workflow_purged_total")
                                  .Help("Finished workflows deleted for good (retention or DELETE)")
                                  .Register(reg)
                                  .Add({});
    ctx->failovers = &prometheus::BuildCounter()
                          .Name("workflow_failovers_total")
                          .Help(
                              "Workflows recovered with steps in flight (their node stopped "
                              "without finishing them), those steps dispatched again")
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
  ctx_ptr initial(std::move(ctx));
  auto shards = std::make_shared<std::vector<caf::actor>>();
  shards->reserve(shared->settings.number_of_shards);
  for (std::uint32_t n = 0; n < shared->settings.number_of_shards; ++n) {
    shards->push_back(sys.spawn<core::loop_hosted<shard_actor>>(deps.dispatcher, n, shared));
  }
  shared->shards.store(shared->settings.number_of_shards);
  std::shared_ptr<const std::vector<caf::actor>> table = std::move(shards);
  auto region = sys.spawn<region_actor>(shared, initial, table);
  return {std::move(region), region_router(std::move(table))};
}

}  // namespace wfe::workflow::runtime
