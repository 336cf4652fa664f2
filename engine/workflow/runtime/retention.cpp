#include "engine/workflow/runtime/retention.hpp"

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <boost/json.hpp>

#include "engine/core/clock.hpp"
#include "engine/core/logging.hpp"
#include "engine/workflow/history.hpp"
#include "engine/workflow/runtime/archive.hpp"
#include "engine/workflow/runtime/runtime_messages.hpp"
#include "engine/workflow/runtime/shard_hash.hpp"
#include "engine/workflow/store/store_messages.hpp"
#include "engine/workflow/workflow_codec.hpp"
#include "persistence/journal_actor.hpp"

namespace wfe::workflow::runtime {
namespace {

using sweep_atom = caf::atom_constant<caf::atom("rsweep")>;

using core::system_now_ms;

class retention_sweeper : public caf::event_based_actor {
 public:
  retention_sweeper(caf::actor_config& cfg, runtime_settings settings, retention_deps deps)
      : caf::event_based_actor(cfg),
        settings_(std::move(settings)),
        index_(*deps.index),
        router_(std::move(deps.router)),
        clock_(deps.clock ? std::move(deps.clock) : std::function<std::int64_t()>(system_now_ms)),
        purge_timeout_(deps.purge_timeout),
        archiver_(std::move(deps.archiver)),
        journal_(std::move(deps.journal)),
        shards_(deps.shards),
        archived_counter_(deps.archived),
        refusals_counter_(deps.archive_refusals),
        bytes_gauge_(deps.archive_bytes) {}

