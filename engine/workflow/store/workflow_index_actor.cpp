// The index actor: a blocking (detached) actor that owns the workflow index, batches
// the index updates waiting in its mailbox into one WriteBatch (after letting them wait
// up to update_linger for newer updates of the same workflows), and answers queries.
#include <chrono>
#include <deque>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/exit_reason.hpp>

#include "engine/core/logging.hpp"
#include "engine/workflow/store/store_messages.hpp"
#include "engine/workflow/store/workflow_index.hpp"

namespace wfe::workflow::store {
namespace {

using clock = std::chrono::steady_clock;
// While updates linger, how often the actor looks at its mailbox (see index_actor_loop).
constexpr std::chrono::milliseconds k_poll{1};

// The updates received and not yet written, oldest first. A newer update of a workflow
// that is still waiting replaces the waiting one in place (every update carries the
// workflow's whole record, timer set and dead letter: the newest subsumes the others).
class update_batch {
 public:
  update_batch(std::shared_ptr<workflow_index> index, std::uint32_t max)
      : index_(std::move(index)), max_(max == 0 ? 1 : max) {}

  void add(index_update u) {
    auto [slot, fresh] = slot_of_.try_emplace(u.record.id, base_ + pending_.size());
    if (!fresh) {
      auto& waiting = pending_[slot->second - base_].update;
      // An older update arriving late (a stale one) is dropped, as apply() would.
      if (u.record.seq >= waiting.record.seq) waiting = std::move(u);
      ++coalesced_;
      index_->count_coalesced(1);
      return;
    }
    pending_.push_back(entry{std::move(u), clock::now()});
    if (pending_.size() >= max_) flush();
  }

  [[nodiscard]] bool empty() const { return pending_.empty(); }
  [[nodiscard]] clock::time_point oldest() const { return pending_.front().received; }
  [[nodiscard]] std::uint64_t coalesced() const { return coalesced_; }

  // Writes every waiting update.
  void flush() { flush_received_before(clock::time_point::max()); }

  // Writes the waiting updates received before `cut` (a prefix: oldest first).
  void flush_received_before(clock::time_point cut) {
    std::vector<index_update> out;
    while (!pending_.empty() && pending_.front().received < cut) {
      slot_of_.erase(pending_.front().update.record.id);
      out.push_back(std::move(pending_.front().update));
      pending_.pop_front();
      ++base_;
    }
    if (out.empty()) return;
    auto r = index_->apply(out);
    if (!r) {
      // Derived data: the lost updates are repaired by reconcile() at the next start
      // (or by the workflows' next updates).
      log_->error("workflow index: {} updates not written: {}", out.size(), r.error().describe());
    }
  }

  workflow_index& index() {
    flush();
    return *index_;
  }

  std::shared_ptr<const workflow_index> shared_index() {
    flush();
    return index_;
  }

 private:
  struct entry {
    index_update update;
    clock::time_point received;
  };

  std::shared_ptr<workflow_index> index_;
  std::size_t max_;
  std::deque<entry> pending_;
  std::uint64_t base_ = 0;  // position of pending_.front() since the start
  std::unordered_map<std::string, std::uint64_t> slot_of_;  // workflow id -> position
  std::uint64_t coalesced_ = 0;
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
      [&batch](const list_expired& q) -> workflow_page_result { return batch.index().list(q); },
      [&batch](const remove_workflows& q) -> remove_result { return batch.index().remove(q.ids); },
      [&batch](const get_dead_letter& q) -> dead_letter_lookup {
        return batch.index().dead_letter(q.id);
      },
      [&batch](const get_workflow_record& q) -> workflow_record_lookup {
        return batch.index().record(q.id);
      },
      [&batch](const get_index_stats&) -> index_stats {
        auto s = batch.index().stats();
        s.coalesced = batch.coalesced();
        return s;
      },
      // The timer service, over max-timers, reads every timer set: what waits is written
      // first, so its read has every update sent before this request.
      [&batch](const reload_timers&) -> timer_scan { return timer_scan{batch.shared_index()}; },
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
                      index_settings settings) {
  update_batch batch(std::move(index), settings.max_batch_updates);
  const auto linger = std::chrono::duration_cast<clock::duration>(settings.update_linger);
  bool running = true;
  bool idle = false;
  auto wait = make_handlers(self, batch, running);
  auto drain = make_handlers(
      self, batch, running, caf::after(std::chrono::seconds(0)) >> [&idle] { idle = true; });
  auto drain_all = [&] {
    idle = false;
    while (running && !idle) self->receive(drain);
  };
  while (running) {  // NOLINT(bugprone-infinite-loop): the handlers clear `running`
    self->receive(wait);
    drain_all();
    if (linger == clock::duration::zero()) {
      batch.flush();
      continue;
    }
    // Updates wait up to `linger` for newer ones of the same workflows. Once the oldest
    // has waited that long, those of the first half of the window are written: batches
    // of about linger/2 worth of updates, each written after linger/2 to linger. A query
    // or a full batch writes everything at once.
    while (running && !batch.empty()) {
      const auto now = clock::now();
      if (batch.oldest() + linger <= now) {
        batch.flush_received_before(now - linger / 2);
        continue;
      }
      // Sleeps instead of waiting in receive(): a waiting mailbox is woken by every
      // update (a futex wake for its sender, a wake-up here: under a start load about one
      // per start); asleep, updates pile up unannounced and are taken every `k_poll`.
      // A query waits at most that long more.
      std::this_thread::sleep_for(std::min<clock::duration>(k_poll, batch.oldest() + linger - now));
      drain_all();
    }
  }
}

}  // namespace

caf::actor spawn_workflow_index_actor(caf::actor_system& sys, std::shared_ptr<workflow_index> index,
                                      const index_settings& settings) {
  return sys.spawn(index_actor_loop, std::move(index), settings);
}

}  // namespace wfe::workflow::store
