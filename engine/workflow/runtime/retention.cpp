#include "engine/workflow/runtime/retention.hpp"

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "engine/core/logging.hpp"
#include "engine/workflow/runtime/runtime_messages.hpp"
#include "engine/workflow/store/store_messages.hpp"

namespace wfe::workflow::runtime {
namespace {

using sweep_atom = caf::atom_constant<caf::atom("rsweep")>;

std::int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class retention_sweeper : public caf::event_based_actor {
 public:
  retention_sweeper(caf::actor_config& cfg, runtime_settings settings, retention_deps deps)
      : caf::event_based_actor(cfg),
        settings_(std::move(settings)),
        index_(*deps.index),
        router_(std::move(deps.router)),
        clock_(deps.clock ? std::move(deps.clock) : std::function<std::int64_t()>(system_now_ms)),
        purge_timeout_(deps.purge_timeout) {}

  caf::behavior make_behavior() override {
    delayed_send(this, settings_.retention_sweep_interval, sweep_atom::value);
    return {
        [this](sweep_atom) { sweep(); },
    };
  }

 private:
  // One page: the index lists expired workflows, then they are purged a few at a time.
  void sweep() {
    const auto cutoff = clock_() - settings_.retention_finished_after.count();
    const auto limit = settings_.retention_batch_size;
    request(index_, purge_timeout_, store::list_expired{cutoff, limit, limit * 10, cursor_})
        .then(
            [this](store::workflow_page_result& page) {
              if (!page) {
                log_->warn("retention: the index did not list expired workflows: {}",
                           page.error().describe());
                cursor_.clear();
                return wait();
              }
              cursor_ = std::move(page->next_cursor);
              for (auto& r : page->items) to_purge_.push_back({std::move(r.id), r.seq});
              if (to_purge_.empty()) return page_done();
              while (in_flight_ < settings_.retention_max_concurrent_purges && !to_purge_.empty()) {
                purge_next();
              }
            },
            [this](caf::error& e) {
              log_->warn("retention: the index did not answer: {}", caf::to_string(e));
              wait();
            });
  }

  void purge_next() {
    auto p = std::move(to_purge_.front());
    to_purge_.pop_front();
    ++in_flight_;
    const auto& shard = router_.route(p.id);
    request(shard, purge_timeout_, std::move(p))
        .then(
            [this](purge_result& r) {
              if (!r) {
                ++failed_;
                if (failed_ <= 3) log_->warn("retention: a purge failed: {}", r.error().describe());
              } else if (r->what == purge_outcome::kind::purged) {
                ++purged_;
              }
              purge_answered();
            },
            [this](caf::error& e) {
              ++failed_;
              if (failed_ <= 3)
                log_->warn("retention: a purge did not answer: {}", caf::to_string(e));
              purge_answered();
            });
  }

  void purge_answered() {
    --in_flight_;
    if (!to_purge_.empty()) return purge_next();
    if (in_flight_ == 0) page_done();
  }

  void page_done() {
    if (!cursor_.empty()) {
      send(this, sweep_atom::value);  // a full page: more may be expired
      return;
    }
    if (purged_ > 0 || failed_ > 0) {
      log_->info("retention: deleted {} finished workflows ({} purges failed)", purged_, failed_);
    }
    purged_ = failed_ = 0;
    wait();
  }

  void wait() { delayed_send(this, settings_.retention_sweep_interval, sweep_atom::value); }

  runtime_settings settings_;
  caf::actor index_;
  region_router router_;
  std::function<std::int64_t()> clock_;
  std::chrono::milliseconds purge_timeout_;
  std::string cursor_;
  std::deque<purge_workflow> to_purge_;
  std::size_t in_flight_ = 0;
  std::uint64_t purged_ = 0;
  std::uint64_t failed_ = 0;
  std::shared_ptr<spdlog::logger> log_ = core::logger("workflow");
};

}  // namespace

caf::actor spawn_retention_sweeper(caf::actor_system& sys, const runtime_settings& settings,
                                   retention_deps deps) {
  return sys.spawn<retention_sweeper>(settings, std::move(deps));
}

}  // namespace wfe::workflow::runtime
