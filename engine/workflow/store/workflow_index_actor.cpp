// The index actor: a blocking (detached) actor that owns the workflow index, batches
// the index updates waiting in its mailbox into one WriteBatch (after letting them wait
// up to update_linger for newer updates of the same workflows), and answers queries.
#include <algorithm>
#include <chrono>
#include <deque>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/exit_reason.hpp>

#include "engine/core/blocking_drain.hpp"
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
// A write that fails with an I/O error (a full disk) puts its updates back where they
// were and the next write waits a backoff (write_retry_min_backoff, doubling to
// write_retry_max_backoff); while writes fail, at most max_retained_updates wait and the
// oldest beyond are dropped. Any other failure drops its batch (retrying cannot help).
class update_batch {
 public:
  update_batch(std::shared_ptr<workflow_index> index, const index_settings& s)
      : index_(std::move(index)),
        max_(s.max_batch_updates == 0 ? 1 : s.max_batch_updates),
        max_retained_(std::max<std::size_t>(s.max_retained_updates, max_)),
        min_backoff_(s.write_retry_min_backoff),
        max_backoff_(std::max(s.write_retry_max_backoff, s.write_retry_min_backoff)),
        backoff_(min_backoff_) {}

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
    if (pending_.size() > max_retained_) drop_oldest();
    if (pending_.size() >= max_) flush();
  }

  [[nodiscard]] bool empty() const { return pending_.empty(); }
  [[nodiscard]] std::uint64_t coalesced() const { return coalesced_; }
  // When the waiting updates are due to be written: the oldest's linger over, and not
  // before a failed write's backoff is.
  [[nodiscard]] clock::time_point write_due(clock::duration linger) const {
    return std::max(pending_.front().received + linger, retry_at_);
  }

  // Writes every waiting update (unless a failed write's backoff is not over yet).
  void flush() { flush_received_before(clock::time_point::max()); }

  // Writes the waiting updates received before `cut` (a prefix: oldest first).
  void flush_received_before(clock::time_point cut) {
    if (clock::now() < retry_at_) return;
    std::vector<index_update> out;
    while (!pending_.empty() && pending_.front().received < cut) {
      slot_of_.erase(pending_.front().update.record.id);
      out.push_back(std::move(pending_.front().update));
      pending_.pop_front();
      ++base_;
    }
    if (out.empty()) return;
    auto r = index_->apply(out);
    if (r) {
      if (failures_ > 0) {
        log_->info("workflow index: writes resumed after {} failed tries ({} updates written)",
                   failures_, out.size());
      }
      if (dropped_otherwise_ > 0) {
        log_->info("workflow index: writes resumed after {} updates were not written",
                   dropped_otherwise_);
      }
      failures_ = 0;
      dropped_otherwise_ = 0;
      unreported_drops_ = 0;
      dropping_ = false;
      backoff_ = min_backoff_;
      retry_at_ = {};
      return;
    }
    if (r.error().code != persistence::errc::io_error) {
      // Not the disk (damaged data, a bug): trying again would fail again and hold up
      // every later update, so these go, as before (reconcile() repairs them at the next
      // start, or the workflows' next updates do). RocksDB may refuse every later write
      // too (an unrecoverable background error: only a restart reopens the index), so
      // one line per minute, not one per batch.
      index_->count_dropped(out.size());
      const auto now = clock::now();
      if (dropped_otherwise_ == 0 || now >= next_drop_report_) {
        log_->error(
            "workflow index: {} updates not written: {}{}; listings lag until the workflows' "
            "next updates or the next start (workflow_index_updates_dropped_total counts them)",
            out.size(), r.error().describe(),
            unreported_drops_ > 0
                ? fmt::format(" ({} more since the last report)", unreported_drops_)
                : std::string());
        next_drop_report_ = now + std::chrono::minutes(1);
        unreported_drops_ = 0;
      } else {
        unreported_drops_ += out.size();
      }
      dropped_otherwise_ += out.size();
      return;
    }
    // Back where they were, ahead of nothing newer: no message was taken meanwhile. Their
    // linger is over (received: long ago); retry_at_ alone holds them back.
    const auto failed = out.size();
    for (std::size_t i = out.size(); i-- > 0;) {
      --base_;
      slot_of_.emplace(out[i].record.id, base_);
      pending_.push_front(entry{std::move(out[i]), clock::time_point{}});
    }
    ++failures_;
    index_->count_write_failure();
    retry_at_ = clock::now() + backoff_;
    const auto message = fmt::format(
        "workflow index: writing {} updates failed ({}); {} updates wait and are written again "
        "in {} ms (pekko.workflow.store.write-retry-min-backoff..max); listings lag until then",
        failed, r.error().describe(), pending_.size(),
        std::chrono::duration_cast<std::chrono::milliseconds>(backoff_).count());
    if (failures_ == 1) {
      log_->error("{}", message);
    } else {
      log_->warn("{} (try {})", message, failures_);
    }
    backoff_ = std::min(backoff_ * 2, max_backoff_);
  }

  // At a stop: one more try whatever the backoff; what still fails is dropped (the next
  // start's reconciliation repairs it from the journal).
  void flush_at_stop() {
    retry_at_ = {};
    flush();
    if (pending_.empty()) return;
    log_->error(
        "workflow index: {} updates not written at the stop (the next start's reconciliation "
        "with the journal repairs them)",
        pending_.size());
    index_->count_dropped(pending_.size());
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

  // Over max_retained_ while writes fail: the oldest waiting update goes.
  void drop_oldest() {
    slot_of_.erase(pending_.front().update.record.id);
    pending_.pop_front();
    ++base_;
    index_->count_dropped(1);
    if (!dropping_) {
      dropping_ = true;
      log_->error(
          "workflow index: more than {} updates wait for the index "
          "(pekko.workflow.store.max-retained-updates): the oldest are dropped until writes "
          "succeed (the next start's reconciliation with the journal repairs them)",
          max_retained_);
    }
  }

  std::shared_ptr<workflow_index> index_;
  std::size_t max_;
  std::size_t max_retained_;
  clock::duration min_backoff_;
  clock::duration max_backoff_;
  clock::duration backoff_;
  clock::time_point retry_at_{};  // no write before this (after a failed one)
  std::uint64_t failures_ = 0;    // failed writes in a row
  bool dropping_ = false;         // logged that updates are dropped (until a write succeeds)
  std::uint64_t dropped_otherwise_ = 0;  // updates of batches failed not by the disk, in a row
  std::uint64_t unreported_drops_ = 0;   // of those, not in an error line yet
  clock::time_point next_drop_report_{};
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
        batch.flush_at_stop();
        running = false;
        self->fail_state(std::move(msg.reason));
      },
      std::forward<Extra>(extra)...,
  };
}

