// The index actor: a blocking (detached) actor that owns the workflow index, batches
// the index updates waiting in its mailbox into one WriteBatch, and answers queries.
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/exit_reason.hpp>

#include "engine/core/logging.hpp"
#include "engine/workflow/store/store_messages.hpp"
#include "engine/workflow/store/workflow_index.hpp"

namespace wfe::workflow::store {
namespace {

class update_batch {
 public:
  update_batch(std::shared_ptr<workflow_index> index, std::uint32_t max)
      : index_(std::move(index)), max_(max == 0 ? 1 : max) {}

  void add(index_update u) {
    pending_.push_back(std::move(u));
    if (pending_.size() >= max_) flush();
  }

  void flush() {
    if (pending_.empty()) return;
    auto r = index_->apply(pending_);
    if (!r) {
      // Derived data: the lost updates are repaired by reconcile() at the next start
      // (or by the workflows' next updates).
      log_->error("workflow index: {} updates not written: {}", pending_.size(),
                  r.error().describe());
    }
    pending_.clear();
  }

  workflow_index& index() {
    flush();
    return *index_;
  }

 private:
  std::shared_ptr<workflow_index> index_;
  std::size_t max_;
  std::vector<index_update> pending_;
  std::shared_ptr<spdlog::logger> log_ = core::logger("workflow");
};

template <class... Extra>
caf::behavior make_handlers(caf::blocking_actor* self, update_batch& batch, bool& running,
                            Extra&&... extra) {
  return {
      [&batch](index_update& u) { batch.add(std::move(u)); },
      [&batch](const list_workflows& q) -> workflow_page_result { return batch.index().list(q); },
      [&batch](const list_dead_letters& q) -> dead_letter_page_result {
        return batch.index().list(q);
      },
      [&batch](const get_dead_letter& q) -> dead_letter_lookup {
        return batch.index().dead_letter(q.id);
      },
      [&batch](const get_workflow_record& q) -> workflow_record_lookup {
        return batch.index().record(q.id);
      },
      [&batch](const get_index_stats&) -> index_stats { return batch.index().stats(); },
      [&batch](const index_flush&) -> index_flush_result {
        return index_flushed{batch.index().stats().updates};
      },
      [self, &batch, &running](caf::exit_msg& msg) {
        batch.flush();
        running = false;
        self->fail_state(std::move(msg.reason));
      },
      std::forward<Extra>(extra)...,
  };
}

void index_actor_loop(caf::blocking_actor* self, std::shared_ptr<workflow_index> index,
                      std::uint32_t max_batch) {
  update_batch batch(std::move(index), max_batch);
  bool running = true;
  bool idle = false;
  auto wait = make_handlers(self, batch, running);
  auto drain = make_handlers(
      self, batch, running, caf::after(std::chrono::seconds(0)) >> [&idle] { idle = true; });
  while (running) {  // NOLINT(bugprone-infinite-loop): the handlers clear `running`
    self->receive(wait);
    idle = false;
    while (running && !idle) self->receive(drain);
    batch.flush();
  }
}

}  // namespace

caf::actor spawn_workflow_index_actor(caf::actor_system& sys, std::shared_ptr<workflow_index> index,
                                      const index_settings& settings) {
  return sys.spawn(index_actor_loop, std::move(index), settings.max_batch_updates);
}

}  // namespace wfe::workflow::store