  // Handles to detached actors (the archiver, the journal reader) keep them, and so the
  // actor system's shutdown, waiting: released when the sweeper stops.
  void on_exit() override {
    archiver_ = caf::actor{};
    journal_ = caf::actor{};
    index_ = caf::actor{};
  }

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
              if (archiver_) return archive(std::move(page->items));
              for (auto& r : page->items) to_purge_.push_back({std::move(r.id), r.seq});
              start_purges();
            },
            [this](caf::error& e) {
              log_->warn("retention: the index did not answer: {}", caf::to_string(e));
              wait();
            });
  }

  void start_purges() {
    if (to_purge_.empty()) return page_done();
    while (in_flight_ < settings_.retention_max_concurrent_purges && !to_purge_.empty()) {
      purge_next();
    }
  }

  // Reads each workflow of the page (its events up to the listed seq), appends them all
  // to the archive in one synced write, and only then purges them.
  void archive(std::vector<store::workflow_record> records) {
    if (records.empty()) return page_done();
    struct page_state {
      std::vector<store::workflow_record> records;
      std::vector<std::optional<std::string>> lines;  // nullopt: not archived, kept
      std::size_t left = 0;
    };
    auto st = std::make_shared<page_state>();
    st->records = std::move(records);
    st->lines.resize(st->records.size());
    st->left = st->records.size();
    for (std::size_t i = 0; i < st->records.size(); ++i) {
      const auto& r = st->records[i];
      persistence::persistence_id pid{persistence::shard_id{shard_of(r.id, shards_)}, r.id};
      persistence::request_replay(
          this, journal_, purge_timeout_, pid, 1, r.seq, settings_.retention_archive_max_events + 1,
          [this, st, i](persistence::result<std::vector<persistence::event>> events) {
            st->lines[i] = archive_line(st->records[i], events);
            if (--st->left == 0) archive_read(std::move(st->records), std::move(st->lines));
          });
    }
  }

  std::optional<std::string> archive_line(const store::workflow_record& r,
                                          const persistence::result<std::vector<persistence::event>>& events) {
    if (!events) {
      note_archive_problem("reading the events of '" + r.id + "': " + events.error().describe());
      return std::nullopt;
    }
    if (events->size() > settings_.retention_archive_max_events) {
      note_archive_problem("'" + r.id + "' has more than " +
                           std::to_string(settings_.retention_archive_max_events) +
                           " events (pekko.workflow.retention.archive-max-events): kept");
      return std::nullopt;
    }
    std::vector<recorded_event> decoded;
    decoded.reserve(events->size());
    for (const auto& e : *events) {
      auto d = decode_event(e.manifest, e.payload, nullptr);
      if (!d) {
        note_archive_problem("event " + std::to_string(e.sequence_nr) + " of '" + r.id +
                             "' cannot be decoded (" + d.error() + "): kept");
        return std::nullopt;
      }
      decoded.push_back({e.sequence_nr, std::move(*d)});
    }
    auto line = record_json(r);
    line["seq"] = r.seq;
    line["archivedAt"] = format_time_ms(clock_());
    // Events before the first one were deleted after a snapshot (or all of them). Before
    // the events, so the listing, which cuts each line there, shows it too.
    const std::uint64_t first = decoded.empty() ? r.seq + 1 : decoded.front().seq;
    if (first > 1) line["deletedBefore"] = first;
    auto history = history_json(decoded);
    line["events"] = std::move(history.as_object()["events"]);
    return boost::json::serialize(line);
  }

  void archive_read(std::vector<store::workflow_record> records,
                    std::vector<std::optional<std::string>> lines) {
    std::vector<std::string> out;
    std::deque<purge_workflow> archived;
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (!lines[i]) continue;
      out.push_back(std::move(*lines[i]));
      archived.push_back({std::move(records[i].id), records[i].seq});
    }
    if (out.empty()) return page_done();
    const auto n = out.size();
    request(archiver_, purge_timeout_, archive_lines{std::move(out)})
        .then(
            [this, n, archived = std::move(archived)](archive_result& r) mutable {
              if (!r) {
                // Nothing of this page is deleted; the listing starts over next time.
                if (refusals_counter_ != nullptr) refusals_counter_->Increment();
                log_->error("retention: archiving failed, nothing deleted: {}",
                            r.error().describe());
                cursor_.clear();
                return wait();
              }
              archived_ += n;
              if (archived_counter_ != nullptr)
                archived_counter_->Increment(static_cast<double>(n));
              if (bytes_gauge_ != nullptr) bytes_gauge_->Set(static_cast<double>(*r));
              for (auto& p : archived) to_purge_.push_back(std::move(p));
              start_purges();
            },
            [this](caf::error& e) {
              log_->error("retention: the archiver did not answer, nothing deleted: {}",
                          caf::to_string(e));
              cursor_.clear();
              wait();
            });
  }

  void note_archive_problem(const std::string& what) {
    if (++archive_problems_ <= 3) log_->warn("retention: not archived, so not deleted: {}", what);
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
    if (archived_ > 0 || archive_problems_ > 0) {
      log_->info("retention: archived {} workflows ({} left unarchived, so kept)", archived_,
                 archive_problems_);
    }
    purged_ = failed_ = archived_ = archive_problems_ = 0;
    wait();
  }

  void wait() { delayed_send(this, settings_.retention_sweep_interval, sweep_atom::value); }

  runtime_settings settings_;
  caf::actor index_;
  region_router router_;
  std::function<std::int64_t()> clock_;
  std::chrono::milliseconds purge_timeout_;
  caf::actor archiver_;
  caf::actor journal_;
  std::uint32_t shards_ = 0;
  prometheus::Counter* archived_counter_ = nullptr;
  prometheus::Counter* refusals_counter_ = nullptr;
  prometheus::Gauge* bytes_gauge_ = nullptr;
  std::string cursor_;
  std::deque<purge_workflow> to_purge_;
  std::size_t in_flight_ = 0;
  std::uint64_t purged_ = 0;
  std::uint64_t failed_ = 0;
  std::uint64_t archived_ = 0;
  std::uint64_t archive_problems_ = 0;
  std::shared_ptr<spdlog::logger> log_ = core::logger("workflow");
};

}  // namespace

caf::actor spawn_retention_sweeper(caf::actor_system& sys, const runtime_settings& settings,
                                   retention_deps deps) {
  return sys.spawn<retention_sweeper>(settings, std::move(deps));
}

}  // namespace wfe::workflow::runtime