void index_actor_loop(caf::blocking_actor* self, std::shared_ptr<workflow_index> index,
                      index_settings settings) {
  update_batch batch(std::move(index), settings);
  const auto linger = std::chrono::duration_cast<clock::duration>(settings.update_linger);
  bool running = true;
  bool idle = false;
  auto wait = make_handlers(self, batch, running);
  auto drain = make_handlers(
      self, batch, running, caf::after(std::chrono::seconds(0)) >> [&idle] { idle = true; });
  auto drain_all = [&] { core::drain_mailbox(self, drain, running, idle); };
  while (running) {  // NOLINT(bugprone-infinite-loop): the handlers clear `running`
    self->receive(wait);
    drain_all();
    // Updates wait up to `linger` for newer ones of the same workflows. Once the oldest
    // has waited that long, those of the first half of the window are written: batches
    // of about linger/2 worth of updates, each written after linger/2 to linger. A query
    // or a full batch writes everything at once. After a failed write nothing is
    // written before its backoff is over.
    while (running && !batch.empty()) {
      const auto now = clock::now();
      const auto due = batch.write_due(linger);
      if (due <= now) {
        batch.flush_received_before(now - linger / 2);
        continue;
      }
      // Sleeps instead of waiting in receive(): a waiting mailbox is woken by every
      // update (a futex wake for its sender, a wake-up here: under a start load about one
      // per start); asleep, updates pile up unannounced and are taken every `k_poll`.
      // A query waits at most that long more.
      std::this_thread::sleep_for(std::min<clock::duration>(k_poll, due - now));
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
